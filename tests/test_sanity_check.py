"""The model-parameter randomisation check: the cascade, the similarity, the rule, and the real verdicts.

The end-to-end test runs the default model on three skimage photos: CAM, SeCAM and Grad-CAM must pass
and an edge detector registered as a method (a Sobel magnitude of the photo, which ignores the model)
must fail.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from skimage import data
from torch import nn

import explainers
from explainers import Explainer, progress
from explainers.metrics import layer_groups, map_similarity, randomisation_check, randomised_cascade


class Edges(Explainer):
    """A "method" whose map is the photo's Sobel gradient magnitude: the same whatever the model."""

    name = "sobeledges"
    title = "Sobel edges"
    requires_exact_cam = False

    def class_map(self, model, forward, class_index):
        return torch.zeros(1, 1)

    def build(self, model, image, class_map, context, timings, t0):
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        magnitude = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        return {"saliency": magnitude / magnitude.max()}


@pytest.fixture
def edges_method():
    explainers.register_explainer(Edges)
    try:
        yield Edges.name
    finally:
        explainers.EXPLAINERS.pop(Edges.name)


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        return self.head(self.block(self.stem(x)).mean(dim=(2, 3)))


def test_layer_groups_go_top_down_one_block_at_a_time():
    assert layer_groups(Small()) == [("head", ("head",)), ("block", ("block.1", "block.0")), ("stem", ("stem",))]


def test_the_cascade_randomises_a_copy_deterministically():
    torch.manual_seed(0)
    network = Small()
    before = {k: v.clone() for k, v in network.state_dict().items()}
    rng_state = torch.get_rng_state()
    first = [(name, {k: v.clone() for k, v in net.state_dict().items()}) for name, net in randomised_cascade(network, 5)]
    again = [{k: v.clone() for k, v in net.state_dict().items()} for _, net in randomised_cascade(network, 5)]
    other = [{k: v.clone() for k, v in net.state_dict().items()} for _, net in randomised_cascade(network, 6)]
    assert [name for name, _ in first] == ["head", "block", "stem"]
    for k, v in network.state_dict().items():  # the network itself is untouched, and so is torch's generator
        torch.testing.assert_close(v, before[k])
    assert torch.equal(rng_state, torch.get_rng_state())
    head_done, all_done = first[0][1], first[-1][1]
    assert not torch.equal(head_done["head.weight"], before["head.weight"])
    torch.testing.assert_close(head_done["stem.weight"], before["stem.weight"])  # below the step: still trained
    assert not torch.equal(all_done["stem.weight"], before["stem.weight"])
    torch.testing.assert_close(all_done["block.1.running_var"], torch.ones(4))  # batch norm: reset, not drawn
    for (_, a), b in zip(first, again):
        for k in a:
            torch.testing.assert_close(a[k], b[k])
    assert not torch.equal(other[-1]["stem.weight"], all_done["stem.weight"])
    assert [name for name, _ in randomised_cascade(network, 5, steps=2)] == ["head", "block"]


def test_map_similarity_by_hand():
    rng = np.random.default_rng(0)
    a = rng.random((16, 16))
    assert map_similarity(a, a) == pytest.approx((1.0, 1.0))
    spearman, ssim = map_similarity(a, 1 - a)
    assert spearman == pytest.approx(-1.0) and ssim < 0
    assert map_similarity(a, a ** 3)[0] == pytest.approx(1.0)  # ranks only
    assert map_similarity(a, np.zeros((16, 16)))[0] == 0.0  # a constant map keeps no ranking
    assert map_similarity(np.ones((16, 16)), np.ones((16, 16))) == (0.0, 1.0)
    with pytest.raises(ValueError, match="shapes"):
        map_similarity(a, a[:8])


def test_the_rule_and_the_record(tiny_model, edges_method):
    image = np.zeros((32, 32, 3), np.uint8)
    image[:16, :16] = (220, 20, 20)
    image[16:, 16:] = (20, 20, 220)
    tracker = progress.Progress()
    with progress.tracking(tracker):
        checks = randomisation_check(tiny_model, ["cam", edges_method], [image, image[::-1].copy()], [0, 1], seed=3)
    # BlockMeanGAP has one re-initialisable layer (fc): one step; 2 methods x 2 photos x (1 + 1 step) maps
    assert tracker.total == tracker.done == 8
    edges = checks[edges_method]
    assert edges.layers == ("fc",) and edges.spearman.shape == (2, 1)
    np.testing.assert_allclose(edges.spearman, 1.0)
    assert not edges.passed and edges.passed_photos == 0
    for check in checks.values():
        np.testing.assert_allclose(check.scores, check.spearman.mean(axis=1))
        assert check.passed == (2 * int((check.scores < 0.5).sum()) > 2)
        record = json.loads(json.dumps(check.to_dict(), allow_nan=False))
        assert record["rule"].startswith("passes when") and record["classes"] == [0, 1]
    again = randomisation_check(tiny_model, "cam", [image, image[::-1].copy()], [0, 1], seed=3)["cam"]
    np.testing.assert_array_equal(again.spearman, checks["cam"].spearman)


def test_bad_arguments_say_what_to_do(tiny_model):
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(explainers.ParameterError, match=r"`threshold` must be in \[-1.0, 1.0\]"):
        randomisation_check(tiny_model, "cam", [image], threshold=2.0)
    with pytest.raises(explainers.ParameterError, match="one class per photo"):
        randomisation_check(tiny_model, "cam", [image], [0, 1])
    with pytest.raises(explainers.ParameterError, match="no photos"):
        randomisation_check(tiny_model, "cam", [])
    with pytest.raises(explainers.ParameterError, match="unknown explainer"):
        randomisation_check(tiny_model, "nope", [image])


@pytest.mark.slow
def test_cam_secam_and_gradcam_pass_and_an_edge_detector_fails(default_model, edges_method):
    photos = [data.chelsea(), data.coffee(), data.astronaut()]
    before = {k: v.clone() for k, v in default_model.network.state_dict().items()}
    checks = randomisation_check(default_model, ["cam", "secam", "gradcam", edges_method], photos)
    verdicts = {name: (check.passed, check.passed_photos) for name, check in checks.items()}
    assert verdicts == {"cam": (True, 3), "secam": (True, 3), "gradcam": (True, 3), edges_method: (False, 0)}, {
        name: check.scores for name, check in checks.items()
    }
    assert len(checks["cam"].layers) == len(layer_groups(default_model.network)) == 21
    assert checks["cam"].layers[0] == "classifier" and checks["cam"].layers[-1] == "conv_stem"
    np.testing.assert_allclose(checks[edges_method].ssim, 1.0)
    assert (checks["cam"].ssim.mean(axis=1) < 0.6).all()
    for k, v in default_model.network.state_dict().items():  # the shared model is untouched
        torch.testing.assert_close(v, before[k])
