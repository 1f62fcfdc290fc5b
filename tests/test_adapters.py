"""Hugging Face dataset adapters: fixtures in each real dataset's layout and column names, read through the real
``datasets.load_dataset`` code path from local directories (no hub)."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pytest
import yaml
from conftest import ROOT
from hub_fixtures import MGSM_EXEMPLAR_PREFIXES, MGSM_LANGS, write_hub_fixtures

from xlt.adapters import MGSM_EXEMPLAR_LABELS, _without_label, final_number, read_split
from xlt.config import ConfigError, validate_config
from xlt.data import main as data_main
from xlt.data import write_hub_task
from xlt.io import sha256_file
from xlt.schema import read_examples, validate_examples

STUDY = ["en", "es", "fr", "ja", "zh", "ar", "ko", "pt"]
REVISION = "c4415e8c3591ce61f6da64080b50d44c22c5a440"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    return write_hub_fixtures(tmp_path_factory.mktemp("hub"))


def _mgsm(hub, **extra):
    return {"adapter": "mgsm", "dataset": str(hub / "mgsm"), "revision": "refs/convert/parquet",
            "config_as_data_dir": True, **extra}


def test_mgsm_is_parallel_with_numeric_references(hub, tmp_path):
    read = read_split("math", "test", _mgsm(hub), STUDY, tmp_path / "cache")
    frame = validate_examples(read.frame.with_columns(split=pl.lit("test")), "mgsm")
    # every study language MGSM has (ar, ko, pt absent; de not a study language)
    assert sorted(frame["lang"].unique()) == ["en", "es", "fr", "ja", "zh"]
    by_lang = frame.group_by("lang").agg(pl.col("source_id").sort())
    assert all(ids == sorted(f"mgsm.test.{i}" for i in range(12)) for ids in by_lang["source_id"].to_list())
    row = frame.filter(source_id="mgsm.test.3", lang="es").row(0, named=True)
    assert row["reference"] == "5"
    assert row["messages"] == [{"role": "user", "content": "[es] Question 3: how many?"},
                               {"role": "assistant", "content": "5"}]  # the test split has no solution text
    train = read_split("math", "exemplars", _mgsm(hub), STUDY, tmp_path / "cache").frame
    assert train["source_id"].n_unique() == 8
    assert train.filter(lang="en", source_id="mgsm.train.0")["messages"][0][1]["content"] == (
        "[en] 2 + 0 = 2. The answer is 2.")


def test_an_exemplar_label_is_stripped_however_its_words_are_spaced():
    answers = pl.DataFrame({"answer": ["Пошаговое решение: 5 + 6 = 11.", "Пошаговоерешение：11.", "Решение: 11."]})
    label = MGSM_EXEMPLAR_LABELS["ru"][1]
    assert answers.select(_without_label("answer", label))["answer"].to_list() == ["5 + 6 = 11.", "11.",
                                                                                   "Решение: 11."]


def test_mgsm_exemplar_turns_lose_their_localized_labels_and_test_items_are_unchanged(hub, tmp_path):
    # the exemplars open with "Pregunta: ", "问题：", ... and "Respuesta paso a paso: ", ...; test items do not
    exemplars = read_split("math", "exemplars", _mgsm(hub), MGSM_LANGS, tmp_path / "cache").frame
    assert sorted(exemplars["lang"].unique()) == sorted(MGSM_LANGS)
    for row in exemplars.iter_rows(named=True):
        lang, i = row["lang"], int(row["source_id"].rsplit(".", 1)[1])
        assert row["messages"] == [{"role": "user", "content": f"[{lang}] Question {i}: how many?"},
                                   {"role": "assistant", "content": f"[{lang}] 2 + {i} = {i + 2}. The answer is {i + 2}."}]
    test = read_split("math", "test", _mgsm(hub), MGSM_LANGS, tmp_path / "cache").frame
    for lang in MGSM_LANGS:
        raw = pl.read_parquet(hub / "mgsm" / lang / "test" / "0000.parquet")["question"].to_list()
        assert not any(question.startswith(MGSM_EXEMPLAR_PREFIXES[lang][0]) for question in raw)
        questions = test.filter(lang=lang).sort("source_id")["messages"].list.first().struct.field("content")
        assert sorted(questions.to_list()) == sorted(raw)  # "[en] Question 3: how many?" keeps its text


def test_hub_task_writes_splits_with_seeded_parallel_samples(hub, tmp_path):
    spec = {"kind": "math", "seed": 3, "splits": {
        "train": {"adapter": "mcot_math", "dataset": str(hub / "mcot"), "revision": REVISION,
                  "data_files": "mcot_math.json", "items_per_language": 10},
        "validation": {"from_train": 4},
        "test": _mgsm(hub, items_per_language=5),
        "exemplars": _mgsm(hub, split="train"),
    }}
    summary = write_hub_task("math", spec, STUDY, tmp_path / "out", tmp_path / "cache")
    out = tmp_path / "out"
    train, validation, test = (read_examples(out / f"{split}.parquet") for split in ("train", "validation", "test"))
    exemplars = read_examples(out / "exemplars.parquet")
    assert summary["train"]["per_language"] == {lang: 10 for lang in ("en", "es", "fr", "ja", "zh")}
    assert summary["validation"]["per_language"] == {lang: 4 for lang in ("en", "es", "fr", "ja", "zh")}
    assert summary["train"]["dropped"] == {"no_numeric_answer": 1}  # "\frac{1}{2}" is not a number
    assert set(train["split"]) == {"train"} and set(validation["split"]) == {"validation"}
    # held out of train: no validation item is in train, in any language
    assert not set(train["source_id"]) & set(validation["source_id"])
    assert set(train["reference"]) <= {str(i * 10) for i in range(30)}
    assert train["id"].to_list() == sorted(train["id"])
    # test: the same 5 MGSM items in every language
    assert test.group_by("lang").len()["len"].to_list() == [5] * 5
    assert test.group_by("lang").agg(pl.col("source_id").sort())["source_id"].map_elements(tuple).n_unique() == 1
    assert set(exemplars["split"]) == {"train"} and exemplars.height == 8 * 5
    # seeded: a rerun writes identical bytes; another seed draws other items
    write_hub_task("math", spec, STUDY, tmp_path / "again", tmp_path / "cache")
    for name in ("train", "validation", "test", "exemplars"):
        assert sha256_file(out / f"{name}.parquet") == sha256_file(tmp_path / "again" / f"{name}.parquet")
    write_hub_task("math", {**spec, "seed": 4}, STUDY, tmp_path / "other", tmp_path / "cache")
    assert set(pl.read_parquet(tmp_path / "other" / "test.parquet")["source_id"]) != set(test["source_id"])
    # provenance: the revision asked, the files read with their hashes, rows and drops
    record = json.loads((out / "provenance.json").read_text())
    params = record["params"]["splits"]
    assert params["train"]["revision"] == REVISION and params["train"]["dataset"] == str(hub / "mcot")
    (source,) = params["train"]["sources"]
    assert source["files"] == [{"path": str(hub / "mcot" / "mcot_math.json"),
                                "sha256": sha256_file(hub / "mcot" / "mcot_math.json")}]
    assert source["resolved_revision"] is None  # a local directory has no commit
    assert {s["language"]: s["config"] for s in params["test"]["sources"]}["ja"] == "ja"
    assert params["test"]["sources"][0]["files"][0]["path"].endswith("/test/0000.parquet")
    assert params["test"]["revision"] == "refs/convert/parquet" and params["test"]["split"] == "test"
    assert params["validation"]["from_train"] == 4 and params["validation"]["rows"]["en"] == 4
    assert params["train"]["dropped"] == {"no_numeric_answer": 1}
    assert str(hub / "mcot" / "mcot_math.json") in [item["path"] for item in record["inputs"]]
    assert {item["path"] for item in record["outputs"]} == {str(out / f"{n}.parquet")
                                                           for n in ("train", "validation", "test", "exemplars")}


def test_xlsum_per_language_items_prompt_and_column_rename(hub, tmp_path):
    spec = {"adapter": "xlsum", "dataset": str(hub / "xlsum"), "revision": "refs/convert/parquet",
            "config_as_data_dir": True, "languages": ["en", "ja"], "prompt": "{title}\n\n{text}"}
    frame = read_split("summarization", "validation", spec, STUDY, tmp_path / "cache").frame
    assert frame.height == 6 and sorted(frame["lang"].unique()) == ["en", "ja"]
    assert frame["source_id"].n_unique() == 6  # not translations of each other
    row = frame.filter(source_id="xlsum.ja.validation-ja-1").row(0, named=True)
    assert row["messages"] == [{"role": "user", "content": "ja title 1\n\nja article text 1"},
                               {"role": "assistant", "content": "ja summary 1"}]
    assert row["reference"] == "ja summary 1" and row["id"] == "summarization:xlsum.ja.validation-ja-1:ja"
    # English train is two shards beside the viewer's index.duckdb: every shard read, the index ignored
    read = read_split("summarization", "train", {**spec, "languages": ["en"]}, STUDY, tmp_path / "cache")
    assert sorted(read.frame["source_id"]) == [f"xlsum.en.train-en-{i}" for i in range(6)]
    (source,) = read.sources
    assert (source["config"], source["config_as_data_dir"], source["revision"]) == (
        "english", True, "refs/convert/parquet")
    assert [file["path"] for file in source["files"]] == [
        str(hub / "xlsum" / "english" / "train" / f"{n:04d}.parquet") for n in (0, 1)]
    # `columns` maps an adapter field to the dataset's column name
    renamed = read_split("summarization", "test", {**spec, "prompt": None, "columns": {"summary": "title"}},
                         STUDY, tmp_path / "cache").frame
    assert renamed.filter(lang="en")["reference"].sort().to_list()[0] == "en title 0"
    assert renamed["messages"][0][0]["content"].startswith("Summarize the following article")


def test_aya_dolly_filters_languages_and_shares_dolly_ids(hub, tmp_path):
    spec = {"adapter": "aya_dolly", "dataset": str(hub / "aya"), "items_per_language": 3}
    summary = write_hub_task("instruction_following", {"kind": "instruction_following", "seed": 0, "splits": {
        "train": {"adapter": "chat", "dataset": str(hub / "messages")},
        "validation": {"from_train": 1},
        "test": spec}}, STUDY, tmp_path / "out", tmp_path / "cache")
    test = read_examples(tmp_path / "out" / "test.parquet")
    # arb -> ar, zho -> zh; deu is not a study language; ko and pt are absent from the fixture
    assert summary["test"]["per_language"] == {lang: 3 for lang in ("ar", "en", "es", "fr", "ja", "zh")}
    # the translations of one Dolly item share its source_id (the dataset's `source_id`, not its `id`)
    per_lang = test.group_by("lang").agg(pl.col("source_id").sort())["source_id"].map_elements(tuple)
    assert per_lang.n_unique() == 1 and set(per_lang[0]) <= {f"dolly.{i}" for i in (11, 22, 33, 44, 55)}
    # one script per language: Simplified Chinese and Arabic script by default, the others' rows dropped
    assert summary["test"]["dropped"] == {"other_script": 10}
    assert all(ref.endswith("[Hans]") for ref in test.filter(lang="zh")["reference"])
    assert all(ref.endswith("[Arab]") for ref in test.filter(lang="ar")["reference"])
    row = test.filter(lang="ar").row(0, named=True)
    assert row["reference"] == row["messages"][1]["content"] and row["reference"].startswith("arb answer")
    human = read_split("instruction_following", "test", {**spec, "config": "dolly_human_edited"}, STUDY,
                       tmp_path / "cache").frame
    assert human["id"].to_list() == ["instruction_following:dolly.11:es"]
    record = json.loads((tmp_path / "out" / "provenance.json").read_text())["params"]["splits"]["test"]
    assert record["sources"][0]["config"] == "dolly_machine_translated"


def test_aya_dolly_reads_the_script_a_split_names_and_refuses_one_the_data_lacks(hub, tmp_path):
    spec = {"adapter": "aya_dolly", "dataset": str(hub / "aya"), "languages": ["en", "zh", "ar"]}
    read = read_split("instruction_following", "test", {**spec, "scripts": {"zh": "Hant"}}, STUDY, tmp_path)
    assert read.frame.group_by("lang").len().sort("lang").rows() == [("ar", 5), ("en", 5), ("zh", 5)]
    assert all(ref.endswith("[Hant]") for ref in read.frame.filter(lang="zh")["reference"])
    assert all(ref.endswith("[Arab]") for ref in read.frame.filter(lang="ar")["reference"])  # the default stays
    with pytest.raises(ValueError, match=r"^tasks\.instruction_following\.data\.splits\.test\.scripts\.zh: "
                                         r"'Latn' is not a script of the split's 'zh' rows "
                                         r"\(they have \['Hans', 'Hant'\]\)"):
        read_split("instruction_following", "test", {**spec, "scripts": {"zh": "Latn"}}, STUDY, tmp_path)
    with pytest.raises(ValueError, match=r"^tasks\.math\.data\.splits\.test\.scripts: the 'mgsm' adapter"):
        read_split("math", "test", _mgsm(hub, scripts={"zh": "Hans"}), STUDY, tmp_path)


def test_aya_dolly_asks_for_a_script_where_a_language_has_several_and_no_default(hub, tmp_path):
    frame = pl.read_parquet(hub / "aya" / "dolly_machine_translated" / "test-00000-of-00001.parquet")
    german_in_two_scripts = pl.concat([frame, frame.filter(language="deu").with_columns(script=pl.lit("Latf"))])
    fixed = tmp_path / "aya"
    (fixed / "dolly_machine_translated").mkdir(parents=True)
    (fixed / "README.md").write_text((hub / "aya" / "README.md").read_text())
    german_in_two_scripts.write_parquet(fixed / "dolly_machine_translated" / "test-00000-of-00001.parquet")
    spec = {"adapter": "aya_dolly", "dataset": str(fixed), "languages": ["en", "de"]}
    with pytest.raises(ValueError, match=r"^tasks\.instruction_following\.data\.splits\.test\.scripts: the "
                                         r"split's 'de' rows come in scripts \['Latf', 'Latn'\]; choose one"):
        read_split("instruction_following", "test", spec, [*STUDY, "de"], tmp_path / "cache")
    chosen = read_split("instruction_following", "test", {**spec, "scripts": {"de": "Latn"}}, [*STUDY, "de"],
                        tmp_path / "cache")
    assert chosen.frame.filter(lang="de").height == 5 and chosen.dropped == {"other_script": 5}


def test_a_split_may_name_scripts_in_the_study_config():
    raw = yaml.safe_load((ROOT / "studies" / "paper.yaml").read_text())
    test = raw["tasks"]["instruction_following"]["data"]["splits"]["test"]
    test["scripts"] = {"zh": "Hant"}
    assert validate_config(raw)["tasks"]["instruction_following"]["data"]["splits"]["test"]["scripts"] == {
        "zh": "Hant"}
    test["scripts"] = {"zh": "traditional"}
    with pytest.raises(ConfigError, match="scripts"):
        validate_config(raw)


def test_chat_keeps_turns_up_to_the_last_answer_and_counts_drops(hub, tmp_path):
    read = read_split("instruction_following", "train",
                      {"adapter": "chat", "dataset": str(hub / "sharegpt"), "language": "en"}, STUDY, tmp_path)
    assert read.dropped == {"no_assistant_turn": 1, "unknown_role": 1, "duplicate_id": 1}
    rows = {row["source_id"]: row for row in read.frame.iter_rows(named=True)}
    assert sorted(rows) == ["chat.a1", "chat.a2"]
    assert rows["chat.a1"]["messages"] == [{"role": "user", "content": "Hi"},
                                           {"role": "assistant", "content": "Hello!"}]
    assert [m["role"] for m in rows["chat.a2"]["messages"]] == ["system", "user", "assistant"]
    assert rows["chat.a2"]["reference"] == "4" and rows["chat.a2"]["lang"] == "en"
    plain = read_split("instruction_following", "train", {"adapter": "chat", "dataset": str(hub / "messages")},
                       STUDY, tmp_path).frame
    assert sorted(plain["source_id"]) == [f"chat.{i}" for i in range(4)] and set(plain["lang"]) == {"en"}


def test_ultrachat_items_are_named_by_their_prompt_id(hub, tmp_path):
    # UltraChat has no `id` column: prompt_id names an item, in every shard of the split
    spec = {"adapter": "chat", "dataset": str(hub / "ultrachat"), "revision": "main", "split": "train_sft",
            "language": "en"}
    read = read_split("instruction_following", "train", spec, STUDY, tmp_path / "cache")
    prompts = [f"UltraChat question {i}?" for i in range(5)]
    assert sorted(read.frame["source_id"]) == sorted(f"chat.{hashlib.sha256(p.encode()).hexdigest()}" for p in prompts)
    assert len(read.sources[0]["files"]) == 2 and read.dropped == {}
    row = read.frame.filter(source_id=f"chat.{hashlib.sha256(prompts[3].encode()).hexdigest()}").row(0, named=True)
    assert row["messages"] == [{"role": "user", "content": prompts[3]}, {"role": "assistant", "content": "Answer 3."}]


def test_errors_name_the_dataset_split_and_problem(hub, tmp_path):
    with pytest.raises(ValueError) as missing:
        read_split("math", "test", _mgsm(hub, columns={"question": "query"}), STUDY, tmp_path)
    message = str(missing.value)
    assert all(part in message for part in (str(hub / "mgsm"), "'test'", "'query'", "'answer_number'", "'question'"))
    with pytest.raises(ValueError, match="could not load dataset .*no-such-dataset.*split 'train'.*revision 'v1'"):
        read_split("math", "train", {"adapter": "mcot_math", "dataset": str(tmp_path / "no-such-dataset"),
                                     "revision": "v1"}, STUDY, tmp_path)
    with pytest.raises(ValueError, match=r"no config for language\(s\) \['ko'\]"):
        read_split("math", "test", _mgsm(hub, languages=["en", "ko"]), STUDY, tmp_path)
    with pytest.raises(ValueError, match=r"aya.*no rows in language\(s\) \['ko'\]; it has \['ar', 'de', 'en'"):
        read_split("instruction_following", "test", {"adapter": "aya_dolly", "dataset": str(hub / "aya"),
                                                     "languages": ["en", "ko"]}, STUDY, tmp_path)
    with pytest.raises(ValueError, match=r"split 'test'.*fewer than 50 items in language\(s\) \{'en': 12"):
        write_hub_task("math", {"kind": "math", "seed": 0, "splits": {
            "train": _mgsm(hub, split="train"), "validation": {"from_train": 2},
            "test": _mgsm(hub, items_per_language=50)}}, STUDY, tmp_path / "out", tmp_path)
    with pytest.raises(ValueError, match="splits 'train' and 'test' share 12 source items"):
        write_hub_task("math", {"kind": "math", "seed": 0, "splits": {
            "train": _mgsm(hub, split="test"), "validation": _mgsm(hub, split="train"),
            "test": _mgsm(hub, languages=["en"])}}, STUDY, tmp_path / "out", tmp_path)
    assert not (tmp_path / "out").exists()  # nothing written
    with pytest.raises(ValueError, match="could not load .*split 'validation'"):
        read_split("math", "validation", _mgsm(hub), STUDY, tmp_path)


def test_cli_prints_a_summary(hub, tmp_path, capsys):
    spec = {"kind": "math", "seed": 0, "splits": {
        "train": _mgsm(hub, split="train"), "validation": {"from_train": 2}, "test": _mgsm(hub, items_per_language=3)}}
    assert data_main(["hub", "--task", "math", "--spec", json.dumps(spec), "--languages", "en,es,ar",
                      "--out-dir", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "hub math: {'train': 12, 'validation': 4, 'test': 6, 'exemplars': 0} rows" in capsys.readouterr().out
    assert read_examples(tmp_path / "out" / "exemplars.parquet").is_empty()  # a rule output even when not configured


@pytest.mark.parametrize("answer, reference", [
    ("so 3 + 4 = 7. The answer is: 7", "7"),
    ("La respuesta es: 1,234", "1234"),
    ("The answer is: 2.50", "2.5"),
    ("The answer is: 12.0", "12"),
    ("The answer is: \\frac{1}{2}", None),
    ("The answer is: (2, 3)", None),
    ("The answer is: $\\boxed{18}$", "18"),
    ("答案是：18", "18"),
    ("答案是：\\frac{1}{2}", None),
    ("He has 5 left, so 5", "5"),
    ("no number here", None),
])
def test_final_number(answer, reference):
    assert final_number(answer) == reference


def test_hub_files_are_hashed_from_the_hub_cache_with_their_commit(monkeypatch, tmp_path):
    """What ``datasets`` resolves for a hub split (hf:// paths at the commit) is recorded offline from the hub
    cache; the load itself is the tested local path, only the builder's file list is faked here."""
    import datasets
    import huggingface_hub

    from xlt import adapters

    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "hub" / "datasets--juletxara--mgsm" / "snapshots" / commit / "en" / "test"
    snapshot.mkdir(parents=True)
    (snapshot / "0000.parquet").write_bytes(b"parquet bytes")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    base = f"hf://datasets/juletxara/mgsm@{commit}/en"

    class Builder:
        class config:
            data_files = {datasets.NamedSplit("test"): [f"{base}/test/0000.parquet"],
                          datasets.NamedSplit("train"): [f"{base}/train/0000.parquet"]}

    monkeypatch.setattr(datasets, "load_dataset_builder", lambda **kwargs: Builder)
    files, resolved = adapters._files_read({"path": "juletxara/mgsm"}, "test")
    assert resolved == commit
    assert files == [{"path": f"{base}/test/0000.parquet",
                      "sha256": sha256_file(snapshot / "0000.parquet"), "cached": str(snapshot / "0000.parquet")}]


# ---- data that would break a later stage is refused where it enters -----------------------------------------


def _invalid_utf8_xlsum(root, bad_row: int):
    """XLSum's layout with one article whose text holds bytes that are not UTF-8 (arrow reads them unchecked)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for config in ("english", "spanish"):
        for split in ("train", "validation", "test"):
            texts = [f"{config} article {i}".encode() for i in range(4)]
            if (config, split) == ("spanish", "test"):
                texts[bad_row] = b"art\xedculo"  # Latin-1, not UTF-8
            offsets = pa.array([0, *__import__("itertools").accumulate(map(len, texts))], pa.int32())
            text = pa.Array.from_buffers(pa.string(), 4, [None, offsets.buffers()[1], pa.py_buffer(b"".join(texts))])
            table = pa.table({"id": [f"{split}-{i}" for i in range(4)], "url": ["u"] * 4, "title": ["t"] * 4,
                              "summary": [f"summary {i}" for i in range(4)], "text": text})
            path = root / config / split / "0000.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
    return root


def test_text_that_is_not_utf8_fails_the_data_job_naming_the_file_and_row(tmp_path, capsys):
    source = _invalid_utf8_xlsum(tmp_path / "xlsum", bad_row=2)
    split = {"adapter": "xlsum", "dataset": str(source), "revision": "r", "config_as_data_dir": True}
    spec = {"kind": "summarization", "seed": 0, "splits": {"train": split, "validation": split, "test": split}}
    from xlt.cli import main

    code = main(["data", "hub", "--task", "summarization", "--spec", json.dumps(spec), "--languages", "en,es",
                 "--out-dir", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err.strip().splitlines()[-1]  # datasets' progress lines come before it
    assert code == 1 and err.startswith("xlt data: error: "), err
    assert f"{tmp_path / 'out' / 'test.parquet'} (task 'summarization', split 'test' from dataset '{source}')" in err
    # rows are sorted by id: en 0-3, then es 0-3; the bad one is es article 2
    assert "not valid UTF-8 in column 'messages', row 6 (id 'summarization:xlsum.es.test-2:es')" in err
    assert not (tmp_path / "out" / "test.parquet").exists()  # nothing a later run could take as done


def test_aya_data_with_two_letter_codes_is_an_error_not_an_empty_split(hub, tmp_path):
    frame = pl.read_parquet(hub / "aya" / "dolly_machine_translated" / "test-00000-of-00001.parquet")
    fixed = tmp_path / "aya"
    (fixed / "dolly_machine_translated").mkdir(parents=True)
    (fixed / "README.md").write_text((hub / "aya" / "README.md").read_text())
    two_letter = {"eng": "en", "spa": "es", "fra": "fr", "jpn": "ja", "arb": "ar", "zho": "zh", "deu": "de"}
    frame.with_columns(pl.col("language").replace_strict(two_letter)).write_parquet(
        fixed / "dolly_machine_translated" / "test-00000-of-00001.parquet")  # "eng" -> "en"
    spec = {"adapter": "aya_dolly", "dataset": str(fixed), "revision": "r"}
    with pytest.raises(ValueError, match=r"no rows in the study languages \['en', .*\]; the language column "
                                         r"'language' holds \['ar', 'de', 'en', 'es', 'fr', 'ja', 'zh'\], of which "
                                         r"\['ar', 'de', 'en', 'es', 'fr', 'ja', 'zh'\] are codes the 'aya_dolly' "
                                         r"adapter does not know"):
        read_split("instruction_following", "test", spec, STUDY, tmp_path / "cache")


def test_a_split_left_without_rows_in_a_named_language_names_the_key(hub, tmp_path):
    mgsm = tmp_path / "mgsm"
    for lang in ("en", "es"):
        for split in ("train", "test"):
            frame = pl.read_parquet(hub / "mgsm" / lang / split / "0000.parquet")
            if (lang, split) == ("es", "test"):  # every Spanish test row lacks its answer: the adapter drops them
                frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("answer_number"))
            (mgsm / lang / split).mkdir(parents=True)
            frame.write_parquet(mgsm / lang / split / "0000.parquet")
    test = {"adapter": "mgsm", "dataset": str(mgsm), "revision": "r", "config_as_data_dir": True,
            "languages": ["en", "es"]}
    spec = {"kind": "math", "seed": 0, "splits": {"train": {**test, "split": "train"}, "validation": {"from_train": 2},
                                       "test": test}}
    with pytest.raises(ValueError, match=r"tasks.math.data.splits.test.languages\[1\]: the split has no rows in 'es' "
                                         r"\(it has \{'en': 12\}\); the adapter dropped \{'null_field': 12\}"):
        write_hub_task("math", spec, ["en", "es"], tmp_path / "out", tmp_path / "cache")
    assert not (tmp_path / "out" / "train.parquet").exists()


def test_an_unreadable_input_table_is_one_line_naming_the_file(tmp_path, capsys):
    from xlt.cli import main

    broken = tmp_path / "test.parquet"
    broken.write_bytes(b"PAR1 this is not a parquet file")
    assert main(["data", "assemble", "--source", str(broken), "--out", str(tmp_path / "out.parquet")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"xlt data: error: {broken}: not a readable parquet table")
