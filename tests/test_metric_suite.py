"""The registered metrics: the interface, batching across triples, hand-computed answers, validation, progress.

Small synthetic models with known answers (``DetailInTopLeft`` from ``test_metrics``: class 0 grows with the
fine detail in the top-left quarter; ``BlockMeanGAP`` from ``conftest``: the logits see only the photo's mean
colour), so each property is checked against arithmetic rather than against another run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import explainers
from explainers import progress
from explainers.metrics import (
    HIGHER,
    LOWER,
    METRICS,
    MapBatch,
    builtin_metrics,
    faithfulness,
    get_metric,
    linear_imputation,
    list_metrics,
    measure_all,
    random_saliency,
    segment_order,
)
from explainers.models.loaded import LoadedModel
import test_metrics
from test_metrics import quarter_map, textured_image

#: The model with a known answer (a fixture of test_metrics).
detail_model = test_metrics.detail_model

BUILTINS = ["deletion", "insertion", "road_morf", "road_lerf", "irof", "average_drop", "increase_confidence"]
#: Cheap parameters for the synthetic tests.
QUICK = {"deletion": {"steps": 8}, "insertion": {"steps": 8}, "road_morf": {"steps": 3}, "road_lerf": {"steps": 3},
         "irof": {"n_segments": 12}}


def quick(name: str, **params) -> explainers.Metric:
    return get_metric(name, **{**QUICK.get(name, {}), **params})


def test_builtins_are_registered_in_order_with_their_declarations():
    assert builtin_metrics() == BUILTINS and list_metrics()[: len(BUILTINS)] == BUILTINS
    directions = {name: METRICS[name].direction for name in BUILTINS}
    assert directions == {"deletion": LOWER, "insertion": HIGHER, "road_morf": LOWER, "road_lerf": HIGHER,
                          "irof": HIGHER, "average_drop": LOWER, "increase_confidence": HIGHER}
    for name in BUILTINS:
        cls = METRICS[name]
        assert cls.title and cls.summary and cls.__doc__ and cls.source == "explainers"
        assert get_metric(name).cost() >= 1
    assert get_metric("deletion", steps=9).cost() == 10 and get_metric("road_morf", steps=4).cost() == 4
    assert METRICS["irof"].uses_superpixels and not METRICS["deletion"].uses_superpixels


def test_parameters_are_validated_and_shared_servers_bounded():
    with pytest.raises(explainers.ParameterError, match="unknown metric 'nope'; known metrics: average_drop"):
        get_metric("nope")
    with pytest.raises(explainers.ParameterError, match="road_morf: unknown parameter 'percent'"):
        get_metric("road_morf", percent=3)
    with pytest.raises(explainers.ParameterError, match=r"`steps` must be in \[1, 99\]"):
        get_metric("road_lerf", steps=0)
    with pytest.raises(explainers.ParameterError, match="on a shared server"):
        METRICS["road_morf"].check_params({"steps": 50}, server=True)
    with pytest.raises(explainers.ParameterError, match="`baseline` must be one of 'mean', 'blur'"):
        get_metric("irof", baseline="black")
    assert get_metric("irof", n_segments=20).params["n_segments"] == 20


@pytest.mark.parametrize("name", BUILTINS)
def test_the_right_map_beats_the_inverted_one_on_a_model_with_a_known_answer(detail_model, name):
    """Class 0 depends only on the detail in the top-left quarter: the map of that quarter must score
    better than its inverse under every metric, in the metric's own direction."""
    image = textured_image()
    metric = quick(name)
    scores = metric.measure(detail_model, [image, image], [quarter_map(), 1 - quarter_map()], [0, 0])
    right, inverted = scores.values
    assert scores.values.shape == (2,) and scores.metric == name and scores.direction == metric.direction
    if name == "increase_confidence":  # 0 or 1: the right map may tie
        assert right >= inverted
    elif metric.higher_is_better:
        assert right > inverted
    else:
        assert right < inverted


@pytest.mark.parametrize("name", BUILTINS)
def test_a_triple_measures_the_same_alone_or_in_a_batch(detail_model, name):
    """Photos shared by several maps, different photos and classes in one call: each value is its own."""
    a, b = textured_image(0), textured_image(1)
    maps = [quarter_map(), random_saliency((64, 64), seed=3), random_saliency((64, 64), seed=4)]
    metric = quick(name, batch_size=5)
    together = metric.measure(detail_model, [a, a, b], maps, [0, 1, 0])
    alone = [metric.measure(detail_model, [im], [m], [c]).values[0] for im, m, c in zip([a, a, b], maps, [0, 1, 0])]
    np.testing.assert_allclose(together.values, alone, atol=1e-6)
    json.dumps(together.to_dict(), allow_nan=False)


