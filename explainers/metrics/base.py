"""The metric interface: a registry of metrics, the triples they measure, and the one batched scorer.

A metric is a subclass of :class:`Metric` with a ``name``, its parameters (declared once, as a
method's), its ``direction`` (is a higher value better or a lower one) and its ``cost`` in forward
passes per map. It measures ``N`` *triples* (a photo, a map of that photo, the class the map explains)
of one model at once: :class:`MapBatch` prepares them once (each photo preprocessed once however many
maps it has, the maps brought to the model's input resolution), and :func:`class_probabilities` runs
the metric's perturbed copies through the network a batch at a time, on the model's device, making
only one batch of copies at a time and reporting each batch to :mod:`explainers.progress`.

Examples
--------
>>> deletion = get_metric("deletion", steps=10)
>>> scores = deletion.measure(model, [image, image], [cam_map, secam_map], [285, 285])  # doctest: +SKIP
>>> scores.values.shape  # doctest: +SKIP
(2,)
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import cv2
import numpy as np
import torch

from .. import progress
from ..errors import ParameterError
from ..images import validate_image
from ..registries import Declared, builtin, check_new, create
from ..methods.secam import slic_segments
from ..models.loaded import MAX_FORWARD_IMAGES, LoadedModel
from ..parameters import Param
from ..regions import nearest

#: ``Metric.direction`` of a metric whose higher values mean a more faithful map.
HIGHER = "higher"
#: ``Metric.direction`` of a metric whose lower values mean a more faithful map.
LOWER = "lower"

METRICS: dict[str, type[Metric]] = {}

#: Copies per forward pass, shared by every built-in metric (the network itself never sees more than
#: :data:`~explainers.models.loaded.MAX_FORWARD_IMAGES` at a time).
BATCH_SIZE = Param("batch_size", int, 64, low=1, high=4096, server_high=64, help="copies per forward pass")


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator: make ``cls`` available to :func:`get_metric` under ``cls.name``.

    Its declarations are checked here, so a broken metric (built-in or plug-in) fails when it is
    registered, with its name, rather than when a user first picks it.

    Raises
    ------
    ValueError
        If ``cls`` is not a :class:`Metric` subclass, has no lower-case identifier ``name``, reuses a
        registered name, has a ``direction`` other than ``"higher"`` or ``"lower"``, or declares
        parameters whose names repeat or whose defaults are outside their own range.
    """
    check_new(METRICS, cls, Metric, "explainers.metrics.Metric", "mymetric", "metric")
    if cls.direction not in (HIGHER, LOWER):
        raise ValueError(f"{cls.__name__}.direction must be '{HIGHER}' or '{LOWER}', got {cls.direction!r}")
    METRICS[cls.name] = cls
    return cls


def get_metric(name: str, **params: Any) -> Metric:
    """A metric by registered name, with its parameters validated.

    Raises
    ------
    ParameterError
        If ``name`` is unknown (the message lists the known names) or a parameter is invalid.
    """
    return create(METRICS, name, "metric", **params)


def list_metrics() -> list[str]:
    """Registered metric names, built-ins first (in the order they were registered), then plug-ins."""
    return list(METRICS)


def builtin_metrics() -> list[str]:
    """The metrics that ship with ``explainers`` (no plug-ins), in registration order."""
    return builtin(METRICS)


