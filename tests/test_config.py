"""The study config: schema errors name the offending key; defaults are filled in once."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from conftest import ROOT, SMALL_CONFIG

from xlt.config import ConfigError, load_config, validate_config
from xlt.grid import mixture_spec, model_training, run_training, runs


@pytest.fixture()
def raw():
    return yaml.safe_load(SMALL_CONFIG.read_text())


def edit(config, dotted, value):
    """Set (or with value=DELETE remove) the entry at a dotted path like ``mixtures.families.st_math.n``."""
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return config


DELETE = object()

BAD_CONFIGS = [
    # (what is wrong, edit path, new value, text the error must contain)
    ("unknown top-level key", "mixturez", {}, "mixturez: unknown key; did you mean 'mixtures'?"),
    ("wrong type", "seeds", "0", "seeds: '0' is not of type 'array'"),
    ("negative n", "mixtures.families.st_math.n", [0, -5], "mixtures.families.st_math.n[1]: -5 is less than the minimum of 0"),
    ("not an ISO code", "languages.unseen", ["ar", "xx"], "languages.unseen[1]: 'xx' is not an ISO 639-1 language code"),
    ("no synthetic data for a language", "languages.unseen", ["ar", "de"],
     "languages.unseen[1]: the synthetic benchmark has no 'de' data"),
    ("family task without dataset", "mixtures.families.mt.tasks", ["math", "code"],
     "mixtures.families.mt.tasks[1]: task 'code' has no dataset"),
    ("unknown task kind", "tasks.math.kind", "translation", "tasks.math.kind: 'translation' is not one of"),
    ("task without data", "tasks.math.data", DELETE, "tasks.math: 'data' is a required property"),
    ("metric of another task kind", "tasks.math.metrics", ["rouge_l"],
     "tasks.math.metrics[0]: 'rouge_l' does not apply to a math task"),
    ("unseen language in a mixture", "mixtures.families.script_latin.languages", ["es", "ko"],
     "mixtures.families.script_latin.languages[1]: 'ko' is not a seen language"),
    ("English listed as seen", "languages.seen", ["en", "es"], "languages.seen[0]: 'en' is the English pivot"),
    ("misspelt mixing mode", "mixtures.families.st_math.mode", "paralel",
     "mixtures.families.st_math.mode: 'paralel' is not one of ['parallel', 'disjoint']"),
    ("empty n0 mixture", "mixtures.families.st_math.english", 0,
     "mixtures.families.st_math.n: contains 0 while mixtures.families.st_math.english is 0"),
    ("hub model without a path", "models.tiny_1m", {"source": "hub", "params_m": 8000},
     "models.tiny_1m.path: required for a hub model"),
    ("bad family name", "mixtures.families.St-Math", {"tasks": ["math"], "english": 1, "n": [1]},
     "mixtures.families: name 'St-Math' must match"),
    ("non-positive learning rate", "training.learning_rate", 0,
     "training.learning_rate: 0 is less than or equal to the minimum of 0"),
    ("unknown per-model training key", "models.tiny_1m.training", {"lr": 0.1},
     "models.tiny_1m.training.lr: unknown key"),
    ("seen and unseen overlap", "languages.unseen", ["ar", "es"], "languages.unseen[1]: 'es' is also in languages.seen"),
    ("missing n grid", "mixtures.families.st_math.n", DELETE, "mixtures.families.st_math: 'n' is a required property"),
    ("unknown family for a model", "models.tiny_1m.families", ["st_math", "st_code"],
     "models.tiny_1m.families[1]: 'st_code' is not a mixture family"),
    ("zero items in a split", "tasks.summarization.data.items.test", 0,
     "tasks.summarization.data.items.test: 0 is less than the minimum of 1"),
    # checks that used to pass silently or fail late
    ("a fractional n", "mixtures.families.st_math.n", [0, 20.0],
     "mixtures.families.st_math.n[1]: 20.0 is not a whole number; write it without a decimal point"),
    ("a batch its devices cannot split", "training.per_device_batch_size", 5,
     "training.batch_size: 16 is not a multiple of training.per_device_batch_size 5 = 5"),
    ("a per-model batch its devices cannot split", "models.tiny_1m.training", {"batch_size": 12},
     "models.tiny_1m.training.batch_size: 12 is not a multiple of training.per_device_batch_size 16"),
    ("warmup with a constant schedule", "training.warmup_ratio", 0.1,
     "training.warmup_ratio: 0.1 with training.lr_scheduler constant, which has no warmup"),
    ("YAML's no for Norwegian", "languages.unseen", ["ar", False],
     "languages.unseen[1]: False is not a string: YAML reads unquoted no/yes/on/off/true/false as booleans"),
    ("more English than the synthetic pool", "mixtures.families.st_math.english", 400,
     "mixtures.families.st_math.n[0]: n=0 needs 400 math train items (max(english, n)); tasks.math.data.items.train is 300"),
    ("a disjoint mixture larger than the pool", "mixtures.families.mt.n", [80],
     "mixtures.families.mt.n[0]: n=80 needs 380 math train items (english + n x 4 languages (disjoint)); "
     "tasks.math.data.items.train is 300"),
    ("validation larger than its pool", "tasks.math.data.items.validation", 10,
     "mixtures.families.st_math.n[0]: n=0 needs 20 math validation items (max(english, n), times "
     "validation_fraction); tasks.math.data.items.validation is 10"),
    ("a hub model without a revision", "models.tiny_1m", {"source": "hub", "path": "org/m", "params_m": 1},
     "models.tiny_1m.revision: required for the hub model 'org/m'"),
]


@pytest.mark.parametrize("what, path, value, message", BAD_CONFIGS, ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_names_the_key(raw, what, path, value, message):
    with pytest.raises(ConfigError) as error:
        validate_config(edit(raw, path, value))
    assert message in str(error.value), str(error.value)


def test_every_problem_is_reported_at_once(raw):
    edit(raw, "seeds", "0")
    edit(raw, "mixtures.families.st_math.n", [-1])
    with pytest.raises(ConfigError) as error:
        validate_config(raw)
    assert len(error.value.problems) == 2


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("languages: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_defaults_are_filled_in(raw):
    config = validate_config(raw)
    assert config["languages"]["script_groups"] == {"latin": ["es", "fr", "pt"], "non_latin": ["ja", "zh", "ko", "ar"]}
    assert config["mixtures"]["families"]["st_math"]["mode"] == "parallel"
    assert config["mixtures"]["families"]["st_math"]["languages"] == ["es", "fr", "ja", "zh"]  # languages.seen
    assert config["generation"]["backend"] == "hf"  # set in the file
    assert validate_config({**raw, "generation": {}})["generation"]["backend"] == "vllm"  # the schema's default
    assert config["tokenizer"]["vocab_size"] == 1024 and config["models"]["tiny_1m"]["pretrain"]["seed"] == 0  # default seed
    assert config["training"]["learning_rate"] == 3e-3  # set in the file
    del raw["training"]
    paper = validate_config(raw)["training"]  # the paper's settings are the defaults
    assert (paper["batch_size"], paper["learning_rate"], paper["lr_scheduler"], paper["save_steps"]) == (
        64, 1e-5, "constant", 50)
    assert "seed" in config["tasks"]["math"]["data"]


def test_default_script_groups_follow_the_study_languages(raw):
    raw["languages"]["unseen"] = ["ar"]
    assert validate_config(raw)["languages"]["script_groups"] == {"latin": ["es", "fr"], "non_latin": ["ja", "zh", "ar"]}
    raw["languages"]["script_groups"] = {"latin": ["es", "pt"]}
    with pytest.raises(ConfigError, match=r"languages.script_groups.latin\[1\]: 'pt' is not a study language"):
        validate_config(raw)


def test_validation_does_not_mutate_its_input(raw):
    before = copy.deepcopy(raw)
    validate_config(raw)
    assert raw == before


def test_model_training_inherits_top_level_settings(raw):
    raw["models"]["tiny_1m"]["training"] = {"learning_rate": 5e-4}
    config = validate_config(raw)
    settings = model_training(config, "tiny_1m")
    assert settings["learning_rate"] == 5e-4
    assert settings["batch_size"] == 16  # top-level value, not the schema default 64


def test_a_familys_epochs_train_its_runs_only_and_leave_its_mixtures(raw):
    from xlt import jobs, resources

    before = validate_config(copy.deepcopy(raw))
    raw["mixtures"]["families"]["st_math"]["epochs"] = 3
    config = validate_config(raw)
    spec = json.loads(jobs.train_spec(config, "tiny_1m", "st_math-n40/seed0"))
    assert spec["training"]["epochs"] == 3 and run_training(config, "tiny_1m", "st_math")["epochs"] == 3
    other = json.loads(jobs.train_spec(config, "tiny_1m", "mt-n10/seed0"))
    assert other == json.loads(jobs.train_spec(before, "tiny_1m", "mt-n10/seed0"))  # no rerun elsewhere
    assert other["training"]["epochs"] == config["training"]["epochs"] != 3
    assert mixture_spec(config, "st_math", 40) == mixture_spec(before, "st_math", 40)  # the mixture stays
    assert resources.training_steps(config, "tiny_1m", "st_math", 40) == pytest.approx(
        3 / before["training"]["epochs"] * resources.training_steps(before, "tiny_1m", "st_math", 40), rel=0.05)
    raw["mixtures"]["families"]["st_math"]["epochs"] = 0
    with pytest.raises(ConfigError, match="epochs"):
        validate_config(raw)


def test_grid_expansion(small_config):
    expanded = runs(small_config)
    assert len(expanded) == 1 * (2 + 1 + 1 + 1 + 1) * 1
    assert {run["mixture"] for run in expanded} == {"st_math-n0", "st_math-n40", "st_summarization-n20",
                                                     "st_instruction_following-n0", "mt-n10", "script_latin-n20"}
    spec = mixture_spec(small_config, "st_math", 40)
    assert "n" in spec and spec["n"] == 40 and "languages" in spec
    assert spec == mixture_spec(small_config, "st_math", 40)  # deterministic params


def test_a_model_can_be_limited_to_some_families(raw):
    raw["models"]["big"] = {"source": "hub", "path": "org/model", "revision": "abc123", "params_m": 8000,
                            "families": ["st_math"], "training": {"per_device_batch_size": 8}}
    config = validate_config(raw)
    assert sorted(run["mixture"] for run in runs(config) if run["model"] == "big") == [
        "st_math-n0", "st_math-n40"]
    assert len([run for run in runs(config) if run["model"] == "tiny_1m"]) == 6


def test_a_test_split_with_every_language_native_or_translated_is_valid(raw):
    raw["tasks"]["math"]["data"] = copy.deepcopy(HUB_DATA)
    raw["tasks"]["math"]["data"]["splits"]["test"]["languages"] = ["en", "es", "fr", "ja", "zh"]
    raw["tasks"]["math"]["translate"] = [{"split": "test", "languages": ["ar", "ko", "pt"]}]
    raw["tasks"]["math"]["metrics"] = ["math_accuracy"]
    raw["translation"] = {"model": {"source": "local", "path": "/models/mt"}}
    validate_config(raw)
    raw["tasks"]["math"]["translate"] = [{"split": "test", "languages": ["ar", "ko", "pt", "zh"]}]
    with pytest.raises(ConfigError, match=r"tasks.math.translate\[0\].languages\[3\]: 'zh' is read natively by "
                                          r"tasks.math.data.splits.test"):
        validate_config(raw)


YAML_FAULTS = [
    ("a duplicate key", "training:\n  learning_rate: 1.0e-3\n",
     "line {line}, column 1: not valid YAML: duplicate key 'training' (first written on line {first}"),
    ("an unclosed list", "seeds: [0\n",
     "line {end}, column 1: not valid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow "
     "sequence, started on line {line})"),
]


@pytest.mark.parametrize("what, tail, message", YAML_FAULTS, ids=[case[0] for case in YAML_FAULTS])
def test_yaml_faults_name_the_file_and_line_in_xlt_and_in_snakemake(tmp_path, what, tail, message):
    """``xlt validate`` and a plain ``snakemake`` (``make study``) name the line; Snakemake's own reader, which
    ``--configfile`` uses before any workflow code runs, does not (the README says so)."""
    import subprocess
    import sys

    text = SMALL_CONFIG.read_text()
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("training:"))
    bad = tmp_path / "config.yaml"
    bad.write_text(text + tail)
    expected = message.format(line=len(text.splitlines()) + 1, end=len(text.splitlines()) + 2, first=first)
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    assert f"{bad}, {expected}" in str(error.value)
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "-n"],
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and expected in output, output[-2000:]


SECRET_CONFIGS = [
    ("a password in the judge URL", {"base_url": "http://bob:hunter2@127.0.0.1:8000/v1"},
     "judge.base_url: 'http://<redacted>@127.0.0.1:8000/v1' has credentials in the URL (not shown)", "hunter2"),
    ("a key where its variable's name belongs", {"api_key_env": "hf_abcdefghijklmnopqrstuvwxyz0123456789"},
     "judge.api_key_env: the value looks like an API key itself (not shown)", "hf_abcdefghij"),
    ("a key that breaks the name pattern", {"api_key_env": "sk-proj-abc123def456ghi789"},
     "judge.api_key_env: must be the name of an environment variable", "sk-proj"),
    ("a key in extra_body", {"extra_body": {"headers": {"api_key": "s3cr3t-value"}}},
     "judge.extra_body.headers.api_key: looks like a secret (not shown)", "s3cr3t"),
]


@pytest.mark.parametrize("what, judge, message, secret", SECRET_CONFIGS, ids=[case[0] for case in SECRET_CONFIGS])
def test_secrets_in_the_config_are_refused_without_being_shown(raw, what, judge, message, secret):
    raw["judge"] = {"backend": "openai", "base_url": "http://127.0.0.1:8000/v1", "model_name": "m", **judge}
    with pytest.raises(ConfigError) as error:
        validate_config(raw)
    assert message in str(error.value) and secret not in str(error.value)


def test_one_redaction_hides_secrets_and_keeps_what_only_sounds_like_one():
    from xlt.provenance import redact as provenance_redact
    from xlt.secrets import redact, redact_text

    assert provenance_redact is redact  # provenance, logs and the report share it
    assert redact({"max_new_tokens": 512, "num_tokens": 3, "api_key_env": "OPENAI_API_KEY", "tokenizer": "t",
                   "hf_token": "abc", "password": "pw", "client_secret": "cs", "extra_body": {"api_key": "k"}}) == {
        "max_new_tokens": 512, "num_tokens": 3, "api_key_env": "OPENAI_API_KEY", "tokenizer": "t",
        "hf_token": "<redacted>", "password": "<redacted>", "client_secret": "<redacted>",
        "extra_body": {"api_key": "<redacted>"}}
    assert redact_text("GET https://u:p@host/v1?api_key=abc&n=1 failed, Authorization: Bearer abcdefghijklmnop") == \
        "GET https://<redacted>@host/v1?api_key=<redacted>&n=1 failed, Authorization: <redacted>"
    assert redact_text("key sk-abcdefghijklmnopqrstu and hf_abcdefghijklmnopqrstuvwxyz0123456789") == \
        "key <redacted> and <redacted>"


def test_embedded_config_is_valid():
    config = load_config(ROOT / "config.yaml")
    assert len(runs(config)) > 0


def test_xlt_grid_and_validate_commands(capsys, tmp_path):
    from xlt.cli import main

    assert main(["grid", "--config", str(SMALL_CONFIG)]) == 0
    out = capsys.readouterr().out
    assert "6 training runs over 1 models (tiny_1m 6), 6 mixtures, 1 seeds" in out
    assert "st_math-n40" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL_CONFIG.read_text().replace("seeds: [0]", "seeds: [-1]"))
    assert main(["validate", str(bad)]) == 1
    assert "seeds[0]: -1 is less than the minimum of 0" in capsys.readouterr().err


def test_embedded_models_need_head_sizes_vllm_cpu_supports(raw):
    raw["models"]["tiny_1m"]["architecture"].update(hidden_size=64, num_attention_heads=4, num_key_value_heads=2)
    raw["generation"]["backend"] = "vllm"
    with pytest.raises(ConfigError, match=r"models.tiny_1m.architecture: head size hidden_size/num_attention_heads = 16"):
        validate_config(raw)
    raw["generation"] = {"backend": "hf"}  # transformers runs any head size
    validate_config(raw)


def test_cluster_resources_follow_model_size_and_grow_with_the_attempt(raw):
    from xlt.resources import generation_resources, train_resources, train_strategy

    raw["models"]["llama_8b"] = {"source": "hub", "path": "meta-llama/Llama-3.1-8B", "revision": "main",
                                 "params_m": 8000, "training": {"per_device_batch_size": 8}}
    raw["models"]["aya_35b"] = {"source": "hub", "path": "org/aya-35b", "revision": "main", "params_m": 35000,
                                "training": {"per_device_batch_size": 1}}
    raw["models"]["lora_8b"] = {"source": "hub", "path": "meta-llama/Llama-3.1-8B", "revision": "main",
                                "params_m": 8000, "train_mode": "lora"}
    raw["cluster"] = {"gpu_partition": "gpu", "gpu_model": "a100", "cpus_per_gpu": 6}
    config = validate_config(raw)
    models = ("tiny_1m", "llama_8b", "aya_35b", "lora_8b")
    # generation: bf16 weights + KV cache on 80 GB GPUs; training: weights, gradients, AdamW states (16 B/param)
    assert [generation_resources(config, m)["gpu"] for m in models] == [0, 1, 2, 1]
    # 35B: 700 GB of state, more than one node's 8 x 80 GB: FSDP over 2 nodes of 8
    assert [train_resources(config, m, "st_math", 40)["gpu"] for m in models] == [0, 2, 16, 1]
    assert [train_resources(config, m, "st_math", 40)["nodes"] for m in models] == [None, None, 2, None]
    assert [train_strategy(config, m) for m in models] == ["single", "fsdp", "fsdp", "single"]
    small, large = (train_resources(config, "llama_8b", "st_math", n) for n in (0, 120))
    assert large["runtime"] > small["runtime"]  # more examples, more time
    assert train_resources(config, "aya_35b", "st_math", 40)["mem_mb"] > small["mem_mb"]
    assert {key: small[key] for key in ("slurm_partition", "gpu_model", "cpus_per_gpu")} == {
        "slurm_partition": "gpu", "gpu_model": "a100", "cpus_per_gpu": 6}
    cpu = train_resources(config, "tiny_1m", "st_math", 40)
    assert (cpu["slurm_partition"], cpu["gpu_model"], cpu["cpus_per_gpu"]) == (None, None, None)
    retried = train_resources(config, "llama_8b", "st_math", 0, attempt=3)
    assert retried["mem_mb"] == 2 * small["mem_mb"] and retried["runtime"] == 2 * small["runtime"]

def test_attribution_runs_must_be_runs_the_grid_trains(raw):
    raw["attribution"] = {"runs": [{"model": "tiny_1m", "run": "st_math-n99/seed0"},
                                   {"model": "nope", "run": "mt-n10/seed0"},
                                   {"model": "tiny_1m", "run": "mt-n10/seed7"},
                                   {"model": "tiny_1m", "run": "st_math-n40/seed0"},
                                   {"model": "tiny_1m", "run": "st_math-n40/seed0"}]}
    with pytest.raises(ConfigError) as error:
        validate_config(raw)
    assert sorted(error.value.problems) == [
        "attribution.runs[0].run: n=99 is not in mixtures.families.st_math.n [0, 40]",
        "attribution.runs[1].model: 'nope' is not a key of models (tiny_1m)",
        "attribution.runs[2].run: seed 7 is not in seeds [0]",
        "attribution.runs[4]: tiny_1m st_math-n40/seed0 is listed twice"]
    raw["attribution"] = {"runs": [{"model": "tiny_1m", "run": "mt-n10"}]}
    with pytest.raises(ConfigError, match=r"attribution.runs\[0\].run: 'mt-n10' does not match"):
        validate_config(raw)
    raw["attribution"] = {}
    settings = validate_config(raw)["attribution"]
    assert settings == {"runs": [], "checkpoint_every": 1, "layers": ["*"], "primary": "cosine", "top_k": 100,
                        "test_items_per_language": 20, "train_items": None, "seed": 0, "projection": None,
                        "precision": "float32", "batch_size": 16, "shards": 1}


def test_each_run_keeps_the_checkpoints_its_policy_and_attribution_ask_for(raw):
    from xlt.grid import checkpoint_retention
    from xlt.jobs import train_spec

    raw["attribution"] = {"runs": [{"model": "tiny_1m", "run": "st_math-n40/seed0"}]}
    config = validate_config(raw)
    assert config["training"]["keep_checkpoints"] == "attribution"  # the default
    assert checkpoint_retention(config, "tiny_1m", "st_math-n40/seed0") == "weights"
    assert checkpoint_retention(config, "tiny_1m", "st_math-n0/seed0") == "none"
    spec = json.loads(train_spec(config, "tiny_1m", "st_math-n40/seed0"))
    assert spec["keep"] == "weights" and "keep_checkpoints" not in spec["training"]
    raw["training"]["keep_checkpoints"] = "all"
    assert checkpoint_retention(validate_config(raw), "tiny_1m", "st_math-n0/seed0") == "resumable"
    raw["models"]["tiny_1m"]["training"] = {"keep_checkpoints": "best"}
    with pytest.raises(ConfigError) as error:
        validate_config(raw)
    assert error.value.problems == ["attribution.runs[0]: models.tiny_1m.training.keep_checkpoints is best, which "
                                    "keeps no checkpoint for attribution to read (use attribution or all)"]
    raw["attribution"] = {}
    assert checkpoint_retention(validate_config(raw), "tiny_1m", "st_math-n40/seed0") == "none"


def test_attribution_jobs_are_sized_from_the_model_and_the_projection(raw):
    from xlt.resources import attribution_resources

    raw["models"]["llama_8b"] = {"source": "hub", "path": "meta-llama/Llama-3.1-8B", "revision": "main",
                                 "params_m": 8000, "training": {"per_device_batch_size": 8}}
    raw["attribution"] = {"runs": [{"model": "llama_8b", "run": "st_math-n40/seed0"}]}
    exact = validate_config(raw)
    raw["attribution"].update(projection=32, precision="bfloat16")
    projected = validate_config(raw)
    assert attribution_resources(exact, "tiny_1m", "st_math", 40)["gpu"] == 0
    # exact: every test example's gradient is an 8B-number vector; projected: 32 x 32 per layer, bf16 weights
    assert attribution_resources(exact, "llama_8b", "st_math", 40)["gpu"] == 8
    assert attribution_resources(projected, "llama_8b", "st_math", 40)["gpu"] == 1
    raw["attribution"]["shards"] = 4
    sharded = validate_config(raw)
    assert attribution_resources(sharded, "llama_8b", "st_math", 40)["runtime"] < \
        attribution_resources(projected, "llama_8b", "st_math", 40)["runtime"]


HUB_TEST = {"adapter": "mgsm", "dataset": "juletxara/mgsm", "revision": "refs/convert/parquet"}
HUB_DATA = {"source": "hub", "splits": {"train": {**HUB_TEST, "split": "train"}, "validation": {"from_train": 5},
                                        "test": HUB_TEST}}
BAD_HUB_CONFIGS = [
    ("hub data without splits", "tasks.math.data", {"source": "hub"}, "tasks.math.data.splits: required for source hub"),
    ("synthetic sizes on hub data", "tasks.math.data", {**HUB_DATA, "items": {"train": 1, "validation": 1, "test": 1}},
     "tasks.math.data.items: only for source synthetic"),
    ("unpinned hub dataset", "tasks.math.data.splits.test", {"adapter": "mgsm", "dataset": "juletxara/mgsm"},
     "tasks.math.data.splits.test.revision: required for the hub dataset 'juletxara/mgsm'"),
    ("an adapter of another task kind", "tasks.math.data.splits.test", {**HUB_TEST, "adapter": "xlsum"},
     "tasks.math.data.splits.test.adapter: 'xlsum' reads summarization data, not math"),
    ("unknown adapter", "tasks.math.data.splits.test", {**HUB_TEST, "adapter": "gsm8k"},
     "tasks.math.data.splits.test.adapter: 'gsm8k' is not one of"),
    ("translation without an MT model", "tasks.math.translate", [{"split": "test", "languages": ["ar"]}],
     "tasks.math.translate[0]: translating needs an MT model"),
    ("translating a split the task lacks", "tasks.math.translate", [{"split": "exemplars", "languages": ["ar"]}],
     "tasks.math.translate[0].split: 'exemplars' is not a split of tasks.math.data.splits"),
    ("translating into a non-study language", "tasks.math.translate", [{"split": "test", "languages": ["de"]}],
     "tasks.math.translate[0].languages[0]: 'de' is not a study language"),
    ("an evaluation language without test data", "tasks.math.data.splits.test",
     {**HUB_TEST, "languages": ["en", "es", "fr", "ja", "zh", "ar", "pt"]},
     "tasks.math.data.splits.test.languages: the evaluation language 'ko' has no test data"),
    ("judge metric without a judge", "tasks.instruction_following.metrics", ["judge_rating"],
     "tasks.instruction_following.metrics[0]: judge_rating needs a judge"),
    ("a script choice where rows have no script", "tasks.math.data.splits.test",
     {**HUB_TEST, "scripts": {"zh": "Hans"}},
     "tasks.math.data.splits.test.scripts: the 'mgsm' adapter's rows have no script column to choose from"),
]


@pytest.mark.parametrize("what, path, value, message", BAD_HUB_CONFIGS, ids=[c[0] for c in BAD_HUB_CONFIGS])
def test_bad_hub_data_config_names_the_key(raw, what, path, value, message):
    raw["tasks"]["math"]["data"] = copy.deepcopy(HUB_DATA)
    with pytest.raises(ConfigError) as error:
        validate_config(edit(raw, path, value))
    assert message in str(error.value)


def test_generator_models_and_judge_backends_are_checked(raw):
    raw["translation"] = {"model": {"source": "hub", "path": "CohereLabs/aya-23-35B"}}
    raw["judge"] = {"backend": "openai", "base_url": "http://127.0.0.1:8000/v1"}
    with pytest.raises(ConfigError) as error:
        validate_config(raw)
    problems = error.value.problems
    assert "translation.model.params_m: required for a hub model (its GPUs and memory on a cluster)" in problems
    assert "judge.model_name: required for the openai backend" in problems
    raw["judge"] = {"backend": "vllm"}
    with pytest.raises(ConfigError, match="judge.model: required for the vllm backend"):
        validate_config(raw)


def test_hub_defaults_translation_system_and_the_paper_study():
    config = load_config(ROOT / "studies" / "paper.yaml")
    assert config["translation"]["name"] == "aya-23-35b"
    assert config["tasks"]["math"]["translate"][0] == {"split": "test", "languages": ["ar", "ko", "pt"], "from": "en"}
    assert config["judge"]["api_key_env"] == "OPENAI_API_KEY"  # the variable's name, never a key
    raw = yaml.safe_load((ROOT / "studies" / "paper.yaml").read_text())
    del raw["translation"]["name"]
    assert validate_config(raw)["translation"]["name"] == "aya-23-35B"  # the model path's last part


def test_rouge_l_means_the_rouge_of_the_tasks_data(raw):
    """rouge_l is XL-Sum's scorer for XL-Sum data and the script-aware one for the synthetic benchmark; a named
    variant is kept as written."""
    assert validate_config(raw)["tasks"]["summarization"]["metrics"] == ["rouge_l_script"]
    paper = yaml.safe_load((ROOT / "studies" / "paper.yaml").read_text())
    paper["tasks"]["summarization"]["metrics"] = ["rouge_l"]
    assert validate_config(paper)["tasks"]["summarization"]["metrics"] == ["rouge_l_xlsum"]
    paper["tasks"]["summarization"]["metrics"] = ["rouge_l_script", "rouge_l_xlsum"]
    assert validate_config(paper)["tasks"]["summarization"]["metrics"] == ["rouge_l_script", "rouge_l_xlsum"]
    assert load_config(ROOT / "studies" / "paper.yaml")["tasks"]["summarization"]["metrics"] == ["rouge_l_xlsum"]
    # A language whose XL-Sum processing rouge_l_xlsum does not reproduce is refused, naming the key.
    paper["languages"]["unseen"].append("th")
    paper["tasks"]["summarization"]["data"]["splits"]["test"]["languages"].append("th")
    with pytest.raises(ConfigError, match=r"tasks\.summarization\.metrics\[1\]: rouge_l_xlsum does not reproduce "
                                          r"XL-Sum's scorer for 'th' \(Thai word segmentation"):
        validate_config(paper)


def test_mt_judge_and_hub_data_jobs_are_sized_from_their_models():
    from xlt.resources import helper_model_resources, hub_data_resources

    config = load_config(ROOT / "studies" / "paper.yaml")
    judge = helper_model_resources(config, config["judge"]["model"], prompts=1600, tokens=1536)
    translator = helper_model_resources(config, config["translation"]["model"], prompts=14000, tokens=1024)
    assert (judge["gpu"], translator["gpu"]) == (4, 2)  # 70B and 35B in bf16 plus KV cache on 80 GB GPUs
    endpoint = helper_model_resources(config, None, prompts=1600, tokens=1536)
    assert endpoint["gpu"] == 0 and endpoint["cpus_per_gpu"] is None  # an OpenAI-compatible endpoint: a CPU job
    # mCoT-MATH is one 11.6 GB JSON array that datasets parses whole
    assert hub_data_resources(config, "math")["mem_mb"] > 8 * hub_data_resources(config, "summarization")["mem_mb"]
    assert hub_data_resources(config, "summarization", attempt=2)["mem_mb"] == 24_000
