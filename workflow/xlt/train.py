"""The train stage: supervised fine-tuning of a base model on one mixture with TRL's SFTTrainer.

Loss on assistant tokens only; full fine-tuning or LoRA (merged into the saved model, so generation loads one
directory either way); a checkpoint and a validation loss every ``save_steps`` (and at the last step); the
checkpoint with the lowest validation loss is the one saved as ``model/``. Only the newest checkpoint holds the
optimizer, scheduler and RNG state (what resuming needs); older ones are weights-only. Once the run has finished it
keeps what ``keep`` says (``xlt.grid.checkpoint_retention``): every checkpoint, every one weights-only (the runs
attribution reads, with their learning rates in training.json), or none (only ``model/``).

A restarted job resumes from its last complete checkpoint only when that checkpoint was written by the same job
(same params and input hashes, recorded in ``checkpoints/job.json``) and that job did not finish; otherwise the old
checkpoints are discarded and training starts fresh, so a changed config or a forced rerun never keeps a stale
model. One training process holds a run directory at a time (``.train.lock``).

Usage (the train rule runs this through ``python -m xlt.launch``)::

    python -m xlt.cli train --model tiny_1m --spec '{"model": {...}, "base": "resources/models/tiny_1m", \
        "training": {...}}' --train results/mixtures/st_math-n40/seed0/train.parquet \
        --validation results/mixtures/st_math-n40/seed0/validation.parquet \
        --model-out results/runs/tiny_1m/st_math-n40/seed0/model \
        --summary results/runs/tiny_1m/st_math-n40/seed0/training.json \
        --log results/runs/tiny_1m/st_math-n40/seed0/training_log.parquet --seed 0
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import torch

from xlt.errors import XltError
from xlt.grid import KEEP_NONE, KEEP_RESUMABLE, KEEP_WEIGHTS
from xlt.io import canonical_json, read_table, sha256_file, write_json, write_parquet
from xlt.loading import ModelLoadError, load_base_model  # noqa: F401 (ModelLoadError: what loading raises)
from xlt.provenance import write_provenance

JOB_FILE = "job.json"  # in checkpoints/: which job wrote the checkpoints, and whether it finished
# What a checkpoint holds beside its weights only for resuming (the Trainer's files; FSDP's optimizer.bin or
# optimizer_0/): removed from every checkpoint but the newest, and from all once a run is finished.
RESUME_STATE = ("optimizer.pt", "optimizer.bin", "optimizer_*", "scheduler.pt", "scaler.pt", "rng_state*.pth")
KEEPS = (KEEP_RESUMABLE, KEEP_WEIGHTS, KEEP_NONE)
LOCK_FILE = ".train.lock"  # in the run directory: held by the one training process of the run


class RunBusyError(XltError):
    """Another training process holds the run directory."""


class TruncationError(XltError):
    """``max_length`` leaves no reply token of a split to train on."""


def reply_token_loss(model, inputs: dict[str, Any], num_items_in_batch=None) -> torch.Tensor:
    """The SFT loss (next-token cross-entropy summed over the reply tokens, over ``num_items_in_batch`` or the
    batch's reply-token count) with the LM head applied to the reply positions only.

    TRL's fused LM head, off Triton devices, scores every position (prompt and padding too), and it recomputes
    the logits in its backward: at the embedded sizes on the CPU a training step costs 2.05x this one
    (``bench/train.py``). The same loss."""
    labels = inputs["labels"][:, 1:]
    scored = labels != -100
    backbone_inputs = {key: value for key, value in inputs.items() if key != "labels"}
    hidden = model.get_decoder()(**backbone_inputs, use_cache=False).last_hidden_state[:, :-1]
    logits = model.get_output_embeddings()(hidden[scored]).float()
    total = torch.nn.functional.cross_entropy(logits, labels[scored], reduction="sum")
    count = scored.sum() if num_items_in_batch is None else num_items_in_batch
    return total / torch.as_tensor(count, device=total.device).clamp(min=1)


# What TRL's fused head reads from a text config to soften or scale logits (Gemma, Cohere, Muse Glimmer,
# Falcon-H1, Granite, MiniCPM3, HyperCLOVA X): a model that sets any of them keeps TRL's head.
LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier",
                    "logits_scaling")


def plain_head(model) -> bool:
    """Whether the model's logits are its LM head's output alone (none of ``LOGIT_TRANSFORMS``, which only TRL's
    fused head applies), so that ``reply_token_loss`` is its loss."""
    config = model.config.get_text_config()
    return all(getattr(config, name, None) in (None, 1.0) for name in LOGIT_TRANSFORMS)


def sft_trainer(on_gpu: bool, **kwargs):
    """TRL's SFTTrainer; on the CPU, with one process, a plain LM head and TRL's plain loss (no router aux loss,
    custom loss function, label smoothing or DFT), its loss is ``reply_token_loss``."""
    from trl import SFTTrainer

    class ReplyTokenLossSFTTrainer(SFTTrainer):
        def __init__(self, **trainer_kwargs):
            super().__init__(**trainer_kwargs)
            # decided once: the model (PEFT-wrapped by now), the loss settings and the processes are fixed
            self.reply_token_loss = (self.args.loss_type == "nll" and self.compute_loss_func is None
                                     and self.label_smoother is None and not self.aux_loss_enabled
                                     and self.accelerator.num_processes == 1 and plain_head(self.model))

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if return_outputs or not self.reply_token_loss:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            return reply_token_loss(model, inputs, num_items_in_batch)

    return (SFTTrainer if on_gpu else ReplyTokenLossSFTTrainer)(**kwargs)


def messages_dataset(path: str | Path):
    from datasets import Dataset

    frame = read_table(path, columns=["id", "messages"])
    return Dataset.from_dict({"messages": frame["messages"].to_list()})


def gradient_accumulation(settings: dict[str, Any], world_size: int) -> int:
    per_step = settings["per_device_batch_size"] * world_size
    if settings["batch_size"] % per_step:
        raise ValueError(f"training.batch_size {settings['batch_size']} is not a multiple of "
                         f"per_device_batch_size x processes = {per_step}")
    return settings["batch_size"] // per_step


def resume_state_files(folder: Path) -> list[Path]:
    return sorted(path for pattern in RESUME_STATE for path in folder.glob(pattern))


def strip_resume_state(folder: Path) -> int:
    """Remove a checkpoint's optimizer, scheduler, scaler and RNG state, leaving its weights, config, tokenizer
    and trainer_state.json (its step and log history); the bytes freed."""
    freed = 0
    for path in resume_state_files(folder):
        freed += disk_bytes(path)
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return freed


def disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def checkpoint_folders(checkpoints_dir: Path) -> list[Path]:
    return sorted(checkpoints_dir.glob("checkpoint-*"), key=checkpoint_step)


def retain_checkpoints(checkpoints_dir: Path, keep: str) -> dict[str, int]:
    """What a finished run keeps (``KEEPS``): every checkpoint with resume state in the newest only
    (``resumable``), every checkpoint weights-only (``weights``), or no checkpoint (``none``); the bytes freed
    and kept. The job record stays (a rerun reads that the run finished)."""
    if keep not in KEEPS:
        raise ValueError(f"unknown checkpoint retention {keep!r} ({', '.join(KEEPS)})")
    folders, freed = checkpoint_folders(checkpoints_dir), 0
    for i, folder in enumerate(folders):
        if keep == KEEP_NONE:
            freed += disk_bytes(folder)
            shutil.rmtree(folder)
        elif keep == KEEP_WEIGHTS or i < len(folders) - 1:
            freed += strip_resume_state(folder)
    kept = sum(disk_bytes(folder) for folder in checkpoint_folders(checkpoints_dir))
    return {"freed": freed, "kept": kept}


def make_callbacks(checkpoints_dir: Path):
    from transformers import TrainerCallback

    class ResumeStateInNewestOnly(TrainerCallback):
        """After each save (the new checkpoint complete: the Trainer writes trainer_state.json before calling
        on_save), the older checkpoints lose their optimizer, scheduler and RNG state: a kill at any moment
        leaves the newest complete checkpoint resumable, and the older ones cost only their weights."""

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                for folder in checkpoint_folders(checkpoints_dir):
                    if checkpoint_step(folder) < state.global_step:
                        strip_resume_state(folder)
            return control

    class EvaluateAndSaveAtEnd(TrainerCallback):
        """The last step is a checkpoint candidate too, whatever its distance to the previous save."""

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                control.should_evaluate = True
                control.should_save = True
            return control

    class WallClock(TrainerCallback):
        """Elapsed training seconds in every log entry, for tokens/s; a resumed job continues the clock of the
        checkpoint it resumes (the restored log history), so elapsed time never goes backwards."""

        def on_train_begin(self, args, state, control, **kwargs):
            resumed = [entry["elapsed_s"] for entry in state.log_history if "elapsed_s" in entry]
            self.started = time.time() - (resumed[-1] if resumed else 0.0)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.log_history:  # the entry this log call just appended
                state.log_history[-1]["elapsed_s"] = round(time.time() - self.started, 3)

    return [EvaluateAndSaveAtEnd(), WallClock(), ResumeStateInNewestOnly()]


def training_log(log_history: list[dict[str, Any]]) -> pl.DataFrame:
    """One row per logged step: loss, validation loss, learning rate, tokens seen, elapsed seconds."""
    columns = {"step": pl.Int64, "epoch": pl.Float64, "loss": pl.Float64, "eval_loss": pl.Float64,
               "learning_rate": pl.Float64, "num_input_tokens_seen": pl.Int64, "elapsed_s": pl.Float64}
    rows = [{name: entry.get(name) for name in columns} for entry in log_history if "step" in entry]
    return pl.DataFrame(rows, schema=columns).sort("step")


def checkpoint_table(checkpoints_dir: Path, log: pl.DataFrame) -> list[dict[str, Any]]:
    """Every kept checkpoint with its step, learning rate and validation loss (TracIn weights by lr)."""
    rows = []
    for folder in checkpoint_folders(checkpoints_dir):
        step = checkpoint_step(folder)
        at_step = log.filter(pl.col("step") <= step)
        lr = at_step.drop_nulls("learning_rate")["learning_rate"].tail(1).to_list()
        eval_loss = log.filter(pl.col("step") == step).drop_nulls("eval_loss")["eval_loss"].to_list()
        rows.append({"path": str(folder), "step": step, "learning_rate": lr[0] if lr else None,
                     "eval_loss": eval_loss[0] if eval_loss else None})
    return rows


def checkpoint_step(folder: Path) -> int:
    return int(folder.name.split("-")[1])


def checkpoint_is_complete(folder: Path) -> bool:
    """The Trainer writes ``trainer_state.json`` last (weights, optimizer, scheduler and RNG state before it): a
    checkpoint cut short by a kill has none, or a partial one."""
    try:
        json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def job_record(params: dict[str, Any], inputs: dict[str, Path]) -> dict[str, Any]:
    """What makes one training job the same job: its params and the sha256 of every input, by role (not by path,
    so a moved checkout still resumes). ``job`` is the digest of both."""
    hashes = {role: sha256_file(path) for role, path in sorted(inputs.items())}
    digest = hashlib.sha256(canonical_json({"params": params, "inputs": hashes}).encode()).hexdigest()
    return {"job": digest, "params": params, "inputs": hashes, "finished": False}


def resumable_checkpoint(checkpoints_dir: Path, job: dict[str, Any]) -> tuple[str | None, str]:
    """The checkpoint this job may resume from (None: train from the start), and why, for the log.

    Checkpoints resume only the job that wrote them while it was unfinished: those of another job (other params
    or inputs), of no recorded job, or of a finished run of this job (a forced rerun, or outputs deleted to
    retrain) are discarded. Incomplete checkpoints (cut short by a kill) are removed and the last complete one is
    resumed.
    """
    if not checkpoints_dir.is_dir() or not any(checkpoints_dir.iterdir()):
        return None, "no checkpoints: training from the start"
    try:
        recorded = json.loads((checkpoints_dir / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    reason = None
    if recorded is None:
        reason = f"checkpoints without a {JOB_FILE} (an unknown job)"
    elif recorded.get("job") != job["job"]:
        changed = sorted(key for key in ("params", "inputs") if recorded.get(key) != job[key])
        reason = f"checkpoints of another job (its {' and '.join(changed) or 'record'} differ)"
    elif recorded.get("finished"):
        reason = "checkpoints of a finished run of this job (a forced rerun)"
    if reason:
        shutil.rmtree(checkpoints_dir)
        checkpoints_dir.mkdir(parents=True)
        return None, f"{reason}: discarded, training from the start"
    folders = checkpoint_folders(checkpoints_dir)
    complete = [folder for folder in folders if checkpoint_is_complete(folder)]
    incomplete = [folder for folder in folders if folder not in complete]
    for folder in incomplete:
        shutil.rmtree(folder)
    if not complete:
        return None, "no complete checkpoint of this job: training from the start"
    note = f" (removed incomplete {', '.join(folder.name for folder in incomplete)})" if incomplete else ""
    if not resume_state_files(complete[-1]):
        # only the newest checkpoint keeps the optimizer state: resuming older weights would restart AdamW cold
        shutil.rmtree(checkpoints_dir)
        checkpoints_dir.mkdir(parents=True)
        return None, f"{complete[-1].name} holds no optimizer state{note}: discarded, training from the start"
    return str(complete[-1]), f"resuming this job from {complete[-1].name}{note}"


def hold_run_lock(run_dir: Path):
    """An exclusive lock on the run directory for this process's lifetime (released when it exits, killed or
    not); raises ``RunBusyError`` at once when another training process holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / LOCK_FILE, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise RunBusyError(f"{run_dir}: another training process holds this run ({holder}); it may be an orphan of "
                           f"a killed Snakemake: wait for it to end or kill it, then rerun") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {os.uname().nodename} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    handle.flush()
    return handle


