"""Fixture files in the real layouts and column names of the study's Hugging Face datasets (no hub here)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

MGSM_LANGS = ["en", "es", "fr", "ja", "zh", "de"]  # a subset of MGSM's 11 configs; no ar/ko/pt, as in MGSM
# How MGSM's exemplars (train split) open their question and answer, as in the data (google-research/url-nlp
# mgsm/exemplars.py, which juletxara/mgsm's train split holds); test items carry no such prefix.
MGSM_EXEMPLAR_PREFIXES = {
    "en": ("Question: ", "Step-by-Step Answer: "), "es": ("Pregunta: ", "Respuesta paso a paso: "),
    "fr": ("Question : ", "Réponse étape par étape : "), "ja": ("問題：", "ステップごとの答え："),
    "zh": ("问题：", "逐步解答："), "de": ("Frage: ", "Schritt-für-Schritt-Antwort: "),
}
# Aya's dolly_machine_translated: (ISO 639-3 code, script) pairs; Chinese and Arabic in two scripts each, the
# non-default one first so that keeping "the first" row of a language picks the wrong one.
AYA_LANGUAGE_SCRIPTS = [("eng", "Latn"), ("spa", "Latn"), ("fra", "Latn"), ("jpn", "Jpan"), ("arb", "Latn"),
                        ("arb", "Arab"), ("zho", "Hant"), ("zho", "Hans"), ("deu", "Latn")]
AYA_DOLLY_IDS = (11, 22, 33, 44, 55)


def _parquet(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)


def write_hub_fixtures(root: Path) -> Path:
    """Local copies of the study's datasets in their hub layouts and column names (refs/convert/parquet where
    the hub has loading scripts), small enough for tests."""
    # juletxara/mgsm @ refs/convert/parquet: {lang}/{split}/0000.parquet, rows aligned across languages; the 8
    # train rows (the exemplars) open with localized "Question:" / "Step-by-Step Answer:" labels.
    for lang in MGSM_LANGS:
        question_prefix, answer_prefix = MGSM_EXEMPLAR_PREFIXES[lang]
        for split, n in (("train", 8), ("test", 12)):
            exemplar = split == "train"
            _parquet(pl.DataFrame(
                {"question": [f"{question_prefix if exemplar else ''}[{lang}] Question {i}: how many?"
                              for i in range(n)],
                 "answer": [f"{answer_prefix}[{lang}] 2 + {i} = {i + 2}. The answer is {i + 2}."
                            for i in range(n)] if exemplar else [None] * n,
                 "answer_number": [i + 2 for i in range(n)],
                 "equation_solution": [None] * n},
                schema={"question": pl.String, "answer": pl.String, "answer_number": pl.Int64,
                        "equation_solution": pl.String}), root / "mgsm" / lang / split / "0000.parquet")
    # csebuetnlp/xlsum @ refs/convert/parquet: {config}/{split}/NNNN.parquet, items differ per language; no
    # README; a large split is several shards (English train: 0000, 0001), and the 2023 conversions left a
    # dataset-viewer index.duckdb beside the shards.
    for config, lang in (("english", "en"), ("spanish", "es"), ("japanese", "ja")):
        for split, n in (("train", 6), ("validation", 3), ("test", 5)):
            frame = pl.DataFrame({
                "id": [f"{split}-{lang}-{i}" for i in range(n)],
                "url": [f"https://www.bbc.com/{lang}/{i}" for i in range(n)],
                "title": [f"{lang} title {i}" for i in range(n)],
                "summary": [f"{lang} summary {i}" for i in range(n)],
                "text": [f"{lang} article text {i}" for i in range(n)],
            })
            folder = root / "xlsum" / config / split
            shards = [frame.head(4), frame.tail(n - 4)] if (lang, split) == ("en", "train") else [frame]
            for number, shard in enumerate(shards):
                _parquet(shard, folder / f"{number:04d}.parquet")
            (folder / "index.duckdb").write_bytes(b"DUCK index of the dataset viewer, not data")
    # CohereForAI/aya_evaluation_suite: README configs, one parquet per config, 639-3 language codes.
    aya = root / "aya"
    aya.mkdir()
    (aya / "README.md").write_text(
        "---\nconfigs:\n- config_name: dolly_machine_translated\n  data_files:\n  - split: test\n"
        "    path: dolly_machine_translated/test-*\n- config_name: dolly_human_edited\n  data_files:\n"
        "  - split: test\n    path: dolly_human_edited/test-*\n---\n# Aya evaluation suite (fixture)\n")
    # Columns id, inputs, targets, language, script, source_id: source_id is the Dolly item's id, shared by its
    # translations; `id` is not documented as parallel (here: the row's number).
    rows = [(dolly_id, code, script) for code, script in AYA_LANGUAGE_SCRIPTS for dolly_id in AYA_DOLLY_IDS]
    aya_schema = {"id": pl.Int64, "inputs": pl.String, "targets": pl.String, "language": pl.String,
                  "script": pl.String, "source_id": pl.Int64}
    _parquet(pl.DataFrame({
        "id": list(range(len(rows))),
        "inputs": [f"{code} prompt {dolly_id} [{script}]" for dolly_id, code, script in rows],
        "targets": [f"{code} answer {dolly_id} [{script}]" for dolly_id, code, script in rows],
        "language": [code for _, code, _ in rows],
        "script": [script for _, _, script in rows],
        "source_id": [dolly_id for dolly_id, _, _ in rows],
    }, schema=aya_schema), aya / "dolly_machine_translated" / "test-00000-of-00001.parquet")
    _parquet(pl.DataFrame({"id": [0], "inputs": ["x"], "targets": ["y"], "language": ["spa"], "script": ["Latn"],
                           "source_id": [11]}, schema=aya_schema),
             aya / "dolly_human_edited" / "test-00000-of-00001.parquet")
    # laihuiyuan/mCoT-MATH: one JSON array, no id column, 639-1 codes.
    mcot = []
    for i in range(30):
        for lang in ("en", "es", "fr", "ja", "zh", "sw"):
            mcot.append({"question": f"[{lang}] problem {i}", "answer": f"[{lang}] steps... The answer is: {i * 10}",
                         "lang": lang})
    mcot.append({"question": "[en] fraction", "answer": "Simplify.\nThe answer is: \\frac{1}{2}", "lang": "en"})
    (root / "mcot").mkdir()
    (root / "mcot" / "mcot_math.json").write_text(json.dumps(mcot, ensure_ascii=False, indent=1))
    # HuggingFaceH4/ultrachat_200k: README configs over data/{split}-NNNNN-of-NNNNN-<hash>.parquet, splits
    # train_sft/test_sft/train_gen/test_gen, columns prompt, prompt_id, messages (content, role); no `id`.
    ultrachat = root / "ultrachat"
    ultrachat.mkdir()
    (ultrachat / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        + "".join(f"  - split: {split}\n    path: data/{split}-*\n"
                  for split in ("train_sft", "test_sft", "train_gen", "test_gen"))
        + "---\n# UltraChat 200k (fixture)\n")
    for split, shards in (("train_sft", [range(0, 3), range(3, 5)]), ("test_sft", [range(5, 7)]),
                          ("train_gen", [range(7, 8)]), ("test_gen", [range(8, 9)])):
        for number, items in enumerate(shards):
            prompts = [f"UltraChat question {i}?" for i in items]
            _parquet(pl.DataFrame({
                "prompt": prompts,
                "prompt_id": [hashlib.sha256(prompt.encode()).hexdigest() for prompt in prompts],
                "messages": [[{"content": prompt, "role": "user"}, {"content": f"Answer {i}.", "role": "assistant"}]
                             for i, prompt in zip(items, prompts)],
            }), ultrachat / "data" / f"{split}-{number:05d}-of-{len(shards):05d}-"
                                     f"{hashlib.sha256(f'{split}{number}'.encode()).hexdigest()[:16]}.parquet")
    # ShareGPT-style chat data: `conversations` (from/value) and `messages` (role/content) as JSON lines.
    sharegpt = [
        {"id": "a1", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"},
                                       {"from": "human", "value": "Bye"}]},  # trailing user turn: cut
        {"id": "a2", "conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "2+2?"},
                                       {"from": "gpt", "value": "4"}]},
        {"id": "a2", "conversations": [{"from": "human", "value": "again"}, {"from": "gpt", "value": "x"}]},  # repeated
        {"id": "a3", "conversations": [{"from": "human", "value": "Anyone?"}]},  # no answer: dropped
        {"id": "a4", "conversations": [{"from": "tool", "value": "{}"}, {"from": "gpt", "value": "ok"}]},  # dropped
    ]
    (root / "sharegpt").mkdir()
    (root / "sharegpt" / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in sharegpt))
    messages = [{"messages": [{"role": "user", "content": f"Q{i}"}, {"role": "assistant", "content": f"A{i}"}]}
                for i in range(4)]
    (root / "messages").mkdir()
    (root / "messages" / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in messages))
    return root
