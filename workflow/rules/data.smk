# data: each task's normalised train/validation/test tables (and k-shot exemplars), from the synthetic
# benchmark, or from Hugging Face datasets plus machine translations of what a language lacks.


def one_of(names):
    """A wildcard pattern matching exactly these names (nothing, when there are none)."""
    return "|".join(names) or "(?!)"


def get_task_data_spec(wildcards):
    """A task's data settings (only what its dataset depends on), as canonical JSON."""
    task = CONFIG["tasks"][wildcards.task]
    spec = {key: value for key, value in task["data"].items() if key != "source"}
    return canonical_json({"kind": task["kind"], **spec})


def get_hub_languages(wildcards):
    return ",".join(grid.hub_languages(CONFIG, wildcards.task))


def get_translation_spec(wildcards):
    """One translation job's settings: the MT model and prompt, the languages, the source split's seed."""
    try:
        entry = grid.translation_entry(
            CONFIG, wildcards.task, wildcards.split, wildcards.lang
        )
    except KeyError as error:
        raise WorkflowError(error.args[0]) from None
    return canonical_json(
        {
            "task": wildcards.task,
            "split": wildcards.split,
            "from": entry["from"],
            "to": wildcards.lang,
            "items": entry.get("items"),
            "seed": CONFIG["tasks"][wildcards.task]["data"]["seed"],
            "system": CONFIG["translation"]["name"],
            # language identification tells the target from the source language: with the study's
            # languages here, adding one would rerun every translation and all that depends on it
            "languages": sorted({entry["from"], wildcards.lang}),
            "translation": CONFIG["translation"],
        }
    )


def get_translation_cache(wildcards):
    return paths.translation_cache(
        CONFIG["translation"]["name"], wildcards.task, wildcards.split, wildcards.lang
    )


def get_dataset_parts(wildcards):
    """One split of a hub task: its native items and every translation added to them."""
    return {
        "source": paths.source_file(wildcards.task, wildcards.split),
        "translations": [
            paths.translation_file(wildcards.task, split, lang)
            for split, lang, _ in grid.translations_of(CONFIG, wildcards.task)
            if split == wildcards.split
        ],
    }


def translation_targets():
    """The drop-count manifest of every translation (what the study's run shows of the MT filters)."""
    return [
        paths.translation_file(task, split, lang, "manifest")
        for task in HUB_TASKS
        for split, lang, _ in grid.translations_of(CONFIG, task)
    ]


rule synthetic_dataset:
    output:
        train=paths.dataset_file("{task}", "train"),
        validation=paths.dataset_file("{task}", "validation"),
        test=paths.dataset_file("{task}", "test"),
        provenance=paths.dataset_file("{task}", "provenance"),
    log:
        paths.log_file("data", "{task}"),
    wildcard_constraints:
        task=one_of(SYNTHETIC_TASKS),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        spec=get_task_data_spec,
        out_dir=paths.dataset_dir("{task}"),
    shell:
        "python -m xlt.cli data synthetic --task {wildcards.task} --spec {params.spec:q} "
        "--out-dir {params.out_dir} > {log} 2>&1"


rule hub_dataset:
    output:
        train=paths.source_file("{task}", "train"),
        validation=paths.source_file("{task}", "validation"),
        test=paths.source_file("{task}", "test"),
        exemplars=paths.source_file("{task}", "exemplars"),
        provenance=paths.source_file("{task}", "provenance"),
    log:
        paths.log_file("data", "{task}"),
    wildcard_constraints:
        task=one_of(HUB_TASKS),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=sized(resources.hub_data_job, "mem_mb"),
        runtime=sized(resources.hub_data_job, "runtime"),
        slurm_partition=sized(resources.hub_data_job, "slurm_partition"),
    params:
        spec=get_task_data_spec,
        languages=get_hub_languages,
        out_dir=paths.source_dir("{task}"),
        cache_dir=paths.DOWNLOADS,
    shell:
        "python -m xlt.cli data hub --task {wildcards.task} --spec {params.spec:q} "
        "--languages {params.languages} --out-dir {params.out_dir} --cache-dir {params.cache_dir} "
        "> {log} 2>&1"


rule translate:
    input:
        source=paths.source_file("{task}", "{split}"),
        model=helper_model_input("translation"),
    output:
        translations=paths.translation_file("{task}", "{split}", "{lang}"),
        manifest=paths.translation_file("{task}", "{split}", "{lang}", "manifest"),
    log:
        paths.log_file("translate", "{task}", "{split}", "{lang}"),
    conda:
        "../../envs/generate.yaml"
    threads: 1
    resources:
        gpu=sized(resources.translation_job, "gpu"),
        mem_mb=sized(resources.translation_job, "mem_mb"),
        runtime=sized(resources.translation_job, "runtime"),
        cpus_per_gpu=sized(resources.translation_job, "cpus_per_gpu"),
        gpu_model=sized(resources.translation_job, "gpu_model"),
        slurm_partition=sized(resources.translation_job, "slurm_partition"),
    params:
        spec=get_translation_spec,
        cache=get_translation_cache,
        model_dir=helper_model_dir("translation"),
    shell:
        "python -m xlt.cli translate run --source {input.source} --spec {params.spec:q} "
        "--model-dir {params.model_dir:q} --out {output.translations} --manifest {output.manifest} "
        "--cache {params.cache} --tensor-parallel {resources.gpu} --threads {threads} > {log} 2>&1"


rule dataset:
    input:
        unpack(get_dataset_parts),
    output:
        table=paths.dataset_file("{task}", "{split}"),
        provenance=paths.dataset_sidecar("{task}", "{split}"),
    log:
        paths.log_file("dataset", "{task}", "{split}"),
    wildcard_constraints:
        task=one_of(HUB_TASKS),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    shell:
        "python -m xlt.cli data assemble --source {input.source} --translations {input.translations} "
        "--out {output.table} > {log} 2>&1"
