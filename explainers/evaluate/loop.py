"""The local engine: :func:`~explainers.evaluate.evaluate_photo` on each photo in turn, in this process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..errors import ExplainersError
from ..images import load_image
from ..methods.base import Explainer
from ..models.loaded import LoadedModel
from .photos import photo_keys, true_class
from .run import MethodResult, PhotoFailure, PhotoOutcome, evaluate_photo

#: What a run reads: a file, or an upload as ``(key, encoded bytes)``.
PhotoSource = str | os.PathLike | tuple[str, bytes]


def keyed(photos: Iterable[PhotoSource]) -> list[tuple[str, str | os.PathLike | bytes]]:
    """``(key, source)`` of each photo: files get :func:`~explainers.evaluate.photo_keys`, uploads keep their name."""
    photos = list(photos)
    files = [p for p in photos if not isinstance(p, tuple)]
    keys = iter(photo_keys(files))
    return [(str(p[0]), p[1]) if isinstance(p, tuple) else (next(keys), p) for p in photos]


def iter_evaluate(
    model: LoadedModel,
    photos: Iterable[PhotoSource],
    explainers: Mapping[str, Explainer],
    labels: Mapping[str, int] | None = None,
    **metric_kwargs: Any,
) -> Iterator[PhotoOutcome]:
    """The evaluation loop: :func:`~explainers.evaluate.evaluate_photo` on each photo; a bad photo is recorded, not raised.

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
    for index, (key, source) in enumerate(keyed(photos)):
        image = None
        try:
            wanted = None if labels is None else true_class(labels, key)
            image = load_image(source, name=key)
            rows, explanations = evaluate_photo(
                model, image, explainers, file=key, true_class=wanted, seed=index, **metric_kwargs
            )
        except ExplainersError as exc:
            yield PhotoOutcome(index, key, [], {}, image, PhotoFailure(key, str(exc)))
        except Exception as exc:  # a bug or a resource error on one photo must not lose the others' results
            message = f"{key}: unexpected {type(exc).__name__}: {exc}".splitlines()[0]
            yield PhotoOutcome(index, key, [], {}, image, PhotoFailure(key, message))
        else:
            yield PhotoOutcome(index, key, rows, explanations, image)


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


__all__ = ["PhotoSource", "evaluate_photos", "iter_evaluate", "keyed"]
