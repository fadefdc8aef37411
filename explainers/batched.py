"""Batched explanation of many images: parallel decoding, one batched forward pass per batch.

(Not the dashboard's Batch page, which evaluates a dataset: see :mod:`explainers.evaluate`.)

The per-image API (:meth:`Explainer.explain`) runs one forward pass per image.
Here images are decoded and preprocessed in worker threads (Pillow releases the
GIL), with each method's :meth:`~explainers.Explainer.precompute` (SeCAM's SLIC),
while the previous batch runs through the network, so the model rarely waits.
Then :meth:`~explainers.Explainer.explain_forwards` explains the batch: a method
that ``supports_batch`` (CAM) does it vectorised, the others image by image from
the shared pass. The results equal the per-image API's up to the floating-point
difference between a batched and a single-image forward pass.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from .methods.base import Explainer
from .errors import ParameterError
from .explanation import Explanation
from .images import load_image, validate_image
from .models.loaded import ForwardPass, LoadedModel

ImageSource = np.ndarray | str | os.PathLike | bytes


def _default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _load(model: LoadedModel, explainer: Explainer, source: ImageSource) -> tuple[np.ndarray, torch.Tensor, dict]:
    """Worker step: decode (unless already an array), preprocess, and the method's per-image work."""
    image = validate_image(source) if isinstance(source, np.ndarray) else load_image(source)
    return image, model.preprocess(image), explainer.precompute(image)


def iter_explain_batch(
    explainer: Explainer,
    model: LoadedModel,
    images: Iterable[ImageSource],
    targets: Sequence[int] | int | None = None,
    topk: int = 1,
    *,
    batch_size: int | None = None,
    workers: int | None = None,
) -> Iterator[list[Explanation]]:
    """Explain many images, yielding one list of explanations per image, in input order.

    Parameters
    ----------
    explainer : Explainer
        One that ``supports_batch`` takes its vectorised path; the others share
        the batched forward pass and run their per-image step, with their
        ``precompute`` (SLIC) done in the worker threads. A method that needs its
        own pass (Grad-CAM keeps the autograd graph) redoes it per image:
        correct, not faster.
    model : LoadedModel
    images : iterable of (H, W, 3) uint8 ndarray, path or bytes
        Arrays are used as they are (not modified); paths and bytes are decoded
        with :func:`explainers.load_image` in the worker threads. Images may have
        different sizes; each map comes back at its image's own size.
    targets : int or sequence of int, optional
        Classes to explain for every image. Default: each image's top ``topk``.
    topk : int
        Number of top classes per image when ``targets`` is None.
    batch_size : int, optional
        Images per forward pass, >= 1. Default: 8 on the CPU (larger batches
        overflow the CPU caches, see docs/BENCHMARKS.md), 64 on a GPU.
    workers : int, optional
        Decoding/preprocessing threads (default: the CPU count, at most 8).

    Yields
    ------
    list of Explanation
        The explanations of one image, as :meth:`Explainer.explain` returns them.

    Raises
    ------
    ValueError
        If ``batch_size`` or ``workers`` is < 1.
    ImageError
        If an image cannot be decoded (raised when its batch is reached).
    """
    if batch_size is None:
        batch_size = 8 if model.device.type == "cpu" else 64
    if batch_size < 1:
        raise ParameterError(f"`batch_size` must be >= 1, got {batch_size}")
    workers = _default_workers() if workers is None else workers
    if workers < 1:
        raise ParameterError(f"`workers` must be >= 1, got {workers}")
    explainer.check_supports(model)
    source_iter = iter(images)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explain-batch") as pool:

        def submit_batch() -> list[Future]:
            futures = []
            for source in source_iter:
                futures.append(pool.submit(_load, model, explainer, source))
                if len(futures) == batch_size:
                    break
            return futures

        # two batches in flight: the next one decodes while this one runs; memory stays bounded
        pending: deque[list[Future]] = deque(b for b in (submit_batch(), submit_batch()) if b)
        while pending:
            loaded = [f.result() for f in pending.popleft()]
            following = submit_batch()
            if following:
                pending.append(following)
            yield from _explain_loaded(explainer, model, loaded, targets, topk)


def explain_batch(
    explainer: Explainer,
    model: LoadedModel,
    images: Iterable[ImageSource],
    targets: Sequence[int] | int | None = None,
    topk: int = 1,
    *,
    batch_size: int | None = None,
    workers: int | None = None,
) -> list[list[Explanation]]:
    """Like :func:`iter_explain_batch`, but returns every image's explanations in a list.

    Returns
    -------
    list of list of Explanation
        ``out[i]`` explains ``images[i]``.

    Examples
    --------
    >>> cam = get_explainer("cam")
    >>> out = explain_batch(cam, model, ["a.jpg", "b.jpg"], topk=5)   # doctest: +SKIP
    >>> [len(o) for o in out]                                          # doctest: +SKIP
    [5, 5]
    """
    return list(iter_explain_batch(explainer, model, images, targets, topk, batch_size=batch_size, workers=workers))


def _explain_loaded(
    explainer: Explainer, model: LoadedModel, loaded: list[tuple[np.ndarray, torch.Tensor, Any]], targets, topk: int
) -> list[list[Explanation]]:
    """One batched forward pass over ``loaded``, then each image's explanations."""
    t0 = time.perf_counter()
    logits, features = model.forward_batch(torch.stack([x for _, x, _ in loaded]))
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    seconds = (time.perf_counter() - t0) / len(loaded)  # each image's share of the batch
    logits_cpu = logits.cpu()
    probabilities = torch.softmax(logits_cpu, dim=1)
    passes = [
        ForwardPass(
            logits=logits_cpu[i],
            probabilities=probabilities[i],
            features=features[i],
            image_size=(int(image.shape[0]), int(image.shape[1])),
            timings={"preprocess": 0.0, "forward": seconds},
        )
        for i, (image, _, _) in enumerate(loaded)
    ]
    classes = [fp.select(targets, topk) for fp in passes]
    return explainer.explain_forwards(
        model, [image for image, _, _ in loaded], passes, classes, [extra for _, _, extra in loaded], features
    )
