"""The analyses of study B (Choenni et al. 2023) on TracIn scores: pure functions, arrays and tables in, tables
out.

- ``share_table``: for each test example, its top-k proponents (highest scores) or opponents (lowest); the share
  of each training language among them, averaged per test language, with a bootstrap interval over test items,
  and divided by the language's share of the attributed training pool (``ratio``: 1.0 = as often as chance).
- the same per checkpoint (each checkpoint's own term of TracIn), to see when reliance on other languages
  appears;
- ``reinforce_table``: of a test example's cross-lingual proponents, the fraction that are translations (same
  task and ``source_id``) of its own-language proponents, against the fraction expected if each cross-lingual
  proponent were drawn at random from its language's pool;
- zero-shot (test languages with no training item) and imbalance (own-language reliance against the
  language's share of the pool) are views of the share table (``zero_shot_table``, ``imbalance_table``).

Intervals resample test items by (task, source_id), the same draws for every language (the evaluation sets are
parallel), as ``xlt.bootstrap`` does for scores.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from xlt.bootstrap import interval, item_weights

DIRECTIONS = ("proponents", "opponents")


def top_k(scores: np.ndarray, k: int, direction: str) -> np.ndarray:
    """(test, k) indices of the training examples with the ``k`` highest (proponents) or lowest (opponents)
    scores for each test example; unscored training rows (NaN) never rank; ties go to the lower index."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    signed = scores if direction == "proponents" else -scores
    signed = np.where(np.isnan(signed), -np.inf, signed)
    k = min(k, int(np.isfinite(signed[:, 0]).sum()) if signed.size else 0)
    order = np.argsort(-signed.T, axis=1, kind="stable")  # (test, train), best first
    return order[:, :k]


def item_keys(frame: pl.DataFrame) -> list[str]:
    return [f"{task}\x1f{source}" for task, source in zip(frame["task"], frame["source_id"], strict=True)]


def test_weights(test: pl.DataFrame, samples: int, seed: int) -> np.ndarray:
    """(samples, test examples) bootstrap weights: items (task, source_id) resampled once, shared by every
    language of the item."""
    keys = item_keys(test)
    items = sorted(set(keys))
    weights = item_weights(items, samples, seed, "attribution")
    position = {key: i for i, key in enumerate(items)}
    return weights[:, [position[key] for key in keys]]


def group_means(values: np.ndarray, groups: list[str], weights: np.ndarray, confidence: float
                ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Per group of test examples: the mean of each column of ``values`` (test, columns) over the group's rows
    that are defined (not NaN), with its bootstrap interval, and the number of defined rows."""
    result = {}
    groups_array = np.asarray(groups)
    for group in dict.fromkeys(groups):
        rows = np.flatnonzero(groups_array == group)
        block = values[rows]
        defined = ~np.isnan(block)
        filled = np.where(defined, block, 0.0)
        count = defined.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = filled.sum(axis=0) / count
            resampled = (weights[:, rows] @ filled) / (weights[:, rows] @ defined)  # (samples, columns)
        low, high = interval(resampled.T, confidence)
        result[group] = (mean, low, high, int(defined.any(axis=1).sum()))
    return result


def pool_shares(train: pl.DataFrame, scored: np.ndarray, languages: list[str]) -> np.ndarray:
    """Each language's share of the scored training pool (the chance rate of a proponent's language)."""
    langs = np.asarray(train["lang"].to_list())[scored]
    return np.array([(langs == lang).mean() if len(langs) else np.nan for lang in languages])


def share_table(train: pl.DataFrame, test: pl.DataFrame, scores: np.ndarray, k: int, direction: str,
                samples: int, seed: int, confidence: float, train_languages: list[str] | None = None
                ) -> pl.DataFrame:
    """One row per (test language, training language): the mean share of the training language among the top-k
    ``direction`` of the test language's examples, its interval, the chance share and the ratio to it.

    ``train``: the attributed training items in score-row order (``lang``); ``test``: the test items in
    score-column order (``lang``, ``task``, ``source_id``); ``scores``: (train, test)."""
    scored = ~np.isnan(scores).all(axis=1)
    languages = train_languages or sorted(set(train["lang"].to_list()))
    top = top_k(scores, k, direction)
    train_langs = np.asarray(train["lang"].to_list())
    shares = np.stack([(train_langs[top] == lang).mean(axis=1) for lang in languages], axis=1)  # (test, langs)
    chance = pool_shares(train, scored, languages)
    weights = test_weights(test, samples, seed)
    rows = []
    for test_lang, (mean, low, high, count) in group_means(shares, test["lang"].to_list(), weights,
                                                           confidence).items():
        for j, train_lang in enumerate(languages):
            rows.append({"direction": direction, "test_lang": test_lang, "train_lang": train_lang,
                         "share": mean[j], "ci_low": low[j], "ci_high": high[j], "chance": chance[j],
                         "ratio": mean[j] / chance[j], "ratio_low": low[j] / chance[j],
                         "ratio_high": high[j] / chance[j], "k": top.shape[1], "test_items": count})
    return pl.DataFrame(rows, schema=SHARE_SCHEMA)


SHARE_SCHEMA = {"direction": pl.String, "test_lang": pl.String, "train_lang": pl.String, "share": pl.Float64,
                "ci_low": pl.Float64, "ci_high": pl.Float64, "chance": pl.Float64, "ratio": pl.Float64,
                "ratio_low": pl.Float64, "ratio_high": pl.Float64, "k": pl.Int64, "test_items": pl.Int64}


def reinforce_rates(train: pl.DataFrame, test: pl.DataFrame, scores: np.ndarray, k: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per test example: (rate, chance, cross): the fraction of its cross-lingual top-k proponents that share a
    (task, source_id) with one of its own-language proponents, the fraction expected by chance (each
    cross-lingual proponent drawn at random from its language's scored pool), and the number of cross-lingual
    proponents. NaN where the example has no own-language or no cross-lingual proponent."""
    scored = ~np.isnan(scores).all(axis=1)
    top = top_k(scores, k, "proponents")
    train_langs = np.asarray(train["lang"].to_list())
    keys = np.asarray(item_keys(train))
    pool = {lang: keys[scored & (train_langs == lang)] for lang in set(train_langs[scored])}
    rates, chances, cross_counts = (np.full(len(test), np.nan) for _ in range(3))
    for j, test_lang in enumerate(test["lang"].to_list()):
        chosen = top[j]
        own = chosen[train_langs[chosen] == test_lang]
        cross = chosen[train_langs[chosen] != test_lang]
        cross_counts[j] = len(cross)
        if not len(own) or not len(cross):
            continue
        own_keys = set(keys[own])
        rates[j] = np.mean([keys[i] in own_keys for i in cross])
        # the chance of a random item of a language translating an own-language proponent, once per language
        in_pool = {lang: np.isin(pool[lang], list(own_keys)).mean() for lang in set(train_langs[cross])}
        chances[j] = np.mean([in_pool[train_langs[i]] for i in cross])
    return rates, chances, cross_counts


