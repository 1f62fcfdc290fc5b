"""Benchmark: the attribution gradient engine vs a naive per-example backward loop vs captum's TracInCP, and the
projection's fidelity, all in one run, one torch thread.

1. Speed and exactness: the same tiny Llama (the embedded tiny_1m shape), the same synthetic chats, two
   checkpoints, float64, every Linear layer of the decoder blocks: TracInCP scores (train x test) from
   ``xlt.tracin.checkpoint_scores`` (one batched backward per batch, hooks on the layers), from a loop of
   single-example backward passes with flattened gradients, and from ``captum.influence.TracInCP`` on the
   same layers and loss. Prints training examples scored per second for each, the ratios, and the largest
   score difference relative to the largest score.
2. Projection: scores with each layer's factors projected to k (LoGra-style) against exact ones: Spearman
   correlation and top-10 proponent overlap for several k.
3. With ``--run results/runs/tiny_1m/mt-n30/seed0`` (an attributed run of ``make study``): the run's share
   matrix recomputed from projected gradients, and how many cells fall inside the exact matrix's interval.

    python bench/attribution.py [--train 48] [--test 16] [--run results/runs/tiny_1m/mt-n30/seed0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "workflow"))

from xlt.gradients import (  # noqa: E402
    Projector,
    encode_conversation,
    example_losses,
    flat_gradient,
    gradient_layers,
    pad_batch,
)
from xlt.tracin import Checkpoint, checkpoint_scores, tracin_cp  # noqa: E402

ARCHITECTURE = {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 3, "num_attention_heads": 4,
                "num_key_value_heads": 2}
MAX_LENGTH = 256


def chats(count: int, seed: int) -> list[list[dict[str, str]]]:
    """Synthetic benchmark chats of the three tasks in the paper's languages."""
    from xlt.synthetic.benchmark import build_benchmark
    from xlt.synthetic.lexicon import available_languages

    rows = []
    for task in ("math", "summarization", "instruction_following"):
        frame = build_benchmark(task, task, seed, {"train": count, "validation": 1, "test": 1}, available_languages())
        rows += frame.filter(split="train")["messages"].to_list()
    rng = np.random.default_rng(seed)
    return [rows[i] for i in rng.permutation(len(rows))[:count]]


def build(tokenizer_texts: list[str]):
    from transformers import LlamaConfig, LlamaForCausalLM

    from xlt.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(tokenizer_texts, 1024)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        config = LlamaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                             tie_word_embeddings=True, max_position_embeddings=1024, **ARCHITECTURE)
        models.append(LlamaForCausalLM(config).double().eval())
    return tokenizer, models


def naive_scores(models, checkpoints, tokenizer, train, test) -> np.ndarray:
    """A backward pass per example, full flattened gradients, then the dot products."""
    total = 0.0
    for model, checkpoint in zip(models, checkpoints, strict=True):
        layers = gradient_layers(model)

        def gradient(messages, model=model, layers=layers):
            batch = pad_batch([encode_conversation(tokenizer, messages, MAX_LENGTH)], tokenizer.pad_token_id)
            return flat_gradient(model, layers, batch)

        g_test = torch.stack([gradient(m) for m in test])
        g_train = torch.stack([gradient(m) for m in train])
        total = total + checkpoint.learning_rate * (g_train @ g_test.T).numpy()
    return total


