"""The analysis tables: every score of the study in one tidy table with bootstrap intervals, the per-run
quantities the paper plots (language-group averages, Perf. to EN, seen-unseen gap) and their means over each
mixture's seeds (with intervals over seeds and test items: what the figures draw), Table 2 (Spearman rho
between seen and unseen averages) and the per-language tables (Tables 3-23).

``study`` everywhere is ``xlt.grid.analysis_spec(config)``: the grid and the language groups.

Usage::

    python -m xlt.cli tables results results/runs/*/*/scores/*.parquet results/runs/*/*/*/scores/*.parquet \
        --study '<json>' --examples results/tables/scores_by_example.parquet \
        --results results/tables/results.parquet --summary results/tables/run_summary.parquet \
        --mixtures results/tables/mixture_summary.parquet
    python -m xlt.cli tables spearman --summary results/tables/run_summary.parquet --study '<json>' \
        --out results/tables/table2_spearman.csv
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from xlt import bootstrap
from xlt.analysis import (
    BASE_SETTING,
    CELL_KEYS,
    MIXTURE_CELL_KEYS,
    MIXTURE_KEYS,
    RUN_KEYS,
    headline,
    language_groups,
    trains_task,
    write_table,
)
from xlt.io import read_table, write_parquet, write_text
from xlt.paths import BASE_RUN
from xlt.provenance import write_provenance


def run_fields(model: str, run: str) -> dict[str, Any]:
    """The run keys of a scores table's ``model`` and ``run`` (base, or ``{family}-n{n}/seed{seed}``)."""
    if run == BASE_RUN:
        return {"model": model, "run": BASE_RUN, "family": None, "mixture": None, "n": None, "seed": None}
    mixture, seed = run.split("/")
    family, _, n = mixture.rpartition("-n")
    return {"model": model, "run": run, "family": family, "mixture": mixture, "n": int(n),
            "seed": int(seed.removeprefix("seed"))}


def collect_scores(score_files: list[str | Path], study: dict[str, Any]) -> pl.DataFrame:
    """Every example score of the study, one row per run x task x metric x language x test item."""
    frames = []
    for path in score_files:
        scores = read_table(path)
        owners = scores.select("model", "run").unique()
        if owners.height != 1:
            raise ValueError(f"{path}: a scores table holds one run's scores, this one has {owners.rows()}")
        run = run_fields(*owners.row(0))
        setting = study["families"][run["family"]]["setting"] if run["family"] else BASE_SETTING
        frames.append(scores.select("task", "metric", "lang", "source_id", "score").with_columns(
            **{key: pl.lit(value, dtype=pl.Int64 if key in ("n", "seed") else pl.String)
               for key, value in run.items()},
            setting=pl.lit(setting), scores_file=pl.lit(str(path))))
    return pl.concat(frames).select(*CELL_KEYS, "source_id", "score", "scores_file").sort(*CELL_KEYS, "source_id")


def language_columns(study: dict[str, Any]) -> pl.DataFrame:
    """Per evaluation language: its group (english, seen, unseen) and script group."""
    languages = study["languages"]
    script = {code: name for name, codes in languages["script_groups"].items() for code in codes}
    return pl.DataFrame({
        "lang": study["eval_languages"],
        "lang_group": ["english" if code == languages["english"] else "seen" if code in languages["seen"]
                       else "unseen" for code in study["eval_languages"]],
        "script_group": [script.get(code) for code in study["eval_languages"]],
    })


def cell_bootstrap(examples: pl.DataFrame, study: dict[str, Any]) -> tuple[pl.DataFrame, np.ndarray]:
    """Mean and item-resample means of every model x run x task x metric x language cell (``xlt.bootstrap``).
    Unscored examples (a judge reply without a rating) are absent from the mean, not zeros; the results
    table counts them."""
    settings = study["analysis"]
    return bootstrap.cell_means(examples, CELL_KEYS, settings["bootstrap_samples"], settings["seed"])


