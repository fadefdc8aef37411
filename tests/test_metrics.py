"""Deletion/insertion: a perfect map beats a random one on a model with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import explainers
from explainers.metrics import auc, faithfulness, kept_fraction, pixel_order, random_saliency


class DetailInTopLeft(nn.Module):
    """Class 0's logit grows with the fine detail (squared Laplacian) in the top-left quarter of the input.

    Deleting a pixel means replacing it by a blurred copy, which removes detail,
    so the probability falls exactly as fast as the map finds that quarter.
    """

    def __init__(self, scale: float):
        super().__init__()
        lap = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])
        self.features = nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False)
        with torch.no_grad():
            self.features.weight.copy_(lap.expand(3, 1, 3, 3))
        self.fc = nn.Linear(1, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[scale], [0.0]]))
            self.fc.bias.copy_(torch.tensor([-3.0, 0.0]))

    def forward(self, x):
        detail = self.features(x).pow(2).mean(dim=1)[:, :16, :16].mean(dim=(1, 2))
        return self.fc(detail[:, None])


def textured_image(seed: int = 0, size: int = 64) -> np.ndarray:
    """Noise in the top-left quarter, flat grey elsewhere."""
    image = np.full((size, size, 3), 128, np.uint8)
    image[: size // 2, : size // 2] = np.random.default_rng(seed).integers(0, 256, (size // 2, size // 2, 3))
    return image


@pytest.fixture
def detail_model():
    model = explainers.from_network(DetailInTopLeft(1.0), name="detail", input_size=32, labels=["detail", "none"],
                                    feature_layer="features", classifier="fc", device="cpu")
    with torch.no_grad():
        intact = float(model.network(model.preprocess(textured_image())[None])[0, 0]) + 3.0
        # logit 0 = 6 * detail / intact - 3: +3 on the intact photo, -3 once the detail is gone
        model.network.fc.weight[0, 0] = 6.0 / intact
    return model


def quarter_map(size: int = 64) -> np.ndarray:
    saliency = np.zeros((size, size), np.float32)
    saliency[: size // 2, : size // 2] = 1.0
    return saliency


def test_perfect_map_deletes_faster_and_inserts_faster_than_random(detail_model):
    image = textured_image()
    perfect = faithfulness(detail_model, image, quarter_map(), 0)
    randoms = [faithfulness(detail_model, image, random_saliency(image.shape[:2], seed=s), 0) for s in range(3)]
    assert perfect.deletion[0] > 0.9  # the intact photo is confidently class 0
    assert perfect.deletion_auc < min(r.deletion_auc for r in randoms) - 0.2
    assert perfect.insertion_auc > max(r.insertion_auc for r in randoms) + 0.1
    # the inverted map is the worst one can do
    worst = faithfulness(detail_model, image, 1 - quarter_map(), 0)
    assert worst.deletion_auc > max(r.deletion_auc for r in randoms)


def test_curve_shape_and_endpoints(detail_model):
    image = textured_image(1)
    f = faithfulness(detail_model, image, quarter_map(), 0, steps=8, batch_size=5)
    assert f.fractions.shape == f.deletion.shape == f.insertion.shape == (9,)
    assert f.fractions[0] == 0 and f.fractions[-1] == 1
    # deletion starts from the photo and ends at the blurred copy; insertion the other way round
    assert f.deletion[0] == pytest.approx(f.insertion[-1], abs=1e-6)
    assert f.deletion[-1] == pytest.approx(f.insertion[0], abs=1e-6)
    assert f.deletion_auc == pytest.approx(auc(f.fractions, f.deletion))
    assert f.kept_fraction is None and f.timings["curves"] > 0
    assert faithfulness(detail_model, image, quarter_map(), 0, steps=8, batch_size=64).deletion == pytest.approx(f.deletion)


def test_auc_and_kept_fraction_by_hand():
    x = np.linspace(0, 1, 5)
    assert auc(x, x) == pytest.approx(0.5)
    assert auc(x, np.full(5, 0.3)) == pytest.approx(0.3)
    mask = np.zeros((4, 4), bool)
    mask[:2, :1] = True
    assert kept_fraction(mask) == pytest.approx(2 / 16)
    assert kept_fraction(None) is None


def test_pixel_order_most_salient_first_ties_shuffled():
    saliency = np.zeros((8, 8), np.float32)
    saliency[0, 0] = 1.0
    order = pixel_order(saliency, 8)
    assert order[0] == 0
    tied = pixel_order(np.zeros((8, 8), np.float32), 8)
    assert sorted(tied) == list(range(64)) and list(tied) != list(range(64))


def test_random_saliency_is_seeded_and_in_range():
    a = random_saliency((40, 30), seed=1)
    assert a.shape == (40, 30) and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, random_saliency((40, 30), seed=1))


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, r"`steps` must be (in )?\[1, 1000\]"),
    ({"blur_sigma": 0.0}, r"`blur_sigma` must be > 0"),
    ({"class_index": 2}, r"`class_index` must be (in )?\[0, 1\]"),
])
def test_parameters_are_validated(detail_model, kwargs, match):
    args = {"class_index": 0, **kwargs}
    with pytest.raises(explainers.ParameterError, match=match):
        faithfulness(detail_model, textured_image(), quarter_map(), **args)


def test_saliency_must_match_the_image(detail_model):
    with pytest.raises(explainers.ParameterError, match="image's"):
        faithfulness(detail_model, textured_image(), np.zeros((10, 10)), 0)