class LogitsOf(torch.nn.Module):
    """captum calls ``model(*inputs)``: input ids, attention mask and position ids in, logits out."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                          use_cache=False).logits


def reply_loss(logits, labels):
    """Per-example mean cross-entropy over reply tokens (captum: a loss without reduction)."""
    targets = labels[:, 1:]
    losses = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                               targets.clamp(min=0).reshape(-1), reduction="none")
    counted = (targets != -100).to(losses.dtype)
    return (losses.view(targets.shape) * counted).sum(1) / counted.sum(1)


def captum_scores(models, checkpoints, tokenizer, train, test, batch_size: int) -> np.ndarray:
    from captum.influence import TracInCP
    from torch.utils.data import DataLoader, TensorDataset

    def tensors(conversations):
        batch = pad_batch([encode_conversation(tokenizer, m, MAX_LENGTH) for m in conversations],
                          tokenizer.pad_token_id)
        return batch.input_ids, batch.attention_mask, batch.position_ids, batch.labels

    wrapper = LogitsOf(models[0])
    layers = [f"model.{name}" for name in gradient_layers(models[0])]
    with tempfile.TemporaryDirectory() as scratch:
        paths = []
        for model, checkpoint in zip(models, checkpoints, strict=True):
            path = Path(scratch) / f"{checkpoint.step}.pt"
            torch.save({"state": model.state_dict(), "lr": checkpoint.learning_rate}, path)  # bench-only files
            paths.append(str(path))

        def load(module, path):
            saved = torch.load(path, weights_only=True)
            module.model.load_state_dict(saved["state"])
            return saved["lr"]

        tracin = TracInCP(wrapper, DataLoader(TensorDataset(*tensors(train)), batch_size=batch_size), paths,
                          checkpoints_load_func=load, layers=layers, loss_fn=reply_loss, batch_size=batch_size,
                          sample_wise_grads_per_batch=False)
        scores = tracin.influence(tensors(test), k=None)
    return scores.T.double().numpy()


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a.ravel(), b.ravel()).statistic)


def top_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Mean overlap of the top-k training examples per test example."""
    top_a, top_b = np.argsort(-a, axis=0)[:k], np.argsort(-b, axis=0)[:k]
    return float(np.mean([len(set(top_a[:, j]) & set(top_b[:, j])) / k for j in range(a.shape[1])]))


def speed_and_exactness(args) -> None:
    conversations = chats(args.train + args.test, 0)
    texts = [turn["content"] for chat in chats(200, 1) for turn in chat]
    tokenizer, models = build(texts)
    train, test = conversations[:args.train], conversations[args.train:]
    checkpoints = [Checkpoint("a", 10, 1e-3), Checkpoint("b", 20, 5e-4)]
    layers = gradient_layers(models[0])
    size = sum(layer.weight.numel() for layer in layers.values())
    tokens = np.mean([len(encode_conversation(tokenizer, m, MAX_LENGTH)["input_ids"]) for m in conversations])
    print(f"model: tiny Llama {sum(p.numel() for p in models[0].parameters()) / 1e6:.2f}M parameters, "
          f"{len(layers)} Linear layers ({size} gradient entries), float64, {torch.get_num_threads()} thread(s); "
          f"{len(train)} train x {len(test)} test chats of {tokens:.0f} tokens on average, "
          f"{len(checkpoints)} checkpoints")

    def engine():
        return tracin_cp([checkpoint_scores(model, tokenizer, train, test, checkpoint, max_length=MAX_LENGTH,
                                            batch_size=args.batch) for model, checkpoint in
                          zip(models, checkpoints, strict=True)], "dot")

    ours, ours_s = timed(engine)
    naive, naive_s = timed(lambda: naive_scores(models, checkpoints, tokenizer, train, test))
    rows = [("xlt engine (batched hooks)", ours_s, ours), ("naive per-example loop", naive_s, naive)]
    try:
        theirs, theirs_s = timed(lambda: captum_scores(models, checkpoints, tokenizer, train, test, args.batch))
        rows.append(("captum TracInCP", theirs_s, theirs))
    except ImportError:
        print("captum is not installed (pip install captum==0.9.0): its row is left out")
    scale = np.abs(naive).max()
    print(f"\n{'method':<28} {'seconds':>8} {'train ex/s':>11} {'engine is x faster':>19} {'max |diff| / max':>17}")
    for name, seconds, scores in rows:
        print(f"{name:<28} {seconds:8.2f} {len(train) / seconds:11.1f} {seconds / ours_s:19.1f} "
              f"{np.abs(scores - naive).max() / scale:17.2e}")
    loss = example_losses(models[0], pad_batch([encode_conversation(tokenizer, test[0], MAX_LENGTH)],
                                               tokenizer.pad_token_id)).item()
    print(f"(differences are to the naive loop; a test loss for scale: {loss:.3f})")

    print("\nprojection (per layer, input and output-gradient factors to k each; float32 vectors): vs exact")
    exact = checkpoint_scores(models[1], tokenizer, train, test, checkpoints[1], max_length=MAX_LENGTH,
                              batch_size=args.batch)
    print(f"{'k':>5} {'numbers/example':>16} {'Spearman (dot)':>15} {'Spearman (cos)':>15} {'top-10 overlap':>15}")
    for k in (8, 16, 32, 64):
        projector = Projector(k, seed=0, dtype=torch.float64)
        projected = checkpoint_scores(models[1], tokenizer, train, test, checkpoints[1], max_length=MAX_LENGTH,
                                      batch_size=args.batch, projector=projector, vector_dtype=torch.float32)
        numbers = sum(projector.size(name, layer) for name, layer in gradient_layers(models[1]).items())
        print(f"{k:>5} {numbers:>16} {spearman(projected.dot, exact.dot):>15.3f} "
              f"{spearman(projected.cosine, exact.cosine):>15.3f} "
              f"{top_overlap(projected.cosine, exact.cosine, 10):>15.2f}")


