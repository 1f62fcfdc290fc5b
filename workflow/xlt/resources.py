"""Cluster resources of each job, computed from the model's size and the study config (``cluster:`` settings).

GPUs: enough memory for the job's state, rounded up to a power of two (FSDP shards and vLLM's tensor
parallelism split evenly). Runtime: the job's FLOPs (6 x params x tokens to train, 2 x params x tokens to
generate) at an assumed utilisation of the GPU's peak (or a CPU rate for the embedded models), times a safety
margin, plus start-up. Memory and runtime grow with the attempt, so a job that ran out of either is
resubmitted with more (``retries`` in the profile).
"""

from __future__ import annotations

import math
from typing import Any

from xlt.grid import eval_languages, language_count, model_training, translation_entry
from xlt.registry import ADAPTERS

# bytes per parameter held on GPUs while training: bf16 weights and gradients, fp32 master weights and two
# AdamW moments (2 + 2 + 4 + 4 + 4); LoRA keeps frozen bf16 weights plus small adapters.
TRAIN_BYTES_PER_PARAM = {"full": 16.0, "lora": 2.5}
ACTIVATION_MARGIN = 1.25
KV_CACHE_MARGIN = 1.3
CPU_FLOPS = 1.0e10  # effective FLOP/s of one CPU thread on the embedded models (measured: ~0.23 s per step)


def _power_of_two(needed: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(needed, 1.0))))


def on_gpu(config: dict[str, Any], model: str) -> bool:
    """Embedded models run on the CPU; every other model on GPUs."""
    return config["models"][model]["source"] != "embedded"


def train_gpus(config: dict[str, Any], model: str) -> int:
    if not on_gpu(config, model):
        return 0
    spec = config["models"][model]
    gigabytes = spec["params_m"] * TRAIN_BYTES_PER_PARAM[spec["train_mode"]] / 1000
    # one node at most (the launcher is single-node); beyond, FSDP relies on resharding and checkpointing
    return min(_power_of_two(gigabytes * ACTIVATION_MARGIN / config["cluster"]["gpu_memory_gb"]),
               config["cluster"]["gpus_per_node"])


def train_strategy(config: dict[str, Any], model: str) -> str:
    """How a training job uses its GPUs: one process (single), or one per GPU through ``accelerate launch``:
    FSDP for full fine-tuning (more than one GPU means the training state does not fit one), DDP for LoRA
    (the frozen bf16 weights fit each GPU; adapters are merged after training)."""
    if train_gpus(config, model) <= 1:
        return "single"
    return "ddp" if config["models"][model]["train_mode"] == "lora" else "fsdp"


def inference_gpus(config: dict[str, Any], params_m: float | None) -> int:
    """GPUs to serve a model of ``params_m`` million parameters: bf16 weights plus ~30% for the KV cache;
    None (a CPU model) needs none."""
    if params_m is None:
        return 0
    gigabytes = params_m * 2 / 1000
    return min(_power_of_two(gigabytes * KV_CACHE_MARGIN / config["cluster"]["gpu_memory_gb"]),
               config["cluster"]["gpus_per_node"])


def generation_gpus(config: dict[str, Any], model: str) -> int:
    return inference_gpus(config, config["models"][model]["params_m"] if on_gpu(config, model) else None)


def mixture_examples(config: dict[str, Any], family: str, n: int) -> int:
    spec = config["mixtures"]["families"][family]
    per_task = spec["english"] + sum(language_count(spec, n, lang) for lang in spec["languages"])
    return math.ceil(per_task * len(spec["tasks"]) * (1 + config["mixtures"]["validation_fraction"]))


def _minutes(flops: float, gpus: int, cluster: dict[str, Any], startup: float) -> int:
    rate = gpus * cluster["gpu_tflops"] * 1e12 * cluster["utilization"] if gpus else CPU_FLOPS
    return math.ceil(startup + cluster["runtime_margin"] * flops / rate / 60)


def _host_memory_mb(config: dict[str, Any], model: str) -> int:
    return _host_memory_for(config["models"][model]["params_m"])


def _host_memory_for(params_m: float) -> int:
    """Room to load the bf16 weights on the host twice (loading, then sharding or converting), 8 GB at least."""
    return max(8000, math.ceil(params_m * 2 * 2) + 4000)


def scaled(value: int, attempt: int) -> int:
    """A retried job gets more: x1, x1.5, x2, ... of the computed value."""
    return math.ceil(value * (1 + 0.5 * (attempt - 1)))


def cluster_fields(config: dict[str, Any], gpus: int) -> dict[str, Any]:
    """SLURM placement of a job (the executor plugin's resource names); None leaves the profile's or the
    cluster's default, and CPUs per GPU apply to GPU jobs only."""
    cluster = config["cluster"]
    return {"slurm_partition": cluster["gpu_partition"] if gpus else cluster["cpu_partition"],
            "cpus_per_gpu": cluster["cpus_per_gpu"] if gpus else None,
            "gpu_model": cluster["gpu_model"] if gpus else None}


def train_resources(config: dict[str, Any], model: str, family: str, n: int, attempt: int = 1
                    ) -> dict[str, Any]:
    """GPUs, memory and runtime of one training job."""
    settings = model_training(config, model)
    gpus = train_gpus(config, model)
    tokens = mixture_examples(config, family, n) * settings["epochs"] * settings["max_length"] / 2
    flops = 6 * config["models"][model]["params_m"] * 1e6 * tokens
    return {"gpu": gpus, "mem_mb": scaled(_host_memory_mb(config, model), attempt),
            "runtime": scaled(_minutes(flops, gpus, config["cluster"], startup=15), attempt),
            **cluster_fields(config, gpus)}


