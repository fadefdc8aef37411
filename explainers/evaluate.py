"""Dataset evaluation: every method on every photo, with faithfulness, timings and a summary.

One loop, :func:`iter_evaluate`, yields one :class:`PhotoOutcome` per photo (its rows, its
explanations, or why it failed); the CLI's ``evaluate``, the dashboard's Batch page and
:func:`evaluate_photos` all consume it. Each photo is :func:`evaluate_photo`, the per-photo step that
the Compare page's faithfulness view and the Ray engine call directly. :func:`summarize` gives the
per-method means with bootstrap intervals.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import EXPLAINERS, Explainer, get_explainer
from .errors import ExplainersError, ParameterError
from .explanation import Explanation
from .images import IMAGE_SUFFIXES, load_image
from .metrics import Faithfulness, faithfulness, random_saliency
from .models.loaded import LoadedModel

#: Name of the random-map baseline row (not an explainer: a map every method must beat).
RANDOM = "random"

#: Columns of ``results.csv``, in order.
COLUMNS = ("file", "method", "class_index", "label", "true_class", "predicted_class", "predicted_probability",
           "correct", "probability", "deletion_auc", "insertion_auc", "kept_fraction", "explain_s", "metrics_s")

#: How ``ci95`` is computed, as ``summary.json`` states it.
INTERVAL = "95% bootstrap percentile interval of the mean (2000 resamples, seed 0)"
#: Per-method quantities that :func:`summarize` averages.
SUMMARY_FIELDS = ("deletion_auc", "insertion_auc", "kept_fraction", "explain_s", "metrics_s", "probability")


@dataclasses.dataclass(frozen=True)
class MethodResult:
    """One method on one photo.

    Attributes
    ----------
    file : str
        Photo file name.
    method : str
        Explainer name, or ``"random"`` for the random-map baseline.
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
    deletion_auc, insertion_auc : float
    kept_fraction : float or None
        Share of the photo the method's mask keeps (SeCAM, LIME).
    explain_s : float
        Wall seconds of ``explain`` (its own forward pass included; 0 for ``random``).
    metrics_s : float
        Wall seconds of both faithfulness curves.
    curves : Faithfulness
        The curves themselves (not written to the CSV).
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
    deletion_auc: float
    insertion_auc: float
    kept_fraction: float | None
    explain_s: float
    metrics_s: float
    curves: Faithfulness = dataclasses.field(repr=False, compare=False)

    def row(self) -> dict[str, Any]:
        """The ``results.csv`` row (``COLUMNS``)."""
        return {c: getattr(self, c) for c in COLUMNS}


def collect_photos(source: str | Path) -> list[Path]:
    """Photos named by a folder, a glob pattern or one file, sorted by name.

    Parameters
    ----------
    source : str or Path
        A folder (its image files, not recursive), a glob such as ``"photos/*.jpg"``,
        or a file.

    Returns
    -------
    list of Path

    Raises
    ------
    ParameterError
        If nothing matches.
    """
    path = Path(source)
    if path.is_dir():
        photos = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    elif path.is_file():
        photos = [path]
    else:
        photos = [Path(p) for p in glob.glob(str(source)) if Path(p).is_file()]
    if not photos:
        raise ParameterError(f"no image files in '{source}'; give a folder, a glob such as 'dir/*.jpg', or files "
                             f"ending in {', '.join(IMAGE_SUFFIXES)}")
    return sorted(photos, key=lambda p: p.name)


