"""TracInCP over a run's kept checkpoints (Pruthi et al. 2020), on the gradient engine (``xlt.gradients``).

influence(z, z') = sum over checkpoints c of lr_c * <g_c(z), g_c(z')>: ``dot``; the same over unit-normalised
gradients: ``cosine`` (the primary score: raw dot products favour short, high-gradient-norm examples). This
module computes each checkpoint's term; the sums over checkpoints are the analysis's (``xlt.influence``), so a
per-checkpoint view costs nothing more.

Checkpoints are the outer loop, each loaded once; the test examples' gradients are computed once per checkpoint
and every batch of training examples is contracted against them, so no training gradient is ever stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from xlt.gradients import (
    Projector,
    encode_conversation,
    example_gradients,
    gradient_layers,
    has_reply_tokens,
    pad_batch,
)

DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class Checkpoint:
    path: str
    step: int
    learning_rate: float


def kept_checkpoints(summary: dict[str, Any], every: int = 1) -> list[Checkpoint]:
    """The checkpoints of a run's ``training.json`` that attribution uses: every ``every``-th counted back from
    the last, so the end of training is always in."""
    rows = sorted((row for row in summary["checkpoints"] if row.get("kept", True)), key=lambda row: row["step"])
    if not rows:
        raise ValueError("the run kept no checkpoint (training.json lists none kept; training.keep_checkpoints "
                         "keeps them for the runs in attribution.runs, or for all runs with all)")
    missing = [row["step"] for row in rows if row.get("learning_rate") is None]
    if missing:
        raise ValueError(f"training.json: checkpoints at steps {missing} have no learning rate (TracIn weighs "
                         f"each checkpoint by it)")
    chosen = rows[::-1][::every][::-1]
    return [Checkpoint(row["path"], int(row["step"]), float(row["learning_rate"])) for row in chosen]


def encode_all(tokenizer, conversations: list[list[dict[str, str]]], max_length: int | None
               ) -> list[dict[str, list[int]] | None]:
    """Each conversation encoded as training saw it; None where truncation leaves no reply token (training
    dropped those examples, so they get no score)."""
    encoded = [encode_conversation(tokenizer, messages, max_length) for messages in conversations]
    return [example if has_reply_tokens(example) else None for example in encoded]


def length_batches(encoded: list[dict[str, list[int]] | None], batch_size: int) -> Iterator[list[int]]:
    """Indices of the scorable examples in batches of similar length (less padding), longest first."""
    order = sorted((i for i, example in enumerate(encoded) if example is not None),
                   key=lambda i: -len(encoded[i]["input_ids"]))
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


@dataclass
class GradientSet:
    """Per-example gradient vectors of a set of examples at one checkpoint (rows in input order; NaN rows for
    examples without reply tokens), their exact norms and losses."""
    vectors: torch.Tensor
    norms: torch.Tensor
    losses: torch.Tensor


def gradient_set(model, layers, encoded, pad_token_id: int, batch_size: int, projector: Projector | None,
                 vector_dtype) -> GradientSet:
    vectors = norms = losses = None
    for batch_indices in length_batches(encoded, batch_size):
        batch = pad_batch([encoded[i] for i in batch_indices], pad_token_id)
        grads = example_gradients(model, layers, batch, projector, vector_dtype)
        if vectors is None:
            vectors = torch.full((len(encoded), grads.vectors.shape[1]), float("nan"), dtype=grads.vectors.dtype)
            norms = torch.full((len(encoded),), float("nan"), dtype=torch.float64)
            losses = torch.full((len(encoded),), float("nan"), dtype=torch.float64)
        index = torch.tensor(batch_indices)
        vectors[index] = grads.vectors
        norms[index] = grads.squared_norms.sqrt()
        losses[index] = grads.losses.double()
    if vectors is None:
        raise ValueError("no example has a reply token left after max_length truncation")
    return GradientSet(vectors, norms, losses)


@dataclass
class CheckpointScores:
    """One checkpoint's term of TracIn for every (train, test) pair: (train, test) arrays, unscaled by lr."""
    checkpoint: Checkpoint
    dot: np.ndarray
    cosine: np.ndarray
    train_norms: np.ndarray
    test_norms: np.ndarray
    train_losses: np.ndarray
    test_losses: np.ndarray


def checkpoint_scores(model, tokenizer, train: list[list[dict[str, str]]], test: list[list[dict[str, str]]],
                      checkpoint: Checkpoint, *, max_length: int | None, layer_patterns: list[str] | None = None,
                      projector: Projector | None = None, batch_size: int = 16, vector_dtype=None
                      ) -> CheckpointScores:
    """Dot and cosine scores of every training example against every test example at one checkpoint."""
    layers = gradient_layers(model, layer_patterns)
    pad = tokenizer.pad_token_id
    test_set = gradient_set(model, layers, encode_all(tokenizer, test, max_length), pad, batch_size, projector,
                            vector_dtype)
    if torch.isnan(test_set.norms).any():
        blank = torch.nonzero(torch.isnan(test_set.norms)).flatten().tolist()
        raise ValueError(f"test examples {blank[:5]} have no reply token within max_length {max_length}")
    compute = torch.float64 if test_set.vectors.dtype == torch.float64 else torch.float32
    test_vectors = test_set.vectors.to(compute)
    encoded = encode_all(tokenizer, train, max_length)
    dot = np.full((len(train), len(test)), np.nan)
    train_norms, train_losses = np.full(len(train), np.nan), np.full(len(train), np.nan)
    for batch_indices in length_batches(encoded, batch_size):
        batch = pad_batch([encoded[i] for i in batch_indices], pad)
        grads = example_gradients(model, layers, batch, projector, vector_dtype)
        dot[batch_indices] = (grads.vectors.to(compute) @ test_vectors.T).double().numpy()
        train_norms[batch_indices] = grads.squared_norms.sqrt().numpy()
        train_losses[batch_indices] = grads.losses.double().numpy()
    test_norms = test_set.norms.numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = dot / np.outer(train_norms, test_norms)
    return CheckpointScores(checkpoint, dot, cosine, train_norms, test_norms, train_losses,
                            test_set.losses.numpy())


def tracin_scores(checkpoints: list[Checkpoint], load: Callable[[Checkpoint], tuple[Any, Any]],
                  train: list[list[dict[str, str]]], test: list[list[dict[str, str]]], **options
                  ) -> Iterator[CheckpointScores]:
    """Each checkpoint's scores in turn (``load`` gives a checkpoint's model and tokenizer; each is loaded
    once). ``options``: those of ``checkpoint_scores``."""
    for checkpoint in checkpoints:
        model, tokenizer = load(checkpoint)
        yield checkpoint_scores(model, tokenizer, train, test, checkpoint, **options)
        del model


def tracin_cp(per_checkpoint: list[CheckpointScores], score: str = "dot") -> np.ndarray:
    """sum_c lr_c * score_c: TracInCP of ``dot`` or ``cosine``, (train, test)."""
    return sum(item.checkpoint.learning_rate * getattr(item, score) for item in per_checkpoint)
