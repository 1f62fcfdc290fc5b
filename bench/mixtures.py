"""Benchmark: build the paper's full mixture grid from pools of ~1M rows per task.

Compares xlt's polars builder (``xlt.mixtures.build_mixture``, the code the workflow runs) with a
straightforward pandas implementation of the same sampling, in one run: each builds every mixture of the grid
(reading the pools and writing train/validation parquet, as a workflow job does) in its own process, so that
peak memory (max RSS) is measured per implementation. Both must choose the same items; the run checks it.

    python bench/mixtures.py                 # 1M rows per task, the paper's grid (88 mixtures)
    python bench/mixtures.py --rows 200000   # smaller pools
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "workflow"))

LANGUAGES = ["en", "es", "fr", "ja", "zh", "ar", "ko", "pt"]
SEEN = ["es", "fr", "ja", "zh"]
TASKS = {"math": "math", "summarization": "summarization", "instruction_following": "instruction_following"}
SINGLE_N = [0, 100, 200, 400, 800, 1000, 2000, 5000]
MULTI_N = [0, 100, *range(500, 7001, 500)]


def paper_grid() -> list[dict]:
    """The mixture specs of the paper's grid: single-task, script mixes (per task) and multi-task."""
    specs = []

    def spec(family, tasks, english, languages, n):
        return {"family": family, "n": n, "tasks": tasks, "english_language": "en", "english": english,
                "languages": languages, "mode": "parallel", "validation_fraction": 0.1}

    for task in TASKS:
        specs += [spec(f"st_{task}", [task], 10_000, SEEN, n) for n in SINGLE_N]
        specs += [spec(f"latin_{task}", [task], 10_000, ["es", "fr"], n) for n in SINGLE_N]
        specs += [spec(f"non_latin_{task}", [task], 10_000, ["ja", "zh"], n) for n in SINGLE_N]
    specs += [spec("mt", list(TASKS), 5_000, SEEN, n) for n in MULTI_N]
    return specs


def make_pools(root: Path, rows_per_task: int) -> None:
    """Pools of ``rows_per_task`` train rows per task: synthetic items tiled under new source ids."""
    import polars as pl

    from xlt.io import write_parquet
    from xlt.synthetic.benchmark import build_benchmark

    base_items = 2_000
    copies = math.ceil(rows_per_task / (base_items * len(LANGUAGES)))
    for task, kind in TASKS.items():
        folder = root / task
        if (folder / "test.parquet").exists():
            continue
        base = build_benchmark(task, kind, 0, {"train": base_items, "validation": 1_000, "test": 250}, LANGUAGES)

        def tiled(split: str, n_copies: int, base: pl.DataFrame = base) -> pl.DataFrame:
            part = base.filter(split=split)
            frames = [part.with_columns(source_id=pl.col("source_id") + f"r{copy}") for copy in range(n_copies)]
            return (pl.concat(frames)
                    .with_columns(id=pl.concat_str(["task", "source_id", "lang"], separator=":"))
                    .sort("id"))

        write_parquet(tiled("train", copies), folder / "train.parquet")
        write_parquet(tiled("validation", 2), folder / "validation.parquet")
        write_parquet(tiled("test", 1), folder / "test.parquet")


def build_with_polars(spec: dict, pools: Path, out: Path) -> tuple[int, list[str]]:
    from xlt.io import write_parquet
    from xlt.mixtures import build_mixture

    train, validation, _ = build_mixture(spec, 0, pools)
    write_parquet(train, out / "train.parquet")
    write_parquet(validation, out / "validation.parquet")
    return len(train) + len(validation), sorted(train["id"].to_list())


