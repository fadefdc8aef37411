"""The project's metrics against the field's own implementations, on the default model and real photos.

Peers (the ``test`` extra pins them): pytorch-grad-cam 1.5.7 (ROAD, Average Drop / Increase in
Confidence), torchcam 0.5.0 (deletion / insertion, Average Drop), Quantus 0.6.0 (IROF, model-parameter
randomisation). Each test feeds the peer exactly what the project measures (the same preprocessed
tensor, the same baseline, the same pixel or superpixel order) so the numbers can be equal, and
asserts they are within a stated tolerance; where the definitions differ the test says how, and
``docs/EVALUATION.md`` explains it. In CI (``CI`` set) a missing peer is an error; elsewhere the test
skips with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import threading
from functools import partial

import cv2
import numpy as np
import pytest
import torch
from skimage import data

import explainers
from explainers.metrics import (
    MapBatch,
    blurred,
    get_metric,
    layer_groups,
    map_similarity,
    measure_all,
    pixel_order,
    randomisation_check,
)

pytestmark = pytest.mark.slow


def peer(module: str):
    """Import a peer; skip without it unless in CI, where the test extra must have installed it."""
    try:
        return importlib.import_module(module)
    except Exception as exc:  # ImportError, or a peer that breaks on import
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{module} is not importable ({type(exc).__name__}: {exc}); pip install '.[test]'")


@pytest.fixture(scope="module")
def chelsea_maps(default_model):
    """chelsea, its top class (Egyptian cat), and the CAM and SeCAM maps of that class."""
    image = data.chelsea()
    [cam] = explainers.get_explainer("cam").explain(default_model, image)
    [secam] = explainers.get_explainer("secam").explain(default_model, image, targets=[cam.class_index])
    return image, cam.class_index, {"cam": cam, "secam": secam}


def rank_map(saliency: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """``(S, S)`` float64 map whose values are ``S*S - rank`` in the project's pixel order: no ties, same order."""
    order = pixel_order(saliency, size, seed)
    rank = np.empty(size * size, np.int64)
    rank[order] = np.arange(size * size)
    return (size * size - rank).reshape(size, size).astype(np.float64)


def report(what: str, differences: list[float]) -> None:
    """One line for ``pytest -s``: the largest difference seen (docs/EVALUATION.md quotes these)."""
    print(f"\nagreement: {what}: max |ours - peer| = {max(differences):.2g} over {len(differences)} values")


class FixedMap:
    """A torchcam CAM extractor that returns a given map (torchcam evaluates extractors, not maps)."""

    def __init__(self, model: torch.nn.Module, cam: torch.Tensor):
        self.model, self.cam = model, cam

    def __call__(self, class_idx=None, scores=None, normalized=True, *, targets=None, **kwargs):
        return [self.cam]

    def fuse_cams(self, cams):
        return cams[0]

    @contextlib.contextmanager
    def _hooks_off(self):
        yield


# -- deletion and insertion: torchcam --------------------------------------------------------------------------
def test_deletion_and_insertion_equal_torchcams(default_model, chelsea_maps):
    """torchcam's ``DeletionInsertionMetric`` with the project's blurred baseline and pixel order.

    torchcam removes ``ceil(S*S / steps)`` pixels per step, the project ``round(j / steps * S*S)``: the same
    counts when ``steps`` divides ``224 * 224`` (16 does). Ties: torchcam keeps raster order, the project a
    seeded random one, so torchcam gets the project's order as a tie-free map. Tolerance 1e-5 (float32
    forward passes in different batch compositions differ by about 1e-7).
    """
    tc = peer("torchcam.metrics")
    image, target, maps = chelsea_maps
    model, size, steps = default_model, default_model.input_size, 16
    x = model.preprocess(image)[None]
    baseline = blurred(x[0], 10.0)[None]
    ours = measure_all(
        [get_metric("deletion", steps=steps), get_metric("insertion", steps=steps)],
        model,
        [image, image],
        [maps["cam"].saliency, maps["secam"].saliency],
        [target, target],
    )
    seen = []
    for i, name in enumerate(["cam", "secam"]):
        cam = torch.from_numpy(rank_map(maps[name].saliency, size).astype(np.float32))[None]
        metric = tc.DeletionInsertionMetric(
            FixedMap(model.network, cam), partial(torch.softmax, dim=-1), steps=steps, baseline=baseline
        )
        metric.update(x, class_idx=target)
        theirs = metric.summary()
        assert ours["deletion"].values[i] == pytest.approx(theirs["deletion_auc"], abs=1e-5), name
        assert ours["insertion"].values[i] == pytest.approx(theirs["insertion_auc"], abs=1e-5), name
        seen += [abs(ours["deletion"].values[i] - theirs["deletion_auc"])]
        seen += [abs(ours["insertion"].values[i] - theirs["insertion_auc"])]
    report("deletion and insertion AUC vs torchcam", seen)
    # and the one implementation: faithfulness() gives the registered metrics' numbers
    f = explainers.metrics.faithfulness(model, image, maps["cam"].saliency, target, steps=steps)
    assert f.deletion_auc == pytest.approx(ours["deletion"].values[0], abs=1e-6)
    assert f.insertion_auc == pytest.approx(ours["insertion"].values[0], abs=1e-6)


