"""The gradient engine of attribution: per-example gradients of a causal LM's reply loss on chosen Linear layers,
exact or Kronecker-projected, from one batched backward.

Pure functions over a model and token batches:

- ``encode_conversation`` tokenizes a chat exactly as TRL's SFTTrainer did in training (the tokenizer's chat
  template, assistant-only labels from its ``{% generation %}`` mask, ``max_length`` truncation keeping the start;
  no packing), and ``pad_batch`` pads a batch on either side with position ids from the attention mask, so
  padding never changes an example's loss.
- ``gradient_layers`` picks the Linear layers: every ``nn.Linear`` inside the decoder blocks whose weight trains
  (embeddings and ``lm_head``, often tied, are left out; for a LoRA model those are the ``lora_A``/``lora_B``
  layers), optionally filtered by name patterns.
- ``example_gradients`` runs one forward and one backward for a batch. The loss of an example is the mean
  cross-entropy over its reply tokens, and the batch loss is the *sum* of the examples' losses, so the gradient
  of a layer's output at an example's positions is that example's alone. With the layer inputs ``x`` (hooked
  in the forward) and output gradients ``g``, an example's weight gradient is ``sum_t g_t^T x_t`` (a bias
  gradient is the same with ``x`` extended by a constant 1). The gradients themselves are never accumulated into
  ``.grad``.
- With a ``Projector`` (the LoGra idea) each layer's two factors are projected before the outer product:
  ``P_out G P_in^T = sum_t (P_out g_t)(P_in x_t)^T``, with Gaussian ``P`` of variance ``1/k`` per entry, so
  that inner products of projected gradients are unbiased estimates of the exact ones. The exact squared norm
  of every example's gradient is kept beside it (``sum_{t,s} (g_t . g_s)(x_t . x_s)``, without forming the
  gradient), so cosine scores are normalised by exact norms.
"""

from __future__ import annotations

import fnmatch
import zlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

IGNORE = -100  # label of a token without loss (prompt, template, padding)


# ---- tokens: as training saw them ----------------------------------------------------------------------------


def encode_conversation(tokenizer, messages: list[dict[str, str]], max_length: int | None) -> dict[str, list[int]]:
    """``input_ids`` and ``labels`` of one chat as TRL's SFTTrainer builds them with ``assistant_only_loss``:
    the chat template's tokens, labels only where the template's generation mask is set, the first
    ``max_length`` tokens kept. An example whose reply the truncation removes has no label left (training
    dropped it; ``has_reply_tokens`` tells)."""
    encoded = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
    ids = list(encoded["input_ids"])
    mask = list(encoded["assistant_masks"])
    labels = [token if bit else IGNORE for token, bit in zip(ids, mask, strict=True)]
    if max_length is not None:
        ids, labels = ids[:max_length], labels[:max_length]
    return {"input_ids": ids, "labels": labels}


def has_reply_tokens(encoded: dict[str, list[int]]) -> bool:
    """Whether an encoded example has a token to take the loss on (after the shift: not its first token)."""
    return any(label != IGNORE for label in encoded["labels"][1:])


@dataclass
class TokenBatch:
    input_ids: torch.Tensor  # (batch, length)
    attention_mask: torch.Tensor  # (batch, length), 1 on real tokens
    labels: torch.Tensor  # (batch, length), IGNORE where no loss
    position_ids: torch.Tensor  # (batch, length): from the attention mask, so left padding shifts nothing


