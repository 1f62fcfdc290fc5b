"""Training: assistant-only loss, checkpoints with learning rates, best checkpoint, resume, LoRA, load errors."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from conftest import ROOT, TRAINING

from xlt.train import JOB_FILE, ModelLoadError, RunBusyError, TruncationError, hold_run_lock, load_base_model, train_run

EMBEDDED = {"source": "embedded", "train_mode": "full", "trust_remote_code": False}


@pytest.fixture(scope="module")
def trained(tiny_base_model, tiny_mixture, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    summary = train_run("tiny", EMBEDDED, str(tiny_base_model), TRAINING, tiny_mixture, run_dir, seed=0)
    return run_dir, summary


def run_files(mixture_dir, run_dir) -> list[str]:
    """The train CLI's file flags, laid out as the workflow's paths (the rule passes each one)."""
    return ["--train", str(mixture_dir / "train.parquet"), "--validation", str(mixture_dir / "validation.parquet"),
            "--model-out", str(run_dir / "model"), "--summary", str(run_dir / "training.json"),
            "--log", str(run_dir / "training_log.parquet")]


def test_the_loss_covers_the_assistant_reply_only(tiny_base_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base_model)
    messages = [{"role": "user", "content": "¿Cuánto es 2 + 3?"}, {"role": "assistant", "content": "La respuesta es 5."}]
    encoded = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    trained_on = [token for token, mask in zip(encoded["input_ids"], encoded["assistant_masks"]) if mask]
    # the reply and the end-of-turn token (so the model learns to stop), nothing of the prompt
    assert tokenizer.decode(trained_on) == "La respuesta es 5.<|im_end|>"


def test_the_cpu_reply_token_loss_and_its_gradient_are_trls(tiny_base_model, tiny_mixture, tmp_path):
    """On the CPU the trainer projects only reply positions (``reply_token_loss``); on a collated batch of real
    chats, padded, its loss and gradients are those of TRL's own SFTTrainer (fused LM head)."""
    import torch
    from trl import SFTConfig, SFTTrainer

    from xlt.train import messages_dataset, reply_token_loss, sft_trainer

    model, tokenizer = load_base_model("tiny", EMBEDDED, str(tiny_base_model), torch.float32)
    args = SFTConfig(output_dir=str(tmp_path), per_device_train_batch_size=8, max_length=192,
                     assistant_only_loss=True, use_cpu=True, report_to=[], disable_tqdm=True)
    train = messages_dataset(tiny_mixture / "train.parquet")
    ours = sft_trainer(False, model=model, args=args, train_dataset=train, processing_class=tokenizer)
    assert type(ours) is not SFTTrainer
    batch = next(iter(ours.get_train_dataloader()))
    assert (batch["attention_mask"] == 0).any() and (batch["labels"] == -100).any()  # padding and prompts

    def loss_and_grads(trainer):
        model.zero_grad()
        loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=None)
        loss.backward()
        return loss.item(), [p.grad.clone() for p in model.parameters()]

    loss, grads = loss_and_grads(ours)
    reference, reference_grads = loss_and_grads(SFTTrainer(model=model, args=args, train_dataset=train,
                                                           processing_class=tokenizer))
    assert loss == pytest.approx(reference, rel=1e-5) and loss > 0.5
    for grad, expected in zip(grads, reference_grads, strict=True):
        torch.testing.assert_close(grad, expected, rtol=1e-4, atol=1e-6)
    # under gradient accumulation the Trainer passes the reply tokens of the whole accumulated batch
    tokens = int((batch["labels"][:, 1:] != -100).sum())
    assert reply_token_loss(model, dict(batch), num_items_in_batch=torch.tensor(3 * tokens)).item() == \
        pytest.approx(loss / 3, rel=1e-5)
    # through a LoRA model (adapters made non-zero) the decoder applies the adapters: the full-logit loss
    from peft import LoraConfig, get_peft_model

    lora = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, parameter in lora.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.5)
        logits = lora(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        full = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 batch["labels"][:, 1:].reshape(-1), ignore_index=-100)
        assert reply_token_loss(lora, dict(batch)).item() == pytest.approx(full.item(), rel=1e-5)
        assert abs(full.item() - loss) > 1e-3  # the adapters changed the loss


