"""Training mixtures: a fixed English part per task plus n items per non-English language, translation-aware.

How items are chosen (per task, deterministic given the seed):
- every source item of the task's training pool gets a rank from one seeded permutation; the seed derives
  from the training seed and the task name only, so mixtures of one seed are nested: the items of n=100
  are among those of n=200, and the English part is the same for every n and family that asks for as many;
- English takes its first ``english`` source items in rank order;
- ``parallel``: each non-English language takes its first n items in the same order, so they are
  translations of the English items (where the pool is parallel) and of each other;
- ``disjoint``: the source items English did not take are dealt round-robin, in rank order, to the languages
  that have them, so no two languages share a source item;
- no source item of any test set of the task enters training or validation, in any language (a translated
  test item is a leak): they are dropped from the pools, counted in the manifest, and a final check refuses
  the mixture if one got through;
- validation has the same composition, ``ceil(count * validation_fraction)`` per task x language (at least
  one where the training count is not zero), from the validation pools, disjoint from training.

Usage::

    python -m xlt.cli mixtures build --spec '<json of xlt.grid.mixture_spec>' --seed 0 \
        --train resources/datasets/math/train.parquet --validation resources/datasets/math/validation.parquet \
        --test resources/datasets/math/test.parquet --out-dir results/mixtures/st_math-n40/seed0
    python -m xlt.cli mixtures summary results/mixtures/*/seed*/manifest.json --out results/mixtures/summary.csv
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from xlt import paths
from xlt.grid import language_count
from xlt.io import scan_table, sha256_file, write_json, write_parquet, write_text
from xlt.provenance import write_provenance
from xlt.schema import EXAMPLE_SCHEMA, validate_examples

SPLITS = ("train", "validation", "test")  # what a mixture reads of each task


class PoolTooSmallError(ValueError):
    """A pool has fewer items than a mixture asks for."""


class LeakageError(ValueError):
    """A source item of a test set (or of training, for validation) would enter the mixture."""


def task_seed(seed: int, task: str, stream: int) -> np.random.Generator:
    # crc32, not hash(): Python's string hash changes between processes.
    return np.random.default_rng([seed, zlib.crc32(task.encode("utf-8")), stream])


def source_ranks(pool: pl.LazyFrame, rng: np.random.Generator) -> pl.LazyFrame:
    """``source_id, rank``: one seeded permutation of the pool's source items."""
    ids = pool.select(pl.col("source_id").unique()).collect()["source_id"].sort()
    return pl.LazyFrame({"source_id": ids, "rank": rng.permutation(len(ids)).astype(np.int64)})


def validation_count(count: int, fraction: float) -> int:
    return math.ceil(count * fraction) if count else 0


def choose_items(
    pool: pl.LazyFrame,
    ranks: pl.LazyFrame,
    counts: dict[str, int],
    english: str,
    mode: str,
    where: str,
    excluded: int,
) -> pl.DataFrame:
    """``source_id, lang`` of the chosen items: ``counts[lang]`` per language, by rank, as the module says."""
    available = pool.select("source_id", "lang").unique().join(ranks, on="source_id").collect()
    english_rows = available.filter(pl.col("lang") == english).sort("rank").head(counts.get(english, 0))
    others = [lang for lang in counts if lang != english]
    if mode == "parallel":
        candidates = available.filter(pl.col("lang").is_in(others))
    else:
        # Deal the remaining source items round-robin over the languages that have each of them;
        # items with the same set of languages share one deal, in rank order.
        candidates = (
            available.filter(pl.col("lang").is_in(others))
            .join(english_rows.select("source_id"), on="source_id", how="anti")
            .with_columns(pl.col("lang").replace_strict({lang: i for i, lang in enumerate(others)},
                                                        return_dtype=pl.Int32).alias("order"))
            .sort("rank", "order")
            .group_by("source_id", maintain_order=True)
            .agg(pl.col("lang"), pl.col("rank").first())
            .with_columns(pl.col("lang").list.join(",").alias("signature"))
            .with_columns(pl.int_range(pl.len()).over("signature").alias("deal"))
            .select("source_id", "rank",
                    pl.col("lang").list.get(pl.col("deal") % pl.col("lang").list.len()).alias("lang"))
        )
    chosen = [english_rows.select("source_id", "lang", "rank")]
    for lang in others:
        rows = candidates.filter(pl.col("lang") == lang).sort("rank").head(counts[lang])
        chosen.append(rows.select("source_id", "lang", "rank"))
    chosen_frame = pl.concat(chosen)
    got = dict(chosen_frame.group_by("lang").len().iter_rows())
    for lang, wanted in counts.items():
        if got.get(lang, 0) < wanted:
            note = f" after excluding {excluded} source items that are in the test set" if excluded else ""
            shared = " not used by English" if mode == "disjoint" and lang != english else ""
            raise PoolTooSmallError(
                f"{where}, language {lang}: asked for {wanted} items, the pool has {got.get(lang, 0)}"
                f"{shared}{note} (mode {mode}); lower the count or add data"
            )
    return chosen_frame.select("source_id", "lang")


