"""xlt's scorers as ``evaluate`` metrics, one class per ``xlt.metrics.SCORERS`` entry. Each module directory
``workflow/xlt/evaluate_modules/<name>/<name>.py`` imports its class from here, so ``evaluate.load(<that
directory>)`` works offline wherever xlt is importable (installed, or ``workflow/`` on ``sys.path``).

``compute(predictions=..., references=..., langs=..., candidates=[...])`` returns the mean under the metric's
name, and ``scores`` and ``details`` per pair (what the score stage writes per example).
"""

from __future__ import annotations

import statistics

import datasets
import evaluate

from xlt.metrics import SCORERS
from xlt.registry import METRICS

_INPUTS = """
Args:
    predictions: generated texts.
    references: one reference per prediction (a summary, a numeric answer, or the instruction-following
        constraints as JSON; language_check does not read it).
    langs: one ISO 639-1 code per prediction (its language, choosing the tokenizer or the expected language).
    candidates: the languages the language check chooses among (the study's evaluation languages).
Returns:
    {name}: the mean score; scores: the score of each pair; details: what each score was computed from.
"""
_DESCRIPTIONS = {name: entry.description for name, entry in METRICS.items()} | {
    "language_check": "whether the reply is in its language, line by line (Language Confusion Benchmark style)",
}


class XltMetric(evaluate.Metric):
    """One of xlt's scorers; subclasses name it."""

    metric: str

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            module_type="metric",
            description=f"{self.metric}: {_DESCRIPTIONS[self.metric]}.",
            citation="",
            inputs_description=_INPUTS.format(name=self.metric),
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string"),
                                        "langs": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, langs, candidates=()):
        if not predictions:
            raise ValueError(f"{self.metric}: no predictions to score")
        scorer = SCORERS[self.metric]
        scored = [scorer(prediction, reference, lang, list(candidates))
                  for prediction, reference, lang in zip(predictions, references, langs, strict=True)]
        scores = [score for score, _ in scored]
        return {self.metric: statistics.fmean(scores), "scores": scores, "details": [details for _, details in scored]}


class RougeLXlsum(XltMetric):
    metric = "rouge_l_xlsum"


class RougeLScript(XltMetric):
    metric = "rouge_l_script"


class MathAccuracy(XltMetric):
    metric = "math_accuracy"


class ConstraintAccuracy(XltMetric):
    metric = "constraint_accuracy"


class ConstraintFraction(XltMetric):
    metric = "constraint_fraction"


class LanguageCheck(XltMetric):
    metric = "language_check"
