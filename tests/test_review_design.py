"""Design of blind review studies: per-reviewer order and sides, blinding, choice mapping, trial preparation."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from conftest import TINY_WEIGHT, BlockMeanGAP, quadrant_image

import explainers
from explainers import ParameterError
from explainers.metrics import faithfulness
from explainers import Condition
from explainers.evaluate import shared_class
from explainers_team.review.design import (CHOICES, PreparedTrial, check_conditions, choice_to_outcome, decode_png,
                                           default_conditions, encode_png, prepare_trials, reviewer_plan)



def test_plan_is_deterministic_and_covers_every_trial_once():
    trials = list(range(1, 21))
    plan = reviewer_plan("study-7", "ann", trials)
    assert plan == reviewer_plan("study-7", "ann", trials)  # resuming gives the same plan
    assert plan == reviewer_plan("study-7", "ann", list(reversed(trials)))  # whatever order the store lists them
    assert sorted(a.trial_id for a in plan) == trials
    assert [a.position for a in plan] == list(range(20))
    assert all(a.left in ("A", "B") and a.right != a.left for a in plan)


def test_different_reviewers_and_studies_get_different_orders():
    trials = list(range(30))
    orders = {tuple(a.trial_id for a in reviewer_plan("s1", r, trials)) for r in ("ann", "bob", "cy", "dee")}
    assert len(orders) == 4
    assert [a.trial_id for a in reviewer_plan("s1", "ann", trials)] != [
        a.trial_id for a in reviewer_plan("s2", "ann", trials)]
    assert trials not in [list(o) for o in orders]  # not the store's order


@pytest.mark.parametrize("n", [1, 2, 7, 20])
def test_sides_are_balanced_per_reviewer(n):
    for reviewer in ("ann", "bob", "cy", "dee", "eve"):
        left = Counter(a.left for a in reviewer_plan(42, reviewer, list(range(n))))
        assert abs(left["A"] - left["B"]) <= 1


def test_sides_are_close_to_half_per_trial_over_many_reviewers():
    trials = list(range(10))
    plans = [reviewer_plan("big", f"r{i}", trials) for i in range(400)]
    per_trial = Counter(a.trial_id for plan in plans for a in plan if a.left == "A")
    for t in trials:
        assert 0.40 < per_trial[t] / 400 < 0.60, per_trial
    # and the first position is not always the same trial
    assert len({plan[0].trial_id for plan in plans}) == 10


def test_plan_rejects_bad_input():
    with pytest.raises(ParameterError, match="reviewer"):
        reviewer_plan(1, " ", [1, 2])
    with pytest.raises(ParameterError, match="repeats"):
        reviewer_plan(1, "ann", [1, 1])
    assert reviewer_plan(1, "ann", []) == []


@pytest.mark.parametrize("choice,left,expected", [
    ("left", "A", "A"), ("left", "B", "B"), ("right", "A", "B"), ("right", "B", "A"),
    ("equal", "A", "tie"), ("equal", "B", "tie"), ("cant_tell", "A", "cant_tell"), ("cant_tell", "B", "cant_tell")])
def test_choice_to_outcome(choice, left, expected):
    assert choice_to_outcome(choice, left) == expected


def test_choice_to_outcome_rejects_unknown():
    with pytest.raises(ParameterError, match="choice"):
        choice_to_outcome("up", "A")
    with pytest.raises(ParameterError, match="left"):
        choice_to_outcome("left", "cam")
    assert CHOICES == ("left", "right", "equal", "cant_tell")


def test_sides_need_the_studys_secret():
    """Blinding: the plan is keyed by the study's secret, so the same study id, reviewer and trials with another
    secret give another plan, and a reviewer cannot compute the sides from what they can see."""
    trials = list(range(40))
    one, other = reviewer_plan(b"secret-one", "ann", trials), reviewer_plan(b"secret-two", "ann", trials)
    assert [a.left for a in one] != [a.left for a in other]
    assert [a.trial_id for a in one] != [a.trial_id for a in other]
    with pytest.raises(ParameterError, match="secret"):
        reviewer_plan(b"", "ann", trials)


def test_conditions():
    a, b = default_conditions()
    assert (a.method, b.method, a.model) == ("cam", "secam", "efficientnet_lite0")
    assert Condition.from_dict(b.to_dict()) == b
    assert Condition.make("m", "secam", extra={"threshold": 0.5}).describe() == "SeCAM (threshold 0.5) on m"
    check_conditions(a, b)
    check_conditions(Condition.make("m1", "cam"), Condition.make("m2", "cam"))
    with pytest.raises(ParameterError, match="both conditions"):
        check_conditions(a, Condition.make("efficientnet_lite0", "cam"))
    with pytest.raises(ParameterError, match="unknown method"):
        Condition.make("efficientnet_lite0", "magic")
    with pytest.raises(ParameterError, match="threshold"):
        Condition.make("efficientnet_lite0", "secam", extra={"threshold": 2.0})
    with pytest.raises(ParameterError, match="model"):
        Condition.make("", "cam")


def test_png_round_trip_has_no_text_chunks():
    image = quadrant_image(40, 48)
    data = encode_png(image)
    assert png_chunks(data) <= {"IHDR", "IDAT", "IEND"}  # pixels only: no text, time or profile chunks
    np.testing.assert_array_equal(decode_png(data), image)


def png_chunks(data: bytes) -> set[str]:
    """The chunk types of a PNG file."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, i = set(), 8
    while i < len(data):
        length = int.from_bytes(data[i:i + 4], "big")
        chunks.add(data[i + 4:i + 8].decode("ascii"))
        i += 12 + length
    return chunks


