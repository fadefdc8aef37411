"""The faithfulness button's estimate: the curves' copies at the curves' own measured speed.

Before any measurement it is each map's ``2 * (steps + 1)`` copies at the model's forward time per image (measured
when the model loads); a LIME job's speed (SLIC, masks and regressions besides the forward passes) must not change it;
a finished measurement sets it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explainers import Condition  # noqa: E402
from explainers.metrics import curve_copies  # noqa: E402
from ui.compute import faithfulness, jobs, models  # noqa: E402

MODEL = "efficientnet_lite0"


@pytest.fixture(autouse=True)
def fresh():
    jobs.clear()
    yield
    jobs.clear()


def test_the_estimate_counts_every_copy_at_the_curves_speed():
    items = faithfulness.plan([Condition.make(MODEL, "cam"), Condition.make(MODEL, "secam")], [281, 281],
                              "sample:chelsea", steps=10)
    assert len(items) == 3  # A, B and the model's random map
    first = faithfulness.estimate_seconds(items, steps=10)
    assert first == pytest.approx(3 * curve_copies(10) * models.seconds_per_image(MODEL))
    jobs.record_speed(MODEL, 50.0, 10)  # a LIME job that ran at 5 s per image
    assert faithfulness.estimate_seconds(items, steps=10) == pytest.approx(first)
    jobs.record_speed(MODEL, 4.4, 22, kind=faithfulness.CURVES)  # a measured map: 0.2 s per copy
    assert faithfulness.estimate_seconds(items, steps=10) == pytest.approx(3 * 22 * 0.2)
