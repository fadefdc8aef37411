"""Every explainer parameter, ``targets`` and ``topk`` are validated, and the message states the valid range."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import explainers
from explainers import ParameterError, get_explainer, list_explainers, with_threshold

K = 3  # classes of the tiny model
FAST = {"lime": {"num_samples": 10, "n_segments": 8}, "secam": {"n_segments": 8}}


class TinyGAP(nn.Module):
    """conv -> ReLU -> global average pooling -> linear, 3 classes."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()  # a module, so it is the detected feature layer
        self.fc = nn.Linear(4, K)

    def forward(self, x):
        return self.fc(self.relu(self.conv(x)).mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def model():
    return explainers.from_network(TinyGAP(), name="tiny_gap", input_size=32, device="cpu")


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)


# (method, parameter, value, error, message): out of range is ParameterError, wrong type TypeError.
CASES = [
    ("secam", "n_segments", 1, ParameterError, "`n_segments` must be >= 2, got 1"),
    ("secam", "n_segments", -5, ParameterError, "`n_segments` must be >= 2, got -5"),
    ("secam", "n_segments", 2.5, TypeError, "`n_segments` must be an int >= 2, got float 2.5"),
    ("secam", "n_segments", "50", TypeError, "`n_segments` must be an int >= 2, got str '50'"),
    ("secam", "n_segments", True, TypeError, "`n_segments` must be an int >= 2, got bool True"),
    ("secam", "compactness", 0, ParameterError, "`compactness` must be > 0.0, got 0"),
    ("secam", "compactness", -1.0, ParameterError, "`compactness` must be > 0.0, got -1.0"),
    ("secam", "compactness", math.nan, ParameterError, "`compactness` must be > 0.0, got nan"),
    ("secam", "compactness", math.inf, ParameterError, "`compactness` must be > 0.0, got inf"),
    ("secam", "compactness", "10", TypeError, "`compactness` must be a number > 0.0, got str '10'"),
    ("secam", "threshold", -0.1, ParameterError, "`threshold` must be in [0.0, 1.0], got -0.1"),
    ("secam", "threshold", 1.5, ParameterError, "`threshold` must be in [0.0, 1.0], got 1.5"),
    ("secam", "threshold", math.nan, ParameterError, "`threshold` must be in [0.0, 1.0], got nan"),
    ("secam", "threshold", None, TypeError, "`threshold` must be a number in [0.0, 1.0], got NoneType None"),
    ("secam", "slic_max_side", -1, ParameterError, "`slic_max_side` must be 0 (full resolution) or >= 64, got -1"),
    ("lime", "num_samples", 5, ParameterError, "`num_samples` must be in [10, 100000], got 5"),
    ("lime", "n_segments", 1, ParameterError, "`n_segments` must be >= 2, got 1"),
    ("lime", "threshold", 2, ParameterError, "`threshold` must be in [0.0, 1.0], got 2"),
    ("lime", "kernel_width", 0.0, ParameterError, "`kernel_width` must be > 0.0, got 0.0"),
    ("lime", "seed", -1, ParameterError, "`seed` must be in [0, 4294967295], got -1"),
    ("lime", "seed", 2**80, ParameterError, "`seed` must be in [0, 4294967295], got 1208925819614629174706176"),
    ("lime", "batch_size", 0, ParameterError, "`batch_size` must be in [1, 4096], got 0"),
]


@pytest.mark.parametrize("method, key, value, error, message", CASES, ids=lambda v: repr(v)[:20])
def test_out_of_range_or_wrong_type_states_the_range(method, key, value, error, message):
    if method not in list_explainers():
        pytest.skip(f"{method} is not registered")
    with pytest.raises(error) as info:
        get_explainer(method, **{key: value})
    assert str(info.value) == message
    if error is ParameterError:
        assert isinstance(info.value, explainers.ExplainersError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("method", list_explainers())
def test_every_parameter_of_every_explainer_refuses_a_wrong_type(method):
    for key in explainers.EXPLAINERS[method].defaults:
        for value in ("oops", [1]):
            with pytest.raises(TypeError, match=rf"^`{key}` must be (an int|a number) .*(>|in \[|in \()"):
                get_explainer(method, **{key: value})


@pytest.mark.parametrize("method", list_explainers())
def test_unknown_parameter_lists_the_known_ones(method):
    with pytest.raises(ParameterError, match=rf"{method}: unknown parameter 'n_segmets'; parameters: "):
        get_explainer(method, n_segmets=10)


def test_unknown_explainer_lists_the_known_ones():
    with pytest.raises(ParameterError, match="unknown explainer 'scam'; known explainers: cam, .*secam"):
        get_explainer("scam")


def test_boundaries_are_accepted_and_numpy_numbers_coerced():
    e = get_explainer("secam", n_segments=np.int64(2), compactness=np.float32(1e-3), threshold=0)
    assert e.params["n_segments"] == 2 and type(e.params["n_segments"]) is int
    assert type(e.params["compactness"]) is float and e.params["compactness"] > 0
    assert get_explainer("secam", threshold=1).params["threshold"] == 1.0


@pytest.mark.parametrize("method", list_explainers())
@pytest.mark.parametrize("targets, topk, error, message", [
    (None, 0, ParameterError, f"`topk` must be in [1, {K}], got 0"),
    (None, K + 1, ParameterError, f"`topk` must be in [1, {K}], got {K + 1}"),
    (None, 1.5, TypeError, f"`topk` must be an int in [1, {K}], got float 1.5"),
    (None, "2", TypeError, f"`topk` must be an int in [1, {K}], got str '2'"),
    (-1, 1, ParameterError, f"target class -1 is out of range; valid classes are 0..{K - 1}"),
    ([0, K], 1, ParameterError, f"target class {K} is out of range; valid classes are 0..{K - 1}"),
    ([], 1, ParameterError, "`targets` is empty"),
    (1.0, 1, TypeError, f"`targets` must be a class index or a sequence of class indices in [0, {K - 1}], got float 1.0"),
    ("1", 1, TypeError, f"`targets` must be a class index or a sequence of class indices in [0, {K - 1}], got str '1'"),
    ([1.5], 1, TypeError, f"`targets` must hold class indices (int) in [0, {K - 1}], got 1.5"),
    ([True], 1, TypeError, f"`targets` must hold class indices (int) in [0, {K - 1}], got True"),
], ids=lambda v: repr(v)[:16])
def test_targets_and_topk(model, image, method, targets, topk, error, message):
    explainer = get_explainer(method, **FAST.get(method, {}))
    with pytest.raises(error) as info:
        explainer.explain(model, image, targets=targets, topk=topk)
    assert str(info.value).startswith(message)
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.network.modules())


