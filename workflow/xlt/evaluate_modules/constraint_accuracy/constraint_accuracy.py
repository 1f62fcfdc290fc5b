"""constraint_accuracy: xlt's scorer (``xlt.evaluation.ConstraintAccuracy``) as an evaluate module.

Load it by path, offline: ``evaluate.load("workflow/xlt/evaluate_modules/constraint_accuracy")``.
xlt must be importable:
``pip install -e .`` in its checkout, or its ``workflow/`` directory on ``sys.path``.
"""

from xlt.evaluation import ConstraintAccuracy  # From: -e <the xlt checkout>

__all__ = ["ConstraintAccuracy"]
