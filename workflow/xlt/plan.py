"""``xlt plan``: what a study costs before anything runs: per stage the jobs, the GPUs each gets, the GPU-hours
and CPU-hours, the peak GPU memory of one job, and the disk its outputs hold; the largest single job; and whether
the plan fits ``cluster.budget``.

Jobs come from the grid (``xlt.grid``, the same functions the rules expand), their GPUs, memory and FLOPs from
``xlt.resources`` (the rule that sizes SLURM requests), at the rate ``cluster`` states. Predicted hours are the
expected ones (no ``runtime_margin``): FLOPs at the stated rate plus a start-up per job (``STARTUP_S``: loading
weights, starting an engine on GPUs; the process start and imports on a CPU, measured on the embedded study).
Disk: model weights in the precision they are saved in (bf16 on GPUs, fp32 for the embedded models), AdamW's two
fp32 moments (8 bytes per trained parameter) where a checkpoint keeps them, as ``training.keep_checkpoints``
says (``xlt.grid.checkpoint_retention``); tables at a few KB per row.

    python -m xlt.cli plan [--configfile studies/paper.yaml] [--json] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from xlt import grid, paths, resources
from xlt.config import load_config
from xlt.errors import XltError
from xlt.registry import FIGURES, judged

# Seconds a job spends besides its FLOPs. GPU jobs: loading the model (train, attribution), starting vLLM
# (generation, translation, the judge). CPU jobs: the process start and imports plus the work that has no FLOPs
# model here (data, mixtures, scoring, tables, figures), measured per job on the embedded study
# (bench/job_times.py on a `make study` log, 2 cores, two jobs at a time).
STARTUP_S = {
    "gpu": {"train": 180, "generate": 120, "judge": 120, "translate": 120, "attribution_scores": 120},
    "cpu": {"synthetic_dataset": 2, "hub_dataset": 60, "translate": 30, "dataset": 5, "eval_prompts": 1,
            "mixture": 1, "mixture_summary": 1, "tokenizer": 4, "base_model": 8, "train": 8, "generate": 6,
            "judge": 10, "score": 7, "results_tables": 1, "data_efficiency": 70, "spearman_table": 3,
            "per_language_table": 2.5, "figure": 3, "attribution_examples": 7, "attribution_scores": 10,
            "attribution_tables": 10, "attribution_figure": 10, "report": 11},
}
SNAKEMAKE_S_PER_JOB = 1.0  # scheduling a local job and checking its outputs (the measured wall's excess)
TABLE_BYTES_PER_ROW = 2_000  # a generation, translation or example row in compressed parquet, with its texts
STAGES = ("data", "translate", "mixtures", "models", "train", "generate", "judge", "score", "analyze", "attribute")


@dataclass
class Job:
    stage: str
    rule: str
    what: str  # the job's wildcards, readable
    gpus: int = 0
    gpus_needed: int = 0  # > gpus: the job's state needs more GPUs than one node has
    gpu_memory_gb: float = 0.0  # peak, all the job's GPUs together
    threads: int = 1  # CPU threads of a CPU job
    seconds: float = 0.0  # predicted wall seconds
    disk: dict[str, float] = field(default_factory=dict)  # kind -> bytes it leaves on disk
    runs: tuple[tuple[str, str], ...] = ()  # the (model, run) it belongs to; () for shared jobs

    @property
    def gpu_hours(self) -> float:
        return self.gpus * self.seconds / 3600

    @property
    def cpu_hours(self) -> float:
        return (0 if self.gpus else self.threads) * self.seconds / 3600


def _job(config: dict[str, Any], stage: str, rule: str, what: str, estimate: resources.Estimate | None = None,
         threads: int = 1, disk: dict[str, float] | None = None, runs: Iterable[tuple[str, str]] = ()) -> Job:
    device = "gpu" if estimate and estimate.gpus else "cpu"
    seconds = STARTUP_S[device].get(rule, 5)
    if estimate is not None:
        seconds += resources.compute_seconds(estimate, config["cluster"]) / (threads if device == "cpu" else 1)
    return Job(stage, rule, what, gpus=estimate.gpus if estimate else 0,
               gpus_needed=estimate.gpus_needed if estimate else 0,
               gpu_memory_gb=estimate.gpu_memory_gb if estimate else 0.0, threads=threads, seconds=seconds,
               disk=disk or {}, runs=tuple(runs))


# ---- disk ---------------------------------------------------------------------------------------------------


def saved_bytes_per_param(config: dict[str, Any], model: str) -> int:
    """bf16 on GPUs (what training and the merged model save), fp32 for the CPU-trained embedded models."""
    return 2 if resources.on_gpu(config, model) else 4


def saved_params(config: dict[str, Any], model: str) -> float:
    """Parameters of a model's weights file: counted from an embedded model's architecture (a tied Llama over the
    study tokenizer's vocabulary), else ``params_m``."""
    spec = config["models"][model]
    arch = spec.get("architecture") if spec["source"] == "embedded" else None
    if not arch:
        return spec["params_m"] * 1e6
    hidden, heads = arch["hidden_size"], arch["num_attention_heads"]
    kv = arch.get("num_key_value_heads", heads) * hidden // heads
    layer = 2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * arch["intermediate_size"] + 2 * hidden
    return config["tokenizer"]["vocab_size"] * hidden + arch["num_hidden_layers"] * layer + hidden


def trained_params(config: dict[str, Any], model: str) -> float:
    """Parameters a checkpoint saves and AdamW updates: all of them, or LoRA's adapters (about 0.17% of a
    Llama at r=16 on the four attention projections, in proportion to r and the modules)."""
    spec = config["models"][model]
    params = saved_params(config, model)
    if spec["train_mode"] != "lora":
        return params
    lora = spec["lora"]
    return params * 0.0017 * lora["r"] / 16 * len(lora["target_modules"]) / 4


def checkpoint_count(config: dict[str, Any], model: str, family: str, n: int) -> int:
    """Checkpoints of one run: every ``save_steps`` and the last step."""
    steps = resources.training_steps(config, model, family, n)
    return math.ceil(steps / grid.model_training(config, model)["save_steps"])


def checkpoint_bytes(config: dict[str, Any], model: str, family: str, n: int, keep: str | None) -> float:
    """What one finished run's checkpoints hold under retention ``keep`` (``xlt.grid.KEEP_*``); None: every
    checkpoint with its optimizer state (the Trainer's default, before xlt's policy)."""
    count = checkpoint_count(config, model, family, n)
    trained = trained_params(config, model)
    lora = config["models"][model]["train_mode"] == "lora"
    weights = trained * (4 if lora else saved_bytes_per_param(config, model))  # adapters stay fp32
    optimizer = trained * 8
    if keep is None:
        return count * (weights + optimizer)
    return {grid.KEEP_RESUMABLE: count * weights + optimizer, grid.KEEP_WEIGHTS: count * weights,
            grid.KEEP_NONE: 0.0}[keep]


def model_bytes(config: dict[str, Any], model: str) -> float:
    """A saved model directory: the (merged) weights."""
    return saved_params(config, model) * saved_bytes_per_param(config, model)


# ---- the jobs -----------------------------------------------------------------------------------------------


def training_launch(config: dict[str, Any], model: str) -> str:
    """How a model's training jobs use their GPUs (``xlt.resources``): one process, or DDP/FSDP over one node or
    several."""
    gpus, nodes = resources.train_gpus(config, model), resources.train_nodes(config, model)
    if gpus == 0:
        return "one CPU process"
    strategy = resources.train_strategy(config, model)
    if strategy == "single":
        return "one GPU"
    where = f"{nodes} nodes x {gpus // nodes} GPUs (srun, a launcher per node)" if nodes > 1 else f"{gpus} GPUs"
    return f"{strategy.upper()} over {where}"


def plan_jobs(config: dict[str, Any]) -> list[Job]:
    """Every job the workflow runs for the validated ``config``, with its predicted time and disk."""
    jobs: list[Job] = []
    languages = grid.eval_languages(config)
    for task, spec in config["tasks"].items():
        data = spec["data"]
        if data["source"] == "synthetic":
            rows = sum(data["items"].values()) * len(languages)
            jobs.append(_job(config, "data", "synthetic_dataset", task, disk={"datasets": rows * TABLE_BYTES_PER_ROW}))
            continue
        jobs.append(_job(config, "data", "hub_dataset", task,
                         disk={"datasets": 10_000 * len(languages) * TABLE_BYTES_PER_ROW}))
        for split, lang, _ in grid.translations_of(config, task):
            items = resources.translation_items(config, task, split, lang)
            estimate = resources.helper_model_estimate(config, config["translation"]["model"], items * 2, 1024)
            jobs.append(_job(config, "translate", "translate", f"{task} {split} {lang}", estimate,
                             disk={"translations": items * TABLE_BYTES_PER_ROW}))
        for split in ("train", "validation", "test", "exemplars"):  # every split the rules assemble
            jobs.append(_job(config, "data", "dataset", f"{task} {split}"))
    for task in config["tasks"]:
        jobs.append(_job(config, "data", "eval_prompts", task))
    for family, spec in config["mixtures"]["families"].items():
        for n in spec["n"]:
            rows = resources.mixture_examples(config, family, n)
            jobs.extend(_job(config, "mixtures", "mixture", f"{grid.mixture_name(family, n)} seed{seed}",
                             disk={"mixtures": rows * TABLE_BYTES_PER_ROW}) for seed in config["seeds"])
    jobs.append(_job(config, "mixtures", "mixture_summary", "all"))
    embedded = [model for model, spec in config["models"].items() if spec["source"] == "embedded"]
    if embedded:
        jobs.append(_job(config, "models", "tokenizer", "embedded"))
    for model in embedded:
        pretrain = config["models"][model]["pretrain"]
        flops = 6 * config["models"][model]["params_m"] * 1e6 * pretrain["steps"] * pretrain["batch_size"] * \
            pretrain["seq_length"]
        jobs.append(_job(config, "models", "base_model", model, resources.Estimate(0, 0, 0.0, flops, 0), threads=2,
                         disk={"models": model_bytes(config, model)}))
    for run in grid.runs(config):
        model, name = run["model"], paths.run_name(run["mixture"], run["seed"])
        keep = grid.checkpoint_retention(config, model, name)
        estimate = resources.train_estimate(config, model, run["family"], run["n"])
        jobs.append(_job(config, "train", "train", f"{model} {name}", estimate, runs=[(model, name)], disk={
            "models": model_bytes(config, model),
            "checkpoints": checkpoint_bytes(config, model, run["family"], run["n"], keep)}))
    for model, run, task in grid.study_evaluations(config):
        prompts = resources.evaluation_prompts(config, task)
        estimate = resources.generation_estimate(config, model, task)
        jobs.append(_job(config, "generate", "generate", f"{model} {run} {task}", estimate, runs=[(model, run)],
                         disk={"generations": prompts * TABLE_BYTES_PER_ROW}))
        if judged(config["tasks"][task]["metrics"]):
            estimate = resources.helper_model_estimate(config, resources.judge_model(config), prompts, 1536)
            jobs.append(_job(config, "judge", "judge", f"{model} {run} {task}", estimate, runs=[(model, run)],
                             disk={"generations": prompts * TABLE_BYTES_PER_ROW}))
        jobs.append(_job(config, "score", "score", f"{model} {run} {task}", runs=[(model, run)]))
    jobs.extend(_analysis_jobs(config))
    for run in grid.attributed_runs(config):
        model, family, n, name = run["model"], run["family"], run["n"], run["run"]
        estimate = resources.attribution_estimate(config, model, family, n)
        settings = config["attribution"]
        items = resources.mixture_examples(config, family, n)
        items = min(items, settings["train_items"]) if settings["train_items"] else items
        value_bytes = {"float64": 8, "float32": 4, "bfloat16": 4}[settings["precision"]]
        score_bytes = resources.attribution_checkpoints(config, model, family, n) * items * \
            (2 * resources.attribution_tests(config, family) * value_bytes + 40)
        jobs.append(_job(config, "attribute", "attribution_examples", f"{model} {name}", runs=[(model, name)]))
        for shard in range(settings["shards"]):
            jobs.append(_job(config, "attribute", "attribution_scores", f"{model} {name} shard {shard}", estimate,
                             runs=[(model, name)], disk={"attribution": score_bytes / settings["shards"]}))
        jobs.append(_job(config, "attribute", "attribution_tables", f"{model} {name}", runs=[(model, name)]))
        jobs.extend(_job(config, "attribute", "attribution_figure", f"{model} {name} {figure}", runs=[(model, name)])
                    for figure in ("shares", "checkpoints", "reinforce"))
    return jobs


def _analysis_jobs(config: dict[str, Any]) -> list[Job]:
    names = ["results_tables", "data_efficiency", "spearman_table"]
    jobs = [_job(config, "analyze", name, "all") for name in names]
    jobs += [_job(config, "analyze", "per_language_table", " ".join(key)) for key in grid.per_language_tables(config)]
    jobs += [_job(config, "analyze", "figure", name) for name in grid.figure_names(config)]
    jobs.append(_job(config, "analyze", "report", "all"))
    return jobs


# ---- summaries ----------------------------------------------------------------------------------------------


def stage_rows(jobs: list[Job]) -> list[dict[str, Any]]:
    """Per stage (in data-flow order) and in total: jobs, GPUs per job (the most), GPU-hours, CPU-hours, the
    peak GPU memory of one job, disk in GB."""
    rows = []
    for stage in (*STAGES, "total"):
        chosen = [job for job in jobs if stage in (job.stage, "total")]
        if not chosen:
            continue
        rows.append({"stage": stage, "jobs": len(chosen), "gpus_per_job": max(job.gpus for job in chosen),
                     "gpu_hours": sum(job.gpu_hours for job in chosen),
                     "cpu_hours": sum(job.cpu_hours for job in chosen),
                     "peak_gpu_memory_gb": max(job.gpu_memory_gb for job in chosen),
                     "disk_gb": sum(sum(job.disk.values()) for job in chosen) / 1e9})
    return rows


def disk_by_kind(jobs: list[Job]) -> dict[str, float]:
    """GB per kind of output: datasets, translations, mixtures, models, checkpoints, generations, attribution."""
    totals: dict[str, float] = {}
    for job in jobs:
        for kind, size in job.disk.items():
            totals[kind] = totals.get(kind, 0.0) + size / 1e9
    return totals


def family_runs(config: dict[str, Any], families: set[str]) -> set[tuple[str, str]]:
    """(model, run name) of every training run of ``families``."""
    return {(run["model"], paths.run_name(run["mixture"], run["seed"])) for run in grid.runs(config)
            if run["family"] in families}


def figure_runs(config: dict[str, Any], figure: str) -> set[tuple[str, str]]:
    """The runs a figure draws: those of the families whose setting the figure shows, and each model's base."""
    settings = FIGURES[figure].settings
    families = {name for name, spec in config["mixtures"]["families"].items() if spec["setting"] in settings}
    return family_runs(config, families) | {(model, paths.BASE_RUN) for model in config["models"]}


def figure_costs(config: dict[str, Any], jobs: list[Job]) -> list[dict[str, Any]]:
    """GPU-hours and disk of each figure's own runs (training, evaluation, attribution of them), most first: what
    cutting the figure would save (jobs shared by every figure, data and analysis, are not counted)."""
    rows = []
    for figure in grid.figure_names(config):
        runs = figure_runs(config, figure)
        own = [job for job in jobs if job.runs and set(job.runs) <= runs]
        rows.append({"figure": figure, "runs": len(runs), "gpu_hours": sum(job.gpu_hours for job in own),
                     "disk_gb": sum(sum(job.disk.values()) for job in own) / 1e9})
    return sorted(rows, key=lambda row: -row["gpu_hours"])


def largest_job(jobs: list[Job]) -> Job:
    return max(jobs, key=lambda job: (job.gpu_hours, job.gpus_needed, job.seconds))


def oversized_jobs(jobs: list[Job]) -> list[Job]:
    """Jobs whose state needs more GPUs than they get: more than one node has, where the job cannot spread over
    nodes (LoRA training's DDP, generation, attribution)."""
    return [job for job in jobs if job.gpus_needed > job.gpus]


def oversized_groups(jobs: list[Job]) -> list[dict[str, Any]]:
    """``oversized_jobs`` by rule and model: how many, the GPUs they need and get."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for job in oversized_jobs(jobs):
        key = (job.rule, job.what.split()[0])
        entry = groups.setdefault(key, {"rule": key[0], "model": key[1], "jobs": 0, "gpus_needed": job.gpus_needed,
                                        "gpus": job.gpus})
        entry["jobs"] += 1
    return list(groups.values())


def local_wall_seconds(jobs: list[Job], cores: int) -> float:
    """A local run's wall time on ``cores`` cores: its thread-seconds spread over the cores (Snakemake keeps
    them busy while jobs are ready), plus its scheduling."""
    return sum(job.threads * job.seconds for job in jobs) / cores + SNAKEMAKE_S_PER_JOB * len(jobs)


def budget_problems(config: dict[str, Any], jobs: list[Job]) -> list[str]:
    """Where the plan exceeds ``cluster.budget`` (GPU-hours, disk), naming the figures whose runs cost most."""
    budget, problems = config["cluster"]["budget"], []
    costs = figure_costs(config, jobs)
    *stage_totals, total = stage_rows(jobs)
    for key, value, unit in (("gpu_hours", total["gpu_hours"], "GPU-hours"), ("disk_gb", total["disk_gb"], "GB")):
        if budget[key] is None or value <= budget[key]:
            continue
        figures = ", ".join(f"{row['figure']} ({row[key]:,.1f} {unit}, {row['runs']} runs)"
                            for row in sorted(costs, key=lambda row: -row[key]) if row[key] > 0)
        families = ", ".join(f"{row['family']} {row[key]:,.1f} (drawn in {', '.join(row['figures']) or 'no figure'})"
                             for row in sorted(family_costs(config, jobs), key=lambda row: -row[key])[:4]
                             if row[key] > 0)
        stages = sorted(stage_totals, key=lambda row: -row[key])
        heavy = ", ".join(f"{row['stage']} {row[key]:,.1f}" for row in stages[:3])
        problems.append(f"cluster.budget.{key}: the plan needs {value:,.1f} {unit}, over the budget of "
                        f"{budget[key]:,.1f} (by stage: {heavy}). The figures by what their runs cost: "
                        f"{figures or 'none'}. The costliest families: {families or 'none'}. Cut families, n values, "
                        f"seeds or models (xlt plan shows the whole bill)")
    return problems


def family_costs(config: dict[str, Any], jobs: list[Job]) -> list[dict[str, Any]]:
    """GPU-hours and disk of each mixture family's runs, with the figures that draw them: the unit to cut."""
    rows = []
    for family in config["mixtures"]["families"]:
        runs = family_runs(config, {family})
        own = [job for job in jobs if job.runs and set(job.runs) <= runs]
        rows.append({"family": family, "gpu_hours": sum(job.gpu_hours for job in own),
                     "disk_gb": sum(sum(job.disk.values()) for job in own) / 1e9,
                     "figures": [figure for figure in grid.figure_names(config)
                                 if runs & figure_runs(config, figure)]})
    return rows


