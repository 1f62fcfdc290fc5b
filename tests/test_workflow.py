"""The Snakefile on the small study: a real run, minimal reruns after config edits, fast failures."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import ROOT, SMALL_CONFIG
from workflow_helpers import planned_jobs, snakemake

from xlt import paths
from xlt.grid import evaluated_tasks, mixture_names

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(small_study):
    """The small study run to completion once (conftest); tests dry-run edits against it."""
    return small_study


def test_the_study_writes_every_mixture_with_provenance(study):
    workdir, _, config = study
    for task in config["tasks"]:
        assert (workdir / "resources/datasets" / task / "provenance.json").exists()
    names = mixture_names(config)
    for mixture in names:
        folder = workdir / "results/mixtures" / mixture / "seed0"
        manifest = json.loads((folder / "manifest.json").read_text())
        provenance = json.loads((folder / "provenance.json").read_text())
        assert manifest["mixture"] == mixture
        assert {record["sha256"] for record in provenance["inputs"]} == {record["sha256"] for record in manifest["inputs"]}
        assert all("provenance" in record for record in provenance["inputs"])  # lineage to the dataset sidecars
    summary = pl.read_csv(workdir / "results/mixtures/summary.csv")
    assert set(summary["mixture"]) == set(names)
    n40 = summary.filter(mixture="st_math-n40", split="train")
    assert dict(zip(n40["lang"], n40["rows"])) == {"en": 200, "es": 40, "fr": 40, "ja": 40, "zh": 40}


def test_every_run_is_trained_generated_and_scored(study):
    workdir, _, config = study
    table = pl.read_parquet(workdir / "results/tables/results.parquet")
    expected_runs = {"base"} | {f"{mixture}/seed0" for mixture in mixture_names(config)}
    assert set(table["run"]) == expected_runs
    per_run = dict(table.group_by("run").agg(pl.col("task").unique().sort()).iter_rows())
    assert per_run["base"] == sorted(config["tasks"]) and per_run["mt-n10/seed0"] == sorted(config["tasks"])
    assert per_run["st_math-n40/seed0"] == ["math"]  # a single-task run is evaluated on its task
    assert set(table.group_by("run", "task").agg(pl.len())["len"]) == {8}  # 8 languages, one metric each
    assert table["score"].is_between(0, 1).all() and (table["examples"] == 30).all()
    for run in expected_runs - {"base"}:
        folder = workdir / "results/runs/tiny_1m" / run
        summary = json.loads((folder / "training.json").read_text())
        assert summary["best_checkpoint"] and (folder / "model" / "model.safetensors").exists()
        for task in evaluated_tasks(config, run):
            generations = pl.read_parquet(folder / "generations" / f"{task}.parquet")
            assert len(generations) == 240 and set(generations["backend"]) == {"hf"}
            assert (folder / "scores" / f"{task}.provenance.json").exists()
        assert sorted(path.stem for path in (folder / "generations").glob("*.parquet")) == sorted(
            evaluated_tasks(config, run))
        # keep_checkpoints: attribution (the default): weights-only checkpoints for attributed runs, none else
        kept = sorted((folder / "checkpoints").glob("checkpoint-*"))
        if {"model": "tiny_1m", "run": run} in config["attribution"]["runs"]:
            assert kept and all((c / "model.safetensors").exists() and not list(c.glob("optimizer*")) for c in kept)
            assert [c["kept"] for c in summary["checkpoints"]] == [True] * len(kept)
        else:
            assert kept == [] and summary["keep_checkpoints"] == "none"


@pytest.mark.parametrize("task", ["instruction_following", "math", "summarization"])
def test_training_beats_the_untrained_base_beyond_the_interval(study, task):
    """On each task, a run trained on it beats the untrained base on the task's headline metric over all 8
    languages by more than its 95% bootstrap interval (resampling test items, paired across languages): a
    broken mixture, training, generation or scoring stage leaves every model no better than its base and fails
    here. The small study trains each task long enough for that (tests/configs/small.yaml); which run and which
    languages get math's few correct answers varies with the CPU's floating-point kernels, so the best run
    counts."""
    workdir, _, config = study
    examples = pl.read_parquet(workdir / "results/tables/scores_by_example.parquet").filter(
        task=task, metric=config["tasks"][task]["metrics"][0])

    def item_means(run):  # one mean per test item over its 8 languages
        table = (examples.filter(run=run).group_by("source_id").agg(pl.col("score").mean(), pl.len())
                 .sort("source_id"))  # a fixed order: the same resamples on every run of the test
        assert (table["len"] == 8).all() and len(table) == 30
        return table["score"].to_numpy()

    def lower_bound(scores):
        resampled = scores[np.random.default_rng(0).integers(0, len(scores), size=(1000, len(scores)))]
        return float(np.quantile(resampled.mean(axis=1), 0.025))

    trained = [run for run in set(examples["run"]) if run != "base"]
    assert trained, f"no run of the small study trains {task}"
    bounds = {run: lower_bound(item_means(run)) for run in trained}
    base = item_means("base").mean()
    assert max(bounds.values()) > base, (task, bounds, base)


def test_the_analysis_writes_every_figure_table_and_the_report(study):
    workdir, _, _ = study
    for name in FIGURES:
        series = pl.read_csv(workdir / f"results/figures/{name}.csv")
        assert series.height, name
        assert (workdir / f"results/figures/{name}.png").stat().st_size > 10_000
        assert (workdir / f"results/figures/{name}.pdf").read_bytes().startswith(b"%PDF")
    assert not (workdir / "results/figures/data_efficiency.pdf").exists()  # no family has 3 n values
    for setting, task in PER_LANGUAGE:
        table = pl.read_csv(workdir / f"results/tables/per_language/{MODEL}/{setting}/{task}.csv")
        assert table["family"][0] == "base" and table.columns[-1] == "Avg"
    spearman = pl.read_csv(workdir / "results/tables/table2_spearman.csv")
    assert set(spearman["task"]) == set(TASKS)
    html = (workdir / "results/report.html").read_text()
    assert html.count("data:image/png;base64,") == len(FIGURES) + 3 * len(ATTRIBUTED)
    result = snakemake(workdir, "--report", str(workdir / "snakemake_report.html"))
    assert result.returncode == 0, result.stderr
    assert "fig3_scores_by_n.png" in (workdir / "snakemake_report.html").read_text()


def test_the_report_shows_each_jobs_measured_cost_beside_the_plan(study):
    """Every job counted once from its sidecars (a training job writes two), per stage beside xlt plan's jobs
    (mixtures aside: the mixture summary is a target of its own, in no lineage the report shows)."""
    from xlt import audit
    from xlt.costs import cost_tables
    from xlt.jobs import report_figures, report_tables

    workdir, _, config = study
    html = (workdir / "results/report.html").read_text()
    assert '<h2 id="cost">Cost</h2>' in html and "planned_cpu_hours" in html
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        figures = {name: audit.lineage(f"results/figures/{name}.pdf") for name in FIGURES}
        shown = ([path.replace(".png", ".pdf") for path in report_figures(config)] + report_tables(config)
                 + ["results/tables/data_efficiency.parquet"])
        tables = cost_tables(config, figures, [audit.lineage(path) for path in shown])
    finally:
        os.chdir(cwd)
    stages = {row["stage"]: row for row in tables["stages"].to_dicts()}
    for stage in ("data", "models", "train", "generate", "score", "attribute"):
        assert stages[stage]["jobs"] == stages[stage]["planned_jobs"], (stage, stages[stage])
        assert stages[stage]["cpu_hours"] > 0 and stages[stage]["gpu_hours"] == 0  # CPU jobs: threads x seconds
    runs = tables["runs"].filter(pl.col("run") == "st_math-n40/seed0").to_dicts()[0]
    # train, generate, score and the 6 attribution jobs of an attributed run
    assert runs["jobs"] == 3 + 6 and runs["planned_cpu_hours"] > 0
    assert set(tables["figures"]["figure"]) == set(FIGURES) and (tables["figures"]["cpu_hours"] > 0).all()


def test_the_plan_predicts_the_disk_each_run_holds(study):
    """xlt plan's checkpoint count and bytes per run (weights-only for attributed runs, none for the others) and
    model size, against what the runs' training.json measured."""
    from xlt.grid import checkpoint_retention, runs
    from xlt.plan import checkpoint_bytes, checkpoint_count, model_bytes

    workdir, _, config = study
    for run in runs(config):
        name = paths.run_name(run["mixture"], run["seed"])
        summary = json.loads((workdir / "results/runs" / run["model"] / name / "training.json").read_text())
        assert checkpoint_count(config, run["model"], run["family"], run["n"]) == len(summary["checkpoints"]), name
        keep = checkpoint_retention(config, run["model"], name)
        predicted = checkpoint_bytes(config, run["model"], run["family"], run["n"], keep)
        assert summary["disk_bytes"]["checkpoints"] == pytest.approx(predicted, rel=0.1, abs=0), name
        assert summary["disk_bytes"]["model"] == pytest.approx(model_bytes(config, run["model"]), rel=0.1)


