"""The batched engine's evaluation (iter_evaluate, evaluate_stream) equals the per-photo API (evaluate_photo).

Tolerances: the same classes, superpixels and masks; maps within 1e-5 and probabilities within 1e-5 (a
batched forward pass rounds differently from a single-image one); AUCs within 1e-3 (the curves' pixel
order follows the maps, so a map difference of 1e-6 can swap two nearly equal pixels).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import explainers
from explainers import progress
from explainers.batched import Failed, iter_explain_photos
from explainers.evaluate import evaluate_photo, iter_evaluate, make_explainers
from explainers.evaluate.loop import evaluate_stream

from conftest import quadrant_image
from photos import skimage_photo

NAMES = ("chelsea", "coffee", "rocket")
STEPS = 4


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine-photos")
    for name in NAMES:
        Image.open(skimage_photo(name)).convert("RGB").save(folder / f"{name}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not the rest of a JPEG")
    return folder


def assert_same_rows(batched, single, auc_tol=1e-3):
    assert [(r.file, r.method, r.class_index, r.predicted_class, r.true_class) for r in batched] == [
        (r.file, r.method, r.class_index, r.predicted_class, r.true_class) for r in single]
    for a, b in zip(batched, single):
        assert a.probability == pytest.approx(b.probability, abs=1e-5), (a.file, a.method)
        assert a.predicted_probability == pytest.approx(b.predicted_probability, abs=1e-5)
        assert a.deletion_auc == pytest.approx(b.deletion_auc, abs=auc_tol), (a.file, a.method)
        assert a.insertion_auc == pytest.approx(b.insertion_auc, abs=auc_tol), (a.file, a.method)
        assert a.kept_fraction == (None if b.kept_fraction is None else pytest.approx(b.kept_fraction, abs=1e-6))
        assert a.explain_s > 0 or a.method == "random"


def assert_same_maps(batched: dict, single: dict):
    assert list(batched) == list(single)
    for name in single:
        a, b = batched[name], single[name]
        np.testing.assert_allclose(a.saliency, b.saliency, atol=1e-5)
        if b.segments is not None:
            np.testing.assert_array_equal(a.segments, b.segments)
            np.testing.assert_array_equal(a.mask, b.mask)


@pytest.mark.slow
def test_iter_evaluate_equals_evaluate_photo_per_photo(default_model, photo_dir):
    explainers_ = make_explainers(["cam", "secam", "gradcam"], default_model)
    paths = sorted(photo_dir.iterdir())  # broken.jpg first, then the photos
    labels = {"chelsea.png": 285, "coffee.png": 967, "rocket.png": 812}  # broken.jpg is not listed
    out = list(iter_evaluate(default_model, paths, explainers_, labels, steps=STEPS, batch_size=2, workers=2))
    assert [o.file for o in out] == [p.name for p in paths] and [o.index for o in out] == [0, 1, 2, 3]
    assert out[0].failure is not None and out[0].failure.message == "broken.jpg: not in the labels file"
    for outcome in out[1:]:
        assert outcome.failure is None
        image = explainers.load_image(photo_dir / outcome.file)
        np.testing.assert_array_equal(outcome.image, image)
        rows, found = evaluate_photo(default_model, image, explainers_, file=outcome.file,
                                     true_class=labels[outcome.file], seed=outcome.index, steps=STEPS)
        assert_same_rows(outcome.results, rows)
        assert_same_maps(outcome.explanations, found)
        assert [r.method for r in outcome.results] == ["cam", "secam", "gradcam", "random"]


@pytest.mark.slow
def test_two_models_and_no_baseline_as_a_review_prepares(default_model):
    """A review compares two conditions (here one model object each) on decoded arrays, without the random row."""
    other = explainers.load_model("efficientnet_lite0", device="cpu")
    models = {"A": default_model, "B": other}
    conditions = {"A": explainers.get_explainer("cam"), "B": explainers.get_explainer("secam", n_segments=20)}
    images = [explainers.load_image(skimage_photo(n)) for n in NAMES]
    items = [(n, im) for n, im in zip(NAMES, images)]
    out = list(evaluate_stream(models, items, conditions, true_classes=[None, 967, None], baseline=False,
                               steps=STEPS, batch_size=3))
    for outcome, image in zip(out, images):
        rows, found = evaluate_photo(models, image, conditions, file=outcome.file,
                                     true_class=967 if outcome.file == "coffee" else None, baseline=False,
                                     steps=STEPS)
        assert [r.method for r in outcome.results] == ["A", "B"]
        assert_same_rows(outcome.results, rows)
        assert_same_maps(outcome.explanations, found)
    assert out[1].results[0].class_index == 967


def test_a_method_failing_on_one_photo_fails_that_photo_only(tiny_model, monkeypatch):
    images = [quadrant_image(64, 64), quadrant_image(70, 64), quadrant_image(80, 64)]
    cam = explainers.get_explainer("cam")
    real = type(cam).explain_forwards

    def picky(self, model, imgs, *args):
        if any(im.shape[0] == 70 for im in imgs):
            raise RuntimeError("this photo breaks the method")
        return real(self, model, imgs, *args)

    monkeypatch.setattr(type(cam), "explain_forwards", picky)
    out = list(evaluate_stream(tiny_model, [(f"p{i}", im) for i, im in enumerate(images)], {"cam": cam},
                               steps=2, batch_size=3))
    assert [o.failure is None for o in out] == [True, False, True]
    assert out[1].failure.message == "p1: unexpected RuntimeError: this photo breaks the method"
    assert isinstance(out[1].failure.error, RuntimeError)
    assert [r.method for r in out[0].results] == ["cam", "random"]


def test_failed_items_pass_through_in_order_and_arrays_are_not_modified(tiny_model):
    images = [quadrant_image(64, 64), quadrant_image(48, 80)]
    before = [im.copy() for im in images]
    items = [("a", images[0]), ("gone", Failed("gone: not in the labels file")), ("b", images[1]),
             ("tiny", np.zeros((8, 8, 3), np.uint8))]
    out = list(evaluate_stream(tiny_model, items, {"cam": explainers.get_explainer("cam")}, measure=False,
                               seeds=[10, 11, 12, 13], batch_size=2))
    assert [(o.index, o.file, o.failure is None) for o in out] == [(10, "a", True), (11, "gone", False),
                                                                    (12, "b", True), (13, "tiny", False)]
    assert out[1].failure.message == "gone: not in the labels file"
    assert "smallest side must be at least 32 px" in out[3].failure.message
    assert out[0].results[0].deletion_auc is None and [r.method for r in out[0].results] == ["cam"]
    for a, b in zip(images, before):
        np.testing.assert_array_equal(a, b)


def test_progress_counts_forward_passes_and_cancel_stops_the_run(tiny_model):
    images = [(f"p{i}", quadrant_image(64, 64)) for i in range(6)]
    cam = {"cam": explainers.get_explainer("cam")}
    p = progress.Progress()
    with progress.tracking(p):
        out = list(evaluate_stream(tiny_model, images, cam, steps=2, batch_size=4))
    # 6 photos through the network once, and (2 steps + 1) x 2 curves x 2 maps (cam, random) per photo
    assert len(out) == 6 and (p.done, p.total) == (6 + 6 * 12, 6 + 6 * 12)

    def stop_after_two_photos(prog):
        if prog.done >= 4 + 2 * 12:
            threading.Thread(target=prog.cancel, args=("a newer run",)).start()
            threading.Event().wait(0.05)

    p = progress.Progress(on_advance=stop_after_two_photos)
    seen = []
    with progress.tracking(p), pytest.raises(progress.Cancelled, match="a newer run"):
        for outcome in evaluate_stream(tiny_model, images, cam, steps=2, batch_size=4):
            seen.append(outcome.file)
    assert seen == ["p0"]  # cancelled during the second photo's curves: not recorded as a failure


def test_engine_options_are_checked(tiny_model):
    items = [("a", quadrant_image())]
    cam = {"cam": explainers.get_explainer("cam")}
    for bad in ({"batch_size": 0}, {"workers": 0}, {"decoder": "nvjpeg"}, {"batch_size": True}):
        with pytest.raises(explainers.ParameterError, match=next(iter(bad))):
            list(evaluate_stream(tiny_model, items, cam, **bad))


@pytest.mark.slow
def test_device_decoder_path_agrees_with_the_per_photo_api(default_model, tmp_path):
    """decoder="gpu" (nvJPEG on CUDA) runs torchvision's CPU decoder for a CPU model: same top-1, maps r >= 0.99."""
    paths = []
    for name in ("chelsea", "coffee", "astronaut", "rocket"):
        path = tmp_path / f"{name}.jpg"
        Image.open(skimage_photo(name)).convert("RGB").save(path, quality=92)
        paths.append(path)
    png = tmp_path / "coffee.png"
    Image.open(skimage_photo("coffee")).convert("RGB").save(png)
    sources = [*paths, png, tmp_path / "missing.jpg"]
    cam = explainers.get_explainer("cam")
    out = list(iter_explain_photos(cam, default_model, sources, topk=2, decoder="gpu", batch_size=4))
    assert [Path(o.name).name for o in out] == [Path(s).name for s in sources]
    assert "no such file" in str(out[-1].error)
    for item, path in zip(out[:-1], sources[:-1]):
        reference = cam.explain(default_model, explainers.load_image(path), topk=2)
        assert item.image.shape == reference[0].saliency.shape + (3,)
        assert item.explanations[0].class_index == reference[0].class_index, path
        r = np.corrcoef(item.explanations[0].saliency.ravel(), reference[0].saliency.ravel())[0, 1]
        assert r >= 0.99, (path, r)
        if path.suffix == ".png":  # not a JPEG: the CPU path, the same pixels
            np.testing.assert_array_equal(item.image, explainers.load_image(path))