def test_faithfulness_and_the_deletion_insertion_metrics_are_one_implementation(detail_model):
    image = textured_image(2)
    saliency = random_saliency((64, 64), seed=1)
    f = faithfulness(detail_model, image, saliency, 0, steps=8, seed=3)
    scores = measure_all([get_metric("deletion", steps=8, seed=3), get_metric("insertion", steps=8, seed=3)],
                         detail_model, [image], [saliency], [0])
    np.testing.assert_allclose(scores["deletion"].curves[0], f.deletion, atol=1e-7)
    np.testing.assert_allclose(scores["insertion"].curves[0], f.insertion, atol=1e-7)
    assert scores["deletion"].values[0] == pytest.approx(f.deletion_auc, abs=1e-7)
    np.testing.assert_array_equal(scores["deletion"].fractions[0], f.fractions)


def test_linear_imputation_by_hand():
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 3))
    removed = np.zeros((3, 3), bool)
    removed[1, 1] = True
    out = linear_imputation(x, removed)
    # the centre has all eight neighbours: 1/6 for the edge ones, 1/12 for the diagonals (they sum to 1)
    edge = x[:, 0, 1] + x[:, 2, 1] + x[:, 1, 0] + x[:, 1, 2]
    diagonal = x[:, 0, 0] + x[:, 0, 2] + x[:, 2, 0] + x[:, 2, 2]
    np.testing.assert_allclose(out[:, 1, 1], edge / 6 + diagonal / 12)
    np.testing.assert_array_equal(out[:, ~removed], x[:, ~removed])
    # a linear ramp is its own weighted neighbour mean, so a hole inside it is filled exactly
    ramp = np.broadcast_to(np.arange(12.0)[None, None, :] * 0.5 + np.arange(10.0)[None, :, None], (3, 10, 12))
    hole = np.zeros((10, 12), bool)
    hole[2:8, 3:9] = True
    np.testing.assert_allclose(linear_imputation(ramp, hole), ramp, atol=1e-9)
    with pytest.raises(ValueError, match="every pixel is removed"):
        linear_imputation(x, np.ones((3, 3), bool))


def test_confidence_metrics_by_hand(tiny_model):
    """BlockMeanGAP's logits are W @ (mean colour): an all-ones map changes nothing, an all-zeros one
    makes the input 0 (mean 0, std 1 here), so the logits are the bias (0) and every class has 1/3."""
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, :16] = (200, 30, 40)
    image[:, 16:] = (90, 60, 70)
    probabilities = tiny_model.forward(image).probabilities
    y = float(probabilities[0])
    ones, zeros = np.ones((32, 32)), np.zeros((32, 32))
    drop = get_metric("average_drop").measure(tiny_model, [image, image], [ones, zeros], [0, 0]).values
    assert drop[0] == pytest.approx(0.0, abs=1e-6)
    assert drop[1] == pytest.approx(max(0.0, y - 1 / 3) / y, abs=1e-6)
    increase = get_metric("increase_confidence").measure(tiny_model, [image, image], [ones, zeros], [0, 2]).values
    # the all-ones map shows the photo itself: O == Y is no increase; class 2 has zero weights, so its logit is 0
    # on the photo, while the other classes' are not, and 1/3 on the black copy
    assert 1 / 3 != pytest.approx(float(probabilities[2]), abs=1e-3)
    np.testing.assert_array_equal(increase, [0.0, float(1 / 3 > float(probabilities[2]))])
    # values outside [0, 1] are clipped: a map of 5s is the all-ones map
    assert get_metric("average_drop").measure(tiny_model, [image], [5 * ones], [0]).values[0] == drop[0]


