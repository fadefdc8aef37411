"""The model-parameter randomisation check (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018).

A map that stays the same when the model's learned weights are replaced by random ones cannot be
explaining the model: it shows something about the photo (its edges, say) that any network, or none,
would give. The check re-initialises a *copy* of the network cascading from the top (the classifier
first, then the layers below it, one block at a time, each step keeping the previous ones random),
explains the same photos and classes after every step, and compares each map with the one from the
trained model. A method passes when its maps move away from the originals.

The rule, stated once (:attr:`RandomisationCheck.rule`): for each photo, the *score* is the mean over
the cascade's steps of the Spearman rank correlation between the original and the randomised map; the
method passes when the score is below ``threshold`` (default 0.5) on more than half of the photos.
SSIM is reported beside it, not used by the rule.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import cv2
import numpy as np
import scipy.stats
import torch
from skimage.metrics import structural_similarity
from torch import nn

from .. import progress
from ..errors import ParameterError
from ..images import validate_image
from ..methods.base import Explainer, get_explainer
from ..models.loaded import LoadedModel
from ..parameters import SEED_MAX, Param

#: The rule's parameters, declared once.
SANITY_PARAMETERS = (
    Param(
        "threshold",
        float,
        0.5,
        low=-1.0,
        high=1.0,
        help="a photo passes when its mean Spearman correlation over the cascade is below this",
    ),
    Param("layers", int, 0, low=0, none_means=0, help="layer groups to randomise from the top (0: all of them)"),
    Param("seed", int, 0, low=0, high=SEED_MAX, help="seed of the random weights"),
)


def layer_groups(network: nn.Module) -> list[tuple[str, tuple[str, ...]]]:
    """The cascade's steps, top first: the re-initialisable layers grouped by the module that holds them.

    The layers are the modules that define ``reset_parameters`` (convolutions, linear and
    normalisation layers...), taken in the reverse of their registration order (for the usual
    sequential networks, output to input: the classifier first); consecutive layers with the same
    parent module (one block) form one step, a layer directly under the network is a step of its own.

    Parameters
    ----------
    network : torch.nn.Module

    Returns
    -------
    list of (str, tuple of str)
        ``(step name, module names)``; the step name is the parent's name, or the layer's own.
    """
    layers = [name for name, module in network.named_modules() if name and hasattr(module, "reset_parameters")]
    groups = []
    for parent, names in itertools.groupby(reversed(layers), key=lambda n: n.rpartition(".")[0] or n):
        groups.append((parent, tuple(names)))
    return groups


def _reinitialise(module: nn.Module, seed: int) -> None:
    """``module.reset_parameters()`` drawn on the CPU from ``seed`` (same weights on any device; global RNG untouched)."""
    tensors = list(itertools.chain(module.parameters(), module.buffers()))
    device = tensors[0].device if tensors else torch.device("cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module.to("cpu")
        module.reset_parameters()  # type: ignore[operator]  # every layer of layer_groups has it
        module.to(device)


def randomised_cascade(network: nn.Module, seed: int = 0, steps: int | None = None) -> Iterator[tuple[str, nn.Module]]:
    """A copy of ``network`` re-initialised step by step from the top; ``network`` itself is never changed.

    Each layer of :func:`layer_groups` gets its own ``reset_parameters()`` (PyTorch's default
    initialisation: random for convolutions and linear layers; weight 1, bias 0, running mean 0 and
    variance 1 for batch normalisation), drawn from a seed derived from ``seed`` and the layer's
    position in the cascade, so the same ``seed`` gives the same weights on any device.

    Parameters
    ----------
    network : torch.nn.Module
    seed : int
    steps : int, optional
        Stop after this many steps (default: all).

    Yields
    ------
    (str, torch.nn.Module)
        The step's name and the copy with that step and all the ones above it random (the same
        object each time, mutated; in eval mode).
    """
    groups = layer_groups(network)[: steps or None]
    randomised = copy.deepcopy(network).eval()
    position = 0
    for name, modules in groups:
        for module_name in modules:
            layer_seed = int(np.random.SeedSequence([seed, position]).generate_state(1)[0])
            _reinitialise(randomised.get_submodule(module_name), layer_seed)
            position += 1
        yield name, randomised


def map_similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Spearman rank correlation and SSIM between two maps of the same shape.

    Parameters
    ----------
    a, b : (H, W) float ndarray

    Returns
    -------
    spearman : float
        :func:`scipy.stats.spearmanr` of the flattened maps (ties get average ranks), in [-1, 1]; 0
        when a map is constant (it keeps no ranking of the other).
    ssim : float
        :func:`skimage.metrics.structural_similarity` of the 2-D maps (7 x 7 uniform window, K1 = 0.01,
        K2 = 0.03), ``data_range`` = the larger maximum minus the smaller minimum of the two maps; 1
        when both are the same constant.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the maps have shapes {a.shape} and {b.shape}; compare maps of one size")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        spearman = 0.0
    else:
        spearman = float(scipy.stats.spearmanr(a.ravel(), b.ravel()).statistic)
    data_range = max(a.max(), b.max()) - min(a.min(), b.min())
    ssim = 1.0 if data_range == 0 else float(structural_similarity(a, b, data_range=data_range))
    return spearman, ssim


@dataclasses.dataclass(frozen=True)
class RandomisationCheck:
    """One method's randomisation check on ``P`` photos and ``L`` cascade steps.

    Attributes
    ----------
    method : str
    model : str
    layers : tuple of L str
        The cascade's steps, top first (:func:`layer_groups`).
    classes : (P,) int64 ndarray
        The class explained on each photo (the same before and after randomisation).
    spearman, ssim : (P, L) float64 ndarray
        Similarity of each photo's map after each step with its map from the trained model
        (:func:`map_similarity`, maps at the model's input resolution).
    scores : (P,) float64 ndarray
        Mean of ``spearman`` over the steps.
    threshold : float
    passed_photos : int
        Photos whose score is below ``threshold``.
    passed : bool
        ``passed_photos > P / 2``.
    seed : int
    """

    method: str
    model: str
    layers: tuple[str, ...]
    classes: np.ndarray
    spearman: np.ndarray
    ssim: np.ndarray
    scores: np.ndarray
    threshold: float
    passed_photos: int
    passed: bool
    seed: int

    @property
    def rule(self) -> str:
        """The pass/fail rule in words, with this check's numbers."""
        return (
            f"passes when the Spearman correlation between the original map and the map after each of the "
            f"{len(self.layers)} randomisation steps, averaged over the steps, is below {self.threshold:g} on more "
            f"than half of the photos ({self.passed_photos} of {len(self.scores)} here)"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy (arrays as lists)."""
        return {
            "method": self.method,
            "model": self.model,
            "layers": list(self.layers),
            "classes": self.classes.tolist(),
            "spearman": self.spearman.tolist(),
            "ssim": self.ssim.tolist(),
            "scores": self.scores.tolist(),
            "threshold": self.threshold,
            "passed_photos": self.passed_photos,
            "passed": self.passed,
            "seed": self.seed,
            "rule": self.rule,
        }


def randomisation_check(
    model: LoadedModel,
    methods: Sequence[Explainer | str] | Explainer | str,
    images: Sequence[np.ndarray],
    classes: Sequence[int] | None = None,
    *,
    threshold: float = 0.5,
    layers: int | None = None,
    seed: int = 0,
) -> dict[str, RandomisationCheck]:
    """Cascading model-parameter randomisation of ``model`` for each method on the same photos.

    The trained model explains each photo (for ``classes``, default its top-1 class); then a copy of
    its network is re-initialised step by step from the top (:func:`randomised_cascade`), and after
    every step each method explains the same photos for the same classes. Each map is compared with
    the trained model's (:func:`map_similarity`, both resized bilinearly to the model's input). The
    rule: see :class:`RandomisationCheck` and this module's docstring. ``model`` is not modified.

    Parameters
    ----------
    model : LoadedModel
    methods : Explainer, str, or a sequence of them
        Explainers (or registered names, with default parameters); a method's per-photo work that does
        not depend on the model (SeCAM's superpixels) is done once.
    images : sequence of P (H, W, 3) uint8 ndarray
    classes : sequence of P int, optional
    threshold : float
        In [-1, 1].
    layers : int, optional
        Randomise only the top ``layers`` steps of the cascade (None or 0: all of them).
    seed : int
        Seed of the random weights.

    Returns
    -------
    dict
        Method name -> :class:`RandomisationCheck`, in the order of ``methods``.

    Raises
    ------
    ParameterError
        On an out-of-range parameter, an empty photo list, or a ``classes`` list of another length.
    CamNotExactError
        If a method cannot explain ``model``.
    explainers.progress.Cancelled
        If the caller cancelled the work (checked after each explanation).
    """
    params = {p.name: p.check(v) for p, v in zip(SANITY_PARAMETERS, (threshold, layers, seed))}
    if isinstance(methods, (str, Explainer)):
        methods = [methods]
    explainers = [get_explainer(m) if isinstance(m, str) else m for m in methods]
    if not explainers:
        raise ParameterError("no methods to check; give at least one")
    names = [e.name for e in explainers]
    if len(set(names)) != len(names):
        raise ParameterError(f"a method is named twice in {names}; check each once")
    images = [validate_image(image) for image in images]
    if not images:
        raise ParameterError("no photos to check on; give at least one")
    for explainer in explainers:
        explainer.check_supports(model)
    if classes is None:
        classes = [model.forward(image).top(1)[0] for image in images]
    classes = [Param("class_index", int, 0, low=0, high=model.num_classes - 1).check(c) for c in classes]
    if len(classes) != len(images):
        raise ParameterError(f"give one class per photo; got {len(classes)} classes for {len(images)} photos")
    steps = layer_groups(model.network)[: params["layers"] or None]
    size = model.input_size
    shared = [[e.precompute(image) for image in images] for e in explainers]
    progress.plan((len(steps) + 1) * len(images) * len(explainers))

    def maps(current: LoadedModel) -> list[list[np.ndarray]]:
        out: list[list[np.ndarray]] = [[] for _ in explainers]
        for p, (image, c) in enumerate(zip(images, classes)):
            forward = current.forward(image)  # shared by the methods that work from the plain pass (CAM, SeCAM)
            for m, explainer in enumerate(explainers):
                [explanation] = explainer.explain(current, image, targets=[c], forward=forward, **shared[m][p])
                saliency = explanation.saliency.astype(np.float32)
                out[m].append(cv2.resize(saliency, (size, size), interpolation=cv2.INTER_LINEAR))
                progress.advance(1)
        return out

    originals = maps(model)
    spearman = np.zeros((len(explainers), len(images), len(steps)))
    ssim = np.zeros_like(spearman)
    for s, (_, network) in enumerate(randomised_cascade(model.network, params["seed"], len(steps))):
        current = dataclasses.replace(model, network=network, lock=threading.RLock())
        for m, row in enumerate(maps(current)):
            for p, randomised in enumerate(row):
                spearman[m, p, s], ssim[m, p, s] = map_similarity(originals[m][p], randomised)
    results = {}
    for m, explainer in enumerate(explainers):
        scores = spearman[m].mean(axis=1)
        below = int((scores < params["threshold"]).sum())
        results[explainer.name] = RandomisationCheck(
            method=explainer.name,
            model=model.name,
            layers=tuple(name for name, _ in steps),
            classes=np.asarray(classes, dtype=np.int64),
            spearman=spearman[m],
            ssim=ssim[m],
            scores=scores,
            threshold=params["threshold"],
            passed_photos=below,
            passed=2 * below > len(images),
            seed=params["seed"],
        )
    return results
