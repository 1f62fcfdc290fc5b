"""Session fixtures: the small study config and its synthetic datasets, built once per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "workflow"))  # the xlt package of this checkout, installed or not

SMALL_CONFIG = ROOT / "tests" / "configs" / "small.yaml"


@pytest.fixture(scope="session", autouse=True)
def isolated_caches(tmp_path_factory):
    """Hugging Face and torch caches inside the test's temp dir; one torch thread."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ["HF_HOME"] = str(cache / "hf")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"
    yield


@pytest.fixture(scope="session")
def small_config():
    from xlt.config import load_config

    return load_config(SMALL_CONFIG)


@pytest.fixture(scope="session")
def datasets_dir(tmp_path_factory, small_config):
    """The small study's synthetic datasets: ``{dir}/{task}/{split}.parquet``."""
    from xlt.data import write_synthetic_task

    root = tmp_path_factory.mktemp("datasets")
    for task, spec in small_config["tasks"].items():
        data = {key: value for key, value in spec["data"].items() if key != "source"}
        write_synthetic_task(task, {"kind": spec["kind"], **data}, root / task)
    return root


TINY_ARCHITECTURE = {"hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "num_key_value_heads": 1}  # head size 32: vLLM-CPU supports it


@pytest.fixture(scope="session")
def tiny_base_model(tmp_path_factory, datasets_dir):
    """A tokenizer trained on the small benchmark and a tiny Llama briefly pretrained: built once."""
    import torch

    from xlt.base_model import write_base_model, write_tokenizer

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("base")
    train_files = sorted(datasets_dir.glob("*/train.parquet"))
    write_tokenizer(train_files, 1024, root / "tokenizer")
    spec = {"architecture": TINY_ARCHITECTURE,
            "pretrain": {"steps": 20, "batch_size": 16, "learning_rate": 2e-3, "seq_length": 64, "seed": 0}}
    write_base_model("tiny", spec, root / "tokenizer", train_files, root / "model")
    return root / "model"


@pytest.fixture(scope="session")
def tiny_mixture(tmp_path_factory, datasets_dir, small_config):
    from xlt.grid import mixture_spec
    from xlt.mixtures import write_mixture

    out = tmp_path_factory.mktemp("mixture")
    spec = {**mixture_spec(small_config, "st_math", 10), "english": 60}  # 60 en + 4 x 10: 100 examples
    write_mixture(spec, 0, out, datasets_dir)
    return out


TRAINING = {"batch_size": 16, "per_device_batch_size": 8, "learning_rate": 2e-3, "lr_scheduler": "constant",
            "warmup_ratio": 0.0, "weight_decay": 0.0, "optimizer": "adamw_torch", "group_by_length": False,
            "epochs": 1, "max_steps": -1, "save_steps": 2, "max_length": 192}


def file_trace_dir(tmp_path_factory) -> Path:
    """Where the small study's jobs record the files they touch (``tests/file_trace/sitecustomize.py``)."""
    return tmp_path_factory.getbasetemp() / "small_study_file_trace"


@pytest.fixture(scope="session")
def small_study(tmp_path_factory):
    """The small study run to completion once with the local executor: (workdir, raw config, validated config)."""
    import yaml
    from workflow_helpers import snakemake

    from xlt.config import load_config

    workdir = tmp_path_factory.mktemp("study")
    config = load_config(SMALL_CONFIG)  # validated: what the Snakefile sees
    raw = yaml.safe_load(SMALL_CONFIG.read_text())
    # every job records the files it touches (tests/file_trace), for the declared-paths test
    trace = file_trace_dir(tmp_path_factory)
    trace.mkdir()
    pythonpath = os.pathsep.join(filter(None, [str(ROOT / "tests" / "file_trace"), os.environ.get("PYTHONPATH")]))
    result = snakemake(workdir, "--cores", "2", config=raw, env={"XLT_FILE_TRACE": str(trace), "PYTHONPATH": pythonpath})
    assert result.returncode == 0, result.stdout + result.stderr
    return workdir, raw, config
