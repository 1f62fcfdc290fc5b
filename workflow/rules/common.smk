# Config validation, wildcard constraints and the input/param functions every rule uses.
import os
import sys

WORKFLOW_DIR = os.path.join(workflow.basedir, "workflow")
sys.path.insert(0, WORKFLOW_DIR)
# Jobs (local or SLURM, which re-reads this file) run `python -m xlt.cli ...` with this checkout's package,
# whatever environment runs them; kept out of the commands so that moving the checkout reruns nothing.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [WORKFLOW_DIR, os.environ.get("PYTHONPATH")])
    )
)
# `python` in a job is the interpreter running Snakemake (.venv/bin/snakemake works without an activated venv);
# a rule's conda environment, when used, activates its own python in front of it.
os.environ.update(
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
)

from snakemake.exceptions import WorkflowError

from xlt import paths
from xlt.config import (
    ConfigError,
    read_config_file,
    analysis_spec,
    eval_languages,
    figure_names,
    mixture_names,
    mixture_spec,
    model_training,
    per_language_tables,
    runs,
    split_languages,
    validate_config,
)
from xlt.generate import UnsafeWeightsError, require_safetensors
from xlt.io import canonical_json
from xlt.resources import (
    generation_resources,
    helper_model_resources,
    hub_data_resources,
    train_gpus,
    train_resources,
    train_strategy,
)

CONFIG_FILES = [str(path) for path in workflow.overwrite_configfiles or ["config.yaml"]]
try:
    # xlt's YAML reader first: Snakemake's names neither the file nor the line, and keeps duplicate keys
    for _path in CONFIG_FILES:
        read_config_file(_path)
except ConfigError as error:
    raise WorkflowError(str(error)) from None


if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


try:
    STUDY = validate_config(config, source=", ".join(CONFIG_FILES))
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# A local model that is not there fails now, not when its first training job starts.
_LOCAL_MODELS = {f"models.{name}.path": spec for name, spec in STUDY["models"].items()}
_LOCAL_MODELS.update(
    {
        f"{section}.model.path": STUDY[section]["model"]
        for section in ("translation", "judge")
        if "model" in STUDY.get(section, {})
    }
)
for _where, _spec in _LOCAL_MODELS.items():
    if _spec["source"] == "local" and not os.path.isfile(
        os.path.join(_spec["path"], "config.json")
    ):
        raise WorkflowError(
            f"{_where}: {_spec['path']!r} is not a model directory (no config.json there)"
        )
    if _spec["source"] == "local":
        try:
            require_safetensors(_spec["path"], _where)
        except UnsafeWeightsError as error:
            raise WorkflowError(str(error)) from None

SYNTHETIC_TASKS = [
    task
    for task, spec in STUDY["tasks"].items()
    if spec["data"]["source"] == "synthetic"
]
HUB_TASKS = [
    task for task, spec in STUDY["tasks"].items() if spec["data"]["source"] == "hub"
]
HUB_SPLITS = ("train", "validation", "test", "exemplars")


def one_of(names):
    """A wildcard pattern matching exactly these names (nothing, when there are none)."""
    return "|".join(names) or "(?!)"


wildcard_constraints:
    task="|".join(STUDY["tasks"]),
    split="|".join(HUB_SPLITS),
    lang="[a-z]{2}",
    family="|".join(STUDY["mixtures"]["families"]),
    model="|".join(STUDY["models"]),
    n=r"\d+",
    seed=r"\d+",
    run=rf"{paths.BASE_RUN}|({'|'.join(STUDY['mixtures']['families'])})-n\d+/seed\d+",
    setting="single_task|multi_task|script_mix",
    figure="|".join(figure_names(STUDY)),


def hub_languages(task):
    """The languages a hub task's adapters are told about: the study's, unless every split names its own
    (then adding a study language re-reads no data)."""
    named_by_split = [
        split_languages(split)
        for split in STUDY["tasks"][task]["data"]["splits"].values()
        if "from_train" not in split
    ]
    if all(named is not None for named in named_by_split):
        named = set().union(*named_by_split)
        return ",".join(
            [code for code in eval_languages(STUDY) if code in named]
            + sorted(named - set(eval_languages(STUDY)))
        )
    return ",".join(eval_languages(STUDY))


