"""Explanation methods: the base class and the registry (:mod:`.base`), then one module per method.

A new method is one class: subclass :class:`Explainer`, decorate it with :func:`register_explainer`
(or declare it in the entry-point group ``explainers.methods``; see :mod:`explainers.plugins`).
"""

# isort: off  (the order of registration is the order the CLI and the pickers list them)
from . import cam  # noqa: F401
from . import secam  # noqa: F401
from . import gradcam  # noqa: F401
from . import lime  # noqa: F401

# isort: on
from .base import (
    EXPLAINERS,
    Explainer,
    builtin_explainers,
    get_explainer,
    list_explainers,
    make_explanation,
    register_explainer,
)
from .condition import Condition

__all__ = [
    "EXPLAINERS",
    "Condition",
    "Explainer",
    "builtin_explainers",
    "get_explainer",
    "list_explainers",
    "make_explanation",
    "register_explainer",
]
