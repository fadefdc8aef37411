"""CAM against hand-computed answers on a tiny synthetic GAP model."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import explainers
from explainers.errors import CamNotExactError
from conftest import TINY_WEIGHT, quadrant_image


def hand_cam(image: np.ndarray, class_index: int) -> np.ndarray:
    """M_c = sum_k w_k^c f_k with f_k = 8x8 block means of the image / 255 (32x32 input)."""
    x = image.astype(np.float64) / 255.0
    f = x.reshape(4, 8, 4, 8, 3).mean(axis=(1, 3))  # (4, 4, 3)
    return f @ TINY_WEIGHT[class_index].double().numpy()


def test_class_map_equals_hand_computed_cam(tiny_model):
    image = quadrant_image(32, 32)
    [e] = explainers.get_explainer("cam").explain(tiny_model, image, targets=[0])
    np.testing.assert_allclose(e.class_map, hand_cam(image, 0), atol=1e-6)
    # red quadrant (top-left 2x2 block of the 4x4 grid) is where class "red" looks
    assert e.class_map[:2, :2].min() > e.class_map[2:, :].max()


def test_saliency_is_minmax_then_bilinear_half_pixel_at_image_resolution(tiny_model):
    image = np.kron(quadrant_image(32, 32), np.ones((3, 2, 1), np.uint8))  # 96 x 64, not square
    [e] = explainers.get_explainer("cam").explain(tiny_model, image, targets=[1])
    m = e.class_map.astype(np.float64)  # checked against the hand computation above
    m = (m - m.min()) / (m.max() - m.min())
    ref = F.interpolate(torch.tensor(m)[None, None], size=(96, 64), mode="bilinear", align_corners=False)[0, 0]
    assert e.saliency.shape == (96, 64) and e.saliency.dtype == np.float32
    np.testing.assert_allclose(e.saliency, ref.numpy(), atol=1e-5)
    assert e.saliency.min() >= 0 and e.saliency.max() <= 1


def test_class_score_is_mean_of_cam_plus_bias(tiny_model):
    """What makes CAM exact: S_c = mean_xy M_c(x, y) + b_c."""
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    fp = tiny_model.forward(image)
    for c in range(2):
        [e] = explainers.get_explainer("cam").explain(tiny_model, image, targets=[c], forward=fp)
        assert e.logit == pytest.approx(float(e.class_map.mean()), abs=1e-5)


def test_topk_rank_order_and_probabilities(tiny_model):
    image = quadrant_image(64, 64)
    out = explainers.get_explainer("cam").explain(tiny_model, image, topk=3)
    probs = [e.probability for e in out]
    assert probs == sorted(probs, reverse=True) and [e.rank for e in out] == [0, 1, 2]
    assert pytest.approx(sum(probs), abs=1e-5) == 1.0
    assert {e.label for e in out} == {"red", "blue", "flat"}


def test_explicit_targets_any_class_in_given_order(tiny_model):
    out = explainers.get_explainer("cam").explain(tiny_model, quadrant_image(), targets=[2, 0])
    assert [e.class_index for e in out] == [2, 0]


def test_flat_cam_gives_zero_map_not_division_error(tiny_model):
    [e] = explainers.get_explainer("cam").explain(tiny_model, quadrant_image(), targets=[2])
    assert np.all(e.saliency == 0) and np.isfinite(e.saliency).all()


def test_one_forward_pass_serves_all_targets(tiny_model, monkeypatch):
    calls = []
    original = type(tiny_model).forward_batch

    def counting(self, batch):
        calls.append(batch.shape[0])
        return original(self, batch)

    monkeypatch.setattr(type(tiny_model), "forward_batch", counting)
    explainers.get_explainer("cam").explain(tiny_model, quadrant_image(), topk=3)
    assert calls == [1]


def test_cam_refuses_a_model_whose_head_is_not_gap_linear(two_layer_model):
    assert not two_layer_model.cam_exact
    for method in ("cam", "secam"):
        with pytest.raises(CamNotExactError, match="CAM not exact"):
            explainers.get_explainer(method).explain(two_layer_model, quadrant_image())


def test_image_is_not_modified(tiny_model):
    image = quadrant_image()
    before = image.copy()
    explainers.get_explainer("secam", n_segments=4).explain(tiny_model, image)
    np.testing.assert_array_equal(image, before)