def steps_per_epoch(mixture_dir: Path) -> int:
    return math.ceil(pl.read_parquet(mixture_dir / "train.parquet").height / TRAINING["batch_size"])


def test_training_keeps_every_checkpoint_with_its_learning_rate_and_picks_the_best(trained, tiny_mixture):
    run_dir, summary = trained
    checkpoints = summary["checkpoints"]
    steps = steps_per_epoch(tiny_mixture)
    assert summary["steps"] == steps == 7  # 100 examples (60 en + 4 x 10), batch 16, one epoch
    assert [c["step"] for c in checkpoints] == [2, 4, 6, 7]  # every save_steps, and the last step
    assert all(c["learning_rate"] == TRAINING["learning_rate"] for c in checkpoints)
    best = min(checkpoints, key=lambda c: c["eval_loss"])
    assert summary["best_checkpoint"] == best["path"] and summary["best_eval_loss"] == pytest.approx(best["eval_loss"])
    log = pl.read_parquet(run_dir / "training_log.parquet")
    assert log["loss"].drop_nulls().len() > 0 and log["eval_loss"].drop_nulls().len() == 4
    assert summary["tokens_per_s"] > 0
    provenance = json.loads((run_dir / "model" / "provenance.json").read_text())
    assert provenance["stage"] == "train" and provenance["params"]["training"] == TRAINING


def resume_state(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith(("optimizer", "scheduler", "rng_state")))


def test_only_the_newest_checkpoint_holds_the_optimizer_state(trained):
    run_dir, summary = trained
    folders = [Path(c["path"]) for c in summary["checkpoints"]]
    assert [resume_state(folder) for folder in folders[:-1]] == [[], [], []]  # weights-only
    assert resume_state(folders[-1]) == ["optimizer.pt", "rng_state.pth", "scheduler.pt"]
    assert all((folder / "model.safetensors").exists() and (folder / "trainer_state.json").exists()
               for folder in folders)
    weights_bytes = (folders[0] / "model.safetensors").stat().st_size
    assert (folders[-1] / "optimizer.pt").stat().st_size > 1.9 * weights_bytes  # two AdamW moments
    assert summary["keep_checkpoints"] == "resumable" and all(c["kept"] for c in summary["checkpoints"])
    assert summary["disk_bytes"]["checkpoints"] == sum(p.stat().st_size for folder in folders for p in folder.iterdir())


def test_attribution_loads_a_full_checkpoint_with_every_parameter_trainable(trained, tiny_base_model):
    import torch
    from transformers import AutoModelForCausalLM

    from xlt.gradients import gradient_layers
    from xlt.loading import load_checkpoint

    run_dir, summary = trained
    model, tokenizer = load_checkpoint("tiny", EMBEDDED, str(tiny_base_model), summary["best_checkpoint"],
                                       torch.float32)
    assert not model.training and tokenizer.chat_template
    saved = AutoModelForCausalLM.from_pretrained(run_dir / "model")
    assert all(torch.equal(p, dict(saved.named_parameters())[n]) for n, p in model.named_parameters())
    assert len(gradient_layers(model)) == 7 * 2  # q, k, v, o, gate, up, down in each of 2 blocks


def test_the_saved_model_is_the_best_checkpoint(trained):
    from safetensors.torch import load_file

    run_dir, summary = trained
    saved = load_file(run_dir / "model" / "model.safetensors")
    best = load_file(Path(summary["best_checkpoint"]) / "model.safetensors")
    assert saved.keys() == best.keys()
    assert all((saved[name] == best[name]).all() for name in saved)


