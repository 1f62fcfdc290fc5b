"""Where every artifact lives, relative to the workflow's working directory.

The one place that builds paths: rules and stage CLIs both call these, with values or with Snakemake
wildcard patterns (``mixture_dir("{mixture}", "{seed}")``).
"""

from __future__ import annotations

DATASETS = "resources/datasets"
MIXTURES = "results/mixtures"
LOGS = "results/logs"


def dataset_dir(task: str) -> str:
    return f"{DATASETS}/{task}"


def dataset_file(task: str, split: str) -> str:
    """What every later stage reads: ``split``: train, validation, test or exemplars (parquet; exemplars only
    where the task's data has them), or provenance (the sidecar)."""
    if split == "provenance":
        return f"{dataset_dir(task)}/provenance.json"
    return f"{dataset_dir(task)}/{split}.parquet"


def dataset_sidecar(task: str, split: str) -> str:
    """The provenance of one split of a hub task's dataset (assembled split by split)."""
    return f"{dataset_dir(task)}/{split}.provenance.json"


SOURCES = "resources/sources"
TRANSLATIONS = "resources/translations"
DOWNLOADS = "resources/downloads"  # the Hugging Face datasets cache of hub data (cache_dir of load_dataset)


def source_dir(task: str) -> str:
    return f"{SOURCES}/{task}"


def source_file(task: str, split: str) -> str:
    """A hub task's items as the adapters read them (native items, before translations are added);
    ``split`` as in ``dataset_file``."""
    if split == "provenance":
        return f"{source_dir(task)}/provenance.json"
    return f"{source_dir(task)}/{split}.parquet"


def translation_file(task: str, split: str, lang: str, kind: str = "parquet") -> str:
    """Machine translations of one split into one language; ``kind``: parquet or manifest (drop counts)."""
    if kind == "manifest":
        return f"{TRANSLATIONS}/{task}/{split}/{lang}.manifest.json"
    return f"{TRANSLATIONS}/{task}/{split}/{lang}.parquet"


def translation_cache(system: str, task: str, split: str, lang: str) -> str:
    """Raw translations by (source text, language, MT system and settings): not a Snakemake output, so a rerun
    of the translate job (more items, another filter) translates only what it has not seen."""
    return f"{TRANSLATIONS}/cache/{system}/{task}/{split}/{lang}.parquet"


def mixture_dir(mixture: str, seed: int | str) -> str:
    return f"{MIXTURES}/{mixture}/seed{seed}"


def mixture_file(mixture: str, seed: int | str, name: str) -> str:
    """``name``: train.parquet, validation.parquet, manifest.json or provenance.json."""
    return f"{mixture_dir(mixture, seed)}/{name}"


def mixture_summary() -> str:
    return f"{MIXTURES}/summary.csv"


def log_file(stage: str, *parts: str | int) -> str:
    return "/".join([LOGS, stage, *map(str, parts)]) + ".log"


MODELS = "resources/models"
RUNS = "results/runs"
BASE_RUN = "base"  # the run name of an untrained base model's evaluation


def tokenizer_dir() -> str:
    return "resources/tokenizer"


def base_model_dir(model: str) -> str:
    return f"{MODELS}/{model}"


def eval_prompts(task: str) -> str:
    return f"results/eval/{task}/prompts.parquet"


def run_name(mixture: str, seed: int | str) -> str:
    """A training run's name under its model: ``{mixture}/seed{seed}``."""
    return f"{mixture}/seed{seed}"


def split_run_name(run: str) -> tuple[str, str, str, str]:
    """The parts of a training run's name ``{family}-n{n}/seed{seed}``: (mixture, family, n, seed), as text."""
    mixture, _, seed = run.partition("/seed")
    family, _, n = mixture.rpartition("-n")
    return mixture, family, n, seed


def run_dir(model: str, run: str) -> str:
    """``run``: a ``run_name`` or ``BASE_RUN``."""
    return f"{RUNS}/{model}/{run}"


def run_file(model: str, run: str, name: str) -> str:
    """``name``: model (directory), training.json, training_log.parquet."""
    return f"{run_dir(model, run)}/{name}"


def generations(model: str, run: str, task: str) -> str:
    return f"{run_dir(model, run)}/generations/{task}.parquet"


def judgements(model: str, run: str, task: str) -> str:
    """The LLM judge's ratings of a run's generations of one task (one row per generation)."""
    return f"{run_dir(model, run)}/judgements/{task}.parquet"


def scores(model: str, run: str, task: str) -> str:
    return f"{run_dir(model, run)}/scores/{task}.parquet"


def attribution_file(model: str, run: str, name: str) -> str:
    """A run's attribution store: ``name`` examples.parquet (the attributed items), or ``scores/shard{s}-of{S}``
    (``attribution_shard``)."""
    return f"{run_dir(model, run)}/attribution/{name}"


def attribution_shard(model: str, run: str, shard: int | str, shards: int | str) -> str:
    """One index range of the training items' TracIn scores (every checkpoint, every test item)."""
    return attribution_file(model, run, f"scores/shard{shard}-of{shards}.parquet")


TABLES = "results/tables"
FIGURES = "results/figures"


def table_file(name: str) -> str:
    """``name``: scores_by_example.parquet, results.parquet, run_summary.parquet, mixture_summary.parquet,
    data_efficiency.parquet, table2_spearman.csv (CSV tables have .md and .tex beside them)."""
    return f"{TABLES}/{name}"


def per_language_table(model: str, setting: str, task: str, extension: str = "csv") -> str:
    """Tables 3-23 of the paper: one table per model x setting x task; ``extension``: csv, md or tex."""
    return f"{TABLES}/per_language/{model}/{setting}/{task}.{extension}"


def attribution_table(model: str, run: str, name: str) -> str:
    """``name``: shares.parquet (shares.csv beside it), share_matrix.csv, reinforce.csv, zero_shot.csv,
    imbalance.csv, k_sensitivity.csv."""
    return f"{TABLES}/attribution/{model}/{run}/{name}"


def attribution_figure(model: str, run: str, name: str, extension: str = "pdf") -> str:
    """One attribution figure of one run; ``extension`` as in ``figure_file``."""
    return f"{FIGURES}/attribution/{model}/{run}/{name}.{extension}"


def figure_file(name: str, extension: str = "pdf") -> str:
    """``extension``: pdf, png, csv (the plotted series) or notes.json (what could not be plotted); the provenance
    sidecar is {name}.provenance.json."""
    return f"{FIGURES}/{name}.{extension}"


def report() -> str:
    return "results/report.html"


def one_of(names) -> str:
    """A wildcard pattern matching exactly these names (nothing, when there are none)."""
    return "|".join(names) or "(?!)"
