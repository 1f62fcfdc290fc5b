"""Running the Snakefile from tests: real runs and dry-run job lists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT

JOB_HEADER = re.compile(r"^(?:local)?rule (\w+):$")
WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")


def snakemake(workdir: Path, *args: str, config: dict | None = None, timeout: int = 1800,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run Snakemake on this checkout's Snakefile in ``workdir`` with ``workdir/config.yaml`` (and ``env`` added
    to the environment)."""
    if config is not None:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # PATH without the virtualenv: the Snakefile must make jobs use the interpreter that runs it.
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent)
    env = {**os.environ, "PATH": path, **(env or {})}
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
               "--configfile", str(workdir / "config.yaml"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def planned_jobs(workdir: Path, config: dict | None = None, targets: list[str] = ()) -> list[str]:
    """The jobs a dry run schedules (of ``targets``, default the study), as ``rule[wildcards]`` strings, sorted."""
    result = snakemake(workdir, "-n", *targets, config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs: list[str] = []
    for line in result.stdout.splitlines():
        if header := JOB_HEADER.match(line):
            jobs.append(header.group(1))
        elif (wildcards := WILDCARDS.match(line)) and jobs:
            jobs[-1] = f"{jobs[-1]}[{wildcards.group(1)}]"
    return sorted(jobs)
