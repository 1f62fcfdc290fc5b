# generate and score: every run (and every untrained base model) answers each task's evaluation prompts.


rule eval_prompts:
    input:
        test=paths.dataset_file("{task}", "test"),
        train=paths.dataset_file("{task}", "train"),
    output:
        paths.eval_prompts("{task}"),
    log:
        paths.log_file("eval_prompts", "{task}"),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=get_eval_prompts_spec,
    shell:
        "python -m xlt.cli generate prompts --spec {params.spec:q} --test {input.test} "
        "--train {input.train} --out {output} > {log} 2>&1"


rule generate:
    input:
        model=get_generation_model,
        prompts=[paths.eval_prompts(task) for task in STUDY["tasks"]],
    output:
        [paths.generations("{model}", "{run}", task) for task in STUDY["tasks"]],
    log:
        paths.log_file("generate", "{model}", "{run}"),
    conda:
        "../../envs/generate.yaml"
    threads: 1
    resources:
        gpu=generation_resource("gpu"),
        mem_mb=generation_resource("mem_mb"),
        runtime=generation_resource("runtime"),
        cpus_per_gpu=generation_resource("cpus_per_gpu"),
        gpu_model=generation_resource("gpu_model"),
        slurm_partition=generation_resource("slurm_partition"),
    params:
        settings=get_generation_settings,
    shell:
        "python -m xlt.cli generate run --model-dir {input.model} --settings {params.settings:q} "
        "--prompts {input.prompts} --out {output} --tensor-parallel {resources.gpu} "
        "--threads {threads} > {log} 2>&1"


rule score:
    input:
        paths.generations("{model}", "{run}", "{task}"),
    output:
        paths.scores("{model}", "{run}", "{task}"),
    log:
        paths.log_file("score", "{model}", "{run}", "{task}"),
    conda:
        "../../envs/score.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        spec=get_score_spec,
    shell:
        "python -m xlt.cli score run --generations {input} --spec {params.spec:q} --out {output} "
        "> {log} 2>&1"