def test_a_killed_training_job_resumes_from_its_last_checkpoint(tiny_base_model, tiny_mixture, tmp_path):
    settings = {**TRAINING, "epochs": 3, "save_steps": 3}
    spec = json.dumps({"model": EMBEDDED, "base": str(tiny_base_model), "training": settings})
    command = [sys.executable, "-m", "xlt.cli", "train", "--model", "tiny", "--spec", spec,
               *run_files(tiny_mixture, tmp_path), "--seed", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    job = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = tmp_path / "checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and not (checkpoints / "checkpoint-6" / "trainer_state.json").exists():
        assert job.poll() is None, "training ended before it could be interrupted"
        time.sleep(0.2)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not (tmp_path / "model").exists()  # nothing that looks finished
    done = sorted(int(p.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*")
                  if (p / "trainer_state.json").exists())
    total = 3 * steps_per_epoch(tiny_mixture)
    assert done and done[-1] < total
    # what was on disk at the kill: resume state in the newest complete checkpoint only
    assert [resume_state(checkpoints / f"checkpoint-{step}") != [] for step in done] == [False] * (len(done) - 1) + [True]
    rerun = subprocess.run(command, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads((tmp_path / "training.json").read_text())
    assert summary["resumed_from"] == str(checkpoints / f"checkpoint-{done[-1]}")
    assert summary["steps"] == total  # the interrupted run's full length
    # the resumed run ends where an uninterrupted one does: the same saved model, the same loss curve
    fresh = tmp_path / "fresh"
    train_run("tiny", EMBEDDED, str(tiny_base_model), settings, tiny_mixture, fresh, seed=0)
    resumed_log, fresh_log = (pl.read_parquet(d / "training_log.parquet").drop_nulls("loss") for d in (tmp_path, fresh))
    assert resumed_log.filter(pl.col("step") > done[-1])["loss"].to_list() == pytest.approx(
        fresh_log.filter(pl.col("step") > done[-1])["loss"].to_list(), rel=1e-5)
    assert weights(tmp_path) == weights(fresh)


def test_a_second_trainer_on_a_busy_run_fails_at_once(tiny_base_model, tiny_mixture, tmp_path):
    """An orphaned training process of a killed Snakemake, and its rerun: the second one stops with one line."""
    spec = json.dumps({"model": EMBEDDED, "base": str(tiny_base_model), "training": {**TRAINING, "epochs": 200}})
    command = [sys.executable, "-m", "xlt.cli", "train", "--model", "tiny", "--spec", spec,
               *run_files(tiny_mixture, tmp_path), "--seed", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        lock = tmp_path / ".train.lock"
        while time.time() < deadline and not (lock.exists() and "pid" in lock.read_text()):
            assert first.poll() is None, "the first trainer ended early"
            time.sleep(0.2)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert f"another training process holds this run (pid {first.pid} " in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1, second.stderr  # one line, no traceback
        assert first.poll() is None  # the first one trains on, untouched
    finally:
        first.kill()
        first.wait()


def weights(run_dir: Path) -> bytes:
    return (run_dir / "model" / "model.safetensors").read_bytes()


SHORT = {**TRAINING, "max_steps": 4, "save_steps": 2}


@pytest.fixture(scope="module")
def short_run(tiny_base_model, tiny_mixture, tmp_path_factory):
    """A finished 4-step run, and its weights."""
    run_dir = tmp_path_factory.mktemp("short")
    train_run("tiny", EMBEDDED, str(tiny_base_model), SHORT, tiny_mixture, run_dir, seed=0)
    return run_dir, weights(run_dir)


def rerun_of(run: Path, where: Path) -> Path:
    """A copy of a finished run with its checkpoints and job record, its model removed as Snakemake removes the
    outputs of a job it reruns."""
    import shutil

    shutil.copytree(run, where)
    shutil.rmtree(where / "model")
    return where


def test_checkpoints_of_another_config_are_discarded_and_the_rerun_equals_a_fresh_run(
        short_run, tiny_base_model, tiny_mixture, tmp_path):
    first, old_weights = short_run
    edited = {**SHORT, "learning_rate": SHORT["learning_rate"] / 10}
    rerun = rerun_of(first, tmp_path / "rerun")  # the old run's checkpoints stay where the rerun trains
    summary = train_run("tiny", EMBEDDED, str(tiny_base_model), edited, tiny_mixture, rerun, seed=0)
    assert summary["resumed_from"] is None and summary["steps"] == 4
    fresh = tmp_path / "fresh"
    train_run("tiny", EMBEDDED, str(tiny_base_model), edited, tiny_mixture, fresh, seed=0)
    assert weights(rerun) != old_weights
    assert weights(rerun) == weights(fresh)
    assert json.loads((rerun / "checkpoints" / JOB_FILE).read_text())["params"]["training"] == edited


def test_a_forced_rerun_of_a_finished_job_trains_again_from_the_start(short_run, tiny_base_model, tiny_mixture,
                                                                       tmp_path):
    first, old_weights = short_run
    rerun = rerun_of(first, tmp_path / "rerun")
    summary = train_run("tiny", EMBEDDED, str(tiny_base_model), SHORT, tiny_mixture, rerun, seed=0)
    assert summary["resumed_from"] is None and summary["steps"] == 4
    assert summary["tokens_per_s"] > 0
    assert weights(rerun) == old_weights  # same job, same bytes: it retrained, and CPU training is deterministic


def test_a_checkpoint_cut_short_is_skipped_for_the_last_complete_one(short_run, tiny_base_model, tiny_mixture,
                                                                      tmp_path):
    first, _ = short_run
    rerun = rerun_of(first, tmp_path / "rerun")
    # a kill inside the Trainer's save of the last checkpoint, before the job finished: checkpoint-2 still holds
    # its resume state then (it is stripped only once checkpoint-4 is complete); checkpoint-4's stands in for it
    import shutil

    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        shutil.copy(rerun / "checkpoints" / "checkpoint-4" / name, rerun / "checkpoints" / "checkpoint-2" / name)
    (rerun / "checkpoints" / "checkpoint-4" / "trainer_state.json").unlink()
    job = json.loads((rerun / "checkpoints" / JOB_FILE).read_text())
    (rerun / "checkpoints" / JOB_FILE).write_text(json.dumps({**job, "finished": False}))
    summary = train_run("tiny", EMBEDDED, str(tiny_base_model), SHORT, tiny_mixture, rerun, seed=0)
    assert summary["resumed_from"] == str(rerun / "checkpoints" / "checkpoint-2")
    assert summary["steps"] == 4 and [c["step"] for c in summary["checkpoints"]] == [2, 4]
    assert summary["tokens_per_s"] > 0  # the resumed clock continues the interrupted one


def test_a_run_held_by_another_trainer_fails_before_loading_anything(tiny_base_model, tiny_mixture, tmp_path):
    holder = hold_run_lock(tmp_path)
    try:
        with pytest.raises(RunBusyError, match="another training process holds this run"):
            train_run("tiny", EMBEDDED, str(tiny_base_model), SHORT, tiny_mixture, tmp_path, seed=0)
    finally:
        holder.close()
    assert not (tmp_path / "checkpoints").exists()


def test_a_max_length_that_truncates_every_reply_names_the_key(tiny_base_model, tiny_mixture, tmp_path):
    with pytest.raises(TruncationError, match=r"training.max_length .*: 8 tokens truncate every reply of the train set"):
        train_run("tiny", EMBEDDED, str(tiny_base_model), {**SHORT, "max_length": 8}, tiny_mixture, tmp_path, seed=0)


def test_lora_training_saves_a_merged_model(tiny_base_model, tiny_mixture, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    spec = {"source": "embedded", "train_mode": "lora", "trust_remote_code": False,
            "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}}
    summary = train_run("tiny", spec, str(tiny_base_model), {**TRAINING, "max_steps": 4, "save_steps": 2},
                        tiny_mixture, tmp_path, seed=0)
    assert summary["steps"] == 4
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    base = AutoModelForCausalLM.from_pretrained(tiny_base_model)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    changed = [name for name, p in merged.named_parameters() if not (p == dict(base.named_parameters())[name]).all()]
    assert changed and all("q_proj" in name or "v_proj" in name for name in changed)
    # attribution loads a LoRA checkpoint as base + adapter, its lora_A/lora_B layers the trainable ones
    from xlt.gradients import gradient_layers
    from xlt.loading import load_checkpoint

    model, _ = load_checkpoint("tiny", spec, str(tiny_base_model), summary["best_checkpoint"], torch.float32)
    assert sorted({name.rsplit(".", 2)[-2] for name in gradient_layers(model)}) == ["lora_A", "lora_B"]
    ids = torch.tensor([[5, 17, 99, 3, 42]])
    with torch.no_grad():
        assert torch.allclose(model(input_ids=ids).logits, merged.eval()(input_ids=ids).logits, atol=1e-5)


def test_a_missing_model_names_its_config_key(tmp_path):
    import torch

    with pytest.raises(ModelLoadError, match=r"models.llama.path: '.*nowhere' is not a directory"):
        load_base_model("llama", {"source": "local", "path": str(tmp_path / "nowhere"), "trust_remote_code": False}, str(tmp_path / "nowhere"),
                        torch.float32)
    with pytest.raises(ModelLoadError, match=r"models.llama.path: cannot load 'org/not-here' \(the hub is unreachable"):
        load_base_model("llama", {"source": "hub", "path": "org/not-here", "trust_remote_code": False}, "org/not-here", torch.float32)


def test_a_tokenizer_without_chat_template_gets_ours(tiny_base_model):
    from transformers import AutoTokenizer

    from xlt.tokenizer import ensure_chat_template

    ours = AutoTokenizer.from_pretrained(tiny_base_model)
    bare = AutoTokenizer.from_pretrained(tiny_base_model)
    bare.chat_template = None  # like a base checkpoint
    messages = [{"role": "user", "content": "2 + 2?"}, {"role": "assistant", "content": "4"}]
    assert ensure_chat_template(bare).apply_chat_template(messages, tokenize=False) == \
        ours.apply_chat_template(messages, tokenize=False) == \
        "<|im_start|>user\n2 + 2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"


def test_the_base_model_directory_holds_only_the_model(tiny_base_model):
    assert sorted(p.name for p in tiny_base_model.iterdir() if p.is_dir()) == []
    assert {"config.json", "model.safetensors", "tokenizer.json", "pretraining.json", "provenance.json"} <= {
        p.name for p in tiny_base_model.iterdir()}


def test_what_a_finished_run_keeps_is_what_its_retention_says(short_run, tmp_path):
    from xlt.train import retain_checkpoints

    first, _ = short_run
    kept = {}
    for keep in ("resumable", "weights", "none"):
        run = rerun_of(first, tmp_path / keep)
        freed = retain_checkpoints(run / "checkpoints", keep)
        kept[keep] = {path.name: resume_state(path) for path in (run / "checkpoints").glob("checkpoint-*")}
        assert (run / "checkpoints" / JOB_FILE).exists() and freed["kept"] >= 0
        if keep == "weights":
            assert all((run / "checkpoints" / name / "model.safetensors").exists() for name in kept[keep])
    assert kept == {"resumable": {"checkpoint-2": [], "checkpoint-4": ["optimizer.pt", "rng_state.pth", "scheduler.pt"]},
                    "weights": {"checkpoint-2": [], "checkpoint-4": []},
                    "none": {}}


def test_a_run_that_keeps_no_checkpoint_keeps_its_model_and_says_so(tiny_base_model, tiny_mixture, tmp_path):
    from xlt.tracin import kept_checkpoints

    summary = train_run("tiny", EMBEDDED, str(tiny_base_model), SHORT, tiny_mixture, tmp_path, seed=0, keep="none")
    assert not list((tmp_path / "checkpoints").glob("checkpoint-*")) and (tmp_path / "checkpoints" / JOB_FILE).exists()
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert [(c["step"], c["kept"]) for c in summary["checkpoints"]] == [(2, False), (4, False)]
    assert summary["disk_bytes"]["checkpoints_freed"] > 3 * summary["disk_bytes"]["model"]  # 2 weights + 1 optimizer
    with pytest.raises(ValueError, match="training.keep_checkpoints"):
        kept_checkpoints(summary)


def test_a_checkpoint_without_optimizer_state_is_not_resumed(short_run, tiny_base_model, tiny_mixture, tmp_path):
    """A kill after a run stripped its checkpoints, before it was marked finished: AdamW must not restart cold
    from weights-only checkpoints; the job trains from the start."""
    from xlt.train import retain_checkpoints

    first, old_weights = short_run
    rerun = rerun_of(first, tmp_path / "rerun")
    retain_checkpoints(rerun / "checkpoints", "weights")
    job = json.loads((rerun / "checkpoints" / JOB_FILE).read_text())
    (rerun / "checkpoints" / JOB_FILE).write_text(json.dumps({**job, "finished": False}))
    summary = train_run("tiny", EMBEDDED, str(tiny_base_model), SHORT, tiny_mixture, rerun, seed=0)
    assert summary["resumed_from"] is None and summary["steps"] == 4
    assert weights(rerun) == old_weights


def test_two_data_parallel_processes_train_like_one(tiny_base_model, tiny_mixture, tmp_path):
    """The multi-GPU path (accelerate launch, one process per device) on 2 CPU processes with gloo: same
    global batch (gradient accumulation halves), so the same loss curve as 1 process."""
    settings = {**TRAINING, "max_steps": 4, "save_steps": 2}
    spec = json.dumps({"model": EMBEDDED, "base": str(tiny_base_model), "training": settings})
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow"), "OMP_NUM_THREADS": "1"}
    logs = {}
    for processes in (1, 2):
        out = tmp_path / f"p{processes}"
        command = [sys.executable, "-m", "xlt.launch", "--processes", str(processes), "--strategy", "ddp", "--cpu",
                   "train", "--model", "tiny", "--spec", spec, *run_files(tiny_mixture, out), "--seed", "0"]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        summary = json.loads((out / "training.json").read_text())
        assert (summary["processes"], summary["gradient_accumulation_steps"]) == (processes, 2 // processes)
        assert (out / "model" / "model.safetensors").exists()
        logs[processes] = pl.read_parquet(out / "training_log.parquet")
    # two "nodes" on localhost, one process each: the multi-node path (a launcher per node, torchrun's static
    # rendezvous at the first node), as srun starts it on a SLURM job's nodes
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "nodes2"
    launchers = [subprocess.Popen(
        [sys.executable, "-m", "xlt.launch", "--processes", "2", "--strategy", "ddp", "--cpu", "--nodes", "2",
         "--node-rank", str(rank), "--main-address", "127.0.0.1", "--port", str(port),
         "train", "--model", "tiny", "--spec", spec, *run_files(tiny_mixture, out), "--seed", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for rank in (0, 1)]
    outputs = [launcher.communicate(timeout=600)[0] for launcher in launchers]
    assert [launcher.returncode for launcher in launchers] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    summary = json.loads((out / "training.json").read_text())
    assert (summary["processes"], summary["gradient_accumulation_steps"]) == (2, 1)
    logs["nodes"] = pl.read_parquet(out / "training_log.parquet")
    single, double, nodes = (logs[p].drop_nulls("loss")["loss"].to_list() for p in (1, 2, "nodes"))
    assert len(single) == len(double) == len(nodes) == 4
    assert double == pytest.approx(single, rel=1e-4) and nodes == pytest.approx(single, rel=1e-4)
    # validation batches split across processes: per-batch means weigh examples slightly differently
    single, double = (logs[p].drop_nulls("eval_loss")["eval_loss"].to_list() for p in (1, 2))
    assert double == pytest.approx(single, rel=0.05)


def test_a_job_on_several_slurm_nodes_starts_one_launcher_per_node():
    from xlt.launch import first_host, launch_command, srun_command

    assert first_host("gpu[03-05,07],gpu11") == "gpu03" and first_host("node7") == "node7"
    assert first_host("a100-[12,14]") == "a100-12"
    srun = srun_command(2, ["--processes", "16", "--strategy", "fsdp", "--nodes", "2"], ["train", "--x"])
    assert srun[:2] == ["srun", "--nodes"] and "--overlap" in srun
    assert srun[-5:] == ["2", "--node-rank", "slurm", "train", "--x"]
    node = launch_command(16, "fsdp", ["train"], nodes=2, node_rank=1, main_address="gpu03")
    assert node[node.index("--num_processes") + 1] == "16" and node[node.index("--num_machines") + 1] == "2"
    assert node[node.index("--machine_rank") + 1] == "1" and node[node.index("--main_process_ip") + 1] == "gpu03"
    with pytest.raises(ValueError, match="do not split evenly"):
        launch_command(12, "fsdp", ["train"], nodes=8, main_address="gpu03")


def test_the_launcher_picks_accelerate_with_the_strategy_config_for_several_gpus():
    from xlt.launch import CONFIGS, launch_command

    assert launch_command(1, "single", ["train", "--x"]) == [sys.executable, "-m", "xlt.cli", "train", "--x"]
    fsdp = launch_command(4, "fsdp", ["train"])
    assert fsdp[1:3] == ["-m", "accelerate.commands.launch"] and fsdp[fsdp.index("--num_processes") + 1] == "4"
    assert fsdp[fsdp.index("--config_file") + 1] == str(CONFIGS / "fsdp.yaml") and fsdp[-3:] == ["-m", "xlt.cli", "train"]
    import yaml

    assert yaml.safe_load((CONFIGS / "fsdp.yaml").read_text())["distributed_type"] == "FSDP"
    assert yaml.safe_load((CONFIGS / "ddp.yaml").read_text())["distributed_type"] == "MULTI_GPU"
