"""Every method's map of one class on each photo, each measured by the chosen metrics.

Two ways to the same rows:

- :func:`evaluate_loaded`, the batched engine's evaluation step (:mod:`explainers.batched`): one forward
  pass per batch and model, the maps of a method with batch support in one call, then photo by photo
  the other maps and their measurements. The local loop (:func:`explainers.evaluate.iter_evaluate`), the
  Ray actors, the dashboard's Evaluate page and a review study's preparation all run on it.
- :func:`evaluate_photo`, the per-photo API: each method explains the photo on its own.

Both measure through :func:`measure_maps`, the one seam between the evaluation and its metrics: the
chosen registered metrics (:mod:`explainers.metrics`; default deletion and insertion) measure every
map of a photo together (:func:`explainers.metrics.measure_all`), so a map is measured in the same
pass that computes it, and both give the same rows up to the float difference between a batched and
a single-image forward pass (``tests/test_evaluate_engine.py``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..batched import LoadedPhoto, explain_loaded, failure_message, forward_loaded
from ..errors import Cancelled, ParameterError
from ..explanation import Explanation
from ..methods.base import EXPLAINERS, Explainer, get_explainer
from ..metrics.base import METRICS, Metric, get_metric, measure_all
from ..metrics.faithfulness import Faithfulness, kept_fraction, random_saliency
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

#: The metrics an evaluation measures unless told otherwise: the deletion and insertion curves.
DEFAULT_METRICS = ("deletion", "insertion")
#: Metrics whose value goes to a column of its own name in ``COLUMNS`` (the others get one after ``insertion_auc``).
_COLUMN_OF = {"deletion": "deletion_auc", "insertion": "insertion_auc"}


def metric_column(name: str) -> str:
    """The ``results.csv`` column of metric ``name``: ``deletion_auc``, ``insertion_auc``, else the name itself.

    A plug-in whose name is already a column (``probability``...) gets ``metric_NAME``.
    """
    if name in _COLUMN_OF:
        return _COLUMN_OF[name]
    return f"metric_{name}" if name in COLUMNS else name


def result_columns(metrics: Sequence[str] = DEFAULT_METRICS) -> tuple[str, ...]:
    """The columns of ``results.csv`` for a run measuring ``metrics``: ``COLUMNS`` plus one per other metric.

    The extra columns come right after ``insertion_auc``, in the order of ``metrics``.
    """
    extra = [metric_column(m) for m in metrics if m not in _COLUMN_OF]
    at = COLUMNS.index("insertion_auc") + 1
    return (*COLUMNS[:at], *extra, *COLUMNS[at:])


def make_metrics(
    names: Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    server: bool = False,
) -> list[Metric]:
    """The registered metrics named in ``names``, with their parameters checked.

    Parameters
    ----------
    names : sequence of str, optional
        Registered metric names (built-in or plug-in), in the order of the results; default
        :data:`DEFAULT_METRICS`.
    params : mapping of metric -> {parameter: value}, optional
        Parameters of some of the metrics (the others keep their defaults).
    server : bool
        Hold the parameters to a shared server's maximums too.

    Raises
    ------
    ParameterError
        An unknown metric (the message lists the registered ones, plug-ins included), a repeated one,
        none at all, a bad parameter, or parameters for a metric that is not measured.
    """
    names = list(DEFAULT_METRICS if names is None else names)
    params = {} if params is None else params
    if not names:
        raise ParameterError(f"no metrics given; use some of {', '.join(METRICS)}")
    stray = sorted(set(params) - set(names))
    if stray:
        raise ParameterError(
            f"parameters given for metric '{stray[0]}', which is not among the metrics {', '.join(names)}; "
            "add it to the metrics or drop its parameters"
        )
    if len(set(names)) != len(names):
        raise ParameterError(f"a metric is named twice in {', '.join(names)}; name each once")
    metrics = [get_metric(name, **dict(params.get(name, {}))) for name in names]
    if server:
        for metric in metrics:
            metric.check_params(metric.params, server=True)
    return metrics


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
        Wall seconds of the measurements (this map's share of each metric's batch).
    curves : Faithfulness or None
        The deletion and insertion curves (not written to the CSV); None when they were not both measured.
    scores : dict
        Metric name -> value, one per metric measured (``deletion_auc`` and ``insertion_auc`` repeat two
        of them); empty when not measured.
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
    scores: Mapping[str, float | None] = dataclasses.field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The ``results.csv`` row: ``COLUMNS``, then one column per other metric measured (:func:`result_columns`)."""
        out = {c: getattr(self, c) for c in COLUMNS}
        for name, value in self.scores.items():
            out.setdefault(metric_column(name), value)
        return out


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
        Measure each map; without, the rows' AUCs, ``scores`` and ``curves`` are empty.
    **metric_kwargs
        Passed to :func:`measure_maps`: ``metrics`` (from :func:`make_metrics`), or the parameters of
        the default deletion and insertion (``steps``, ``blur_sigma``...).

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
    try:
        target = shared_class(distinct, forwards[id(first)], true_class)
    except ParameterError as exc:
        raise ParameterError(f"{file}: {exc}") from None
    common = _common(file, true_class, forwards[id(first)])
    explanations, explain_s = {}, {}
    for name in names:
        t0 = time.perf_counter()
        # no shared forward pass: each method pays for its own, so the times compare
        [explanations[name]] = explainers[name].explain(models[name], image, targets=[target])
        explain_s[name] = time.perf_counter() - t0
    rows = _measured_rows(
        common,
        models,
        image,
        explanations,
        explain_s,
        target,
        forwards[id(first)],
        seed,
        baseline,
        measure,
        metric_kwargs,
    )
    return rows, explanations


