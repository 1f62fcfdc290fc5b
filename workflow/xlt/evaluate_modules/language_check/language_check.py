"""language_check: xlt's scorer (``xlt.evaluation.LanguageCheck``) as an evaluate module.

Load it by path, offline: ``evaluate.load("workflow/xlt/evaluate_modules/language_check")``.
xlt must be importable:
``pip install -e .`` in its checkout, or its ``workflow/`` directory on ``sys.path``.
"""

from xlt.evaluation import LanguageCheck  # From: -e <the xlt checkout>

__all__ = ["LanguageCheck"]
