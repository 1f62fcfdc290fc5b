"""What each rule hands its jobs: params (canonical JSON of only the config subtree the job reads, so that a
change reruns exactly the jobs that read it) and input files, as pure functions of the validated config and the
job's wildcards. The rule files call them from one-line lambdas; sections follow the rule files. What the
config expands to as a whole (languages, mixtures, runs, figures) is ``xlt.grid``.
"""

from __future__ import annotations

from typing import Any

from xlt import grid, paths
from xlt.io import canonical_json
from xlt.registry import ATTRIBUTION_FIGURES, judged

# ---- data.smk ----------------------------------------------------------------------------------------------


def task_data_spec(config: dict[str, Any], task: str) -> str:
    """A task's data settings (only what its dataset depends on)."""
    spec = config["tasks"][task]
    return canonical_json({"kind": spec["kind"], **{k: v for k, v in spec["data"].items() if k != "source"}})


def translation_spec(config: dict[str, Any], task: str, split: str, lang: str) -> str:
    """One translation job's settings: the MT model and prompt, the languages, the source split's seed."""
    entry = grid.translation_entry(config, task, split, lang)
    return canonical_json({
        "task": task, "split": split, "from": entry["from"], "to": lang, "items": entry.get("items"),
        "seed": config["tasks"][task]["data"]["seed"], "system": config["translation"]["name"],
        # language identification tells the target from the source language: with the study's languages here,
        # adding one would rerun every translation and all that depends on it
        "languages": sorted({entry["from"], lang}), "translation": config["translation"],
    })


def dataset_parts(config: dict[str, Any], task: str, split: str) -> dict[str, Any]:
    """One split of a hub task: its native items and every translation added to them."""
    return {"source": paths.source_file(task, split),
            "translations": [paths.translation_file(task, entry_split, lang)
                             for entry_split, lang, _ in grid.translations_of(config, task) if entry_split == split]}


def translation_manifests(config: dict[str, Any]) -> list[str]:
    """The drop-count manifest of every translation (what the study's run shows of the MT filters)."""
    return [paths.translation_file(task, split, lang, "manifest")
            for task, spec in config["tasks"].items() if spec["data"]["source"] == "hub"
            for split, lang, _ in grid.translations_of(config, task)]


def helper_model_input(config: dict[str, Any], section: str) -> list[str]:
    """The local MT (translation) or judge model directory as a job input; nothing for a hub id or an endpoint."""
    model = config.get(section, {}).get("model")
    return [model["path"]] if model and model["source"] == "local" else []


def helper_model_dir(config: dict[str, Any], section: str) -> str:
    """What the translate or judge job loads: a directory or a hub id; '' (no value) for an endpoint judge."""
    model = config.get(section, {}).get("model")
    return model["path"] if model else ""


# ---- mixtures.smk ------------------------------------------------------------------------------------------


def mixture_manifests(config: dict[str, Any]) -> list[str]:
    return [paths.mixture_file(mixture, seed, "manifest.json")
            for mixture in grid.mixture_names(config) for seed in config["seeds"]]


# ---- models.smk --------------------------------------------------------------------------------------------


def training_datasets(config: dict[str, Any]) -> list[str]:
    """The training splits of every task: the embedded tokenizer and base models read their prompts."""
    return [paths.dataset_file(task, "train") for task in config["tasks"]]


def base_model_spec(config: dict[str, Any], model: str) -> str:
    spec = config["models"][model]
    return canonical_json({"architecture": spec["architecture"], "pretrain": spec["pretrain"]})


def base_model_path(config: dict[str, Any], model: str) -> str:
    """Where a model's base weights are: built here (embedded), a directory (local) or a hub id."""
    spec = config["models"][model]
    return paths.base_model_dir(model) if spec["source"] == "embedded" else spec["path"]


