"""Where a workflow run's time went, per rule or stage, from Snakemake's log of the run or from the provenance
sidecars of its artifacts.

From a log, each job's time runs from Snakemake's "rule <name>:" line to its "Finished jobid: <id>" line, so it
includes the process start and the imports; from a results folder, it is each job's provenance ``duration_s``
(the stage's work after its imports; a job's several sidecars count once). Prints per rule the jobs, the summed
job time and the mean, and the run's wall time (logs only); with ``--before`` (an older run's log or folder),
the after/before ratios.

    python bench/job_times.py .snakemake/log/<newest>.snakemake.log [--before older.snakemake.log]
    python bench/job_times.py results resources [--before old/results old/resources]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
RULE = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+)")


def job_times(log: Path) -> tuple[dict[str, list[float]], float]:
    """Per rule, the wall seconds of each of its jobs; and the run's wall seconds (first to last stamp)."""
    now = first = None
    starts: dict[str, tuple[str, datetime]] = {}
    pending_rule: tuple[str, datetime] | None = None
    times: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text().splitlines():
        if match := STAMP.match(line.strip()):
            now = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
            first = first or now
        elif (match := RULE.match(line)) and now:
            pending_rule = (match.group(1), now)
        elif (match := JOBID.match(line)) and pending_rule:
            starts[match.group(1)] = pending_rule
            pending_rule = None
        elif (match := FINISHED.match(line)) and match.group(1) in starts and now:
            rule, started = starts.pop(match.group(1))
            times[rule].append((now - started).total_seconds())
    return times, (now - first).total_seconds() if now and first else 0.0


def provenance_times(folders: list[Path]) -> tuple[dict[str, list[float]], float]:
    """Per stage, the ``duration_s`` of each job that wrote sidecars under ``folders`` (no wall time)."""
    import json

    jobs: dict[tuple, float] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*provenance.json")):
            record = json.loads(path.read_text())
            created = datetime.fromisoformat(record["created"]).timestamp()
            started = round(created - record["duration_s"])  # one job's sidecars share its start
            key = (record["stage"], json.dumps(record["params"], sort_keys=True), started)
            jobs[key] = max(jobs.get(key, 0.0), record["duration_s"])
    times: dict[str, list[float]] = defaultdict(list)
    for (stage, _, _), seconds in jobs.items():
        times[stage].append(seconds)
    return times, 0.0


def read_times(paths: list[Path]) -> tuple[dict[str, list[float]], float]:
    return job_times(paths[0]) if paths[0].is_file() else provenance_times(paths)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, nargs="+", help="a Snakemake log, or results folders")
    parser.add_argument("--before", type=Path, nargs="+", help="an older run's log or folders: after/before ratios")
    args = parser.parse_args()
    after, wall = read_times(args.run)
    before, wall_before = read_times(args.before) if args.before else ({}, 0.0)
    print(f"{'rule':<22} {'jobs':>5} {'job s':>8} {'mean s':>7}" + ("  before s  after/before" if before else ""))
    for rule in sorted(set(after) | set(before), key=lambda r: -sum(after.get(r, [0]))):
        spent = sum(after.get(rule, []))
        line = f"{rule:<22} {len(after.get(rule, [])):>5} {spent:>8.0f} {spent / max(1, len(after.get(rule, []))):>7.1f}"
        if before:
            old = sum(before.get(rule, []))
            line += f"  {old:>8.0f}  {spent / old:>12.2f}" if old else f"  {'-':>8}"
        print(line)
    total = sum(map(sum, after.values()))
    old_total = sum(map(sum, before.values()))
    print(f"{'all jobs':<22} {sum(map(len, after.values())):>5} {total:>8.0f}"
          + (f"  {old_total:>8.0f}  {total / old_total:>12.2f}" if before else "")
          + (f"   wall {wall:.0f} s" if wall else "")
          + (f" (before {wall_before:.0f} s: {wall / wall_before:.2f}x)" if wall and wall_before else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
