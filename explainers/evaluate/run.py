"""One photo: every method's map of one class, each measured by the faithfulness curves.

:func:`evaluate_photo` is the one per-photo step: the local engine's loop (:func:`explainers.evaluate.iter_evaluate`),
the Ray actors, the dashboard's Evaluate page and a review study's preparation all call it, so a map is
measured in the same pass that computes it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..explanation import Explanation
from ..methods.base import EXPLAINERS, Explainer, get_explainer
from ..metrics.faithfulness import Faithfulness, faithfulness, random_saliency
from ..models.loaded import ForwardPass, LoadedModel
from ..models.spec import ModelSpec

#: Name of the random-map baseline row (not an explainer: a map every method must beat).
RANDOM = "random"

#: Columns of ``results.csv``, in order.
COLUMNS = (
    "file",
    "method",
    "class_index",
    "label",
    "true_class",
    "predicted_class",
    "predicted_probability",
    "correct",
    "probability",
    "deletion_auc",
    "insertion_auc",
    "kept_fraction",
    "explain_s",
    "metrics_s",
)


@dataclasses.dataclass(frozen=True)
class MethodResult:
    """One method on one photo.

    Attributes
    ----------
    file : str
        The photo's key: its path relative to the run's folder (:func:`explainers.evaluate.photo_keys`).
    method : str
        Explainer name (or a condition's name), or ``"random"`` for the random-map baseline.
    class_index, label :
        The explained class (the true class with labels, else the top-1 prediction).
    true_class : int or None
        From the labels file.
    predicted_class : int
        The model's top-1 class.
    predicted_probability : float
        Its softmax probability.
    correct : bool or None
        ``predicted_class == true_class`` (None without labels).
    probability : float
        Softmax probability of the explained class on the intact photo.
    deletion_auc, insertion_auc : float or None
        None when the map was not measured.
    kept_fraction : float or None
        Share of the photo the method's mask keeps (SeCAM, LIME).
    explain_s : float
        Wall seconds of ``explain`` (its own forward pass included; 0 for ``random``).
    metrics_s : float
        Wall seconds of both faithfulness curves.
    curves : Faithfulness or None
        The curves themselves (not written to the CSV); None when not measured.
    """

    file: str
    method: str
    class_index: int
    label: str
    true_class: int | None
    predicted_class: int
    predicted_probability: float
    correct: bool | None
    probability: float
    deletion_auc: float | None
    insertion_auc: float | None
    kept_fraction: float | None
    explain_s: float
    metrics_s: float
    curves: Faithfulness | None = dataclasses.field(repr=False, compare=False)

    def row(self) -> dict[str, Any]:
        """The ``results.csv`` row (``COLUMNS``)."""
        return {c: getattr(self, c) for c in COLUMNS}


def make_explainers(
    methods: Sequence[str],
    model: LoadedModel | ModelSpec,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    server: bool = False,
) -> dict[str, Explainer]:
    """The explainers named in ``methods``, with their parameters, checked against ``model``.

    Parameters
    ----------
    methods : sequence of str
        Registered names (built-in or plug-in), in the order of the results.
    model : LoadedModel or ModelSpec
        The model they will explain; a registry entry is enough (the Ray driver checks before any
        worker loads the model).
    params : mapping of method -> {parameter: value}, optional
        Parameters of some of the methods (the others keep their defaults), e.g. the CLI's
        ``--METHOD-PARAM`` flags or the Evaluate page's inputs.
    server : bool
        Hold the parameters to a shared server's maximums too (:meth:`Explainer.check_params`).

    Raises
    ------
    ParameterError
        Unknown or repeated method, a bad parameter, or parameters for a method that is not run.
    CamNotExactError
        A method that needs a GAP + linear head the model lacks (:meth:`Explainer.check_supports`).
    """
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise TypeError(
            f"`params` must map a method name to its parameters ({{METHOD: {{PARAM: value}}}}), "
            f"got {type(params).__name__}"
        )
    stray = sorted(set(params) - set(methods))
    if stray:
        raise ParameterError(
            f"parameters given for '{stray[0]}', which is not among the methods "
            f"{', '.join(methods) or '(none)'}; add it to the methods or drop its parameters"
        )
    explainers: dict[str, Explainer] = {}
    for name in methods:
        if name in explainers or name == RANDOM:
            raise ParameterError(f"method '{name}' is repeated or reserved (the random baseline is always added)")
        explainer = get_explainer(name, **dict(params.get(name, {})))
        if server:
            explainer.check_params(explainer.params, server=True)
        explainer.check_supports(model)
        explainers[name] = explainer
    if not explainers:
        raise ParameterError(f"no methods given; use some of {', '.join(EXPLAINERS)}")
    return explainers


def shared_class(models: Sequence[LoadedModel], forward: ForwardPass, class_index: int | None = None) -> int:
    """The one class several models explain on a photo: ``class_index``, else the first model's top-1.

    Every other model must have the same class at the same index (the same label), so all the maps
    explain one thing.

    Parameters
    ----------
    models : sequence of LoadedModel
        The first one's ``forward`` pass picks the class when ``class_index`` is None.
    forward : ForwardPass
        The first model's pass on the photo.
    class_index : int, optional

    Raises
    ------
    ParameterError
        If ``class_index`` is not a class of the first model, or another model names it differently.
    """
    first = models[0]
    if class_index is None:
        class_index = forward.top(1)[0]
    if (
        isinstance(class_index, bool)
        or not isinstance(class_index, (int, np.integer))
        or not 0 <= class_index < first.num_classes
    ):
        raise ParameterError(f"class {class_index!r} is not a class of '{first.name}' (0..{first.num_classes - 1})")
    class_index = int(class_index)
    label = first.labels[class_index]
    for other in models[1:]:
        if class_index >= other.num_classes or other.labels[class_index] != label:
            found = other.labels[class_index] if class_index < other.num_classes else "nothing"
            raise ParameterError(
                f"class {class_index} is '{label}' for '{first.name}' but {found!r} for "
                f"'{other.name}'; compare models with the same classes"
            )
    return class_index


def evaluate_photo(
    model: LoadedModel | Mapping[str, LoadedModel],
    image: np.ndarray,
    explainers: Mapping[str, Explainer],
    file: str = "image",
    true_class: int | None = None,
    seed: int = 0,
    baseline: bool = True,
    measure: bool = True,
    **metric_kwargs: Any,
) -> tuple[list[MethodResult], dict[str, Explanation]]:
    """Explain one photo with every method (plus the random map) and measure each map.

    Parameters
    ----------
    model : LoadedModel, or mapping of name -> LoadedModel
        The model every method explains, or each method's own model (the keys of ``explainers``; a
        review study may compare one method on two models).
    image : (H, W, 3) uint8 ndarray
    explainers : mapping of name -> Explainer
        The rows, in order (a method name, or a condition's name such as ``"A"``).
    file : str
        The photo's key, recorded in the rows.
    true_class : int, optional
        Explained when given; else the top-1 prediction of the first method's model is
        (:func:`shared_class`).
    seed : int
        Seed of the random map.
    baseline : bool
        Add the random-map row (measured on the first method's model).
    measure : bool
        Measure each map's faithfulness curves; without, the rows' AUCs and ``curves`` are None.
    **metric_kwargs
        Passed to :func:`explainers.metrics.faithfulness` (``steps``, ``blur_sigma``...).

    Returns
    -------
    rows : list of MethodResult
        One per method, then ``random``.
    explanations : dict
        Name -> Explanation, for overlays and stored pictures.
    """
    names = list(explainers)
    models = {name: (model[name] if isinstance(model, Mapping) else model) for name in names}
    distinct = list(dict.fromkeys(models.values()))
    first = distinct[0]
    forwards = {id(first): first.forward(image)}
    predicted = forwards[id(first)].top(1)[0]
    try:
        target = shared_class(distinct, forwards[id(first)], true_class)
    except ParameterError as exc:
        raise ParameterError(f"{file}: {exc}") from None
    common = {
        "file": file,
        "true_class": true_class,
        "predicted_class": predicted,
        "predicted_probability": float(forwards[id(first)].probabilities[predicted]),
        "correct": None if true_class is None else predicted == true_class,
    }
    rows, explanations = [], {}
    for name in names:
        explainer, used = explainers[name], models[name]
        t0 = time.perf_counter()
        # no shared forward pass: each method pays for its own, so the times compare
        [explanation] = explainer.explain(used, image, targets=[target])
        explain_s = time.perf_counter() - t0
        curves = (
            faithfulness(used, image, explanation.saliency, target, mask=explanation.mask, **metric_kwargs)
            if measure
            else None
        )
        explanations[name] = explanation
        rows.append(_result(common, name, target, used, explanation.probability, curves, explain_s))
    if baseline and measure:
        curves = faithfulness(first, image, random_saliency(image.shape[:2], seed=seed), target, **metric_kwargs)
        rows.append(
            _result(common, RANDOM, target, first, float(forwards[id(first)].probabilities[target]), curves, 0.0)
        )
    return rows, explanations


def _result(
    common: dict,
    method: str,
    target: int,
    model: LoadedModel,
    probability: float,
    curves: Faithfulness | None,
    explain_s: float,
) -> MethodResult:
    if curves is None:
        return MethodResult(
            method=method,
            class_index=target,
            label=model.labels[target],
            probability=probability,
            deletion_auc=None,
            insertion_auc=None,
            kept_fraction=None,
            explain_s=explain_s,
            metrics_s=0.0,
            curves=None,
            **common,
        )
    return MethodResult(
        method=method,
        class_index=target,
        label=model.labels[target],
        probability=probability,
        deletion_auc=curves.deletion_auc,
        insertion_auc=curves.insertion_auc,
        kept_fraction=curves.kept_fraction,
        explain_s=explain_s,
        metrics_s=curves.timings["curves"],
        curves=curves,
        **common,
    )


@dataclasses.dataclass(frozen=True)
class PhotoFailure:
    """A photo that could not be evaluated.

    Attributes
    ----------
    file : str
        The photo's key.
    message : str
        Why, and what to do (the library's error message).
    """

    file: str
    message: str


@dataclasses.dataclass(frozen=True, eq=False)
class PhotoOutcome:
    """What :func:`explainers.evaluate.iter_evaluate` yields for one photo: its rows, or why it failed.

    Attributes
    ----------
    index : int
        Position of the photo in the input (from 0); also the seed of its random map.
    file : str
        The photo's key.
    results : list of MethodResult
        One per method, then ``random``; empty when the photo failed.
    explanations : dict
        Method name -> Explanation (for overlays and galleries); empty when the photo failed.
    image : (H, W, 3) uint8 ndarray or None
        The decoded photo; None when it could not be read.
    failure : PhotoFailure or None
        Why the photo could not be evaluated.
    """

    index: int
    file: str
    results: list[MethodResult]
    explanations: dict[str, Explanation]
    image: np.ndarray | None
    failure: PhotoFailure | None = None
