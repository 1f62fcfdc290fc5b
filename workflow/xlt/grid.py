"""What a validated study config expands to: the evaluation languages, the mixtures and their specs, the training
runs, each model's training settings, the analysis spec, the figures and per-language tables the grid supports.

Pure functions of the validated config (``xlt.config.validate_config``); rules, resources and stages call them.
"""

from __future__ import annotations

from typing import Any

from xlt import paths
from xlt.registry import FIGURES


def eval_languages(config: dict[str, Any]) -> list[str]:
    """English, then the seen and unseen languages, in config order."""
    languages = config["languages"]
    return [languages["english"], *languages["seen"], *languages["unseen"]]


def mixture_name(family: str, n: int) -> str:
    return f"{family}-n{n}"


def mixture_names(config: dict[str, Any]) -> list[str]:
    return [
        mixture_name(family, n)
        for family, spec in config["mixtures"]["families"].items()
        for n in spec["n"]
    ]


def mixture_spec(config: dict[str, Any], family: str, n: int) -> dict[str, Any]:
    """Everything one mixture depends on, and nothing else (its Snakemake params)."""
    spec = config["mixtures"]["families"][family]
    return {
        "family": family,
        "n": n,
        "tasks": list(spec["tasks"]),
        "english_language": config["languages"]["english"],
        "english": spec["english"],
        "languages": list(spec["languages"]),
        "mode": spec["mode"],
        "validation_fraction": config["mixtures"]["validation_fraction"],
        **({"weights": dict(spec["weights"])} if spec.get("weights") else {}),  # absent: no rerun of the rest
    }


def language_count(family: dict[str, Any], n: int, lang: str) -> int:
    """Items per task of one non-English language in a family's mixture of ``n``: n, times its weight."""
    return round(n * family.get("weights", {}).get(lang, 1.0))


def runs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per training run: model x mixture x seed, for the families each model trains on."""
    return [
        {"model": model, "family": family, "n": n, "mixture": mixture_name(family, n), "seed": seed}
        for model, model_spec in config["models"].items()
        for family, spec in config["mixtures"]["families"].items()
        if family in model_spec.get("families", config["mixtures"]["families"])
        for n in spec["n"]
        for seed in config["seeds"]
    ]


def model_training(config: dict[str, Any], model: str) -> dict[str, Any]:
    """The training settings of ``model``: top-level settings updated by the model's own overrides."""
    return {**config["training"], **config["models"][model].get("training", {})}


def run_training(config: dict[str, Any], model: str, family: str) -> dict[str, Any]:
    """The training settings of ``model``'s runs on ``family``'s mixtures: the model's, with the family's
    ``epochs`` where it sets them (a task that needs more passes over its data than the others), in place of the
    top-level and the model's own."""
    epochs = config["mixtures"]["families"][family].get("epochs")
    return {**model_training(config, model), **({"epochs": epochs} if epochs is not None else {})}


# What a finished run keeps of its checkpoints (``train --spec``'s ``keep``): every one (the newest with the
# optimizer, scheduler and RNG state a resume needs, the others weights-only), every one weights-only, or none.
KEEP_RESUMABLE, KEEP_WEIGHTS, KEEP_NONE = "resumable", "weights", "none"


def attributed(config: dict[str, Any], model: str, run: str) -> bool:
    return any(entry["model"] == model and entry["run"] == run for entry in config["attribution"]["runs"])


def checkpoint_retention(config: dict[str, Any], model: str, run: str) -> str:
    """What ``run`` of ``model`` keeps once it has finished, from ``training.keep_checkpoints``: ``all`` keeps
    every checkpoint; ``attribution`` keeps weights-only checkpoints for the runs attribution reads and none for
    the others; ``best`` keeps none (only ``model/``)."""
    policy = model_training(config, model)["keep_checkpoints"]
    if policy == "all":
        return KEEP_RESUMABLE
    if policy == "attribution" and attributed(config, model, run):
        return KEEP_WEIGHTS
    return KEEP_NONE


def analysis_spec(config: dict[str, Any]) -> dict[str, Any]:
    """What the analysis jobs read about the study (its grid and language groups), and nothing about training
    or generation settings: a learning-rate change reruns the aggregates through their inputs, not this."""
    return {
        "study": config["study"],
        "languages": config["languages"],
        "eval_languages": eval_languages(config),
        "tasks": {task: {"kind": spec["kind"], "metric": spec["metrics"][0]} for task, spec in config["tasks"].items()},
        "families": {family: {key: spec[key] for key in ("tasks", "languages", "n", "setting")}
                     for family, spec in config["mixtures"]["families"].items()},
        "models": {model: {"params_m": spec["params_m"]} for model, spec in config["models"].items()},
        "runs": runs(config),
        "seeds": config["seeds"],
        "analysis": config["analysis"],
    }


