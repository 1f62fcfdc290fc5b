"""Cluster resources of each job, computed from the model's size and the study config (``cluster:`` settings).

GPUs: enough memory for the job's state, rounded up to a power of two (FSDP shards and vLLM's tensor
parallelism split evenly). Runtime: the job's FLOPs (6 x params x tokens to train, 2 x params x tokens to
generate) at an assumed utilisation of the GPU's peak (or a CPU rate for the embedded models), times a safety
margin, plus start-up. Memory and runtime grow with the attempt, so a job that ran out of either is
resubmitted with more (``retries`` in the profile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from xlt.grid import eval_languages, language_count, model_training, run_training, translation_entry
from xlt.registry import ADAPTERS

# bytes per parameter held on GPUs while training: bf16 weights and gradients, fp32 master weights and two
# AdamW moments (2 + 2 + 4 + 4 + 4); LoRA keeps frozen bf16 weights plus small adapters.
TRAIN_BYTES_PER_PARAM = {"full": 16.0, "lora": 2.5}
ACTIVATION_MARGIN = 1.25
KV_CACHE_MARGIN = 1.3
# effective FLOP/s of one CPU thread on the embedded models: a training step of the 0.8M model over about 1,700
# tokens takes about 0.2 s with the reply-token loss (December 2026, the 2-core AMD EPYC machine of the README)
CPU_FLOPS = 4.0e10


def _power_of_two(needed: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(needed, 1.0))))


@dataclass(frozen=True)
class Estimate:
    """One job by the rule above: the GPUs it gets, the GPUs its state needs (more than ``gpus`` when that is
    more than one node holds), the peak GPU memory of all its GPUs together, its FLOPs and the start-up minutes
    its SLURM request adds (loading weights, starting an engine)."""

    gpus: int
    gpus_needed: int
    gpu_memory_gb: float
    flops: float
    startup_min: float


def compute_seconds(estimate: Estimate, cluster: dict[str, Any]) -> float:
    """The job's FLOPs at the assumed rate: ``utilization`` of its GPUs' peak, or one CPU thread."""
    rate = estimate.gpus * cluster["gpu_tflops"] * 1e12 * cluster["utilization"] if estimate.gpus else CPU_FLOPS
    return estimate.flops / rate


def request_minutes(estimate: Estimate, cluster: dict[str, Any]) -> int:
    """The runtime a job asks SLURM for: start-up plus ``runtime_margin`` x the estimated compute."""
    return math.ceil(estimate.startup_min + cluster["runtime_margin"] * compute_seconds(estimate, cluster) / 60)


def on_gpu(config: dict[str, Any], model: str) -> bool:
    """Embedded models run on the CPU; every other model on GPUs."""
    return config["models"][model]["source"] != "embedded"


def train_memory_gb(config: dict[str, Any], model: str) -> float:
    """GPU memory of a training job's state and activations, over all its GPUs (0 for a CPU model)."""
    if not on_gpu(config, model):
        return 0.0
    spec = config["models"][model]
    return spec["params_m"] * TRAIN_BYTES_PER_PARAM[spec["train_mode"]] / 1000 * ACTIVATION_MARGIN


def train_gpus_needed(config: dict[str, Any], model: str) -> int:
    """GPUs the training state needs (a power of two), however many one node has."""
    if not on_gpu(config, model):
        return 0
    return _power_of_two(train_memory_gb(config, model) / config["cluster"]["gpu_memory_gb"])


def train_gpus(config: dict[str, Any], model: str) -> int:
    """GPUs a training job gets: what its state needs; beyond one node, full fine-tuning spreads over several
    nodes (FSDP shards the state over all their GPUs, ``train_nodes``), while LoRA's data parallelism replicates
    the frozen weights on every GPU and so stays on one node."""
    needed, per_node = train_gpus_needed(config, model), config["cluster"]["gpus_per_node"]
    if needed > per_node and config["models"][model]["train_mode"] == "full":
        return math.ceil(needed / per_node) * per_node
    return min(needed, per_node)


def train_nodes(config: dict[str, Any], model: str) -> int:
    """Nodes of a training job: 1, or as many as its FSDP processes fill (``train_gpus``)."""
    return max(1, math.ceil(train_gpus(config, model) / config["cluster"]["gpus_per_node"]))


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


def training_steps(config: dict[str, Any], model: str, family: str, n: int) -> int:
    """Optimizer steps of one run (``max_steps`` where set, else epochs over the mixture's training rows)."""
    settings = run_training(config, model, family)
    if settings["max_steps"] > 0:
        return settings["max_steps"]
    rows = mixture_examples(config, family, n) / (1 + config["mixtures"]["validation_fraction"])
    return max(1, math.ceil(math.ceil(rows / settings["batch_size"]) * settings["epochs"]))


