"""The batched engine: many photos through one pipeline, with the per-photo API's results.

Every product path that explains more than one photo runs on it: ``explain`` and ``evaluate`` on the
command line (the local engine and each Ray actor), the dashboard's Evaluate (Batch) page and a review
study's preparation (both through :func:`explainers.evaluate.iter_evaluate` /
:func:`explainers.evaluate.evaluate_stream`). The per-photo API (:meth:`Explainer.explain`,
:func:`explainers.evaluate.evaluate_photo`) stays for one photo at a time (the dashboard's Compare page).

The stages, each photo coming out in input order:

1. **load** (worker threads, two batches ahead of the network): each photo is decoded at full
   resolution and resized to each model's input by :func:`explainers.inputs.decode_photo` (the pixels
   of :func:`explainers.load_image` and the input of :meth:`LoadedModel.preprocess`, bit for bit), and
   each method's :meth:`~explainers.Explainer.precompute` runs beside it (SeCAM's SLIC), while the
   previous batch is in the network. With ``decoder="gpu"`` (the default on CUDA) the JPEGs of a batch
   are decoded in one nvJPEG call on the device (:func:`explainers.inputs.decode_photos`).
2. **forward**: one pass per batch and model (:meth:`LoadedModel.forward_batch`), reported to
   :mod:`explainers.progress` (one unit per photo), so a caller can show progress and cancel.
3. **maps**: a method that ``supports_batch`` (CAM) maps the whole batch in one call (every class of
   every photo in one ``einsum``); the others run :meth:`~explainers.Explainer.explain_forwards` photo
   by photo from the shared pass, as each photo's turn comes, so results still stream photo by photo.

A photo that cannot be read or explained is reported with its message, and the others go on. The
results equal the per-photo API's up to the float difference between a batched and a single-image
forward pass (``tests/test_batch.py``); draft decoding is not used here since every product path needs
the full photo (its maps, overlay, superpixels and faithfulness curves are at the photo's size), see
:func:`explainers.inputs.iter_cam_maps` for files to CAM maps at throughput.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from . import progress
from .errors import Cancelled, ExplainersError, ImageError, ParameterError
from .explanation import Explanation
from .inputs import DecodedPhoto, ModelInput, decode_photo, decode_photos, to_batch
from .methods.base import Explainer
from .models.loaded import ForwardPass, LoadedModel, check_classes

#: What the engine reads: a decoded photo, a path, encoded bytes, or ``(name, bytes)``.
ImageSource = np.ndarray | str | os.PathLike | bytes | tuple[str, bytes]
#: ``decoder`` values: ``"cpu"`` Pillow in worker threads, ``"gpu"`` nvJPEG on the model's device (torchvision's
#: CPU decoder for a CPU model), ``"auto"`` ``"gpu"`` on CUDA when torchvision can decode there, else ``"cpu"``.
DECODERS = ("auto", "cpu", "gpu")


@dataclasses.dataclass(frozen=True)
class Failed:
    """A photo its caller already knows is unusable (e.g. not in the labels file): passed through in order."""

    message: str


@dataclasses.dataclass(eq=False)
class LoadedPhoto:
    """One photo of a batch after the load stage.

    Attributes
    ----------
    index : int
        Position in the engine's input (from 0).
    name : str
        The name the caller gave (a file's key, an upload's name).
    image : (H, W, 3) uint8 ndarray or None
        None when the photo failed.
    pixels : dict of int -> (S, S, 3) uint8 tensor
        The photo resized to each model input side.
    precomputed : dict of str -> dict
        Each method's :meth:`~explainers.Explainer.precompute` result, by the caller's method key.
    error : Exception or None
        Why the photo cannot be used.
    """

    index: int
    name: str
    image: np.ndarray | None
    pixels: dict[int, torch.Tensor]
    precomputed: dict[str, dict[str, Any]]
    error: Exception | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class PhotoExplanations:
    """What :func:`iter_explain_photos` yields for one photo.

    Attributes
    ----------
    index : int
        Position in the input.
    name : str
    image : (H, W, 3) uint8 ndarray or None
        The decoded photo (None when it could not be read).
    explanations : list of Explanation
        As :meth:`Explainer.explain` returns them; empty when the photo failed.
    error : Exception or None
        Why the photo failed; its message is ready for a user (:func:`failure_message`).
    """

    index: int
    name: str
    image: np.ndarray | None
    explanations: list[Explanation]
    error: Exception | None = None


def failure_message(name: str, error: BaseException) -> str:
    """One line for a user: the library's own message, or ``"NAME: unexpected TYPE: ..."`` for anything else."""
    if isinstance(error, ExplainersError):
        return str(error)
    return f"{name}: unexpected {type(error).__name__}: {error}".splitlines()[0]