def build_with_pandas(spec: dict, pools: Path, out: Path) -> tuple[int, list[str]]:
    """The same sampling written the obvious way: load each pool, filter, sort by rank, take the head."""
    import numpy as np
    import pandas as pd

    from xlt.mixtures import task_seed

    counts = {"en": spec["english"], **{lang: spec["n"] for lang in spec["languages"]}}
    counts = {lang: c for lang, c in counts.items() if c}
    val_counts = {lang: math.ceil(c * spec["validation_fraction"]) for lang, c in counts.items()}
    parts: dict[str, list[pd.DataFrame]] = {"train": [], "validation": []}
    for task in spec["tasks"]:
        test_ids = set(pd.read_parquet(pools / task / "test.parquet", columns=["source_id"])["source_id"])
        used: set[str] = set()
        for stream, (split, wanted) in enumerate((("train", counts), ("validation", val_counts))):
            pool = pd.read_parquet(pools / task / f"{split}.parquet")
            pool = pool[pool["lang"].isin(list(wanted)) & ~pool["source_id"].isin(test_ids | used)]
            ids = np.sort(pool["source_id"].unique())
            rank = pd.Series(task_seed(0, task, stream).permutation(len(ids)), index=ids)
            pool = pool.assign(rank=pool["source_id"].map(rank))
            chosen = []
            for lang, count in wanted.items():
                rows = pool[pool["lang"] == lang].sort_values("rank").head(count)
                if len(rows) < count:
                    raise ValueError(f"{task} {lang}: pool too small")
                chosen.append(rows)
            picked = pd.concat(chosen).drop(columns="rank").assign(split=split)
            parts[split].append(picked)
            used = set(picked["source_id"])
    train = pd.concat(parts["train"]).sort_values("id")
    validation = pd.concat(parts["validation"]).sort_values("id")
    train.to_parquet(out / "train.parquet", index=False)
    validation.to_parquet(out / "validation.parquet", index=False)
    return len(train) + len(validation), sorted(train["id"].tolist())


def run_grid(name: str, pools: Path, out: Path, limit: int | None, queue) -> None:
    """Child process: build the grid with one implementation; report rows, seconds, peak RSS and ids."""
    build = {"polars": build_with_polars, "pandas": build_with_pandas}[name]
    specs = paper_grid()[:limit] if limit else paper_grid()
    started, rows, ids = time.perf_counter(), 0, {}
    for spec in specs:
        folder = out / name / f"{spec['family']}-n{spec['n']}"
        folder.mkdir(parents=True, exist_ok=True)
        count, train_ids = build(spec, pools, folder)
        rows += count
        ids[f"{spec['family']}-n{spec['n']}"] = hashlib.sha256("\n".join(train_ids).encode()).hexdigest()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"name": name, "mixtures": len(specs), "rows": rows, "seconds": seconds, "peak_mb": peak_mb,
               "ids": ids})


def measure(name: str, pools: Path, out: Path, limit: int | None) -> dict:
    context = multiprocessing.get_context("spawn")  # a fresh process: its max RSS is this build's alone
    queue = context.Queue()
    process = context.Process(target=run_grid, args=(name, pools, out, limit, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="train rows per task pool")
    parser.add_argument("--limit", type=int, default=None, help="build only the first N mixtures of the grid")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    pools = args.workdir / f"pools-{args.rows}"
    started = time.perf_counter()
    make_pools(pools, args.rows)
    print(f"pools: {args.rows:,} train rows per task x {len(TASKS)} tasks in {pools} "
          f"({time.perf_counter() - started:.0f} s to make or find)")
    results = [measure(name, pools, args.workdir / "mixtures", args.limit) for name in ("polars", "pandas")]
    for result in results:
        print(f"{result['name']:>7}: {result['mixtures']} mixtures, {result['rows']:,} rows in "
              f"{result['seconds']:.1f} s = {result['rows'] / result['seconds']:,.0f} rows/s, "
              f"peak RSS {result['peak_mb']:,.0f} MB")
    polars, pandas = results
    same = polars["ids"] == pandas["ids"]
    print(f"same items chosen by both: {same}")
    print(f"ratio polars/pandas: speed {pandas['seconds'] / polars['seconds']:.2f}x, "
          f"peak memory {polars['peak_mb'] / pandas['peak_mb']:.2f}x")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