def projected_share_matrix(run: Path, dims: list[int]) -> None:
    """The run's share matrix from projected gradients against the exact one (make study's tables)."""
    import os

    import polars as pl

    from xlt.attribute import attribution_tables, score_shard
    from xlt.io import read_table

    run = run.resolve()
    workdir = run.parents[4]  # {workdir}/results/runs/{model}/{mixture}/seed{seed}
    os.chdir(workdir)  # training.json lists the checkpoints relative to the study folder
    shard = run / "attribution/scores/shard0-of1.parquet"
    spec = json.loads(shard.with_name("shard0-of1.provenance.json").read_text())["params"]
    spec = {key: spec[key] for key in ("model", "base", "max_length", "attribution")}
    model_key = run.parent.parent.name
    model_run = f"{run.parent.name}/{run.name}"
    tables_dir = workdir / "results/tables/attribution" / model_key / model_run
    analysis = json.loads((tables_dir / "shares.provenance.json").read_text())["params"]
    exact = read_table(tables_dir / "shares.parquet").filter(pl.col("step").is_null())
    examples = read_table(run / "attribution/examples.parquet")
    summary = json.loads((run / "training.json").read_text())
    print(f"\n{model_key} {model_run}: share matrix (TracInCP, {analysis['primary']}, top-{analysis['top_k']}) from "
          f"projected gradients vs the exact run")
    for dim in dims:
        settings = {**spec, "attribution": {**spec["attribution"], "projection": dim}}
        started = time.perf_counter()
        frame, _ = score_shard(examples, summary, settings, 0, 1, model_key)
        seconds = time.perf_counter() - started
        shares = attribution_tables(examples, [frame], analysis)["shares"].filter(pl.col("step").is_null())
        joined = exact.join(shares, on=["normalisation", "direction", "test_lang", "train_lang"], suffix="_k")
        primary = joined.filter(normalisation=analysis["primary"], direction="proponents")
        inside = primary.filter((pl.col("share_k") >= pl.col("ci_low") - 1e-9)
                                & (pl.col("share_k") <= pl.col("ci_high") + 1e-9))
        print(f"  k={dim:>4}: {inside.height}/{primary.height} cells inside the exact interval, largest |share "
              f"difference| {float((primary['share_k'] - primary['share']).abs().max()):.3f}; scored in "
              f"{seconds:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=48)
    parser.add_argument("--test", type=int, default=16)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--run", help="an attributed run of make study, e.g. results/runs/tiny_1m/mt-n30/seed0")
    parser.add_argument("--dims", default="16,64", help="projection dimensions for --run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    speed_and_exactness(args)
    if args.run:
        projected_share_matrix(Path(args.run), [int(dim) for dim in args.dims.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
