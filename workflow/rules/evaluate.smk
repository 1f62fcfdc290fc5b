# generate and score: every run (and every untrained base model) answers each task's evaluation prompts.


def get_exemplars(wildcards):
    """Solved items shown k-shot: a hub task's exemplars split (MGSM's), else the synthetic train split."""
    split = "exemplars" if wildcards.task in HUB_TASKS else "train"
    return paths.dataset_file(wildcards.task, split)


def get_eval_prompts_spec(wildcards):
    kind = CONFIG["tasks"][wildcards.task]["kind"]
    generation = CONFIG["generation"]
    return canonical_json(
        {
            "languages": grid.eval_languages(CONFIG),
            "items_per_language": CONFIG["tasks"][wildcards.task].get(
                "test_items_per_language", generation["test_items_per_language"]
            ),
            "shots": generation["math_shots"] if kind == "math" else 0,
        }
    )


def get_generation_model(wildcards):
    if wildcards.run == paths.BASE_RUN:
        return get_base_model(wildcards)
    return paths.run_file(wildcards.model, wildcards.run, "model")


def get_generation_model_dir(wildcards):
    """What the generate job loads: the trained model, or the base (a directory, or a hub id, which is no
    job input)."""
    if wildcards.run == paths.BASE_RUN:
        return base_model_path(wildcards.model)
    return paths.run_file(wildcards.model, wildcards.run, "model")


def get_generation_revision(wildcards):
    """The pinned commit of a hub base model (its own run only: trained models are directories); '' for none."""
    spec = CONFIG["models"][wildcards.model]
    if wildcards.run == paths.BASE_RUN and spec["source"] == "hub":
        return spec.get("revision", "")
    return ""


def get_generation_settings(wildcards):
    """Decoding settings (without the evaluation-set ones, which reach jobs through the prompts file)."""
    generation = CONFIG["generation"]
    keep = ("backend", "seed", "max_new_tokens", "temperature", "top_p", "batch_size")
    return canonical_json({key: generation[key] for key in keep})


def get_judge_spec(wildcards):
    """The judge's settings (the name of the key's environment variable, never the key) and the languages
    of the switch check."""
    return canonical_json({**CONFIG["judge"], "languages": grid.eval_languages(CONFIG)})


def get_score_inputs(wildcards):
    """The run's generations of the task, and the judge's ratings of them where the task is judged."""
    judged = registry.judged(CONFIG["tasks"][wildcards.task]["metrics"])
    return {
        "generations": paths.generations(
            wildcards.model, wildcards.run, wildcards.task
        ),
        "judgements": (
            [paths.judgements(wildcards.model, wildcards.run, wildcards.task)]
            if judged
            else []
        ),
    }


def get_score_spec(wildcards):
    return canonical_json(
        {
            "metrics": CONFIG["tasks"][wildcards.task]["metrics"],
            "languages": grid.eval_languages(CONFIG),
        }
    )


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
        "python -m xlt.cli prompts --spec {params.spec:q} --test {input.test} "
        "--exemplars {input.exemplars} --out {output} > {log} 2>&1"


rule generate:
    input:
        model=get_generation_model,
        prompts=[paths.eval_prompts(task) for task in CONFIG["tasks"]],
    output:
        [paths.generations("{model}", "{run}", task) for task in CONFIG["tasks"]],
    log:
        paths.log_file("generate", "{model}", "{run}"),
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
        model_dir=get_generation_model_dir,
        revision=get_generation_revision,
        settings=get_generation_settings,
    shell:
        "python -m xlt.cli generate --model-dir {params.model_dir} --revision {params.revision:q} "
        "--settings {params.settings:q} --prompts {input.prompts} --out {output} "
        "--tensor-parallel {resources.gpu} --threads {threads} > {log} 2>&1"


rule judge:
    input:
        generations=paths.generations("{model}", "{run}", "{task}"),
        model=helper_model_input("judge"),
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
        spec=get_judge_spec,
        model_dir=helper_model_dir("judge"),
    shell:
        "python -m xlt.cli judge run --generations {input.generations} --spec {params.spec:q} "
        "--model-dir {params.model_dir:q} --tensor-parallel {resources.gpu} --out {output} > {log} 2>&1"


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
    shell:
        "python -m xlt.cli score run --model {wildcards.model} --run {wildcards.run} "
        "--generations {input.generations} --judgements {input.judgements} --spec {params.spec:q} "
        "--out {output} > {log} 2>&1"