def results_table(examples: pl.DataFrame, cells: pl.DataFrame, replicates: np.ndarray, study: dict[str, Any]
                  ) -> pl.DataFrame:
    """The tidy results table: one row per model x run x task x metric x language with the mean score, its
    bootstrap interval over test items, the number of items, the language's groups and the scores file.
    ``cells, replicates``: ``cell_bootstrap(examples, study)``."""
    low, high = bootstrap.interval(replicates, study["analysis"]["confidence"])
    files = examples.group_by(CELL_KEYS).agg(pl.col("scores_file").first(),
                                              unscored=pl.col("score").is_null().sum().cast(pl.Int64))
    params = pl.DataFrame({"model": list(study["models"]),
                           "params_m": [spec["params_m"] for spec in study["models"].values()]})
    return (cells.with_columns(ci_low=pl.Series(low), ci_high=pl.Series(high)).with_columns(
                pl.col("score", "ci_low", "ci_high").fill_nan(None))
            .join(language_columns(study), on="lang", how="left")
            .join(params, on="model", how="left")
            .join(files, on=CELL_KEYS, how="left", nulls_equal=True)
            .select("model", "params_m", *RUN_KEYS[1:], "task", "metric", "lang", "lang_group", "script_group",
                    "score", "ci_low", "ci_high", "examples", "unscored", "scores_file")
            .sort(CELL_KEYS))


