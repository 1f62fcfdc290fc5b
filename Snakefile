# xlt: a multilingual post-training study, end to end.
#   data      resources/datasets/{task}/{split}.parquet        normalised examples: the synthetic benchmark, or
#             Hugging Face datasets (resources/sources/{task}/) plus their machine translations
#   translate resources/translations/{task}/{split}/{lang}.parquet  what a language lacks, filtered, source_id kept
#   mixtures  results/mixtures/{family}-n{n}/seed{seed}/        English + n per non-English language, leak-free
#   models    resources/tokenizer, resources/models/{model}/      embedded base models (hub/local: config paths)
#   train     results/runs/{model}/{mixture}/seed{seed}/model/    SFT, best checkpoint by validation loss
#   generate  results/runs/{model}/{run}/generations/{task}.parquet  (run: mixture/seed, or base)
#   judge     results/runs/{model}/{run}/judgements/{task}.parquet  LLM judge ratings (judge_rating tasks)
#   score     results/runs/{model}/{run}/scores/{task}.parquet
#   attribute results/runs/{model}/{run}/attribution/  TracInCP scores of attributed runs (sharded), then
#             results/tables/attribution/ and results/figures/attribution/ (study B; attribution.runs)
#   analyze   results/tables/ (tidy results with bootstrap intervals, Table 2, per-language tables, data
#             efficiency), results/figures/{figure}.{pdf,png,csv,notes.json}, results/report.html
# Run: snakemake --cores 2            (the embedded study in config.yaml)
#      snakemake --configfile my.yaml  (another study; replaces config.yaml rather than merging into it)
from snakemake.utils import min_version

min_version("9.27")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"  # reads config.yaml (unless --configfile) and validates it
include: "workflow/rules/data.smk"
include: "workflow/rules/mixtures.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/attribute.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        jobs.translation_manifests(CONFIG),  # data: what the MT filters dropped, per translated split and language
        paths.mixture_summary(),  # mixtures: rows per mixture, seed, task, language and origin
        jobs.mixture_manifests(CONFIG),
        paths.table_file("results.parquet"),  # every score with its bootstrap interval
        paths.table_file("data_efficiency.parquet"),  # n_plateau per model, family, task, group
        jobs.figure_files(CONFIG),  # the paper's figures the grid supports
        jobs.report_tables(CONFIG),  # Table 2, the per-language tables, each attributed run's share tables
        jobs.attribution_figure_files(CONFIG),  # study B: shares, shares over checkpoints, reinforce
        paths.report(),  # one HTML page: config, runs, figures, tables, provenance
