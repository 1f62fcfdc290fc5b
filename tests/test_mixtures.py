"""Mixtures: the asked counts, translation-aware sampling, determinism and clear refusals."""

from __future__ import annotations

import json
import math
import shutil

import polars as pl
import pytest

from xlt.grid import mixture_names, mixture_spec
from xlt.io import write_parquet
from xlt.mixtures import LeakageError, PoolTooSmallError, assert_no_leakage, build_mixture, write_mixture
from xlt.schema import read_examples


def spec_for(config, mixture):
    family, n = mixture.rsplit("-n", 1)
    return mixture_spec(config, family, int(n))


def cell_counts(frame: pl.DataFrame) -> dict[tuple[str, str], int]:
    return {(task, lang): count for task, lang, count in frame.group_by("task", "lang").len().rows()}


def test_every_mixture_of_the_config_has_the_asked_counts(small_config, datasets_dir):
    for mixture in mixture_names(small_config):
        spec = spec_for(small_config, mixture)
        train, validation, manifest = build_mixture(spec, 0, datasets_dir)
        expected = {(task, "en"): spec["english"] for task in spec["tasks"]}
        expected |= {(task, lang): spec["n"] for task in spec["tasks"] for lang in spec["languages"] if spec["n"]}
        assert cell_counts(train) == expected, mixture
        fraction = spec["validation_fraction"]
        assert cell_counts(validation) == {cell: math.ceil(count * fraction) for cell, count in expected.items()}
        assert manifest["rows"] == {"train": len(train), "validation": len(validation)}
        assert set(train["split"]) == {"train"} and set(validation["split"]) == {"validation"}
        assert train["id"].is_sorted()


def test_unseen_languages_never_enter_training(small_config, datasets_dir):
    train, _, _ = build_mixture(spec_for(small_config, "st_math-n40"), 0, datasets_dir)
    assert not set(train["lang"]) & set(small_config["languages"]["unseen"])
    latin, _, _ = build_mixture(spec_for(small_config, "script_latin-n20"), 0, datasets_dir)
    assert set(latin["lang"]) == {"en", "es", "fr"}


def test_n0_is_english_only(small_config, datasets_dir):
    train, validation, _ = build_mixture(spec_for(small_config, "st_math-n0"), 0, datasets_dir)
    assert set(train["lang"]) == {"en"} == set(validation["lang"])


def test_parallel_items_are_translations_of_the_english_ones(small_config, datasets_dir):
    train, _, manifest = build_mixture(spec_for(small_config, "st_math-n40"), 0, datasets_dir)
    english = set(train.filter(lang="en")["source_id"])
    for lang in ("es", "fr", "ja", "zh"):
        ids = set(train.filter(lang=lang)["source_id"])
        assert ids <= english  # 40 <= 60 English items: all translations
        assert manifest["shared_with_english"]["math"][lang] == 40
    assert len({frozenset(train.filter(lang=lang)["source_id"]) for lang in ("es", "fr", "ja", "zh")}) == 1


def test_disjoint_languages_share_no_source_item(small_config, datasets_dir):
    spec = spec_for(small_config, "mt-n10")
    assert spec["mode"] == "disjoint"
    train, _, manifest = build_mixture(spec, 0, datasets_dir)
    per_item = train.group_by("task", "source_id").agg(pl.col("lang").n_unique().alias("langs"))
    assert per_item["langs"].max() == 1
    assert manifest["shared_with_english"] == {}


def test_language_weights_give_one_language_more_items_and_are_checked(small_config, datasets_dir):
    """Imbalanced mixtures (study B's imbalance analysis): weights multiply n for one language only."""
    from xlt.config import ConfigError, validate_config

    spec = {**spec_for(small_config, "st_math-n40"), "weights": {"es": 2.5}}
    train, validation, _ = build_mixture(spec, 0, datasets_dir)
    counts = dict(train.group_by("lang").len().iter_rows())
    assert counts["es"] == 100 and counts["fr"] == counts["ja"] == counts["zh"] == 40
    assert validation.filter(lang="es").height == 10  # ceil(100 x 0.1)
    plain, _, _ = build_mixture(spec_for(small_config, "st_math-n40"), 0, datasets_dir)
    assert set(plain.filter(lang="es")["id"]) < set(train.filter(lang="es")["id"])  # nested, as n is
    config = __import__("copy").deepcopy(small_config)
    config["mixtures"]["families"]["st_math"]["weights"] = {"ar": 2.0}
    with pytest.raises(ConfigError, match=r"mixtures.families.st_math.weights.ar: 'ar' is not one of the family"):
        validate_config(config)
    assert "weights" not in spec_for(small_config, "st_math-n40")  # unweighted specs (and reruns) as before


def test_mixtures_are_nested_across_n_and_share_the_english_part(small_config, datasets_dir):
    small, _, _ = build_mixture(spec_for(small_config, "st_math-n10"), 0, datasets_dir)
    large, _, _ = build_mixture(spec_for(small_config, "st_math-n40"), 0, datasets_dir)
    assert set(small["id"]) <= set(large["id"])
    english_only, _, _ = build_mixture(spec_for(small_config, "st_math-n0"), 0, datasets_dir)
    assert set(english_only["id"]) == set(large.filter(lang="en")["id"])


def test_seeds_give_different_samples(small_config, datasets_dir):
    spec = spec_for(small_config, "st_math-n10")
    first, _, _ = build_mixture(spec, 0, datasets_dir)
    other, _, _ = build_mixture(spec, 1, datasets_dir)
    assert set(first["id"]) != set(other["id"])


