"""The workflow on a real single-node SLURM cluster (Debian slurm-wlm, started by tests/slurm/cluster.sh):
part of the small study is rerun through the SLURM executor plugin with the project's profile, and its
results must equal those of the local run."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import polars as pl
import pytest
from conftest import ROOT

from xlt.grid import evaluated_tasks

pytestmark = pytest.mark.slow

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
RERUN = ["st_summarization-n20/seed0", "mt-n10/seed0"]  # the cheapest training runs


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("a test SLURM cluster needs root (CI runs as root)")
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(["bash", str(CLUSTER), "start", str(state)], capture_output=True, text=True,
                             timeout=900)
    assert started.returncode == 0, started.stdout + started.stderr
    yield state
    subprocess.run(["bash", str(CLUSTER), "stop", str(state)], capture_output=True, timeout=120)


def run_with_sigint_timeout(command: list[str], cwd, timeout: int) -> tuple[int, str]:
    """Run ``command``; past ``timeout`` send SIGINT (Snakemake then cancels its SLURM jobs), then kill."""
    env = {**os.environ, "PATH": os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                 if p != os.path.dirname(sys.executable))}
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        return -1, output
    return process.returncode, output


def test_the_study_runs_on_slurm_and_equals_the_local_run(small_study, slurm_cluster, tmp_path, capsys):
    local, _, config = small_study
    workdir = tmp_path / "slurm-study"
    shutil.copytree(local, workdir, symlinks=True)
    for run in RERUN:
        shutil.rmtree(workdir / "results/runs/tiny_1m" / run)
    for aggregate in ("results/tables", "results/figures"):
        shutil.rmtree(workdir / aggregate)
    (workdir / "results/report.html").unlink()
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "--workflow-profile", str(ROOT / "profiles/slurm"),
               "--jobs", "4", "--slurm-status-command", "squeue", "--slurm-no-account",
               "--slurm-init-seconds-before-status-checks", "5", "--slurm-keep-successful-logs",
               "--set-resources", "score:gpu=1"]  # the fake GPUs: GPU requests must schedule too
    code, output = run_with_sigint_timeout(command, workdir, timeout=1500)
    assert code == 0, output[-4000:]
    slurm_ids = re.findall(r"submitted with SLURM jobid (\d+)", output) or re.findall(r"SLURM jobid (\d+)", output)
    # 2 trainings, 4 generations and 4 scores (summarization; mt's three tasks), and the analysis jobs, each its
    # own SLURM job
    assert len(set(slurm_ids)) >= 10 + 5, output[-3000:]
    # one SLURM log per job, named by its SLURM job id, under the profile's slurm-logdir
    logs = {path.stem for path in (workdir / "results/logs/slurm").rglob("*.log")}
    assert set(slurm_ids) <= logs
    logdir = workdir / "results/logs/slurm"
    assert {path.relative_to(logdir).parts[0] for path in logdir.rglob("*.log")} >= {
        "rule_train", "rule_generate", "rule_score", "rule_figure", "rule_report"}
    for name in ("results.parquet", "run_summary.parquet"):
        assert pl.read_parquet(workdir / "results/tables" / name).equals(pl.read_parquet(local / "results/tables" / name)), name
    # mt-n10 is attributed (study B): its TracIn scores and share tables are recomputed on SLURM too
    attributed = "results/tables/attribution/tiny_1m/mt-n10/seed0/shares.parquet"
    assert pl.read_parquet(workdir / attributed).equals(pl.read_parquet(local / attributed))
    for run in RERUN:
        for task in evaluated_tasks(config, run):
            scores = f"results/runs/tiny_1m/{run}/scores/{task}.parquet"
            assert pl.read_parquet(workdir / scores).equals(pl.read_parquet(local / scores)), scores
    done = re.findall(r"\d+ of \d+ steps \(100%\) done", output)
    with capsys.disabled():  # the CI log shows what ran on SLURM and the comparison
        print(f"\nSLURM executor: {len(set(slurm_ids))} jobs (SLURM job ids {', '.join(sorted(set(slurm_ids), key=int))})"
              f"; {done[-1] if done else 'no completion line'}")
        print("equal to the local run: results.parquet, run_summary.parquet and the scores of "
              + ", ".join(RERUN))
