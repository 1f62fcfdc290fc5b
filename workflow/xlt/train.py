"""The train stage: supervised fine-tuning of a base model on one mixture with TRL's SFTTrainer.

Loss on assistant tokens only; full fine-tuning or LoRA (merged into the saved model, so generation loads one
directory either way); a checkpoint and a validation loss every ``save_steps`` (and at the last step); the
checkpoint with the lowest validation loss is the one saved as ``model/``; every checkpoint is kept with its
learning rate for attribution. A restarted job resumes from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from xlt.io import write_json, write_parquet
from xlt.provenance import write_provenance
from xlt.tokenizer import ensure_chat_template


class ModelLoadError(RuntimeError):
    """A base model could not be loaded; the message names the config key."""


def load_base_model(model_key: str, model_spec: dict[str, Any], path: str, dtype):
    """``AutoModelForCausalLM`` from a local directory or hub id, safetensors only, remote code only if asked."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = f"models.{model_key}.path" if model_spec["source"] != "embedded" else f"models.{model_key}"
    if model_spec["source"] in ("local", "embedded") and not Path(path).is_dir():
        raise ModelLoadError(f"{where}: {path!r} is not a directory with a model (config.json, safetensors)")
    kwargs = {"trust_remote_code": model_spec.get("trust_remote_code", False), "use_safetensors": True}
    if model_spec.get("revision"):
        kwargs["revision"] = model_spec["revision"]
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **{k: v for k, v in kwargs.items() if k != "use_safetensors"})
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs)
    except (OSError, ValueError) as error:
        offline = " (the hub is unreachable or HF_HUB_OFFLINE is set: download it first)" \
            if model_spec["source"] == "hub" else ""
        raise ModelLoadError(f"{where}: cannot load {path!r}{offline}: {error}") from error
    if tokenizer.pad_token is None:  # base checkpoints often ship without one
        tokenizer.pad_token = tokenizer.eos_token
    return model, ensure_chat_template(tokenizer)


def messages_dataset(path: str | Path):
    from datasets import Dataset

    frame = pl.read_parquet(path, columns=["id", "messages"])
    return Dataset.from_dict({"messages": frame["messages"].to_list()})


def gradient_accumulation(settings: dict[str, Any], world_size: int) -> int:
    per_step = settings["per_device_batch_size"] * world_size
    if settings["batch_size"] % per_step:
        raise ValueError(f"training.batch_size {settings['batch_size']} is not a multiple of "
                         f"per_device_batch_size x processes = {per_step}")
    return settings["batch_size"] // per_step