def pad_batch(examples: list[dict[str, list[int]]], pad_token_id: int, side: str = "right") -> TokenBatch:
    """Pad encoded examples to one length on ``side`` (``right``, as the SFT collator does, or ``left``)."""
    length = max(len(example["input_ids"]) for example in examples)
    ids = torch.full((len(examples), length), pad_token_id, dtype=torch.long)
    labels = torch.full((len(examples), length), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for row, example in enumerate(examples):
        size = len(example["input_ids"])
        where = slice(0, size) if side == "right" else slice(length - size, length)
        ids[row, where] = torch.tensor(example["input_ids"])
        labels[row, where] = torch.tensor(example["labels"])
        mask[row, where] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return TokenBatch(ids, mask, labels, positions)


def example_losses(model, batch: TokenBatch) -> torch.Tensor:
    """(batch,) mean cross-entropy of each example over its reply tokens (next-token prediction)."""
    if bool(batch.attention_mask[:, 0].all()):
        # right padding: under the causal mask no real token sees a pad, so the padding mask changes nothing a
        # loss depends on; without it attention takes the causal fast path
        logits = model(input_ids=batch.input_ids, position_ids=batch.position_ids, use_cache=False).logits
    else:
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                       position_ids=batch.position_ids, use_cache=False).logits
    logits = logits[:, :-1]
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # the loss in fp32, as the Trainer's is
    targets = batch.labels[:, 1:]
    losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.clamp(min=0).reshape(-1),
                                         reduction="none").view(targets.shape)
    counted = (targets != IGNORE).to(losses.dtype)
    return (losses * counted).sum(dim=1) / counted.sum(dim=1).clamp(min=1)


# ---- layers --------------------------------------------------------------------------------------------------


def decoder_blocks(model) -> nn.ModuleList:
    """The decoder's list of transformer blocks (Llama, Qwen, Mistral, Gemma, GPT-NeoX ...; through PEFT)."""
    core = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = core.get_decoder() if hasattr(core, "get_decoder") else core
    for name in ("layers", "h", "blocks"):
        blocks = getattr(decoder, name, None)
        if isinstance(blocks, nn.ModuleList):
            return blocks
    lists = [module for module in decoder.modules() if isinstance(module, nn.ModuleList) and len(module) > 1]
    if not lists:
        raise ValueError(f"{type(core).__name__}: cannot find the decoder blocks (no ModuleList of layers)")
    return max(lists, key=len)


def gradient_layers(model, patterns: list[str] | None = None) -> dict[str, nn.Linear]:
    """Every trainable ``nn.Linear`` inside the decoder blocks, by qualified name (``model.layers.0.mlp.up_proj``
    or ``...q_proj.lora_A.default``), in module order; ``patterns`` (fnmatch) keep only the names that match one.
    """
    blocks = decoder_blocks(model)
    inside = {id(module) for module in blocks.modules()}
    chosen = {}
    for name, module in model.named_modules():
        if id(module) in inside and isinstance(module, nn.Linear) and module.weight.requires_grad:
            if not patterns or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                chosen[name] = module
    if not chosen:
        raise ValueError(f"no trainable Linear layer in the decoder blocks matches {patterns or ['*']}")
    return chosen


def layer_size(layer: nn.Linear) -> int:
    """Numbers in the layer's exact gradient (weight, and bias where it trains)."""
    bias = layer.bias is not None and layer.bias.requires_grad
    return layer.out_features * (layer.in_features + int(bias))


# ---- projection ----------------------------------------------------------------------------------------------


class Projector:
    """Per-layer Gaussian projections of a layer's input (``d_in`` -> ``k``) and output gradient (``d_out`` ->
    ``k``): its gradient becomes ``k x k`` numbers. Seeded by (seed, layer name), so train and test examples, and
    every checkpoint, share them. A side no larger than ``k`` is kept exact (an identity)."""

    def __init__(self, dim: int, seed: int = 0, dtype=torch.float32):
        self.dim, self.seed, self.dtype = dim, seed, dtype
        self._matrices: dict[tuple[str, str, int], torch.Tensor | None] = {}

    def matrix(self, layer: str, side: str, size: int) -> torch.Tensor | None:
        key = (layer, side, size)
        if key not in self._matrices:
            if size <= self.dim:
                self._matrices[key] = None
            else:
                seed = self.seed * 1_000_003 + zlib.crc32(f"{layer}:{side}".encode())
                generator = torch.Generator().manual_seed(seed)
                self._matrices[key] = (torch.randn(self.dim, size, generator=generator, dtype=torch.float64)
                                       / self.dim ** 0.5).to(self.dtype)
        return self._matrices[key]

    def size(self, layer: str, module: nn.Linear) -> int:
        bias = module.bias is not None and module.bias.requires_grad
        d_in, d_out = module.in_features + int(bias), module.out_features
        return min(d_in, self.dim) * min(d_out, self.dim)


# ---- per-example gradients -----------------------------------------------------------------------------------


