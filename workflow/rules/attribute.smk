# attribute (study B): TracInCP influence of a run's training items on test items in every language, over the
# run's kept checkpoints (listed in training.json, which the train rule declares; the checkpoint folders beside
# it are read through that list). Runs: attribution.runs in the config.
#   results/runs/{model}/{run}/attribution/examples.parquet          the attributed items
#   results/runs/{model}/{run}/attribution/scores/shard{s}-of{S}.parquet  one index range of training items
#   results/tables/attribution/{model}/{run}/                         shares, reinforce, zero-shot, imbalance
#   results/figures/attribution/{model}/{run}/{shares,checkpoints,reinforce}.pdf


rule attribution_examples:
    input:
        unpack(
            lambda w: jobs.attribution_examples_inputs(CONFIG, w.family, w.n, w.seed)
        ),
    output:
        paths.attribution_file(
            "{model}", "{family}-n{n}/seed{seed}", "examples.parquet"
        ),
    log:
        paths.log_file(
            "attribute", "examples", "{model}", "{family}-n{n}", "seed{seed}"
        ),
    conda:
        "../../envs/attribute.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        spec=lambda w: jobs.attribution_examples_spec(CONFIG),
    shell:
        "python -m xlt.cli attribute examples --train {input.train} --test {input.test} "
        "--prompts {input.prompts} --spec {params.spec:q} --out {output} > {log} 2>&1"


rule attribution_scores:
    input:
        examples=paths.attribution_file(
            "{model}", "{family}-n{n}/seed{seed}", "examples.parquet"
        ),
        summary=paths.run_file("{model}", "{family}-n{n}/seed{seed}", "training.json"),
        base=lambda w: jobs.base_model_input(CONFIG, w.model),
    output:
        paths.attribution_shard(
            "{model}", "{family}-n{n}/seed{seed}", "{shard}", "{shards}"
        ),
    log:
        paths.log_file(
            "attribute",
            "scores",
            "{model}",
            "{family}-n{n}",
            "seed{seed}",
            "{shard}-of{shards}",
        ),
    conda:
        "../../envs/attribute.yaml"
    threads: 1
    resources:
        gpu=sized(resources.attribution_job, "gpu"),
        mem_mb=sized(resources.attribution_job, "mem_mb"),
        runtime=sized(resources.attribution_job, "runtime"),
        cpus_per_gpu=sized(resources.attribution_job, "cpus_per_gpu"),
        gpu_model=sized(resources.attribution_job, "gpu_model"),
        slurm_partition=sized(resources.attribution_job, "slurm_partition"),
    params:
        spec=lambda w: jobs.attribution_scores_spec(CONFIG, w.model),
    shell:
        "python -m xlt.cli attribute scores --examples {input.examples} --summary {input.summary} "
        "--model {wildcards.model} --spec {params.spec:q} --shard {wildcards.shard} "
        "--shards {wildcards.shards} --threads {threads} --out {output} > {log} 2>&1"


rule attribution_tables:
    input:
        examples=paths.attribution_file(
            "{model}", "{family}-n{n}/seed{seed}", "examples.parquet"
        ),
        scores=lambda w: jobs.attribution_shards(
            CONFIG, w.model, f"{w.family}-n{w.n}/seed{w.seed}"
        ),
    output:
        shares=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "shares.parquet"
        ),
        shares_csv=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "shares.csv"
        ),
        matrix=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "share_matrix.csv"
        ),
        reinforce=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "reinforce.csv"
        ),
        zero_shot=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "zero_shot.csv"
        ),
        imbalance=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "imbalance.csv"
        ),
        sensitivity=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "k_sensitivity.csv"
        ),
    log:
        paths.log_file("attribute", "tables", "{model}", "{family}-n{n}", "seed{seed}"),
    conda:
        "../../envs/attribute.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        spec=lambda w: jobs.attribution_analysis_spec(CONFIG),
    shell:
        "python -m xlt.cli attribute tables --examples {input.examples} --scores {input.scores} "
        "--spec {params.spec:q} --shares {output.shares} --matrix {output.matrix} "
        "--reinforce {output.reinforce} --zero-shot {output.zero_shot} "
        "--imbalance {output.imbalance} --sensitivity {output.sensitivity} > {log} 2>&1"


rule attribution_figure:
    input:
        shares=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "shares.parquet"
        ),
        reinforce=paths.attribution_table(
            "{model}", "{family}-n{n}/seed{seed}", "reinforce.csv"
        ),
    output:
        pdf=paths.attribution_figure(
            "{model}", "{family}-n{n}/seed{seed}", "{attribution_figure}", "pdf"
        ),
        png=report(
            paths.attribution_figure(
                "{model}", "{family}-n{n}/seed{seed}", "{attribution_figure}", "png"
            ),
            caption="../report/figure.rst",
            category="Attribution",
        ),
        series=paths.attribution_figure(
            "{model}", "{family}-n{n}/seed{seed}", "{attribution_figure}", "csv"
        ),
        notes=paths.attribution_figure(
            "{model}", "{family}-n{n}/seed{seed}", "{attribution_figure}", "notes.json"
        ),
    log:
        paths.log_file(
            "attribute",
            "figure",
            "{model}",
            "{family}-n{n}",
            "seed{seed}",
            "{attribution_figure}",
        ),
    conda:
        "../../envs/attribute.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=lambda w: jobs.attribution_analysis_spec(CONFIG),
    shell:
        "python -m xlt.cli attribute figure {wildcards.attribution_figure} --shares {input.shares} "
        "--reinforce {input.reinforce} --spec {params.spec:q} "
        "--run '{wildcards.model} {wildcards.family}-n{wildcards.n}/seed{wildcards.seed}' "
        "--out {output.pdf} --notes {output.notes} > {log} 2>&1"
