"""The Snakefile on the small study: a real run, minimal reruns after config edits, fast failures."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import polars as pl
import pytest

from conftest import ROOT, SMALL_CONFIG
from workflow_helpers import planned_jobs, snakemake
from xlt.config import load_config, mixture_names

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The small study run to completion once; tests dry-run edits against it."""
    workdir = tmp_path_factory.mktemp("study")
    config = load_config(SMALL_CONFIG)  # validated: what the Snakefile sees
    raw = __import__("yaml").safe_load(SMALL_CONFIG.read_text())
    result = snakemake(workdir, "--cores", "2", config=raw)
    assert result.returncode == 0, result.stdout + result.stderr
    return workdir, raw, config


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
    assert dict(zip(n40["lang"], n40["rows"])) == {"en": 60, "es": 40, "fr": 40, "ja": 40, "zh": 40}


def test_a_rerun_without_changes_schedules_nothing(study):
    workdir, raw, _ = study
    assert planned_jobs(workdir, raw) == []


def edited(raw, change):
    config = copy.deepcopy(raw)
    change(config)
    return config


def set_n(config):
    config["mixtures"]["families"]["st_math"]["n"] = [0, 10, 20]


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


AGGREGATES = ["all", "mixture_summary"]
MATH_MIXTURES = ["mixture[family=mt, n=0, seed=0]", "mixture[family=mt, n=10, seed=0]",
                 "mixture[family=script_latin, n=20, seed=0]", "mixture[family=st_math, n=0, seed=0]",
                 "mixture[family=st_math, n=10, seed=0]", "mixture[family=st_math, n=40, seed=0]"]
EDITS = [
    ("one n of one family", set_n, ["mixture[family=st_math, n=20, seed=0]", *AGGREGATES]),
    ("English count of one family", set_english,
     ["mixture[family=st_summarization, n=0, seed=0]", "mixture[family=st_summarization, n=20, seed=0]", *AGGREGATES]),
    ("add a seed", add_seed, [f"mixture[family={m.rsplit('-n', 1)[0]}, n={m.rsplit('-n', 1)[1]}, seed=1]"
                              for m in ["st_math-n0", "st_math-n10", "st_math-n40", "st_summarization-n0",
                                        "st_summarization-n20", "mt-n0", "mt-n10", "script_latin-n20"]] + AGGREGATES),
    ("one task's pool size", set_math_items, ["synthetic_dataset[task=math]", *MATH_MIXTURES, *AGGREGATES]),
    ("mixing mode of one family", set_mode, ["mixture[family=script_latin, n=20, seed=0]", *AGGREGATES]),
    ("an evaluation-only language", drop_unseen_language, []),
    ("a model's learning rate", set_learning_rate, []),
]


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


def test_a_failed_mixture_job_leaves_no_output_that_looks_done(tmp_path):
    raw = __import__("yaml").safe_load(SMALL_CONFIG.read_text())
    raw["mixtures"]["families"] = {"too_big": {"tasks": ["math"], "english": 400, "n": [10]}}
    result = snakemake(tmp_path, "--cores", "1", config=raw)
    assert result.returncode != 0
    folder = tmp_path / "results/mixtures/too_big-n10/seed0"
    assert not any(folder.glob("*.parquet")) and not (folder / "manifest.json").exists()
    log = (tmp_path / "results/logs/mixtures/too_big-n10/seed0.log").read_text()
    assert "task math (train pool), language en: asked for 400 items, the pool has 300" in log


def test_the_workflow_is_lint_clean_and_formatted(study):
    workdir, _, _ = study
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0 and "Lints for" not in result.stdout, result.stdout
    snakefiles = [str(ROOT / "Snakefile"), *map(str, sorted((ROOT / "workflow" / "rules").glob("*.smk")))]
    formatted = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *snakefiles], capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stderr