def make_callbacks():
    from transformers import TrainerCallback

    class EvaluateAndSaveAtEnd(TrainerCallback):
        """The last step is a checkpoint candidate too, whatever its distance to the previous save."""

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                control.should_evaluate = True
                control.should_save = True
            return control

    class WallClock(TrainerCallback):
        """Elapsed seconds in every log entry, for tokens/s."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.time()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.log_history:  # the entry this log call just appended
                state.log_history[-1]["elapsed_s"] = round(time.time() - self.started, 3)

    return [EvaluateAndSaveAtEnd(), WallClock()]


def training_log(log_history: list[dict[str, Any]]) -> pl.DataFrame:
    """One row per logged step: loss, validation loss, learning rate, tokens seen, elapsed seconds."""
    columns = {"step": pl.Int64, "epoch": pl.Float64, "loss": pl.Float64, "eval_loss": pl.Float64,
               "learning_rate": pl.Float64, "num_input_tokens_seen": pl.Int64, "elapsed_s": pl.Float64}
    rows = [{name: entry.get(name) for name in columns} for entry in log_history if "step" in entry]
    return pl.DataFrame(rows, schema=columns).sort("step")


def checkpoint_table(checkpoints_dir: Path, log: pl.DataFrame) -> list[dict[str, Any]]:
    """Every kept checkpoint with its step, learning rate and validation loss (TracIn weights by lr)."""
    rows = []
    for folder in sorted(checkpoints_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])):
        step = int(folder.name.split("-")[1])
        at_step = log.filter(pl.col("step") <= step)
        lr = at_step.drop_nulls("learning_rate")["learning_rate"].tail(1).to_list()
        eval_loss = log.filter(pl.col("step") == step).drop_nulls("eval_loss")["eval_loss"].to_list()
        rows.append({"path": str(folder), "step": step, "learning_rate": lr[0] if lr else None,
                     "eval_loss": eval_loss[0] if eval_loss else None})
    return rows


def train_run(model_key: str, model_spec: dict[str, Any], base_path: str, settings: dict[str, Any],
              mixture_dir: str | Path, run_dir: str | Path, seed: int, world_size: int = 1) -> dict[str, Any]:
    """Fine-tune ``base_path`` on the mixture in ``mixture_dir`` (train.parquet, validation.parquet); write
    ``run_dir/model``, ``run_dir/training.json`` and ``run_dir/training_log.parquet``; checkpoints go to
    ``run_dir/checkpoints``."""
    import torch
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    started = time.time()
    run_dir, mixture_dir = Path(run_dir), Path(mixture_dir)
    checkpoints_dir = run_dir / "checkpoints"
    on_gpu = torch.cuda.is_available()
    model, tokenizer = load_base_model(model_key, model_spec, base_path,
                                       torch.bfloat16 if on_gpu else torch.float32)
    train, validation = messages_dataset(mixture_dir / "train.parquet"), messages_dataset(mixture_dir / "validation.parquet")
    peft_config = None
    if model_spec.get("train_mode") == "lora":
        from peft import LoraConfig

        lora = model_spec.get("lora", {})
        peft_config = LoraConfig(r=lora.get("r", 16), lora_alpha=lora.get("alpha", 32),
                                 lora_dropout=lora.get("dropout", 0.05),
                                 target_modules=lora.get("target_modules"), task_type="CAUSAL_LM")
    args = SFTConfig(
        output_dir=str(checkpoints_dir),
        per_device_train_batch_size=settings["per_device_batch_size"],
        per_device_eval_batch_size=settings["per_device_batch_size"],
        gradient_accumulation_steps=gradient_accumulation(settings, world_size),
        learning_rate=settings["learning_rate"],
        lr_scheduler_type=settings["lr_scheduler"],
        warmup_steps=float(settings["warmup_ratio"]),  # transformers 5: a float in [0, 1) is a ratio
        weight_decay=settings["weight_decay"],
        optim=settings["optimizer"],
        num_train_epochs=settings["epochs"],
        max_steps=settings["max_steps"],
        max_length=settings["max_length"],
        assistant_only_loss=True,
        packing=False,
        eval_strategy="steps",
        eval_steps=settings["save_steps"],
        save_strategy="steps",
        save_steps=settings["save_steps"],
        save_total_limit=None,  # attribution reads every checkpoint
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=max(1, settings["save_steps"] // 5),
        include_num_input_tokens_seen="non_padding",
        seed=seed,
        data_seed=seed,
        bf16=on_gpu,
        use_cpu=not on_gpu,
        report_to=[],
        dataloader_num_workers=0,
        dataset_num_proc=None,
        disable_tqdm=True,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=train, eval_dataset=validation,
                         processing_class=tokenizer, peft_config=peft_config, callbacks=make_callbacks())
    last = get_last_checkpoint(str(checkpoints_dir)) if checkpoints_dir.is_dir() else None
    trainer.train(resume_from_checkpoint=last)
    log = training_log(trainer.state.log_history)
    main_process = trainer.is_world_process_zero()  # under accelerate launch, one process writes
    model_dir = run_dir / "model"
    tmp_dir = run_dir / ".model.tmp"
    if main_process:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    if peft_config is not None:
        if main_process:
            trainer.model.merge_and_unload().save_pretrained(tmp_dir, safe_serialization=True)
            tokenizer.save_pretrained(tmp_dir)
    else:
        trainer.save_model(str(tmp_dir))  # every process: FSDP gathers the shards; the main one writes
    if not main_process:
        return {"steps": trainer.state.global_step, "main_process": False}
    shutil.rmtree(model_dir, ignore_errors=True)
    tmp_dir.rename(model_dir)  # the model appears whole or not at all
    checkpoints = checkpoint_table(checkpoints_dir, log)
    best = trainer.state.best_model_checkpoint
    train_tokens = log.drop_nulls("num_input_tokens_seen")
    tokens_per_s = None
    if len(train_tokens) >= 2:
        first, last_row = train_tokens.row(0, named=True), train_tokens.row(-1, named=True)
        elapsed = last_row["elapsed_s"] - first["elapsed_s"]
        tokens_per_s = (last_row["num_input_tokens_seen"] - first["num_input_tokens_seen"]) / elapsed if elapsed else None
    summary = {
        "model": model_key, "mixture_dir": str(mixture_dir), "seed": seed,
        "steps": trainer.state.global_step, "resumed_from": last,
        "best_checkpoint": best, "best_eval_loss": trainer.state.best_metric,
        "checkpoints": checkpoints, "train_examples": len(train), "validation_examples": len(validation),
        "tokens_per_s": tokens_per_s, "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "processes": world_size,
    }
    write_parquet(log, run_dir / "training_log.parquet")
    write_json(summary, run_dir / "training.json")
    inputs = [mixture_dir / "train.parquet", mixture_dir / "validation.parquet"]
    if Path(base_path).is_dir():
        inputs += sorted(Path(base_path).glob("*.safetensors"))
    write_provenance(model_dir, stage="train", module=__name__,
                     params={"model": model_key, "model_spec": model_spec, "base": base_path, "training": settings},
                     inputs=inputs, outputs=sorted(p for p in model_dir.iterdir() if p.is_file()),
                     started=started, seed=seed)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt train", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the key under models:")
    parser.add_argument("--spec", required=True, help="JSON: {model: <models entry>, base: path, training: {...}}")
    parser.add_argument("--train", required=True, help="the mixture's train.parquet (validation.parquet beside it)")
    parser.add_argument("--model-out", required=True, help="the run's model directory; logs and checkpoints go beside it")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("XLT_TORCH_THREADS", "1")))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    spec = json.loads(args.spec)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    mixture_dir, run_dir = Path(args.train).parent, Path(args.model_out).parent
    summary = train_run(args.model, spec["model"], spec["base"], spec["training"], mixture_dir, run_dir, args.seed,
                        world_size)
    if summary.get("main_process") is False:
        return 0
    print(f"{args.model} on {mixture_dir}: {summary['steps']} steps, best eval loss "
          f"{summary['best_eval_loss']:.4f} at {summary['best_checkpoint']}"
          + (f", {summary['tokens_per_s']:.0f} tokens/s" if summary["tokens_per_s"] else ""))
    return 0 if math.isfinite(summary["best_eval_loss"]) else 1


if __name__ == "__main__":
    sys.exit(main())
