"""The data stage: write a task's normalised train/validation/test tables (the example schema).

The embedded study's data is the synthetic benchmark (``xlt.synthetic``); a study on published data reads
Hugging Face datasets through one adapter per split (``xlt.adapters``), with the same output contract.

Usage::

    python -m xlt.cli data synthetic --task math --spec '{"kind": "math", "items": {...}, "seed": 0}' \
        --out-dir resources/datasets/math
    python -m xlt.cli data hub --task math --spec '{"kind": "math", "splits": {...}}' --languages en,es \
        --out-dir resources/sources/math --cache-dir resources/downloads
    python -m xlt.cli data assemble --source resources/sources/math/test.parquet \
        --translations resources/translations/math/test/ko.parquet --out resources/datasets/math/test.parquet
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from xlt.adapters import as_examples, holdout_items, read_split, sample_items
from xlt.io import write_parquet
from xlt.provenance import write_provenance
from xlt.schema import EXAMPLE_SCHEMA, SPLITS, read_examples, validate_examples
from xlt.synthetic.benchmark import build_benchmark
from xlt.synthetic.lexicon import available_languages


def write_synthetic_task(task: str, spec: dict[str, Any], out_dir: str | Path) -> dict[str, int]:
    """Generate the synthetic benchmark of one task into ``out_dir/{split}.parquet``; rows per split.

    ``spec``: ``{"kind": ..., "seed": ..., "items": {"train": ..., "validation": ..., "test": ...}}``.
    Every language the benchmark has is written, whatever the study uses, so adding a study language
    never regenerates data.
    """
    started = time.time()
    out_dir = Path(out_dir)
    frame = build_benchmark(task, spec["kind"], spec["seed"], spec["items"], available_languages())
    outputs = []
    for split in SPLITS:
        path = out_dir / f"{split}.parquet"
        write_parquet(frame.filter(split=split), path)
        outputs.append(path)
    write_provenance(out_dir, stage="data", module=__name__, params={"task": task, **spec}, inputs=[],
                     outputs=outputs, started=started, seed=spec["seed"])
    return {split: frame.filter(split=split).height for split in SPLITS}


def _counts(frame) -> dict[str, int]:
    return dict(sorted(frame.group_by("lang").len().iter_rows()))


def write_hub_task(task: str, spec: dict[str, Any], languages: list[str], out_dir: str | Path,
                   cache_dir: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Read one task's splits from Hugging Face datasets into ``out_dir/{split}.parquet`` and
    ``exemplars.parquet`` (empty when not configured); per split: rows, rows per language and dropped rows by
    reason.

    ``spec``: ``{"kind", "seed", "splits": {"train", "validation", "test", ["exemplars"]}}``, each split a
    ``hub_split`` config; ``validation: {"from_train": n}`` holds n items per language out of train (disjoint
    source_ids). ``languages``: the study's, English first. ``cache_dir``: the ``datasets`` cache.
    """
    started = time.time()
    out_dir = Path(out_dir)
    seed, splits = spec["seed"], spec["splits"]
    tables, records = {}, {}
    for name, split_spec in splits.items():
        if "from_train" in split_spec:
            continue
        read = read_split(task, name, split_spec, languages, cache_dir)
        where = f"task {task!r}, split {name!r} (dataset {split_spec['dataset']!r})"
        held = splits["validation"].get("from_train") if name == "train" else None
        if held:
            tables["train"], tables["validation"] = holdout_items(
                read.frame, held, split_spec.get("items_per_language"), seed, f"{task}:train", where)
        else:
            tables[name] = sample_items(read.frame, split_spec.get("items_per_language"), seed,
                                        f"{task}:{name}", where)
        records[name] = {**split_spec, "split": read.sources[0]["split"] if read.sources else None,
                         "sources": read.sources, "dropped": read.dropped, "available": _counts(read.frame)}
    if "from_train" in splits["validation"]:
        records["validation"] = {"from_train": splits["validation"]["from_train"], "dataset":
                                 splits["train"]["dataset"], "revision": splits["train"].get("revision")}
    for first, second in (("train", "validation"), ("train", "test"), ("validation", "test"), ("exemplars", "test")):
        if first in tables and second in tables:
            shared = set(tables[first]["source_id"]) & set(tables[second]["source_id"])
            if shared:
                raise ValueError(f"task {task!r}: splits {first!r} and {second!r} share {len(shared)} source items, "
                                 f"e.g. {sorted(shared)[:3]}; read them from different dataset splits")
    frames = {}
    for name in (*SPLITS, "exemplars"):  # all checked before anything is written
        if name not in tables:
            continue
        source = splits["train"] if "from_train" in splits[name] else splits[name]
        where = f"{out_dir / name}.parquet (task {task!r}, split {name!r} from dataset {source['dataset']!r})"
        frames[name] = validate_examples(as_examples(tables[name], "train" if name == "exemplars" else name), where)
        check_languages(frames[name], task, name, splits[name], records[name].get("dropped", {}))
    if "exemplars" not in frames:  # always written (a Snakemake output): empty when the task has none
        frames["exemplars"] = pl.DataFrame(schema=EXAMPLE_SCHEMA)
        records["exemplars"] = {"configured": False}
    outputs, summary, inputs = [], {}, set()
    for name, frame in frames.items():
        path = out_dir / f"{name}.parquet"
        write_parquet(frame, path)
        outputs.append(path)
        records[name]["rows"] = _counts(frame)
        summary[name] = {"rows": frame.height, "per_language": records[name]["rows"],
                         "dropped": records[name].get("dropped", {})}
        inputs.update(file["path"] for source in records[name].get("sources", []) for file in source["files"]
                      if Path(file["path"]).is_file())  # local datasets: the files themselves
    params = {"task": task, "kind": spec.get("kind"), "seed": seed, "languages": list(languages), "splits": records}
    write_provenance(out_dir, stage="data", module=__name__, params=params, inputs=sorted(inputs),
                     outputs=outputs, started=started, seed=seed)
    return summary