def get_hub_languages(wildcards):
    return hub_languages(wildcards.task)


def get_hub_spec(wildcards):
    """A hub task's sources (adapters, dataset ids, revisions, sample sizes), as canonical JSON."""
    task = STUDY["tasks"][wildcards.task]
    spec = {key: value for key, value in task["data"].items() if key != "source"}
    return canonical_json({"kind": task["kind"], **spec})


def translations_of(task):
    """(split, language, entry) of every translation a task asks for."""
    return [
        (entry["split"], lang, entry)
        for entry in STUDY["tasks"][task]["translate"]
        for lang in entry["languages"]
    ]


def generator_model_input(section):
    """A local MT or judge model directory as a job input; nothing for a hub id or an endpoint."""
    model = STUDY.get(section, {}).get("model")
    return [model["path"]] if model and model["source"] == "local" else []


def generator_model_arg(section):
    model = STUDY.get(section, {}).get("model")
    return f"--model-dir {model['path']}" if model else ""


def hub_data_resource(name):
    """One resource of a hub data job: memory for the largest dataset it parses."""

    def resource(wildcards, attempt):
        return hub_data_resources(STUDY, wildcards.task, attempt)[name]

    return resource


def translation_entry(wildcards):
    for split, lang, entry in translations_of(wildcards.task):
        if (split, lang) == (wildcards.split, wildcards.lang):
            return entry
    raise WorkflowError(
        f"no tasks.{wildcards.task}.translate entry for split {wildcards.split}, language {wildcards.lang}"
    )


def get_translation_spec(wildcards):
    """One translation job's settings: the MT model and prompt, the languages, the source split's seed."""
    entry = translation_entry(wildcards)
    return canonical_json(
        {
            "task": wildcards.task,
            "split": wildcards.split,
            "from": entry["from"],
            "to": wildcards.lang,
            "items": entry.get("items"),
            "seed": STUDY["tasks"][wildcards.task]["data"]["seed"],
            "system": STUDY["translation"]["name"],
            # language identification tells the target from the source language: with the study's
            # languages here, adding one would rerun every translation and all that depends on it
            "languages": sorted({entry["from"], wildcards.lang}),
            "translation": STUDY["translation"],
        }
    )


def get_translation_cache(wildcards):
    return paths.translation_cache(
        STUDY["translation"]["name"], wildcards.task, wildcards.split, wildcards.lang
    )


def translation_resource(name):
    """One resource of a translation job: the MT model's size and the number of source items."""

    def resource(wildcards, attempt):
        entry = translation_entry(wildcards)
        source = STUDY["tasks"][wildcards.task]["data"]["splits"][wildcards.split]
        items = entry.get("items") or source.get("items_per_language") or 10000
        return helper_model_resources(
            STUDY, STUDY["translation"]["model"], items * 2, 1024, attempt
        )[name]

    return resource


def get_dataset_parts(wildcards):
    """One split of a hub task: its native items and every translation added to them."""
    return {
        "source": paths.source_file(wildcards.task, wildcards.split),
        "translations": [
            paths.translation_file(wildcards.task, split, lang)
            for split, lang, _ in translations_of(wildcards.task)
            if split == wildcards.split
        ],
    }


def get_synthetic_spec(wildcards):
    """The task's data settings (only what its dataset depends on), as canonical JSON."""
    task = STUDY["tasks"][wildcards.task]
    spec = {key: value for key, value in task["data"].items() if key != "source"}
    return canonical_json({"kind": task["kind"], **spec})


def get_mixture_spec(wildcards):
    """One mixture's settings without the family's n grid, so adding an n reruns no other mixture."""
    return canonical_json(mixture_spec(STUDY, wildcards.family, int(wildcards.n)))


def leakage_test_set(task):
    """The test items a task's mixtures keep out of training: a hub task's native test items (translations
    share their source_ids, so adding a translated test language rebuilds no mixture).
    """
    if task in HUB_TASKS:
        return paths.source_file(task, "test")
    return paths.dataset_file(task, "test")


