"""Atomic writes and content hashes: an interrupted job never leaves a file that looks complete."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from xlt.errors import XltError


class TableReadError(XltError, ValueError):
    """A parquet file that cannot be read; the message names the file."""


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


def _unreadable(path: str | Path, error: BaseException) -> TableReadError:
    if isinstance(error, FileNotFoundError):
        return TableReadError(f"{path}: no such file")
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return TableReadError(f"{path}: not a readable parquet table ({reason}); rerun the job that writes it "
                          f"(snakemake --forcerun <rule>) or replace the file")


def read_table(path: str | Path, columns: list[str] | None = None) -> pl.DataFrame:
    """``pl.read_parquet`` whose failures (a missing, truncated or corrupt file, text that is not UTF-8) name the
    file: polars' own messages do not."""
    sys.audit("xlt.read", path)  # polars opens the file natively: this is what audit hooks see of it
    try:
        return pl.read_parquet(path, columns=columns)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise _unreadable(path, error) from None


def read_csv_table(path: str | Path) -> pl.DataFrame:
    """``pl.read_csv`` of a table this project wrote (``write_text(frame.write_csv())``), failures naming the
    file."""
    sys.audit("xlt.read", path)
    try:
        return pl.read_csv(path)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise TableReadError(f"{path}: not a readable CSV table ({str(error).strip().splitlines()[0]})") from None


def scan_table(path: str | Path) -> pl.LazyFrame:
    """``pl.scan_parquet`` of a file whose footer was read first, so a missing or corrupt file is named now,
    not at ``collect`` time."""
    sys.audit("xlt.read", path)
    try:
        pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise _unreadable(path, error) from None
    return pl.scan_parquet(path)


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
