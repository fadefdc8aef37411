"""Batched explanations equal per-image ones; bf16 / channels_last stay close to fp32."""

import numpy as np
import pytest
import torch

import explainers
from explainers.batched import explain_batch, iter_explain_batch
from explainers.methods.cam import cam_maps
from conftest import all_hooks, quadrant_image
from photos import skimage_photos as photos  # photos of different sizes that ship with scikit-image


def assert_same(batched, single, atol=1e-5):
    assert [e.class_index for e in batched] == [e.class_index for e in single]
    for a, b in zip(batched, single):
        assert a.method == b.method and a.rank == b.rank and a.label == b.label
        assert a.saliency.shape == b.saliency.shape and a.saliency.dtype == np.float32
        np.testing.assert_allclose(a.saliency, b.saliency, atol=atol)
        np.testing.assert_allclose(a.class_map, b.class_map, rtol=1e-4, atol=1e-4)
        assert a.probability == pytest.approx(b.probability, abs=1e-5)


def test_cam_maps_by_hand():
    weights = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    features = torch.arange(16, dtype=torch.float32).reshape(2, 2, 2, 2)
    raw, norm = cam_maps(weights, features, torch.tensor([[0, 1], [2, 2]]))
    np.testing.assert_allclose(raw[0, 0], features[0, 0])
    np.testing.assert_allclose(raw[0, 1], 2 * features[0, 1])
    np.testing.assert_allclose(raw[1, 0], features[1, 0] + features[1, 1])
    np.testing.assert_allclose(norm[0, 0], [[0, 1 / 3], [2 / 3, 1]], atol=1e-6)
    flat = cam_maps(torch.zeros(1, 2), features, torch.zeros(2, 1, dtype=torch.int64))[1]
    assert torch.all(flat == 0)  # constant map: zeros, no division by zero


def test_batched_cam_equals_per_image_cam_tiny(tiny_model):
    images = [quadrant_image(64, 64), quadrant_image(48, 80)[::-1].copy(), quadrant_image(96, 40)]
    cam = explainers.get_explainer("cam")
    out = explain_batch(cam, tiny_model, images, topk=2, batch_size=2, workers=2)
    assert len(out) == 3
    for image, batched in zip(images, out):
        assert_same(batched, cam.explain(tiny_model, image, topk=2))
    assert all_hooks(tiny_model.network) == 0


def test_batched_cam_equals_per_image_cam_on_photos(default_model):
    paths = photos(4)
    cam = explainers.get_explainer("cam")
    out = explain_batch(cam, default_model, paths, topk=3, batch_size=3)  # two batches, the second partial
    for path, batched in zip(paths, out):
        assert_same(batched, cam.explain(default_model, explainers.load_image(path), topk=3))


def test_batched_targets_and_arrays(default_model):
    images = [explainers.load_image(p) for p in photos(3)]
    before = [im.copy() for im in images]
    cam = explainers.get_explainer("cam")
    out = explain_batch(cam, default_model, images, targets=[1, 500], batch_size=8, workers=1)
    for image, batched in zip(images, out):
        assert_same(batched, cam.explain(default_model, image, targets=[1, 500]))
    for a, b in zip(images, before):
        np.testing.assert_array_equal(a, b)  # inputs not modified


def test_batched_secam_equals_per_image_secam(default_model):
    paths = photos(3)
    secam = explainers.get_explainer("secam")
    out = explain_batch(secam, default_model, paths, topk=2, batch_size=2)
    for path, batched in zip(paths, out):
        single = secam.explain(default_model, explainers.load_image(path), topk=2)
        for a, b in zip(batched, single):
            np.testing.assert_array_equal(a.segments, b.segments)
            np.testing.assert_allclose(a.segment_scores, b.segment_scores, atol=1e-5)


def test_iterator_is_lazy_and_ordered(tiny_model):
    seen = []

    def source():
        for i in range(7):
            seen.append(i)
            yield quadrant_image(64 + i, 64)

    it = iter_explain_batch(explainers.get_explainer("cam"), tiny_model, source(), batch_size=2)
    first = next(it)
    assert first[0].image_size == (64, 64) and len(seen) <= 6  # at most two batches ahead
    rest = list(it)
    assert [r[0].image_size[0] for r in rest] == [65, 66, 67, 68, 69, 70]


def test_bad_arguments(tiny_model):
    cam = explainers.get_explainer("cam")
    with pytest.raises(ValueError, match="batch_size"):
        explain_batch(cam, tiny_model, [quadrant_image()], batch_size=0)
    with pytest.raises(ValueError, match="workers"):
        explain_batch(cam, tiny_model, [quadrant_image()], workers=0)
    with pytest.raises(explainers.ImageError):
        explain_batch(cam, tiny_model, [b"not an image"])
    assert explain_batch(cam, tiny_model, []) == []


def test_bf16_and_channels_last_maps_stay_close_to_fp32():
    model = explainers.load_model("efficientnet_lite0", device="cpu")
    cam = explainers.get_explainer("cam")
    images = [explainers.load_image(p) for p in photos(4)]
    # each photo's own top two classes: the maps people look at (a class the photo does not show has a
    # nearly flat map, where bf16's rounding is a larger share of the contrast)
    targets = [[c for c, _, _ in model.predict(image, topk=2)] for image in images]

    def maps():
        return [explain_batch(cam, model, [image], targets=t)[0] for image, t in zip(images, targets)]

    ref = maps()
    try:
        model.set_fast_math(channels_last=True)
        for a, b in zip(maps(), ref):
            for x, y in zip(a, b):
                np.testing.assert_allclose(x.saliency, y.saliency, atol=1e-4)
        model.set_fast_math(bf16=True, channels_last=True)
        for a, b in zip(maps(), ref):
            for x, y in zip(a, b):
                diff = np.abs(x.saliency - y.saliency)
                assert diff.max() <= 0.1 and diff.mean() <= 0.02
    finally:
        model.set_fast_math()
    assert not model.autocast_bf16 and all_hooks(model.network) == 0
    with pytest.raises(TypeError):
        model.set_fast_math(bf16="yes")