def _tiny(name, labels=("red", "blue", "flat")):
    return explainers.from_network(BlockMeanGAP(TINY_WEIGHT), name=name, input_size=32, labels=list(labels),
                                   device="cpu")


def test_prepare_trials_on_a_tiny_model(tiny_model):
    red = quadrant_image(64, 96)
    blue = red[:, ::-1].copy()
    blue[:] = (20, 20, 220)
    blue[:32, :48] = (240, 240, 240)
    a = Condition.make("tiny", "cam")
    b = Condition.make("tiny", "secam", extra={"n_segments": 8})
    seen = []
    trials = prepare_trials([("red.png", red), ("blue.png", blue)], a, b, load={"tiny": tiny_model},
                            max_side=48, on_progress=lambda *args: seen.append(args))
    assert seen == [(1, 2, "red.png"), (2, 2, "blue.png")]
    assert [t.photo for t in trials] == ["red.png", "blue.png"]
    # the top-1 class of condition A's model on each photo
    assert [t.class_index for t in trials] == [tiny_model.forward(red).top(1)[0], tiny_model.forward(blue).top(1)[0]]
    for t, image in zip(trials, (red, blue)):
        assert isinstance(t, PreparedTrial)
        assert t.label == tiny_model.labels[t.class_index]
        assert t.image.shape == (32, 48, 3) and t.overlay_a.shape == t.overlay_b.shape == (32, 48, 3)
        assert t.overlay_a.dtype == np.uint8 and t.saliency_a.dtype == np.float32
        assert t.saliency_b.shape == (32, 48) and 0 <= t.saliency_b.min() <= t.saliency_b.max() <= 1
        # the maps are each method's own: CAM's map is what the library computes, SeCAM's differs
        [cam] = explainers.get_explainer("cam").explain(tiny_model, image, targets=[t.class_index])
        np.testing.assert_allclose(t.saliency_a, cv2_resize(cam.saliency, (48, 32)), atol=1e-6)
        assert not np.allclose(t.saliency_a, t.saliency_b)
        assert t.probability_a == pytest.approx(cam.probability) == t.probability_b
        np.testing.assert_array_equal(decode_png(t.png("B")), t.overlay_b)
    # a chosen class is explained on both sides
    [t] = prepare_trials([("red.png", red)], a, b, load={"tiny": tiny_model}, class_indices={"red.png": 1})
    assert t.class_index == 1 and t.label == "blue"


def cv2_resize(array, size):
    import cv2

    return cv2.resize(array.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)