def audited_stages(workdir, artifact: str) -> tuple[set[str], dict[str, int]]:
    """The stages of every node in ``xlt audit``'s lineage of ``artifact``, and the audit's summary counts."""
    result = subprocess.run([sys.executable, "-m", "xlt.cli", "audit", artifact, "--json"], cwd=workdir,
                            capture_output=True, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "workflow")})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    report = json.loads(result.stdout)
    stages = set()

    def collect(node):
        stages.add(node.get("stage"))
        for child in node.get("inputs", []):
            collect(child)

    collect(report["lineage"])
    return stages, report["summary"]


def test_audit_traces_a_figure_back_to_the_raw_datasets(study):
    workdir, _, _ = study
    stages, summary = audited_stages(workdir, "results/figures/fig3_scores_by_n.pdf")
    assert {"figure", "tables", "score", "generate", "eval_prompts", "train", "mixtures", "base_model",
            "tokenizer", "data"} <= stages
    assert summary["modified"] == summary["stale"] == 0


def test_audit_traces_an_attribution_figure_back_to_training_and_the_datasets(study):
    workdir, _, _ = study
    stages, summary = audited_stages(workdir, f"results/figures/attribution/{MODEL}/mt-n10/seed0/shares.pdf")
    assert {"attribute_figure", "attribute_tables", "attribute_scores", "attribute_examples", "train", "mixtures",
            "base_model", "eval_prompts", "data"} <= stages
    assert summary["modified"] == summary["stale"] == 0