def figure_names(config: dict[str, Any]) -> list[str]:
    """The figures the study's grid supports (``xlt.registry.FIGURES``: no multi-task figure without a multi-task
    family, no curves without a family of at least 3 n values), in the registry's order."""
    families = config["mixtures"]["families"].values()
    return [name for name, figure in FIGURES.items()
            if any(spec["setting"] in figure.settings and len(spec["n"]) >= figure.min_n for spec in families)]


def per_language_tables(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(model, setting, task) of every per-language table: each setting a model trains in, each task trained."""
    families = config["mixtures"]["families"]
    return sorted({(run["model"], families[run["family"]]["setting"], task) for run in runs(config)
                   for task in families[run["family"]]["tasks"]})


def split_languages(split: dict[str, Any]) -> set[str] | None:
    """The languages a hub split names (``languages``, or the chat adapter's ``language``); None where it names
    none (then the adapter reads every study language the dataset has, known only once read)."""
    if "languages" in split:
        return set(split["languages"])
    if "language" in split:
        return {split["language"]}
    return None


def hub_languages(config: dict[str, Any], task: str) -> list[str]:
    """The languages a hub task's adapters are told about: the study's, unless every split names its own
    (then adding a study language re-reads no data)."""
    study = eval_languages(config)
    named_by_split = [split_languages(split) for split in config["tasks"][task]["data"]["splits"].values()
                      if "from_train" not in split]
    if all(named is not None for named in named_by_split):
        named = set().union(*named_by_split)
        return [code for code in study if code in named] + sorted(named - set(study))
    return study


def translations_of(config: dict[str, Any], task: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(split, language, entry) of every translation a task asks for."""
    return [(entry["split"], lang, entry) for entry in config["tasks"][task]["translate"]
            for lang in entry["languages"]]


def translation_entry(config: dict[str, Any], task: str, split: str, lang: str) -> dict[str, Any]:
    """The ``tasks.<task>.translate`` entry that translates ``split`` into ``lang``."""
    for entry_split, entry_lang, entry in translations_of(config, task):
        if (entry_split, entry_lang) == (split, lang):
            return entry
    raise KeyError(f"no tasks.{task}.translate entry for split {split}, language {lang}")


def mixture_datasets(config: dict[str, Any], family: str) -> dict[str, list[str]]:
    """The tables a family's mixtures read, per split, in the family's task order: each task's train and
    validation datasets, and the test items that never train (a hub task's native test items: translations
    share their source_ids, so adding a translated test language rebuilds no mixture)."""
    tasks = config["mixtures"]["families"][family]["tasks"]
    hub = {task for task in tasks if config["tasks"][task]["data"]["source"] == "hub"}
    return {"train": [paths.dataset_file(task, "train") for task in tasks],
            "validation": [paths.dataset_file(task, "validation") for task in tasks],
            "test": [paths.source_file(task, "test") if task in hub else paths.dataset_file(task, "test")
                     for task in tasks]}


def study_runs(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(model, run name) of every evaluated run: each model's untrained base, then every mixture x seed."""
    return [(model, paths.BASE_RUN) for model in config["models"]] + [
        (run["model"], paths.run_name(run["mixture"], run["seed"])) for run in runs(config)]


def evaluated_tasks(config: dict[str, Any], run: str) -> list[str]:
    """The tasks a run is evaluated on: every task for an untrained base (each trained run's reference), the
    family's tasks for a trained run (a single-task model on its task, as the paper evaluates them)."""
    if run == paths.BASE_RUN:
        return list(config["tasks"])
    return list(config["mixtures"]["families"][paths.split_run_name(run)[1]]["tasks"])


def study_evaluations(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(model, run name, task) of every evaluation: ``study_runs`` x ``evaluated_tasks``."""
    return [(model, run, task) for model, run in study_runs(config) for task in evaluated_tasks(config, run)]


def attributed_runs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs ``attribution.runs`` names, each with its model, family, n, seed, mixture and run name."""
    entries = []
    for entry in config["attribution"]["runs"]:
        mixture, family, n, seed = paths.split_run_name(entry["run"])
        entries.append({"model": entry["model"], "family": family, "n": int(n), "seed": int(seed),
                        "mixture": mixture, "run": entry["run"]})
    return entries
