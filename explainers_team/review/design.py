"""Design of a blind review study: conditions, each reviewer's order and sides, trial preparation.

A study compares two **conditions**, ``A`` and ``B`` (each a model, a method
and its parameters). A **trial** is one photo explained by both, for the same
class. Each reviewer sees every trial once, in an order of their own, with
``A`` on the left in half of their trials; both come from an HMAC keyed with
the study's secret (kept in the store, never shown), so a reviewer who resumes
gets the same order and sides, nobody can compute another's sides, and no
random-number generator's stream (which can change between library versions)
is involved.

Nothing shown to a reviewer names a method or a model: the pictures are PNGs
without metadata, and a choice is recorded as a side (``left``/``right``) that
:func:`choice_to_outcome` turns into ``A``/``B``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from explainers.errors import ExplainersError, ParameterError
from explainers.evaluate import MethodResult, evaluate_stream
from explainers.explanation import Explanation
from explainers.methods import Condition
from explainers.metrics import DEFAULT_STEPS
from explainers.models.loaded import LoadedModel
from explainers.overlays import explanation_picture, heatmap_overlay

from ..store.records import CHOICES, DEFAULT_QUESTION  # noqa: F401  (public here too)

#: What an answer means once the sides are known: condition A or B preferred, a tie, or can't tell.
OUTCOMES = ("A", "B", "tie", "cant_tell")
#: The two conditions of a study.
CONDITIONS = ("A", "B")
#: Long side, in px, of the pictures stored with a trial.
PICTURE_MAX_SIDE = 768
#: How a map is drawn: ``heatmap`` (both sides as the same colour-map overlay) or
#: ``native`` (each method's own picture: SeCAM's masked photo, a heatmap otherwise).
RENDERS = ("heatmap", "native")


def default_conditions(model: str = "efficientnet_lite0") -> tuple[Condition, Condition]:
    """CAM (A) versus SeCAM (B) on ``model``, both with default parameters."""
    return Condition.make(model, "cam"), Condition.make(model, "secam")


def check_conditions(condition_a: Condition, condition_b: Condition) -> None:
    """Refuse a study whose two conditions are equal or name an unknown method or invalid parameters.

    Raises
    ------
    TypeError
        If a condition is not a :class:`Condition`.
    ParameterError
        If the conditions are identical, or a method or parameter is invalid.
    """
    for c in (condition_a, condition_b):
        if not isinstance(c, Condition):
            raise TypeError(f"conditions must be explainers.Condition objects, got {type(c).__name__}")
    if condition_a == condition_b:
        raise ParameterError(
            f"both conditions are {condition_a.describe()}; pick two methods, two models, or two parameter settings"
        )


# ---------------------------------------------------------------------------------------------- order and sides
@dataclasses.dataclass(frozen=True)
class Assignment:
    """One trial as one reviewer sees it.

    Attributes
    ----------
    trial_id : hashable
        As given to :func:`reviewer_plan`.
    position : int
        0-based place in this reviewer's order ("7 of 20" is ``position == 6``).
    left : str
        The condition shown on the left, ``"A"`` or ``"B"``.
    """

    trial_id: Hashable
    position: int
    left: str

    @property
    def right(self) -> str:
        """The condition shown on the right."""
        return "B" if self.left == "A" else "A"

    @property
    def left_index(self) -> int:
        """The store's ``left_condition``: 0 when A is on the left, 1 when B is."""
        return CONDITIONS.index(self.left)


def _digest(key: bytes, *parts: Any) -> bytes:
    """HMAC-SHA256 of the parts under ``key``, each part length-prefixed so that ('ab', 'c') and ('a', 'bc') differ."""
    h = hmac.new(key, b"explainers.review/2", hashlib.sha256)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8")
        h.update(len(data).to_bytes(8, "big") + data)
    return h.digest()


