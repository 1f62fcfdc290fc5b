# data: each task's normalised train/validation/test tables (and k-shot exemplars), from the synthetic
# benchmark, or from Hugging Face datasets plus machine translations of what a language lacks.


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
        spec=get_synthetic_spec,
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
        mem_mb=hub_data_resource("mem_mb"),
        runtime=hub_data_resource("runtime"),
        slurm_partition=hub_data_resource("slurm_partition"),
    params:
        spec=get_hub_spec,
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
        model=generator_model_input("translation"),
    output:
        translations=paths.translation_file("{task}", "{split}", "{lang}"),
        manifest=paths.translation_file("{task}", "{split}", "{lang}", "manifest"),
    log:
        paths.log_file("translate", "{task}", "{split}", "{lang}"),
    conda:
        "../../envs/generate.yaml"
    threads: 1
    resources:
        gpu=translation_resource("gpu"),
        mem_mb=translation_resource("mem_mb"),
        runtime=translation_resource("runtime"),
        cpus_per_gpu=translation_resource("cpus_per_gpu"),
        gpu_model=translation_resource("gpu_model"),
        slurm_partition=translation_resource("slurm_partition"),
    params:
        spec=get_translation_spec,
        cache=get_translation_cache,
        model=generator_model_arg("translation"),
    shell:
        "python -m xlt.cli translate run --source {input.source} --spec {params.spec:q} {params.model} "
        "--out {output.translations} --manifest {output.manifest} --cache {params.cache} "
        "--tensor-parallel {resources.gpu} --threads {threads} > {log} 2>&1"


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