def get_mixture_datasets(wildcards):
    tasks = STUDY["mixtures"]["families"][wildcards.family]["tasks"]
    return [
        paths.dataset_file(task, split)
        for task in tasks
        for split in ("train", "validation")
    ] + [leakage_test_set(task) for task in tasks]


def get_mixture_options(wildcards):
    """Where a mixture's test items come from, for its hub tasks (none for synthetic ones)."""
    tasks = STUDY["mixtures"]["families"][wildcards.family]["tasks"]
    hub = {task: leakage_test_set(task) for task in tasks if task in HUB_TASKS}
    return f"--test-sets '{canonical_json(hub)}' " if hub else ""


def mixture_manifests():
    return [
        paths.mixture_file(mixture, seed, "manifest.json")
        for mixture in mixture_names(STUDY)
        for seed in STUDY["seeds"]
    ]


def get_training_datasets():
    """The training splits of every task: the embedded tokenizer and base models read their prompts."""
    return [paths.dataset_file(task, "train") for task in STUDY["tasks"]]


def get_base_model_spec(wildcards):
    model = STUDY["models"][wildcards.model]
    return canonical_json(
        {"architecture": model["architecture"], "pretrain": model["pretrain"]}
    )


def base_model_path(model):
    """Where a model's base weights are: built here (embedded), a directory (local) or a hub id."""
    spec = STUDY["models"][model]
    return paths.base_model_dir(model) if spec["source"] == "embedded" else spec["path"]


def get_base_model(wildcards):
    """The base model as a Snakemake input: built or local directories; nothing for a hub id."""
    spec = STUDY["models"][wildcards.model]
    return [] if spec["source"] == "hub" else [base_model_path(wildcards.model)]


def get_train_spec(wildcards):
    """The model entry, its base path and its resolved training settings (nothing of other models)."""
    model = {
        key: value
        for key, value in STUDY["models"][wildcards.model].items()
        if key not in ("training", "pretrain", "architecture")
    }
    return canonical_json(
        {
            "model": model,
            "base": base_model_path(wildcards.model),
            "training": model_training(STUDY, wildcards.model),
        }
    )


def get_exemplars(wildcards):
    """Solved items shown k-shot: a hub task's exemplars split (MGSM's), else the synthetic train split."""
    split = "exemplars" if wildcards.task in HUB_TASKS else "train"
    return paths.dataset_file(wildcards.task, split)


def get_eval_prompts_spec(wildcards):
    kind = STUDY["tasks"][wildcards.task]["kind"]
    generation = STUDY["generation"]
    return canonical_json(
        {
            "languages": eval_languages(STUDY),
            "items_per_language": STUDY["tasks"][wildcards.task].get(
                "test_items_per_language", generation["test_items_per_language"]
            ),
            "shots": generation["math_shots"] if kind == "math" else 0,
        }
    )


def get_generation_model(wildcards):
    if wildcards.run == paths.BASE_RUN:
        return get_base_model(wildcards) or []
    return paths.run_file(wildcards.model, wildcards.run, "model")


def get_generation_model_dir(wildcards):
    """What the generate job loads: the trained model, or the base (a directory, or a hub id, which is no
    job input)."""
    if wildcards.run == paths.BASE_RUN:
        return base_model_path(wildcards.model)
    return paths.run_file(wildcards.model, wildcards.run, "model")


def get_generation_revision(wildcards):
    """The pinned commit of a hub base model (its own run only: trained models are directories)."""
    spec = STUDY["models"][wildcards.model]
    if (
        wildcards.run == paths.BASE_RUN
        and spec["source"] == "hub"
        and spec.get("revision")
    ):
        return f"--revision {spec['revision']} "
    return ""


def get_generation_settings(wildcards):
    """Decoding settings (without the evaluation-set ones, which reach jobs through the prompts file)."""
    generation = STUDY["generation"]
    keep = ("backend", "seed", "max_new_tokens", "temperature", "top_p", "batch_size")
    return canonical_json({key: generation[key] for key in keep})