@dataclass
class ExampleGradients:
    """One batch's per-example gradients: (batch, D) vectors over the chosen layers in order (exact, or
    projected), and the exact squared norm of every example's full gradient; plus the examples' losses."""
    vectors: torch.Tensor
    squared_norms: torch.Tensor
    losses: torch.Tensor


def example_gradients(model, layers: dict[str, nn.Linear], batch: TokenBatch, projector: Projector | None = None,
                      vector_dtype=None) -> ExampleGradients:
    """Per-example gradients of each example's reply loss on ``layers``, from one forward and one backward."""
    captured: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def keep(name):
        def hook(module, inputs, output):
            captured[name] = (inputs[0], output)
        return hook

    handles = [layer.register_forward_hook(keep(name)) for name, layer in layers.items()]
    try:
        with torch.enable_grad():
            losses = example_losses(model, batch)
            names = list(layers)
            outputs = [captured[name][1] for name in names]
            grads = torch.autograd.grad(losses.sum(), outputs)
    finally:
        for handle in handles:
            handle.remove()
    real = batch.attention_mask.bool()[..., None]
    # Right padding: a pad position's output gradient is exactly 0 (no loss on it, no real token attends to it),
    # so it adds nothing. Left padding: a pad query may attend to nothing (NaN), so pads are zeroed first.
    left_padded = bool((~real[:, 0, 0]).any())
    size = sum(projector.size(name, layers[name]) if projector else layer_size(layers[name]) for name in names)
    vectors = torch.empty((len(losses), size), dtype=vector_dtype or grads[0].dtype)
    squared = torch.zeros(len(losses), dtype=torch.float64)
    offset = 0
    for name, grad in zip(names, grads, strict=True):
        layer = layers[name]
        x, g = captured[name][0].detach(), grad.detach()
        if left_padded:
            x, g = torch.where(real, x, 0.0), torch.where(real, g, 0.0)
        if layer.bias is not None and layer.bias.requires_grad:
            x = torch.cat([x, real.to(x.dtype)], dim=-1)
        if projector is None:
            piece = torch.bmm(g.transpose(1, 2), x).reshape(len(losses), -1)  # sum_t g_t^T x_t per example
            squared += piece.double().square().sum(dim=1)
        else:
            # the exact squared norm without forming the gradient: sum_{t,s} (g_t . g_s)(x_t . x_s)
            squared += (torch.bmm(g, g.transpose(1, 2)) * torch.bmm(x, x.transpose(1, 2))).sum(dim=(1, 2)).double()
            p_in, p_out = projector.matrix(name, "in", x.shape[-1]), projector.matrix(name, "out", g.shape[-1])
            x = x if p_in is None else x @ p_in.to(x.dtype).T
            g = g if p_out is None else g @ p_out.to(g.dtype).T
            piece = torch.bmm(g.transpose(1, 2), x).reshape(len(losses), -1)
        vectors[:, offset:offset + piece.shape[1]] = piece
        offset += piece.shape[1]
    return ExampleGradients(vectors, squared, losses.detach())


def flat_gradient(model, layers: dict[str, nn.Linear], batch: TokenBatch) -> torch.Tensor:
    """The reference: the gradient of one example's loss (a batch of one) on ``layers`` by plain autograd,
    flattened in ``example_gradients``' order (per layer: each output row's weights, then its bias)."""
    parameters = []
    for layer in layers.values():
        parameters.append(layer.weight)
        if layer.bias is not None and layer.bias.requires_grad:
            parameters.append(layer.bias)
    with torch.enable_grad():
        loss = example_losses(model, batch).sum()
        grads = iter(torch.autograd.grad(loss, parameters))
    pieces = []
    for layer in layers.values():
        weight = next(grads)
        if layer.bias is not None and layer.bias.requires_grad:
            weight = torch.cat([weight, next(grads)[:, None]], dim=1)
        pieces.append(weight.reshape(-1))
    return torch.cat(pieces)


def describe_layers(layers: dict[str, nn.Linear], projector: Projector | None) -> dict[str, Any]:
    """What a score file records about the gradients it was made from."""
    exact = sum(layer_size(layer) for layer in layers.values())
    projected = sum(projector.size(name, layer) for name, layer in layers.items()) if projector else exact
    return {"layers": list(layers), "gradient_size": exact, "vector_size": projected,
            "projection": projector.dim if projector else None}
