# train: supervised fine-tuning of each model on each mixture and seed. Checkpoints (kept for attribution,
# and for resuming a restarted job) live beside the declared outputs, so a failed job keeps them.


rule train:
    input:
        base=lambda w: jobs.base_model_input(CONFIG, w.model),
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
        nodes=sized(resources.train_job, "nodes"),
    params:
        spec=lambda w: jobs.train_spec(
            CONFIG, w.model, paths.run_name(f"{w.family}-n{w.n}", w.seed)
        ),
        # one process per GPU (accelerate launch), or one on the CPU; DDP (LoRA) or FSDP (full) over them,
        # over several nodes (a launcher per node through srun) where the state needs more than one holds
        processes=lambda w: resources.train_gpus(CONFIG, w.model),
        nodes=lambda w: resources.train_nodes(CONFIG, w.model),
        strategy=lambda w: resources.train_strategy(CONFIG, w.model),
    shell:
        "python -m xlt.launch --processes {params.processes} --nodes {params.nodes} "
        "--strategy {params.strategy} "
        "train --model {wildcards.model} --spec {params.spec:q} "
        "--train {input.train} --validation {input.validation} --model-out {output.model} "
        "--summary {output.summary} --log {output.log} --seed {wildcards.seed} --threads {threads} "
        "> {log} 2>&1"