def fully_truncated(trainer, train_rows: int, validation_rows: int, max_length: int, where: str) -> dict[str, int]:
    """Examples TRL dropped because ``max_length`` cut off their whole reply, per split; raises
    ``TruncationError`` when that leaves a split with nothing to train or validate on."""
    kept = {"train": len(trainer.train_dataset), "validation": len(trainer.eval_dataset)}
    dropped = {"train": train_rows - kept["train"], "validation": validation_rows - kept["validation"]}
    for split, rows in (("train", train_rows), ("validation", validation_rows)):
        if rows and not kept[split]:
            raise TruncationError(f"{where}: {max_length} tokens truncate every reply of the {split} set ({rows} "
                                  f"examples: each prompt alone fills max_length); raise max_length")
    return dropped


@dataclass(frozen=True)
class RunFiles:
    """What one training job reads and writes: the mixture's two tables, the model directory, the summary
    (training.json) and the loss log (training_log.parquet), each as its rule declares it. Checkpoints, the job
    record and the lock live in the run directory (the model's parent), undeclared, so a failed job keeps them."""

    train: Path
    validation: Path
    model: Path
    summary: Path
    log: Path

    @classmethod
    def in_dirs(cls, mixture_dir: str | Path, run_dir: str | Path) -> RunFiles:
        """The layout of ``xlt.paths``: ``{mixture_dir}/train.parquet``, ``{run_dir}/model`` and so on."""
        mixture_dir, run_dir = Path(mixture_dir), Path(run_dir)
        return cls(mixture_dir / "train.parquet", mixture_dir / "validation.parquet", run_dir / "model",
                   run_dir / "training.json", run_dir / "training_log.parquet")

    @property
    def run_dir(self) -> Path:
        return self.model.parent


