"""What the study's jobs cost, measured from their provenance sidecars, beside what ``xlt plan`` predicted.

Each sidecar records the job process that wrote it (``held``: its id, its seconds since xlt was imported, the GPUs
and CPU threads it held; ``xlt.provenance.held``); a job that writes several sidecars counts once. GPU-hours are
GPUs x seconds, CPU-hours threads x seconds for jobs without a GPU. A figure's cost is its lineage's (every job
``xlt audit`` traces it back to); the plan's prediction for the same jobs is the jobs of the figure's own runs
plus the jobs every figure shares (data, mixtures, models, tables).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from xlt import audit, plan

# provenance stage -> the plan's stage
STAGE_OF = {"data": "data", "dataset": "data", "eval_prompts": "data", "translate": "translate",
            "mixtures": "mixtures", "tokenizer": "models", "base_model": "models", "train": "train",
            "generate": "generate", "judge": "judge", "score": "score", "tables": "analyze", "curves": "analyze",
            "figure": "analyze", "report": "analyze", "attribute_examples": "attribute",
            "attribute_scores": "attribute", "attribute_tables": "attribute", "attribute_figure": "attribute"}
COLUMNS = {"process": pl.String, "stage": pl.String, "model": pl.String, "run": pl.String, "gpus": pl.Int64,
           "threads": pl.Int64, "seconds": pl.Float64, "gpu_hours": pl.Float64, "cpu_hours": pl.Float64}


def run_of(sidecar: str) -> tuple[str | None, str | None]:
    """(model, run) of a sidecar under ``results/runs/{model}/{run}/`` or an attributed run's tables and figures
    (``results/{tables,figures}/attribution/{model}/{run}/``); (None, None) elsewhere."""
    parts = Path(sidecar).parts
    for i, part in enumerate(parts[:-2]):
        if part == "runs" or (part == "attribution" and i and parts[i - 1] in ("tables", "figures")):
            model, first = parts[i + 1], parts[i + 2]
            if first == "base" or len(parts) < i + 5:  # {run} is base, or {mixture}/seed{seed} then a file
                return model, first
            return model, f"{first}/{parts[i + 3]}"
    return None, None


def job_rows(nodes: list[audit.Node]) -> pl.DataFrame:
    """One row per job process among ``nodes`` (sidecars without ``held``, written before it was recorded, are
    left out)."""
    rows: dict[str, dict[str, Any]] = {}
    for node in nodes:
        held = node.record.get("held")
        if not held or held["process"] in rows:
            continue
        model, run = run_of(node.sidecar)
        seconds = float(held["process_s"])
        rows[held["process"]] = {
            "process": held["process"], "stage": STAGE_OF.get(node.record.get("stage"), "other"), "model": model,
            "run": run, "gpus": held["gpus"], "threads": held["threads"], "seconds": seconds,
            "gpu_hours": held["gpus"] * seconds / 3600,
            "cpu_hours": (0 if held["gpus"] else held["threads"]) * seconds / 3600}
    return pl.DataFrame(list(rows.values()), schema=COLUMNS)


def measured_by_stage(measured: pl.DataFrame) -> pl.DataFrame:
    return measured.group_by("stage").agg(pl.len().alias("jobs"), pl.col("gpu_hours").sum(),
                                          pl.col("cpu_hours").sum())


def stage_table(measured: pl.DataFrame, jobs: list[plan.Job]) -> pl.DataFrame:
    """Per stage: jobs, GPU-hours and CPU-hours measured, and what the plan predicts for the whole stage."""
    predicted = pl.DataFrame(plan.stage_rows(jobs)[:-1]).select(
        "stage", pl.col("jobs").alias("planned_jobs"), pl.col("gpu_hours").alias("planned_gpu_hours"),
        pl.col("cpu_hours").alias("planned_cpu_hours"))
    actual = measured_by_stage(measured)
    order = {stage: i for i, stage in enumerate(plan.STAGES)}
    return (predicted.join(actual, on="stage", how="full", coalesce=True)
            .with_columns(pl.col("jobs").fill_null(0))
            .sort(pl.col("stage").replace_strict(order, default=len(order)))
            .select("stage", "jobs", "planned_jobs", "gpu_hours", "planned_gpu_hours", "cpu_hours",
                    "planned_cpu_hours"))


def run_table(measured: pl.DataFrame, jobs: list[plan.Job]) -> pl.DataFrame:
    """Per run: its jobs' GPU-hours and CPU-hours (training, evaluation, attribution), measured and planned."""
    planned: dict[tuple[str, str], dict[str, float]] = {}
    for job in jobs:
        for key in job.runs:
            entry = planned.setdefault(key, {"planned_gpu_hours": 0.0, "planned_cpu_hours": 0.0})
            entry["planned_gpu_hours"] += job.gpu_hours
            entry["planned_cpu_hours"] += job.cpu_hours
    predicted = pl.DataFrame([{"model": model, "run": run, **values} for (model, run), values in planned.items()],
                             schema={"model": pl.String, "run": pl.String, "planned_gpu_hours": pl.Float64,
                                     "planned_cpu_hours": pl.Float64})
    actual = (measured.drop_nulls("run").group_by("model", "run")
              .agg(pl.len().alias("jobs"), pl.col("gpu_hours").sum(), pl.col("cpu_hours").sum()))
    return (actual.join(predicted, on=["model", "run"], how="left")
            .sort("model", pl.col("run") != "base", "run")
            .select("model", "run", "jobs", "gpu_hours", "planned_gpu_hours", "cpu_hours", "planned_cpu_hours"))


def figure_row(config: dict[str, Any], figure: str, nodes: list[audit.Node], jobs: list[plan.Job]) -> dict[str, Any]:
    """A figure's lineage cost, measured, and the plan's for the same jobs."""
    measured = job_rows(nodes)
    runs = plan.figure_runs(config, figure) if figure in plan.FIGURES else set()
    own = [job for job in jobs if job.stage != "attribute" and (not job.runs or set(job.runs) <= runs)]
    return {"figure": figure, "jobs": measured.height, "gpu_hours": measured["gpu_hours"].sum(),
            "planned_gpu_hours": sum(job.gpu_hours for job in own), "cpu_hours": measured["cpu_hours"].sum(),
            "planned_cpu_hours": sum(job.cpu_hours for job in own)}


def cost_tables(config: dict[str, Any], figures: dict[str, audit.Node], lineages: list[audit.Node]
                ) -> dict[str, pl.DataFrame]:
    """The report's cost tables: per stage and per run over ``lineages`` (the ``audit.lineage`` of every figure
    and table the report shows), per figure over each one's (``figures``: name -> its lineage)."""
    measured = job_rows([node for tree in lineages for node in audit.walk(tree)])
    try:
        jobs = plan.plan_jobs(config)
    except KeyError:  # not a validated study config (one built by hand): the measured costs alone
        return {"stages": measured_by_stage(measured).sort("stage")}
    by_figure = pl.DataFrame([figure_row(config, name, audit.walk(tree), jobs) for name, tree in figures.items()],
                             schema={"figure": pl.String, "jobs": pl.Int64, "gpu_hours": pl.Float64,
                                     "planned_gpu_hours": pl.Float64, "cpu_hours": pl.Float64,
                                     "planned_cpu_hours": pl.Float64})
    return {"stages": stage_table(measured, jobs), "runs": run_table(measured, jobs), "figures": by_figure}