def base_model_input(config: dict[str, Any], model: str) -> list[str]:
    """The base model as a job input: built or local directories; nothing for a hub id."""
    return [] if config["models"][model]["source"] == "hub" else [base_model_path(config, model)]


# ---- train.smk ---------------------------------------------------------------------------------------------


def model_entry(config: dict[str, Any], model: str) -> dict[str, Any]:
    """A model's config entry without what only building (architecture, pretrain) or training overrides read."""
    return {k: v for k, v in config["models"][model].items() if k not in ("training", "pretrain", "architecture")}


def train_spec(config: dict[str, Any], model: str, run: str) -> str:
    """The model entry, its base path, its resolved training settings (nothing of other models) and what the run
    keeps of its checkpoints (``grid.checkpoint_retention``: the policy resolved for this run, in its place)."""
    family = paths.split_run_name(run)[1]
    training = {key: value for key, value in grid.run_training(config, model, family).items()
                if key != "keep_checkpoints"}
    return canonical_json({"model": model_entry(config, model), "base": base_model_path(config, model),
                           "training": training, "keep": grid.checkpoint_retention(config, model, run)})


# ---- evaluate.smk ------------------------------------------------------------------------------------------


def exemplars_file(config: dict[str, Any], task: str) -> str:
    """Solved items shown k-shot: a hub task's exemplars split (MGSM's), else the synthetic train split."""
    return paths.dataset_file(task, "exemplars" if config["tasks"][task]["data"]["source"] == "hub" else "train")


def eval_prompts_spec(config: dict[str, Any], task: str) -> str:
    generation, spec = config["generation"], config["tasks"][task]
    return canonical_json({
        "languages": grid.eval_languages(config),
        "items_per_language": spec.get("test_items_per_language", generation["test_items_per_language"]),
        "shots": generation["math_shots"] if spec["kind"] == "math" else 0,
    })


def generation_model_input(config: dict[str, Any], model: str, run: str) -> list[str] | str:
    """The trained model directory of a run, or the base model (nothing for a hub id)."""
    return base_model_input(config, model) if run == paths.BASE_RUN else paths.run_file(model, run, "model")


def generation_model_dir(config: dict[str, Any], model: str, run: str) -> str:
    """What the generate job loads: the trained model, or the base (a directory, or a hub id)."""
    return base_model_path(config, model) if run == paths.BASE_RUN else paths.run_file(model, run, "model")


def generation_revision(config: dict[str, Any], model: str, run: str) -> str:
    """The pinned commit of a hub base model (its own run only: trained models are directories); '' for none."""
    spec = config["models"][model]
    return spec.get("revision", "") if run == paths.BASE_RUN and spec["source"] == "hub" else ""


def generation_settings(config: dict[str, Any]) -> str:
    """Decoding settings (without the evaluation-set ones, which reach jobs through the prompts file)."""
    keep = ("backend", "seed", "max_new_tokens", "temperature", "top_p", "batch_size")
    return canonical_json({key: config["generation"][key] for key in keep})


def judge_spec(config: dict[str, Any]) -> str:
    """The judge's settings (the name of the key's environment variable, never the key) and the languages of the
    switch check."""
    return canonical_json({**config["judge"], "languages": grid.eval_languages(config)})


def score_inputs(config: dict[str, Any], model: str, run: str, task: str) -> dict[str, Any]:
    """The run's generations of the task, and the judge's ratings of them where the task is judged."""
    return {"generations": paths.generations(model, run, task),
            "judgements": [paths.judgements(model, run, task)] if judged(config["tasks"][task]["metrics"]) else []}


def score_spec(config: dict[str, Any], task: str) -> str:
    return canonical_json({"metrics": config["tasks"][task]["metrics"], "languages": grid.eval_languages(config)})


# ---- attribute.smk -----------------------------------------------------------------------------------------