def test_prepare_trials_with_two_models_checks_the_class(tiny_model):
    other = _tiny("other")
    renamed = _tiny("renamed", labels=("crimson", "blue", "flat"))
    image = quadrant_image(64, 64)
    trials = prepare_trials([("q.png", image)], Condition.make("tiny", "cam"), Condition.make("other", "cam"),
                            load={"tiny": tiny_model, "other": other})
    np.testing.assert_allclose(trials[0].saliency_a, trials[0].saliency_b)  # same weights, same map
    assert shared_class([tiny_model, renamed], tiny_model.forward(image), 1) == 1
    with pytest.raises(ParameterError, match="q.png: class 0 is 'red'.*'crimson'.*same classes"):
        prepare_trials([("q.png", image)], Condition.make("tiny", "cam"), Condition.make("renamed", "cam"),
                       load={"tiny": tiny_model, "renamed": renamed}, class_indices={"q.png": 0})


def test_prepare_trials_refuses_bad_input(tiny_model, two_layer_model):
    image = quadrant_image(64, 64)
    a, b = Condition.make("tiny", "cam"), Condition.make("tiny", "secam")
    load = {"tiny": tiny_model, "two_layer": two_layer_model}
    with pytest.raises(ParameterError, match="at least one photo"):
        prepare_trials([], a, b, load=load)
    with pytest.raises(ParameterError, match="unique"):
        prepare_trials([("x", image), ("x", image)], a, b, load=load)
    with pytest.raises(ParameterError, match="render"):
        prepare_trials([("x", image)], a, b, load=load, render="fancy")
    with pytest.raises(ParameterError, match="not given"):
        prepare_trials([("x", image)], a, Condition.make("nope", "cam"), load=load)
    with pytest.raises(explainers.CamNotExactError, match="condition B: cam needs a model whose head"):
        prepare_trials([("x", image)], a, Condition.make("two_layer", "cam"), load=load)
    with pytest.raises(explainers.ImageError, match="tiny.png"):
        prepare_trials([("x", image), ("tiny.png", image[:8, :8])], a, b, load=load)
    with pytest.raises(ParameterError, match="x: class 7"):
        prepare_trials([("x", image)], a, b, load=load, class_indices={"x": 7})


def test_native_render_shows_the_secam_mask(tiny_model):
    image = quadrant_image(64, 64)
    [t] = prepare_trials([("q", image)], Condition.make("tiny", "cam"),
                         Condition.make("tiny", "secam", extra={"n_segments": 8, "threshold": 0.5}),
                         load={"tiny": tiny_model}, render="native")
    assert (t.overlay_b == 0).all(axis=2).any()  # masked superpixels are black
    assert (t.overlay_b == image).all(axis=2).any()  # kept ones are the photo itself


@pytest.mark.slow
def test_cam_versus_secam_study_on_the_real_model(default_model):
    from skimage import data

    photos = [("chelsea", data.chelsea()), ("coffee", data.coffee())]
    a, b = default_conditions()
    trials = prepare_trials(photos, a, b, load={"efficientnet_lite0": default_model}, max_side=256)
    assert [t.photo for t in trials] == ["chelsea", "coffee"]
    assert trials[0].label in {"Egyptian cat", "tabby", "tiger cat"}
    assert trials[1].label in {"cup", "espresso", "coffee mug"}
    for t, (_, image) in zip(trials, photos):
        assert t.class_index == default_model.forward(image).top(1)[0]
        assert max(t.overlay_a.shape[:2]) == 256 and t.overlay_a.shape == t.overlay_b.shape
        assert not np.array_equal(t.overlay_a, t.overlay_b)
        # SeCAM's map is constant on superpixels: far fewer distinct values than CAM's smooth map
        assert len(np.unique(t.saliency_b)) < len(np.unique(t.saliency_a))
        for condition in "AB":
            assert png_chunks(t.png(condition)) <= {"IHDR", "IDAT", "IEND"}
    plan = reviewer_plan("s", "ann", [0, 1])
    assert sorted(p.trial_id for p in plan) == [0, 1] and {p.left for p in plan} == {"A", "B"}
    # measured in the same pass: each map's deletion and insertion AUC, for the trial's class
    for t, (_, image) in zip(trials, photos):
        for key, explainer in zip("AB", (a.explainer(), b.explainer())):
            [e] = explainer.explain(default_model, image, targets=[t.class_index])
            curves = faithfulness(default_model, image, e.saliency, t.class_index, mask=e.mask, steps=20)
            assert t.metrics[key]["deletion_auc"] == pytest.approx(curves.deletion_auc, abs=1e-6)
            assert t.metrics[key]["insertion_auc"] == pytest.approx(curves.insertion_auc, abs=1e-6)