def train_estimate(config: dict[str, Any], model: str, family: str, n: int) -> Estimate:
    """6 x params x tokens, a training example counted at half of ``max_length`` tokens."""
    settings = run_training(config, model, family)
    tokens = mixture_examples(config, family, n) * settings["epochs"] * settings["max_length"] / 2
    return Estimate(train_gpus(config, model), train_gpus_needed(config, model), train_memory_gb(config, model),
                    6 * config["models"][model]["params_m"] * 1e6 * tokens, startup_min=15)


def train_resources(config: dict[str, Any], model: str, family: str, n: int, attempt: int = 1
                    ) -> dict[str, Any]:
    """GPUs, memory and runtime of one training job."""
    estimate = train_estimate(config, model, family, n)
    nodes = train_nodes(config, model)
    return {"gpu": estimate.gpus, "mem_mb": scaled(_host_memory_mb(config, model), attempt),
            "runtime": scaled(request_minutes(estimate, config["cluster"]), attempt),
            "nodes": nodes if nodes > 1 else None,  # --nodes: SLURM spreads the job's GPUs over them
            **cluster_fields(config, estimate.gpus)}


def evaluation_prompts(config: dict[str, Any], task: str) -> int:
    """Prompts of one task's evaluation: its test items per language in every evaluation language."""
    items = config["tasks"][task].get("test_items_per_language", config["generation"]["test_items_per_language"])
    return len(eval_languages(config)) * items


def generation_estimate(config: dict[str, Any], model: str, task: str | None = None) -> Estimate:
    """2 x params x (prompt + generated tokens) per prompt, a prompt counted at 512 tokens per shot; ``task``
    None: every task (an upper bound of any one job)."""
    gpus = generation_gpus(config, model)
    generation = config["generation"]
    tasks = [task] if task else list(config["tasks"])
    prompts = sum(evaluation_prompts(config, name) for name in tasks)
    shots = max(generation["math_shots"] if config["tasks"][name]["kind"] == "math" else 0 for name in tasks)
    prompt_tokens = 512 * (1 + shots)  # an upper bound per prompt
    params = config["models"][model]["params_m"]
    flops = 2 * params * 1e6 * prompts * (prompt_tokens + generation["max_new_tokens"])
    memory = params * 2 / 1000 * KV_CACHE_MARGIN if gpus else 0.0
    return Estimate(gpus, gpus, memory, flops, startup_min=10)


def generation_resources(config: dict[str, Any], model: str, attempt: int = 1, task: str | None = None
                         ) -> dict[str, Any]:
    """GPUs, memory and runtime of one generation job (one task's prompts in every language)."""
    estimate = generation_estimate(config, model, task)
    return {"gpu": estimate.gpus, "mem_mb": scaled(_host_memory_mb(config, model), attempt),
            "runtime": scaled(request_minutes(estimate, config["cluster"]), attempt),
            **cluster_fields(config, estimate.gpus)}


def helper_model_estimate(config: dict[str, Any], model: dict[str, Any] | None, prompts: int, tokens: int
                          ) -> Estimate:
    """The MT model or the judge (``model``: its config entry, or None for an endpoint: no GPU, about 3 s per
    prompt of waiting, written as the FLOPs a CPU thread does in that time) on ``prompts`` prompts of about
    ``tokens`` tokens each. A model without ``params_m`` (a small local one) runs on the CPU."""
    params_m = model.get("params_m") if model else None
    gpus = inference_gpus(config, params_m)
    if model is None:
        return Estimate(0, 0, 0.0, prompts * 3 * CPU_FLOPS, startup_min=10)
    memory = params_m * 2 / 1000 * KV_CACHE_MARGIN if gpus else 0.0
    return Estimate(gpus, gpus, memory, 2 * (params_m or 1.0) * 1e6 * prompts * tokens, startup_min=10)


def helper_model_resources(config: dict[str, Any], model: dict[str, Any] | None, prompts: int, tokens: int,
                           attempt: int = 1) -> dict[str, Any]:
    """GPUs, memory and runtime of a job that runs the MT model or the judge (``helper_model_estimate``); an
    endpoint's job asks for 10 minutes plus one per 20 prompts."""
    params_m = model.get("params_m") if model else None
    estimate = helper_model_estimate(config, model, prompts, tokens)
    minutes = request_minutes(estimate, config["cluster"]) if model else 10 + prompts // 20
    return {"gpu": estimate.gpus, "mem_mb": scaled(_host_memory_for(params_m or 1.0), attempt),
            "runtime": scaled(minutes, attempt), **cluster_fields(config, estimate.gpus)}


def hub_data_resources(config: dict[str, Any], task: str, attempt: int = 1) -> dict[str, Any]:
    """Memory and runtime of a task's hub data job (a CPU job): the largest any of its adapters needs
    (``xlt.registry.ADAPTERS``)."""
    splits = config["tasks"][task]["data"]["splits"].values()
    memory = max(ADAPTERS[split["adapter"]].memory_mb if "adapter" in split else ADAPTERS["chat"].memory_mb
                 for split in splits)  # a split {from_train: N} reads no dataset
    return {"mem_mb": scaled(memory, attempt), "runtime": scaled(120, attempt), **cluster_fields(config, 0)}