def test_attribution_of_the_small_study_writes_share_tables_that_add_up(study):
    """Every attributed run: shares over the training languages sum to 1 for every test language, checkpoint,
    direction and normalisation; the trained languages draw on their own language above chance."""
    workdir, raw, config = study
    for family, n in ATTRIBUTED:
        folder = workdir / f"results/tables/attribution/{MODEL}/{family}-n{n}/seed0"
        shares = pl.read_parquet(folder / "shares.parquet")
        totals = shares.group_by("normalisation", "step", "direction", "test_lang").agg(pl.col("share").sum())
        assert totals["share"].min() == pytest.approx(1.0) and totals["share"].max() == pytest.approx(1.0)
        assert set(shares["test_lang"]) == set(["en", *config["languages"]["seen"], *config["languages"]["unseen"]])
        assert set(shares["normalisation"]) == {"cosine", "dot"} and shares["step"].null_count() > 0
        assert shares["step"].drop_nulls().n_unique() >= 2, "per-checkpoint shares"
        imbalance = pl.read_csv(folder / "imbalance.csv")
        seen = imbalance.filter(pl.col("test_lang").is_in(config["languages"]["seen"]))
        assert seen["own_ratio"].mean() > 1.5, imbalance
        sensitivity = pl.read_csv(folder / "k_sensitivity.csv")
        assert sensitivity["k"].n_unique() >= 3 and set(sensitivity["normalisation"]) == {"cosine", "dot"}
        zero_shot = pl.read_csv(folder / "zero_shot.csv")
        assert set(zero_shot["test_lang"]) == set(config["languages"]["unseen"])
        matrix = pl.read_csv(folder / "share_matrix.csv")
        assert matrix["test_lang"].to_list()[0] == "en" and matrix.height == 8
        for name in ("shares", "checkpoints", "reinforce"):
            figure = workdir / f"results/figures/attribution/{MODEL}/{family}-n{n}/seed0/{name}"
            assert figure.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
            assert pl.read_csv(figure.with_suffix(".csv")).height


