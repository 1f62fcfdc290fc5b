"""Data-efficiency curves: how much multilingual data a task needs, as a number with its uncertainty.

For every model x mixture family x trained task x language group (English, seen, unseen), the headline score
as a function of n (items per non-English language) is fitted with a saturating exponential

    score(n) = plateau - (plateau - start) * exp(-n / scale)

and summarised by ``n_plateau``: the n at which the fitted curve has closed ``plateau_fraction`` (default 95%)
of the change from n = 0 to its plateau, ``scale * ln(1 / (1 - fraction))``. Its interval comes from refitting
on every paired bootstrap resample (``xlt.bootstrap``): of the test items and, where a mixture has several, of
its seeds (each point is a mean over seeds; ``seeds``: the fewest any point averages). A curve needs at least 3
distinct n.
``status``: ok (n_plateau inside the n grid); beyond_grid (extrapolated past the largest n, no interval: measure
larger n before trusting it); flat (the fitted change is under 0.01, no n_plateau); fit_failed.

Usage::

    python -m xlt.cli curves --examples results/tables/scores_by_example.parquet --study '<json>' \
        --out results/tables/data_efficiency.parquet
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from xlt import bootstrap
from xlt.analysis import CELL_KEYS, MIXTURE_CELL_KEYS, headline, language_groups, saturating, trains_task, write_table
from xlt.io import read_table, write_parquet
from xlt.provenance import write_provenance

GROUPS = ("english", "seen", "unseen")
MIN_POINTS = 3
FLAT = 0.01  # a fitted change below this (in score units) has no meaningful n_plateau

SCHEMA = {"model": pl.String, "params_m": pl.Float64, "family": pl.String, "setting": pl.String,
          "task": pl.String, "metric": pl.String, "group": pl.String, "points": pl.Int64, "seeds": pl.Int64,
          "max_n": pl.Int64, "start": pl.Float64, "plateau": pl.Float64, "plateau_ci_low": pl.Float64,
          "plateau_ci_high": pl.Float64, "scale": pl.Float64, "plateau_fraction": pl.Float64, "n_plateau": pl.Float64,
          "n_plateau_ci_low": pl.Float64, "n_plateau_ci_high": pl.Float64, "status": pl.String}


def fit_curve(n: np.ndarray, score: np.ndarray) -> tuple[float, float, float] | None:
    """(start, plateau, scale) of the least-squares saturating curve through the points, or None."""
    from scipy.optimize import curve_fit

    positive = n[n > 0]
    if len(np.unique(n)) < MIN_POINTS or not len(positive) or not np.all(np.isfinite(score)):
        return None
    order = np.argsort(n)
    guess = (*np.clip([score[order][0], score[order][-1]], 0, 1), float(np.median(positive)))
    bounds = ([0.0, 0.0, positive.min() / 100], [1.0, 1.0, n.max() * 100])  # every metric is in [0, 1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 3 points and 3 parameters: no covariance, which we do not use
            params, _ = curve_fit(saturating, n, score, p0=guess, bounds=bounds, maxfev=10_000)
    except (RuntimeError, ValueError):
        return None
    return tuple(map(float, params))


def n_at_fraction(scale: float, fraction: float) -> float:
    """The n at which a saturating curve has closed ``fraction`` of the change from n = 0 to its plateau."""
    return scale * float(np.log(1 / (1 - fraction)))


def fit_group(n: np.ndarray, score: np.ndarray, resampled: np.ndarray, fraction: float, confidence: float
              ) -> dict[str, Any]:
    """Fit the points and every resample (columns of ``resampled``: (points, samples)) of one curve."""
    fitted = fit_curve(n, score)
    if fitted is None:
        return {"status": "fit_failed"}
    start, plateau, scale = fitted
    row = {"start": start, "plateau": plateau, "scale": scale}
    plateaus, n_values = [], []
    for sample in resampled.T:
        refit = fit_curve(n, sample)
        if refit is not None:
            plateaus.append(refit[1])
            n_values.append(n_at_fraction(refit[2], fraction) if abs(refit[1] - refit[0]) >= FLAT else np.nan)
    low, high = bootstrap.interval(np.array([plateaus, n_values]), confidence)
    row.update(plateau_ci_low=low[0], plateau_ci_high=high[0])
    if abs(plateau - start) < FLAT:
        return {**row, "status": "flat"}
    n_plateau = n_at_fraction(scale, fraction)
    if n_plateau > n.max():  # an extrapolation: the grid does not show the plateau, its interval means nothing
        return {**row, "plateau_ci_low": None, "plateau_ci_high": None, "n_plateau": n_plateau,
                "status": "beyond_grid"}
    return {**row, "n_plateau": n_plateau, "n_plateau_ci_low": low[1], "n_plateau_ci_high": high[1],
            "status": "ok"}


def efficiency_table(examples: pl.DataFrame, study: dict[str, Any]) -> pl.DataFrame:
    """One row per model x family x trained task x language group with the fitted curve and ``n_plateau``."""
    settings = study["analysis"]
    trained = headline(examples, study).filter(pl.col("family").is_not_null()).join(
        trains_task(study), on=["family", "task"], how="semi")
    cells, replicates = bootstrap.cell_means(trained, CELL_KEYS, settings["bootstrap_samples"], settings["seed"])
    cells, replicates = bootstrap.seed_means(cells, replicates, MIXTURE_CELL_KEYS, settings["seed"])
    cells = cells.with_row_index("cell")
    groups = language_groups(study)
    rows = []
    for (model, family, task, metric), curve in cells.group_by("model", "family", "task", "metric",
                                                                maintain_order=True):
        n_grid = np.array(sorted(curve["n"].unique()), dtype=float)
        if len(n_grid) < MIN_POINTS:
            continue  # no curve through fewer than 3 n values (the table's caption says so)
        for group in GROUPS:
            points = curve.filter(pl.col("lang").is_in(groups[group]))
            if points.is_empty():
                continue  # a group without languages (a study with no unseen language) has no curve
            by_n = [points.filter(n=int(n))["cell"].to_numpy() for n in n_grid]  # every language
            score = np.array([cells["score"].to_numpy()[index].mean() for index in by_n])
            resampled = np.stack([replicates[index].mean(axis=0) for index in by_n])
            rows.append({
                "model": model, "params_m": study["models"][model]["params_m"], "family": family,
                "setting": study["families"][family]["setting"], "task": task, "metric": metric, "group": group,
                "points": len(n_grid), "seeds": points["seeds"].min(), "max_n": int(n_grid.max()),
                "plateau_fraction": settings["plateau_fraction"],
                **fit_group(n_grid, score, resampled, settings["plateau_fraction"], settings["confidence"])})
    return pl.DataFrame(rows, schema=SCHEMA).sort("model", "family", "task", "group")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt curves", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", required=True, help="parquet of every example score (xlt tables results)")
    parser.add_argument("--study", required=True, help="JSON: xlt.grid.analysis_spec")
    parser.add_argument("--out", required=True, help="parquet (CSV, Markdown and LaTeX beside it)")
    args = parser.parse_args(argv)
    started = time.time()
    study = json.loads(args.study)
    table = efficiency_table(read_table(args.examples), study)
    write_parquet(table, args.out)
    fraction = round(study["analysis"]["plateau_fraction"] * 100)
    shown = table.select("model", "family", "task", "group", "points", "seeds", "start", "plateau", "n_plateau",
                         "n_plateau_ci_low", "n_plateau_ci_high", "status")
    outputs = write_table(shown, Path(args.out).with_suffix(".csv"),
                          f"Data efficiency: n per language at which the fitted curve closes {fraction}% of the "
                          f"change from n=0 to its plateau (families with at least {MIN_POINTS} n values)")
    write_provenance(args.out, stage="curves", module=__name__, params=study, inputs=[args.examples],
                     outputs=[args.out, *outputs], started=started, seed=study["analysis"]["seed"])
    print(f"{table.height} curves ({table.filter(status='ok').height} ok) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