def default_batch_size(device: torch.device) -> int:
    """Photos per forward pass: 4 on the CPU (larger batches overflow its caches, docs/BENCHMARKS.md), 64 on a GPU."""
    return 4 if device.type == "cpu" else 64


def default_workers(device: torch.device | None = None) -> int:
    """Load threads: for a CPU model, the cores torch's own threads leave free (at most 8; 0: none free).

    On a CPU-only machine the network's threads and the load threads share the cores, and a thread
    more than there are cores stalls torch's OpenMP pool at every barrier, which costs far more than
    the overlap gains (docs/BENCHMARKS.md): with no core free the load runs in the caller's thread,
    between batches. On a GPU host the network hardly needs the CPU, so every core (at most 8) loads.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if device is not None and device.type == "cpu":
        return max(0, min(8, cores - torch.get_num_threads()))
    return max(1, min(8, cores))


def check_options(
    device: torch.device, batch_size: int | None, workers: int | None, decoder: str
) -> tuple[int, int, str]:
    """``(batch_size, workers, decoder)`` with the defaults filled in and ``"auto"`` resolved.

    ``workers`` is resolved by :func:`default_workers` when None (0: no load threads).

    Raises
    ------
    ParameterError
        A batch size or worker count that is not an int >= 1, or an unknown decoder.
    """
    batch_size = default_batch_size(device) if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(f"`batch_size` must be an int >= 1, got {batch_size!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"`workers` must be an int >= 1, got {workers!r}")
    if decoder not in DECODERS:
        raise ParameterError(f"`decoder` must be one of {', '.join(DECODERS)}, got {decoder!r}")
    if decoder == "auto":
        decoder = "gpu" if device.type == "cuda" and _device_decoder_available() else "cpu"
    workers = default_workers(device) if workers is None else workers
    return batch_size, max(workers, 1 if decoder == "gpu" else 0), decoder


def _device_decoder_available() -> bool:
    try:
        from torchvision.io import decode_jpeg  # noqa: F401
    except ImportError:
        return False
    return True


# -- stage 1: load -------------------------------------------------------------------------------------
def load_batches(
    items: Iterable[tuple[str, ImageSource | Failed]],
    *,
    sizes: Sequence[int],
    explainers: Mapping[str, Explainer],
    device: torch.device,
    batch_size: int,
    workers: int,
    decoder: str = "cpu",
) -> Iterator[list[LoadedPhoto]]:
    """Decode, resize and precompute ``items`` in worker threads, two batches ahead; yield each batch in order.

    Parameters
    ----------
    items : iterable of (name, source)
        ``source`` is a path, bytes, ``(name, bytes)``, an ``(H, W, 3)`` uint8 array (validated, not
        modified), or :class:`Failed` (passed through).
    sizes : sequence of int
        Model input sides to resize to.
    explainers : mapping of key -> Explainer
        Whose ``precompute`` runs on each photo (results filed under the same keys).
    device : torch.device
        Where ``decoder="gpu"`` decodes.
    batch_size : int
    workers : int
        Load threads; 0: each batch is loaded in the caller's thread when it is needed (no overlap).
    decoder : {"cpu", "gpu"}
        Resolved by :func:`check_options`.

    Yields
    ------
    list of LoadedPhoto
        At most ``batch_size`` photos, failures included, in input order.
    """
    numbered = ((i, name, source) for i, (name, source) in enumerate(items))
    if workers == 0 and decoder != "gpu":
        while chunk := list(itertools.islice(numbered, batch_size)):
            yield [_load_one(i, name, source, sizes, explainers) for i, name, source in chunk]
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explainers-load")
    # the device decoder's batch call waits on the pool (file reads, the CPU fallback): it gets its own thread
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explainers-decode") if decoder == "gpu" else None

    def submit() -> Callable[[], list[LoadedPhoto]] | None:
        chunk = list(itertools.islice(numbered, batch_size))
        if not chunk:
            return None
        if reader is not None:
            return reader.submit(_load_on_device, chunk, sizes, explainers, device, pool).result
        futures = [pool.submit(_load_one, i, name, source, sizes, explainers) for i, name, source in chunk]
        return lambda: [f.result() for f in futures]

    try:
        pending: deque[Callable[[], list[LoadedPhoto]]] = deque(p for p in (submit(), submit()) if p is not None)
        while pending:
            batch = pending.popleft()()
            following = submit()
            if following is not None:
                pending.append(following)
            yield batch
    finally:  # a consumer that stops early (Ctrl-C, cancel) does not wait for the photos still queued
        if reader is not None:
            reader.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True, cancel_futures=True)


def _load_one(
    index: int, name: str, source: ImageSource | Failed, sizes: Sequence[int], explainers: Mapping[str, Explainer]
) -> LoadedPhoto:
    """Worker step: decode (or validate) and resize one photo, then each method's precompute."""
    if isinstance(source, Failed):
        return LoadedPhoto(index, name, None, {}, {}, ExplainersError(source.message))
    try:
        image, pixels = decode_photo(source, sizes, name=name)
    except Exception as exc:  # noqa: BLE001 (reported with the photo; the others go on)
        return LoadedPhoto(index, name, None, {}, {}, exc)
    return _precomputed(LoadedPhoto(index, name, image, pixels, {}), explainers)