# -- ROAD: pytorch-grad-cam -------------------------------------------------------------------------------------
def test_road_without_noise_equals_gradcams(default_model, chelsea_maps):
    """pytorch-grad-cam's ``ROADMostRelevantFirst`` / ``ROADLeastRelevantFirst`` with the noise off.

    grad-cam's ``percentile`` is the share *kept* and it removes every pixel at or past that percentile
    of the map, the project removes ``round(q * S*S)`` pixels in its own order: grad-cam gets the
    project's order as a tie-free map and the percentile that removes exactly the project's count. The
    noise is drawn from different generators (torch's global one there), so it is off on both sides;
    both solve the same sparse system directly. Tolerance 1e-5 in probability.
    """
    road = peer("pytorch_grad_cam.metrics.road")
    targets = peer("pytorch_grad_cam.utils.model_targets")
    image, target, maps = chelsea_maps
    model, size, steps = default_model, default_model.input_size, 3
    n = size * size
    x = model.preprocess(image)[None]
    saliency = maps["cam"].saliency
    ours = measure_all(
        [get_metric("road_morf", steps=steps, noise=0.0), get_metric("road_lerf", steps=steps, noise=0.0)],
        model,
        [image],
        [saliency],
        [target],
    )
    cams = rank_map(saliency, size)[None]
    seen = []
    for name, peer_class in (("road_morf", road.ROADMostRelevantFirst), ("road_lerf", road.ROADLeastRelevantFirst)):
        scores = ours[name]
        for share, value in zip(scores.fractions[0], scores.curves[0]):
            removed = int(np.round(share * n))
            metric = peer_class(percentile=100.0 * (n - removed) / (n - 1))
            metric.perturbation.imputer.noise = 0.0
            theirs = metric(
                x, cams, [targets.ClassifierOutputSoftmaxTarget(target)], model.network, return_diff=False
            )[0]
            assert value == pytest.approx(float(theirs), abs=1e-5), (name, share)
            seen.append(abs(value - float(theirs)))
        assert scores.values[0] == pytest.approx(scores.curves[0].mean())
    report("ROAD MoRF and LeRF probabilities (noise 0) vs pytorch-grad-cam", seen)
    # the orders mean something on this photo: taking the cat away costs more than taking the background
    assert ours["road_morf"].values[0] < ours["road_lerf"].values[0]


