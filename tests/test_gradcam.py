"""Grad-CAM: weights proportional to CAM's on a GAP head, works where CAM refuses, leaves no hook."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import explainers
from explainers.errors import CamNotExactError
from explainers.methods.gradcam import GradCAM, GradientForwardPass, gradient_forward


def photo(seed: int = 0, size: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_registered():
    assert "gradcam" in explainers.list_explainers()
    assert isinstance(explainers.get_explainer("gradcam"), GradCAM)


@pytest.mark.parametrize("class_index", [0, 1])
def test_weights_are_cam_weights_over_cell_count_on_gap_model(tiny_model, class_index):
    image = photo()
    forward = gradient_forward(tiny_model, image)
    h, w = forward.features.shape[1:]
    weights = GradCAM().channel_weights(tiny_model, forward, class_index)
    cam_weights = tiny_model.classifier_weights()[0][class_index]
    # logit = w . mean_hw(f) + b, so d logit / d f_k(x, y) = w_k / (h w) at every cell
    torch.testing.assert_close(weights, cam_weights / (h * w), rtol=1e-5, atol=1e-7)


def test_map_is_relu_of_cam_map_scaled(tiny_model):
    image = photo(1)
    [cam] = explainers.get_explainer("cam").explain(tiny_model, image, targets=1)
    [grad] = explainers.get_explainer("gradcam").explain(tiny_model, image, targets=1)
    cells = cam.class_map.size
    np.testing.assert_allclose(grad.class_map, np.maximum(cam.class_map, 0) / cells, rtol=1e-5, atol=1e-7)
    assert grad.saliency.shape == image.shape[:2]
    assert grad.method == "gradcam" and grad.probability == pytest.approx(cam.probability)
    if cam.class_map.min() >= 0:  # no ReLU clipping: then the normalised maps agree exactly
        np.testing.assert_allclose(grad.saliency, cam.saliency, atol=1e-5)


def test_non_gap_head_where_cam_refuses(two_layer_model):
    image = photo(2)
    with pytest.raises(CamNotExactError):
        explainers.get_explainer("cam").explain(two_layer_model, image)
    [e] = explainers.get_explainer("gradcam").explain(two_layer_model, image, targets=0)
    assert e.saliency.shape == image.shape[:2]
    assert e.saliency.dtype == np.float32 and 0.0 <= e.saliency.min() and e.saliency.max() <= 1.0
    # hand gradient: logit_0 = fc_0 . relu(hidden(mean f)), so d/d f_k(x, y) = (fc_0 * relu'(z)) @ W_hidden / (h w)
    net = two_layer_model.network
    x = two_layer_model.preprocess(image)[None]
    with torch.no_grad():
        f = net.features(x)
        z = net.hidden(f.mean(dim=(2, 3)))[0]
        expected = (net.fc.weight[0] * (z > 0).float()) @ net.hidden.weight / (f.shape[2] * f.shape[3])
    forward = gradient_forward(two_layer_model, image)
    torch.testing.assert_close(GradCAM().channel_weights(two_layer_model, forward, 0), expected, rtol=1e-5, atol=1e-7)


def test_cached_inference_forward_is_replaced_by_a_gradient_pass(tiny_model):
    image = photo(3)
    cached = tiny_model.forward(image)  # inference mode: no graph
    [a] = explainers.get_explainer("gradcam").explain(tiny_model, image, targets=0, forward=cached)
    [b] = explainers.get_explainer("gradcam").explain(tiny_model, image, targets=0)
    np.testing.assert_allclose(a.saliency, b.saliency)
    assert isinstance(GradCAM().forward_pass(tiny_model, image, cached), GradientForwardPass)


def test_several_targets_from_one_pass(tiny_model):
    image = photo(4)
    es = explainers.get_explainer("gradcam").explain(tiny_model, image, targets=[0, 1])
    assert [e.class_index for e in es] == [0, 1]
    assert not np.allclose(es[0].class_map, es[1].class_map)


def test_no_hook_and_no_lock_left_after_an_exception(tiny_model, monkeypatch):
    def broken(_x):
        raise RuntimeError("head failed")

    monkeypatch.setattr(tiny_model.network.fc, "forward", broken)
    with pytest.raises(RuntimeError, match="head failed"):
        explainers.get_explainer("gradcam").explain(tiny_model, photo(5))
    assert sum(len(m._forward_hooks) + len(m._backward_hooks) for m in tiny_model.network.modules()) == 0
    got = []
    thread = threading.Thread(target=lambda: got.append(tiny_model.lock.acquire(blocking=False)))
    thread.start()
    thread.join()
    assert got == [True]


def test_works_under_caller_inference_mode(tiny_model):
    with torch.inference_mode():
        [e] = explainers.get_explainer("gradcam").explain(tiny_model, photo(6), targets=0)
    assert np.isfinite(e.saliency).all()


def test_rejects_parameters():
    with pytest.raises(explainers.ParameterError, match="unknown parameter"):
        explainers.get_explainer("gradcam", threshold=0.5)