def test_two_builds_are_byte_identical(small_config, datasets_dir, tmp_path):
    spec = spec_for(small_config, "mt-n10")
    for run in ("a", "b"):
        write_mixture(spec, 0, tmp_path / run, datasets_dir)
    for name in ("train.parquet", "validation.parquet", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    provenance = json.loads((tmp_path / "a" / "provenance.json").read_text())
    assert provenance["stage"] == "mixtures" and provenance["params"]["spec"] == spec
    assert {record["path"] for record in provenance["inputs"]} == {
        str(datasets_dir / task / f"{split}.parquet") for task in spec["tasks"]
        for split in ("train", "validation", "test")}
    assert len(provenance["code"]["stage_fingerprint"]) == 64
    assert "packages" in provenance["environment"]


@pytest.fixture()
def leaky_datasets(datasets_dir, tmp_path):
    """A copy of the math datasets whose train split also holds a Japanese translation of every test item."""
    root = tmp_path / "leaky"
    shutil.copytree(datasets_dir / "math", root / "math")
    train = read_examples(root / "math" / "train.parquet")
    test = read_examples(root / "math" / "test.parquet")
    leaked = test.filter(lang="ja").with_columns(
        split=pl.lit("train"), origin=pl.lit("mt:test-system"))
    write_parquet(pl.concat([train, leaked]).sort("id"), root / "math" / "train.parquet")
    return root, set(test["source_id"])


def test_translations_of_test_items_are_refused(small_config, leaky_datasets):
    root, test_ids = leaky_datasets
    spec = spec_for(small_config, "st_math-n40")
    train, validation, manifest = build_mixture(spec, 0, root)
    assert not set(train["source_id"]) & test_ids
    assert manifest["excluded_test_source_items"]["math/train"] == len(test_ids)
    assert set(train["origin"]) == {"synthetic"}


def test_the_final_leakage_check_refuses_a_leaked_mixture(small_config, datasets_dir):
    train, validation, _ = build_mixture(spec_for(small_config, "st_math-n10"), 0, datasets_dir)
    test = read_examples(datasets_dir / "math" / "test.parquet")
    leaked = pl.concat([train, test.head(1).with_columns(split=pl.lit("train"))])
    test_ids = test.select("task", "source_id").unique()
    with pytest.raises(LeakageError, match="train would contain 1 rows whose source item is in the math test set"):
        assert_no_leakage(leaked, validation, test_ids)
    overlap = pl.concat([validation, train.head(1).with_columns(split=pl.lit("validation"))])
    with pytest.raises(LeakageError, match="validation shares 1 source items with training"):
        assert_no_leakage(train, overlap, test_ids)
    assert_no_leakage(train, validation, test_ids)  # the real mixture passes


def test_validation_is_disjoint_from_training(small_config, datasets_dir):
    for mixture in ("st_math-n40", "mt-n10"):
        train, validation, _ = build_mixture(spec_for(small_config, mixture), 0, datasets_dir)
        assert not set(zip(train["task"], train["source_id"])) & set(zip(validation["task"], validation["source_id"]))


@pytest.mark.parametrize("edit, message", [
    ({"english": 301}, "task math (train pool), language en: asked for 301 items, the pool has 300"),
    ({"n": 301}, "task math (train pool), language es: asked for 301 items, the pool has 300"),
    ({"n": 500, "validation_fraction": 0.01}, "language es: asked for 500 items, the pool has 300"),
    ({"mode": "disjoint", "english": 200, "n": 30},
     "task math (train pool), language es: asked for 30 items, the pool has 25 not used by English"),
])
def test_too_small_pools_fail_naming_task_language_and_counts(small_config, datasets_dir, edit, message):
    spec = {**spec_for(small_config, "st_math-n10"), **edit}
    with pytest.raises(PoolTooSmallError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_mixture(spec, 0, datasets_dir)


def test_missing_dataset_fails_before_writing_anything(small_config, tmp_path):
    spec = spec_for(small_config, "st_math-n10")
    with pytest.raises(FileNotFoundError, match="missing datasets"):
        write_mixture(spec, 0, tmp_path / "out", tmp_path / "no-datasets")
    assert not (tmp_path / "out").exists()


def test_the_cli_refuses_table_lists_that_do_not_match_the_spec_tasks(small_config, datasets_dir, tmp_path, capsys):
    """The rule passes one train, validation and test table per task of the spec, in its order: a list of
    another length is one clear line, and nothing is written."""
    from xlt.cli import main

    spec = spec_for(small_config, "mt-n10")  # three tasks
    tables = {split: [str(datasets_dir / task / f"{split}.parquet") for task in spec["tasks"]]
              for split in ("train", "validation", "test")}
    out = tmp_path / "out"
    code = main(["mixtures", "build", "--spec", json.dumps(spec), "--seed", "0", "--train", *tables["train"],
                 "--validation", *tables["validation"], "--test", *tables["test"][:2], "--out-dir", str(out)])
    assert code == 1
    assert "mixture mt-n10: 3 tasks but {'test': 2} tables" in capsys.readouterr().err
    assert not out.exists()
    assert main(["mixtures", "build", "--spec", json.dumps(spec), "--seed", "0", "--train", *tables["train"],
                 "--validation", *tables["validation"], "--test", *tables["test"], "--out-dir", str(out)]) == 0
    train, _, _ = build_mixture(spec, 0, datasets_dir)
    assert read_examples(out / "train.parquet").equals(train)  # the files by name are the layout's files
