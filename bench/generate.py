"""Benchmark: vLLM vs transformers ``generate`` on the same model, prompts and greedy settings.

Builds a tokenizer on synthetic prompts and randomly initialised Llama models of the embedded study's sizes
(``config.yaml``'s embedded models; ``--larger`` adds a 45M one) (random weights rarely stop early, so every prompt generates
the full budget), then runs xlt's two generation backends on the same token ids, one torch thread each, each in
a fresh process as a generate job runs. Prints, per size and backend, the whole job's cost (process start and
imports, engine start, generation) beside the generation alone (tokens/s), the ratios, and whether their greedy
outputs agree. The embedded study's ``generation.backend`` is the one whose whole job is cheaper at its sizes.

    python bench/generate.py [--prompts 400] [--new-tokens 64] [--larger]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "workflow"))

LARGER = {"45M": {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12, "num_attention_heads": 8,
                  "num_key_value_heads": 4}}


def sizes(larger: bool) -> dict[str, dict[str, int]]:
    """The embedded study's model architectures (config.yaml), and with ``larger`` a 45M one for the trend."""
    import yaml

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    embedded = {key: spec["architecture"] for key, spec in config["models"].items() if spec["source"] == "embedded"}
    return {**embedded, **(LARGER if larger else {})}


def build(workdir: Path, prompts: int, larger: bool) -> tuple[dict[str, Path], Path]:

    from xlt.base_model import build_model
    from xlt.prompts import evaluation_prompts
    from xlt.synthetic.benchmark import build_benchmark
    from xlt.synthetic.lexicon import available_languages
    from xlt.tokenizer import train_tokenizer

    languages = available_languages()
    data = build_benchmark("summarization", "summarization", 0,
                           {"train": 200, "validation": 1, "test": prompts // len(languages) + 1}, languages)
    tokenizer = train_tokenizer([m["content"] for ms in data["messages"] for m in ms], 2048)
    models = {}
    for name, architecture in sizes(larger).items():
        model = build_model(architecture, tokenizer, seed=0)
        models[name] = workdir / name
        model.save_pretrained(models[name])
        tokenizer.save_pretrained(models[name])
    table = evaluation_prompts(data.filter(split="test"), data.filter(split="train"), languages,
                               prompts // len(languages), shots=0)
    table.write_parquet(workdir / "prompts.parquet")
    return models, workdir / "prompts.parquet"


def measure(backend: str, model_dir: Path, prompts: Path, new_tokens: int) -> dict:
    """Run one backend in a fresh process (vLLM's in-process engine patches torch's thread settings)."""
    code = f"""
import time
imports = time.perf_counter()
import json, sys, torch
sys.path.insert(0, {str(ROOT / 'workflow')!r})
torch.set_num_threads(1)
import polars as pl
from transformers import AutoTokenizer
from xlt.inference import chat_token_ids, load_backend
if {backend!r} == "vllm":
    import vllm  # a generate job imports its backend: part of its cost
imported = time.perf_counter()
ids = chat_token_ids(AutoTokenizer.from_pretrained({str(model_dir)!r}), pl.read_parquet({str(prompts)!r})["prompt"].to_list())
settings = dict(backend={backend!r}, seed=0, max_new_tokens={new_tokens}, temperature=0.0, top_p=1.0, batch_size=len(ids))
started = time.perf_counter(); engine = load_backend({str(model_dir)!r}, ids, settings); loaded = time.perf_counter()
out = engine.generate(ids); done = time.perf_counter()
print("RESULT", json.dumps(dict(import_s=imported - imports, load_s=loaded - started, gen_s=done - loaded,
                                tokens=sum(map(len, out)), outputs=out)))
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XLT_CACHE": str(model_dir.parent / "cache")}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    job_s = time.perf_counter() - started
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        raise RuntimeError(f"{backend} failed:\n{result.stderr[-3000:]}")
    import json

    return {**json.loads(lines[-1].removeprefix("RESULT ")), "job_s": job_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=400, help="default: one generate job of the embedded study (8 "
                        "languages x 50 items)")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--larger", action="store_true", help="also a 45M model (use --prompts 128: minutes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models, prompts = build(Path(tmp), args.prompts, args.larger)
        for name, model_dir in models.items():
            hf = measure("hf", model_dir, prompts, args.new_tokens)
            vllm = measure("vllm", model_dir, prompts, args.new_tokens)
            hf_rate, vllm_rate = hf["tokens"] / hf["gen_s"], vllm["tokens"] / vllm["gen_s"]
            agree = sum(a == b for a, b in zip(hf["outputs"], vllm["outputs"]))
            print(f"{name} model, {args.prompts} prompts x {args.new_tokens} new tokens, fp32, greedy, 1 thread:")
            for label, run in (("transformers", hf), ("vLLM", vllm)):
                print(f"  {label:<12} whole job {run['job_s']:6.1f} s (imports {run['import_s']:4.1f} s, engine start "
                      f"{run['load_s']:4.1f} s, generation {run['gen_s']:5.1f} s: {run['tokens'] / run['gen_s']:6.0f} "
                      "tokens/s)")
            print(f"  vLLM / transformers: generation speed {vllm_rate / hf_rate:.2f}x, whole-job time "
                  f"{vllm['job_s'] / hf['job_s']:.2f}x (cheaper: {'vLLM' if vllm['job_s'] < hf['job_s'] else 'transformers'}); "
                  f"identical outputs {agree}/{len(hf['outputs'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