@dataclasses.dataclass(frozen=True)
class Scores:
    """What one metric measured on ``N`` triples.

    Attributes
    ----------
    metric : str
        The metric's registered name.
    direction : {"higher", "lower"}
        Which values mean a more faithful map.
    values : (N,) float64 ndarray
        One value per triple, in the order of the triples.
    params : dict
        Every parameter of the metric, as used.
    fractions, curves : tuple of N (T_i,) float64 ndarrays, or None
        For metrics that follow a curve (deletion, insertion, ROAD, IROF): the x positions (share of
        the photo or of its superpixels removed) and the class probability there, per triple.
    seconds : float
        Wall time of the measurement (forward passes included).
    """

    metric: str
    direction: str
    values: np.ndarray
    params: Mapping[str, Any]
    fractions: tuple[np.ndarray, ...] | None = None
    curves: tuple[np.ndarray, ...] | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (arrays as lists, NaN as None)."""
        return {
            "metric": self.metric,
            "direction": self.direction,
            "values": [_json_float(v) for v in self.values],
            "params": dict(self.params),
            "fractions": None if self.fractions is None else [f.tolist() for f in self.fractions],
            "curves": None if self.curves is None else [c.tolist() for c in self.curves],
            "seconds": self.seconds,
        }


def _json_float(value: float) -> float | None:
    """``value`` as a float, or None for NaN (JSON has no NaN)."""
    value = float(value)
    return None if np.isnan(value) else value


class MapBatch:
    """``N`` (photo, map, class) triples of one model, prepared once for any number of metrics.

    Each distinct photo (the same array object passed several times counts once) is preprocessed
    once; each map is resized bilinearly to the model's input (``S x S``), the resolution at which
    every metric works; the class probabilities of the intact photos come from one forward pass per
    photo, the first time a metric asks for them.

    Parameters
    ----------
    model : LoadedModel
    images : sequence of N (H_i, W_i, 3) uint8 ndarray
        The photo of each triple. Pass the same array object for maps of the same photo.
    maps : sequence of N (H_i, W_i) float ndarray
        The map of each triple, at its photo's resolution; higher means more important.
    classes : sequence of N int
        The class each map explains, in [0, K).
    segments : sequence of N (H_i, W_i) int ndarray or None, optional
        Superpixel labels to use for the metrics that need superpixels (e.g. SeCAM's own, from its
        explanations); a None entry (or None for all) lets such a metric run SLIC itself.

    Raises
    ------
    ParameterError
        If the three sequences differ in length or are empty, a map is not shaped like its photo or
        holds NaN or infinite values, a class is out of range, or segments are not shaped like their
        photo.
    ImageError
        If a photo is not an ``(H, W, 3)`` uint8 array.
    """

    def __init__(
        self,
        model: LoadedModel,
        images: Sequence[np.ndarray],
        maps: Sequence[np.ndarray],
        classes: Sequence[int],
        segments: Sequence[np.ndarray | None] | None = None,
    ) -> None:
        images, maps, classes = list(images), list(maps), list(classes)
        if not len(images) == len(maps) == len(classes):
            raise ParameterError(
                f"give one photo, one map and one class per triple; got {len(images)} photos, {len(maps)} maps "
                f"and {len(classes)} classes"
            )
        if not images:
            raise ParameterError("no triples to measure; give at least one photo, map and class")
        segments = [None] * len(images) if segments is None else list(segments)
        if len(segments) != len(images):
            raise ParameterError(
                f"give one `segments` entry (or None) per triple; got {len(segments)} for {len(images)}"
            )
        self.model = model
        self.size = int(model.input_size)
        unique: dict[int, int] = {}
        self.images: list[np.ndarray] = []
        photo_of = []
        for image in images:
            key = id(image)
            if key not in unique:
                unique[key] = len(self.images)
                self.images.append(validate_image(image))
            photo_of.append(unique[key])
        #: (N,) index of each triple's photo in :attr:`images`.
        self.photo_of = np.asarray(photo_of, dtype=np.int64)
        class_param = Param("class_index", int, 0, low=0, high=model.num_classes - 1)
        #: (N,) the explained classes.
        self.classes = np.asarray([class_param.check(c) for c in classes], dtype=np.int64)
        resized = []
        for i, (image, saliency) in enumerate(zip(images, maps)):
            saliency = np.asarray(saliency)
            if saliency.shape != image.shape[:2]:
                raise ParameterError(
                    f"maps[{i}] has shape {saliency.shape}; it must be its photo's (H, W) = {image.shape[:2]}"
                )
            if not np.isfinite(saliency).all():
                raise ParameterError(f"maps[{i}] holds NaN or infinite values; give a finite map")
            resized.append(self.resize(saliency))
        #: (N, S, S) float32 the maps at the model's input resolution (bilinear, half-pixel centres).
        self.maps = np.stack(resized)
        for i, seg in enumerate(segments):
            if seg is not None and (
                np.shape(seg) != images[i].shape[:2]
                or not np.issubdtype(np.asarray(seg).dtype, np.integer)
                or np.asarray(seg).min() < 0
            ):
                raise ParameterError(
                    f"segments[{i}] must be non-negative integer labels of its photo's (H, W) = "
                    f"{images[i].shape[:2]}, e.g. from slic_segments(image)"
                )
        self.given_segments = [None if s is None else np.asarray(s) for s in segments]
        self._cache: dict[Hashable, Any] = {}
        self._device_photo: tuple[int, torch.Tensor] | None = None

    def __len__(self) -> int:
        return int(self.classes.size)

    def resize(self, saliency: np.ndarray) -> np.ndarray:
        """``(S, S)`` float32 copy of an ``(H, W)`` map (bilinear, half-pixel centres, as :func:`pixel_order`)."""
        return cv2.resize(
            np.asarray(saliency, dtype=np.float32), (self.size, self.size), interpolation=cv2.INTER_LINEAR
        )

    def cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per ``key`` for the life of the batch (shared by the metrics)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def x(self, photo: int) -> torch.Tensor:
        """``(3, S, S)`` float32 preprocessed photo on the CPU (computed once)."""
        return self.cached(("x", photo), lambda: self.model.preprocess(self.images[photo]))

    def x_on_device(self, photo: int) -> torch.Tensor:
        """:meth:`x` on the model's device (the last photo asked for is kept there)."""
        if self._device_photo is None or self._device_photo[0] != photo:
            self._device_photo = (photo, self.x(photo).to(self.model.device))
        return self._device_photo[1]

    def originals(self) -> np.ndarray:
        """``(N,)`` float64 probability of each triple's class on its intact photo (one pass per photo, once)."""

        def compute() -> np.ndarray:
            step = MAX_FORWARD_IMAGES[self.model.device.type == "cuda"]
            progress.plan(len(self.images))
            probabilities = []
            for start in range(0, len(self.images), step):
                batch = torch.stack([self.x(p) for p in range(start, min(start + step, len(self.images)))])
                logits, _ = self.model.forward_batch(batch)
                probabilities.append(torch.softmax(logits, dim=1).cpu())
                progress.advance(batch.shape[0])
            table = torch.cat(probabilities)
            return table[torch.from_numpy(self.photo_of), torch.from_numpy(self.classes)].double().numpy()

        return self.cached("originals", compute)

    def segments_at_input(self, index: int, n_segments: int, compactness: float, max_side: int | None) -> np.ndarray:
        """``(S, S)`` int32 superpixel labels of triple ``index`` at the model's input resolution.

        The triple's given ``segments`` when there are some, else SLIC on its photo at the photo's
        resolution (:func:`explainers.slic_segments` with these parameters, computed once per photo),
        brought to ``S x S`` by nearest neighbour with pixel centres.
        """
        given = self.given_segments[index]
        if given is None:
            photo = int(self.photo_of[index])
            given = self.cached(
                ("slic", photo, n_segments, compactness, max_side),
                lambda: slic_segments(self.images[photo], n_segments, compactness, max_side),
            )
        return nearest(np.ascontiguousarray(given, dtype=np.int32), (self.size, self.size))


