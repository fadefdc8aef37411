"""The Ray engine: photos decoded by Ray Data tasks, evaluated in batches by an actor pool of model replicas.

The pipeline is Ray Data's batch-inference pattern::

    from_items(photo list) -> map_batches(decode_photos)                    # tasks: decode, on any CPU
                           -> map_batches(PhotoEvaluator, ActorPoolStrategy)  # actors: the model, loaded once each

On CPU-only workers Ray Data fuses the decode stage into the actors (same resources, no copy of
the decoded photos through the object store); with ``num_gpus_per_worker > 0`` decoding stays in
CPU tasks that feed the GPU actors.

Each actor takes a batch (``map_batches``, as many photos as the local engine puts in one forward
pass) and runs :func:`explainers.evaluate.evaluate_stream` on it, the batched engine the local
engine runs: one forward pass for the batch, the maps of a method with batch support in one call,
SLIC in the actor's threads beside the network. The rows are the same (tested), filed under the
same keys (:func:`explainers.evaluate.photo_keys`). A photo that cannot be read or evaluated comes
back as a failure with the library's message, and the run goes on. The driver checks the model's
name and the methods against the registry entry; only the workers load the model.

Ray is optional: ``pip install 'ray[data]'`` (on the driver and on every
worker, with this project and its requirements); nothing here is imported by
the local engine.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError

INSTALL_HINT = "pip install 'ray[data]' (on this machine and on every worker of the cluster)"


def require_ray():
    """Import Ray, or raise a :class:`ParameterError` that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ParameterError(f"--engine ray needs Ray Data, which is not installed ({exc}); {INSTALL_HINT}") from None
    return ray


