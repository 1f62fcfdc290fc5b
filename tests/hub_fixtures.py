"""Fixture files in the real layouts and column names of the study's Hugging Face datasets (no hub here)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

MGSM_LANGS = ["en", "es", "fr", "ja", "zh", "de"]  # a subset of MGSM's 11 configs; no ar/ko/pt, as in MGSM


def _parquet(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)


def write_hub_fixtures(root: Path) -> Path:
    """Local copies of the study's datasets in their hub layouts and column names (refs/convert/parquet where
    the hub has loading scripts), small enough for tests."""
    # juletxara/mgsm @ refs/convert/parquet: {lang}/{split}/0000.parquet, rows aligned across languages.
    for lang in MGSM_LANGS:
        for split, n in (("train", 8), ("test", 12)):
            _parquet(pl.DataFrame(
                {"question": [f"[{lang}] Question {i}: how many?" for i in range(n)],
                 "answer": [f"[{lang}] Step-by-Step Answer: 2 + {i} = {i + 2}. The answer is {i + 2}."
                            for i in range(n)] if split == "train" else [None] * n,
                 "answer_number": [i + 2 for i in range(n)],
                 "equation_solution": [None] * n},
                schema={"question": pl.String, "answer": pl.String, "answer_number": pl.Int64,
                        "equation_solution": pl.String}), root / "mgsm" / lang / split / "0000.parquet")
    # csebuetnlp/xlsum @ refs/convert/parquet: {config}/{split}/0000.parquet, items differ per language.
    for config, lang in (("english", "en"), ("spanish", "es"), ("japanese", "ja")):
        for split, n in (("train", 6), ("validation", 3), ("test", 5)):
            _parquet(pl.DataFrame({
                "id": [f"{split}-{lang}-{i}" for i in range(n)],
                "url": [f"https://www.bbc.com/{lang}/{i}" for i in range(n)],
                "title": [f"{lang} title {i}" for i in range(n)],
                "summary": [f"{lang} summary {i}" for i in range(n)],
                "text": [f"{lang} article text {i}" for i in range(n)],
            }), root / "xlsum" / config / split / "0000.parquet")
    # CohereForAI/aya_evaluation_suite: README configs, one parquet per config, 639-3 language codes.
    aya = root / "aya"
    aya.mkdir()
    (aya / "README.md").write_text(
        "---\nconfigs:\n- config_name: dolly_machine_translated\n  data_files:\n  - split: test\n"
        "    path: dolly_machine_translated/test-*\n- config_name: dolly_human_edited\n  data_files:\n"
        "  - split: test\n    path: dolly_human_edited/test-*\n---\n# Aya evaluation suite (fixture)\n")
    codes = ("eng", "spa", "fra", "jpn", "arb", "zho", "deu")
    rows = [(dolly_id, code) for dolly_id in (11, 22, 33, 44, 55) for code in codes]
    _parquet(pl.DataFrame({
        "id": [dolly_id for dolly_id, _ in rows],
        "inputs": [f"{code} prompt {dolly_id}" for dolly_id, code in rows],
        "targets": [f"{code} answer {dolly_id}" for dolly_id, code in rows],
        "language": [code for _, code in rows],
        "script": ["Latn"] * len(rows),
    }, schema={"id": pl.Int64, "inputs": pl.String, "targets": pl.String, "language": pl.String,
               "script": pl.String}), aya / "dolly_machine_translated" / "test-00000-of-00001.parquet")
    _parquet(pl.DataFrame({"id": [11], "inputs": ["x"], "targets": ["y"], "language": ["spa"], "script": ["Latn"]}),
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
