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