class BudgetError(XltError):
    """The plan exceeds ``cluster.budget``."""


def check_budget(config: dict[str, Any]) -> None:
    """Raises ``BudgetError`` naming what to cut when the plan exceeds ``cluster.budget`` (nothing to check, and
    no plan made, without one)."""
    if all(value is None for value in config["cluster"]["budget"].values()):
        return
    problems = budget_problems(config, plan_jobs(config))
    if problems:
        raise BudgetError("the study exceeds its budget:\n  - " + "\n  - ".join(problems))


def plan_summary(config: dict[str, Any], cores: int = 2) -> dict[str, Any]:
    """The whole plan as data (``xlt plan --json``, the report)."""
    jobs = plan_jobs(config)
    largest = largest_job(jobs)
    disk = disk_by_kind(jobs)
    total = sum(disk.values())
    before = sum(checkpoint_bytes(config, run["model"], run["family"], run["n"], None) for run in grid.runs(config))
    after = disk.get("checkpoints", 0.0) * 1e9
    return {
        "stages": stage_rows(jobs),
        "disk_gb": disk,
        "checkpoints": {"policy": config["training"]["keep_checkpoints"], "gb": after / 1e9,
                        "every_checkpoint_with_optimizer_gb": before / 1e9,
                        "ratio": after / before if before else None,
                        "total_disk_ratio": total / (total - after / 1e9 + before / 1e9) if before else None},
        "largest_job": {**asdict(largest), "gpu_hours": largest.gpu_hours},
        "oversized": oversized_groups(jobs),
        "training": [{"model": model, "launch": training_launch(config, model),
                      "gpu_memory_gb": resources.train_memory_gb(config, model)} for model in config["models"]],
        "figures": figure_costs(config, jobs),
        "local_wall_s": local_wall_seconds(jobs, cores) if not any(job.gpus for job in jobs) else None,
        "budget": config["cluster"]["budget"],
        "over_budget": budget_problems(config, jobs),
    }