def generation_resources(config: dict[str, Any], model: str, attempt: int = 1) -> dict[str, Any]:
    """GPUs, memory and runtime of one run's generation job (every task and language)."""
    gpus = generation_gpus(config, model)
    generation = config["generation"]
    prompts = len(config["tasks"]) * len(eval_languages(config)) * generation["test_items_per_language"]
    prompt_tokens = 512 * (1 + generation["math_shots"])  # an upper bound per prompt
    flops = 2 * config["models"][model]["params_m"] * 1e6 * prompts * (prompt_tokens + generation["max_new_tokens"])
    return {"gpu": gpus, "mem_mb": scaled(_host_memory_mb(config, model), attempt),
            "runtime": scaled(_minutes(flops, gpus, config["cluster"], startup=10), attempt),
            **cluster_fields(config, gpus)}


def helper_model_resources(config: dict[str, Any], model: dict[str, Any] | None, prompts: int, tokens: int,
                           attempt: int = 1) -> dict[str, Any]:
    """GPUs, memory and runtime of a job that runs the MT model or the judge (``model``: its config entry, or
    None for an endpoint) on ``prompts`` prompts of about ``tokens`` tokens each. A model without ``params_m``
    (a small local one) runs on the CPU."""
    params_m = model.get("params_m") if model else None
    gpus = inference_gpus(config, params_m)
    flops = 2 * (params_m or 1.0) * 1e6 * prompts * tokens
    minutes = _minutes(flops, gpus, config["cluster"], startup=10) if model else 10 + prompts // 20
    return {"gpu": gpus, "mem_mb": scaled(_host_memory_for(params_m or 1.0), attempt),
            "runtime": scaled(minutes, attempt), **cluster_fields(config, gpus)}


def hub_data_resources(config: dict[str, Any], task: str, attempt: int = 1) -> dict[str, Any]:
    """Memory and runtime of a task's hub data job (a CPU job): the largest any of its adapters needs
    (``xlt.registry.ADAPTERS``)."""
    splits = config["tasks"][task]["data"]["splits"].values()
    memory = max(ADAPTERS[split["adapter"]].memory_mb if "adapter" in split else ADAPTERS["chat"].memory_mb
                 for split in splits)  # a split {from_train: N} reads no dataset
    return {"mem_mb": scaled(memory, attempt), "runtime": scaled(120, attempt), **cluster_fields(config, 0)}


def attribution_resources(config: dict[str, Any], model: str, family: str, n: int, attempt: int = 1
                          ) -> dict[str, Any]:
    """GPUs, memory and runtime of one attribution shard. Memory: the model in the attribution precision with
    its activations and their gradients (2.5x the weights), one batch of per-example gradients, and every test
    example's gradient vector (exact: one number per chosen parameter; projected: k x k per layer in fp16, for
    up to 1,000 layers). Runtime: a forward and backward (about 6 x params x tokens) per example and checkpoint.
    """
    settings, spec = config["attribution"], config["models"][model]
    params = spec["params_m"] * 1e6
    bytes_per = {"float64": 8, "float32": 4, "bfloat16": 2}[settings["precision"]]
    tests = len(config["mixtures"]["families"][family]["tasks"]) * len(eval_languages(config)) * \
        settings["test_items_per_language"]
    if settings["projection"] is None:
        vector_bytes = params * bytes_per
    else:
        vector_bytes = 1000 * settings["projection"] ** 2 * 2
    gigabytes = (params * bytes_per * 2 * ACTIVATION_MARGIN + (settings["batch_size"] + tests) * vector_bytes) / 1e9
    gpus = 0 if not on_gpu(config, model) else min(_power_of_two(gigabytes / config["cluster"]["gpu_memory_gb"]),
                                                   config["cluster"]["gpus_per_node"])
    training = model_training(config, model)
    train_items = mixture_examples(config, family, n)
    steps = max(1, train_items * training["epochs"] // training["batch_size"])
    checkpoints = max(1, math.ceil(steps / training["save_steps"] / settings["checkpoint_every"]))
    if settings["train_items"]:
        train_items = min(train_items, settings["train_items"])
    flops = 6 * params * (train_items / settings["shards"] + tests) * training["max_length"] / 2 * checkpoints
    host = max(_host_memory_for(spec["params_m"]), 0 if gpus else math.ceil(gigabytes * 1000 * 1.5))
    return {"gpu": gpus, "mem_mb": scaled(host, attempt),
            "runtime": scaled(_minutes(flops, gpus, config["cluster"], startup=10), attempt),
            **cluster_fields(config, gpus)}


# ---- per job: what a rule's resources read (``sized(job, name)`` in workflow/rules/common.smk) -------------
# Each takes the validated config, the job's wildcards (a mapping) and the attempt.


def train_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    return train_resources(config, wildcards["model"], wildcards["family"], int(wildcards["n"]), attempt)


def generation_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    return generation_resources(config, wildcards["model"], attempt)


def translation_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    """The MT model's size and the number of source items (10,000 where the split does not cap them)."""
    task, split = wildcards["task"], wildcards["split"]
    entry = translation_entry(config, task, split, wildcards["lang"])
    items = entry.get("items") or config["tasks"][task]["data"]["splits"][split].get("items_per_language") or 10000
    return helper_model_resources(config, config["translation"]["model"], items * 2, 1024, attempt)


def judge_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    """The judge model's size (none for an endpoint) and the evaluation set."""
    prompts = len(eval_languages(config)) * config["generation"]["test_items_per_language"]
    model = config["judge"].get("model") if config["judge"]["backend"] != "openai" else None
    return helper_model_resources(config, model, prompts, 1536, attempt)


def hub_data_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    return hub_data_resources(config, wildcards["task"], attempt)


def attribution_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    return attribution_resources(config, wildcards["model"], wildcards["family"], int(wildcards["n"]), attempt)
