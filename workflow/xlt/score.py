"""The score stage: one row per example and metric, from a run's generations of one task.

Every metric but the judge's is computed by its ``evaluate`` module (``xlt.metrics.evaluate_module``, the scorers
of ``xlt.metrics``): ROUGE-L as XL-Sum's multilingual scorer or with script-aware unstemmed tokens, numeric
answer accuracy, and instruction-following constraints with a switch-aware language check (a reply that is not
in the prompt's language fails it). ``judge_rating`` is read from the judge stage's table (``xlt.judge``): the
judge's 1-5 rating, null (unscored) where the judge's reply held no rating or its request failed.

Usage::

    python -m xlt.cli score run --model tiny_1m --run base \
        --generations results/runs/tiny_1m/base/generations/math.parquet --judgements \
        --spec '{"metrics": ["math_accuracy"], "languages": ["en", "es"]}' \
        --out results/runs/tiny_1m/base/scores/math.parquet
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import evaluate
import polars as pl

from xlt import evaluation  # noqa: F401  (what the evaluate modules run: part of this stage's code fingerprint)
from xlt.io import read_table, write_parquet
from xlt.metrics import SCORERS, evaluate_module
from xlt.provenance import write_provenance
from xlt.registry import judged

SCORE_SCHEMA = {"model": pl.String, "run": pl.String, "id": pl.String, "source_id": pl.String, "task": pl.String,
                "lang": pl.String, "metric": pl.String, "score": pl.Float64, "details": pl.String}


def load_metric(metric: str):
    """``metric``'s evaluate module, loaded by path (offline) and computed in memory."""
    return evaluate.load(str(evaluate_module(metric)), keep_in_memory=True)


def score_metric(metric: str, generations: pl.DataFrame, candidates: list[str]) -> list[tuple[float, dict[str, Any]]]:
    """(score, details) of every generation under ``metric``, from its evaluate module."""
    if judged([metric]):
        raise ValueError(f"metric {metric}: read from the judge's table (score_generations(..., judgements=...))")
    if metric not in SCORERS:
        raise ValueError(f"unknown metric {metric!r}")
    if generations.is_empty():
        return []
    result = load_metric(metric).compute(predictions=generations["generation"].to_list(),
                                         references=generations["reference"].to_list(),
                                         langs=generations["lang"].to_list(), candidates=candidates)
    return list(zip(result["scores"], result["details"], strict=True))


def judge_ratings(judgements: pl.DataFrame | None, ids: list[str]) -> dict[str, tuple[float | None, dict[str, Any]]]:
    """Score and details of ``judge_rating`` per generation id, from the judge stage's table."""
    if judgements is None:
        raise ValueError("metric judge_rating: the judge's ratings are needed (score run --judgements PATH, "
                         "written by xlt judge run)")
    rated = {row["id"]: (row["rating"], {"status": row["status"]})
             for row in judgements.select("id", "rating", "status").iter_rows(named=True)}
    missing = sorted(set(ids) - rated.keys())
    if missing:
        raise ValueError(f"metric judge_rating: {len(missing)} generations have no judgement (first: {missing[0]}); "
                         f"the judgements were made from other generations: rerun the judge")
    return rated


def score_generations(generations: pl.DataFrame, metric_names: list[str], candidates: list[str],
                      judgements: pl.DataFrame | None = None, model: str | None = None, run: str | None = None
                      ) -> pl.DataFrame:
    """Long table: every generation under every metric, sorted by id and metric, with the ``model`` and ``run``
    (``xlt.paths.run_name``, or base) it belongs to; ``judgements`` (the judge stage's table) is needed for
    ``judge_rating``, whose score is null where the judge gave no rating."""
    ids = generations["id"].to_list()
    if judged(metric_names):
        ratings = judge_ratings(judgements, ids)
    scored = {metric: [ratings[i] for i in ids] if judged([metric]) else score_metric(metric, generations, candidates)
              for metric in metric_names}
    rows = []
    for index, row in enumerate(generations.iter_rows(named=True)):
        for metric in metric_names:
            score, details = scored[metric][index]
            rows.append({"model": model, "run": run, "id": row["id"], "source_id": row["source_id"],
                         "task": row["task"], "lang": row["lang"],
                         "metric": metric, "score": score,
                         "details": json.dumps(details, ensure_ascii=False, sort_keys=True)})
    return pl.DataFrame(rows, schema=SCORE_SCHEMA).sort("id", "metric")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt score", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="score one run's generations of one task")
    run.add_argument("--generations", required=True)
    run.add_argument("--model", required=True, help="the key under models: (a column of the scores)")
    run.add_argument("--run", required=True, help="the run's name: {mixture}/seed{seed}, or base")
    run.add_argument("--spec", required=True, help='JSON: {"metrics": [...], "languages": [...]}')
    run.add_argument("--out", required=True)
    run.add_argument("--judgements", nargs="?", default=None,
                     help="the judge's ratings of these generations (metric judge_rating); none: no value")
    args = parser.parse_args(argv)
    started = time.time()
    spec = json.loads(args.spec)
    if judged(spec["metrics"]) and not args.judgements:
        raise ValueError("metric judge_rating: --judgements is required (the table of xlt judge run)")
    judgements = read_table(args.judgements) if args.judgements else None
    scores = score_generations(read_table(args.generations), spec["metrics"], spec["languages"], judgements,
                               args.model, args.run)
    write_parquet(scores, args.out)
    inputs = [args.generations, *([args.judgements] if args.judgements else [])]
    write_provenance(args.out, stage="score", module=__name__, params=spec, inputs=inputs,
                     outputs=[args.out], started=started)
    means = scores.group_by("metric").agg(pl.col("score").mean(), pl.col("score").null_count().alias("nulls"))
    parts = [f"{m} {'n/a' if s is None else f'{s:.3f}'}" + (f" ({n} unscored)" if n else "")
             for m, s, n in means.sort("metric").rows()]
    print(f"{len(scores)} scores ({', '.join(parts)}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
