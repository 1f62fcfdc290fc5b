"""The scorers of ``xlt.registry.METRICS`` that are computed from a reply (``judge_rating`` is read from the judge):
each scores one generation against its reference and says what it read. The score stage calls them through
their ``evaluate`` modules (``xlt.evaluation``, loaded by path from ``workflow/xlt/evaluate_modules/<name>``), so
a researcher's own code gets the same numbers from ``evaluate.load(<path>)``.

The pieces live where they belong: ROUGE-L tokenizations in ``xlt.rouge``, reading numbers in ``xlt.numbers``,
instruction-following checks in ``xlt.constraints``, language identification in ``xlt.langid``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xlt.constraints import check_constraints, constraint_accuracy, constraint_fraction
from xlt.langid import language_check
from xlt.numbers import answer_readings, extract_number
from xlt.rouge import rouge_l

EVALUATE_MODULES = Path(__file__).resolve().parent / "evaluate_modules"

Score = tuple[float, dict[str, Any]]


def _gold(reference: str) -> float:
    try:
        return float(reference)
    except ValueError:
        gold = extract_number(reference)
        if gold is None:
            raise ValueError(f"math reference {reference!r} has no number") from None
        return gold


def _matches(readings: list[float] | None, gold: float) -> bool:
    return readings is not None and any(abs(value - gold) < 1e-6 for value in readings)


def math_correct(prediction: str, reference: str) -> bool:
    """Whether the answer in ``prediction`` (``xlt.numbers.answer_readings``, any of its readings) equals the
    numeric ``reference`` (|difference| < 1e-6)."""
    return _matches(answer_readings(prediction), _gold(reference))


def _rouge_l_scorer(variant: str) -> Callable[[str, str, str, list[str]], Score]:
    def score(generation: str, reference: str, lang: str, candidates: list[str]) -> Score:
        return rouge_l(generation, reference, lang, variant), {}
    return score


def _math_accuracy(generation: str, reference: str, lang: str, candidates: list[str]) -> Score:
    readings = answer_readings(generation)  # read once: the score and what it read
    return float(_matches(readings, _gold(reference))), {"extracted": readings[0] if readings else None}


@functools.lru_cache(maxsize=4096)
def _checks(generation: str, reference: str, candidates: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """``check_constraints`` once per example however many instruction metrics score it (language
    identification is its costly part)."""
    return tuple(check_constraints(generation, reference, list(candidates)).items())


def _constraint_accuracy(generation: str, reference: str, lang: str, candidates: list[str]) -> Score:
    checks = dict(_checks(generation, reference, tuple(candidates)))
    return constraint_accuracy(checks), {"constraints": checks, "fraction": constraint_fraction(checks)}


def _constraint_fraction(generation: str, reference: str, lang: str, candidates: list[str]) -> Score:
    checks = dict(_checks(generation, reference, tuple(candidates)))
    return constraint_fraction(checks), {"constraints": checks}


def _language_check(generation: str, reference: str, lang: str, candidates: list[str]) -> Score:
    return float(language_check(generation, lang, candidates)), {}


# Metric name -> scorer(generation, reference, lang, candidate languages) -> (score, details). Every name has an
# evaluate module of the same name; language_check is the response-language part of constraint_accuracy on its
# own (the reference is not read), for use outside the study.
SCORERS: dict[str, Callable[[str, str, str, list[str]], Score]] = {
    "rouge_l_xlsum": _rouge_l_scorer("rouge_l_xlsum"),
    "rouge_l_script": _rouge_l_scorer("rouge_l_script"),
    "math_accuracy": _math_accuracy,
    "constraint_accuracy": _constraint_accuracy,
    "constraint_fraction": _constraint_fraction,
    "language_check": _language_check,
}


def evaluate_module(metric: str) -> Path:
    """The directory of ``metric``'s evaluate module, for ``evaluate.load``."""
    if metric not in SCORERS:
        raise ValueError(f"no evaluate module for metric {metric!r} (known: {', '.join(SCORERS)})")
    return EVALUATE_MODULES / metric
