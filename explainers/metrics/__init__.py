"""Faithfulness metrics: how much a model's output depends on what a map says is important.

- :mod:`.faithfulness`: deletion and insertion curves (Petsiuk et al., 2018) and the random-map baseline.
"""

from .faithfulness import (
    DEFAULT_STEPS,
    FAITHFULNESS_PARAMETERS,
    Faithfulness,
    auc,
    blurred,
    faithfulness,
    kept_fraction,
    pixel_order,
    random_saliency,
)

__all__ = [
    "DEFAULT_STEPS",
    "FAITHFULNESS_PARAMETERS",
    "Faithfulness",
    "auc",
    "blurred",
    "faithfulness",
    "kept_fraction",
    "pixel_order",
    "random_saliency",
]