def reviewer_plan(secret: bytes | str | int, reviewer: str, trial_ids: Sequence[Hashable]) -> list[Assignment]:
    """The order in which ``reviewer`` sees a study's trials, and which condition is on the left.

    Deterministic: the same secret, reviewer and trial ids always give the same
    plan (a reviewer can stop and resume), while two reviewers get independent
    orders. The order sorts trials by ``HMAC(secret, reviewer, trial)``; the
    sides are balanced per reviewer: ``A`` is on the left in exactly
    ``n // 2`` or ``n - n // 2`` trials (which of the two, and which trials, is
    decided by another HMAC), so a reviewer's habit of picking one side cannot
    favour one condition. Without the secret nobody can tell the sides.

    Parameters
    ----------
    secret : bytes, str or int
        The study's secret (the store's per-study seed): never shown to anyone.
    reviewer : str
        The reviewer's identity (the signed-in e-mail, or the name typed without login).
    trial_ids : sequence of hashable
        The study's trials, each once (their order does not matter).

    Returns
    -------
    list of Assignment
        One per trial, in the reviewer's order (``position`` 0, 1, ...).

    Raises
    ------
    ParameterError
        If ``reviewer`` is empty, the secret is empty, or a trial id is repeated.
    """
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise ParameterError(f"`reviewer` must be a non-empty name, got {reviewer!r}")
    key = secret if isinstance(secret, bytes) else str(secret).encode("utf-8")
    if not key:
        raise ParameterError("`secret` is empty; pass the study's secret from the store")
    keys = [str(t) for t in trial_ids]
    if len(set(keys)) != len(keys):
        raise ParameterError("`trial_ids` repeats a trial; give each trial once")
    seed = _digest(key, "reviewer", reviewer)
    ordered = sorted(trial_ids, key=lambda t: _digest(key, seed, "order", t))
    by_side = sorted(trial_ids, key=lambda t: _digest(key, seed, "side", t))
    n_left = len(keys) // 2 + (len(keys) % 2 if seed[0] & 1 else 0)
    a_left = {str(t) for t in by_side[:n_left]}
    return [Assignment(t, i, "A" if str(t) in a_left else "B") for i, t in enumerate(ordered)]


def choice_to_outcome(choice: str, left: str) -> str:
    """What a reviewer's answer says about the conditions.

    Parameters
    ----------
    choice : str
        One of :data:`CHOICES`: ``left``, ``right``, ``equal``, ``cant_tell``.
    left : str
        The condition that was on the left, ``"A"`` or ``"B"``.

    Returns
    -------
    str
        One of :data:`OUTCOMES`: ``"A"``, ``"B"``, ``"tie"`` (equal) or ``"cant_tell"``.

    Raises
    ------
    ParameterError
        On an unknown choice or side.
    """
    if choice not in CHOICES:
        raise ParameterError(f"`choice` must be one of {', '.join(CHOICES)}, got {choice!r}")
    if left not in CONDITIONS:
        raise ParameterError(f"`left` must be 'A' or 'B' (the condition shown on the left), got {left!r}")
    if choice == "equal":
        return "tie"
    if choice == "cant_tell":
        return "cant_tell"
    right = "B" if left == "A" else "A"
    return left if choice == "left" else right


