"""Compare's faithfulness table in words (issue 19, "verdicts in words"): ui.compute.faithfulness.verdict."""

from __future__ import annotations

import numpy as np

from explainers.metrics import Faithfulness
from ui.compute.faithfulness import verdict


def curves(deletion: float, insertion: float) -> Faithfulness:
    f = np.linspace(0, 1, 3)
    return Faithfulness(f, np.full(3, deletion), np.full(3, insertion), deletion, insertion, None, {"curves": 0.1})


def test_nothing_measured_says_nothing():
    assert verdict({"A: CAM": None, "random map on m": None}) is None


def test_one_map_wins_both_curves_and_both_beat_random():
    text = verdict({"A: CAM": curves(0.10, 0.70), "B: SeCAM": curves(0.20, 0.60), "random map on m": curves(0.3, 0.5)})
    assert text.startswith("A: CAM is the more faithful on both curves")
    assert "lower by 0.100" in text and "higher by 0.100" in text
    assert "Both maps beat the random map" in text


def test_mixed_and_about_equal_and_a_map_worse_than_random():
    mixed = verdict({"A: CAM": curves(0.10, 0.50), "B: SeCAM": curves(0.20, 0.60), "random map on m": curves(0.15, 0.55)})
    assert mixed.startswith("Mixed:") and "deletion: A: CAM" in mixed and "insertion: B: SeCAM" in mixed
    assert "No map beats the random map" in mixed
    equal = verdict({"A: CAM": curves(0.100, 0.600), "B: SeCAM": curves(0.105, 0.602), "random map on m": curves(0.2, 0.4)})
    assert equal.startswith("The maps are about equally faithful")
    one = verdict({"A: CAM": curves(0.10, 0.70), "B: LIME": curves(0.40, 0.30), "random map on m": curves(0.3, 0.5)})
    assert "Only A: CAM beats the random map" in one
