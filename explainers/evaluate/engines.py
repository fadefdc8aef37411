"""Where an evaluation runs: ``"local"`` (this process, the default) or ``"ray"`` (a Ray cluster).

Both engines run the same per-photo function, :func:`explainers.evaluate.evaluate_photo`,
and return the same rows; the Ray engine only decides where each photo is decoded
and explained. Ray is an optional install (``pip install 'ray[data]'``) and is
imported only when ``engine="ray"`` is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ParameterError

#: Engines :func:`evaluate_dataset` knows.
ENGINES = ("local", "ray")


def evaluate_dataset(
    photos: Sequence[str | os.PathLike],
    *,
    model: str = "efficientnet_lite0",
    methods: Sequence[str] | None = None,
    labels: Mapping[str, int] | None = None,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    num_gpus_per_worker: float = 0.0,
    registry: str | os.PathLike | None = None,
    device: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    **metric_kwargs: Any,
) -> tuple[list, list]:
    """Evaluate every method on every photo, locally or on a Ray cluster.

    Parameters
    ----------
    photos : sequence of path
        Photo files (e.g. from :func:`explainers.evaluate.collect_photos`). With
        ``engine="ray"`` every worker must be able to read these paths (a shared
        file system, or the same copy at the same path on every node).
    model : str
        Registry name; each Ray worker loads it itself.
    methods : sequence of str, optional
        Registered names (default: every built-in method).
        Explainer names; the random-map baseline is always added.
    labels : mapping of key or file name -> class index, optional
        Explain the true classes (see :func:`explainers.evaluate.read_labels_csv`).
    engine : {"local", "ray"}
    address : str, optional
        Ray only: the cluster to join (``"auto"``, ``"ray://head:10001"``, ``"head:6379"``); default: the
        running instance if this process started one, else ``$RAY_ADDRESS``, else a new local instance.
    workers : int, optional
        Ray only: model replicas (actors). Default: the cluster's GPUs divided by
        ``num_gpus_per_worker``, or its CPUs minus one (one CPU decodes).
    num_gpus_per_worker : float
        Ray only: GPUs per replica (0: CPU only; 0.5: two replicas share a GPU).
    registry : path, optional
        Registry file (default ``models.yaml`` or ``$EXPLAINERS_MODELS``); with Ray, readable on the workers.
    device : str, optional
        ``"cpu"`` or ``"cuda"`` (default: CUDA when the process has a GPU).
    params : mapping of method -> {parameter: value}, optional
        Parameters of some of the methods (as :func:`explainers.evaluate.make_explainers` takes them).
    on_progress : callable, optional
        ``on_progress(done, total, key)`` after each photo.
    **metric_kwargs
        Passed to :func:`explainers.metrics.faithfulness` (``steps``...).

    Returns
    -------
    results : list of MethodResult
        Photo by photo in the order of ``photos`` (methods, then ``random``), whatever the engine, each
        filed under the photo's key (:func:`explainers.evaluate.photo_keys`).
    failures : list of PhotoFailure
        One per photo that could not be read or evaluated.

    Raises
    ------
    ParameterError
        Unknown engine or method, bad worker counts, or Ray missing for ``engine="ray"``.
    """
    from ..models.build import load_model
    from ..models.registry import load_registry
    from .loop import evaluate_photos
    from .run import make_explainers

    if engine not in ENGINES:
        raise ParameterError(f"unknown engine '{engine}'; use one of {', '.join(ENGINES)}")
    if methods is None:
        from ..methods.base import builtin_explainers

        methods = builtin_explainers()
    if engine == "local":
        if address is not None or workers is not None or num_gpus_per_worker:
            raise ParameterError("`address`, `workers` and `num_gpus_per_worker` apply to engine='ray' only")
        loaded = load_model(model, load_registry(registry), device=device)
        explainers = make_explainers(list(methods), loaded, params)
        return evaluate_photos(
            loaded, [Path(p) for p in photos], explainers, labels=labels, on_progress=on_progress, **metric_kwargs
        )
    from .ray import evaluate_with_ray

    return evaluate_with_ray(
        photos,
        model=model,
        methods=methods,
        labels=labels,
        address=address,
        workers=workers,
        num_gpus_per_worker=num_gpus_per_worker,
        registry=registry,
        device=device,
        params=params,
        on_progress=on_progress,
        **metric_kwargs,
    )
