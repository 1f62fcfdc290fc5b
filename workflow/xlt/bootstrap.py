"""Paired bootstrap over test items and training seeds: one set of item resamples per task, shared by every run
and language, and one set of seed resamples per number of seeds, shared by every mixture.

Every run answers the same test items of a task in every language (``results/eval/{task}/prompts.parquet``),
so resampling *items* (not rows) keeps the pairing: the interval of a seen-language average, of Perf. to EN or
of a fitted curve comes from recomputing it on each resample, with the same items in every run and language.
A mean over a mixture's seeds (its training runs) is resampled in two stages (``seed_means``): resample b draws
the seeds, then takes each drawn seed's mean under item resample b, so its interval holds the seed-to-seed
spread as well as the item noise; with one seed it is the item bootstrap unchanged.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import polars as pl


def item_weights(items: list[str], samples: int, seed: int, task: str) -> np.ndarray:
    """(samples, items) resample counts: row b says how often each test item is drawn in resample b.

    Seeded by (seed, task) alone, so a task's resamples do not move when other tasks or runs change.
    """
    return resample_counts(np.random.default_rng([seed, zlib.crc32(task.encode())]), len(items), samples)


def seed_weights(seeds: int, samples: int, seed: int) -> np.ndarray:
    """(samples, seeds) resample counts: row b says how often each of a mixture's seeds (in order) is drawn in
    resample b.

    Seeded by (seed, number of seeds) alone, so every mixture with as many seeds gets the same draws: its
    languages, tasks and n stay paired by seed as they are by item.
    """
    return resample_counts(np.random.default_rng([seed, zlib.crc32(b"seeds"), seeds]), seeds, samples)


def resample_counts(rng: np.random.Generator, count: int, samples: int) -> np.ndarray:
    """(samples, count) counts of ``count`` draws with replacement from ``count`` things, per resample."""
    draws = rng.integers(0, count, size=(samples, count))
    return np.stack([np.bincount(row, minlength=count) for row in draws]).astype(np.float64)


def cell_means(examples: pl.DataFrame, keys: list[str], samples: int, seed: int
               ) -> tuple[pl.DataFrame, np.ndarray]:
    """Mean score of every cell (``keys`` + task, one row per example in ``examples``) and its resample means.

    Returns the cells (``keys``, ``score``, ``examples``) and a (cells, samples) array of means under the item
    resamples of the cell's task; an item a cell lacks, or has no score for (a judge reply without a rating),
    counts as absent, not as a zero.
    """
    examples = examples.filter(pl.col("score").is_not_null())
    cells, replicates = [], []
    for (task,), rows in examples.sort("task").group_by("task", maintain_order=True):
        items = rows["source_id"].unique().sort().to_list()
        weights = item_weights(items, samples, seed, task)  # (samples, items)
        cell_rows = rows.select(keys).unique(maintain_order=False).sort(keys).with_row_index("cell")
        indexed = rows.join(cell_rows, on=keys, nulls_equal=True).join(
            pl.DataFrame({"source_id": items}).with_row_index("item"), on="source_id")
        scores = np.zeros((cell_rows.height, len(items)))
        present = np.zeros_like(scores)
        scores[indexed["cell"].to_numpy(), indexed["item"].to_numpy()] = indexed["score"].to_numpy()
        present[indexed["cell"].to_numpy(), indexed["item"].to_numpy()] = 1.0
        with np.errstate(invalid="ignore", divide="ignore"):
            replicates.append((scores @ weights.T) / (present @ weights.T))
        cells.append(cell_rows.drop("cell").with_columns(
            score=pl.Series(scores.sum(axis=1) / present.sum(axis=1)),
            examples=pl.Series(present.sum(axis=1).astype(np.int64))))
    return pl.concat(cells), np.concatenate(replicates)


def seed_means(cells: pl.DataFrame, replicates: np.ndarray, keys: list[str], seed: int
               ) -> tuple[pl.DataFrame, np.ndarray]:
    """Mean over training seeds of ``cell_means``' cells, per ``keys`` (the cell keys without ``seed`` and the
    run it names), and its two-stage resample means.

    Resample b draws the group's seeds with replacement (``seed_weights``) and averages the drawn seeds' means
    under item resample b: every seed answers the same test items, so one item draw serves them all (the item
    noise does not average out over seeds). Returns the groups (``keys``, ``score``, ``seeds``: how many seeds)
    and a (groups, samples) array; one seed gives its cell's values exactly. ``cells`` holds ``keys`` and
    ``seed``; ``replicates``: (cells, samples).
    """
    groups = (cells.with_row_index("cell").sort([*keys, "seed"])
              .group_by(keys, maintain_order=True).agg("cell", seeds=pl.len().cast(pl.Int64)))
    scores = cells["score"].to_numpy()
    means = np.empty(groups.height)
    resampled = np.empty((groups.height, replicates.shape[1]))
    for count in groups["seeds"].unique().to_list():
        rows = np.flatnonzero(groups["seeds"].to_numpy() == count)
        index = np.array(groups["cell"].gather(rows).to_list())  # (groups, seeds) cell rows, seeds in order
        weights = seed_weights(count, replicates.shape[1], seed)  # (samples, seeds)
        drawn = replicates[index]  # (groups, seeds, samples)
        defined = np.isfinite(drawn)
        undefined = np.einsum("gsb,bs->gb", ~defined, weights) > 0  # a drawn seed lacks this item resample
        totals = np.einsum("gsb,bs->gb", np.where(defined, drawn, 0.0), weights)
        means[rows] = scores[index].mean(axis=1)
        resampled[rows] = np.where(undefined, np.nan, totals / count)
    return groups.drop("cell").with_columns(score=pl.Series(means)).select(*keys, "score", "seeds"), resampled


def interval(replicates: np.ndarray, confidence: float, max_undefined: float = 1.0
             ) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per row of a (rows, samples) array over its defined (finite) resamples. A row whose
    share of undefined resamples exceeds ``max_undefined`` gets none (NaN): an interval over the defined ones
    alone would assume what the others leave open (Perf. to EN where some resamples have an English mean of 0)."""
    tail = (1 - confidence) / 2 * 100
    finite = np.where(np.isfinite(replicates), replicates, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no defined resample gives NaN
        low, high = np.nanpercentile(finite, tail, axis=1), np.nanpercentile(finite, 100 - tail, axis=1)
    too_few = np.isnan(finite).mean(axis=1) > max_undefined if finite.size else np.zeros(len(finite), bool)
    return np.where(too_few, np.nan, low), np.where(too_few, np.nan, high)