def train_run(model_key: str, model_spec: dict[str, Any], base_path: str, settings: dict[str, Any],
              mixture: str | Path, run: str | Path | RunFiles, seed: int, world_size: int = 1,
              keep: str = KEEP_RESUMABLE) -> dict[str, Any]:
    """Fine-tune ``base_path`` on a mixture and write the model, training.json and training_log.parquet.
    ``run``: the job's ``RunFiles``, or a run directory (then ``mixture`` is the mixture's directory and the
    files are laid out as ``RunFiles.in_dirs`` says). ``keep``: what the finished run keeps of its checkpoints
    (``KEEPS``); not part of the job's identity (it changes no weight), so a resumed job may keep otherwise."""
    if keep not in KEEPS:
        raise ValueError(f"unknown checkpoint retention {keep!r} ({', '.join(KEEPS)})")
    files = run if isinstance(run, RunFiles) else RunFiles.in_dirs(mixture, run)
    main_process = int(os.environ.get("RANK", "0")) == 0  # under accelerate launch, one process owns the run
    lock = hold_run_lock(files.run_dir) if main_process else None
    try:
        return _train_holding_lock(model_key, model_spec, base_path, settings, files, seed, world_size, main_process,
                                   keep)
    finally:
        if lock is not None:
            lock.close()