@dataclasses.dataclass(frozen=True, eq=False)
class MapToMeasure:
    """One map for :func:`measure_maps`: which model, photo, map and class, and the method's mask.

    Attributes
    ----------
    model : LoadedModel
    image : (H, W, 3) uint8 ndarray
    saliency : (H, W) float ndarray
    class_index : int
    mask : (H, W) bool ndarray or None
    """

    model: LoadedModel
    image: np.ndarray
    saliency: np.ndarray
    class_index: int
    mask: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class Measured:
    """What :func:`measure_maps` found for one map.

    Attributes
    ----------
    scores : dict
        Metric name -> value (None where the metric gave NaN), in the order of the metrics.
    curves : Faithfulness or None
        The deletion and insertion curves, when both were measured with the same steps.
    kept_fraction : float or None
        Share of the photo the method's mask keeps.
    seconds : float
        This map's share of the measurements' wall time.
    """

    scores: dict[str, float | None]
    curves: Faithfulness | None
    kept_fraction: float | None
    seconds: float


def measure_maps(
    maps: Sequence[MapToMeasure], metrics: Sequence[Metric | str] | None = None, **metric_kwargs: Any
) -> list[Measured]:
    """Every chosen metric of each map: the one seam between an evaluation and its metrics.

    :func:`evaluate_photo` and the batched engine (:func:`evaluate_loaded`, hence the local loop, Ray,
    the Evaluate page and a review's preparation) call it with all the maps of one photo: each
    method's map of one class and the random map, on the same photo. The maps of one model are
    measured together by :func:`explainers.metrics.measure_all` (the photo preprocessed once, its
    blurred copy and superpixels shared by the metrics, the perturbed copies in shared batches).

    Parameters
    ----------
    maps : sequence of MapToMeasure
    metrics : sequence of Metric or str, optional
        The metrics (instances, or registered names with default parameters); default: deletion and
        insertion with ``metric_kwargs``.
    **metric_kwargs
        Without ``metrics``: the parameters of deletion and insertion (``steps``, ``blur_sigma``...).

    Returns
    -------
    list of Measured
        One per map, in order.
    """
    if metrics is None:
        chosen = [get_metric(name, **metric_kwargs) for name in DEFAULT_METRICS]
    else:
        if metric_kwargs:
            raise ParameterError(
                f"give the metrics' parameters to the metrics themselves, not as {', '.join(metric_kwargs)}"
            )
        chosen = [get_metric(m) if isinstance(m, str) else m for m in metrics]
    values: list[dict[str, float | None]] = [{} for _ in maps]
    found: list[dict[str, Any]] = [{} for _ in maps]
    seconds = [0.0] * len(maps)
    for model in dict.fromkeys(m.model for m in maps):
        mine = [i for i, m in enumerate(maps) if m.model is model]
        images = [maps[i].image for i in mine]
        measured = measure_all(
            chosen, model, images, [maps[i].saliency for i in mine], [maps[i].class_index for i in mine]
        )
        for name, scores in measured.items():
            for k, i in enumerate(mine):
                value = float(scores.values[k])
                values[i][name] = None if np.isnan(value) else value
                found[i][name] = scores
                seconds[i] += scores.seconds / len(mine)
    out = []
    for i, m in enumerate(maps):
        out.append(Measured(values[i], _curves(found[i], maps, i), kept_fraction(m.mask), seconds[i]))
    return out


def _curves(found: Mapping[str, Any], maps: Sequence[MapToMeasure], i: int) -> Faithfulness | None:
    """Map ``i``'s deletion and insertion curves as one :class:`Faithfulness`, when both were measured alike."""
    deletion, insertion = found.get("deletion"), found.get("insertion")
    if deletion is None or insertion is None or deletion.fractions is None or insertion.fractions is None:
        return None
    mine = [j for j, m in enumerate(maps) if m.model is maps[i].model].index(i)
    fractions = deletion.fractions[mine]
    if not np.array_equal(fractions, insertion.fractions[mine]):
        return None
    return Faithfulness(
        fractions=fractions,
        deletion=deletion.curves[mine],
        insertion=insertion.curves[mine],
        deletion_auc=float(deletion.values[mine]),
        insertion_auc=float(insertion.values[mine]),
        kept_fraction=kept_fraction(maps[i].mask),
        timings={"curves": (deletion.seconds + insertion.seconds) / len([m for m in maps if m.model is maps[i].model])},
    )