def class_probabilities(
    model: LoadedModel, copies: Iterable[tuple[torch.Tensor, int]], count: int, batch_size: int
) -> np.ndarray:
    """Softmax probability of each copy's class, the copies made lazily and run a batch at a time.

    Parameters
    ----------
    model : LoadedModel
    copies : iterable of ((3, S, S) tensor, int)
        Each perturbed, preprocessed copy (on the model's device, ideally) with the class to read; it is
        consumed ``min(batch_size, MAX_FORWARD_IMAGES)`` items at a time, so at most one batch of
        copies exists at once.
    count : int
        How many copies ``copies`` yields (announced to :func:`explainers.progress.plan`).
    batch_size : int
        Copies per forward pass.

    Returns
    -------
    (count,) float64 ndarray

    Raises
    ------
    explainers.progress.Cancelled
        If the caller's :class:`~explainers.progress.Progress` was cancelled (checked after each batch).
    """
    step = max(1, min(int(batch_size), MAX_FORWARD_IMAGES[model.device.type == "cuda"]))
    progress.plan(count)
    out = []
    iterator: Iterator[tuple[torch.Tensor, int]] = iter(copies)
    while chunk := list(itertools.islice(iterator, step)):
        batch = torch.stack([c for c, _ in chunk])
        logits, _ = model.forward_batch(batch)
        rows = torch.arange(len(chunk), device=logits.device)
        wanted = torch.tensor([k for _, k in chunk], device=logits.device)
        out.append(torch.softmax(logits, dim=1)[rows, wanted].cpu())
        progress.advance(len(chunk))
    result = torch.cat(out).double().numpy() if out else np.zeros(0)
    if result.size != count:
        raise RuntimeError(f"the metric announced {count} copies and made {result.size}")
    return result