def _train_holding_lock(model_key: str, model_spec: dict[str, Any], base_path: str, settings: dict[str, Any],
                        files: RunFiles, seed: int, world_size: int, main_process: bool, keep: str
                        ) -> dict[str, Any]:
    from trl import SFTConfig

    started = time.time()
    checkpoints_dir = files.run_dir / "checkpoints"
    inputs = {"train": files.train, "validation": files.validation}
    if Path(base_path).is_dir():
        inputs.update({f"base/{path.name}": path for path in sorted(Path(base_path).glob("*.safetensors"))})
    job = job_record({"model": model_key, "model_spec": model_spec, "base": base_path, "training": settings,
                      "seed": seed, "processes": world_size}, inputs)
    on_gpu = torch.cuda.is_available()
    model, tokenizer = load_base_model(model_key, model_spec, base_path,
                                       torch.bfloat16 if on_gpu else torch.float32)
    train, validation = messages_dataset(files.train), messages_dataset(files.validation)
    peft_config = None
    if model_spec["train_mode"] == "lora":
        from peft import LoraConfig

        lora = model_spec["lora"]  # validated: the schema's defaults filled in
        peft_config = LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                                 target_modules=lora["target_modules"], task_type="CAUSAL_LM")
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
        train_sampling_strategy="group_by_length" if settings["group_by_length"] else "random",
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
    trainer = sft_trainer(on_gpu, model=model, args=args, train_dataset=train, eval_dataset=validation,
                          processing_class=tokenizer, peft_config=peft_config,
                          callbacks=make_callbacks(checkpoints_dir))
    truncated = fully_truncated(trainer, len(train), len(validation), settings["max_length"],
                                f"training.max_length (or models.{model_key}.training.max_length, where set)")
    with args.main_process_first(local=False, desc="checkpoint check"):  # the main process discards first
        last, why = resumable_checkpoint(checkpoints_dir, job)
        if main_process:
            write_json(job, checkpoints_dir / JOB_FILE)
    print(f"checkpoints: {why}", flush=True)
    trainer.train(resume_from_checkpoint=last)
    log = training_log(trainer.state.log_history)
    model_dir = files.model
    tmp_dir = model_dir.with_name(f".{model_dir.name}.tmp")
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
    checkpoints = [{**row, "kept": keep != KEEP_NONE} for row in checkpoint_table(checkpoints_dir, log)]
    # before the job is marked finished: a kill in between leaves no resumable checkpoint, so the rerun retrains
    retained = retain_checkpoints(checkpoints_dir, keep)
    best = trainer.state.best_model_checkpoint
    train_tokens = log.drop_nulls("num_input_tokens_seen")
    tokens_per_s = None
    if len(train_tokens) >= 2:
        first, last_row = train_tokens.row(0, named=True), train_tokens.row(-1, named=True)
        elapsed = last_row["elapsed_s"] - first["elapsed_s"]
        seen = last_row["num_input_tokens_seen"] - first["num_input_tokens_seen"]
        tokens_per_s = seen / elapsed if elapsed else None
    summary = {
        "model": model_key, "mixture_dir": str(files.train.parent), "seed": seed, "job": job["job"],
        "steps": trainer.state.global_step, "resumed_from": last, "dropped_by_max_length": truncated,
        "best_checkpoint": best, "best_eval_loss": trainer.state.best_metric,
        "checkpoints": checkpoints, "train_examples": len(train), "validation_examples": len(validation),
        "tokens_per_s": tokens_per_s, "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "processes": world_size, "keep_checkpoints": keep,
        # the disk the finished run holds (what ``xlt plan`` predicts): model/ and the checkpoints it keeps
        "disk_bytes": {"model": disk_bytes(model_dir), "checkpoints": retained["kept"],
                       "checkpoints_freed": retained["freed"]},
    }
    write_parquet(log, files.log)
    write_json(summary, files.summary)
    params = {"model": model_key, "model_spec": model_spec, "base": base_path, "training": settings}
    write_provenance(model_dir, stage="train", module=__name__, params=params, inputs=list(inputs.values()),
                     outputs=sorted(p for p in model_dir.iterdir() if p.is_file()), started=started, seed=seed)
    # training.json lists the kept checkpoints attribution reads: its own sidecar ties them to this job
    write_provenance(files.summary, stage="train", module=__name__, params=params, inputs=list(inputs.values()),
                     outputs=[files.summary, files.log], started=started, seed=seed)
    write_json({**job, "finished": True}, checkpoints_dir / JOB_FILE)  # a rerun of this job retrains
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt train", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the key under models:")
    parser.add_argument("--spec", required=True, help="JSON: {model: <models entry>, base: path, training: {...}}")
    parser.add_argument("--train", required=True, help="the mixture's train.parquet")
    parser.add_argument("--validation", required=True, help="the mixture's validation.parquet")
    parser.add_argument("--model-out", required=True, help="the model directory; checkpoints go beside it")
    parser.add_argument("--summary", required=True, help="training.json: steps, best checkpoint, throughput")
    parser.add_argument("--log", required=True, help="training_log.parquet: the loss and learning-rate history")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("XLT_TORCH_THREADS", "1")))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    spec = json.loads(args.spec)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    files = RunFiles(Path(args.train), Path(args.validation), Path(args.model_out), Path(args.summary),
                     Path(args.log))
    summary = train_run(args.model, spec["model"], spec["base"], spec["training"], files.train.parent, files,
                        args.seed, world_size, keep=spec.get("keep", KEEP_RESUMABLE))
    if summary.get("main_process") is False:
        return 0
    print(f"{args.model} on {files.train.parent}: {summary['steps']} steps, best eval loss "
          f"{summary['best_eval_loss']:.4f} at {summary['best_checkpoint']}"
          + (f", {summary['tokens_per_s']:.0f} tokens/s" if summary["tokens_per_s"] else ""))
    return 0 if math.isfinite(summary["best_eval_loss"]) else 1


if __name__ == "__main__":
    sys.exit(main())