def check_languages(frame: pl.DataFrame, task: str, split: str, spec: dict[str, Any], dropped: dict[str, int]) -> None:
    """A split that is empty, or empty in a language its config names, is an error naming the key: a later
    stage would fail on it far from the cause (or a mixture would quietly lack the language)."""
    key = f"tasks.{task}.data.splits.{split}"
    lost = f"; the adapter dropped {dropped}" if dropped else ""
    if frame.is_empty():
        raise ValueError(f"{key}: the split has no rows{lost} (check the dataset's split, its language codes and "
                         f"the split's `languages`)")
    rows = dict(frame.group_by("lang").len().iter_rows())
    for i, code in enumerate(spec.get("languages", [])):
        if not rows.get(code):
            raise ValueError(f"{key}.languages[{i}]: the split has no rows in {code!r} (it has "
                             f"{dict(sorted(rows.items()))}){lost}")


def assemble_split(source: str | Path, translations: list[str | Path], out: str | Path) -> dict[str, int]:
    """One split of a hub task's dataset: the adapters' native items (``source``) plus the machine
    translations of that split, written to ``out``; rows per origin.

    A translation of an item the dataset already has natively in that language is left out (and counted in
    provenance): native data wins over machine translation. Assembled split by split, so adding a translated
    test language rewrites the test split only.
    """
    started = time.time()
    native = read_examples(source)
    added = [read_examples(path) for path in sorted(map(str, translations))]
    translated = pl.concat(added) if added else native.clear()
    replaced = translated.join(native, on="id", how="semi").height
    frame = validate_examples(pl.concat([native, translated.join(native, on="id", how="anti")]).sort("id"),
                              f"dataset {out}")
    rows = dict(sorted(frame.group_by("origin").len().iter_rows()))
    write_parquet(frame, out)
    write_provenance(out, stage="dataset", module=__name__,
                     params={"rows_by_origin": rows, "translations_replaced_by_native": replaced},
                     inputs=[source, *translations], outputs=[out], started=started)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    synthetic = sub.add_parser("synthetic", help="generate one task of the synthetic benchmark")
    synthetic.add_argument("--task", required=True)
    synthetic.add_argument("--spec", required=True, help='JSON: {"kind", "seed", "items": {split: count}}')
    synthetic.add_argument("--out-dir", required=True)
    hub = sub.add_parser("hub", help="read one task's splits from Hugging Face datasets (xlt.adapters)")
    hub.add_argument("--task", required=True)
    hub.add_argument("--spec", required=True, help='JSON: {"kind", "seed", "splits": {split: hub_split}}')
    hub.add_argument("--languages", required=True, help="the study's languages, English first: en,es,fr")
    hub.add_argument("--out-dir", required=True)
    hub.add_argument("--cache-dir", default=None, help="the datasets cache (e.g. resources/downloads)")
    assemble = sub.add_parser("assemble", help="one split of a hub task's dataset: native items plus translations")
    assemble.add_argument("--source", required=True, help="the adapters' table of the split")
    assemble.add_argument("--translations", nargs="*", default=[], help="its translation tables (xlt translate)")
    assemble.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "assemble":
        rows = assemble_split(args.source, args.translations, args.out)
        print(f"dataset: {rows} rows by origin -> {args.out}")
        return 0
    if args.command == "hub":
        if args.cache_dir:  # hub downloads under the project (resources/downloads/hub) unless set otherwise
            os.environ.setdefault("HF_HUB_CACHE", str(Path(args.cache_dir).resolve() / "hub"))
        summary = write_hub_task(args.task, json.loads(args.spec), args.languages.split(","), args.out_dir,
                                 args.cache_dir)
        rows = {split: info["rows"] for split, info in summary.items()}
        dropped = {split: info["dropped"] for split, info in summary.items() if info["dropped"]}
        print(f"hub {args.task}: {rows} rows, dropped {dropped} -> {args.out_dir}")
        return 0
    rows = write_synthetic_task(args.task, json.loads(args.spec), args.out_dir)
    print(f"synthetic {args.task}: {rows} rows -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
