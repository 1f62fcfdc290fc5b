"""Evaluation prompts and the two generation backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
import pytest
from conftest import ROOT

from xlt.prompts import evaluation_prompts
from xlt.schema import read_examples

LANGUAGES = ["en", "es", "fr", "ja", "zh", "ar", "ko", "pt"]


@pytest.fixture(scope="module")
def math_splits(datasets_dir):
    return read_examples(datasets_dir / "math" / "test.parquet"), read_examples(datasets_dir / "math" / "train.parquet")


def test_every_language_is_asked_the_same_items(math_splits):
    test, train = math_splits
    prompts = evaluation_prompts(test, train, LANGUAGES, 12, shots=0)
    assert prompts.group_by("lang").len()["len"].to_list() == [12] * 8
    per_item = prompts.group_by("source_id").agg(pl.col("lang").n_unique())
    assert len(per_item) == 12 and set(per_item["lang"]) == {8}
    assert prompts.equals(evaluation_prompts(test, train, LANGUAGES, 12, shots=0))  # one set for every run
    assert all(len(turns) == 1 and turns[0]["role"] == "user" for turns in prompts["prompt"])  # answer removed


def test_math_prompts_carry_k_exemplars_in_the_target_language(math_splits):
    test, train = math_splits
    prompts = evaluation_prompts(test, train, LANGUAGES, 4, shots=3)
    train_answers = {(row["lang"], row["messages"][1]["content"]) for row in train.iter_rows(named=True)}
    for row in prompts.iter_rows(named=True):
        turns = row["prompt"]
        assert [turn["role"] for turn in turns] == ["user", "assistant"] * 3 + ["user"]
        for answer in turns[1:6:2]:
            assert (row["lang"], answer["content"]) in train_answers


def test_too_few_test_items_is_a_clear_error(math_splits):
    test, train = math_splits
    with pytest.raises(ValueError, match=r"task math: 31 test items per language asked \(generation.test_items_per_language\), en has 30"):
        evaluation_prompts(test, train, LANGUAGES, 31, shots=0)
    with pytest.raises(ValueError, match=r"task math: 2 exemplars asked in es \(generation.math_shots\), the exemplars have 0"):
        evaluation_prompts(test, train.filter(pl.col("lang") != "es"), LANGUAGES, 3, shots=2)


def test_a_non_parallel_test_set_is_sampled_per_language(math_splits):
    """XLSum-like data: each language has its own items (no shared source_id), so each gets its own sample."""
    test, train = math_splits
    own_items = test.with_columns(source_id=pl.concat_str(["lang", "source_id"], separator="."))
    own_items = own_items.with_columns(id=pl.concat_str(["task", "source_id", "lang"], separator=":"))
    prompts = evaluation_prompts(own_items, train, LANGUAGES, 7, shots=0)
    assert dict(prompts.group_by("lang").len().iter_rows()) == {lang: 7 for lang in LANGUAGES}
    assert prompts["source_id"].n_unique() == 7 * len(LANGUAGES)
    assert prompts.equals(evaluation_prompts(own_items, train, LANGUAGES, 7, shots=0))


def generate_with(backend, model_dir, prompts_path, out_path):
    settings = {"backend": backend, "seed": 0, "max_new_tokens": 24, "temperature": 0.0, "top_p": 1.0, "batch_size": 16}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow"), "XLT_CACHE": str(out_path.parent / "cache")}
    result = subprocess.run([sys.executable, "-m", "xlt.cli", "generate", "--model-dir", str(model_dir),
                             "--settings", json.dumps(settings), "--prompts", str(prompts_path), "--out", str(out_path)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return pl.read_parquet(out_path)


def test_vllm_and_transformers_greedy_outputs_agree(tiny_base_model, math_splits, tmp_path):
    test, train = math_splits
    prompts_path = tmp_path / "prompts.parquet"
    evaluation_prompts(test, train, LANGUAGES, 3, shots=1).write_parquet(prompts_path)
    hf = generate_with("hf", tiny_base_model, prompts_path, tmp_path / "hf.parquet")
    vllm = generate_with("vllm", tiny_base_model, prompts_path, tmp_path / "vllm.parquet")
    assert len(hf) == len(vllm) == 24
    assert set(hf["backend"]) == {"hf"} and set(vllm["backend"]) == {"vllm"}
    assert hf["id"].to_list() == vllm["id"].to_list()
    assert (hf["completion_tokens"] > 0).all() and (hf["prompt_tokens"] > 0).all()
    assert hf["prompt_tokens"].to_list() == vllm["prompt_tokens"].to_list()
    assert hf["completion_tokens"].to_list() == vllm["completion_tokens"].to_list()
    assert hf["generation"].to_list() == vllm["generation"].to_list()
    assert (tmp_path / "vllm.provenance.json").exists()


def test_an_evaluation_language_without_test_items_is_an_error_before_generation(math_splits):
    test, train = math_splits
    with pytest.raises(ValueError, match=r"task math: no test items in the evaluation language\(s\) \['de'\]"):
        evaluation_prompts(test, train, [*LANGUAGES, "de"], 4, shots=0)
    with pytest.raises(ValueError, match="the test split has no rows"):
        evaluation_prompts(test.clear(), train, LANGUAGES, 4, shots=0)


def test_pickled_weights_are_never_loaded(tiny_base_model, tmp_path, capsys):
    """A base model shipped as pytorch_model.bin (a pickle: it can run code) is refused in every stage that
    loads models through resolve_model_dir (generate, translate, judge), before any engine starts."""
    import shutil

    import torch
    from safetensors.torch import load_file

    from xlt.cli import main

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_base_model, pickled)
    torch.save(load_file(pickled / "model.safetensors"), pickled / "pytorch_model.bin")  # the pre-2023 format
    (pickled / "model.safetensors").unlink()
    assert (pickled / "pytorch_model.bin").exists() and not list(pickled.glob("*.safetensors"))
    prompts = tmp_path / "prompts.parquet"
    pl.DataFrame({"prompt": [[{"role": "user", "content": "2 + 2?"}]]}).write_parquet(prompts)
    settings = json.dumps({"backend": "hf", "seed": 0, "max_new_tokens": 4, "temperature": 0.0, "top_p": 1.0,
                           "batch_size": 1})
    code = main(["generate", "--model-dir", str(pickled), "--settings", settings, "--prompts", str(prompts),
                 "--out", str(tmp_path / "out.parquet")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert f"{pickled}: no *.safetensors weights (it has pytorch_model.bin, pickled weights that xlt does not load)" in err
    assert not (tmp_path / "out.parquet").exists()
