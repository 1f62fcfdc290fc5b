"""The attribution stage (study B): the gradient engine against plain autograd in float64, TracIn against a
brute-force computation, the first-order identity TracIn rests on, the projection, and the analyses on a planted
fixture whose answers are known."""

from __future__ import annotations

import copy

import numpy as np
import polars as pl
import pytest
import torch

from xlt import influence
from xlt.gradients import (
    Projector,
    encode_conversation,
    example_gradients,
    example_losses,
    flat_gradient,
    gradient_layers,
    pad_batch,
)
from xlt.io import read_table
from xlt.tracin import Checkpoint, checkpoint_scores, kept_checkpoints, tracin_cp

MAX_LENGTH = 136  # the fixture chats are 114-144 tokens: some are cut, lengths differ


@pytest.fixture(scope="module")
def tokenizer(tiny_base_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_base_model)


@pytest.fixture(scope="module")
def conversations(tiny_mixture):
    """Real-looking multilingual chats of the small benchmark (different lengths, so batches pad)."""
    frame = read_table(tiny_mixture / "train.parquet").sort("id")
    picked = pl.concat([frame.filter(lang=lang).head(2) for lang in ("en", "es", "ja", "zh")])
    return picked["messages"].to_list()


def random_model(tokenizer, seed: int, bias: bool = True):
    """A tiny Llama in float64 with random weights (biases on, so the bias path is exercised)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=True, attention_bias=bias, mlp_bias=bias)
    return LlamaForCausalLM(config).double().eval()


def encoded(tokenizer, conversations):
    return [encode_conversation(tokenizer, messages, MAX_LENGTH) for messages in conversations]


def test_examples_are_tokenized_and_masked_as_trl_trained_on_them(tiny_base_model, tokenizer, conversations,
                                                                  tmp_path):
    """The chat template, the assistant-only labels and the truncation of TRL's SFTTrainer, token for token."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    model = AutoModelForCausalLM.from_pretrained(tiny_base_model)
    args = SFTConfig(output_dir=str(tmp_path), max_length=MAX_LENGTH, assistant_only_loss=True, packing=False,
                     use_cpu=True, report_to=[], dataset_num_proc=None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_dict({"messages": conversations}),
                         processing_class=tokenizer)
    ours = encoded(tokenizer, conversations)
    assert any(len(example["input_ids"]) == MAX_LENGTH for example in ours), "truncation is exercised"
    assert trainer.train_dataset["input_ids"] == [example["input_ids"] for example in ours]
    assert trainer.train_dataset["labels"] == [example["labels"] for example in ours]


@pytest.mark.parametrize("side", ["right", "left"])
def test_per_example_gradients_equal_a_per_example_backward_loop(tokenizer, conversations, side):
    model = random_model(tokenizer, 0)
    layers = gradient_layers(model)
    assert not any("embed" in name or "lm_head" in name for name in layers)
    examples = encoded(tokenizer, conversations)
    assert len({len(example["input_ids"]) for example in examples}) > 1, "the batch pads"
    grads = example_gradients(model, layers, pad_batch(examples, tokenizer.pad_token_id, side))
    for row, example in enumerate(examples):
        reference = flat_gradient(model, layers, pad_batch([example], tokenizer.pad_token_id))
        assert torch.allclose(grads.vectors[row], reference, rtol=0, atol=1e-10)
        assert abs(grads.squared_norms[row].item() - reference.dot(reference).item()) <= 1e-10 * reference.dot(
            reference).item()
        single = example_losses(model, pad_batch([example], tokenizer.pad_token_id))
        assert abs(grads.losses[row].item() - single.item()) < 1e-10


def test_lora_gradients_are_the_exact_lora_a_and_b_gradients(tokenizer, conversations):
    from peft import LoraConfig, get_peft_model

    base = random_model(tokenizer, 1, bias=False)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.1, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False, task_type="CAUSAL_LM")).double().eval()
    layers = gradient_layers(model)
    assert layers and all("lora_A" in name or "lora_B" in name for name in layers)
    assert len(layers) == 2 * 2 * 2  # 2 blocks x (q, v) x (A, B)
    examples = encoded(tokenizer, conversations[:5])
    grads = example_gradients(model, layers, pad_batch(examples, tokenizer.pad_token_id, "left"))
    for row, example in enumerate(examples):
        reference = flat_gradient(model, layers, pad_batch([example], tokenizer.pad_token_id))
        assert torch.allclose(grads.vectors[row], reference, rtol=0, atol=1e-10)


