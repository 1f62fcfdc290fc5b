# generate and score: every untrained base model answers each task's evaluation prompts, every trained run those of
# its family's tasks (grid.evaluated_tasks), one job per run and task.


rule eval_prompts:
    input:
        test=paths.dataset_file("{task}", "test"),
        exemplars=lambda w: jobs.exemplars_file(CONFIG, w.task),
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
        spec=lambda w: jobs.eval_prompts_spec(CONFIG, w.task),
    shell:
        "python -m xlt.cli prompts --spec {params.spec:q} --test {input.test} "
        "--exemplars {input.exemplars} --out {output} > {log} 2>&1"


rule generate:
    input:
        model=lambda w: jobs.generation_model_input(CONFIG, w.model, w.run),
        prompts=paths.eval_prompts("{task}"),
    output:
        paths.generations("{model}", "{run}", "{task}"),
    log:
        paths.log_file("generate", "{model}", "{run}", "{task}"),
    conda:
        "../../envs/generate.yaml"
    threads: 1
    resources:
        gpu=sized(resources.generation_job, "gpu"),
        mem_mb=sized(resources.generation_job, "mem_mb"),
        runtime=sized(resources.generation_job, "runtime"),
        cpus_per_gpu=sized(resources.generation_job, "cpus_per_gpu"),
        gpu_model=sized(resources.generation_job, "gpu_model"),
        slurm_partition=sized(resources.generation_job, "slurm_partition"),
    params:
        model_dir=lambda w: jobs.generation_model_dir(CONFIG, w.model, w.run),
        revision=lambda w: jobs.generation_revision(CONFIG, w.model, w.run),
        settings=jobs.generation_settings(CONFIG),
    shell:
        "python -m xlt.cli generate --model-dir {params.model_dir} --revision {params.revision:q} "
        "--settings {params.settings:q} --prompts {input.prompts} --out {output} "
        "--tensor-parallel {resources.gpu} --threads {threads} > {log} 2>&1"


rule judge:
    input:
        generations=paths.generations("{model}", "{run}", "{task}"),
        model=jobs.helper_model_input(CONFIG, "judge"),
    output:
        paths.judgements("{model}", "{run}", "{task}"),
    log:
        paths.log_file("judge", "{model}", "{run}", "{task}"),
    conda:
        "../../envs/generate.yaml"
    threads: 1
    resources:
        gpu=sized(resources.judge_job, "gpu"),
        mem_mb=sized(resources.judge_job, "mem_mb"),
        runtime=sized(resources.judge_job, "runtime"),
        cpus_per_gpu=sized(resources.judge_job, "cpus_per_gpu"),
        gpu_model=sized(resources.judge_job, "gpu_model"),
        slurm_partition=sized(resources.judge_job, "slurm_partition"),
    params:
        spec=lambda w: jobs.judge_spec(CONFIG),
        model_dir=jobs.helper_model_dir(CONFIG, "judge"),
    shell:
        "python -m xlt.cli judge run --generations {input.generations} --spec {params.spec:q} "
        "--model-dir {params.model_dir:q} --tensor-parallel {resources.gpu} --out {output} > {log} 2>&1"


rule score:
    input:
        unpack(lambda w: jobs.score_inputs(CONFIG, w.model, w.run, w.task)),
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
        spec=lambda w: jobs.score_spec(CONFIG, w.task),
    shell:
        "python -m xlt.cli score run --model {wildcards.model} --run {wildcards.run} "
        "--generations {input.generations} --judgements {input.judgements} --spec {params.spec:q} "
        "--out {output} > {log} 2>&1"