# -- Average Drop and Increase in Confidence: pytorch-grad-cam and torchcam -------------------------------------------
def test_confidence_metrics_equal_gradcams_and_torchcams(default_model, chelsea_maps):
    """Both peers multiply the normalised input by the map (as the project does).

    grad-cam's ``DropInConfidence`` is ``max(0, Y - O)``, not divided by ``Y``: divided here. torchcam
    divides by ``Y + 1e-7``. Tolerance 1e-6 on the drop; the increase must match exactly (``O`` and ``Y`` are
    not within 1e-6 of each other here).
    """
    cmi = peer("pytorch_grad_cam.metrics.cam_mult_image")
    targets = peer("pytorch_grad_cam.utils.model_targets")
    tc = peer("torchcam.metrics")
    image, target, maps = chelsea_maps
    model = default_model
    x = model.preprocess(image)[None]
    saliencies = [maps["cam"].saliency, maps["secam"].saliency, 0.5 + 0.5 * maps["cam"].saliency]
    ours = measure_all(
        [get_metric("average_drop"), get_metric("increase_confidence")], model, [image] * 3, saliencies, [target] * 3
    )
    batch = MapBatch(model, [image], [saliencies[0]], [target])
    y = float(batch.originals()[0])
    seen = []
    for i, saliency in enumerate(saliencies):
        weight = np.clip(batch.resize(saliency), 0, 1)[None]
        softmax_target = [targets.ClassifierOutputSoftmaxTarget(target)]
        change = float(cmi.CamMultImageConfidenceChange()(x, weight, softmax_target, model.network)[0])
        assert abs(change) > 1e-6
        drop = float(cmi.DropInConfidence()(x, weight, softmax_target, model.network)[0]) / y
        increase = float(cmi.IncreaseInConfidence()(x, weight, softmax_target, model.network)[0])
        assert ours["average_drop"].values[i] == pytest.approx(drop, abs=1e-6)
        assert ours["increase_confidence"].values[i] == increase
        metric = tc.ClassificationMetric(
            FixedMap(model.network, torch.from_numpy(weight)), partial(torch.softmax, dim=-1)
        )
        metric.update(x, class_idx=target)
        assert ours["average_drop"].values[i] == pytest.approx(metric.summary()["avg_drop"], abs=1e-6)
        assert ours["increase_confidence"].values[i] == metric.summary()["conf_increase"]
        seen += [abs(ours["average_drop"].values[i] - drop), abs(ours["average_drop"].values[i] - metric.summary()["avg_drop"])]
    report("Average Drop vs pytorch-grad-cam and torchcam (Increase in Confidence: equal)", seen)
    assert ours["average_drop"].values[2] < ours["average_drop"].values[0]  # a brighter map hides less


# -- IROF: Quantus ---------------------------------------------------------------------------------------------------
def test_irof_equals_quantus(default_model, chelsea_maps):
    """Quantus' ``IROF`` on the project's superpixels and baseline.

    Quantus segments the normalised tensor itself (SLIC with its own defaults: 80 superpixels here,
    the project's 38 at the input); it is given the project's. Its "mean" baseline is the mean of the
    whole (perturbed) batch array, recomputed at each step, so it is given the project's per-channel
    mean of the photo as an array. It reports ``n - sum_{k=1}^{n-1} (q_k + q_{k+1}) / 2`` in units of
    superpixels: the project's area over ``[0, 1]`` converts as ``n * IROF + (1 + q_1) / 2``. As
    shipped, its perturbation asserts on RGB input (mask (N, 1, H, W) against (N, 3, H, W)); the mask is
    broadcast. Tolerance 1e-5 relative (ratios of probabilities from single and batched passes).
    """
    quantus = peer("quantus")
    if not hasattr(np, "trapz"):  # numpy 2.4 removed it; Quantus 0.6.0 still calls it
        setattr(np, "trapz", np.trapezoid)  # noqa: B010
    qutils = importlib.import_module("quantus.helpers.utils")
    perturb = importlib.import_module("quantus.functions.perturb_func")
    image, target, maps = chelsea_maps
    model = default_model
    x = model.preprocess(image)[None]
    metric = get_metric("irof")
    seen = []
    for name in ("cam", "secam"):
        saliency = maps[name].saliency
        batch = MapBatch(model, [image], [saliency], [target], segments=[maps[name].segments])
        ours = metric.measure_batch(batch)
        p = metric.params
        segments = batch.segments_at_input(0, p["n_segments"], p["compactness"], p["slic_max_side"])
        contiguous = np.unique(segments, return_inverse=True)[1].reshape(segments.shape)
        n = int(contiguous.max()) + 1
        mean = x.mean(dim=(2, 3), keepdim=True).expand_as(x).numpy().copy()
        original = qutils.get_superpixel_segments
        qutils.get_superpixel_segments = lambda img, segmentation_method, labels=contiguous: labels
        try:
            irof = quantus.IROF(
                return_aggregate=False,
                normalise=False,
                abs=False,
                disable_warnings=True,
                perturb_baseline=mean,
                perturb_func=lambda arr, mask, **kw: perturb.baseline_replacement_by_mask(
                    arr, np.broadcast_to(mask, arr.shape), **kw
                ),
            )
            [theirs] = irof(
                model=model.network.eval(),
                x_batch=x.numpy(),
                y_batch=np.array([target]),
                a_batch=batch.maps[:1, None],
                softmax=True,
                device="cpu",
                channel_first=True,
            )
        finally:
            qutils.get_superpixel_segments = original
        q1 = ours.curves[0][1]
        assert ours.curves[0].size == n + 1 and ours.fractions[0][-1] == 1.0
        assert n * ours.values[0] + (1 + q1) / 2 == pytest.approx(float(theirs), rel=1e-5), name
        seen.append(abs(n * ours.values[0] + (1 + q1) / 2 - float(theirs)) / abs(float(theirs)))
    report("IROF vs Quantus, relative", seen)


