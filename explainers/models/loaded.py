"""A network ready to explain: preprocessing, the hooked forward pass, and the GAP check."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..errors import ParameterError
from .spec import ModelSpec


@dataclasses.dataclass(frozen=True)
class GapCheck:
    """Result of the numerical check that makes CAM exact.

    ``exact`` is True when the model's logits equal the classifier applied to
    the spatial mean of the feature layer's output, within ``tolerance``.
    """

    exact: bool
    max_error: float
    tolerance: float
    detail: str


@dataclasses.dataclass(frozen=True, eq=False)
class ForwardPass:
    """What one forward pass of one image yields; shared by every target class.

    Attributes
    ----------
    logits, probabilities : (K,) float32 tensor on the CPU
    features : (C, h, w) float32 tensor on the model's device
        Output of the feature layer.
    image_size : (H, W)
        Size of the original image.
    timings : dict
        ``preprocess`` and ``forward`` seconds.
    """

    logits: torch.Tensor
    probabilities: torch.Tensor
    features: torch.Tensor
    image_size: tuple[int, int]
    timings: dict[str, float]

    def top(self, k: int) -> list[int]:
        """Indices of the ``k`` most probable classes, best first."""
        return [int(i) for i in torch.topk(self.logits, k).indices]

    def rank_of(self, class_index: int) -> int:
        """0-based rank of ``class_index`` (0 is the top prediction)."""
        return int((self.logits > self.logits[class_index]).sum())

    def select(self, targets: Sequence[int] | int | None, topk: int) -> list[int]:
        """Classes to explain: ``targets`` if given (validated), else the top ``topk``."""
        chosen = check_classes(int(self.logits.numel()), targets, topk)
        return self.top(topk) if chosen is None else chosen


def check_classes(num_classes: int, targets: Sequence[int] | int | None, topk: int) -> list[int] | None:
    """Validate ``targets`` (or ``topk`` when ``targets`` is None) against ``num_classes``.

    Returns the target indices as a list, or None when the top ``topk`` are wanted.
    Raises TypeError or ParameterError with the valid range.
    """
    if targets is None:
        if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)):
            raise TypeError(f"`topk` must be an int in [1, {num_classes}], got {type(topk).__name__} {topk!r}")
        if not 1 <= topk <= num_classes:
            raise ParameterError(f"`topk` must be in [1, {num_classes}], got {topk}")
        return None
    if isinstance(targets, (int, np.integer)) and not isinstance(targets, bool):
        targets = [int(targets)]
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Iterable):
        raise TypeError(
            f"`targets` must be a class index or a sequence of class indices in [0, {num_classes - 1}], "
            f"got {type(targets).__name__} {targets!r}"
        )
    targets = list(targets)
    if not targets:
        raise ParameterError("`targets` is empty; pass class indices or None for the top predictions")
    for t in targets:
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"`targets` must hold class indices (int) in [0, {num_classes - 1}], got {t!r}")
        if not 0 <= t < num_classes:
            raise ParameterError(f"target class {t} is out of range; valid classes are 0..{num_classes - 1}")
    return [int(t) for t in targets]


#: Images per pass through the network, (on the CPU, on a GPU): larger batches are split, bounding peak memory.
#: On the CPU a small pass also keeps the early activations in the cache, which larger ones overflow
#: (docs/BENCHMARKS.md, "forward pass per image by batch size").
MAX_FORWARD_IMAGES = (8, 512)


@dataclasses.dataclass(eq=False)
class LoadedModel:
    """A registry model, built and checked, ready to be explained.

    Attributes
    ----------
    spec : ModelSpec
    network : torch.nn.Module
        The network in eval mode on ``device``.
    labels : tuple of str
        One name per class.
    device : torch.device
    feature_layer, classifier : str
        Module names of the last spatial feature map and of the linear classifier.
    gap_check : GapCheck
    lock : threading.RLock
        Held while hooks are attached, so threads can share the model.
    autocast_bf16, channels_last : bool
        Speed options of :meth:`forward_batch`, off by default; set them with :meth:`set_fast_math`.
    """

    spec: ModelSpec
    network: nn.Module
    labels: tuple[str, ...]
    device: torch.device
    feature_layer: str
    classifier: str
    gap_check: GapCheck = None  # type: ignore[assignment]  # set by ``check_gap`` right after construction
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock, repr=False)
    autocast_bf16: bool = False
    channels_last: bool = False

    # -- descriptive properties -------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def input_size(self) -> int:
        return self.spec.input_size

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def cam_exact(self) -> bool:
        return bool(self.gap_check and self.gap_check.exact)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.network.parameters())

    def module(self, name: str) -> nn.Module:
        return self.network.get_submodule(name)

    def classifier_weights(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(K, C)`` weight and ``(K,)`` bias of the linear classifier, on the device."""
        fc = self.module(self.classifier)
        weight: torch.Tensor = fc.weight  # type: ignore[assignment]  # a Linear's parameter
        bias: torch.Tensor | None = getattr(fc, "bias", None)
        return weight.detach(), (bias.detach() if bias is not None else None)

    # -- preprocessing ----------------------------------------------------------
    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """Resize the whole ``(H, W, 3)`` uint8 image to the input size (no crop) and normalise.

        Returns a ``(3, S, S)`` float32 tensor on the CPU. Bilinear resize with
        Pillow, as torchvision's ``Resize`` does on a PIL image (the tutorial's
        preprocessing), then ``(x / 255 - mean) / std``.
        """
        size = self.input_size
        resized = np.array(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))
        # contiguous (3, S, S): a permuted view would stay channels-last through .float(), and the
        # network's first convolution is slower on that layout
        x = torch.from_numpy(resized).permute(2, 0, 1).contiguous().float().div_(255.0)
        mean = torch.tensor(self.spec.mean).view(3, 1, 1)
        std = torch.tensor(self.spec.std).view(3, 1, 1)
        return x.sub_(mean).div_(std)

    # -- forward ----------------------------------------------------------------
    @contextlib.contextmanager
    def capture_features(self) -> Iterator[dict[str, torch.Tensor]]:
        """Attach a forward hook on the feature layer for the duration of the block.

        Yields a dict that receives the layer's output under ``"features"``.
        The model's lock is held for the whole block, and the hook is removed in
        ``finally`` whatever happens inside.
        """
        store: dict[str, torch.Tensor] = {}

        def hook(_module, _inputs, output):
            store["features"] = output

        with self.lock:
            handle = self.module(self.feature_layer).register_forward_hook(hook)
            try:
                yield store
            finally:
                handle.remove()

    def set_fast_math(self, bf16: bool = False, channels_last: bool = False) -> LoadedModel:
        """Turn on bf16 autocast and/or the ``channels_last`` memory layout for every forward pass.

        Both are off by default; on a recent GPU they speed the forward pass up (docs/BENCHMARKS.md).
        bf16 maps differ from fp32's by at most 0.1 of the [0, 1] range for the same target class
        (``tests/test_batch.py`` checks the bound), and the top class can change where two classes nearly
        tie; ``channels_last`` alone changes only float rounding. Returns ``self``.
        """
        if not isinstance(bf16, bool) or not isinstance(channels_last, bool):
            raise TypeError("`bf16` and `channels_last` must be bools")
        with self.lock:
            self.network.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
            self.autocast_bf16, self.channels_last = bf16, channels_last
        return self

    @torch.inference_mode()
    def forward_batch(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run a preprocessed ``(N, 3, S, S)`` batch; returns ``(logits (N, K), features (N, C, h, w))``.

        Both are float32 (computed in bf16 when ``autocast_bf16`` is set). The network sees at most
        :data:`MAX_FORWARD_IMAGES` images of the device at a time, so the activations' memory is bounded
        whatever batch a caller passes.
        """
        limit = MAX_FORWARD_IMAGES[self.device.type == "cuda"]
        if batch.shape[0] > limit:
            parts = [self.forward_batch(batch[i : i + limit]) for i in range(0, batch.shape[0], limit)]
            return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        batch = batch.to(self.device, non_blocking=True)
        with self.capture_features() as store:  # the lock: set_fast_math cannot change the layout mid-pass
            if self.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast_bf16):
                logits = self.network(batch)
        return logits.float(), store["features"].float()

    def forward(self, image: np.ndarray) -> ForwardPass:
        """One forward pass of one ``(H, W, 3)`` uint8 image: logits, probabilities, features."""
        t0 = time.perf_counter()
        x = self.preprocess(image)[None]
        t1 = time.perf_counter()
        logits, features = self.forward_batch(x)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        t2 = time.perf_counter()
        logits = logits[0].cpu()
        return ForwardPass(
            logits=logits,
            probabilities=torch.softmax(logits, dim=0),
            features=features[0],
            image_size=(int(image.shape[0]), int(image.shape[1])),
            timings={"preprocess": t1 - t0, "forward": t2 - t1},
        )

    def predict(self, image: np.ndarray, topk: int = 5) -> list[tuple[int, str, float]]:
        """Top ``topk`` ``(class_index, label, probability)`` for one image."""
        fp = self.forward(image)
        return [(i, self.labels[i], float(fp.probabilities[i])) for i in fp.select(None, topk)]


def detect_layers(
    network: nn.Module, input_size: int, num_classes: int, feature_layer: str | None, classifier: str | None
) -> tuple[str, str]:
    """Find the classifier (last ``nn.Linear`` with ``num_classes`` outputs) and the
    feature layer (the last module, in completion order, whose output is a spatial
    ``(N, C, h, w)`` map with ``C`` equal to the classifier's input size)."""
    if classifier is None:
        linears = [n for n, m in network.named_modules() if isinstance(m, nn.Linear) and m.out_features == num_classes]
        if not linears:
            raise ValueError(f"no nn.Linear layer with {num_classes} outputs; set 'classifier' in the registry")
        classifier = linears[-1]
    fc = _submodule(network, classifier, "classifier")
    in_features = getattr(fc, "in_features", None)
    if feature_layer is not None:
        _submodule(network, feature_layer, "feature_layer")
        return feature_layer, classifier

    seen: list[tuple[str, tuple[int, ...]]] = []
    handles = []
    for name, module in network.named_modules():
        if name and not isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten)):
            handles.append(
                module.register_forward_hook(
                    lambda m, i, o, name=name: (
                        seen.append((name, tuple(o.shape))) if isinstance(o, torch.Tensor) else None
                    )
                )
            )
    try:
        with torch.inference_mode():
            network(torch.zeros(1, 3, input_size, input_size, device=next(network.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    candidates = [
        n for n, s in seen if len(s) == 4 and s[2] * s[3] > 1 and (in_features is None or s[1] == in_features)
    ]
    if not candidates:
        raise ValueError(
            f"no layer outputs a spatial (N, {in_features}, h, w) map for classifier '{classifier}': the head is "
            "probably not global average pooling + one linear layer; set 'feature_layer' in the registry"
        )
    return candidates[-1], classifier


def _submodule(network: nn.Module, name: str, field: str) -> nn.Module:
    """``network.get_submodule(name)``, or a ValueError naming the registry field."""
    try:
        return network.get_submodule(name)
    except AttributeError:
        top = ", ".join(n for n, _ in network.named_children())
        raise ValueError(f"field '{field}': the network has no module '{name}' (top-level modules: {top})") from None


def check_gap(model: LoadedModel, seed: int = 0) -> GapCheck:
    """Check numerically that ``logits == classifier(mean_hw(features))`` on a random input."""
    fc = model.module(model.classifier)
    if not isinstance(fc, nn.Linear):
        return GapCheck(
            False, float("nan"), 0.0, f"classifier '{model.classifier}' is {type(fc).__name__}, not nn.Linear"
        )
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, model.input_size, model.input_size, generator=g)
    logits, features = model.forward_batch(x)
    if features.ndim != 4 or features.shape[1] != fc.in_features:
        return GapCheck(
            False,
            float("nan"),
            0.0,
            f"feature layer '{model.feature_layer}' outputs shape {tuple(features.shape[1:])}, but classifier "
            f"'{model.classifier}' takes {fc.in_features} features: the map is not what the classifier pools",
        )
    with torch.inference_mode():
        pooled = fc(features.mean(dim=(2, 3)).to(fc.weight.dtype)).float()
    error = float((logits - pooled).abs().max())
    tolerance = 1e-3 * max(1.0, float(logits.abs().max()))
    if error <= tolerance:
        return GapCheck(
            True, error, tolerance, "logits equal the classifier applied to the global average of the feature map"
        )
    return GapCheck(
        False,
        error,
        tolerance,
        f"logits differ from classifier(global average of '{model.feature_layer}') by {error:.3g} "
        f"(tolerance {tolerance:.3g}): the head is not GAP + linear",
    )
