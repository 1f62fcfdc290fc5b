"""Base models of the embedded study: a tokenizer trained on the synthetic corpus and tiny Llama models
pretrained briefly on unlabeled multilingual text, so that fine-tuning afterwards is post-training.

The pretraining text is the *prompt side* of the training splits (questions, reports, instructions) in every
language, unseen ones included: like a real base model, it knows the languages but has never seen the tasks'
answers or chat format. Test items never enter it.

Usage::

    python -m xlt.cli base-model tokenizer --vocab-size 1024 --out-dir resources/tokenizer \
        resources/datasets/*/train.parquet
    python -m xlt.cli base-model build --model tiny_1m --spec '{"architecture": {...}, "pretrain": {...}}' \
        --tokenizer resources/tokenizer --out-dir resources/models/tiny_1m resources/datasets/*/train.parquet
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from xlt.io import read_table, write_json
from xlt.provenance import write_provenance
from xlt.tokenizer import train_tokenizer


def prompt_texts(dataset_files: list[str | Path]) -> list[str]:
    """The user turns of the given (training-split) example tables, sorted for determinism."""
    frames = [read_table(path, columns=["split", "messages"]) for path in dataset_files]
    frame = pl.concat(frames)
    leaked = frame.filter(pl.col("split") == "test")
    if len(leaked):
        raise ValueError(f"pretraining text must not contain test items; got {len(leaked)} test rows")
    users = frame.select(pl.col("messages").list.first().struct.field("content").alias("text"))
    return sorted(users["text"].to_list())


def write_tokenizer(dataset_files: list[str | Path], vocab_size: int, out_dir: str | Path) -> None:
    started = time.time()
    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(prompt_texts(dataset_files), vocab_size)
    tokenizer.save_pretrained(out_dir)
    outputs = sorted(p for p in out_dir.iterdir() if p.name != "provenance.json")
    write_provenance(out_dir, stage="tokenizer", module=__name__, params={"vocab_size": vocab_size},
                     inputs=dataset_files, outputs=outputs, started=started)


def build_model(architecture: dict[str, int], tokenizer, seed: int):
    """A freshly initialised Llama-architecture causal LM sized by ``architecture``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        **architecture,
    )
    return LlamaForCausalLM(config)


def pretrain(model, tokenizer, texts: list[str], settings: dict[str, Any]) -> list[dict]:
    """Causal-LM pretraining on ``texts`` packed into ``seq_length`` blocks; returns the loss log."""
    import torch
    from datasets import Dataset
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    block = settings["seq_length"]
    ids: list[int] = []
    for encoded in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        ids.extend(encoded + [tokenizer.eos_token_id])
    blocks = [ids[i:i + block] for i in range(0, len(ids) - block + 1, block)]
    dataset = Dataset.from_dict({"input_ids": blocks})
    scratch = tempfile.mkdtemp(prefix="xlt-pretrain-")  # Trainer wants a folder; the artifact gets none of it
    args = TrainingArguments(
        output_dir=scratch,
        max_steps=settings["steps"],
        per_device_train_batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        lr_scheduler_type="cosine",
        warmup_steps=max(1, settings["steps"] // 20),
        weight_decay=0.01,
        logging_steps=max(1, settings["steps"] // 20),
        save_strategy="no",
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        bf16=False,
        seed=settings["seed"],
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset,
                      data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False))
    trainer.train()
    shutil.rmtree(scratch, ignore_errors=True)
    return [entry for entry in trainer.state.log_history if "loss" in entry]


def write_base_model(model_key: str, spec: dict[str, Any], tokenizer_dir: str | Path,
                     dataset_files: list[str | Path], out_dir: str | Path) -> dict[str, Any]:
    """Build, pretrain and save one embedded base model (safetensors + tokenizer) into ``out_dir``."""
    from transformers import AutoTokenizer

    started = time.time()
    out_dir = Path(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = build_model(spec["architecture"], tokenizer, spec["pretrain"]["seed"])
    n_params = sum(p.numel() for p in model.parameters())
    log = pretrain(model, tokenizer, prompt_texts(dataset_files), spec["pretrain"])
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    summary = {"model": model_key, "parameters": n_params, "pretraining_loss": log}
    write_json(summary, out_dir / "pretraining.json")
    outputs = sorted(p for p in out_dir.iterdir() if p.is_file() and p.name != "provenance.json")
    write_provenance(out_dir, stage="base_model", module=__name__, params={"model": model_key, **spec},
                     inputs=[*dataset_files, *sorted(Path(tokenizer_dir).glob("*.json"))], outputs=outputs,
                     started=started, seed=spec["pretrain"]["seed"])
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt base-model", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tok = sub.add_parser("tokenizer", help="train the study's tokenizer")
    tok.add_argument("--vocab-size", type=int, required=True)
    tok.add_argument("--out-dir", required=True)
    tok.add_argument("datasets", nargs="+", help="training-split parquet files")
    build = sub.add_parser("build", help="build and pretrain one embedded model")
    build.add_argument("--model", required=True, help="the key under models:")
    build.add_argument("--spec", required=True, help="JSON: architecture and pretrain settings")
    build.add_argument("--tokenizer", required=True)
    build.add_argument("--out-dir", required=True)
    build.add_argument("datasets", nargs="+")
    args = parser.parse_args(argv)
    threads = int(os.environ.get("XLT_TORCH_THREADS", "1"))
    if args.command == "tokenizer":
        write_tokenizer(args.datasets, args.vocab_size, args.out_dir)
        print(f"tokenizer ({args.vocab_size} tokens) -> {args.out_dir}")
        return 0
    import torch

    torch.set_num_threads(threads)
    summary = write_base_model(args.model, json.loads(args.spec), args.tokenizer, args.datasets, args.out_dir)
    losses = summary["pretraining_loss"]
    print(f"{args.model}: {summary['parameters']:,} parameters, pretraining loss "
          f"{losses[0]['loss']:.3f} -> {losses[-1]['loss']:.3f} ({math.exp(losses[-1]['loss']):.1f} ppl) "
          f"-> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
