"""Benchmark: SFT throughput with padded batches vs length-grouped, packed and padding-free ones (TRL SFTTrainer),
and with xlt's CPU loss (``xlt.train.reply_token_loss``) in place of TRL's fused LM head.

Trains the same tiny model on the same mixture (the three synthetic tasks, every seen language) for the same
number of steps in five ways: padded batches in random order, padded batches of similar lengths
(``training.group_by_length``: transformers' LengthGroupedSampler, what the embedded study uses), padding-free
packing (TRL's BFD packing, which needs FlashAttention-style kernels to pay off), plain padding-free batches, and
length-grouped batches with the loss xlt's trainer computes on the CPU (the LM head on reply tokens only; TRL's
fused head scores every position off Triton devices, and recomputes the logits in its backward). Counts
real and padding tokens in the batches the trainer sees and prints real tokens/s and the padding share of each,
and the ratios to the padded run, all in one run, one torch thread.

    python bench/train.py [--steps 40] [--batch 16]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "workflow"))

ARCHITECTURE = {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4,
                "num_key_value_heads": 2}
MODES = {
    "padded": {"packing": False, "padding_free": False},
    "padded, grouped by length": {"packing": False, "padding_free": False,
                                  "train_sampling_strategy": "group_by_length"},
    "packed (BFD, padding-free)": {"packing": True, "packing_strategy": "bfd", "padding_free": True},
    # TRL does not truncate padding-free unpacked batches: no max_length (our examples are shorter anyway)
    "padding-free, unpacked": {"packing": False, "padding_free": True, "max_length": None},
    # what the embedded study trains with (xlt.train.sft_trainer on the CPU)
    "grouped, reply-token loss": {"packing": False, "padding_free": False, "train_sampling_strategy": "group_by_length"},
}
REPLY_TOKEN_LOSS = "grouped, reply-token loss"


def batch_tokens(trainer, steps: int) -> tuple[int, int]:
    """Real and total token slots in the first ``steps`` batches the trainer would train on."""
    real = total = 0
    for step, batch in enumerate(trainer.get_train_dataloader()):
        if step == steps:
            break
        total += batch["input_ids"].numel()
        real += int(batch["attention_mask"].sum()) if "attention_mask" in batch else batch["input_ids"].numel()
    return real, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    import polars as pl
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from xlt.base_model import build_model
    from xlt.synthetic.benchmark import build_benchmark
    from xlt.tokenizer import train_tokenizer
    from xlt.train import sft_trainer

    torch.set_num_threads(1)
    languages = ["en", "es", "fr", "ja", "zh"]
    frames = [build_benchmark(task, task, 0, {"train": 300, "validation": 1, "test": 1}, languages)
              for task in ("math", "summarization", "instruction_following")]
    train = pl.concat(frames).filter(split="train")
    tokenizer = train_tokenizer([m["content"] for ms in train["messages"] for m in ms], 2048)
    dataset = Dataset.from_dict({"messages": train["messages"].to_list()})
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, mode in MODES.items():
            model = build_model(ARCHITECTURE, tokenizer, seed=0)
            config = SFTConfig(output_dir=tmp, per_device_train_batch_size=args.batch, max_steps=args.steps,
                               learning_rate=1e-3, assistant_only_loss=True, save_strategy="no",
                               report_to=[], use_cpu=True, bf16=False, disable_tqdm=True, logging_steps=args.steps,
                               dataloader_num_workers=0, seed=0, **{"max_length": 256, **mode})
            trainer = (sft_trainer(False, model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
                       if name == REPLY_TOKEN_LOSS else
                       SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer))
            real, total = batch_tokens(trainer, args.steps)
            started = time.perf_counter()
            trainer.train()
            seconds = time.perf_counter() - started
            loss = trainer.state.log_history[-1]["train_loss"]
            results[name] = {"real_per_s": real / seconds, "padding": 1 - real / total, "loss": loss}
    padded = results["padded"]
    print(f"{args.steps} steps, batch {args.batch}, {len(dataset)} examples (3 tasks x 5 languages), 1 thread, CPU:")
    for name, result in results.items():
        print(f"  {name:<28} {result['real_per_s']:8.0f} real tokens/s  padding {result['padding']:6.1%}  "
              f"speed vs padded {result['real_per_s'] / padded['real_per_s']:.2f}x  mean loss {result['loss']:.4f}")
    grouped, ours = results["padded, grouped by length"], results[REPLY_TOKEN_LOSS]
    print(f"reply-token loss vs TRL's fused head (both grouped): speed {ours['real_per_s'] / grouped['real_per_s']:.2f}x, "
          f"same batches, mean loss {ours['loss']:.4f} vs {grouped['loss']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
