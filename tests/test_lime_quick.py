"""LIME on Explain starts from its quick setting (a map in seconds), and Refine runs the full one.

Driven by ``AppTest``; the images through the network are counted by wrapping ``LoadedModel.forward_batch``, so
the test sees that the quick map really pushed the quick number of copies and Refine the full number.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explainers.models.loaded import LoadedModel  # noqa: E402
from ui.compute import jobs  # noqa: E402
from conftest import shown  # noqa: E402
from test_dashboard import assert_clean, new_app, panel_titles  # noqa: E402

#: Above the quick 100 samples, small enough for a test on a shared CPU.
FULL = 150


@pytest.fixture
def images(monkeypatch):
    """Count the images pushed through the network, wherever they come from."""
    seen = {"n": 0}
    forward_batch = LoadedModel.forward_batch

    def counted(self, batch):
        seen["n"] += int(batch.shape[0])
        return forward_batch(self, batch)

    monkeypatch.setattr(LoadedModel, "forward_batch", counted)
    jobs.clear()
    yield seen
    jobs.clear()


def compare_with_lime(seed: int, images: dict) -> tuple:
    """Compare with B = LIME at :data:`FULL` samples (Compare takes a method's own parameters; Explain its
    defaults); returns the app and the images counted before Compare's run."""
    at = new_app()
    at.run()
    at.session_state["right_method"] = "lime"
    at.session_state["method_params"] = {"lime": {"num_samples": FULL, "seed": seed}}
    before = images["n"]
    at.switch_page("pages/compare.py").run()
    return at, before


def test_lime_shows_a_quick_map_first_and_refine_replaces_it(images):
    at, before = compare_with_lime(7, images)
    assert_clean(at)
    assert panel_titles(at, "compare_maps") == ["A: CAM on efficientnet_lite0",
                                                "B: LIME on efficientnet_lite0, quick (100 samples)"]
    assert any(f"B: {FULL} samples" in shown(c.value) for c in at.caption), [c.value for c in at.caption]
    quick = images["n"] - before
    assert 100 <= quick < FULL  # the quick copies (and a few single passes), not the full count
    assert at.query_params.get("refined") == "0"

    at.button(key="refine").click().run()
    assert_clean(at)
    assert panel_titles(at, "compare_maps") == ["A: CAM on efficientnet_lite0", "B: LIME on efficientnet_lite0"]
    assert images["n"] - before - quick >= FULL  # the full setting ran
    assert not [b for b in at.button if b.key == "refine"]
    assert at.query_params.get("refined") == "1"  # the link says so


def test_a_link_with_refined_opens_the_full_map(images):
    at = new_app()
    query = {"page": "compare", "a_method": "cam", "b_method": "lime", "refined": "1",
             "params": json.dumps({"lime": {"num_samples": FULL, "seed": 8}}, separators=(",", ":"))}
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert_clean(at)
    assert panel_titles(at, "compare_maps")[1] == "B: LIME on efficientnet_lite0"
    assert images["n"] >= FULL and not [b for b in at.button if b.key == "refine"]
