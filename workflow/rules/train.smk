# train: supervised fine-tuning of each model on each mixture and seed. Checkpoints (kept for attribution,
# and for resuming a restarted job) live beside the declared outputs, so a failed job keeps them.


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
        gpu=train_resource("gpu"),
        mem_mb=train_resource("mem_mb"),
        runtime=train_resource("runtime"),
        cpus_per_gpu=train_resource("cpus_per_gpu"),
        gpu_model=train_resource("gpu_model"),
        slurm_partition=train_resource("slurm_partition"),
    params:
        spec=get_train_spec,
        launch=get_train_launch,
    shell:
        "python -m xlt.launch {params.launch} train --model {wildcards.model} --spec {params.spec:q} "
        "--train {input.train} "
        "--model-out {output.model} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"