def group_quantities(cells: pl.DataFrame, replicates: np.ndarray, keys: list[str], study: dict[str, Any]
                     ) -> tuple[pl.DataFrame, np.ndarray]:
    """Per ``keys`` (one cell per language): every language-group average, Perf. to EN (non-English average
    over English) and the seen-minus-unseen gap, and the same quantities on every resample, each computed from
    that resample's means (the same resamples for all languages, so averages and ratios keep their pairing).
    Returns ``keys``, ``quantity``, ``value`` and a (rows, samples) array; ``cells, replicates``: per-language
    means and their resample means (``cell_bootstrap``, ``bootstrap.seed_means``)."""
    cells = cells.with_row_index("cell")
    scores = cells["score"].to_numpy()
    groups = language_groups(study)
    rows, quantities = [], []
    for key, key_cells in cells.group_by(keys, maintain_order=True):
        by_lang = dict(zip(key_cells["lang"], key_cells["cell"]))
        means: dict[str, tuple[float, np.ndarray]] = {}
        for name, codes in groups.items():
            index = [by_lang[code] for code in codes if code in by_lang]
            if len(index) == len(codes) and index:  # a group with a missing language has no average
                means[name] = (float(np.mean(scores[index])), replicates[index].mean(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            if "english" in means and "non_english" in means:
                english, non_english = means["english"], means["non_english"]
                resampled = non_english[1] / english[1]
                if english[0] < study["analysis"]["min_english_for_ratio"]:  # a ratio without an interval
                    resampled = np.full_like(resampled, np.nan)
                means["perf_to_en"] = (non_english[0] / english[0] if english[0] else float("nan"), resampled)
            if "seen" in means and "unseen" in means:
                means["seen_unseen_gap"] = (means["seen"][0] - means["unseen"][0],
                                            means["seen"][1] - means["unseen"][1])
        for name, (value, resampled) in means.items():
            rows.append((*key, name, value))
            quantities.append(resampled)
    schema = {**{key: cells.schema[key] for key in keys}, "quantity": pl.String, "value": pl.Float64}
    return (pl.DataFrame(rows, schema=schema, orient="row"),
            np.stack(quantities) if quantities else np.empty((0, replicates.shape[1])))


def with_interval(frame: pl.DataFrame, resampled: np.ndarray, study: dict[str, Any]) -> pl.DataFrame:
    """``frame`` with ``ci_low`` and ``ci_high`` from its rows' resamples (none where more resamples are undefined
    than the interval leaves out); undefined values (NaN) as nulls."""
    confidence = study["analysis"]["confidence"]
    low, high = bootstrap.interval(resampled, confidence, max_undefined=1 - confidence)
    bounds = frame.with_columns(ci_low=pl.Series(low, dtype=pl.Float64), ci_high=pl.Series(high, dtype=pl.Float64))
    return bounds.with_columns(pl.col("value", "ci_low", "ci_high").fill_nan(None))


def run_summary(examples: pl.DataFrame, cells: pl.DataFrame, replicates: np.ndarray, study: dict[str, Any]
                ) -> pl.DataFrame:
    """Per run x task x metric: the ``group_quantities`` with their paired bootstrap intervals over test items,
    and the run's unscored examples (left out of every average). ``cells, replicates``: ``cell_bootstrap``."""
    keys = [*RUN_KEYS, "task", "metric"]
    summary = with_interval(*group_quantities(cells, replicates, keys, study), study)
    # examples without a score (a judge reply without a rating), counted per run x task x metric, all languages
    unscored = examples.group_by(keys).agg(unscored=pl.col("score").is_null().sum().cast(pl.Int64))
    return summary.join(unscored, on=keys, how="left", nulls_equal=True).sort(*keys, "quantity")


def mixture_summary(cells: pl.DataFrame, replicates: np.ndarray, study: dict[str, Any]) -> pl.DataFrame:
    """Per model x mixture (or the base model) x task x metric: the ``group_quantities`` of the mean over the
    mixture's seeds, computed from the per-language means over seeds, with two-stage bootstrap intervals over
    seeds and test items (``bootstrap.seed_means``); ``seeds``: how many seeds the values average. What the
    figures draw. ``cells, replicates``: ``cell_bootstrap``."""
    keys = [*MIXTURE_KEYS, "task", "metric"]
    means, resampled = bootstrap.seed_means(cells, replicates, MIXTURE_CELL_KEYS, study["analysis"]["seed"])
    seeds = means.group_by(keys).agg(pl.col("seeds").min())  # the fewest of its languages (all, normally)
    summary = with_interval(*group_quantities(means, resampled, keys, study), study)
    return summary.join(seeds, on=keys, how="left", nulls_equal=True).sort(*keys, "quantity")


def spearman_table(summary: pl.DataFrame, study: dict[str, Any]) -> pl.DataFrame:
    """Table 2: Spearman rho (and its p value) between the seen and the unseen average across the runs of a
    model that train the task (every mixture, n and seed), per model and task it trains."""
    from scipy.stats import spearmanr

    runs = (headline(summary, study).join(trains_task(study), on=["family", "task"], how="semi")
            .filter(pl.col("quantity").is_in(["seen", "unseen"]))
            .pivot(on="quantity", index=[*RUN_KEYS, "task"], values="value"))
    rows = []
    for model in study["models"]:
        for task in study["tasks"]:
            pairs = runs.filter(model=model, task=task).drop_nulls(["seen", "unseen"])
            rho = p = None
            if not pairs.height and not runs.filter(model=model, task=task).height:
                continue  # the model never trains this task
            if pairs.height < 3:
                note = f"{pairs.height} runs (needs at least 3)"
            elif pairs["seen"].n_unique() == 1 or pairs["unseen"].n_unique() == 1:
                note = "constant scores: rank correlation undefined"
            else:
                result = spearmanr(pairs["seen"].to_numpy(), pairs["unseen"].to_numpy())
                rho, p, note = float(result.statistic), float(result.pvalue), ""
            rows.append({"model": model, "task": task, "runs": pairs.height, "rho": rho, "p": p, "note": note})
    return pl.DataFrame(rows, schema={"model": pl.String, "task": pl.String, "runs": pl.Int64, "rho": pl.Float64,
                                      "p": pl.Float64, "note": pl.String})


def per_language_table(results: pl.DataFrame, study: dict[str, Any], model: str, setting: str,
                       task: str) -> pl.DataFrame:
    """Tables 3-23: the task's headline score per language (mean over seeds; ``seeds``: how many) for every
    mixture of one model and setting that trains the task, by family and n, with the untrained base first and
    Avg over all languages (English included)."""
    languages = study["eval_languages"]
    trained = trains_task(study).filter(task=task)["family"].to_list()
    rows = headline(results, study).filter(
        pl.col("model") == model, pl.col("task") == task,
        (pl.col("setting") == BASE_SETTING) | ((pl.col("setting") == setting) & pl.col("family").is_in(trained)))
    seeds = rows.group_by("family", "n").agg(seeds=pl.col("run").n_unique().cast(pl.Int64))  # a seed is a run
    table = (rows.group_by("family", "n", "lang").agg(pl.col("score").mean())
             .pivot(on="lang", index=["family", "n"], values="score")
             .join(seeds, on=["family", "n"], how="left", nulls_equal=True)
             .with_columns(pl.col("family").fill_null(BASE_SETTING)))
    missing = [code for code in languages if code not in table.columns]
    table = table.with_columns(pl.lit(None, dtype=pl.Float64).alias(code) for code in missing)
    ordered = sorted(languages)
    return (table.with_columns(Avg=pl.mean_horizontal(ordered))
            .sort(pl.col("family") != BASE_SETTING, "family", "n", nulls_last=False)
            .with_columns(pl.col("n").cast(pl.String).fill_null("–"))  # n is an integer label, base has none
            .select("family", "n", "seeds", *ordered, "Avg"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt tables", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    results = sub.add_parser("results", help="the tidy results table and the per-run summary")
    results.add_argument("scores", nargs="+")
    results.add_argument("--study", required=True, help="JSON: xlt.grid.analysis_spec")
    results.add_argument("--examples", required=True, help="parquet: every example score")
    results.add_argument("--results", required=True, help="parquet (a CSV is written beside it)")
    results.add_argument("--summary", required=True, help="parquet, per run (a CSV is written beside it)")
    results.add_argument("--mixtures", required=True,
                         help="parquet, per mixture: means over its seeds (a CSV is written beside it)")
    spearman = sub.add_parser("spearman", help="Table 2: seen vs unseen Spearman rho per model and task")
    spearman.add_argument("--summary", required=True)
    spearman.add_argument("--study", required=True)
    spearman.add_argument("--out", required=True, help="CSV (Markdown and LaTeX beside it)")
    languages = sub.add_parser("per-language", help="per-language scores by n of one model x setting x task")
    languages.add_argument("--results", required=True)
    languages.add_argument("--study", required=True)
    languages.add_argument("--model", required=True)
    languages.add_argument("--setting", required=True)
    languages.add_argument("--task", required=True)
    languages.add_argument("--out", required=True, help="CSV (Markdown and LaTeX beside it)")
    args = parser.parse_args(argv)
    started = time.time()
    study = json.loads(args.study)
    if args.command == "results":
        examples = collect_scores(args.scores, study)
        cells, replicates = cell_bootstrap(examples, study)  # once: every table uses the same resamples
        tidy = results_table(examples, cells, replicates, study)
        summary = run_summary(examples, cells, replicates, study)
        mixtures = mixture_summary(cells, replicates, study)
        write_parquet(examples, args.examples)
        frames = ((tidy, args.results), (summary, args.summary), (mixtures, args.mixtures))
        for frame, path in frames:
            write_parquet(frame, path)
            write_text(frame.write_csv(), Path(path).with_suffix(".csv"))
        outputs = [args.examples, *(path for _, path in frames), *(Path(path).with_suffix(".csv")
                                                                   for _, path in frames)]
        for path in (args.examples, *(path for _, path in frames)):
            write_provenance(path, stage="tables", module=__name__, params=study, inputs=args.scores,
                             outputs=outputs, started=started, seed=study["analysis"]["seed"])
        print(f"{examples.height} example scores, {tidy.height} cells, {summary.height} run quantities, "
              f"{mixtures.height} mixture quantities")
        return 0
    if args.command == "spearman":
        table = spearman_table(read_table(args.summary), study)
        caption = "Table 2: Spearman rho between average seen and unseen scores across runs"
        inputs = [args.summary]
    else:
        table = per_language_table(read_table(args.results), study, args.model, args.setting, args.task)
        metric = study["tasks"][args.task]["metric"]
        caption = f"{args.model}, {args.setting.replace('_', '-')}, {args.task}: {metric} per language"
        inputs = [args.results]
    outputs = write_table(table, args.out, caption)
    write_provenance(args.out, stage="tables", module=__name__,
                     params={"command": args.command, **{k: v for k, v in vars(args).items()
                                                         if k in ("model", "setting", "task")}, "study": study},
                     inputs=inputs, outputs=outputs, started=started)
    print(f"{table.height} rows -> {args.out} (+ .md, .tex)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
