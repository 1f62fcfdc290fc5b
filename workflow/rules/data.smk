# data: each task's normalised train/validation/test tables (and k-shot exemplars), from the synthetic
# benchmark, or from Hugging Face datasets plus machine translations of what a language lacks.
# Params and inputs: xlt.jobs (data.smk section).


rule synthetic_dataset:
    output:
        train=paths.dataset_file("{task}", "train"),
        validation=paths.dataset_file("{task}", "validation"),
        test=paths.dataset_file("{task}", "test"),
        provenance=paths.dataset_file("{task}", "provenance"),
    log:
        paths.log_file("data", "{task}"),
    wildcard_constraints:
        task=paths.one_of(SYNTHETIC_TASKS),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        spec=lambda w: jobs.task_data_spec(CONFIG, w.task),
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
        task=paths.one_of(HUB_TASKS),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=sized(resources.hub_data_job, "mem_mb"),
        runtime=sized(resources.hub_data_job, "runtime"),
        slurm_partition=sized(resources.hub_data_job, "slurm_partition"),
    params:
        spec=lambda w: jobs.task_data_spec(CONFIG, w.task),
        languages=lambda w: ",".join(grid.hub_languages(CONFIG, w.task)),
        out_dir=paths.source_dir("{task}"),
        cache_dir=paths.DOWNLOADS,
    shell:
        "python -m xlt.cli data hub --task {wildcards.task} --spec {params.spec:q} "
        "--languages {params.languages} --out-dir {params.out_dir} --cache-dir {params.cache_dir} "
        "> {log} 2>&1"


rule translate:
    input:
        source=paths.source_file("{task}", "{split}"),
        model=jobs.helper_model_input(CONFIG, "translation"),
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
        spec=lambda w: jobs.translation_spec(CONFIG, w.task, w.split, w.lang),
        cache=lambda w: paths.translation_cache(
            CONFIG["translation"]["name"], w.task, w.split, w.lang
        ),
        model_dir=jobs.helper_model_dir(CONFIG, "translation"),
    shell:
        "python -m xlt.cli translate run --source {input.source} --spec {params.spec:q} "
        "--model-dir {params.model_dir:q} --out {output.translations} --manifest {output.manifest} "
        "--cache {params.cache} --tensor-parallel {resources.gpu} --threads {threads} > {log} 2>&1"


rule dataset:
    input:
        unpack(lambda w: jobs.dataset_parts(CONFIG, w.task, w.split)),
    output:
        table=paths.dataset_file("{task}", "{split}"),
        provenance=paths.dataset_sidecar("{task}", "{split}"),
    log:
        paths.log_file("dataset", "{task}", "{split}"),
    wildcard_constraints:
        task=paths.one_of(HUB_TASKS),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    shell:
        "python -m xlt.cli data assemble --source {input.source} --translations {input.translations} "
        "--out {output.table} > {log} 2>&1"