@pytest.mark.parametrize("method", ["cam", "secam"])
def test_valid_targets_in_every_form(model, image, method):
    explainer = get_explainer(method, **FAST.get(method, {}))
    by_list = explainer.explain(model, image, targets=[2, 0])
    assert [e.class_index for e in by_list] == [2, 0]
    assert [e.class_index for e in explainer.explain(model, image, targets=np.array([2, 0]))] == [2, 0]
    assert [e.class_index for e in explainer.explain(model, image, targets=np.int64(1))] == [1]
    assert len(explainer.explain(model, image, topk=K)) == K


def test_with_threshold_is_validated(model, image):
    [e] = get_explainer("secam", n_segments=8).explain(model, image)
    with pytest.raises(ParameterError, match=r"`threshold` must be in \[0.0, 1.0\], got 1.01"):
        with_threshold(e, 1.01)
    with pytest.raises(TypeError, match="`threshold` must be a number in"):
        with_threshold(e, "0.5")
    [cam] = get_explainer("cam").explain(model, image)
    with pytest.raises(ValueError, match="needs a SeCAM explanation"):
        with_threshold(cam, 0.5)


def test_forward_of_another_image_is_refused(model, image):
    forward = model.forward(image[:40])
    with pytest.raises(ParameterError, match="`forward` was computed on an image of another size"):
        get_explainer("cam").explain(model, image, forward=forward)


# -- a shared server's maximums (issue: unbounded work from a link) ------------------------------------
def test_server_maximums_hold_on_the_server_and_only_there():
    lime = explainers.EXPLAINERS["lime"]
    assert lime.check_params({"num_samples": 50_000, "batch_size": 1024})["num_samples"] == 50_000  # the library
    for params, message in [
        ({"num_samples": 2001}, "`num_samples` must be in [10, 2000] on a shared server (the library allows up to "
                                "100000), got 2001"),
        ({"batch_size": 256}, "`batch_size` must be in [1, 64] on a shared server"),
        ({"n_segments": 5000}, "`n_segments` must be in [2, 300] on a shared server"),
    ]:
        with pytest.raises(ParameterError) as info:
            lime.check_params(params, server=True)
        assert str(info.value).startswith(message)
    assert lime.check_params({"num_samples": 2000, "batch_size": 64}, server=True)["num_samples"] == 2000


def test_the_server_maximum_reaches_conditions_evaluations_and_the_range_text():
    from explainers.evaluate import make_explainers
    from explainers.metrics.faithfulness import FAITHFULNESS_PARAMETERS

    with pytest.raises(ParameterError, match="on a shared server"):
        explainers.Condition.make("efficientnet_lite0", "lime", extra={"num_samples": 100_000}, server=True)
    assert explainers.Condition.make("efficientnet_lite0", "lime", extra={"num_samples": 100_000}).param(
        "num_samples") == 100_000
    spec = explainers.load_registry().get("efficientnet_lite0")
    with pytest.raises(ParameterError, match="on a shared server"):
        make_explainers(["lime"], spec, {"lime": {"batch_size": 4096}}, server=True)
    assert make_explainers(["lime"], spec, {"lime": {"batch_size": 4096}})["lime"].params["batch_size"] == 4096
    num = lime_param = explainers.EXPLAINERS["lime"].parameters[0]
    assert lime_param.name == "num_samples" and num.range_text(server=True) == "in [10, 2000] on a shared server"
    steps = FAITHFULNESS_PARAMETERS[0]
    assert steps.limit(server=True) == 100 and steps.limit() == 1000
    assert explainers.Param("x", int, 1, low=0).limit(server=True) is None  # nothing declared: no maximum


def test_forward_passes_are_split_so_memory_is_bounded(model, monkeypatch):
    from explainers.models import loaded

    seen = []
    original = model.network.forward
    monkeypatch.setattr(model.network, "forward", lambda x: (seen.append(x.shape[0]), original(x))[1])
    batch = torch.randn(70, 3, 32, 32)
    logits, features = model.forward_batch(batch)
    limit = loaded.MAX_FORWARD_IMAGES[0]
    assert max(seen) == limit and sum(seen) == 70 and logits.shape == (70, K) and features.shape[0] == 70
    seen.clear()
    whole = torch.cat([model.forward_batch(batch[i : i + 10])[0] for i in range(0, 70, 10)])
    torch.testing.assert_close(logits, whole)