def decode_photos(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    """Ray Data task: decode each photo of ``batch`` (the pixels of :func:`explainers.load_image`).

    Parameters
    ----------
    batch : dict
        Columns ``index`` (int), ``path`` (str), ``file`` (the photo's key), ``true_class`` (int, -1 for none).

    Returns
    -------
    dict
        The same columns plus ``image`` ((H, W, 3) uint8; a 1 x 1 placeholder on failure) and
        ``error`` (the library's message, "" when the photo decoded).
    """
    from ..batched import failure_message
    from ..inputs import decode_photo

    images, errors = [], []
    for path, file in zip(batch["path"], batch["file"]):
        try:
            image, _ = decode_photo(str(path), name=str(file))
            images.append(image)
            errors.append("")
        except Exception as exc:  # noqa: BLE001 (one photo must not end the run)
            images.append(np.zeros((1, 1, 3), np.uint8))
            errors.append(failure_message(str(file), exc))
    out: dict[str, Any] = {k: batch[k] for k in ("index", "path", "file", "true_class")}
    out["image"] = images
    out["error"] = np.array(errors, dtype=object)
    return out


class PhotoEvaluator:
    """Ray actor: one model replica that evaluates batches of photos on the batched engine.

    Parameters
    ----------
    model : str
        Registry name, loaded once in the constructor.
    methods : sequence of str, optional
        Registered names (default: every built-in method).
    registry : str, optional
        Registry file, readable on the worker.
    device : str, optional
    params : mapping of method -> {parameter: value}, optional
    threads : int
        torch threads in this replica (its share of the node's CPUs).
    metric_kwargs : dict
        Passed to :func:`explainers.metrics.faithfulness`.
    """

    def __init__(
        self,
        model: str,
        methods: Sequence[str],
        registry: str | None,
        device: str | None,
        params: Mapping[str, Mapping[str, Any]] | None,
        threads: int,
        metric_kwargs: dict[str, Any],
    ) -> None:
        import torch

        from ..models.build import load_model
        from ..models.registry import load_registry
        from .run import make_explainers

        torch.set_num_threads(max(1, int(threads)))
        self.model = load_model(model, load_registry(registry), device=device)
        self.explainers = make_explainers(list(methods), self.model, params)
        self.metric_kwargs = dict(metric_kwargs)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Evaluate the batch's decoded photos in one engine batch; one output row per photo (``rows`` as JSON, or ``error``)."""
        from ..batched import Failed
        from .loop import evaluate_stream
        from .run import COLUMNS

        files = [str(f) for f in batch["file"]]
        items = [
            (file, Failed(str(error)) if error else np.asarray(image))
            for file, image, error in zip(files, batch["image"], batch["error"])
        ]
        payloads, errors = [], []
        for outcome in evaluate_stream(
            self.model,
            items,
            self.explainers,
            true_classes=[None if int(t) < 0 else int(t) for t in batch["true_class"]],
            seeds=[int(i) for i in batch["index"]],
            batch_size=max(1, len(items)),
            workers=None if self.model.device.type == "cuda" else 1,  # a CPU replica's cores run its network
            decoder="cpu",
            **self.metric_kwargs,
        ):
            if outcome.failure is not None:
                payloads.append("")
                errors.append(outcome.failure.message)
                continue
            rows = [
                {
                    **{c: getattr(r, c) for c in COLUMNS},
                    "scores": dict(r.scores),
                    "curves": None if r.curves is None else r.curves.to_dict(),
                }
                for r in outcome.results
            ]
            payloads.append(json.dumps(rows, default=_json_scalar))
            errors.append("")
        return {
            "index": np.asarray(batch["index"]),
            "file": np.asarray(batch["file"], dtype=object),
            "rows": np.array(payloads, dtype=object),
            "error": np.array(errors, dtype=object),
        }


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _method_result(row: dict[str, Any]):
    """A :class:`~explainers.evaluate.MethodResult` back from its JSON row."""
    from ..metrics.faithfulness import Faithfulness
    from .run import MethodResult

    curves = row.pop("curves")
    if curves is None:
        return MethodResult(curves=None, **row)
    faith = Faithfulness(
        fractions=np.asarray(curves["fractions"], np.float64),
        deletion=np.asarray(curves["deletion"], np.float64),
        insertion=np.asarray(curves["insertion"], np.float64),
        deletion_auc=curves["deletion_auc"],
        insertion_auc=curves["insertion_auc"],
        kept_fraction=curves["kept_fraction"],
        timings=curves["timings"],
    )
    return MethodResult(curves=faith, **row)


def connect(address: str | None):
    """Join the Ray cluster at ``address`` (or start a local instance); returns ``(ray, started_here)``."""
    ray = require_ray()
    if ray.is_initialized():
        return ray, False
    try:
        ray.init(
            address=address,
            logging_level=logging.WARNING,
            log_to_driver=True,
            **({"include_dashboard": False} if address is None and not os.environ.get("RAY_ADDRESS") else {}),
        )
    except ConnectionError as exc:
        raise ParameterError(
            f"cannot reach the Ray cluster at {address or os.environ.get('RAY_ADDRESS')!r} ({exc}); "
            "start it with 'ray start --head' and pass its address with --address"
        ) from None
    return ray, True


def plan(ray, workers: int | None, num_gpus_per_worker: float) -> tuple[int, int]:
    """``(replicas, torch threads per replica)`` for the cluster's resources."""
    resources = ray.cluster_resources()
    cpus, gpus = int(resources.get("CPU", 1)), float(resources.get("GPU", 0))
    if num_gpus_per_worker < 0:
        raise ParameterError(f"`num_gpus_per_worker` must be >= 0, got {num_gpus_per_worker}")
    if num_gpus_per_worker > 0 and gpus < num_gpus_per_worker:
        raise ParameterError(
            f"each worker asks for {num_gpus_per_worker} GPU(s) and the cluster has {gpus:g}; "
            "use --num-gpus-per-worker 0 for CPU workers"
        )
    if workers is None:
        workers = int(gpus // num_gpus_per_worker) if num_gpus_per_worker > 0 else max(1, cpus - 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"`workers` must be an int >= 1, got {workers!r}")
    threads = 1 if num_gpus_per_worker > 0 else max(1, (cpus - 1) // workers)
    return workers, threads


def build_dataset(
    ray,
    photos: Sequence[Mapping[str, Any]],
    *,
    model: str,
    methods: Sequence[str],
    registry: str | None,
    device: str | None,
    params: Mapping[str, Mapping[str, Any]] | None,
    workers: int,
    threads: int,
    num_gpus_per_worker: float,
    metric_kwargs: dict[str, Any],
    batch_size: int | None = None,
):
    """The Ray Data pipeline: photo rows -> decode tasks -> evaluator actors (not yet executed).

    Each row has ``index`` (the photo's position in the whole run: its random map's seed, as in the
    local engine), ``path``, ``file`` (its key) and ``true_class`` (-1 for none). ``batch_size``: photos
    per actor call, one engine batch (default: the local engine's, 4 for CPU replicas, 64 for GPU ones).
    """
    if batch_size is None:
        import torch

        from ..batched import default_batch_size

        batch_size = default_batch_size(torch.device("cuda" if num_gpus_per_worker else "cpu"))
    ds = ray.data.from_items(list(photos), override_num_blocks=max(1, min(len(photos), 4 * workers)))
    ds = ds.map_batches(decode_photos, batch_size=batch_size, num_cpus=1)
    return ds.map_batches(
        PhotoEvaluator,
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_gpus=num_gpus_per_worker or None,
        num_cpus=threads if not num_gpus_per_worker else 1,
        fn_constructor_kwargs={
            "model": model,
            "methods": list(methods),
            "registry": registry,
            "device": device,
            "params": params,
            "threads": threads,
            "metric_kwargs": metric_kwargs,
        },
    )


def evaluate_with_ray(
    photos: Sequence[str | os.PathLike],
    *,
    model: str = "efficientnet_lite0",
    methods: Sequence[str] | None = None,
    labels: Mapping[str, int] | None = None,
    address: str | None = None,
    workers: int | None = None,
    num_gpus_per_worker: float = 0.0,
    registry: str | os.PathLike | None = None,
    device: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    on_photo: Callable[[str, list, str | None], None] | None = None,
    **metric_kwargs: Any,
) -> tuple[list, list]:
    """Evaluate ``photos`` on a Ray cluster; see :func:`explainers.evaluate.evaluate_dataset`.

    ``on_photo(key, rows, error)`` is called as each photo's result arrives (in
    completion order; ``rows`` is a list of MethodResult, ``error`` None or the message).
    The returned lists are in the order of ``photos``. A Ray instance started
    here is shut down at the end; one already running is left running.
    """
    from ..methods.base import builtin_explainers
    from ..models.registry import load_registry
    from .photos import photo_keys, true_class
    from .run import PhotoFailure, make_explainers

    methods = builtin_explainers() if methods is None else list(methods)
    # checked here before any worker starts, without loading the model: its name, and the methods against
    # its registry entry (this machine may have no GPU, or not the memory, while the workers do)
    make_explainers(methods, load_registry(registry).get(model), params)
    paths = [Path(p) for p in photos]
    keys = photo_keys(paths)
    rows_in, early = [], {}
    for index, (key, path) in enumerate(zip(keys, paths)):
        try:
            wanted = -1 if labels is None else true_class(labels, key)
        except ParameterError as exc:  # as the local engine does, without a trip to the cluster
            early[index] = str(exc)
            continue
        rows_in.append({"index": index, "path": str(path.resolve()), "file": key, "true_class": wanted})
    ray, started = connect(address)
    try:
        workers, threads = plan(ray, workers, float(num_gpus_per_worker))
        registry_path = None if registry is None else str(Path(registry).resolve())
        by_index: dict[int, tuple[list, str | None]] = {}
        done = 0
        for index, message in early.items():
            by_index[index] = ([], message)
            done += 1
            if on_photo is not None:
                on_photo(keys[index], [], message)
            if on_progress is not None:
                on_progress(done, len(paths), keys[index])
        if rows_in:
            ds = build_dataset(
                ray,
                rows_in,
                model=model,
                methods=methods,
                registry=registry_path,
                device=device,
                params=params,
                workers=workers,
                threads=threads,
                num_gpus_per_worker=float(num_gpus_per_worker),
                metric_kwargs=dict(metric_kwargs),
            )
            for row in ds.iter_rows():
                index = int(row["index"])
                rows = [_method_result(r) for r in json.loads(row["rows"])] if row["rows"] else []
                error = str(row["error"]) or None
                by_index[index] = (rows, error)
                done += 1
                if on_photo is not None:
                    on_photo(keys[index], rows, error)
                if on_progress is not None:
                    on_progress(done, len(paths), keys[index])
    finally:
        if started:
            ray.shutdown()
    results, failures = [], []
    for index in sorted(by_index):
        rows, error = by_index[index]
        if error is not None:
            failures.append(PhotoFailure(keys[index], error))
        results.extend(rows)
    return results, failures


def quiet_ray_data(ray) -> None:
    """Ray Data's own progress bars and INFO lines off: the CLI draws one progress bar of its own."""
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # else it warns that its progress bars are off