def assert_no_leakage(train: pl.DataFrame, validation: pl.DataFrame, test_ids: pl.DataFrame) -> None:
    """Refuse a mixture whose training or validation part holds a test item (any language) or whose
    validation part shares a source item with training. ``test_ids``: ``task, source_id`` of the test sets."""
    for part_name, part in (("train", train), ("validation", validation)):
        leaked = part.join(test_ids, on=["task", "source_id"], how="semi")
        if len(leaked):
            tasks = ", ".join(sorted(set(leaked["task"])))
            raise LeakageError(
                f"{part_name} would contain {len(leaked)} rows whose source item is in the {tasks} test set "
                f"(a translation of an evaluation item), e.g. {leaked['id'].head(3).to_list()}"
            )
    overlap = train.select("task", "source_id").unique().join(
        validation.select("task", "source_id").unique(), on=["task", "source_id"]
    )
    if len(overlap):
        raise LeakageError(f"validation shares {len(overlap)} source items with training, e.g. "
                           f"{overlap.head(3).rows()}")


DatasetFiles = Mapping[str, Mapping[str, "str | Path"]]


def dataset_files(spec: dict[str, Any], datasets_dir: str | Path = paths.DATASETS) -> dict[str, dict[str, Path]]:
    """Per task of ``spec``, its train, validation and test tables under a datasets root laid out as
    ``xlt.paths.dataset_file`` (the job itself gets each file from its rule)."""
    return {task: {split: Path(datasets_dir) / task / f"{split}.parquet" for split in SPLITS}
            for task in spec["tasks"]}