def test_tracin_scores_equal_brute_force_tracin_over_two_checkpoints(tokenizer, conversations):
    train, test = conversations[:6], conversations[6:]
    checkpoints = [Checkpoint("a", 10, 0.1), Checkpoint("b", 20, 0.05)]
    models = [random_model(tokenizer, 2), random_model(tokenizer, 3)]
    per_checkpoint = [checkpoint_scores(model, tokenizer, train, test, checkpoint, max_length=MAX_LENGTH,
                                        batch_size=4)
                      for model, checkpoint in zip(models, checkpoints, strict=True)]
    dot = np.zeros((len(train), len(test)))
    cosine = np.zeros_like(dot)
    for model, checkpoint in zip(models, checkpoints, strict=True):
        layers = gradient_layers(model)

        def full(messages, model=model, layers=layers):
            return flat_gradient(model, layers, pad_batch([encode_conversation(tokenizer, messages, MAX_LENGTH)],
                                                          tokenizer.pad_token_id)).numpy()

        g_train, g_test = np.stack([full(m) for m in train]), np.stack([full(m) for m in test])
        dot += checkpoint.learning_rate * g_train @ g_test.T
        cosine += checkpoint.learning_rate * (g_train @ g_test.T) / np.outer(np.linalg.norm(g_train, axis=1),
                                                                          np.linalg.norm(g_test, axis=1))
    np.testing.assert_allclose(tracin_cp(per_checkpoint, "dot"), dot, rtol=1e-10, atol=0)
    np.testing.assert_allclose(tracin_cp(per_checkpoint, "cosine"), cosine, rtol=1e-10, atol=0)


def test_one_sgd_step_changes_a_test_loss_by_minus_lr_times_the_gradient_dot_product(tokenizer, conversations):
    """loss(z'; w - lr g(z)) - loss(z'; w) = -lr <g(z), g(z')> + O(lr^2): halving lr quarters the residual."""
    model = random_model(tokenizer, 4)
    layers = gradient_layers(model)
    z, z_test = (pad_batch([encode_conversation(tokenizer, messages, MAX_LENGTH)], tokenizer.pad_token_id)
                 for messages in (conversations[0], conversations[5]))
    g, g_test = flat_gradient(model, layers, z), flat_gradient(model, layers, z_test)
    predicted_rate = -g.dot(g_test).item()
    before = example_losses(model, z_test).item()
    residuals = []
    for lr in (1e-3, 5e-4, 2.5e-4):
        stepped = copy.deepcopy(model)
        stepped_layers = gradient_layers(stepped)
        offset = 0
        with torch.no_grad():
            for layer in stepped_layers.values():
                rows, columns = layer.weight.shape
                block = g[offset:offset + rows * (columns + 1)].view(rows, columns + 1)
                layer.weight -= lr * block[:, :columns]
                layer.bias -= lr * block[:, columns]
                offset += rows * (columns + 1)
        change = example_losses(stepped, z_test).item() - before
        residuals.append(abs(change - lr * predicted_rate))
        assert np.sign(change) == np.sign(predicted_rate)
    ratios = [residuals[0] / residuals[1], residuals[1] / residuals[2]]
    assert all(3.0 < ratio < 5.0 for ratio in ratios), (residuals, ratios)


def test_projected_inner_products_are_unbiased_and_approach_the_exact_ones(tokenizer, conversations):
    model = random_model(tokenizer, 5)
    layers = gradient_layers(model, ["*.mlp.up_proj"])
    batch = pad_batch(encoded(tokenizer, conversations), tokenizer.pad_token_id)
    exact = example_gradients(model, layers, batch).vectors
    exact_dots = (exact @ exact.T)[np.triu_indices(len(exact), 1)].numpy()
    estimates = []
    for seed in range(300):
        projected = example_gradients(model, layers, batch, Projector(8, seed)).vectors
        estimates.append((projected @ projected.T)[np.triu_indices(len(exact), 1)].numpy())
    estimates = np.array(estimates)
    error = estimates.mean(axis=0) - exact_dots
    assert np.all(np.abs(error) < 5 * estimates.std(axis=0) / np.sqrt(len(estimates)) + 1e-12)
    correlations = []
    for dim in (4, 16, 64):
        projected = example_gradients(model, layers, batch, Projector(dim, 0)).vectors
        dots = (projected @ projected.T)[np.triu_indices(len(exact), 1)].numpy()
        correlations.append(np.corrcoef(dots, exact_dots)[0, 1])
    assert correlations[0] < correlations[2] and correlations[2] > 0.99
    # a side no larger than k stays exact: k >= both sides of every layer is the exact gradient
    wide = example_gradients(model, layers, batch, Projector(1024, 0))
    assert torch.allclose(wide.vectors, exact, atol=1e-12)
    assert torch.allclose(wide.squared_norms, example_gradients(model, layers, batch).squared_norms)


def test_kept_checkpoints_take_every_kth_back_from_the_last():
    summary = {"checkpoints": [{"path": f"c{s}", "step": s, "learning_rate": 0.1} for s in (10, 20, 30, 40, 45)]}
    assert [c.step for c in kept_checkpoints(summary, 2)] == [10, 30, 45]
    assert [c.step for c in kept_checkpoints(summary, 1)] == [10, 20, 30, 40, 45]
    with pytest.raises(ValueError, match="no learning rate"):
        kept_checkpoints({"checkpoints": [{"path": "c", "step": 1, "learning_rate": None}]})