def reinforce_table(train: pl.DataFrame, test: pl.DataFrame, scores: np.ndarray, k: int, samples: int, seed: int,
                    confidence: float) -> pl.DataFrame:
    """Per test language: the reinforce rate (cross-lingual proponents that translate an own-language
    proponent) and its chance rate, each with an interval; the complement rate is 1 - reinforce."""
    rates, chances, cross = reinforce_rates(train, test, scores, k)
    weights = test_weights(test, samples, seed)
    values = np.stack([rates, chances, np.where(np.isnan(rates), np.nan, rates - chances)], axis=1)
    rows = []
    for test_lang, (mean, low, high, count) in group_means(values, test["lang"].to_list(), weights,
                                                           confidence).items():
        in_lang = np.asarray(test["lang"].to_list()) == test_lang
        rows.append({"test_lang": test_lang, "reinforce": mean[0], "ci_low": low[0], "ci_high": high[0],
                     "chance": mean[1], "chance_low": low[1], "chance_high": high[1], "excess": mean[2],
                     "excess_low": low[2], "excess_high": high[2], "cross_proponents": float(np.mean(cross[in_lang])),
                     "test_items": count, "k": min(k, scores.shape[0])})
    return pl.DataFrame(rows, schema=REINFORCE_SCHEMA)


REINFORCE_SCHEMA = {"test_lang": pl.String, "reinforce": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                    "chance": pl.Float64, "chance_low": pl.Float64, "chance_high": pl.Float64,
                    "excess": pl.Float64, "excess_low": pl.Float64, "excess_high": pl.Float64,
                    "cross_proponents": pl.Float64, "test_items": pl.Int64, "k": pl.Int64}


def zero_shot_table(shares: pl.DataFrame, train_languages: list[str]) -> pl.DataFrame:
    """The share rows of test languages without a training item (proponents): which languages they draw on."""
    return shares.filter(~pl.col("test_lang").is_in(train_languages), pl.col("direction") == "proponents")


def imbalance_table(shares: pl.DataFrame) -> pl.DataFrame:
    """Per trained test language: its share of the pool, the share of its own language among its proponents
    and the ratio to chance (does an over-represented language rely more on its own data?)."""
    own = shares.filter(pl.col("test_lang") == pl.col("train_lang"), pl.col("direction") == "proponents")
    return own.select("test_lang", pl.col("chance").alias("pool_share"), pl.col("share").alias("own_share"),
                      "ci_low", "ci_high", pl.col("ratio").alias("own_ratio"), "ratio_low", "ratio_high",
                      "test_items", *(["step"] if "step" in own.columns else [])).sort("pool_share",
                                                                                    descending=True)
