# generate and score: every run (and every untrained base model) answers each task's evaluation prompts.


rule eval_prompts:
    input:
        test=paths.dataset_file("{task}", "test"),
        exemplars=get_exemplars,
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
        "--exemplars {input.exemplars} --out {output} > {log} 2>&1"


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
        model_dir=get_generation_model_dir,
        revision=get_generation_revision,
        settings=get_generation_settings,
    shell:
        "python -m xlt.cli generate run --model-dir {params.model_dir} {params.revision}"
        "--settings {params.settings:q} "
        "--prompts {input.prompts} --out {output} --tensor-parallel {resources.gpu} "
        "--threads {threads} > {log} 2>&1"


rule judge:
    input:
        generations=paths.generations("{model}", "{run}", "{task}"),
        model=generator_model_input("judge"),
    output:
        paths.judgements("{model}", "{run}", "{task}"),
    log:
        paths.log_file("judge", "{model}", "{run}", "{task}"),
    conda:
        "../../envs/generate.yaml"
    threads: 1
    resources:
        gpu=judge_resource("gpu"),
        mem_mb=judge_resource("mem_mb"),
        runtime=judge_resource("runtime"),
        cpus_per_gpu=judge_resource("cpus_per_gpu"),
        gpu_model=judge_resource("gpu_model"),
        slurm_partition=judge_resource("slurm_partition"),
    params:
        spec=get_judge_spec,
        model=generator_model_arg("judge"),
    shell:
        "python -m xlt.cli judge run --generations {input.generations} --spec {params.spec:q} "
        "{params.model} --tensor-parallel {resources.gpu} --out {output} > {log} 2>&1"


rule score:
    input:
        unpack(get_score_inputs),
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
        judgements=get_score_options,
    shell:
        "python -m xlt.cli score run --generations {input.generations} --spec {params.spec:q} "
        "{params.judgements} --out {output} > {log} 2>&1"