def build_mixture(spec: dict[str, Any], seed: int, datasets: DatasetFiles | str | Path = paths.DATASETS
                  ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """The training and validation tables of one mixture and its manifest (without input hashes).

    ``spec`` is ``xlt.grid.mixture_spec(...)``: family, n, tasks, english_language, english (items per
    task), languages, mode, validation_fraction. ``datasets``: per task, its train, validation and test
    tables (``{task: {split: path}}``), or a datasets root. The test table's source items never train: a hub
    task's rule passes its native test items (translations share their source_ids, so the items are the same,
    and adding a translated test language rebuilds no mixture).
    """
    files = datasets if isinstance(datasets, Mapping) else dataset_files(spec, datasets)
    english, n = spec["english_language"], spec["n"]
    counts = {english: spec["english"], **{lang: language_count(spec, n, lang) for lang in spec["languages"]}}
    counts = {lang: count for lang, count in counts.items() if count}
    val_counts = {lang: validation_count(count, spec["validation_fraction"]) for lang, count in counts.items()}
    languages = list(counts)
    parts: dict[str, list[pl.DataFrame]] = {"train": [], "validation": []}
    excluded: dict[str, int] = {}
    test_ids = []
    for task in spec["tasks"]:
        def scan(split: str, task: str = task) -> pl.LazyFrame:
            return scan_table(files[task][split])

        task_test_ids = scan("test").select("source_id").unique().collect()
        test_ids.append(task_test_ids.with_columns(task=pl.lit(task)))
        chosen_train = pl.DataFrame(schema={"source_id": pl.String})
        for stream, (split, wanted) in enumerate((("train", counts), ("validation", val_counts))):
            pool = scan(split).filter(pl.col("lang").is_in(languages))
            n_leaked = (pool.join(task_test_ids.lazy(), on="source_id", how="semi")
                        .select(pl.col("source_id").n_unique()).collect().item())
            # Test items (in any language) never train; validation never shares an item with training.
            pool = (pool.join(task_test_ids.lazy(), on="source_id", how="anti")
                    .join(chosen_train.lazy(), on="source_id", how="anti"))
            excluded[f"{task}/{split}"] = n_leaked
            chosen = choose_items(pool, source_ranks(pool, task_seed(seed, task, stream)), wanted, english,
                                  spec["mode"], f"task {task} ({split} pool)", n_leaked)
            rows = scan(split).join(chosen.lazy(), on=["source_id", "lang"], how="semi").collect()
            parts[split].append(rows.with_columns(pl.lit(split).alias("split")))
            if split == "train":
                chosen_train = chosen.select("source_id").unique()
    train, validation = (
        validate_examples(pl.concat(parts[split]).select(list(EXAMPLE_SCHEMA)).sort("id"), f"mixture {split}")
        if parts[split] else pl.DataFrame(schema=EXAMPLE_SCHEMA)
        for split in ("train", "validation")
    )
    assert_no_leakage(train, validation, pl.concat(test_ids))
    manifest = {
        "mixture": f"{spec['family']}-n{n}",
        "seed": seed,
        "spec": spec,
        "rows": {"train": len(train), "validation": len(validation)},
        "counts": {"train": _counts(train), "validation": _counts(validation)},
        "excluded_test_source_items": excluded,
        "shared_with_english": _shared_with_english(train, english),
    }
    return train, validation, manifest


def _counts(frame: pl.DataFrame) -> dict[str, dict[str, dict[str, int]]]:
    """task -> lang -> origin -> rows."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    counts = frame.group_by("task", "lang", "origin").len().sort("task", "lang", "origin")
    for task, lang, origin, count in counts.rows():
        out.setdefault(task, {}).setdefault(lang, {})[origin] = count
    return out


def _shared_with_english(frame: pl.DataFrame, english: str) -> dict[str, dict[str, int]]:
    """task -> lang -> how many of the language's items are translations of English items in the mixture."""
    english_ids = frame.filter(pl.col("lang") == english).select("task", "source_id")
    shared = (frame.filter(pl.col("lang") != english).join(english_ids, on=["task", "source_id"], how="semi")
              .group_by("task", "lang").len().sort("task", "lang"))
    out: dict[str, dict[str, int]] = {}
    for task, lang, count in shared.rows():
        out.setdefault(task, {})[lang] = count
    return out


def write_mixture(spec: dict[str, Any], seed: int, out_dir: str | Path,
                  datasets: DatasetFiles | str | Path = paths.DATASETS) -> dict[str, Any]:
    """Build one mixture and write train/validation parquet, manifest.json and provenance.json (last)."""
    started = time.time()
    out_dir = Path(out_dir)
    files = datasets if isinstance(datasets, Mapping) else dataset_files(spec, datasets)
    inputs = [Path(files[task][split]) for task in spec["tasks"] for split in SPLITS]
    missing = [str(path) for path in inputs if not path.exists()]
    if missing:
        raise FileNotFoundError(f"mixture {spec['family']}-n{spec['n']}: missing datasets {missing}")
    train, validation, manifest = build_mixture(spec, seed, files)
    manifest["inputs"] = [{"path": str(path), "sha256": sha256_file(path)} for path in inputs]
    outputs = [out_dir / "train.parquet", out_dir / "validation.parquet", out_dir / "manifest.json"]
    write_parquet(train, outputs[0])
    write_parquet(validation, outputs[1])
    write_json(manifest, outputs[2])
    write_provenance(out_dir, stage="mixtures", module=__name__, params={"spec": spec}, inputs=inputs,
                     outputs=outputs, started=started, seed=seed)
    return manifest


def summarize_manifests(manifests: list[str | Path]) -> pl.DataFrame:
    """One row per mixture x seed x split x task x language x origin with its row count."""
    rows = []
    for path in manifests:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
        for split, tasks in manifest["counts"].items():
            for task, langs in tasks.items():
                for lang, origins in langs.items():
                    for origin, count in origins.items():
                        rows.append({"mixture": manifest["mixture"], "family": manifest["spec"]["family"],
                                     "n": manifest["spec"]["n"], "seed": manifest["seed"], "split": split,
                                     "task": task, "lang": lang, "origin": origin, "rows": count})
    schema = {"mixture": pl.String, "family": pl.String, "n": pl.Int64, "seed": pl.Int64, "split": pl.String,
              "task": pl.String, "lang": pl.String, "origin": pl.String, "rows": pl.Int64}
    return pl.DataFrame(rows, schema=schema).sort("family", "n", "seed", "split", "task", "lang", "origin")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt mixtures", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build one mixture")
    build.add_argument("--spec", required=True, help="JSON of xlt.grid.mixture_spec (the rule's params)")
    build.add_argument("--seed", type=int, required=True)
    for split in SPLITS:
        build.add_argument(f"--{split}", nargs="+", required=True,
                           help=f"each task's {split} table, in the spec's task order"
                           + (" (its source items never train)" if split == "test" else ""))
    build.add_argument("--out-dir", required=True)
    summary = sub.add_parser("summary", help="a CSV of the row counts of many mixtures")
    summary.add_argument("manifests", nargs="+")
    summary.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "build":
        spec = json.loads(args.spec)
        given = {split: getattr(args, split) for split in SPLITS}
        wrong = {split: len(files) for split, files in given.items() if len(files) != len(spec["tasks"])}
        if wrong:
            raise ValueError(f"mixture {spec['family']}-n{spec['n']}: {len(spec['tasks'])} tasks but {wrong} tables")
        files = {task: {split: given[split][i] for split in SPLITS} for i, task in enumerate(spec["tasks"])}
        manifest = write_mixture(spec, args.seed, args.out_dir, files)
        print(f"mixture {manifest['mixture']} seed {args.seed}: {manifest['rows']['train']} train, "
              f"{manifest['rows']['validation']} validation rows -> {args.out_dir}")
    else:
        write_text(summarize_manifests(args.manifests).write_csv(), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