def _precomputed(photo: LoadedPhoto, explainers: Mapping[str, Explainer]) -> LoadedPhoto:
    if photo.image is None:
        return photo
    try:
        photo.precomputed = {key: e.precompute(photo.image) for key, e in explainers.items()}
    except Exception as exc:  # noqa: BLE001 (a method's failure on one photo fails that photo only)
        photo.error = exc
    return photo


def _load_on_device(
    chunk: list[tuple[int, str, ImageSource | Failed]],
    sizes: Sequence[int],
    explainers: Mapping[str, Explainer],
    device: torch.device,
    pool: ThreadPoolExecutor,
) -> list[LoadedPhoto]:
    """The device decoder's load step for one batch: files and bytes in one :func:`decode_photos` call."""
    on_device = [(i, name, source) for i, name, source in chunk if _is_encoded(source)]
    loaded = {  # arrays and passed-through failures: the CPU step
        i: pool.submit(_load_one, i, name, source, sizes, explainers)
        for i, name, source in chunk
        if not _is_encoded(source)
    }
    decoded = decode_photos([_named(name, source) for _, name, source in on_device], sizes, device=device, pool=pool)
    for (i, name, _), d in zip(on_device, decoded):
        if isinstance(d, DecodedPhoto):
            loaded[i] = pool.submit(_precomputed, LoadedPhoto(i, name, d.image, d.pixels, {}), explainers)
        else:
            loaded[i] = pool.submit(_precomputed, LoadedPhoto(i, name, None, {}, {}, ImageError(d.message)), {})
    return [loaded[i].result() for i, _, _ in chunk]


def _is_encoded(source: object) -> bool:
    return isinstance(source, (str, os.PathLike, bytes, tuple))


def _named(name: str, source: Any) -> Any:
    """A file or bytes under the caller's name (so messages name the photo as the CPU path does)."""
    if isinstance(source, tuple):
        return source
    if isinstance(source, bytes):
        return (name, source)
    return source