# ----------------------------------------------------------------------------------------- trial preparation
@dataclasses.dataclass(frozen=True, eq=False)
class PreparedTrial:
    """One photo explained under both conditions, ready to store and show.

    Attributes
    ----------
    photo : str
        The photo's name (shown to nobody during the trial by this library; the page decides).
    class_index : int
        The explained class: the top-1 of condition A's model unless given.
    label : str
        Its name (the ``{label}`` of the question).
    image : (h, w, 3) uint8 ndarray
        The photo, long side at most ``max_side``.
    overlay_a, overlay_b : (h, w, 3) uint8 ndarray
        What the reviewer sees for condition A and B (RGB, PNG-ready).
    saliency_a, saliency_b : (h, w) float32 ndarray
        The maps in [0, 1] at the same size.
    probability_a, probability_b : float
        Softmax probability of the class under each condition's model.
    metrics : dict
        ``{"A": {"deletion_auc", "insertion_auc", "kept_fraction", "steps"}, "B": ...}`` when measured, else empty.
    """

    photo: str
    class_index: int
    label: str
    image: np.ndarray
    overlay_a: np.ndarray
    overlay_b: np.ndarray
    saliency_a: np.ndarray
    saliency_b: np.ndarray
    probability_a: float
    probability_b: float
    metrics: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def overlay(self, condition: str) -> np.ndarray:
        """The picture of condition ``"A"`` or ``"B"``."""
        if condition not in CONDITIONS:
            raise ParameterError(f"`condition` must be 'A' or 'B', got {condition!r}")
        return self.overlay_a if condition == "A" else self.overlay_b

    def png(self, condition: str) -> bytes:
        """The picture of condition ``"A"`` or ``"B"`` as PNG bytes (no metadata)."""
        return encode_png(self.overlay(condition))


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W, 3)`` uint8 RGB array, with no text chunks (nothing but pixels)."""
    ok, data = cv2.imencode(".png", np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., ::-1]))
    if not ok:  # pragma: no cover - OpenCV fails only on invalid arrays, which the caller validated
        raise ParameterError("could not encode the picture as PNG")
    return data.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """Inverse of :func:`encode_png`: ``(H, W, 3)`` uint8 RGB."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ParameterError("the stored picture is not a readable PNG")
    return image[..., ::-1].copy()


ModelSource = Callable[[str], LoadedModel] | Mapping[str, LoadedModel]


def _model_getter(load: ModelSource | None) -> Callable[[str], LoadedModel]:
    """A memoised ``name -> LoadedModel`` from a mapping, a loader, or :func:`explainers.load_model`."""
    if load is None:
        from explainers.models import load_model as load
    cache: dict[str, LoadedModel] = {}

    def get(name: str) -> LoadedModel:
        if name not in cache:
            if isinstance(load, Mapping):
                if name not in load:
                    raise ParameterError(f"model '{name}' was not given; pass it in `load` (given: {sorted(load)})")
                cache[name] = load[name]
            else:
                cache[name] = load(name)
        return cache[name]

    return get


