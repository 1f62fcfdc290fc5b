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
    """``split``: train, validation or test (parquet), or provenance (the sidecar of all three)."""
    if split == "provenance":
        return f"{dataset_dir(task)}/provenance.json"
    return f"{dataset_dir(task)}/{split}.parquet"


def mixture_dir(mixture: str, seed: int | str) -> str:
    return f"{MIXTURES}/{mixture}/seed{seed}"


def mixture_file(mixture: str, seed: int | str, name: str) -> str:
    """``name``: train.parquet, validation.parquet, manifest.json or provenance.json."""
    return f"{mixture_dir(mixture, seed)}/{name}"


def mixture_summary() -> str:
    return f"{MIXTURES}/summary.csv"


def log_file(stage: str, *parts: str | int) -> str:
    return "/".join([LOGS, stage, *map(str, parts)]) + ".log"
