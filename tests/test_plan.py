"""xlt plan: the jobs Snakemake would run, their GPU-hours and disk, the checkpoint policy's saving, the budget."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest
import yaml
from conftest import ROOT, SMALL_CONFIG
from workflow_helpers import planned_jobs, snakemake

from xlt.config import validate_config
from xlt.plan import budget_problems, checkpoint_bytes, main, plan_jobs, plan_summary


@pytest.fixture(scope="module")
def paper():
    return validate_config(yaml.safe_load((ROOT / "studies" / "paper.yaml").read_text()))


def test_the_plan_expands_the_jobs_snakemake_runs(tmp_path):
    """The small study (embedded models, attribution): rule by rule, the dry run's jobs (the paper's grid is
    compared in test_workflow's full-grid test)."""
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    dry_run = Counter(job.split("[")[0] for job in planned_jobs(tmp_path, raw))
    planned = Counter(job.rule for job in plan_jobs(validate_config(raw)))
    assert planned == {rule: count for rule, count in dry_run.items() if rule != "all"}


def test_the_papers_bill_names_gpu_hours_disk_and_the_job_that_does_not_fit(paper):
    summary = plan_summary(paper)
    stages = {row["stage"]: row for row in summary["stages"]}
    assert stages["train"]["jobs"] == 152 and stages["train"]["gpus_per_job"] == 16
    assert stages["total"]["gpu_hours"] == pytest.approx(sum(row["gpu_hours"] for row in summary["stages"][:-1]))
    assert stages["train"]["gpu_hours"] > stages["generate"]["gpu_hours"] > 0
    assert stages["score"]["gpu_hours"] == 0 and stages["score"]["cpu_hours"] > 0
    # 35B full fine-tuning: 35e9 x 16 bytes x 1.25 = 700 GB, more than one node's 8 x 80 GB: FSDP over 2 nodes
    assert stages["train"]["peak_gpu_memory_gb"] == pytest.approx(700)
    assert summary["oversized"] == []
    launches = {row["model"]: row["launch"] for row in summary["training"]}
    assert launches["aya_35b"] == "FSDP over 2 nodes x 8 GPUs (srun, a launcher per node)"
    assert launches["llama_8b"] == "FSDP over 2 GPUs"
    narrow = copy.deepcopy(paper)
    narrow["models"]["aya_35b"]["train_mode"] = "lora"  # DDP replicates the weights: one node at most
    narrow["models"]["aya_35b"]["lora"] = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj"]}
    assert plan_summary(narrow)["oversized"] == []
    assert summary["largest_job"]["rule"] == "train" and summary["largest_job"]["what"].startswith("aya_35b")
    # every checkpoint with AdamW state (the Trainer's default) is on the order of 100 TB; the policy keeps
    # only model/ for runs that no attribution reads (the paper's grid attributes none)
    checkpoints = summary["checkpoints"]
    assert checkpoints["every_checkpoint_with_optimizer_gb"] > 100_000
    assert checkpoints["gb"] == 0 and checkpoints["total_disk_ratio"] < 0.05
    assert summary["disk_gb"]["models"] == pytest.approx(sum(
        paper["models"][run]["params_m"] * 2e6 / 1e9 for run in (job.what.split()[0] for job in plan_jobs(paper)
                                                                   if job.rule == "train")))


def test_checkpoint_disk_follows_the_policy(paper):
    """One 8B run: every checkpoint with optimizer state, then resumable (optimizer once), weights-only, none."""
    before = checkpoint_bytes(paper, "llama_8b", "st_math", 5000, None)
    resumable = checkpoint_bytes(paper, "llama_8b", "st_math", 5000, "resumable")
    weights = checkpoint_bytes(paper, "llama_8b", "st_math", 5000, "weights")
    assert before > resumable > weights > checkpoint_bytes(paper, "llama_8b", "st_math", 5000, "none") == 0
    # bf16 weights (2 bytes) against weights plus AdamW moments (2 + 8): a fifth, plus the one optimizer state
    assert weights / before == pytest.approx(0.2)
    assert resumable - weights == pytest.approx(8 * 8e9, rel=0.01)


def test_a_budget_overrun_names_the_figures_to_cut(paper):
    config = copy.deepcopy(paper)
    config["cluster"]["budget"] = {"gpu_hours": 100.0, "disk_gb": None}
    [problem] = budget_problems(config, plan_jobs(config))
    assert problem.startswith("cluster.budget.gpu_hours: the plan needs 1,")
    assert "data_efficiency (" in problem and "fig2_perf_to_en_single_task (" in problem and "(by stage: train 1," in problem
    assert "The costliest families: mt " in problem
    config["cluster"]["budget"] = {"gpu_hours": 1e6, "disk_gb": 1e6}
    assert budget_problems(config, plan_jobs(config)) == []


def test_a_budget_overrun_stops_the_workflow_before_any_job(tmp_path):
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    raw.setdefault("cluster", {})["budget"] = {"disk_gb": 0.01}
    result = snakemake(tmp_path, "--cores", "1", config=raw)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "cluster.budget.disk_gb: the plan needs" in output and "fig3_scores_by_n (" in output, output[-3000:]
    assert not (tmp_path / "resources").exists() and not (tmp_path / "results").exists()


def test_xlt_plan_prints_the_table_and_json(capsys):
    assert main(["--configfile", str(ROOT / "studies" / "paper.yaml")]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["stage", "jobs", "GPUs/job", "GPU-h", "CPU-h", "peak", "GPU", "GB",
                                              "disk", "GB"]
    assert "training aya_35b: FSDP over 2 nodes x 8 GPUs" in printed
    assert main(["--configfile", str(ROOT / "studies" / "paper.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stages"][-1]["stage"] == "total"
