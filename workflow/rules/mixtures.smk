# mixtures: English items plus n per non-English language, per family, n and seed.


def get_mixture_spec(wildcards):
    """One mixture's settings without the family's n grid, so adding an n reruns no other mixture."""
    return canonical_json(grid.mixture_spec(CONFIG, wildcards.family, int(wildcards.n)))


def get_mixture_datasets(wildcards):
    """Each task's train and validation tables and the test items that never train, in the family's task order."""
    return grid.mixture_datasets(CONFIG, wildcards.family)


def mixture_manifests():
    return [
        paths.mixture_file(mixture, seed, "manifest.json")
        for mixture in grid.mixture_names(CONFIG)
        for seed in CONFIG["seeds"]
    ]


rule mixture:
    input:
        unpack(get_mixture_datasets),
    output:
        train=paths.mixture_file("{family}-n{n}", "{seed}", "train.parquet"),
        validation=paths.mixture_file("{family}-n{n}", "{seed}", "validation.parquet"),
        manifest=paths.mixture_file("{family}-n{n}", "{seed}", "manifest.json"),
        provenance=paths.mixture_file("{family}-n{n}", "{seed}", "provenance.json"),
    log:
        paths.log_file("mixtures", "{family}-n{n}", "seed{seed}"),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        spec=get_mixture_spec,
        out_dir=paths.mixture_dir("{family}-n{n}", "{seed}"),
    shell:
        "python -m xlt.cli mixtures build --spec {params.spec:q} --seed {wildcards.seed} "
        "--train {input.train} --validation {input.validation} --test {input.test} "
        "--out-dir {params.out_dir} > {log} 2>&1"


rule mixture_summary:
    input:
        mixture_manifests(),
    output:
        paths.mixture_summary(),
    log:
        paths.log_file("mixtures", "summary"),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m xlt.cli mixtures summary {input} --out {output} > {log} 2>&1"
