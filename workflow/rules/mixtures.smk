# mixtures: English items plus n per non-English language, per family, n and seed.


rule mixture:
    input:
        unpack(lambda w: grid.mixture_datasets(CONFIG, w.family)),
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
        # the mixture without its family's n grid: adding an n reruns no other mixture
        spec=lambda w: canonical_json(grid.mixture_spec(CONFIG, w.family, int(w.n))),
        out_dir=paths.mixture_dir("{family}-n{n}", "{seed}"),
    shell:
        "python -m xlt.cli mixtures build --spec {params.spec:q} --seed {wildcards.seed} "
        "--train {input.train} --validation {input.validation} --test {input.test} "
        "--out-dir {params.out_dir} > {log} 2>&1"


rule mixture_summary:
    input:
        jobs.mixture_manifests(CONFIG),
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