def _measured_rows(
    common: dict,
    models: Mapping[str, LoadedModel],
    image: np.ndarray,
    explanations: Mapping[str, Explanation],
    explain_s: Mapping[str, float],
    target: int,
    first_forward: ForwardPass,
    seed: int,
    baseline: bool,
    measure: bool,
    metric_kwargs: Mapping[str, Any],
) -> list[MethodResult]:
    """One photo's rows: each method's (measured through :func:`measure_maps` when ``measure``), then ``random``."""
    names = list(explanations)
    first = models[names[0]]
    maps = [
        MapToMeasure(models[name], image, explanations[name].saliency, target, explanations[name].mask)
        for name in names
    ]
    if baseline and measure:
        maps.append(MapToMeasure(first, image, random_saliency(image.shape[:2], seed=seed), target))
    curves: list[Measured | None] = list(measure_maps(maps, **metric_kwargs)) if measure else [None] * len(maps)
    rows = [
        _result(common, name, target, models[name], explanations[name].probability, c, explain_s[name])
        for name, c in zip(names, curves)
    ]
    if baseline and measure:
        probability = float(first_forward.probabilities[target])
        rows.append(_result(common, RANDOM, target, first, probability, curves[-1], 0.0))
    return rows


def evaluate_loaded(
    model: LoadedModel | Mapping[str, LoadedModel],
    photos: Sequence[LoadedPhoto],
    explainers: Mapping[str, Explainer],
    *,
    true_classes: Sequence[int | None],
    seeds: Sequence[int],
    baseline: bool = True,
    measure: bool = True,
    **metric_kwargs: Any,
) -> Iterator[PhotoOutcome]:
    """The engine's evaluation step for one loaded batch: the rows of :func:`evaluate_photo` for each photo.

    One forward pass per distinct model for the whole batch; the maps of a method that
    ``supports_batch`` (CAM) in one call; then photo by photo, the other methods' maps from the
    shared pass and every map's curves (:func:`measure_maps`), each photo yielded as soon as it is done.

    Parameters
    ----------
    model : LoadedModel, or mapping of name -> LoadedModel
        As :func:`evaluate_photo`.
    photos : sequence of LoadedPhoto
        One batch of :func:`explainers.batched.load_batches` (failures included).
    explainers : mapping of name -> Explainer
        The rows, in order; the keys of the photos' ``precomputed``.
    true_classes : sequence of int or None
        Each photo's class to explain (None: the first model's top-1), in the order of ``photos``.
    seeds : sequence of int
        Each photo's random-map seed, and its ``PhotoOutcome.index``.
    baseline, measure, **metric_kwargs
        As :func:`evaluate_photo`.

    Yields
    ------
    PhotoOutcome
        One per photo, in order; a photo that fails has its :class:`PhotoFailure` (the others go on).

    Raises
    ------
    explainers.progress.Cancelled
        If the caller cancelled the work.
    """
    names = list(explainers)
    models = {name: (model[name] if isinstance(model, Mapping) else model) for name in names}
    batch = _Batch(explainers, models, list(dict.fromkeys(models.values())))
    errors: dict[int, BaseException] = {p.index: p.error for p in photos if p.error is not None}
    good = [p for p in photos if p.error is None]
    if good:
        try:
            for m in batch.distinct:
                t0 = time.perf_counter()
                batch.passes[id(m)], batch.features[id(m)] = forward_loaded(m, good)
                batch.forward_s[id(m)] = (time.perf_counter() - t0) / len(good)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 (the batch's pass failed: each of its photos says so)
            errors.update({p.index: exc for p in good})
            good = []
    batch.position = {p.index: i for i, p in enumerate(good)}
    wanted = {p.index: true_classes[k] for k, p in enumerate(photos)}
    for p in good:
        try:
            batch.targets[p.index] = shared_class(batch.distinct, batch.first_pass(p), wanted[p.index])
        except ParameterError as exc:
            errors[p.index] = ParameterError(f"{p.name}: {exc}")
    ready = [p for p in good if p.index in batch.targets]
    for name in names:
        if explainers[name].supports_batch and ready:  # every photo's map in one call
            t0 = time.perf_counter()
            batch.explained[name] = batch.explain(name, ready)
            batch.shares[name] = (time.perf_counter() - t0) / len(ready)
    for k, p in enumerate(photos):
        error = errors.get(p.index)
        if error is None:
            try:
                rows, found = batch.photo_rows(p, wanted[p.index], seeds[k], baseline, measure, metric_kwargs)
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 (this photo fails; the others go on)
                error = exc
            else:
                yield PhotoOutcome(seeds[k], p.name, rows, found, p.image)
                continue
        yield PhotoOutcome(seeds[k], p.name, [], {}, p.image, PhotoFailure.of(p.name, error))


@dataclasses.dataclass(eq=False)
class _Batch:
    """The shared state of one batch in :func:`evaluate_loaded`: passes, features, targets, maps so far."""

    explainers: Mapping[str, Explainer]
    models: Mapping[str, LoadedModel]
    distinct: list[LoadedModel]
    passes: dict[int, list[ForwardPass]] = dataclasses.field(default_factory=dict)
    features: dict[int, torch.Tensor] = dataclasses.field(default_factory=dict)
    forward_s: dict[int, float] = dataclasses.field(default_factory=dict)
    position: dict[int, int] = dataclasses.field(default_factory=dict)
    targets: dict[int, int] = dataclasses.field(default_factory=dict)
    explained: dict[str, dict[int, Explanation | Exception]] = dataclasses.field(default_factory=dict)
    shares: dict[str, float] = dataclasses.field(default_factory=dict)

    def first_pass(self, photo: LoadedPhoto) -> ForwardPass:
        return self.passes[id(self.distinct[0])][self.position[photo.index]]

    def explain(self, name: str, photos: Sequence[LoadedPhoto]) -> dict[int, Explanation | Exception]:
        """Method ``name``'s map of each photo's target class, from the photos' shares of the batched pass."""
        model = self.models[name]
        rows = [self.position[p.index] for p in photos]
        features = self.features[id(model)]
        if len(rows) != features.shape[0]:
            features = features[torch.tensor(rows, device=features.device)]
        found = explain_loaded(
            self.explainers[name],
            name,
            model,
            photos,
            [self.passes[id(model)][i] for i in rows],
            [[self.targets[p.index]] for p in photos],
            features,
        )
        return {p.index: (f if isinstance(f, Exception) else f[0]) for p, f in zip(photos, found)}

    def photo_rows(
        self,
        photo: LoadedPhoto,
        true_class: int | None,
        seed: int,
        baseline: bool,
        measure: bool,
        metric_kwargs: Mapping[str, Any],
    ) -> tuple[list[MethodResult], dict[str, Explanation]]:
        """One photo's maps (the methods without batch support run now) and measured rows; raises what failed."""
        found, explain_s = {}, {}
        for name, model in self.models.items():
            share = self.shares.get(name, 0.0)
            done = self.explained.get(name, {})
            if photo.index not in done:  # a method without batch support: this photo's turn
                t0 = time.perf_counter()
                done = self.explain(name, [photo])
                share = time.perf_counter() - t0
            explanation = done.pop(photo.index)
            if isinstance(explanation, Exception):
                raise explanation
            found[name] = explanation
            explain_s[name] = self.forward_s[id(model)] + share
        forward = self.first_pass(photo)
        target = self.targets[photo.index]
        common = _common(photo.name, true_class, forward)
        image: np.ndarray = photo.image  # type: ignore[assignment]  # loaded photos have their pixels
        rows = _measured_rows(
            common, self.models, image, found, explain_s, target, forward, seed, baseline, measure, metric_kwargs
        )
        return rows, found


def _common(file: str, true_class: int | None, forward: ForwardPass) -> dict[str, Any]:
    """The fields every row of one photo shares, from the first model's pass."""
    predicted = forward.top(1)[0]
    return {
        "file": file,
        "true_class": true_class,
        "predicted_class": predicted,
        "predicted_probability": float(forward.probabilities[predicted]),
        "correct": None if true_class is None else predicted == true_class,
    }


def _result(
    common: dict,
    method: str,
    target: int,
    model: LoadedModel,
    probability: float,
    measured: Measured | None,
    explain_s: float,
) -> MethodResult:
    scores = {} if measured is None else dict(measured.scores)
    return MethodResult(
        method=method,
        class_index=target,
        label=model.labels[target],
        probability=probability,
        deletion_auc=scores.get("deletion"),
        insertion_auc=scores.get("insertion"),
        kept_fraction=None if measured is None else measured.kept_fraction,
        explain_s=explain_s,
        metrics_s=0.0 if measured is None else measured.seconds,
        curves=None if measured is None else measured.curves,
        scores=scores,
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
    #: the exception itself (for a caller that re-raises it, e.g. a review's preparation); not compared
    error: BaseException | None = dataclasses.field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, file: str, error: BaseException) -> PhotoFailure:
        """The failure of photo ``file`` from the exception it raised (:func:`explainers.batched.failure_message`)."""
        return cls(file, failure_message(file, error), error)


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