# -- model-parameter randomisation: Quantus -----------------------------------------------------------------------------
def test_randomisation_layers_similarity_and_verdicts_agree_with_quantus(default_model, chelsea_maps):
    """Quantus' ``MPRT`` (cascading, top down) against :func:`randomisation_check`.

    - The layers and their order are Quantus' (every module with ``reset_parameters``, in reverse
      registration order); the project groups them by block for its steps.
    - The weights differ: Quantus re-seeds torch's global generator with ``seed + 1`` before *every*
      layer (same-shaped layers get the same weights), the project draws each layer from its own seed.
      So the Spearman correlation is compared on the maps Quantus' own randomised models give (1e-6),
      and the verdict of the two checks on this photo: CAM passes and an edge map fails under both.
    - Quantus' SSIM is computed on the *flattened* maps (1-D windows); the project's is 2-D.
    """
    quantus = peer("quantus")
    image, target, _ = chelsea_maps
    model = default_model
    small = model_input_photo(model, image)  # explained at the input size, so Quantus' x is this photo's
    x = model.preprocess(small)[None].numpy()
    cam = explainers.get_explainer("cam")
    made = []

    def explain_cam(model, inputs, targets, **kwargs):
        current = dataclasses.replace(default_model, network=model, lock=threading.RLock())
        [e] = cam.explain(current, small, targets=[int(targets[0])])
        made.append(e.saliency)
        return e.saliency[None, None]

    def explain_edges(model, inputs, targets, **kwargs):
        return sobel(small)[None, None]

    scores = {}
    for name, explain in (("cam", explain_cam), ("edges", explain_edges)):
        a0 = explain(model.network, x, [target])
        made.clear()
        mprt = quantus.MPRT(
            similarity_func=quantus.similarity_func.correlation_spearman,
            abs=False,
            normalise=False,
            disable_warnings=True,
        )
        scores[name] = mprt(
            model=model.network.eval(), x_batch=x, y_batch=np.array([target]), a_batch=a0, explain_func=explain,
            device="cpu",
        )
        if name == "cam":
            layers = [k for k in scores[name] if k != "original"]
            ours = [module for _, modules in layer_groups(model.network) for module in modules]
            assert layers == ours
            # Quantus' first call explains the trained model again, then one call per layer
            assert len(made) == len(layers) + 1
            seen = []
            for layer, randomised in zip(layers, made[1:]):
                spearman, _ = map_similarity(a0[0, 0], randomised)
                assert spearman == pytest.approx(scores[name][layer][0], abs=1e-6), layer
                seen.append(abs(spearman - scores[name][layer][0]))
            report("Spearman correlation of the MPRT maps vs Quantus", seen)
    quantus_mean = {k: np.mean([v[0] for k2, v in s.items() if k2 != "original"]) for k, s in scores.items()}
    assert quantus_mean["edges"] == pytest.approx(1.0)
    assert quantus_mean["cam"] < 0.5
    print(f"\nagreement: Quantus MPRT mean Spearman over 99 layers: CAM {quantus_mean['cam']:.3f}, edges 1")

    # the project's own check on the same photo agrees
    class Edges(explainers.Explainer):
        name = "peeredges"
        requires_exact_cam = False

        def class_map(self, model, forward, class_index):
            return torch.zeros(1, 1)

        def build(self, model, image, class_map, context, timings, t0):
            return {"saliency": sobel(image)}

    explainers.register_explainer(Edges)
    try:
        checks = randomisation_check(model, ["cam", "peeredges"], [small], [target])
    finally:
        explainers.EXPLAINERS.pop("peeredges")
    assert checks["cam"].passed and not checks["peeredges"].passed


def model_input_photo(model, image: np.ndarray) -> np.ndarray:
    """The photo at the model's input size, resized as ``LoadedModel.preprocess`` does (Pillow bilinear)."""
    from PIL import Image

    return np.array(Image.fromarray(image).resize((model.input_size,) * 2, Image.Resampling.BILINEAR))


def sobel(image: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the grey photo, divided by its maximum: a map that ignores any model."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    magnitude = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return magnitude / magnitude.max()