def _display(image: np.ndarray, shape: tuple[int, int], interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    if image.shape[:2] == shape:
        return image
    return cv2.resize(image, (shape[1], shape[0]), interpolation=interpolation)


def _picture(image: np.ndarray, explanation: Explanation, render: str) -> np.ndarray:
    # no label written on the picture: the question names the class, and the two sides must look alike
    if render == "native" and explanation.mask is not None:
        return explanation_picture(image, explanation)
    return heatmap_overlay(image, explanation.saliency)


def prepare_trials(
    photos: Sequence[tuple[str, np.ndarray]],
    condition_a: Condition,
    condition_b: Condition,
    *,
    load: ModelSource | None = None,
    class_indices: Mapping[str, int] | None = None,
    max_side: int = PICTURE_MAX_SIDE,
    render: str = "heatmap",
    measure: bool = True,
    steps: int = DEFAULT_STEPS,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> list[PreparedTrial]:
    """Compute both conditions' maps for every photo, once, when a study is created, and measure them.

    The photos go through :func:`explainers.evaluate.evaluate_stream` (the evaluation's batched engine: one
    forward pass per batch and model, SLIC beside the network), so a map is measured in the same pass that
    computes it and equals what Compare shows for the same conditions (up to a batched pass's rounding).

    Parameters
    ----------
    photos : sequence of (name, (H, W, 3) uint8 ndarray)
        The study's photos; names must be unique.
    condition_a, condition_b : explainers.Condition
        The two sides (e.g. :func:`default_conditions`, or Compare's conditions).
    load : mapping of name -> LoadedModel, or callable, optional
        Where the conditions' models come from (the dashboard passes its cached
        loader); default :func:`explainers.load_model`. Each model is loaded once.
    class_indices : mapping of photo name -> int, optional
        The class to explain per photo; by default the top-1 class of condition A's model
        (:func:`explainers.evaluate.shared_class`: model B must name it the same).
    max_side : int
        Long side, in px, of the stored pictures (maps are computed at full resolution).
    render : str
        ``"heatmap"`` (default: both sides as the same colour-map overlay, so
        only the maps differ) or ``"native"`` (SeCAM's masked photo).
    measure : bool
        Measure each map's deletion and insertion curves (``PreparedTrial.metrics``).
    steps : int
        Steps of those curves.
    on_progress : callable, optional
        ``on_progress(done, total, photo)`` after each photo.

    Returns
    -------
    list of PreparedTrial
        One per photo, in the order of ``photos``.

    Raises
    ------
    ParameterError, ImageError, CamNotExactError, WeightsUnavailableError
        Prefixed with the photo's name when one photo fails; nothing is
        returned then, so the caller stores nothing.
    """
    check_conditions(condition_a, condition_b)
    if render not in RENDERS:
        raise ParameterError(f"`render` must be one of {', '.join(RENDERS)}, got {render!r}")
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 32:
        raise ParameterError(f"`max_side` must be an int >= 32, got {max_side!r}")
    photos = list(photos)
    if not photos:
        raise ParameterError("a study needs at least one photo")
    names = [p[0] if isinstance(p, tuple) and len(p) == 2 else None for p in photos]
    if None in names:
        raise TypeError("`photos` must be a sequence of (name, image array) pairs")
    if len(set(names)) != len(names):
        raise ParameterError(f"photo names must be unique; '{next(n for n in names if names.count(n) > 1)}' repeats")
    get = _model_getter(load)
    models = {"A": get(condition_a.model), "B": get(condition_b.model)}
    explainers = {}
    for key, condition in zip(CONDITIONS, (condition_a, condition_b)):
        explainer = condition.explainer()
        try:
            explainer.check_supports(models[key])
        except ExplainersError as exc:
            raise type(exc)(f"condition {key}: {exc}") from None
        explainers[key] = explainer
    trials = []
    wanted = [(class_indices or {}).get(name) for name in names]
    outcomes = evaluate_stream(
        models, photos, explainers, true_classes=wanted, baseline=False, measure=measure, steps=steps
    )
    for done, outcome in enumerate(outcomes, start=1):
        name, image = outcome.file, outcome.image
        if outcome.failure is not None:
            exc = outcome.failure.error
            if not isinstance(exc, ExplainersError):
                raise exc if exc is not None else ExplainersError(outcome.failure.message)
            raise type(exc)(f"{name}: {exc}" if not str(exc).startswith(f"{name}:") else str(exc)) from exc
        rows, found = outcome.results, outcome.explanations
        h, w = image.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        shape = (max(1, round(h * scale)), max(1, round(w * scale)))
        exp_a, exp_b = found["A"], found["B"]
        trials.append(
            PreparedTrial(
                photo=name,
                class_index=exp_a.class_index,
                label=exp_a.label,
                image=_display(image, shape),
                overlay_a=_display(_picture(image, exp_a, render), shape),
                overlay_b=_display(_picture(image, exp_b, render), shape),
                saliency_a=_display(exp_a.saliency.astype(np.float32), shape, cv2.INTER_LINEAR),
                saliency_b=_display(exp_b.saliency.astype(np.float32), shape, cv2.INTER_LINEAR),
                probability_a=float(exp_a.probability),
                probability_b=float(exp_b.probability),
                metrics={row.method: _metrics(row, steps) for row in rows if measure},
            )
        )
        if on_progress is not None:
            on_progress(done, len(photos), name)
    return trials


def _metrics(row: MethodResult, steps: int) -> dict[str, Any]:
    """What a trial stores of one condition's measurement (JSON-ready)."""
    return {
        "deletion_auc": float(row.deletion_auc),
        "insertion_auc": float(row.insertion_auc),
        "kept_fraction": None if row.kept_fraction is None else float(row.kept_fraction),
        "steps": int(steps),
    }
