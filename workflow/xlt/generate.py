"""The generate stage: one run's answers to every task's evaluation prompts, with one loaded backend
(``xlt.inference``: vLLM, or transformers as the fallback).

    python -m xlt.cli generate --model-dir results/runs/tiny_1m/st_math-n10/seed0/model --revision \
        --settings '{"backend": "vllm", "seed": 0, "max_new_tokens": 64, "temperature": 0, "top_p": 1, \
                     "batch_size": 64}' --prompts results/eval/math/prompts.parquet \
        --out results/runs/tiny_1m/st_math-n10/seed0/generations/math.parquet
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import polars as pl
import torch
from transformers import AutoTokenizer

from xlt.inference import chat_token_ids, load_backend
from xlt.io import read_table, write_parquet
from xlt.provenance import write_provenance
from xlt.weights import resolve_model_dir, weight_files


def generate_answers(model_dir: str, prompt_tables: list[pl.DataFrame], settings: dict[str, Any]) -> list[pl.DataFrame]:
    """Answers to every prompt table with one loaded backend; per table, one row per prompt with the
    generation, token counts, backend and timing."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prompt_ids = [chat_token_ids(tokenizer, table["prompt"].to_list()) for table in prompt_tables]
    loading = time.perf_counter()
    backend = load_backend(model_dir, [ids for table in prompt_ids for ids in table], settings)
    load_seconds = time.perf_counter() - loading
    results = []
    for table, ids in zip(prompt_tables, prompt_ids):
        started = time.perf_counter()
        completions = backend.generate(ids)
        seconds = time.perf_counter() - started
        results.append(table.with_columns(
            generation=pl.Series([backend.decode(tokens).strip() for tokens in completions], dtype=pl.String),
            prompt_tokens=pl.Series([len(tokens) for tokens in ids], dtype=pl.Int64),
            completion_tokens=pl.Series([len(tokens) for tokens in completions], dtype=pl.Int64),
            backend=pl.lit(backend.name),
            load_seconds=pl.lit(load_seconds),
            batch_seconds=pl.lit(seconds),  # wall time of the table's batch; per-row time means nothing batched
        ))
    return results


# ---- CLI ---------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt generate", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="a model directory or a hub id")
    parser.add_argument("--revision", nargs="?", default=None,
                        help="the commit of a hub id (models.<m>.revision); no value for a directory")
    parser.add_argument("--settings", required=True, help="JSON: the generation config")
    parser.add_argument("--prompts", nargs="+", required=True, help="prompt tables (one per task)")
    parser.add_argument("--out", nargs="+", required=True, help="generation tables, one per prompt table")
    parser.add_argument("--tensor-parallel", type=int, default=0, help="GPUs of the job (vLLM tensor parallelism)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("XLT_TORCH_THREADS", "1")))
    args = parser.parse_args(argv)
    started = time.time()
    revision = args.revision
    torch.set_num_threads(args.threads)
    settings = {**json.loads(args.settings), "tensor_parallel_size": max(1, args.tensor_parallel)}
    if len(args.prompts) != len(args.out):
        raise ValueError(f"{len(args.prompts)} prompt tables but {len(args.out)} outputs")
    model_dir = resolve_model_dir(args.model_dir, revision)
    tables = generate_answers(model_dir, [read_table(path) for path in args.prompts], settings)
    model_files = weight_files(args.model_dir)
    for prompts_path, out, table in zip(args.prompts, args.out, tables):
        write_parquet(table, out)
        write_provenance(out, stage="generate", module=__name__,
                         params={**settings, "model": args.model_dir, "revision": revision, "loaded": model_dir},
                         inputs=[prompts_path, *model_files], outputs=[out], started=started,
                         seed=settings["seed"])
        tokens = table["completion_tokens"].sum()
        seconds = table["batch_seconds"][0]
        print(f"{len(table)} generations, {tokens} tokens in {seconds:.1f} s ({tokens / seconds:.0f} tokens/s, "
              f"{settings['backend']}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