def test_irof_by_hand_on_a_model_that_sees_only_the_mean_colour(tiny_model):
    """BlockMeanGAP's logits are W @ (mean colour of the input): painting superpixels with the photo's mean
    colour moves the mean colour in a way one can compute, so the whole curve can be."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    segments = np.repeat(np.arange(4), 8)[None, :].repeat(32, axis=0) + 1  # four vertical strips, labels 1..4
    saliency = np.repeat(np.array([0.9, 0.1, 0.5, 0.3]), 8)[None, :].repeat(32, axis=0)  # order: 1, 3, 4, 2
    scores = get_metric("irof").measure(tiny_model, [image], [saliency], [0], segments=[segments])
    x = image.astype(np.float64) / 255.0  # mean 0 and std 1: the input is the photo in [0, 1]
    weight = tiny_model.network.fc.weight.detach().double().numpy()
    mean_colour = x.mean(axis=(0, 1))

    def probability(pixels):
        logits = weight @ pixels.mean(axis=(0, 1))
        return np.exp(logits[0]) / np.exp(logits).sum()

    painted, q = x.copy(), [1.0]
    for strip in (0, 2, 3, 1):
        painted[:, 8 * strip : 8 * strip + 8] = mean_colour
        q.append(probability(painted) / probability(x))
    np.testing.assert_allclose(scores.curves[0], q, atol=1e-5)  # float32 forward passes
    assert list(scores.fractions[0]) == [0, 0.25, 0.5, 0.75, 1]
    assert scores.values[0] == pytest.approx(1 - np.trapezoid(q, dx=0.25), abs=1e-5)


def test_segment_order_ranks_superpixels_by_mean_saliency():
    segments = np.array([[3, 3, 5], [3, 7, 5], [7, 7, 5]])
    saliency = np.array([[1.0, 1.0, 0.2], [1.0, 0.5, 0.4], [0.5, 0.5, 0.0]])
    labels, means = segment_order(segments, saliency)
    assert labels.tolist() == [3, 7, 5]
    np.testing.assert_allclose(means, [1.0, 0.5, 0.2])


def test_road_noise_is_seeded_and_lerf_and_morf_differ(detail_model):
    image = textured_image(3)
    a = get_metric("road_morf", steps=2, seed=1).measure(detail_model, [image], [quarter_map()], [0]).values
    b = get_metric("road_morf", steps=2, seed=1).measure(detail_model, [image], [quarter_map()], [0]).values
    c = get_metric("road_morf", steps=2, seed=2).measure(detail_model, [image], [quarter_map()], [0]).values
    assert a[0] == b[0] and a[0] != c[0]


def test_forward_batches_are_bounded_and_reported_to_progress(detail_model, monkeypatch):
    sizes = []
    original = LoadedModel.forward_batch

    def spy(self, batch):
        sizes.append(batch.shape[0])
        return original(self, batch)

    monkeypatch.setattr(LoadedModel, "forward_batch", spy)
    image = textured_image()
    tracker = progress.Progress()
    with progress.tracking(tracker):
        get_metric("deletion", steps=9, batch_size=4).measure(detail_model, [image] * 3, [quarter_map()] * 3, [0] * 3)
    assert tracker.total == tracker.done == 30 and max(sizes) <= 4
    with progress.tracking(tracker):  # the intact photo's pass counts too: 3 maps of one photo, 3 copies + 1
        get_metric("average_drop").measure(detail_model, [image] * 3, [quarter_map()] * 3, [0, 1, 0])
    assert tracker.total == tracker.done == 34
    cancelled = progress.Progress(on_advance=lambda p: p.cancel("enough"))
    with progress.tracking(cancelled), pytest.raises(explainers.Cancelled, match="enough"):
        get_metric("road_lerf", steps=5, batch_size=1).measure(detail_model, [image], [quarter_map()], [0])
    assert cancelled.done == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"maps": [np.zeros((10, 10))]}, r"maps\[0\] has shape \(10, 10\); it must be its photo's"),
    ({"maps": [np.full((64, 64), np.nan)]}, r"maps\[0\] holds NaN"),
    ({"classes": [2]}, r"`class_index` must be in \[0, 1\]"),
    ({"classes": [0, 1]}, "one photo, one map and one class per triple"),
    ({"segments": [np.zeros((5, 5), int)]}, r"segments\[0\] must be non-negative integer labels"),
    ({"segments": [np.full((64, 64), -1)]}, r"segments\[0\] must be non-negative integer labels"),
])
def test_bad_triples_get_a_message_that_says_what_to_do(detail_model, kwargs, match):
    args = {"images": [textured_image()], "maps": [quarter_map()], "classes": [0], **kwargs}
    with pytest.raises(explainers.ParameterError, match=match):
        get_metric("average_drop").measure(detail_model, args["images"], args["maps"], args["classes"],
                                           segments=args.get("segments"))
    with pytest.raises(explainers.ParameterError, match="no triples"):
        MapBatch(detail_model, [], [], [])
    with pytest.raises(explainers.ParameterError, match="named twice"):
        measure_all([get_metric("irof"), get_metric("irof")], detail_model, [textured_image()], [quarter_map()], [0])


def test_the_batch_shares_photos_and_originals(detail_model):
    image = textured_image()
    batch = MapBatch(detail_model, [image, image, image.copy()], [quarter_map()] * 3, [0, 1, 0])
    assert len(batch.images) == 2 and batch.photo_of.tolist() == [0, 0, 1]
    assert batch.maps.shape == (3, 32, 32)
    originals = batch.originals()
    with torch.inference_mode():
        logits = detail_model.network(detail_model.preprocess(image)[None])
    expected = torch.softmax(logits, 1)[0].double().numpy()
    np.testing.assert_allclose(originals, [expected[0], expected[1], expected[0]], atol=1e-7)
    assert batch.originals() is originals  # computed once
