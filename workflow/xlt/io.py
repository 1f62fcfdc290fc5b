"""Atomic writes and content hashes: an interrupted job never leaves a file that looks complete."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temp path beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(frame: pl.DataFrame, path: str | Path) -> None:
    """Write ``frame`` sorted as given, atomically, with settings that make reruns byte-identical."""
    atomic_write(Path(path), lambda tmp: frame.write_parquet(tmp, compression="zstd", statistics=False))


def write_json(data: Any, path: str | Path) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_text(text: str, path: str | Path) -> None:
    atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical_json(value: Any) -> str:
    """One JSON text per value: what Snakemake params and provenance compare."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