def test_attribution_shards_split_the_training_items_and_agree_with_one_shard(study):
    """Two shards cover the training items once and give the scores of one shard over all of them."""
    from xlt.attribute import score_shard
    from xlt.jobs import attribution_scores_spec

    workdir, _, config = study
    run = f"results/runs/{MODEL}/st_math-n40/seed0"
    whole = pl.read_parquet(workdir / f"{run}/attribution/scores/shard0-of1.parquet")
    last = whole["step"].max()
    spec = json.loads(attribution_scores_spec(config, MODEL))
    spec["attribution"]["checkpoint_every"] = 100  # the last checkpoint only: what is compared
    examples = pl.read_parquet(workdir / f"{run}/attribution/examples.parquet")
    summary = json.loads((workdir / f"{run}/training.json").read_text())
    cwd = os.getcwd()
    try:
        os.chdir(workdir)  # training.json lists checkpoints relative to the study folder
        parts = [score_shard(examples, summary, spec, shard, 2, MODEL)[0] for shard in range(2)]
    finally:
        os.chdir(cwd)
    split = pl.concat(parts).sort("train_index")
    assert split["train_index"].to_list() == list(range(examples.filter(role="train").height))
    reference = whole.filter(step=last).sort("train_index")
    np.testing.assert_allclose(split["cosine"].to_numpy(), reference["cosine"].to_numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(split["dot"].to_numpy(), reference["dot"].to_numpy(), rtol=1e-3, atol=1e-7)


def test_a_rerun_without_changes_schedules_nothing(study):
    workdir, raw, _ = study
    assert planned_jobs(workdir, raw) == []


def edited(raw, change):
    config = copy.deepcopy(raw)
    change(config)
    return config


def set_n(config):
    config["mixtures"]["families"]["st_math"]["n"] = [0, 20, 40]


def set_english(config):
    config["mixtures"]["families"]["st_summarization"]["english"] = 50


def add_seed(config):
    config["seeds"] = [0, 1]


def set_math_items(config):
    config["tasks"]["math"]["data"]["items"]["train"] = 320


def drop_unseen_language(config):
    config["languages"]["unseen"] = ["ar", "ko"]


def set_learning_rate(config):
    config["models"]["tiny_1m"]["training"] = {"learning_rate": 5e-4}


def set_mode(config):
    config["mixtures"]["families"]["script_latin"]["mode"] = "disjoint"


TASKS = ["instruction_following", "math", "summarization"]
MODEL = "tiny_1m"


FAMILY_TASKS = {"st_math": ["math"], "st_summarization": ["summarization"], "st_instruction_following":
                ["instruction_following"], "mt": TASKS, "script_latin": ["math"]}


def evaluation(run: str) -> list[str]:
    """The jobs that evaluate one run (a mixture/seed or base): a base on every task, a run on its family's."""
    tasks = TASKS if run == "base" else FAMILY_TASKS[paths.split_run_name(run)[1]]
    return [job for task in tasks for job in (f"generate[model={MODEL}, run={run}, task={task}]",
                                              f"score[model={MODEL}, run={run}, task={task}]")]


def chain(family: str, n: int, seed: int = 0) -> list[str]:
    """Every job of one training run, from its mixture to its scores."""
    return [f"mixture[family={family}, n={n}, seed={seed}]",
            f"train[model={MODEL}, family={family}, n={n}, seed={seed}]", *evaluation(f"{family}-n{n}/seed{seed}")]


MIXTURES = [("st_math", 0), ("st_math", 40), ("st_summarization", 20), ("st_instruction_following", 0), ("mt", 10),
            ("script_latin", 20)]
RUNS = ["base"] + [f"{family}-n{n}/seed0" for family, n in MIXTURES]
FIGURES = ["fig2_perf_to_en_single_task", "fig3_scores_by_n", "fig4_perf_to_en_multi_task",
           "fig5_scores_by_n_multi_task", "fig6_script_mix", "fig12_seen_unseen_gap"]
PER_LANGUAGE = [("single_task", "instruction_following"), ("single_task", "math"), ("single_task", "summarization"),
                ("multi_task", "instruction_following"),
                ("multi_task", "math"), ("multi_task", "summarization"), ("script_mix", "math")]


ATTRIBUTED = [("st_math", 40), ("mt", 10)]  # attribution.runs of the small study


def attribution(family: str, n: int, seed: int = 0, start: str = "examples") -> list[str]:
    """The attribution jobs of one run, from ``start`` (examples, scores, tables) on; not the report."""
    run = f"model={MODEL}, family={family}, n={n}, seed={seed}"
    steps = {"examples": [f"attribution_examples[{run}]"],
             "scores": [f"attribution_scores[{run}, shard=0, shards=1]"],
             "tables": [f"attribution_tables[{run}]"] + [f"attribution_figure[{run}, attribution_figure={name}]"
                                                         for name in ("shares", "checkpoints", "reinforce")]}
    order = list(steps)
    return [job for step in order[order.index(start):] for job in steps[step]]


def analysis(figures: list[str] = FIGURES) -> list[str]:
    """Every job downstream of the scores: tables, curves, figures, report."""
    return (["all", "results_tables", "data_efficiency", "spearman_table", "report"]
            + [f"figure[figure={name}]" for name in figures]
            + [f"per_language_table[model={MODEL}, setting={setting}, task={task}]" for setting, task in PER_LANGUAGE])


AGGREGATES = ["mixture_summary", *analysis()]


def set_generation_length(config):
    config["generation"]["max_new_tokens"] = 40


def set_top_k(config):
    config["attribution"]["top_k"] = 5


def set_attribution_layers(config):
    config["attribution"]["layers"] = ["*.mlp.*"]


def attribute_another_run(config):
    config["attribution"]["runs"].append({"model": MODEL, "run": "st_summarization-n20/seed0"})


EDITS = [
    # st_math now has 3 n values: its data-efficiency curve (a new figure) appears with the aggregates
    ("one n of one family", set_n, [*chain("st_math", 20), "mixture_summary", *analysis(FIGURES + ["data_efficiency"])]),
    ("English count of one family", set_english, [*chain("st_summarization", 20), *AGGREGATES]),
    ("add a seed", add_seed, [job for family, n in MIXTURES for job in chain(family, n, seed=1)] + AGGREGATES),
    ("mixing mode of one family", set_mode, [*chain("script_latin", 20), *AGGREGATES]),
    ("a model's learning rate", set_learning_rate,
     [job for family, n in MIXTURES for job in chain(family, n)[1:]] + analysis()
     + [job for family, n in ATTRIBUTED for job in attribution(family, n, start="scores")]),
    ("a generation setting", set_generation_length,
     [job for run in RUNS for job in evaluation(run)] + analysis()),
    ("an evaluation-only language", drop_unseen_language,
     [f"eval_prompts[task={task}]" for task in TASKS] + [job for run in RUNS for job in evaluation(run)]
     + analysis() + [job for family, n in ATTRIBUTED for job in attribution(family, n)]),
    # study B: an analysis setting reruns no gradient; the layers rerun the gradients and no training; one more
    # attributed run adds its own jobs and retrains that run (keep_checkpoints: attribution kept none of its
    # checkpoints), so its evaluation and the analysis follow
    ("attribution top_k", set_top_k,
     ["all", "report"] + [job for family, n in ATTRIBUTED for job in attribution(family, n, start="tables")]),
    ("attribution layers", set_attribution_layers,
     ["all", "report"] + [job for family, n in ATTRIBUTED for job in attribution(family, n, start="scores")]),
    ("attribute one more run", attribute_another_run,
     [*chain("st_summarization", 20)[1:], *analysis(), *attribution("st_summarization", 20)]),
]


def test_a_task_pool_edit_regenerates_that_task_only(study):
    """A math pool change regenerates math's data and mixtures, and the base models (their pretraining text
    changed), never another task's data or mixtures."""
    workdir, raw, _ = study
    try:
        jobs = planned_jobs(workdir, edited(raw, set_math_items))
    finally:
        (workdir / "config.yaml").write_text(__import__("yaml").safe_dump(raw, sort_keys=False))
    assert [job for job in jobs if job.startswith("synthetic_dataset")] == ["synthetic_dataset[task=math]"]
    mixtures = sorted(job for job in jobs if job.startswith("mixture["))
    assert mixtures == sorted(f"mixture[family={f}, n={n}, seed=0]" for f, n in MIXTURES if "math" in FAMILY_TASKS[f])
    assert "tokenizer" in jobs and f"base_model[model={MODEL}]" in jobs


@pytest.mark.parametrize("what, change, expected", EDITS, ids=[edit[0] for edit in EDITS])
def test_a_config_edit_schedules_only_the_jobs_that_depend_on_it(study, what, change, expected):
    workdir, raw, _ = study
    try:
        assert planned_jobs(workdir, edited(raw, change)) == sorted(expected)
    finally:
        (workdir / "config.yaml").write_text(__import__("yaml").safe_dump(raw, sort_keys=False))


def test_a_bad_config_fails_before_any_job_naming_the_key(tmp_path):
    raw = __import__("yaml").safe_load(SMALL_CONFIG.read_text())
    raw["mixtures"]["families"]["st_math"]["n"] = [0, -10]
    result = snakemake(tmp_path, "--cores", "1", config=raw)
    assert result.returncode != 0
    assert "mixtures.families.st_math.n[1]: -10 is less than the minimum of 0" in result.stdout + result.stderr
    assert not (tmp_path / "resources").exists() and not (tmp_path / "results").exists()


def test_a_missing_local_model_fails_before_any_job(tmp_path):
    raw = __import__("yaml").safe_load(SMALL_CONFIG.read_text())
    raw["models"]["llama"] = {"source": "local", "path": str(tmp_path / "no-such-model"), "params_m": 8000,
                              "training": {"per_device_batch_size": 8}}  # 2 GPUs x 8 = the global batch 16
    result = snakemake(tmp_path, "--cores", "1", config=raw)
    assert result.returncode != 0
    assert f"models.llama.path: '{tmp_path / 'no-such-model'}' is not a model directory" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_a_failed_mixture_job_leaves_no_output_that_looks_done(tmp_path):
    """Pools too small fail the config check now; an unreadable dataset still fails the mixture job, which
    names the file in one line and leaves nothing behind."""
    raw = __import__("yaml").safe_load(SMALL_CONFIG.read_text())
    raw["mixtures"]["families"] = {"small": {"tasks": ["math"], "english": 40, "n": [10]}}
    raw.pop("attribution")  # its runs are of the families replaced here
    dataset = "resources/datasets/math/train.parquet"
    assert snakemake(tmp_path, "--cores", "1", dataset, config=raw).returncode == 0
    (tmp_path / dataset).write_bytes(b"PAR1 truncated by a full disk")
    folder = tmp_path / "results/mixtures/small-n10/seed0"
    # the mixture itself is the target: other jobs read the dataset too, and any of them may be scheduled first
    result = snakemake(tmp_path, "--cores", "1", str(folder.relative_to(tmp_path) / "manifest.json"), config=raw)
    assert result.returncode != 0
    assert not any(folder.glob("*.parquet")) and not (folder / "manifest.json").exists()
    log = (tmp_path / "results/logs/mixtures/small-n10/seed0.log").read_text().strip().splitlines()
    assert log[-1].startswith(f"xlt mixtures: error: {dataset}: not a readable parquet table"), log[-3:]


# ---- reruns compute what the edited config says -----------------------------------------------------------

RERUN = "st_summarization-n20/seed0"


def copy_of_study(workdir, target, keep_run: str | None = RERUN):
    """A copy of the finished study (metadata and mtimes kept); checkpoints only of the run under test."""

    def skip(folder, names):
        inside_kept = keep_run and Path(folder).as_posix().endswith(keep_run)
        return [name for name in names if name == "checkpoints" and not inside_kept]

    shutil.copytree(workdir, target, symlinks=True, ignore=skip)
    return target


def run_dir(workdir):
    return workdir / "results/runs" / MODEL / RERUN


def retrain(workdir, config, *flags):
    target = f"results/runs/{MODEL}/{RERUN}/training.json"
    # the target before the flags: --forcerun, like --configfile, takes several values and would swallow it
    result = snakemake(workdir, "--cores", "1", target, *flags, config=config)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((run_dir(workdir) / "training.json").read_text())


def model_bytes(workdir):
    return (run_dir(workdir) / "model" / "model.safetensors").read_bytes()


@pytest.mark.parametrize("what, change, rebuilt", [
    ("learning rate", set_learning_rate, []),
    ("English items of the mixture", set_english, ["results/mixtures/st_summarization-n20"]),
], ids=["learning-rate", "mixture"])
def test_an_edited_config_retrains_from_scratch_and_equals_a_fresh_run(study, tmp_path, what, change, rebuilt):
    workdir, raw, _ = study
    config = edited(raw, change)
    old = model_bytes(workdir)
    rerun = copy_of_study(workdir, tmp_path / "rerun")
    summary = retrain(rerun, config)
    assert summary["resumed_from"] is None and summary["steps"] > 0  # the old run's checkpoints were not reused
    fresh = copy_of_study(workdir, tmp_path / "fresh", keep_run=None)
    for folder in [f"results/runs/{MODEL}/{RERUN}", *rebuilt]:
        shutil.rmtree(fresh / folder)
    fresh_summary = retrain(fresh, config)
    assert model_bytes(rerun) != old
    assert model_bytes(rerun) == model_bytes(fresh)  # same bytes on CPU
    assert summary["steps"] == fresh_summary["steps"] and summary["job"] == fresh_summary["job"]
    for folder in rebuilt:
        assert (rerun / folder / "seed0/train.parquet").read_bytes() == (fresh / folder / "seed0/train.parquet").read_bytes()


def test_forcerun_train_retrains_the_same_model(study, tmp_path):
    workdir, raw, _ = study
    original = json.loads((run_dir(workdir) / "training.json").read_text())
    forced = copy_of_study(workdir, tmp_path / "forced")
    summary = retrain(forced, raw, "--forcerun", "train")
    assert summary["resumed_from"] is None and summary["steps"] == original["steps"]
    other = f"results/runs/{MODEL}/st_math-n40/seed0/model/model.safetensors"
    assert (forced / other).stat().st_mtime == (workdir / other).stat().st_mtime  # only the target's job ran
    assert model_bytes(forced) == model_bytes(workdir)  # trained again, deterministically


def test_the_workflow_is_lint_clean_and_formatted(study):
    workdir, _, _ = study
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0 and "Lints for" not in result.stdout, result.stdout
    snakefiles = [str(ROOT / "Snakefile"), *map(str, sorted((ROOT / "workflow" / "rules").glob("*.smk")))]
    formatted = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *snakefiles], capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stderr


