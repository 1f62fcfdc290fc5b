"""How the DAG scales: job count and dry-run time of studies/paper.yaml at 1x, 4x and 16x its grid.

The grid grows by seeds (every run repeated), which multiplies mixtures, training, generation and scoring jobs
as a larger n grid or more models would. Each size is dry-run from an empty working directory with
``snakemake -n`` (DAG build, params and resources of every job); the ratios are time per job relative to 1x.

    python bench/dag.py [--scales 1 4 16]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def dry_run(config: dict, workdir: Path) -> tuple[int, float]:
    """(jobs, seconds) of ``snakemake -n`` on ``config`` in ``workdir``."""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
                             "--configfile", str(workdir / "config.yaml"), "-n", "--quiet", "rules"],
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
    total = re.search(r"^total\s+(\d+)$", result.stdout + result.stderr, re.MULTILINE)
    return int(total.group(1)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(ROOT / "studies" / "paper.yaml"))
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    base = yaml.safe_load(Path(args.study).read_text())
    rows = []
    for scale in args.scales:
        config = {**base, "seeds": list(range(scale))}
        with tempfile.TemporaryDirectory() as tmp:
            jobs, seconds = dry_run(config, Path(tmp))
        rows.append((scale, jobs, seconds))
        print(f"{scale:>3}x grid: {jobs:>6} jobs, dry run {seconds:6.1f} s ({1000 * seconds / jobs:.2f} ms/job)",
              flush=True)
    first = rows[0]
    for scale, jobs, seconds in rows[1:]:
        print(f"{scale}x vs {first[0]}x: {jobs / first[1]:.1f}x jobs, {seconds / first[2]:.1f}x dry-run time, "
              f"{(seconds / jobs) / (first[2] / first[1]):.2f}x time per job")


if __name__ == "__main__":
    main()
