"""rouge_l_xlsum: xlt's scorer (``xlt.evaluation.RougeLXlsum``) as an evaluate module.

Load it by path, offline: ``evaluate.load("workflow/xlt/evaluate_modules/rouge_l_xlsum")``.
xlt must be importable:
``pip install -e .`` in its checkout, or its ``workflow/`` directory on ``sys.path``.
"""

from xlt.evaluation import RougeLXlsum  # From: -e <the xlt checkout>

__all__ = ["RougeLXlsum"]
