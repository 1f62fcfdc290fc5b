"""What the analysis stage's modules (tables, curves, figures, report) share: the keys of a score cell, the
language groups the paper averages over, each task's headline metric, which families train which task, the
data-efficiency curve form, and how a table is written (CSV, Markdown, LaTeX).

``study`` everywhere is ``xlt.grid.analysis_spec(config)``: the grid and the language groups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from xlt.io import write_text

RUN_KEYS = ["model", "run", "setting", "family", "mixture", "n", "seed"]
CELL_KEYS = [*RUN_KEYS, "task", "metric", "lang"]
# a mixture's runs are its seeds (the base model is one run): what the means over seeds are keyed by
MIXTURE_KEYS = [key for key in RUN_KEYS if key not in ("run", "seed")]
MIXTURE_CELL_KEYS = [*MIXTURE_KEYS, "task", "metric", "lang"]
BASE_SETTING = "base"



def language_groups(study: dict[str, Any]) -> dict[str, list[str]]:
    """The language groups the paper averages over: English, seen, unseen, all non-English, and each script
    group (``script:{name}``; English is in none)."""
    languages = study["languages"]
    groups = {"english": [languages["english"]], "seen": languages["seen"], "unseen": languages["unseen"],
              "non_english": [*languages["seen"], *languages["unseen"]]}
    groups.update({f"script:{name}": codes for name, codes in languages["script_groups"].items()})
    return groups


def headline(frame: pl.DataFrame, study: dict[str, Any]) -> pl.DataFrame:
    """Only each task's headline metric (its first in the config)."""
    metric = pl.DataFrame({"task": list(study["tasks"]), "metric": [t["metric"] for t in study["tasks"].values()]})
    return frame.join(metric, on=["task", "metric"], how="semi")


def trains_task(study: dict[str, Any]) -> pl.DataFrame:
    """(family, task) pairs where the family's mixtures train the task."""
    pairs = [(family, task) for family, spec in study["families"].items() for task in spec["tasks"]]
    return pl.DataFrame(pairs, schema={"family": pl.String, "task": pl.String}, orient="row")


def saturating(n: np.ndarray, start: float, plateau: float, scale: float) -> np.ndarray:
    """The data-efficiency curve form: ``plateau - (plateau - start) * exp(-n / scale)``."""
    return plateau - (plateau - start) * np.exp(-n / scale)


def write_table(frame: pl.DataFrame, csv_path: str | Path, caption: str) -> list[Path]:
    """``frame`` as CSV, Markdown and LaTeX (same stem), three decimals; returns the paths written."""
    csv_path = Path(csv_path)
    write_text(frame.write_csv(float_precision=6), csv_path)
    table = frame.to_pandas()
    table = table.astype(object).where(table.notna(), None)  # NaN and null both print as missing
    markdown = table.to_markdown(index=False, floatfmt=".3f", missingval="–")
    write_text(f"{caption}\n\n{markdown}\n", csv_path.with_suffix(".md"))
    latex = (table.style.hide(axis="index").format(precision=3, na_rep="--", escape="latex")
             .format_index(escape="latex", axis=1)
             .to_latex(caption=caption.replace("_", r"\_"), hrules=True, position="t"))
    write_text(latex, csv_path.with_suffix(".tex"))
    return [csv_path, csv_path.with_suffix(".md"), csv_path.with_suffix(".tex")]
