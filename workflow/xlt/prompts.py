"""The eval_prompts stage: one task's evaluation set, the same for every run (a seeded sample of test items,
k-shot exemplars as earlier chat turns for math).

    python -m xlt.cli prompts --spec '{"languages": ["en", "es"], "items_per_language": 40, "shots": 0}' \
        --test resources/datasets/math/test.parquet --exemplars resources/datasets/math/train.parquet \
        --out results/eval/math/prompts.parquet
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib

import numpy as np
import polars as pl

from xlt.io import write_parquet
from xlt.provenance import write_provenance
from xlt.schema import read_examples

PROMPT_SCHEMA = {"id": pl.String, "source_id": pl.String, "task": pl.String, "lang": pl.String,
                 "prompt": pl.List(pl.Struct({"role": pl.String, "content": pl.String})),
                 "reference": pl.String, "shots": pl.Int64}


def evaluation_prompts(test: pl.DataFrame, exemplars: pl.DataFrame, languages: list[str], items_per_language: int,
                       shots: int) -> pl.DataFrame:
    """The evaluation set of one task: ``items_per_language`` test items per language (a fixed, seeded sample,
    identical for every run), each prompt preceded by ``shots`` solved ``exemplars`` of the same language as
    earlier chat turns (MGSM-style k-shot).

    Where the test set is parallel (enough source items exist in every language: the synthetic benchmark,
    MGSM, Aya-Dolly), every language gets the same items, so language differences are not item differences;
    otherwise (XLSum: different articles per language) each language gets its own sample."""
    if test.is_empty():
        raise ValueError("the test split has no rows (tasks.<task>.data.splits.test)")
    task = test["task"][0]
    test = test.filter(pl.col("lang").is_in(languages))
    lacking = [lang for lang in languages if lang not in set(test["lang"])]
    if lacking:
        raise ValueError(f"task {task}: no test items in the evaluation language(s) {lacking} (tasks.{task}.data."
                         f"splits.test reads none, and no tasks.{task}.translate entry adds them to the test split)")
    ids = test.group_by("source_id").agg(pl.col("lang").n_unique())
    complete = ids.filter(pl.col("lang") == len(languages))["source_id"].sort()
    rng = np.random.default_rng([zlib.crc32(task.encode()), 0])  # one evaluation set per task, not per seed
    if len(complete) >= items_per_language:
        chosen = complete.gather(np.sort(rng.permutation(len(complete))[:items_per_language]))
        rows = test.filter(pl.col("source_id").is_in(chosen.implode()))
    else:
        parts = []
        for lang in languages:
            own = test.filter(lang=lang)["source_id"].sort()
            if len(own) < items_per_language:
                raise ValueError(f"task {task}: {items_per_language} test items per language asked "
                                 f"(generation.test_items_per_language), {lang} has {len(own)}")
            chosen = own.gather(np.sort(rng.permutation(len(own))[:items_per_language]))
            parts.append(test.filter((pl.col("lang") == lang) & pl.col("source_id").is_in(chosen.implode())))
        rows = pl.concat(parts)
    turns_by_lang = {lang: [] for lang in languages}
    if shots:
        pool = exemplars.filter(pl.col("lang").is_in(languages)).sort("source_id")
        for lang in languages:
            turns = pool.filter(lang=lang).head(shots)["messages"].to_list()
            if len(turns) < shots:
                raise ValueError(f"task {task}: {shots} exemplars asked in {lang} (generation.math_shots), "
                                 f"the exemplars have {len(turns)}")
            turns_by_lang[lang] = [turn for messages in turns for turn in messages]
    prompts = rows.select(
        "id", "source_id", "task", "lang",
        pl.struct("lang", "messages").map_elements(
            lambda row: turns_by_lang[row["lang"]] + row["messages"][:-1],  # drop the reference answer
            return_dtype=PROMPT_SCHEMA["prompt"]).alias("prompt"),
        "reference", pl.lit(shots, dtype=pl.Int64).alias("shots"),
    )
    return prompts.sort("id")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt prompts", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help='JSON: {"languages", "items_per_language", "shots"}')
    parser.add_argument("--test", required=True)
    parser.add_argument("--exemplars", required=True, help="solved items for k-shot prompts (a train split)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    started = time.time()
    spec = json.loads(args.spec)
    table = evaluation_prompts(read_examples(args.test), read_examples(args.exemplars), spec["languages"],
                               spec["items_per_language"], spec["shots"])
    write_parquet(table, args.out)
    write_provenance(args.out, stage="eval_prompts", module=__name__, params=spec,
                     inputs=[args.test, args.exemplars], outputs=[args.out], started=started)
    print(f"{len(table)} prompts -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
