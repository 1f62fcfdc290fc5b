"""The translate stage: quality filters, references, the seeded item cap, the translation cache, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
import pytest
from conftest import ROOT

from xlt.schema import EXAMPLE_SCHEMA, example_id, read_examples, validate_examples
from xlt.translate import DROP_REASONS, TranslationCache, chosen_source_ids, format_prompt, main, translate_items

STUDY = ["en", "es", "fr", "ja", "zh", "ar", "ko", "pt"]
SETTINGS = {  # a validated translation config (defaults filled in)
    "model": {"source": "local", "path": "models/fake-mt", "revision": None},
    "name": "fake-mt", "backend": "hf",
    "prompt": "Translate the following text from {source_language} into {target_language}.\n\n{text}",
    "max_new_tokens": 64, "temperature": 0.0, "top_p": 1.0, "batch_size": 8, "seed": 0,
    "filters": {"language_id": True, "min_length_ratio": 0.2, "max_length_ratio": 5.0},
}
SPANISH = {
    "Ana has 3 apples and buys 5 more apples at the market. How many apples does she have now?":
        "Ana tiene 3 manzanas y compra 5 manzanas más en el mercado. ¿Cuántas manzanas tiene ahora?",
    "You are a patient teacher who explains every step of the solution.":
        "Eres un profesor paciente que explica cada paso de la solución.",
    "Pedro reads 6 pages every day of the week. How many pages does he read in three days?":
        "Pedro lee 6 páginas cada día de la semana. ¿Cuántas páginas lee en tres días?",
    "A farmer has 12 cows and sells 4 of them to his neighbour. How many cows are left?":
        "Un granjero tiene 12 vacas y vende 4 a su vecino. ¿Cuántas vacas le quedan?",
    "The train leaves at 9 in the morning and the trip takes 4 hours. When does it arrive?":
        "El tren sale a las 9 de la mañana y el viaje dura 4 horas. ¿Cuándo llega?",
    "Maria bakes 24 cookies and gives half of them to her friends. How many are left?":
        "María hornea 24 galletas y regala la mitad a sus amigas. ¿Cuántas le quedan?",
    "Lucia has 15 stamps and her brother gives her 6 more stamps. How many stamps does she have?":
        "Lucía tiene 15 sellos y su hermano le da 6 sellos más. ¿Cuántos sellos tiene?",
    "Tom buys 3 boxes with 7 pencils in each box for his class. How many pencils does he have?":
        "Tom compra 3 cajas con 7 lápices en cada caja para su clase. ¿Cuántos lápices tiene?",
    "The answer is 21.": "La respuesta es 21.",
}
BAD = {  # source text -> what the fake MT model makes of it
    "Pedro reads 6 pages every day of the week. How many pages does he read in three days?": "   ",
    "A farmer has 12 cows and sells 4 of them to his neighbour. How many cows are left?":
        "A farmer has 12 cows and sells 4 of them to his neighbour.  how many cows are LEFT?",
    "The train leaves at 9 in the morning and the trip takes 4 hours. When does it arrive?":
        "The train departs at nine in the morning and the journey lasts four hours. When will it get there?",
    "Maria bakes 24 cookies and gives half of them to her friends. How many are left?":
        "María hornea 24 galletas y regala la mitad a sus amigas. " * 12,
    # two failing texts in one item: the earlier filter (empty) names the drop, not the length ratio
    "Tom buys 3 boxes with 7 pencils in each box for his class. How many pencils does he have?":
        "Tom compra 3 cajas con 7 lápices en cada caja para su clase. " * 12,
    "The answer is 21.": "",
}
ARTICLE = ("The city council approved a new plan on Monday to build three parks and plant a thousand trees "
           "along the river before the end of next year.")
SUMMARY = "The council approved a plan for three new parks and a thousand trees by the river."
SPANISH[f"Summarize the article.\n\n{ARTICLE}"] = (
    "Resume el artículo.\n\nEl ayuntamiento aprobó el lunes un nuevo plan para construir tres parques y plantar "
    "mil árboles a lo largo del río antes del final del próximo año.")
SPANISH[SUMMARY] = "El ayuntamiento aprobó un plan para tres parques nuevos y mil árboles junto al río."


class FakeTranslator:
    """Known Spanish translations, chosen bad outputs, and a record of every text it was sent."""

    def __init__(self, bad: dict[str, str] | None = None):
        self.bad = BAD if bad is None else bad
        self.sent: list[str] = []

    def translate(self, texts, source_lang, target_lang):
        assert source_lang == "en"
        self.sent += texts
        if target_lang != "es":
            return [f"<{target_lang}> {text}" for text in texts]
        return [self.bad.get(text, SPANISH[text]) for text in texts]


def example(task, source_id, messages, reference, lang="en", split="test"):
    return {"id": example_id(task, source_id, lang), "source_id": source_id, "task": task, "lang": lang,
            "split": split, "messages": [{"role": role, "content": content} for role, content in messages],
            "reference": reference, "origin": "native"}


def math_items() -> pl.DataFrame:
    questions = [q for q in SPANISH if q.endswith("?")]  # q0 good, q1-q4 each fail one filter, q5 good, q6 two
    rows = [example("math", f"q{i}", [("user", question), ("assistant", "18")], "18")
            for i, question in enumerate(questions)]
    rows[0]["messages"].insert(0, {"role": "system", "content": next(t for t in SPANISH if t.startswith("You are"))})
    rows[-1]["messages"][-1]["content"] = "The answer is 21."  # q6: its question and its answer both fail
    rows.append(example("math", "q0", [("user", "Ana tiene 3 manzanas."), ("assistant", "3")], "3", lang="es"))
    return validate_examples(pl.DataFrame(rows, schema=EXAMPLE_SCHEMA), "math items")


def run(items, translator, cache, target="es", settings=SETTINGS, **options):
    return translate_items(items, translator, "en", target, settings["name"], settings, cache,
                           candidates=STUDY, **options)


def test_every_filter_drops_and_counts_its_items(tmp_path):
    table, manifest = run(math_items(), FakeTranslator(), TranslationCache())
    assert table["source_id"].to_list() == ["q0", "q5"]
    assert manifest["items_dropped"] == {"empty": 2, "copy": 1, "language_id": 1, "length_ratio": 1}
    assert list(manifest["items_dropped"]) == list(DROP_REASONS)
    assert manifest["source_items"] == 7
    assert manifest["items_kept"] + sum(manifest["items_dropped"].values()) == manifest["source_items"]
    reasons = {d["source_id"]: d["reason"] for d in manifest["dropped_examples"]}
    assert reasons == {"q1": "empty", "q2": "copy", "q3": "language_id", "q4": "length_ratio", "q6": "empty"}
    assert manifest["dropped_examples"][0]["source"].startswith("Pedro reads")


def test_language_id_is_a_filter_one_can_turn_off():
    settings = {**SETTINGS, "filters": {**SETTINGS["filters"], "language_id": False}}
    table, manifest = run(math_items(), FakeTranslator(), TranslationCache(), settings=settings)
    assert manifest["items_dropped"]["language_id"] == 0
    assert "q3" in table["source_id"].to_list()


def test_translations_keep_the_item_and_become_mt_examples():
    translator = FakeTranslator()
    table, _ = run(math_items(), translator, TranslationCache())
    validate_examples(table, "translations")
    assert table["id"].to_list() == sorted(table["id"]) == ["math:q0:es", "math:q5:es"]
    assert set(table["origin"]) == {"mt:fake-mt"} and set(table["lang"]) == {"es"} and set(table["split"]) == {"test"}
    q0 = table.filter(source_id="q0").row(0, named=True)
    assert [m["role"] for m in q0["messages"]] == ["system", "user", "assistant"]
    assert q0["messages"][1]["content"].startswith("Ana tiene 3 manzanas")
    assert q0["messages"][2]["content"] == q0["reference"] == "18"  # a number is kept, not sent
    assert "18" not in translator.sent
    assert "Ana tiene 3 manzanas." not in translator.sent  # the existing Spanish row is not a source


def test_a_reference_equal_to_the_answer_is_translated_other_references_are_kept():
    rows = [example("summarization", "s1", [("user", f"Summarize the article.\n\n{ARTICLE}"), ("assistant", SUMMARY)],
                    SUMMARY),
            example("summarization", "s2", [("user", f"Summarize the article.\n\n{ARTICLE}"), ("assistant", SUMMARY)],
                    '{"max_words": 20}')]
    translator = FakeTranslator()
    table, manifest = run(pl.DataFrame(rows, schema=EXAMPLE_SCHEMA), translator, TranslationCache())
    assert manifest["items_kept"] == 2
    assert table["reference"].to_list() == [SPANISH[SUMMARY], '{"max_words": 20}']
    assert sorted(translator.sent) == sorted([f"Summarize the article.\n\n{ARTICLE}", SUMMARY])  # each text once


def test_the_item_cap_is_a_seeded_nested_choice():
    ids = pl.Series([f"item{i:02d}" for i in range(40)])
    five = chosen_source_ids(ids, 5, "math")
    assert five.to_list() == sorted(five) and len(five) == 5
    assert five.equals(chosen_source_ids(ids.reverse(), 5, "math"))  # not the table's order
    assert set(five) <= set(chosen_source_ids(ids, 6, "math"))  # one more item adds, never swaps
    assert not five.equals(chosen_source_ids(ids, 5, "summarization"))
    assert not five.equals(chosen_source_ids(ids, 5, "math", seed=1))
    table, manifest = run(math_items(), FakeTranslator(bad={}), TranslationCache(), max_items=3)
    assert manifest["source_items"] == 3
    assert table["source_id"].to_list() == chosen_source_ids(math_items()["source_id"], 3, "math").to_list()


def test_the_cache_sends_only_texts_it_has_not_seen(tmp_path):
    path = tmp_path / "cache" / "es.parquet"
    first = FakeTranslator()
    table, manifest = run(math_items(), first, TranslationCache(path), max_items=4)
    assert manifest["texts_sent"] == len(first.sent) > 0 and manifest["texts_cached"] == 0
    again = FakeTranslator()
    same, manifest = run(math_items(), again, TranslationCache(path), max_items=4)
    assert again.sent == [] and manifest["texts_cached"] == len(first.sent)
    assert same.equals(table)
    more = FakeTranslator()
    _, manifest = run(math_items(), more, TranslationCache(path), max_items=5)
    added = set(chosen_source_ids(math_items()["source_id"], 5, "math")) - set(
        chosen_source_ids(math_items()["source_id"], 4, "math"))
    new_item = math_items().filter(pl.col("source_id").is_in(list(added)) & (pl.col("lang") == "en"))
    assert sorted(more.sent) == sorted(m["content"] for m in new_item["messages"][0] if m["content"] != "18")
    # a cached raw translation is filtered again: another filter needs no model call
    loose = {**SETTINGS["filters"], "max_length_ratio": 50.0}
    relaxed = FakeTranslator()
    _, manifest = run(math_items(), relaxed, TranslationCache(path), settings={**SETTINGS, "filters": loose},
                      max_items=5)
    assert relaxed.sent == []
    reprompted = FakeTranslator()
    _, manifest = run(math_items(), reprompted, TranslationCache(path), max_items=5,
                      settings={**SETTINGS, "prompt": "Into {target_language}, please:\n{text}"})
    assert manifest["texts_cached"] == 0 and len(reprompted.sent) == manifest["texts"]


class DyingTranslator(FakeTranslator):
    """Translates its first call, then dies (a job killed or out of time)."""

    def translate(self, texts, source_lang, target_lang):
        if self.sent:
            raise RuntimeError("killed")
        return super().translate(texts, source_lang, target_lang)


def test_a_killed_job_keeps_the_chunks_it_translated(tmp_path):
    path = tmp_path / "es.parquet"
    with pytest.raises(RuntimeError, match="killed"):
        run(math_items(), DyingTranslator(), TranslationCache(path), chunk_texts=3)
    kept = pl.read_parquet(path)
    assert kept.height == 3  # the first chunk, written before the second was sent
    rerun = FakeTranslator()
    _, manifest = run(math_items(), rerun, TranslationCache(path), chunk_texts=3)
    assert manifest["texts_cached"] == 3 and len(rerun.sent) == manifest["texts"] - 3
    assert not set(rerun.sent) & set(kept["text"])


def test_a_new_target_language_touches_only_its_own_cache(tmp_path):
    spanish = tmp_path / "es.parquet"
    run(math_items(), FakeTranslator(), TranslationCache(spanish))
    before = spanish.read_bytes()
    french = FakeTranslator()
    _, manifest = run(math_items(), french, TranslationCache(tmp_path / "fr.parquet"), target="fr")
    assert len(french.sent) == manifest["texts"] > 0
    assert spanish.read_bytes() == before
    assert len(pl.read_parquet(tmp_path / "fr.parquet")) == manifest["texts"]


def test_the_prompt_names_languages_in_english_and_a_wrong_placeholder_is_a_clear_error():
    assert format_prompt(SETTINGS["prompt"], "en", "ko", "Hi {there}") == (
        "Translate the following text from English into Korean.\n\nHi {there}")
    with pytest.raises(ValueError, match=r"translation.prompt: .*target_lang"):
        format_prompt("Into {target_lang}: {text}", "en", "ko", "Hi")


def test_no_source_items_is_a_clear_error():
    with pytest.raises(ValueError, match="no 'de' items"):
        translate_items(math_items(), FakeTranslator(), "de", "es", "fake-mt", SETTINGS, TranslationCache())


# ---- the real stage: a tiny local model through the generation backends ----------------------------------


def cli_args(tiny_base_model, datasets_dir, out_dir, backend, items=4):
    translation = {**SETTINGS, "model": {"source": "local", "path": str(tiny_base_model)}, "name": "tiny",
                   "backend": backend, "max_new_tokens": 12}
    spec = {"task": "math", "split": "test", "from": "en", "to": "ar", "items": items, "seed": 0, "system": "tiny",
            "languages": STUDY, "translation": translation}
    return ["run", "--source", str(datasets_dir / "math" / "test.parquet"), "--spec", json.dumps(spec),
            "--model-dir", str(tiny_base_model), "--out", str(out_dir / "ar.parquet"),
            "--manifest", str(out_dir / "ar.manifest.json"), "--cache", str(out_dir / "cache" / "ar.parquet")]


def test_the_cli_translates_with_a_local_model(tiny_base_model, datasets_dir, tmp_path, capsys):
    args = cli_args(tiny_base_model, datasets_dir, tmp_path, "hf")
    assert main(args) == 0
    table = read_examples(tmp_path / "ar.parquet")
    manifest = json.loads((tmp_path / "ar.manifest.json").read_text())
    assert manifest["source_items"] == 4 and manifest["texts_sent"] > 0
    assert manifest["items_kept"] + sum(manifest["items_dropped"].values()) == 4
    assert len(table) == manifest["items_kept"] and set(table["origin"]) <= {"mt:tiny"}
    provenance = json.loads((tmp_path / "ar.provenance.json").read_text())
    assert provenance["stage"] == "translate" and len(provenance["outputs"]) == 2
    assert any(entry["path"].endswith(".safetensors") for entry in provenance["inputs"])
    assert f"{manifest['items_kept']}/4 items kept" in capsys.readouterr().out
    assert main(args) == 0  # a rerun translates nothing
    assert json.loads((tmp_path / "ar.manifest.json").read_text())["texts_sent"] == 0


def test_vllm_and_transformers_translate_the_same(tiny_base_model, datasets_dir, tmp_path):
    """Greedy fp32 outputs of the two backends agree, so they can share a cache (the key leaves the backend out)."""
    assert main(cli_args(tiny_base_model, datasets_dir, tmp_path / "hf", "hf", items=3)) == 0
    # vLLM in its own process: its in-process engine changes torch's threading for the rest of this one
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow"), "XLT_CACHE": str(tmp_path / "xlt-cache")}
    result = subprocess.run([sys.executable, "-m", "xlt.cli", "translate",
                             *cli_args(tiny_base_model, datasets_dir, tmp_path / "vllm", "vllm", items=3)],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    hf, vllm = (pl.read_parquet(tmp_path / backend / "cache" / "ar.parquet") for backend in ("hf", "vllm"))
    assert len(hf) > 0 and hf.equals(vllm)
    assert (tmp_path / "hf" / "ar.parquet").read_bytes() == (tmp_path / "vllm" / "ar.parquet").read_bytes()