def read_labels_csv(path: str | Path) -> dict[str, int]:
    """Read a labels file: a CSV with a header holding ``file`` and ``class_index`` columns.

    Returns
    -------
    dict
        File name (without folder) -> class index.

    Raises
    ------
    ParameterError
        If the file is missing, lacks the columns, or a class index is not an integer.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"labels file {path} not found")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"file", "class_index"} <= set(reader.fieldnames):
            raise ParameterError(f"labels file {path} needs a header with 'file' and 'class_index' columns, "
                                 f"got {reader.fieldnames}")
        labels = {}
        for line, record in enumerate(reader, start=2):
            try:
                labels[Path(record["file"]).name] = int(record["class_index"])
            except (TypeError, ValueError):
                raise ParameterError(f"labels file {path}, line {line}: class_index must be an integer, "
                                     f"got {record['class_index']!r}") from None
    return labels


def make_explainers(methods: Sequence[str], model: LoadedModel,
                    params: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Explainer]:
    """The explainers named in ``methods``, with their parameters, checked against ``model``.

    Parameters
    ----------
    methods : sequence of str
        Registered names (built-in or plug-in), in the order of the results.
    model : LoadedModel
    params : mapping of method -> {parameter: value}, optional
        Parameters of some of the methods (the others keep their defaults), e.g. the CLI's
        ``--METHOD-PARAM`` flags or the Batch page's inputs.

    Raises
    ------
    ParameterError
        Unknown or repeated method, a bad parameter, parameters for a method that is not run, or a
        method that needs a GAP + linear head the model lacks.
    """
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise TypeError(f"`params` must map a method name to its parameters ({{METHOD: {{PARAM: value}}}}), "
                        f"got {type(params).__name__}")
    stray = sorted(set(params) - set(methods))
    if stray:
        raise ParameterError(f"parameters given for '{stray[0]}', which is not among the methods "
                             f"{', '.join(methods) or '(none)'}; add it to the methods or drop its parameters")
    explainers: dict[str, Explainer] = {}
    for name in methods:
        if name in explainers or name == RANDOM:
            raise ParameterError(f"method '{name}' is repeated or reserved (the random baseline is always added)")
        explainer = get_explainer(name, **dict(params.get(name, {})))
        if explainer.requires_exact_cam and not model.cam_exact:
            others = [n for n, cls in EXPLAINERS.items() if not cls.requires_exact_cam]
            raise ParameterError(f"{name} needs a GAP + linear head and '{model.name}' has another "
                                 f"({model.gap_check.detail}); drop it or use one of {', '.join(others)}")
        explainers[name] = explainer
    if not explainers:
        raise ParameterError(f"no methods given; use some of {', '.join(EXPLAINERS)}")
    return explainers


def evaluate_photo(model: LoadedModel, image: np.ndarray, explainers: Mapping[str, Explainer], file: str = "image",
                   true_class: int | None = None, seed: int = 0, **metric_kwargs: Any
                   ) -> tuple[list[MethodResult], dict[str, Any]]:
    """Explain one photo with every method (plus the random map) and measure each map.

    Parameters
    ----------
    model : LoadedModel
    image : (H, W, 3) uint8 ndarray
    explainers : mapping of name -> Explainer
    file : str
        Name recorded in the rows.
    true_class : int, optional
        Explained when given; else the top-1 prediction is.
    seed : int
        Seed of the random map.
    **metric_kwargs
        Passed to :func:`explainers.metrics.faithfulness` (``steps``, ``blur_sigma``...).

    Returns
    -------
    rows : list of MethodResult
        One per method, then ``random``.
    explanations : dict
        Method name -> Explanation, for overlays.
    """
    forward = model.forward(image)
    predicted = forward.top(1)[0]
    target = predicted if true_class is None else true_class
    common = {"file": file, "true_class": true_class, "predicted_class": predicted,
              "predicted_probability": float(forward.probabilities[predicted]),
              "correct": None if true_class is None else predicted == true_class}
    rows, explanations = [], {}
    for name, explainer in explainers.items():
        t0 = time.perf_counter()
        # no shared forward pass: each method pays for its own, so the times compare
        [explanation] = explainer.explain(model, image, targets=[target])
        explain_s = time.perf_counter() - t0
        curves = faithfulness(model, image, explanation.saliency, target, mask=explanation.mask, **metric_kwargs)
        explanations[name] = explanation
        rows.append(_result(common, name, target, model, explanation.probability, curves, explain_s))
    curves = faithfulness(model, image, random_saliency(image.shape[:2], seed=seed), target, **metric_kwargs)
    rows.append(_result(common, RANDOM, target, model, float(forward.probabilities[target]), curves, 0.0))
    return rows, explanations


def _result(common: dict, method: str, target: int, model: LoadedModel, probability: float,
            curves: Faithfulness, explain_s: float) -> MethodResult:
    return MethodResult(method=method, class_index=target, label=model.labels[target], probability=probability,
                        deletion_auc=curves.deletion_auc, insertion_auc=curves.insertion_auc,
                        kept_fraction=curves.kept_fraction, explain_s=explain_s,
                        metrics_s=curves.timings["curves"], curves=curves, **common)


#: Bootstrap resamples of :func:`mean_interval` (seeded: the same values give the same interval).
BOOTSTRAP_RESAMPLES = 2000


def mean_interval(values: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> dict[str, Any]:
    """Mean and 95% bootstrap percentile interval of the mean.

    The interval is the 2.5th and 97.5th percentiles of the means of ``resamples``
    resamples with replacement, so it never leaves the range of the values
    themselves: an AUC's interval stays in [0, 1] even for two photos, where a
    Student-t interval (mean +/- t * s / sqrt(n)) went from -0.33 to 0.49. With few
    photos it is narrow because there is little to resample; read ``n``.

    Returns
    -------
    dict
        ``{"n", "mean", "ci95": [low, high] or None}`` (None below two values). None and NaN are left out.
    """
    x = np.asarray([v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))],
                   dtype=np.float64)
    if x.size == 0:
        return {"n": 0, "mean": None, "ci95": None}
    mean = float(x.mean())
    if x.size < 2:
        return {"n": 1, "mean": mean, "ci95": None}
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"n": int(x.size), "mean": mean, "ci95": [float(low), float(high)]}


def summarize(results: Sequence[MethodResult]) -> dict[str, Any]:
    """Per-method means with 95% bootstrap intervals (:func:`mean_interval`), mean curves, and accuracy.

    Parameters
    ----------
    results : sequence of MethodResult

    Returns
    -------
    dict
        ``{"photos", "accuracy", "methods": {name: {field: mean_interval, "curves": {...}}}}``;
        ``accuracy`` is None without labels.
    """
    methods: dict[str, Any] = {}
    for name in dict.fromkeys(r.method for r in results):
        mine = [r for r in results if r.method == name]
        entry = {f: mean_interval([getattr(r, f) for r in mine]) for f in SUMMARY_FIELDS}
        entry["curves"] = {
            "fractions": mine[0].curves.fractions.tolist(),
            "deletion": np.mean([r.curves.deletion for r in mine], axis=0).tolist(),
            "insertion": np.mean([r.curves.insertion for r in mine], axis=0).tolist(),
        }
        methods[name] = entry
    photos = {r.file: r for r in results}
    judged = [r.correct for r in photos.values() if r.correct is not None]
    accuracy = {"top1": float(np.mean(judged)), "n": len(judged)} if judged else None
    return {"photos": len(photos), "accuracy": accuracy, "interval": INTERVAL, "methods": methods}


@dataclasses.dataclass(frozen=True)
class PhotoFailure:
    """A photo :func:`evaluate_photos` could not evaluate.

    Attributes
    ----------
    file : str
        Photo file name.
    message : str
        Why, and what to do (the library's error message).
    """

    file: str
    message: str


@dataclasses.dataclass(frozen=True, eq=False)
class PhotoOutcome:
    """What :func:`iter_evaluate` yields for one photo: its rows, or why it failed.

    Attributes
    ----------
    index : int
        Position of the photo in the input (from 0); also the seed of its random map.
    file : str
        Photo file name.
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


def iter_evaluate(model: LoadedModel, photos: Iterable[str | Path | tuple[str, bytes]],
                  explainers: Mapping[str, Explainer], labels: Mapping[str, int] | None = None,
                  **metric_kwargs: Any) -> Iterator[PhotoOutcome]:
    """The evaluation loop: :func:`evaluate_photo` on each photo in turn; a bad photo is recorded, not raised.

    Parameters
    ----------
    model : LoadedModel
    photos : iterable of path or (name, bytes)
        Files on disk, or uploaded files as ``(file name, encoded bytes)``.
    explainers : mapping of name -> Explainer
        From :func:`make_explainers`.
    labels : mapping of file name -> class index, optional
        From :func:`read_labels_csv`; then every photo must be listed and its true class is explained.
    **metric_kwargs
        Passed to :func:`explainers.metrics.faithfulness` (``steps``...).

    Yields
    ------
    PhotoOutcome
        One per photo, in order, as soon as it is done (a caller can stop early: Ctrl-C, a cancel button).

    Notes
    -----
    Photo ``i`` (from 0) uses ``seed=i`` for its random map. Errors other than the library's
    (:class:`~explainers.ExplainersError`) are recorded as "unexpected" with their type, so one photo
    cannot lose the others' results; ``KeyboardInterrupt`` still stops the loop.
    """
    for index, photo in enumerate(photos):
        name, source = (photo[0], photo[1]) if isinstance(photo, tuple) else (Path(photo).name, photo)
        image = None
        try:
            true_class = None
            if labels is not None:
                if name not in labels:
                    raise ParameterError(f"{name}: not in the labels file")
                true_class = int(labels[name])
                if not 0 <= true_class < model.num_classes:
                    raise ParameterError(f"{name}: class_index {true_class} is outside 0..{model.num_classes - 1}")
            image = load_image(source, name=name)
            rows, explanations = evaluate_photo(model, image, explainers, file=name, true_class=true_class,
                                                seed=index, **metric_kwargs)
        except ExplainersError as exc:
            yield PhotoOutcome(index, name, [], {}, image, PhotoFailure(name, str(exc)))
        except Exception as exc:  # a bug or a resource error on one photo must not lose the others' results
            message = f"{name}: unexpected {type(exc).__name__}: {exc}".splitlines()[0]
            yield PhotoOutcome(index, name, [], {}, image, PhotoFailure(name, message))
        else:
            yield PhotoOutcome(index, name, rows, explanations, image)


def evaluate_photos(model: LoadedModel, photos: Sequence[str | Path | tuple[str, bytes]],
                    explainers: Mapping[str, Explainer], labels: Mapping[str, int] | None = None,
                    on_progress: Callable[[int, int, str], None] | None = None, **metric_kwargs: Any
                    ) -> tuple[list[MethodResult], list[PhotoFailure]]:
    """:func:`iter_evaluate` collected: every photo's rows, and the photos that failed.

    Parameters
    ----------
    model, photos, explainers, labels, **metric_kwargs
        As :func:`iter_evaluate`.
    on_progress : callable, optional
        Called after each photo, evaluated or failed, as ``on_progress(done, total, file)``.

    Returns
    -------
    results : list of MethodResult
        The rows of the photos that worked, photo by photo (methods, then ``random``).
    failures : list of PhotoFailure
        One per photo that could not be read or evaluated, in order.
    """
    results: list[MethodResult] = []
    failures: list[PhotoFailure] = []
    for outcome in iter_evaluate(model, photos, explainers, labels, **metric_kwargs):
        results.extend(outcome.results)
        if outcome.failure is not None:
            failures.append(outcome.failure)
        if on_progress is not None:
            on_progress(outcome.index + 1, len(photos), outcome.file)
    return results, failures


def results_csv(results: Sequence[MethodResult]) -> str:
    """``results.csv`` (header ``COLUMNS``) of ``results`` as text, for a download."""
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        writer.writerow(result.row())
    return buffer.getvalue()