def train_resource(name):
    """One resource of a training job (GPUs, memory, runtime, placement), from the model's size and the
    mixture's size; memory and runtime grow with the attempt."""

    def resource(wildcards, attempt):
        return train_resources(
            STUDY, wildcards.model, wildcards.family, int(wildcards.n), attempt
        )[name]

    return resource


def get_train_launch(wildcards):
    """Processes and strategy of a training job: one process, or accelerate with DDP or FSDP over its GPUs."""
    return f"--processes {train_gpus(STUDY, wildcards.model)} --strategy {train_strategy(STUDY, wildcards.model)}"


def generation_resource(name):
    """One resource of a generation job, from the model's size and the evaluation set."""

    def resource(wildcards, attempt):
        return generation_resources(STUDY, wildcards.model, attempt)[name]

    return resource


def judged(task):
    return "judge_rating" in STUDY["tasks"][task]["metrics"]


def get_score_inputs(wildcards):
    inputs = {
        "generations": paths.generations(wildcards.model, wildcards.run, wildcards.task)
    }
    if judged(wildcards.task):
        inputs["judgements"] = paths.judgements(
            wildcards.model, wildcards.run, wildcards.task
        )
    return inputs


def get_score_options(wildcards, input):
    return f"--judgements {input.judgements}" if "judgements" in input.keys() else ""


def get_judge_spec(wildcards):
    """The judge's settings (the name of the key's environment variable, never the key) and the languages
    of the switch check."""
    return canonical_json({**STUDY["judge"], "languages": eval_languages(STUDY)})


def judge_resource(name):
    """One resource of a judge job: the judge model's size (none for an endpoint) and the evaluation set."""

    def resource(wildcards, attempt):
        prompts = (
            len(eval_languages(STUDY)) * STUDY["generation"]["test_items_per_language"]
        )
        model = (
            STUDY["judge"].get("model")
            if STUDY["judge"]["backend"] != "openai"
            else None
        )
        return helper_model_resources(STUDY, model, prompts, 1536, attempt)[name]

    return resource


def get_score_spec(wildcards):
    return canonical_json(
        {
            "metrics": STUDY["tasks"][wildcards.task]["metrics"],
            "languages": eval_languages(STUDY),
        }
    )


def study_runs():
    """Every evaluated run name per model: the untrained base, then every mixture x seed."""
    names = [(model, paths.BASE_RUN) for model in STUDY["models"]]
    names += [
        (run["model"], paths.run_name(run["mixture"], run["seed"]))
        for run in runs(STUDY)
    ]
    return names


def all_scores():
    return [
        paths.scores(model, run, task)
        for model, run in study_runs()
        for task in STUDY["tasks"]
    ]


ANALYSIS_SPEC = canonical_json(analysis_spec(STUDY))


STUDY_JSON = canonical_json(STUDY)


def get_study_config(wildcards):
    """The whole validated config (the report shows it); a function, so that braces in prompt templates are
    not taken for wildcards."""
    return STUDY_JSON


def get_analysis_spec(wildcards):
    """The grid and language groups the analysis reads (not training or generation settings)."""
    return ANALYSIS_SPEC


def get_figure_inputs(wildcards):
    inputs = {"summary": paths.table_file("run_summary.parquet")}
    if wildcards.figure == "data_efficiency":
        inputs["curves"] = paths.table_file("data_efficiency.parquet")
    return inputs


def get_figure_options(wildcards, input):
    return f"--curves {input.curves}" if "curves" in input.keys() else ""


def report_tables():
    """Every CSV table the report shows: Table 2 and the per-language tables."""
    return [paths.table_file("table2_spearman.csv")] + [
        paths.per_language_table(*key) for key in per_language_tables(STUDY)
    ]


def study_targets():
    return [
        *[
            paths.translation_file(task, split, lang, "manifest")
            for task in HUB_TASKS
            for split, lang, _ in translations_of(task)
        ],
        paths.mixture_summary(),
        *mixture_manifests(),
        paths.table_file("results.parquet"),
        paths.table_file("data_efficiency.parquet"),
        *[paths.figure_file(name) for name in figure_names(STUDY)],
        *report_tables(),
        paths.report(),
    ]
