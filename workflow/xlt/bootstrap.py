"""Paired bootstrap over test items: one set of item resamples per task, shared by every run and language.

Every run answers the same test items of a task in every language (``results/eval/{task}/prompts.parquet``),
so resampling *items* (not rows) keeps the pairing: the interval of a seen-language average, of Perf. to EN or
of a fitted curve comes from recomputing it on each resample, with the same items in every run and language.
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
    rng = np.random.default_rng([seed, zlib.crc32(task.encode())])
    draws = rng.integers(0, len(items), size=(samples, len(items)))
    return np.stack([np.bincount(row, minlength=len(items)) for row in draws]).astype(np.float64)


def cell_means(examples: pl.DataFrame, keys: list[str], samples: int, seed: int
               ) -> tuple[pl.DataFrame, np.ndarray]:
    """Mean score of every cell (``keys`` + task, one row per example in ``examples``) and its resample means.

    Returns the cells (``keys``, ``score``, ``examples``) and a (cells, samples) array of means under the item
    resamples of the cell's task; an item a cell lacks counts as absent, not as a zero.
    """
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


def interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per row of a (rows, samples) array, ignoring undefined resamples."""
    tail = (1 - confidence) / 2 * 100
    finite = np.where(np.isfinite(replicates), replicates, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no defined resample gives NaN
        return np.nanpercentile(finite, tail, axis=1), np.nanpercentile(finite, 100 - tail, axis=1)
