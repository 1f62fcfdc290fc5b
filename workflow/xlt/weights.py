"""Model weights on disk: a local directory or a hub snapshot at a pinned revision, safetensors only (a pickled
checkpoint can run code when loaded, and its weights would go unhashed in provenance). Light: the Snakefile
checks local models with it before any job starts.
"""

from __future__ import annotations

from pathlib import Path

from xlt.errors import XltError


def weight_files(model_dir: str | None) -> list[Path]:
    """A local model's weights, for provenance inputs; none for a hub id (its snapshot path names the commit)."""
    return sorted(Path(model_dir).glob("*.safetensors")) if model_dir and Path(model_dir).is_dir() else []


class UnsafeWeightsError(XltError):
    """A model directory without safetensors weights (pickled ``.bin``/``.pt`` files are never loaded)."""


PICKLED_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def require_safetensors(model_dir: str, where: str | None = None) -> None:
    """Raise ``UnsafeWeightsError`` unless ``model_dir`` holds safetensors weights: a pickle can run code when
    loaded, and its weights would go unhashed in provenance."""
    if weight_files(model_dir):
        return
    pickled = sorted(path.name for pattern in PICKLED_WEIGHTS for path in Path(model_dir).glob(pattern))
    found = f"it has {', '.join(pickled[:4])}, pickled weights that xlt does not load" if pickled else \
        "it has no weights"
    raise UnsafeWeightsError(f"{where + ': ' if where else ''}{model_dir}: no *.safetensors weights ({found}); "
                             f"convert the checkpoint to safetensors (model.save_pretrained(dir, "
                             f"safe_serialization=True)) and point the config at it")


def resolve_model_dir(model_dir: str, revision: str | None = None) -> str:
    """A local directory as is; a hub id as its local snapshot at ``revision`` (downloaded unless cached,
    without pickled weights), so every stage loads the commit the config pins (the snapshot's path names it).
    Either way the directory must hold safetensors weights."""
    if Path(model_dir).is_dir():
        require_safetensors(model_dir)
        return model_dir
    from huggingface_hub import snapshot_download  # only for a hub id; the Snakefile imports this module

    snapshot = snapshot_download(model_dir, revision=revision, ignore_patterns=list(PICKLED_WEIGHTS))
    require_safetensors(snapshot, f"hub model {model_dir!r} at revision {revision!r}")
    return snapshot
