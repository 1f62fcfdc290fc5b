"""The real-data path through Snakemake: Hugging Face adapters (on local copies in the hub layouts), machine
translation, dataset assembly, k-shot exemplars from MGSM, and the LLM judge, with the tiny local model as
the evaluated model, the MT system and the judge."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections import Counter

import polars as pl
import pytest
from conftest import ROOT
from hub_fixtures import write_hub_fixtures
from workflow_helpers import planned_jobs, snakemake

from xlt import paths
from xlt.schema import read_examples

pytestmark = pytest.mark.slow
TASKS = ("math", "summarization", "instruction_following")
TARGETS = [*(paths.scores("tiny", paths.BASE_RUN, task) for task in TASKS),
           paths.mixture_file("st_math-n0", 0, "manifest.json"), paths.dataset_file("instruction_following", "train")]


def hub_study(data, model):
    mgsm = {"adapter": "mgsm", "dataset": str(data / "mgsm"), "revision": "refs/convert/parquet",
            "config_as_data_dir": True}
    xlsum = {"adapter": "xlsum", "dataset": str(data / "xlsum"), "config_as_data_dir": True,
             "languages": ["en", "es", "ja"]}
    return {
        "study": "ci-hub",
        "languages": {"english": "en", "seen": ["es"], "unseen": ["ja"]},
        "tasks": {
            "math": {"kind": "math", "metrics": ["math_accuracy"], "data": {"source": "hub", "splits": {
                "train": {"adapter": "mcot_math", "dataset": str(data / "mcot"), "data_files": "mcot_math.json",
                          "languages": ["en", "es", "ja"], "items_per_language": 12},
                "validation": {"from_train": 3},
                "test": {**mgsm, "languages": ["en", "es", "ja"], "items_per_language": 6},
                "exemplars": {**mgsm, "split": "train", "languages": ["en", "es", "ja"]}}}},
            "summarization": {"kind": "summarization", "metrics": ["rouge_l"], "data": {"source": "hub", "splits": {
                "train": xlsum, "validation": xlsum, "test": xlsum}}},
            "instruction_following": {
                "kind": "instruction_following", "metrics": ["judge_rating"],
                "data": {"source": "hub", "splits": {
                    "train": {"adapter": "chat", "dataset": str(data / "messages"), "language": "en"},
                    "validation": {"from_train": 1},
                    "test": {"adapter": "aya_dolly", "dataset": str(data / "aya"), "languages": ["en", "es", "ja"]}}},
                # the English conversations into Spanish and Japanese; the test set has both natively
                "translate": [{"split": "train", "languages": ["es", "ja"]}]},
        },
        "mixtures": {"families": {"st_math": {"tasks": ["math"], "english": 5, "n": [0]}}},
        "models": {"tiny": {"source": "local", "path": str(model), "params_m": 0.1}},
        "translation": {"model": {"source": "local", "path": str(model)}, "name": "tiny-mt", "backend": "hf",
                        "max_new_tokens": 8},
        "judge": {"backend": "hf", "model": {"source": "local", "path": str(model)}, "max_new_tokens": 8},
        "generation": {"backend": "hf", "max_new_tokens": 8, "math_shots": 2, "test_items_per_language": 3},
    }


@pytest.fixture(scope="module")
def hub_run(tmp_path_factory, tiny_base_model):
    data = write_hub_fixtures(tmp_path_factory.mktemp("hub"))
    workdir = tmp_path_factory.mktemp("hub_study")
    config = hub_study(data, tiny_base_model)
    result = snakemake(workdir, "--cores", "2", *TARGETS, config=config)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return workdir, config


def test_hub_data_is_read_assembled_and_pinned_in_provenance(hub_run):
    workdir, _ = hub_run
    math_test = read_examples(workdir / paths.dataset_file("math", "test"))
    # MGSM is parallel: the same items in every language
    by_lang = math_test.group_by("lang").agg(pl.col("source_id").sort())
    assert len({tuple(ids) for ids in by_lang["source_id"]}) == 1 and math_test["lang"].n_unique() == 3
    exemplars = read_examples(workdir / paths.dataset_file("math", "exemplars"))
    assert exemplars.height == 8 * 3 and set(exemplars["origin"]) == {"native"}
    assert read_examples(workdir / paths.dataset_file("summarization", "exemplars")).is_empty()
    provenance = json.loads((workdir / paths.source_file("math", "provenance")).read_text())
    test_source = provenance["params"]["splits"]["test"]
    assert test_source["revision"] == "refs/convert/parquet"
    assert all(file["sha256"] for source in test_source["sources"] for file in source["files"])
    prompts = pl.read_parquet(workdir / paths.eval_prompts("math"))
    assert (prompts["shots"] == 2).all() and prompts.height == 3 * 3
    # two solved MGSM exemplars of the prompt's own language precede the question
    first = prompts.filter(lang="es").row(0, named=True)["prompt"]
    assert [turn["role"] for turn in first] == ["user", "assistant", "user", "assistant", "user"]
    assert first[0]["content"].startswith("[es]")


def test_translations_are_filtered_counted_and_assembled(hub_run):
    workdir, _ = hub_run
    train = read_examples(workdir / paths.dataset_file("instruction_following", "train"))
    for lang in ("es", "ja"):
        manifest = json.loads((workdir / paths.translation_file("instruction_following", "train", lang,
                                                                "manifest")).read_text())
        kept = read_examples(workdir / paths.translation_file("instruction_following", "train", lang))
        assert manifest["source_items"] == 3  # 4 conversations, 1 held out for validation
        assert manifest["items_kept"] + sum(manifest["items_dropped"].values()) == manifest["source_items"]
        assert manifest["items_kept"] == kept.height
        assert set(kept["origin"]) <= {"mt:tiny-mt"}
        # what the filters kept is in the dataset the mixtures read, with the English item's source_id
        assert train.filter(lang=lang).height == kept.height
        assert set(kept["source_id"]) <= set(train.filter(lang="en")["source_id"])
    assert (workdir / paths.translation_cache("tiny-mt", "instruction_following", "train", "es")).exists()


def test_the_judge_rates_instruction_following_and_counts_what_it_could_not_parse(hub_run):
    workdir, _ = hub_run
    judgements = pl.read_parquet(workdir / paths.judgements("tiny", paths.BASE_RUN, "instruction_following"))
    assert judgements.height == 3 * 3
    assert set(judgements["status"]) <= {"rated", "unparseable", "wrong_language", "empty", "error"}
    scores = pl.read_parquet(workdir / paths.scores("tiny", paths.BASE_RUN, "instruction_following"))
    assert set(scores["metric"]) == {"judge_rating"}
    unscored = judgements.filter(pl.col("rating").is_null()).height
    assert scores["score"].null_count() == unscored  # an unparseable judge reply is not scored, but counted
    statuses = [json.loads(details)["status"] for details in scores.sort("id")["details"]]
    assert statuses == judgements.sort("id")["status"].to_list()
    assert not (workdir / paths.judgements("tiny", paths.BASE_RUN, "math")).exists()  # math is not judged


def test_a_translated_evaluation_language_reruns_evaluation_only(hub_run):
    """Adding an unseen language that every task gets by translation: new translation jobs, the affected
    splits re-assembled, prompts and evaluations redone; no data re-read and no mixture rebuilt (mixtures keep
    out the native test items, which translations do not change)."""
    workdir, config = hub_run
    edited = copy.deepcopy(config)
    edited["languages"]["unseen"] = ["ja", "pt"]
    for task in TASKS:
        edited["tasks"][task]["translate"] = [*edited["tasks"][task].get("translate", []),
                                              {"split": "test", "languages": ["pt"]}]
    edited["tasks"]["math"]["translate"].append({"split": "exemplars", "languages": ["pt"]})
    try:
        jobs = planned_jobs(workdir, edited, TARGETS)
    finally:
        (workdir / "config.yaml").write_text(__import__("yaml").safe_dump(config, sort_keys=False))
    counts = Counter(job.split("[")[0] for job in jobs)
    assert counts == {"translate": 4, "dataset": 4, "eval_prompts": 3, "generate": 3, "judge": 1, "score": 3}, jobs
    assert sorted(job for job in jobs if job.startswith("dataset")) == sorted(
        f"dataset[task={task}, split={split}]" for task, split in
        (("math", "test"), ("math", "exemplars"), ("summarization", "test"), ("instruction_following", "test")))


def test_audit_traces_a_dataset_through_its_translations_to_the_adapters(hub_run):
    workdir, _ = hub_run
    result = subprocess.run([sys.executable, "-m", "xlt.cli", "audit", paths.dataset_file("instruction_following",
                                                                                          "train"), "--json"],
                            cwd=workdir, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "workflow")})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    stages = []

    def collect(node):
        stages.append(node.get("stage"))
        for child in node.get("inputs", []):
            collect(child)

    report = json.loads(result.stdout)
    collect(report["lineage"])
    assert stages[0] == "dataset" and stages.count("translate") == 2 and "data" in stages
    assert report["summary"]["modified"] == report["summary"]["stale"] == 0
