"""xlt_rouge: ROUGE-L F1 on language-aware tokens (``xlt.metrics.rouge_l``) as a local ``evaluate`` module.

Load it by path, which works offline: ``evaluate.load("workflow/xlt/evaluate_modules/xlt_rouge")``.
"""

import json
import statistics
import sys
from pathlib import Path

import datasets
import evaluate

_DESCRIPTION = """ROUGE-L F1 (longest common subsequence) with tokens that suit the language: one per Han/kana
character for zh and ja, one per eojeol for ko, one per Unicode word otherwise. The stock rouge_score tokenizer
keeps only [a-z0-9], so it scores Chinese, Japanese, Korean or Arabic 0 even for identical strings."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of generated texts.
    references: list of reference texts, one per prediction.
    langs: list of ISO 639-1 codes, one per prediction, choosing each pair's tokenizer.
Returns:
    rougeL: mean ROUGE-L F1 over the pairs.
Example:
    >>> metric = evaluate.load("workflow/xlt/evaluate_modules/xlt_rouge")
    >>> metric.compute(predictions=["今天天气不好"], references=["今天天气很好"], langs=["zh"])
    {'rougeL': 0.8333333333333334}
"""

_CITATION = """@inproceedings{lin-2004-rouge,
    title = "{ROUGE}: A Package for Automatic Evaluation of Summaries",
    author = "Lin, Chin-Yew",
    booktitle = "Text Summarization Branches Out",
    year = "2004",
    pages = "74--81",
}"""


def _checkout_workflow_dir() -> Path:
    """The ``workflow/`` directory of the checkout this module belongs to.

    ``evaluate.load`` imports a copy of this file from its module cache, so ``__file__`` is that copy; the JSON
    beside it records the original's path.
    """
    here = Path(__file__).resolve()
    record = here.with_suffix(".json")
    if record.is_file():
        here = Path(json.loads(record.read_text(encoding="utf-8"))["original file path"]).resolve()
    return here.parents[3]  # workflow/xlt/evaluate_modules/xlt_rouge/xlt_rouge.py


def _xlt_metrics():
    # Imports are indented on purpose: evaluate.load checks every top-level import is installed before it runs
    # the module, and xlt need not be installed when the module is loaded from its checkout.
    try:
        from xlt import metrics
    except ImportError:
        workflow = _checkout_workflow_dir()
        if not (workflow / "xlt" / "metrics.py").is_file():
            raise ImportError(f"xlt_rouge needs the xlt package: install it or put its directory on sys.path "
                              f"(looked in {workflow})") from None
        sys.path.insert(0, str(workflow))
        from xlt import metrics
    return metrics


class XltRouge(evaluate.Metric):
    """ROUGE-L F1 with per-language tokenization."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({
                "predictions": datasets.Value("string"),
                "references": datasets.Value("string"),
                "langs": datasets.Value("string"),
            }),
            reference_urls=["https://aclanthology.org/W04-1013/"],
        )

    def _compute(self, predictions, references, langs):
        if not predictions:
            raise ValueError("xlt_rouge: no predictions to score")
        rouge_l = _xlt_metrics().rouge_l
        return {"rougeL": statistics.fmean(
            rouge_l(prediction, reference, lang)
            for prediction, reference, lang in zip(predictions, references, langs, strict=True)
        )}
