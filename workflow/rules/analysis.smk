# analyze: scores -> tidy tables (bootstrap intervals) -> the paper's figures and tables, data-efficiency
# curves -> one HTML report. Each figure and table is its own target:
#   snakemake results/figures/fig3_scores_by_n.pdf

ANALYSIS_SPEC = canonical_json(grid.analysis_spec(CONFIG))
CONFIG_JSON = canonical_json(CONFIG)


def all_scores():
    return [
        paths.scores(model, run, task)
        for model, run in grid.study_runs(CONFIG)
        for task in CONFIG["tasks"]
    ]


def get_analysis_spec(wildcards):
    """The grid and language groups the analysis reads (not training or generation settings)."""
    return ANALYSIS_SPEC


def get_study_config(wildcards):
    """The whole validated config (the report shows it); a function, so that braces in prompt templates are
    not taken for wildcards."""
    return CONFIG_JSON


def get_figure_inputs(wildcards):
    """The per-run summary, and the fitted curves for the data-efficiency figure."""
    curves = wildcards.figure == "data_efficiency"
    return {
        "summary": paths.table_file("run_summary.parquet"),
        "curves": [paths.table_file("data_efficiency.parquet")] if curves else [],
    }


def figure_targets(extension="pdf"):
    return [paths.figure_file(name, extension) for name in grid.figure_names(CONFIG)]


def report_tables():
    """Every CSV table the report shows: Table 2 and the per-language tables."""
    return [paths.table_file("table2_spearman.csv")] + [
        paths.per_language_table(*key) for key in grid.per_language_tables(CONFIG)
    ]


rule results_tables:
    input:
        all_scores(),
    output:
        examples=paths.table_file("scores_by_example.parquet"),
        results=paths.table_file("results.parquet"),
        results_csv=paths.table_file("results.csv"),
        summary=paths.table_file("run_summary.parquet"),
        summary_csv=paths.table_file("run_summary.csv"),
    log:
        paths.log_file("analysis", "results_tables"),
    conda:
        "../../envs/analyze.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        study=get_analysis_spec,
    shell:
        "python -m xlt.cli tables results {input} --study {params.study:q} --examples {output.examples} "
        "--results {output.results} --summary {output.summary} > {log} 2>&1"


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
        study=get_analysis_spec,
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
        study=get_analysis_spec,
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
        study=get_analysis_spec,
    shell:
        "python -m xlt.cli tables per-language --results {input} --study {params.study:q} "
        "--model {wildcards.model} --setting {wildcards.setting} --task {wildcards.task} "
        "--out {output.csv} > {log} 2>&1"


rule figure:
    input:
        unpack(get_figure_inputs),
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
        study=get_analysis_spec,
    shell:
        "python -m xlt.cli figure {wildcards.figure} --summary {input.summary} --curves {input.curves} "
        "--study {params.study:q} --out {output.pdf} --notes {output.notes} > {log} 2>&1"


rule report:
    input:
        summary=paths.table_file("run_summary.parquet"),
        efficiency=paths.table_file("data_efficiency.parquet"),
        figures=figure_targets("png"),
        notes=figure_targets("notes.json"),
        tables=report_tables(),
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
        config=get_study_config,
        study=get_analysis_spec,
    shell:
        "python -m xlt.cli report --config {params.config:q} --study {params.study:q} "
        "--summary {input.summary} --efficiency {input.efficiency} --figures {input.figures} "
        "--notes {input.notes} "
        "--tables {input.tables} --out {output} > {log} 2>&1"