# -- stage 2: forward ----------------------------------------------------------------------------------
def forward_loaded(model: LoadedModel, photos: Sequence[LoadedPhoto]) -> tuple[list[ForwardPass], torch.Tensor]:
    """One batched forward pass of ``photos`` (loaded, none failed): each photo's pass and the batch's features.

    Each pass's ``timings`` hold the photo's share of the batch (``preprocess``: normalising,
    ``forward``: the network). Reports ``len(photos)`` units to :mod:`explainers.progress`.

    Raises
    ------
    explainers.progress.Cancelled
        If the caller cancelled the work.
    """
    n = len(photos)
    progress.plan(n)
    t0 = time.perf_counter()
    inputs = [ModelInput(p.name, p.pixels[model.input_size], (0, 0)) for p in photos]
    x = to_batch(inputs, model.spec.mean, model.spec.std, model.device)
    t1 = time.perf_counter()
    logits, features = model.forward_batch(x)
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    t2 = time.perf_counter()
    logits_cpu = logits.cpu()
    probabilities = torch.softmax(logits_cpu, dim=1)
    passes = [
        ForwardPass(
            logits=logits_cpu[i],
            probabilities=probabilities[i],
            features=features[i],
            image_size=(int(p.image.shape[0]), int(p.image.shape[1])),  # type: ignore[union-attr]
            timings={"preprocess": (t1 - t0) / n, "forward": (t2 - t1) / n},
        )
        for i, p in enumerate(photos)
    ]
    progress.advance(n)
    return passes, features


# -- stage 3: maps -------------------------------------------------------------------------------------
def explain_loaded(
    explainer: Explainer,
    key: str,
    model: LoadedModel,
    photos: Sequence[LoadedPhoto],
    passes: Sequence[ForwardPass],
    classes: Sequence[Sequence[int]],
    features: torch.Tensor,
) -> list[list[Explanation] | Exception]:
    """Each photo's explanations from its share of the batched pass, or the exception it raised.

    One :meth:`~explainers.Explainer.explain_forwards` call for all ``photos``; if it raises, each photo
    again on its own, so only the photo at fault fails. ``key`` names the method's ``precompute``
    results; ``features`` are the ``(N, C, h, w)`` features of exactly these photos.
    """
    images = [p.image for p in photos]
    extras = [p.precomputed.get(key, {}) for p in photos]
    try:
        return list(explainer.explain_forwards(model, images, passes, classes, extras, features))  # type: ignore[arg-type]
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 (find the photo at fault)
        if len(photos) == 1:
            return [exc]
    out: list[list[Explanation] | Exception] = []
    for i in range(len(photos)):
        try:
            [one] = explainer.explain_forwards(
                model,
                [images[i]],  # type: ignore[list-item]
                [passes[i]],
                [classes[i]],
                [extras[i]],
                features[i : i + 1],
            )
            out.append(one)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001
            out.append(exc)
    return out