def attribution_examples_inputs(config: dict[str, Any], family: str, n: int | str, seed: int | str
                                ) -> dict[str, Any]:
    """The mixture's training items, and each of the family's tasks' test split and evaluation prompts."""
    tasks = config["mixtures"]["families"][family]["tasks"]
    return {"train": paths.mixture_file(grid.mixture_name(family, int(n)), seed, "train.parquet"),
            "test": [paths.dataset_file(task, "test") for task in tasks],
            "prompts": [paths.eval_prompts(task) for task in tasks]}


def attribution_examples_spec(config: dict[str, Any]) -> str:
    settings = config["attribution"]
    return canonical_json({key: settings[key] for key in ("test_items_per_language", "train_items", "seed")})


ATTRIBUTION_GRADIENTS = ("layers", "projection", "precision", "batch_size", "checkpoint_every", "seed")


def attribution_scores_spec(config: dict[str, Any], model: str) -> str:
    """What the gradients depend on: the model and how training tokenized (max_length), the layers, projection,
    precision and checkpoints (not top_k or the analysis: changing those reruns no gradient)."""
    settings = config["attribution"]
    return canonical_json({"model": model_entry(config, model), "base": base_model_path(config, model),
                           "max_length": grid.model_training(config, model)["max_length"],
                           "attribution": {key: settings[key] for key in ATTRIBUTION_GRADIENTS}})


def attribution_shards(config: dict[str, Any], model: str, run: str) -> list[str]:
    shards = config["attribution"]["shards"]
    return [paths.attribution_shard(model, run, shard, shards) for shard in range(shards)]


def attribution_analysis_spec(config: dict[str, Any]) -> str:
    """What the attribution tables and figures read: k, the primary score, the languages, the bootstrap."""
    analysis = config["analysis"]
    return canonical_json({"top_k": config["attribution"]["top_k"], "primary": config["attribution"]["primary"],
                           "languages": {key: config["languages"][key] for key in ("english", "seen", "unseen")},
                           "eval_languages": grid.eval_languages(config),
                           "bootstrap_samples": analysis["bootstrap_samples"], "confidence": analysis["confidence"],
                           "seed": analysis["seed"]})


def attribution_tables(config: dict[str, Any], names: tuple[str, ...] = ("share_matrix.csv", "reinforce.csv",
                                                                           "imbalance.csv")) -> list[str]:
    """The attribution tables of every attributed run (by default those the report shows)."""
    return [paths.attribution_table(run["model"], run["run"], name) for run in grid.attributed_runs(config)
            for name in names]


def attribution_figure_files(config: dict[str, Any], extension: str = "pdf") -> list[str]:
    return [paths.attribution_figure(run["model"], run["run"], name, extension)
            for run in grid.attributed_runs(config) for name in ATTRIBUTION_FIGURES]


# ---- analysis.smk ------------------------------------------------------------------------------------------


def all_scores(config: dict[str, Any]) -> list[str]:
    return [paths.scores(model, run, task) for model, run, task in grid.study_evaluations(config)]


def figure_inputs(figure: str) -> dict[str, Any]:
    """The per-mixture summary (means over seeds), and the fitted curves for the data-efficiency figure."""
    return {"summary": paths.table_file("mixture_summary.parquet"),
            "curves": [paths.table_file("data_efficiency.parquet")] if figure == "data_efficiency" else []}


def figure_files(config: dict[str, Any], extension: str = "pdf") -> list[str]:
    return [paths.figure_file(name, extension) for name in grid.figure_names(config)]


def report_tables(config: dict[str, Any]) -> list[str]:
    """Every CSV table the report shows: Table 2, the per-language tables and each attributed run's share
    matrix, reinforce and imbalance tables."""
    return [paths.table_file("table2_spearman.csv")] + [
        paths.per_language_table(*key) for key in grid.per_language_tables(config)] + attribution_tables(config)


def report_figures(config: dict[str, Any], extension: str = "png") -> list[str]:
    """Every figure the report shows: the study's, then each attributed run's."""
    return figure_files(config, extension) + attribution_figure_files(config, extension)
