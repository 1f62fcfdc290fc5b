"""constraint_fraction: xlt's scorer (``xlt.evaluation.ConstraintFraction``) as an evaluate module.

Load it by path, offline: ``evaluate.load("workflow/xlt/evaluate_modules/constraint_fraction")``.
xlt must be importable:
``pip install -e .`` in its checkout, or its ``workflow/`` directory on ``sys.path``.
"""

from xlt.evaluation import ConstraintFraction  # From: -e <the xlt checkout>

__all__ = ["ConstraintFraction"]