def test_the_papers_full_grid_plans_its_152_runs(tmp_path):
    """studies/paper.yaml: 72 single-task + 48 script-mix + 32 multi-task runs, each evaluated on its family's
    tasks (a multi-task run on all three), each model's base on every task."""
    from collections import Counter

    raw = __import__("yaml").safe_load((ROOT / "studies" / "paper.yaml").read_text())
    jobs = planned_jobs(tmp_path, raw)
    counts = Counter(job.split("[")[0] for job in jobs)
    # evaluations: 72 + 48 single-task runs x 1 task, 32 multi-task runs x 3, 3 bases x 3 = 225
    assert (counts["train"], counts["mixture"], counts["generate"], counts["score"]) == (152, 88, 225, 225)
    assert "tokenizer" not in counts and "base_model" not in counts  # hub models: nothing to build
    # the real data path: one adapter job per task, one assembly per split, the paper's translations, the judge
    # only where a task is rated by it (instruction following: one judge job per generation of that task)
    assert (counts["hub_dataset"], counts["dataset"], counts["judge"]) == (3, 12, 75)  # dataset: per task x split
    translations = sorted(job.removeprefix("translate[") for job in jobs if job.startswith("translate["))
    expected = [f"task=math, split={split}, lang={lang}]" for split in ("exemplars", "test") for lang in ("ar", "ko", "pt")]
    expected += [f"task=instruction_following, split={split}, lang={lang}]" for split in ("train", "validation")
                 for lang in ("es", "fr", "ja", "zh")]
    assert translations == sorted(expected)
    # xlt plan expands the same jobs, rule by rule, without Snakemake
    from xlt.config import validate_config
    from xlt.plan import plan_jobs

    planned = Counter(job.rule for job in plan_jobs(validate_config(raw)))
    assert planned == {rule: count for rule, count in counts.items() if rule != "all"}
