"""The local engine: photos through the batched engine (:mod:`explainers.batched`), evaluated in this process.

:func:`evaluate_stream` is the loop every evaluation runs: :func:`iter_evaluate` (files and uploads:
the CLI's local engine, the dashboard's Evaluate page), each Ray actor on its batch, and a review
study's preparation (two conditions, possibly two models, no random row).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..batched import Failed, ImageSource, check_options, load_batches
from ..errors import ExplainersError
from ..methods.base import Explainer
from ..models.loaded import LoadedModel
from .photos import photo_keys, true_class
from .run import MethodResult, PhotoFailure, PhotoOutcome, evaluate_loaded

#: What a run reads: a file, or an upload as ``(key, encoded bytes)``.
PhotoSource = str | os.PathLike | tuple[str, bytes]


def keyed(photos: Iterable[PhotoSource]) -> list[tuple[str, str | os.PathLike | bytes]]:
    """``(key, source)`` of each photo: files get :func:`~explainers.evaluate.photo_keys`, uploads keep their name."""
    photos = list(photos)
    files = [p for p in photos if not isinstance(p, tuple)]
    keys = iter(photo_keys(files))
    return [(str(p[0]), p[1]) if isinstance(p, tuple) else (next(keys), p) for p in photos]


def evaluate_stream(
    model: LoadedModel | Mapping[str, LoadedModel],
    items: Sequence[tuple[str, ImageSource | Failed]],
    explainers: Mapping[str, Explainer],
    *,
    true_classes: Sequence[int | None] | None = None,
    seeds: Sequence[int] | None = None,
    baseline: bool = True,
    measure: bool = True,
    batch_size: int | None = None,
    workers: int | None = None,
    decoder: str = "auto",
    **metric_kwargs: Any,
) -> Iterator[PhotoOutcome]:
    """Evaluate photos on the batched engine: load, one forward pass per batch, maps, curves; one outcome per photo.

    Parameters
    ----------
    model : LoadedModel, or mapping of name -> LoadedModel
        The model every method explains, or each method's own (as :func:`evaluate_photo`).
    items : sequence of (key, source)
        ``source``: a path, encoded bytes, ``(name, bytes)``, a decoded ``(H, W, 3)`` uint8 array, or
        :class:`explainers.batched.Failed` for a photo already known to be unusable.
    explainers : mapping of name -> Explainer
        The rows, in order.
    true_classes : sequence of int or None, optional
        Each photo's class to explain (default: each photo's top-1).
    seeds : sequence of int, optional
        Each photo's random-map seed and outcome index (default: its position, from 0).
    baseline, measure : bool
        As :func:`evaluate_photo`.
    batch_size, workers, decoder :
        The engine's options (:func:`explainers.batched.check_options`).
    **metric_kwargs
        Passed to the metric (:func:`~explainers.evaluate.run.measure_maps`).

    Yields
    ------
    PhotoOutcome
        One per item, in order, each as soon as it is done.

    Raises
    ------
    ParameterError
        Bad engine options (before any photo is read).
    explainers.progress.Cancelled
        If the caller cancelled the work.
    """
    names = list(explainers)
    models = {name: (model[name] if isinstance(model, Mapping) else model) for name in names}
    first = models[names[0]]
    batch_size, workers, decoder = check_options(first.device, batch_size, workers, decoder)
    true_classes = [None] * len(items) if true_classes is None else list(true_classes)
    seeds = list(range(len(items))) if seeds is None else list(seeds)
    for batch in load_batches(
        items,
        sizes=list(dict.fromkeys(m.input_size for m in models.values())),
        explainers=explainers,
        device=first.device,
        batch_size=batch_size,
        workers=workers,
        decoder=decoder,
    ):
        yield from evaluate_loaded(
            models,
            batch,
            explainers,
            true_classes=[true_classes[p.index] for p in batch],
            seeds=[seeds[p.index] for p in batch],
            baseline=baseline,
            measure=measure,
            **metric_kwargs,
        )


def iter_evaluate(
    model: LoadedModel,
    photos: Iterable[PhotoSource],
    explainers: Mapping[str, Explainer],
    labels: Mapping[str, int] | None = None,
    *,
    batch_size: int | None = None,
    workers: int | None = None,
    decoder: str = "auto",
    **metric_kwargs: Any,
) -> Iterator[PhotoOutcome]:
    """The evaluation loop on the batched engine; a bad photo is recorded, not raised.

    Parameters
    ----------
    model : LoadedModel
    photos : iterable of path or (key, bytes)
        Files on disk, or uploaded files as ``(file name, encoded bytes)``.
    explainers : mapping of name -> Explainer
        From :func:`~explainers.evaluate.make_explainers`.
    labels : mapping of key -> class index, optional
        From :func:`~explainers.evaluate.read_labels_csv`; then every photo must be listed and its true
        class is explained.
    batch_size, workers, decoder :
        The engine's options (:func:`explainers.batched.check_options`); defaults suit the device.
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
    cannot lose the others' results; ``KeyboardInterrupt`` and :class:`~explainers.progress.Cancelled`
    still stop the loop. Forward passes are reported to :mod:`explainers.progress` (with the curves' own).
    """
    items: list[tuple[str, ImageSource | Failed]] = []
    wanted: list[int | None] = []
    for key, source in keyed(photos):
        try:
            wanted.append(None if labels is None else true_class(labels, key))
            items.append((key, source))
        except ExplainersError as exc:
            wanted.append(None)
            items.append((key, Failed(str(exc))))
    yield from evaluate_stream(
        model,
        items,
        explainers,
        true_classes=wanted,
        batch_size=batch_size,
        workers=workers,
        decoder=decoder,
        **metric_kwargs,
    )


def evaluate_photos(
    model: LoadedModel,
    photos: Sequence[PhotoSource],
    explainers: Mapping[str, Explainer],
    labels: Mapping[str, int] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    **metric_kwargs: Any,
) -> tuple[list[MethodResult], list[PhotoFailure]]:
    """:func:`iter_evaluate` collected: every photo's rows, and the photos that failed.

    Parameters
    ----------
    model, photos, explainers, labels, **metric_kwargs
        As :func:`iter_evaluate`.
    on_progress : callable, optional
        Called after each photo, evaluated or failed, as ``on_progress(done, total, key)``.

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


__all__ = ["PhotoSource", "evaluate_photos", "evaluate_stream", "iter_evaluate", "keyed"]
