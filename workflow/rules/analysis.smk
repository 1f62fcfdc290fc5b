# analyze: scores -> tidy tables (bootstrap intervals) -> the paper's figures and tables, data-efficiency
# curves -> one HTML report. Each figure and table is its own target:
#   snakemake results/figures/fig3_scores_by_n.pdf

# The grid and language groups the analysis reads (not training or generation settings), and the whole
# validated config (the report shows it); functions of the job, so that braces in prompt templates are not
# taken for wildcards.
ANALYSIS_SPEC = canonical_json(grid.analysis_spec(CONFIG))
CONFIG_JSON = canonical_json(CONFIG)


rule results_tables:
    input:
        jobs.all_scores(CONFIG),
    output:
        examples=paths.table_file("scores_by_example.parquet"),
        results=paths.table_file("results.parquet"),
        results_csv=paths.table_file("results.csv"),
        summary=paths.table_file("run_summary.parquet"),
        summary_csv=paths.table_file("run_summary.csv"),
        mixtures=paths.table_file("mixture_summary.parquet"),
        mixtures_csv=paths.table_file("mixture_summary.csv"),
    log:
        paths.log_file("analysis", "results_tables"),
    conda:
        "../../envs/analyze.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        study=lambda w: ANALYSIS_SPEC,
    shell:
        "python -m xlt.cli tables results {input} --study {params.study:q} --examples {output.examples} "
        "--results {output.results} --summary {output.summary} --mixtures {output.mixtures} > {log} 2>&1"


rule data_efficiency:
    input:
        paths.table_file("scores_by_example.parquet"),
    output:
        table=paths.table_file("data_efficiency.parquet"),
        csv=report(
            paths.table_file("data_efficiency.csv"),
            caption="../report/data_efficiency.rst",
            category="Tables",
        ),
        markdown=paths.table_file("data_efficiency.md"),
        latex=paths.table_file("data_efficiency.tex"),
    log:
        paths.log_file("analysis", "data_efficiency"),
    conda:
        "../../envs/analyze.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        study=lambda w: ANALYSIS_SPEC,
    shell:
        "python -m xlt.cli curves --examples {input} --study {params.study:q} --out {output.table} "
        "> {log} 2>&1"


rule spearman_table:
    input:
        paths.table_file("run_summary.parquet"),
    output:
        csv=report(
            paths.table_file("table2_spearman.csv"),
            caption="../report/table.rst",
            category="Tables",
        ),
        markdown=paths.table_file("table2_spearman.md"),
        latex=paths.table_file("table2_spearman.tex"),
    log:
        paths.log_file("analysis", "table2_spearman"),
    conda:
        "../../envs/analyze.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        study=lambda w: ANALYSIS_SPEC,
    shell:
        "python -m xlt.cli tables spearman --summary {input} --study {params.study:q} --out {output.csv} "
        "> {log} 2>&1"


rule per_language_table:
    input:
        paths.table_file("results.parquet"),
    output:
        csv=report(
            paths.per_language_table("{model}", "{setting}", "{task}"),
            caption="../report/table.rst",
            category="Per-language tables",
        ),
        markdown=paths.per_language_table("{model}", "{setting}", "{task}", "md"),
        latex=paths.per_language_table("{model}", "{setting}", "{task}", "tex"),
    log:
        paths.log_file("analysis", "per_language", "{model}", "{setting}", "{task}"),
    conda:
        "../../envs/analyze.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        study=lambda w: ANALYSIS_SPEC,
    shell:
        "python -m xlt.cli tables per-language --results {input} --study {params.study:q} "
        "--model {wildcards.model} --setting {wildcards.setting} --task {wildcards.task} "
        "--out {output.csv} > {log} 2>&1"


rule figure:
    input:
        unpack(lambda w: jobs.figure_inputs(w.figure)),
    output:
        pdf=paths.figure_file("{figure}", "pdf"),
        png=report(
            paths.figure_file("{figure}", "png"),
            caption="../report/figure.rst",
            category="Figures",
        ),
        series=paths.figure_file("{figure}", "csv"),
        notes=paths.figure_file("{figure}", "notes.json"),
    log:
        paths.log_file("analysis", "figure", "{figure}"),
    conda:
        "../../envs/analyze.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        study=lambda w: ANALYSIS_SPEC,
    shell:
        "python -m xlt.cli figure {wildcards.figure} --summary {input.summary} --curves {input.curves} "
        "--study {params.study:q} --out {output.pdf} --notes {output.notes} > {log} 2>&1"


rule report:
    input:
        summary=paths.table_file("run_summary.parquet"),
        efficiency=paths.table_file("data_efficiency.parquet"),
        figures=jobs.report_figures(CONFIG, "png"),
        notes=jobs.report_figures(CONFIG, "notes.json"),
        tables=jobs.report_tables(CONFIG),
    output:
        paths.report(),
    log:
        paths.log_file("analysis", "report"),
    conda:
        "../../envs/analyze.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=lambda w: CONFIG_JSON,
        study=lambda w: ANALYSIS_SPEC,
    shell:
        "python -m xlt.cli report --config {params.config:q} --study {params.study:q} "
        "--summary {input.summary} --efficiency {input.efficiency} --figures {input.figures} "
        "--notes {input.notes} "
        "--tables {input.tables} --out {output} > {log} 2>&1"
