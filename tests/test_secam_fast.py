"""SeCAM on large photos: SLIC on a reduced working copy, labels mapped back; and SLIC overlapped with the forward pass.

Faithfulness bounds stated here (and in docs/BENCHMARKS.md):
- photos whose long side is <= ``slic_max_side`` get exactly the full-resolution computation;
- superpixel edges lie within ``max(H, W) / slic_max_side + 1`` pixels of the photo's true edges;
- each score is within 0.005 of the mean of the full-resolution upsampled map over the same
  (full-resolution) superpixel (scores are in [0, 1]);
- against SLIC run at full resolution, the SeCAM map differs by at most 0.06 on average.
"""

import cv2
import numpy as np
import pytest
import torch
from scipy import ndimage

import explainers
from explainers.maps import relu_max, upsample
from explainers.methods.secam import SeCAM, region_scores, working_size
from conftest import quadrant_image
from photos import skimage_photo


def boundaries(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour has another label."""
    edge = np.zeros(labels.shape, bool)
    edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
    return edge


def blocks_image(h: int = 1500, w: int = 2000) -> np.ndarray:
    """Flat colour regions with edges at positions that are not multiples of the working scale, and a disc."""
    img = np.full((h, w, 3), 30, np.uint8)
    img[:611, :737] = (220, 30, 30)
    img[:611, 737:] = (30, 200, 40)
    img[611:, 1283:] = (40, 40, 230)
    yy, xx = np.mgrid[:h, :w]
    img[(yy - 1000) ** 2 + (xx - 600) ** 2 < 301 ** 2] = (240, 240, 240)
    return img


def photo() -> np.ndarray:
    return explainers.load_image(skimage_photo("coffee"))  # (400, 600): an ImageNet-sized photo


def test_working_size():
    assert working_size((375, 500), 768) == (375, 500)
    assert working_size((3000, 4000), 768) == (576, 768)
    assert working_size((3000, 4000), 0) == (3000, 4000)
    assert working_size((3000, 4000), None) == (3000, 4000)
    assert working_size((20000, 40), 768) == (20000, 40)  # too thin to shrink: left whole


def test_small_photos_get_exactly_the_full_resolution_computation(default_model):
    image = photo()
    assert max(image.shape[:2]) <= SeCAM.defaults["slic_max_side"]
    [a] = explainers.get_explainer("secam").explain(default_model, image, topk=1)
    [b] = explainers.get_explainer("secam", slic_max_side=0).explain(default_model, image, topk=1)
    np.testing.assert_array_equal(a.segments, b.segments)
    np.testing.assert_array_equal(a.segment_scores, b.segment_scores)
    np.testing.assert_array_equal(a.saliency, b.saliency)
    np.testing.assert_array_equal(a.segments, explainers.slic_segments(image, 50, 10.0))


def test_mapped_back_edges_follow_the_full_resolution_edges():
    image = blocks_image()
    max_side = 320
    seg = explainers.slic_segments(image, 30, 10.0, max_side=max_side)
    assert seg.shape == image.shape[:2] and seg.dtype == np.int32 and seg.min() == 1
    scale = max(image.shape[:2]) / max_side
    # every true colour edge has a superpixel edge within scale + 1 px
    colour = image.astype(np.int32) @ np.array([1, 256, 65536])
    true_edges = boundaries(colour)
    distance_to_seg_edge = ndimage.distance_transform_edt(~boundaries(seg))
    assert distance_to_seg_edge[true_edges].max() <= scale + 1
    # and every superpixel is (almost) one colour: its edges are the photo's edges, not cuts across them
    for label in np.unique(seg):
        values, counts = np.unique(colour[seg == label], return_counts=True)
        assert counts.max() / counts.sum() >= 0.98


def test_scores_match_full_resolution_means_over_the_same_superpixels(default_model):
    small = photo()
    image = cv2.resize(small, (small.shape[1] * 3, small.shape[0] * 3), interpolation=cv2.INTER_CUBIC)
    [e] = explainers.get_explainer("secam", slic_max_side=500).explain(default_model, image)
    assert e.segments.shape == e.saliency.shape == e.mask.shape == image.shape[:2]
    full_map = upsample(relu_max(torch.from_numpy(e.class_map)), image.shape[:2])
    ids, scores, areas = region_scores(full_map, e.segments)
    np.testing.assert_array_equal(ids, e.segment_ids)
    np.testing.assert_array_equal(areas, e.segment_areas)
    np.testing.assert_allclose(e.segment_scores, scores, atol=0.005)
    # the map is constant inside each full-resolution superpixel
    for sid, score in zip(e.segment_ids[:10], e.segment_scores[:10]):
        assert np.all(e.saliency[e.segments == sid] == score)


def test_close_to_slic_at_full_resolution(default_model):
    small = photo()
    image = cv2.resize(small, (small.shape[1] * 2, small.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    forward = default_model.forward(image)
    [fast] = explainers.get_explainer("secam", slic_max_side=400).explain(default_model, image, forward=forward)
    [full] = explainers.get_explainer("secam", slic_max_side=0).explain(default_model, image, forward=forward)
    assert np.abs(fast.saliency - full.saliency).mean() <= 0.06
    assert (fast.mask == full.mask).mean() >= 0.85


@pytest.mark.parametrize("overlap", [True, False])
def test_overlapped_slic_gives_identical_results(default_model, overlap):
    image = photo()
    secam = explainers.get_explainer("secam")
    secam.overlap_slic = overlap
    out = secam.explain(default_model, image, topk=2)
    forward = default_model.forward(image)
    segments = explainers.slic_segments(image, 50, 10.0)
    ref = explainers.get_explainer("secam").explain(default_model, image, topk=2, forward=forward, segments=segments)
    for a, b in zip(out, ref):
        np.testing.assert_array_equal(a.segments, b.segments)
        np.testing.assert_array_equal(a.segment_scores, b.segment_scores)
        np.testing.assert_array_equal(a.mask, b.mask)
    assert out[0].segments is out[1].segments and out[0].timings["slic"] > 0


def test_overlapped_failure_propagates_and_leaves_no_hook(tiny_model, monkeypatch):
    from conftest import all_hooks

    def boom(self, x):
        raise RuntimeError("network failed")

    monkeypatch.setattr(type(tiny_model.network), "forward", boom)
    secam = explainers.get_explainer("secam", n_segments=4)
    secam.overlap_slic = True
    with pytest.raises(RuntimeError, match="network failed"):
        secam.explain(tiny_model, quadrant_image())
    assert all_hooks(tiny_model.network) == 0


def test_with_threshold_on_a_working_copy_explanation(tiny_model):
    image = blocks_image(600, 800)
    [e] = explainers.get_explainer("secam", n_segments=12, slic_max_side=200).explain(tiny_model, image, targets=[0])
    e2 = explainers.with_threshold(e, 0.0)
    assert e2.mask.shape == image.shape[:2] and e2.params["slic_max_side"] == 200


@pytest.mark.parametrize("value", [-1, 10, 63, 1.5, "big"])
def test_bad_slic_max_side(value):
    with pytest.raises((explainers.ParameterError, TypeError), match="slic_max_side"):
        explainers.get_explainer("secam", slic_max_side=value)


def test_slic_max_side_none_means_full_resolution():
    assert explainers.get_explainer("secam", slic_max_side=None).params["slic_max_side"] == 0


def test_working_copy_fields_equal_their_full_resolution_definitions(tiny_model):
    image = blocks_image(777, 1031)  # sizes that do not divide evenly
    [e] = explainers.get_explainer("secam", n_segments=20, slic_max_side=300).explain(tiny_model, image, targets=[0])
    lookup = np.zeros(e.segment_ids.max() + 1, np.float32)
    lookup[e.segment_ids] = e.segment_scores
    np.testing.assert_array_equal(e.saliency, lookup[e.segments])
    np.testing.assert_array_equal(e.mask, np.isin(e.segments, e.segment_ids[e.kept_segments]))
    np.testing.assert_array_equal(e.segment_areas, np.bincount(e.segments.ravel())[e.segment_ids])
    assert e.mask.dtype == bool and e.saliency.dtype == np.float32
