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
    description: str  # what produced the number (scorer, tokenization): shown beside it in figures and the report
    judged: bool = False  # scored from the LLM judge's ratings (the judge rule runs first)
    synthetic_only: bool = False  # checks what only the synthetic benchmark's references carry


METRICS = {
    "math_accuracy": Metric(frozenset({"math"}), "exact match of the reply's final answer (MGSM-style reading)"),
    "rouge_l_xlsum": Metric(frozenset({"summarization"}), "ROUGE-L F1, XL-Sum's multilingual scorer (jieba zh, "
                            "MeCab ja, Snowball stems en/es/fr/pt/ar); compares with XL-Sum numbers"),
    "rouge_l_script": Metric(frozenset({"summarization"}), "ROUGE-L F1, script-aware unstemmed tokens (Han/kana "
                             "characters, Korean eojeol, words); not comparable with XL-Sum numbers"),
    "constraint_accuracy": Metric(frozenset({"instruction_following"}), "all checkable constraints met, "
                                  "response language by line (IFEval strict prompt-level)", synthetic_only=True),
    "constraint_fraction": Metric(frozenset({"instruction_following"}), "share of a prompt's checkable constraints "
                                  "met, response language included (IFEval strict instruction-level, per prompt)",
                                  synthetic_only=True),
    "judge_rating": Metric(frozenset({"instruction_following"}), "LLM judge's 1-5 rating, 1 if the reply switches "
                           "language", judged=True),
}
# Languages whose XL-Sum scores come from processing rouge_l_xlsum does not reproduce (XL-Sum's scorer has it).
XLSUM_UNREPRODUCED = {"th": "Thai word segmentation (pythainlp)", "my": "Burmese syllable segmentation",
                      "bn": "a Bengali stemmer", "hi": "a Hindi stemmer", "tr": "a Turkish stemmer"}
# "rouge_l" in a config is the ROUGE-L of the task's data: XL-Sum's scorer for XL-Sum, else the script-aware one.
ROUGE_L_DEFAULTS = {"xlsum": "rouge_l_xlsum", None: "rouge_l_script"}


@dataclass(frozen=True)
class AdapterEntry:
    kinds: frozenset[str]  # the task kinds its dataset serves
    memory_mb: int = 16_000  # host memory of the hub data job that reads it
    script_choice: bool = False  # its rows carry a script column, chosen per language by the split's `scripts`


ADAPTERS = {
    "xlsum": AdapterEntry(frozenset({"summarization"})),
    # mCoT-MATH is one 11.6 GB JSON array, which `datasets` parses whole before writing Arrow
    "mcot_math": AdapterEntry(frozenset({"math"}), memory_mb=160_000),
    "mgsm": AdapterEntry(frozenset({"math"})),
    "aya_dolly": AdapterEntry(frozenset({"instruction_following"}), script_choice=True),
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
