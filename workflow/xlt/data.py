"""The data stage: write a task's normalised train/validation/test tables (the example schema).

The embedded study's data is the synthetic benchmark (``xlt.synthetic``); Hugging Face dataset adapters
plug in here with the same output contract.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from xlt.io import write_parquet
from xlt.provenance import write_provenance
from xlt.schema import SPLITS
from xlt.synthetic.generate import build_benchmark
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    synthetic = sub.add_parser("synthetic", help="generate one task of the synthetic benchmark")
    synthetic.add_argument("--task", required=True)
    synthetic.add_argument("--spec", required=True, help='JSON: {"kind", "seed", "items": {split: count}}')
    synthetic.add_argument("--out-dir", required=True)
    args = parser.parse_args(argv)
    rows = write_synthetic_task(args.task, json.loads(args.spec), args.out_dir)
    print(f"synthetic {args.task}: {rows} rows -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