def format_plan(summary: dict[str, Any], cores: int) -> str:
    head = f"{'stage':<10} {'jobs':>5} {'GPUs/job':>8} {'GPU-h':>10} {'CPU-h':>8} {'peak GPU GB':>11} {'disk GB':>10}"
    lines = [head, "-" * len(head)]
    for row in summary["stages"]:
        lines.append(f"{row['stage']:<10} {row['jobs']:>5} {row['gpus_per_job']:>8} {row['gpu_hours']:>10,.1f} "
                     f"{row['cpu_hours']:>8,.2f} {row['peak_gpu_memory_gb']:>11,.0f} {row['disk_gb']:>10,.1f}")
    disk = ", ".join(f"{kind} {size:,.1f}" for kind, size in sorted(summary["disk_gb"].items(), key=lambda kv: -kv[1]))
    lines += ["", f"disk (GB): {disk}"]
    ckpt = summary["checkpoints"]
    if ckpt["ratio"] is not None:
        lines.append(f"checkpoints (keep_checkpoints: {ckpt['policy']}): {ckpt['gb']:,.1f} GB, against "
                     f"{ckpt['every_checkpoint_with_optimizer_gb']:,.1f} GB with every checkpoint and its optimizer "
                     f"state: {ckpt['ratio']:.4f}x (all the study's disk: {ckpt['total_disk_ratio']:.4f}x)")
    job = summary["largest_job"]
    lines.append(f"largest job: {job['rule']} {job['what']}: {job['gpus']} GPUs, {job['gpu_hours']:,.1f} GPU-h, "
                 f"peak {job['gpu_memory_gb']:,.0f} GB GPU memory")
    for item in summary["training"]:
        lines.append(f"training {item['model']}: {item['launch']}, {item['gpu_memory_gb']:,.0f} GB of state and "
                     f"activations")
    for item in summary["oversized"]:
        lines.append(f"does not fit one node: {item['jobs']} {item['rule']} jobs of {item['model']} need "
                     f"{item['gpus_needed']} GPUs for their state, one node has {item['gpus']} "
                     f"(cluster.gpus_per_node; this job does not spread over nodes)")
    if summary["local_wall_s"] is not None:
        lines.append(f"local run on {cores} cores: about {summary['local_wall_s'] / 60:.1f} min")
    lines.append("figures by the GPU-hours of their own runs: " + ", ".join(
        f"{row['figure']} {row['gpu_hours']:,.1f}" for row in summary["figures"]))
    lines += [f"over budget: {problem}" for problem in summary["over_budget"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt plan", description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default="config.yaml")
    parser.add_argument("--cores", type=int, default=2, help="cores of a local run (its predicted wall time)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    summary = plan_summary(load_config(args.configfile), args.cores)
    print(json.dumps(summary, indent=2) if args.json else format_plan(summary, args.cores))
    return 1 if summary["over_budget"] else 0


if __name__ == "__main__":
    sys.exit(main())