def iter_explain_photos(
    explainer: Explainer,
    model: LoadedModel,
    photos: Iterable[ImageSource | tuple[str, ImageSource]],
    targets: Sequence[int] | int | None = None,
    topk: int = 1,
    *,
    names: Sequence[str] | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    decoder: str = "auto",
) -> Iterator[PhotoExplanations]:
    """Explain many photos on the engine, one result per photo in input order; a bad photo is reported, not raised.

    Parameters
    ----------
    explainer : Explainer
    model : LoadedModel
    photos : iterable of source
        Paths, encoded bytes, ``(name, bytes)`` or ``(H, W, 3)`` uint8 arrays; photos may have
        different sizes and each map comes back at its photo's size.
    targets : int or sequence of int, optional
        Classes to explain for every photo. Default: each photo's top ``topk``.
    topk : int
    names : sequence of str, optional
        The name each photo is reported under (default: the path as given, the upload's name, ``"image"``).
    batch_size : int, optional
        Photos per forward pass (default :func:`default_batch_size`).
    workers : int, optional
        Load threads (default :func:`default_workers`).
    decoder : {"auto", "cpu", "gpu"}
        See :data:`DECODERS`.

    Yields
    ------
    PhotoExplanations

    Raises
    ------
    ParameterError, TypeError
        Bad targets, topk or options, before any photo is read.
    CamNotExactError
        The method cannot explain this model.
    """
    explainer.check_supports(model)
    check_classes(model.num_classes, targets, topk)
    batch_size, workers, decoder = check_options(model.device, batch_size, workers, decoder)
    items = _named_items(photos, names)
    for batch in load_batches(
        items,
        sizes=[model.input_size],
        explainers={"explainer": explainer},
        device=model.device,
        batch_size=batch_size,
        workers=workers,
        decoder=decoder,
    ):
        good = [p for p in batch if p.error is None]
        results: dict[int, list[Explanation] | Exception] = {}
        passes: list[ForwardPass] = []
        features = torch.empty(0)
        classes: list[list[int]] = []
        if good:
            try:
                passes, features = forward_loaded(model, good)
                classes = [fp.select(targets, topk) for fp in passes]
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 (the whole batch's pass failed: each of its photos says so)
                results = {p.index: exc for p in good}
                good = []
        if good and explainer.supports_batch:
            results = dict(
                zip(
                    (p.index for p in good),
                    explain_loaded(explainer, "explainer", model, good, passes, classes, features),
                )
            )
        position = {p.index: i for i, p in enumerate(good)}
        for p in batch:
            if p.error is None and p.index not in results:  # a method without batch support: this photo's turn
                i = position[p.index]
                [results[p.index]] = explain_loaded(
                    explainer, "explainer", model, [p], [passes[i]], [classes[i]], features[i : i + 1]
                )
            found = results.get(p.index, p.error)
            if isinstance(found, Exception):
                yield PhotoExplanations(p.index, p.name, p.image, [], found)
            else:
                yield PhotoExplanations(p.index, p.name, p.image, found or [], None)


def _named_items(photos: Iterable[Any], names: Sequence[str] | None) -> Iterator[tuple[str, ImageSource]]:
    for i, source in enumerate(photos):
        if names is not None:
            yield names[i], source
        elif isinstance(source, tuple):
            name, content = source
            yield str(name), (content if isinstance(content, np.ndarray) else (str(name), content))
        elif isinstance(source, (str, os.PathLike)):
            yield str(source), source
        else:
            yield "image", source


def iter_explain_batch(
    explainer: Explainer,
    model: LoadedModel,
    images: Iterable[ImageSource],
    targets: Sequence[int] | int | None = None,
    topk: int = 1,
    *,
    batch_size: int | None = None,
    workers: int | None = None,
    decoder: str = "cpu",
) -> Iterator[list[Explanation]]:
    """Explain many images, yielding one list of explanations per image, in input order.

    :func:`iter_explain_photos` for callers that want the first bad image to stop the run.

    Parameters
    ----------
    explainer : Explainer
    model : LoadedModel
    images : iterable of (H, W, 3) uint8 ndarray, path or bytes
        Arrays are used as they are (not modified); paths and bytes are decoded in the worker threads.
    targets : int or sequence of int, optional
        Classes to explain for every image. Default: each image's top ``topk``.
    topk : int
    batch_size : int, optional
        Images per forward pass, >= 1 (default :func:`default_batch_size`).
    workers : int, optional
        Load threads (default :func:`default_workers`).
    decoder : {"cpu", "gpu", "auto"}
        Default ``"cpu"``: the pixels of :func:`explainers.load_image` on every device.

    Yields
    ------
    list of Explanation
        The explanations of one image, as :meth:`Explainer.explain` returns them.

    Raises
    ------
    ParameterError
        If ``batch_size`` or ``workers`` is < 1.
    ImageError
        If an image cannot be decoded (raised when its batch is reached).
    """
    for item in iter_explain_photos(
        explainer, model, images, targets, topk, batch_size=batch_size, workers=workers, decoder=decoder
    ):
        if item.error is not None:
            raise item.error
        yield item.explanations


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