def attribution_checkpoints(config: dict[str, Any], model: str, family: str, n: int) -> int:
    """The kept checkpoints one attribution shard reads (every ``checkpoint_every``-th)."""
    save_steps = model_training(config, model)["save_steps"]
    kept = math.ceil(training_steps(config, model, family, n) / save_steps)
    return max(1, math.ceil(kept / config["attribution"]["checkpoint_every"]))


def attribution_tests(config: dict[str, Any], family: str) -> int:
    return len(config["mixtures"]["families"][family]["tasks"]) * len(eval_languages(config)) * \
        config["attribution"]["test_items_per_language"]


def attribution_estimate(config: dict[str, Any], model: str, family: str, n: int) -> Estimate:
    """One attribution shard. Memory: the model in the attribution precision with its activations and their
    gradients (2.5x the weights), one batch of per-example gradients, and every test example's gradient vector
    (exact: one number per chosen parameter; projected: k x k per layer in fp16, for up to 1,000 layers).
    FLOPs: a forward and backward (about 6 x params x tokens) per example and checkpoint."""
    settings, spec = config["attribution"], config["models"][model]
    params = spec["params_m"] * 1e6
    gigabytes = attribution_memory_gb(config, model, family)
    needed = 0 if not on_gpu(config, model) else _power_of_two(gigabytes / config["cluster"]["gpu_memory_gb"])
    training = model_training(config, model)
    train_items = mixture_examples(config, family, n)
    if settings["train_items"]:
        train_items = min(train_items, settings["train_items"])
    checkpoints = attribution_checkpoints(config, model, family, n)
    tests = attribution_tests(config, family)
    flops = 6 * params * (train_items / settings["shards"] + tests) * training["max_length"] / 2 * checkpoints
    return Estimate(min(needed, config["cluster"]["gpus_per_node"]), needed, gigabytes if needed else 0.0, flops,
                    startup_min=10)


def attribution_memory_gb(config: dict[str, Any], model: str, family: str) -> float:
    settings = config["attribution"]
    params = config["models"][model]["params_m"] * 1e6
    bytes_per = {"float64": 8, "float32": 4, "bfloat16": 2}[settings["precision"]]
    if settings["projection"] is None:
        vector_bytes = params * bytes_per
    else:
        vector_bytes = 1000 * settings["projection"] ** 2 * 2
    tests = attribution_tests(config, family)
    return (params * bytes_per * 2 * ACTIVATION_MARGIN + (settings["batch_size"] + tests) * vector_bytes) / 1e9


def attribution_resources(config: dict[str, Any], model: str, family: str, n: int, attempt: int = 1
                          ) -> dict[str, Any]:
    """GPUs, memory and runtime of one attribution shard (``attribution_estimate``); on the CPU, host memory
    holds what GPUs would."""
    estimate = attribution_estimate(config, model, family, n)
    gigabytes = attribution_memory_gb(config, model, family)
    host = max(_host_memory_for(config["models"][model]["params_m"]),
               0 if estimate.gpus else math.ceil(gigabytes * 1000 * 1.5))
    return {"gpu": estimate.gpus, "mem_mb": scaled(host, attempt),
            "runtime": scaled(request_minutes(estimate, config["cluster"]), attempt),
            **cluster_fields(config, estimate.gpus)}


# ---- per job: what a rule's resources read (``sized(job, name)`` in workflow/rules/common.smk) -------------
# Each takes the validated config, the job's wildcards (a mapping) and the attempt.


def train_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    return train_resources(config, wildcards["model"], wildcards["family"], int(wildcards["n"]), attempt)


def generation_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    return generation_resources(config, wildcards["model"], attempt, task=wildcards.get("task"))


def translation_items(config: dict[str, Any], task: str, split: str, lang: str) -> int:
    """Source items one translation job translates (10,000 where neither its entry nor the split caps them)."""
    entry = translation_entry(config, task, split, lang)
    return entry.get("items") or config["tasks"][task]["data"]["splits"][split].get("items_per_language") or 10000


def judge_model(config: dict[str, Any]) -> dict[str, Any] | None:
    """The judge's model entry, or None for an endpoint."""
    return config["judge"].get("model") if config["judge"]["backend"] != "openai" else None


def translation_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    """The MT model's size and the number of source items."""
    items = translation_items(config, wildcards["task"], wildcards["split"], wildcards["lang"])
    return helper_model_resources(config, config["translation"]["model"], items * 2, 1024, attempt)


def judge_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    """The judge model's size (none for an endpoint) and the evaluation set."""
    prompts = len(eval_languages(config)) * config["generation"]["test_items_per_language"]
    return helper_model_resources(config, judge_model(config), prompts, 1536, attempt)


def hub_data_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    return hub_data_resources(config, wildcards["task"], attempt)


def attribution_job(config: dict[str, Any], wildcards: dict[str, str], attempt: int = 1) -> dict[str, Any]:
    return attribution_resources(config, wildcards["model"], wildcards["family"], int(wildcards["n"]), attempt)
