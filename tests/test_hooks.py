"""Hooks live only inside the context manager: none left after a normal or a failing call."""

import pytest

import explainers
from conftest import all_hooks, quadrant_image


def test_no_hook_after_normal_call(tiny_model):
    explainers.get_explainer("secam", n_segments=4).explain(tiny_model, quadrant_image(), topk=2)
    assert all_hooks(tiny_model.network) == 0


def test_no_hook_after_a_failure_inside_the_forward_pass(tiny_model, monkeypatch):
    def boom(self, x):
        raise RuntimeError("network failed")

    monkeypatch.setattr(type(tiny_model.network), "forward", boom)
    with pytest.raises(RuntimeError, match="network failed"):
        explainers.get_explainer("cam").explain(tiny_model, quadrant_image())
    assert all_hooks(tiny_model.network) == 0
    assert not tiny_model.lock._is_owned()


def test_no_hook_after_bad_target(tiny_model):
    with pytest.raises(explainers.ParameterError, match=r"valid classes are 0\.\.2"):
        explainers.get_explainer("cam").explain(tiny_model, quadrant_image(), targets=[7])
    assert all_hooks(tiny_model.network) == 0


def test_capture_features_removes_hook_on_exception(tiny_model):
    with pytest.raises(ValueError):
        with tiny_model.capture_features():
            assert all_hooks(tiny_model.network) == 1
            raise ValueError("inside")
    assert all_hooks(tiny_model.network) == 0
