"""rouge_l_script: xlt's scorer (``xlt.evaluation.RougeLScript``) as an evaluate module.

Load it by path, offline: ``evaluate.load("workflow/xlt/evaluate_modules/rouge_l_script")``.
xlt must be importable:
``pip install -e .`` in its checkout, or its ``workflow/`` directory on ``sys.path``.
"""

from xlt.evaluation import RougeLScript  # From: -e <the xlt checkout>

__all__ = ["RougeLScript"]
