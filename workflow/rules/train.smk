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
        mem_mb=8000,
        runtime=120,
    params:
        spec=get_train_spec,
    shell:
        "python -m xlt.cli train --model {wildcards.model} --spec {params.spec:q} --train {input.train} "
        "--model-out {output.model} --seed {wildcards.seed} --threads {threads} > {log} 2>&1"
