# train: supervised fine-tuning of each model on each mixture and seed. Checkpoints (kept for attribution,
# and for resuming a restarted job) live beside the declared outputs, so a failed job keeps them.


def get_train_spec(wildcards):
    """The model entry, its base path and its resolved training settings (nothing of other models)."""
    model = {
        key: value
        for key, value in CONFIG["models"][wildcards.model].items()
        if key not in ("training", "pretrain", "architecture")
    }
    return canonical_json(
        {
            "model": model,
            "base": base_model_path(wildcards.model),
            "training": grid.model_training(CONFIG, wildcards.model),
        }
    )


def get_train_processes(wildcards):
    """One process per GPU of the job (accelerate launch), or one on the CPU."""
    return resources.train_gpus(CONFIG, wildcards.model)


def get_train_strategy(wildcards):
    """single, or accelerate with DDP (LoRA) or FSDP (full fine-tuning) over the job's GPUs."""
    return resources.train_strategy(CONFIG, wildcards.model)


rule train:
    input:
        base=get_base_model,
        train=paths.mixture_file("{family}-n{n}", "{seed}", "train.parquet"),
        validation=paths.mixture_file("{family}-n{n}", "{seed}", "validation.parquet"),
    output:
        model=directory(paths.run_file("{model}", "{family}-n{n}/seed{seed}", "model")),
        summary=paths.run_file("{model}", "{family}-n{n}/seed{seed}", "training.json"),
        log=paths.run_file(
            "{model}", "{family}-n{n}/seed{seed}", "training_log.parquet"
        ),
    log:
        paths.log_file("train", "{model}", "{family}-n{n}", "seed{seed}"),
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        gpu=sized(resources.train_job, "gpu"),
        mem_mb=sized(resources.train_job, "mem_mb"),
        runtime=sized(resources.train_job, "runtime"),
        cpus_per_gpu=sized(resources.train_job, "cpus_per_gpu"),
        gpu_model=sized(resources.train_job, "gpu_model"),
        slurm_partition=sized(resources.train_job, "slurm_partition"),
    params:
        spec=get_train_spec,
        processes=get_train_processes,
        strategy=get_train_strategy,
    shell:
        "python -m xlt.launch --processes {params.processes} --strategy {params.strategy} "
        "train --model {wildcards.model} --spec {params.spec:q} "
        "--train {input.train} --validation {input.validation} --model-out {output.model} "
        "--summary {output.summary} --log {output.log} --seed {wildcards.seed} --threads {threads} "
        "> {log} 2>&1"
