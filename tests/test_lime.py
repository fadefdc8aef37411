"""LIME: finds the region a synthetic model's logit depends on; the surrogate maths by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import explainers
from explainers.methods.lime import LIME, kernel_weights, weighted_ridge


class RedInTopLeft(nn.Module):
    """Class 0's logit grows with the mean red of the input's top-left quarter; class 1's is 0.

    The rest of the picture cannot change the output, so every superpixel outside
    that quarter should get a LIME weight of about zero.
    """

    def __init__(self):
        super().__init__()
        self.features = nn.AvgPool2d(4)  # 32x32 input -> 8x8 map
        self.fc = nn.Linear(1, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[8.0], [0.0]]))
            self.fc.bias.copy_(torch.tensor([-4.0, 0.0]))

    def forward(self, x):
        red = self.features(x)[:, 0, :4, :4].mean(dim=(1, 2))
        return self.fc(red[:, None])


@pytest.fixture
def red_model():
    return explainers.from_network(RedInTopLeft(), name="red_top_left", input_size=32, labels=["red", "other"],
                                   feature_layer="features", classifier="fc", device="cpu")


def blocks_image(seed: int = 0, size: int = 64, block: int = 8) -> np.ndarray:
    """Flat blocks of random colours; the top-left quarter's blocks are strongly red."""
    rng = np.random.default_rng(seed)
    n = size // block
    colours = rng.integers(0, 256, (n, n, 3)).astype(np.uint8)
    colours[..., 0] = rng.integers(0, 60, (n, n))  # little red outside ...
    colours[: n // 2, : n // 2, 0] = 255  # ... and full red in the top-left quarter
    return np.kron(colours, np.ones((block, block, 1), dtype=np.uint8))


def test_registered_with_defaults():
    lime = explainers.get_explainer("lime")
    assert isinstance(lime, LIME)
    assert lime.params["num_samples"] == 1000 and lime.params["kernel_width"] == 0.25


def test_finds_the_region_the_logit_depends_on(red_model):
    image = blocks_image()
    [e] = explainers.get_explainer("lime", num_samples=300, n_segments=64).explain(red_model, image, targets=0)
    quarter = np.zeros(image.shape[:2], bool)
    quarter[:32, :32] = True
    assert e.saliency.shape == image.shape[:2] and 0 <= e.saliency.min() and e.saliency.max() == pytest.approx(1.0)
    # share of each superpixel inside the quarter
    inside = np.array([quarter[e.segments == i].mean() for i in e.segment_ids])
    best = e.segment_ids[np.argmax(e.segment_scores)]
    assert quarter[e.segments == best].mean() > 0.9
    assert e.segment_scores[inside > 0.9].min() > 5 * np.abs(e.segment_scores[inside < 0.1]).max()
    assert e.saliency[quarter].mean() > e.saliency[~quarter].mean() + 0.3
    assert e.mask is not None and quarter[e.mask].mean() > 0.9
    assert set(e.timings) >= {"forward", "slic", "perturb", "lime"}
    assert e.class_map.shape == image.shape[:2]  # LIME's raw map lives at image resolution


def test_seeded_and_batch_size_free(red_model):
    image = blocks_image(1)
    a = explainers.get_explainer("lime", num_samples=50, seed=3, batch_size=7).explain(red_model, image)[0]
    b = explainers.get_explainer("lime", num_samples=50, seed=3, batch_size=64).explain(red_model, image)[0]
    c = explainers.get_explainer("lime", num_samples=50, seed=4).explain(red_model, image)[0]
    np.testing.assert_allclose(a.segment_scores, b.segment_scores, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.segment_scores, c.segment_scores)


def test_uses_secams_segments(red_model):
    image = blocks_image(2)
    [lime] = explainers.get_explainer("lime", num_samples=20).explain(red_model, image)
    np.testing.assert_array_equal(lime.segments, explainers.slic_segments(image, 50, 10.0))


def test_serves_a_head_cam_refuses(red_model):
    assert not red_model.cam_exact
    with pytest.raises(explainers.CamNotExactError):
        explainers.get_explainer("secam").explain(red_model, blocks_image())


def test_weighted_ridge_by_hand():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (40, 5)).astype(float)
    y = X @ np.array([1.0, -2.0, 0.0, 0.5, 3.0]) + 0.7 + 0.01 * rng.standard_normal(40)
    w = rng.random(40)
    coef, intercept = weighted_ridge(X, y, w, alpha=1.0)
    # same problem as an ordinary least-squares system: rows sqrt(w) [X 1] and sqrt(alpha) [I 0]
    top = np.sqrt(w)[:, None] * np.hstack([X, np.ones((40, 1))])
    bottom = np.hstack([np.eye(5), np.zeros((5, 1))])
    solution = np.linalg.lstsq(np.vstack([top, bottom]), np.concatenate([np.sqrt(w) * y, np.zeros(5)]), rcond=None)[0]
    np.testing.assert_allclose(coef, solution[:5], rtol=1e-8, atol=1e-10)
    assert intercept == pytest.approx(solution[5])


def test_kernel_weights():
    samples = np.array([[1, 1, 1, 1], [1, 0, 0, 0], [0, 0, 0, 0]], np.uint8)
    w = kernel_weights(samples, 0.25)
    assert w[0] == pytest.approx(1.0)  # the unperturbed photo
    assert w[1] == pytest.approx(np.sqrt(np.exp(-(0.5 ** 2) / 0.25 ** 2)))  # cosine distance 1 - sqrt(1/4)
    assert w[2] == pytest.approx(np.sqrt(np.exp(-1 / 0.25 ** 2)))


@pytest.mark.parametrize("params, match", [
    ({"num_samples": 5}, r"`num_samples` must be (in )?\[10, 100000\]"),
    ({"kernel_width": 0}, r"`kernel_width` must be > 0"),
    ({"threshold": 1.5}, r"`threshold` must be in \[0.0, 1.0\]"),
    ({"batch_size": 0}, r"`batch_size` must be (in )?\[1, 4096\]"),
])
def test_parameters_are_validated(params, match):
    with pytest.raises(explainers.ParameterError, match=match):
        explainers.get_explainer("lime", **params)


def test_lime_uses_secams_superpixels_on_a_large_photo(tiny_model):
    """Above SeCAM's working size both run SLIC on the same reduced copy: identical labels."""
    from conftest import quadrant_image

    image = np.kron(quadrant_image(64, 64), np.ones((12, 11, 1), np.uint8))  # 768 x 704, larger than 640
    [s] = explainers.get_explainer("secam", n_segments=8).explain(tiny_model, image, targets=[0])
    [lime] = explainers.get_explainer("lime", n_segments=8, num_samples=20).explain(tiny_model, image, targets=[0])
    np.testing.assert_array_equal(lime.segments, s.segments)