def test_a_missing_or_incomplete_checkpoint_fails_naming_it(tmp_path):
    from xlt.loading import ModelLoadError, load_checkpoint

    spec = {"source": "embedded", "train_mode": "full", "trust_remote_code": False}
    with pytest.raises(ModelLoadError, match=r"checkpoint-7: no such checkpoint \(listed in the run's training.json"):
        load_checkpoint("tiny", spec, str(tmp_path), tmp_path / "checkpoint-7", torch.float32)
    (tmp_path / "checkpoint-8").mkdir()
    with pytest.raises(ModelLoadError, match=r"checkpoint-8: a LoRA checkpoint without adapter_model.safetensors"):
        load_checkpoint("tiny", {**spec, "train_mode": "lora"}, str(tmp_path), tmp_path / "checkpoint-8",
                        torch.float32)


# ---- the analyses on a planted fixture ------------------------------------------------------------------------


def planted():
    """Training pool: en 20, es 10, fr 10 items (source ids shared across languages: parallel); test items in es
    and ar (unseen). Scores are built so that each es test item's top-10 proponents are 6 es items (sources
    s0-s5), 2 en items translating two of them (s0, s1) and 2 en items that translate none (s18, s19); its
    top-10 opponents are 10 fr items. Each ar test item's proponents are 5 en and 5 fr items."""
    langs = ["en"] * 20 + ["es"] * 10 + ["fr"] * 10
    sources = [f"s{i}" for i in range(20)] + [f"s{i}" for i in range(10)] + [f"s{i}" for i in range(10)]
    train = pl.DataFrame({"index": range(40), "lang": langs, "task": ["math"] * 40, "source_id": sources})
    test = pl.DataFrame({"index": range(6), "lang": ["es"] * 3 + ["ar"] * 3, "task": ["math"] * 6,
                         "source_id": ["t0", "t1", "t2"] * 2})
    scores = np.zeros((40, 6))
    for j in range(3):
        scores[20:26, j] = 10 + np.arange(6)  # es s0-s5
        scores[[0, 1, 18, 19], j] = 5  # en s0, s1 (translations of proponents) and s18, s19 (not)
        scores[30:40, j] = -10  # fr: the opponents
    for j in range(3, 6):
        scores[0:5, j] = 3
        scores[30:35, j] = 3
        scores[20:30, j] = -1
    return train, test, scores


def test_the_analysis_recovers_planted_language_shares_and_reinforce_rates():
    train, test, scores = planted()
    languages = ["en", "es", "fr"]
    shares = influence.share_table(train, test, scores, 10, "proponents", 200, 0, 0.95, languages)
    cell = {(r["test_lang"], r["train_lang"]): r for r in shares.iter_rows(named=True)}
    assert cell["es", "es"]["share"] == pytest.approx(0.6) and cell["es", "en"]["share"] == pytest.approx(0.4)
    assert cell["es", "fr"]["share"] == 0.0
    assert cell["es", "es"]["ci_low"] == pytest.approx(0.6) and cell["es", "es"]["ci_high"] == pytest.approx(0.6)
    assert cell["es", "es"]["chance"] == pytest.approx(0.25) and cell["es", "es"]["ratio"] == pytest.approx(2.4)
    assert cell["ar", "en"]["share"] == pytest.approx(0.5) and cell["ar", "fr"]["share"] == pytest.approx(0.5)
    assert cell["ar", "en"]["ratio"] == pytest.approx(1.0) and cell["ar", "fr"]["ratio"] == pytest.approx(2.0)
    opponents = influence.share_table(train, test, scores, 10, "opponents", 200, 0, 0.95, languages)
    assert opponents.filter(test_lang="es", train_lang="fr")["share"].item() == pytest.approx(1.0)
    reinforce = influence.reinforce_table(train, test, scores, 10, 200, 0, 0.95)
    es = reinforce.filter(test_lang="es").row(0, named=True)
    assert es["reinforce"] == pytest.approx(0.5)  # s0 and s1 of the 4 English proponents
    assert es["chance"] == pytest.approx(6 / 20)  # 6 of the 20 English items translate an es proponent
    assert es["cross_proponents"] == pytest.approx(4)
    assert np.isnan(reinforce.filter(test_lang="ar")["reinforce"].item())  # no own-language proponent
    zero_shot = influence.zero_shot_table(shares, ["en", "es", "fr"])
    assert set(zero_shot["test_lang"]) == {"ar"}
    imbalance = influence.imbalance_table(shares)
    assert imbalance["test_lang"].to_list() == ["es"] and imbalance["own_ratio"].item() == pytest.approx(2.4)


def test_share_intervals_cover_the_spread_of_test_items():
    train, test, scores = planted()
    scores[:, 1] = 0.0
    scores[30:40, 1] = 1.0  # one es test item draws on French alone
    shares = influence.share_table(train, test, scores, 10, "proponents", 500, 0, 0.95, ["en", "es", "fr"])
    es_fr = shares.filter(test_lang="es", train_lang="fr").row(0, named=True)
    assert es_fr["share"] == pytest.approx(1 / 3)
    assert es_fr["ci_low"] == pytest.approx(0.0) and es_fr["ci_high"] == pytest.approx(1.0)
