"""The score stage: one row per example and metric, from a run's generations of one task.

Metrics are the plain functions of ``xlt.metrics``: ROUGE-L with script-aware tokens, numeric answer accuracy,
and instruction-following constraints with a switch-aware language check (a reply that is not in the prompt's
language fails it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import polars as pl

from xlt import metrics
from xlt.io import write_parquet
from xlt.provenance import write_provenance

SCORE_SCHEMA = {"id": pl.String, "source_id": pl.String, "task": pl.String, "lang": pl.String,
                "metric": pl.String, "score": pl.Float64, "details": pl.String}


def score_example(metric: str, generation: str, reference: str, lang: str, candidates: list[str]
                  ) -> tuple[float, dict[str, Any]]:
    """The score of one generation under ``metric`` and what it was computed from."""
    if metric == "rouge_l":
        return metrics.rouge_l(generation, reference, lang), {}
    if metric == "math_accuracy":
        return float(metrics.math_correct(generation, reference)), {"extracted": metrics.extract_number(generation)}
    if metric == "constraint_accuracy":
        checks = metrics.check_constraints(generation, reference, candidates)
        return metrics.constraint_accuracy(checks), {"constraints": checks,
                                                      "fraction": metrics.constraint_fraction(checks)}
    raise ValueError(f"unknown metric {metric!r}")


def score_generations(generations: pl.DataFrame, metric_names: list[str], candidates: list[str]) -> pl.DataFrame:
    """Long table: every generation under every metric, sorted by id and metric."""
    rows = []
    for row in generations.iter_rows(named=True):
        for metric in metric_names:
            score, details = score_example(metric, row["generation"], row["reference"], row["lang"], candidates)
            rows.append({"id": row["id"], "source_id": row["source_id"], "task": row["task"], "lang": row["lang"],
                         "metric": metric, "score": score,
                         "details": json.dumps(details, ensure_ascii=False, sort_keys=True)})
    return pl.DataFrame(rows, schema=SCORE_SCHEMA).sort("id", "metric")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt score", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="score one run's generations of one task")
    run.add_argument("--generations", required=True)
    run.add_argument("--spec", required=True, help='JSON: {"metrics": [...], "languages": [...]}')
    run.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    started = time.time()
    spec = json.loads(args.spec)
    scores = score_generations(pl.read_parquet(args.generations), spec["metrics"], spec["languages"])
    write_parquet(scores, args.out)
    write_provenance(args.out, stage="score", module=__name__, params=spec, inputs=[args.generations],
                     outputs=[args.out], started=started)
    means = scores.group_by("metric").agg(pl.col("score").mean()).sort("metric").rows()
    print(f"{len(scores)} scores ({', '.join(f'{m} {s:.3f}' for m, s in means)}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
