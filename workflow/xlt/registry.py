"""The extension points, one table each: task kinds and their metrics, dataset adapters, figures. Config
validation, the rules and job sizing read these tables; the modules that implement an entry (``xlt.metrics`` and
``xlt.score``, ``xlt.adapters``, ``xlt.figures``) are checked against them by the tests, so adding a metric, an
adapter or a figure starts here.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("math", "summarization", "instruction_following")


@dataclass(frozen=True)
class Metric:
    kinds: frozenset[str]  # the task kinds it scores
    judged: bool = False  # scored from the LLM judge's ratings (the judge rule runs first)
    synthetic_only: bool = False  # checks what only the synthetic benchmark's references carry


METRICS = {
    "math_accuracy": Metric(frozenset({"math"})),
    "rouge_l": Metric(frozenset({"summarization"})),
    "constraint_accuracy": Metric(frozenset({"instruction_following"}), synthetic_only=True),
    "judge_rating": Metric(frozenset({"instruction_following"}), judged=True),
}


@dataclass(frozen=True)
class AdapterEntry:
    kinds: frozenset[str]  # the task kinds its dataset serves
    memory_mb: int = 16_000  # host memory of the hub data job that reads it


ADAPTERS = {
    "xlsum": AdapterEntry(frozenset({"summarization"})),
    # mCoT-MATH is one 11.6 GB JSON array, which `datasets` parses whole before writing Arrow
    "mcot_math": AdapterEntry(frozenset({"math"}), memory_mb=160_000),
    "mgsm": AdapterEntry(frozenset({"math"})),
    "aya_dolly": AdapterEntry(frozenset({"instruction_following"})),
    "chat": AdapterEntry(frozenset(KINDS)),  # chat-format data serves any kind
}


@dataclass(frozen=True)
class FigureEntry:
    settings: frozenset[str]  # drawn when a family of one of these settings is in the grid
    min_n: int = 1  # ... and has at least this many n values


FIGURES = {
    "fig2_perf_to_en_single_task": FigureEntry(frozenset({"single_task"})),
    "fig3_scores_by_n": FigureEntry(frozenset({"single_task"})),
    "fig4_perf_to_en_multi_task": FigureEntry(frozenset({"multi_task"})),
    "fig5_scores_by_n_multi_task": FigureEntry(frozenset({"multi_task"})),
    "fig6_script_mix": FigureEntry(frozenset({"script_mix"})),
    "fig12_seen_unseen_gap": FigureEntry(frozenset({"single_task", "multi_task"})),
    "data_efficiency": FigureEntry(frozenset({"single_task", "multi_task", "script_mix"}), min_n=3),
}

# Study B's figures, one set per attributed run (drawn by xlt.attribute).
ATTRIBUTION_FIGURES = ("shares", "checkpoints", "reinforce")


def judged(metrics: list[str]) -> bool:
    """Whether a task with these metrics needs the judge's ratings (an unknown name needs none: its scorer says
    it is unknown)."""
    return any(name in METRICS and METRICS[name].judged for name in metrics)