class Metric(Declared):
    """Base class of all metrics.

    Subclasses set ``name``, ``title``, ``summary``, ``parameters`` (each checked by its
    :class:`~explainers.parameters.Param`), ``direction`` and ``uses_superpixels``, and implement
    :meth:`compute` (on a :class:`MapBatch`) and :meth:`cost`.
    """

    name: ClassVar[str] = ""
    #: the label people read: "Deletion AUC"; defaults to ``name``.
    title: ClassVar[str] = ""
    #: one line: what a value means ("area under the probability as the most salient pixels go").
    summary: ClassVar[str] = ""
    #: every parameter, declared once; ``__init__`` accepts exactly these.
    parameters: ClassVar[tuple[Param, ...]] = ()
    #: parameters and their defaults, derived from ``parameters``.
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: ``"higher"`` if a higher value means a more faithful map, ``"lower"`` otherwise.
    direction: ClassVar[str] = HIGHER
    #: it works on superpixels and accepts a triple's ``segments`` (:class:`MapBatch`).
    uses_superpixels: ClassVar[bool] = False
    #: the distribution the metric came from: ``"explainers"`` for built-ins, the plug-in's package otherwise.
    source: ClassVar[str] = "explainers"

    @property
    def higher_is_better(self) -> bool:
        """Whether a higher value means a more faithful map."""
        return self.direction == HIGHER

    def cost(self) -> float:
        """Forward passes per map with these parameters (for time estimates); the intact photo's is not counted."""
        raise NotImplementedError(f"{type(self).__name__} must implement cost()")

    def measure(
        self,
        model: LoadedModel,
        images: Sequence[np.ndarray],
        maps: Sequence[np.ndarray],
        classes: Sequence[int],
        *,
        segments: Sequence[np.ndarray | None] | None = None,
    ) -> Scores:
        """Measure ``N`` (photo, map, class) triples of one model; see :class:`MapBatch` for the arguments.

        Returns
        -------
        Scores
            ``values`` has shape ``(N,)``.

        Raises
        ------
        ParameterError, ImageError
            On inconsistent triples (see :class:`MapBatch`).
        explainers.progress.Cancelled
            If the caller cancelled the work.
        """
        return self.measure_batch(MapBatch(model, images, maps, classes, segments))

    def measure_batch(self, batch: MapBatch) -> Scores:
        """Measure the triples of a prepared :class:`MapBatch` (several metrics share one)."""
        t0 = time.perf_counter()
        values, fractions, curves = self.compute(batch)
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(batch),):
            raise RuntimeError(f"metric '{self.name}' returned shape {values.shape} for {len(batch)} triples")
        return Scores(
            metric=self.name,
            direction=self.direction,
            values=values,
            params=dict(self.params),
            fractions=fractions,
            curves=curves,
            seconds=time.perf_counter() - t0,
        )

    def compute(
        self, batch: MapBatch
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None, tuple[np.ndarray, ...] | None]:
        """``(values (N,), fractions or None, curves or None)`` for the triples of ``batch``; see :class:`Scores`."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute()")


def measure_all(
    metrics: Sequence[Metric],
    model: LoadedModel,
    images: Sequence[np.ndarray],
    maps: Sequence[np.ndarray],
    classes: Sequence[int],
    *,
    segments: Sequence[np.ndarray | None] | None = None,
) -> dict[str, Scores]:
    """Several metrics on the same triples, sharing the preparation (photos, resized maps, superpixels).

    Parameters
    ----------
    metrics : sequence of Metric
        Distinct names.
    model, images, maps, classes, segments
        As :class:`MapBatch`.

    Returns
    -------
    dict
        Metric name -> :class:`Scores`, in the order of ``metrics``.

    Raises
    ------
    ParameterError
        If a metric name repeats, or as :class:`MapBatch`.
    """
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ParameterError(f"a metric is named twice in {names}; measure each once")
    batch = MapBatch(model, images, maps, classes, segments)
    return {m.name: m.measure_batch(batch) for m in metrics}
