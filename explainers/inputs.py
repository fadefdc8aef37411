"""Fast input paths: files -> model-ready batches on the CPU (threads) or the GPU (nvJPEG), and files -> CAM maps.

:func:`explainers.load_image` decodes a photo at full resolution into a numpy
array; explainers need that (their maps come back at the photo's own size).
A pipeline that only needs the network's input and the photo's size (a
classifier, CAM maps for a whole dataset) can skip most of that work:

- :func:`prepare_input` (CPU) decodes with Pillow and resizes in Pillow, never
  materialising the full-resolution photo as a numpy array (Pillow releases the
  GIL while it decodes and resizes, so threads scale; only the ``S x S`` result
  is copied out). When the photo is at least twice the input size on both
  sides, JPEGs are decoded in Pillow's *draft* mode (libjpeg's DCT scaling by
  1/2, 1/4 or 1/8), which keeps at least twice the input size, so the final
  antialiased resize still averages several pixels per output pixel.
- :func:`decode_resize` (GPU) decodes a batch of JPEGs in one
  ``torchvision.io.decode_jpeg(..., device="cuda")`` call (nvJPEG), applies the
  EXIF orientation and resizes on the device; other formats, and JPEGs nvJPEG
  refuses, go through :func:`prepare_input`. With ``device="cpu"`` the same
  code runs on torchvision's CPU decoder (that is how CI tests it).
- :func:`iter_cam_maps` chains either path to one batched forward pass and the
  CAM maps of the top-K classes of every photo (one ``einsum`` and one
  upsampling call per photo size for all K).

Tolerance against ``load_image`` + ``LoadedModel.preprocess`` (tested in
``tests/test_inputs.py``):

- ``prepare_input`` + :func:`to_batch` without draft give the same input tensor, bit for bit; with
  draft (large JPEGs only) the mean absolute difference
  of the normalised input is below 0.02 and the top-1 class is the same on
  the test photos.
- ``decode_resize`` differs from the CPU path by IDCT/chroma-upsampling
  rounding (nvJPEG or torchvision's libjpeg against Pillow's) and by torch's
  antialiased resize against Pillow's (both round to bytes): the top-1 class is
  the same and CAM maps correlate at >= 0.99 on the test photos; the
  normalised inputs differ by less than 0.02 on average.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import queue
import stat
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import images
from .errors import ImageError, ParameterError
from .images import (
    MAX_PIXELS,
    MIN_SIDE,
    _oriented,
    _read_bytes,
    decode_errors,
    open_image,
    to_rgb,
    validate_image,
)
from .models.loaded import LoadedModel, check_classes

#: What :func:`prepare_input` and :func:`decode_resize` accept: a path, encoded bytes, or ``(name, bytes)``.
Source = str | os.PathLike | bytes | tuple[str, bytes]

#: Draft decoding is used when both sides are at least this many times the input size.
DRAFT_FACTOR = 2

# EXIF orientation -> (transpose, rotate) of an (H, W) image, as PIL's exif_transpose does
_ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclasses.dataclass(frozen=True, eq=False)
class ModelInput:
    """One photo ready for the network.

    Attributes
    ----------
    name : str
        File name (for results and messages).
    pixels : (S, S, 3) uint8 tensor
        The photo resized to the network's input, RGB; :func:`to_batch` normalises a
        batch of them in one operation (as :meth:`LoadedModel.preprocess` does one photo).
    image_size : (H, W)
        The photo's own size, in its displayed orientation (where maps are upsampled to).
    """

    name: str
    pixels: torch.Tensor
    image_size: tuple[int, int]


@dataclasses.dataclass(frozen=True, eq=False)
class InputFailure:
    """A photo that could not be read; ``message`` says why and what to do."""

    name: str
    message: str


def _name_and_data(source: Source, name: str | None = None) -> tuple[str, bytes]:
    if isinstance(source, (str, os.PathLike)):
        data = _read_regular_file(source)
        if data is not None:
            return (name or Path(source).name), data
    if isinstance(source, tuple):
        source_name, data = source
        data, _ = _read_bytes(data, source_name)
        return str(source_name), data
    data, read_name = _read_bytes(source, name)
    if name is None and isinstance(source, (str, os.PathLike)):
        read_name = Path(source).name
    return read_name, data


def _read_regular_file(path: str | os.PathLike) -> bytes | None:
    """The bytes of a regular, non-empty file within the size limit, with one ``stat``; None otherwise
    (then ``_read_bytes`` finds what is wrong and says it)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or not 0 < info.st_size <= images.MAX_FILE_BYTES:
            return None
        with open(path, "rb") as fh:
            data = fh.read(images.MAX_FILE_BYTES + 1)
    except OSError:
        return None
    return data if 0 < len(data) <= images.MAX_FILE_BYTES else None


def _open(data: bytes, name: str, jpeg: tuple | None) -> Image.Image:
    """:func:`explainers.images.open_image`, without its warnings filter when the JPEG header already
    showed the size is below Pillow's own bomb warning (the filter is global state, slow under threads)."""
    if jpeg is not None and jpeg[1][0] * jpeg[1][1] <= min(images.MAX_PIXELS, Image.MAX_IMAGE_PIXELS or 0):
        return Image.open(io.BytesIO(data), formats=("JPEG",))
    return open_image(data, name)


def to_batch(
    inputs: Sequence[ModelInput], mean: Sequence[float], std: Sequence[float], device: torch.device | str | None = None
) -> torch.Tensor:
    """Stack ``inputs`` and normalise them: ``(N, 3, S, S)`` float32, contiguous, on ``device``.

    The uint8 pixels travel to the device (a quarter of the float bytes), then
    ``(x / 255 - mean) / std`` runs once for the whole batch, with the same
    arithmetic as :meth:`LoadedModel.preprocess` (the same values, bit for bit).
    """
    pixels = torch.stack([x.pixels for x in inputs])
    if device is not None:
        pixels = pixels.to(device, non_blocking=True)
    x = pixels.permute(0, 3, 1, 2).to(torch.float32, memory_format=torch.contiguous_format).div_(255.0)
    mean_t, std_t = _mean_std(tuple(mean), tuple(std), x.device)
    return x.sub_(mean_t).div_(std_t)


@functools.lru_cache(maxsize=16)
def _mean_std(
    mean: tuple[float, ...], std: tuple[float, ...], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(3, 1, 1)`` tensors of the normalisation (made once per model and device, never written to)."""
    return (
        torch.tensor(mean, dtype=torch.float32, device=device).view(3, 1, 1),
        torch.tensor(std, dtype=torch.float32, device=device).view(3, 1, 1),
    )


def prepare_input(source: Source, size: int, *, name: str | None = None, draft: bool = True) -> ModelInput:
    """Decode one photo and resize it to the network's ``S x S`` input on the CPU.

    Parameters
    ----------
    source : path, bytes or (name, bytes)
        A JPEG, PNG, WebP, BMP, TIFF or GIF file, with the limits of :func:`explainers.load_image`.
    size : int
        Input side ``S`` (``model.input_size``).
    name : str, optional
        Name for messages and results (default: the file name).
    draft : bool
        Allow JPEG draft decoding when the photo is at least :data:`DRAFT_FACTOR`
        times the input size on both sides (see the module's tolerance).

    Returns
    -------
    ModelInput

    Raises
    ------
    ImageError
        As :func:`explainers.load_image`: missing, empty, damaged, too large or too small.
    """
    name, data = _name_and_data(source, name)
    with _decoded(data, name, draft_side=DRAFT_FACTOR * size if draft else None) as (rgb, full):
        small = rgb.resize((size, size), Image.Resampling.BILINEAR)
    # the S x S copy only; contiguous (3, S, S), as LoadedModel.preprocess, with the same arithmetic (bit for bit)
    # the S x S x 3 bytes are the only copy out of Pillow; normalising waits for the batch (to_batch)
    return ModelInput(name=name, pixels=torch.from_numpy(np.array(small)), image_size=(full[1], full[0]))


@contextlib.contextmanager
def _decoded(data: bytes, name: str, draft_side: int | None = None) -> Iterator[tuple[Image.Image, tuple[int, int]]]:
    """The photo as an RGB Pillow image in its displayed orientation, and its full ``(W, H)``.

    The pixels are :func:`explainers.load_image`'s (the same decoder, orientation and mode conversion)
    unless ``draft_side`` lets a large JPEG decode at a reduced scale of at least that side. Raises the
    library's :class:`ImageError` for what cannot be decoded or is too small.
    """
    jpeg = _jpeg_header(data)  # the orientation without Pillow's EXIF parser (Python code, holding the GIL)
    with decode_errors(name, data):
        with _open(data, name, jpeg) as im:
            im.seek(0)
            full = im.size
            if draft_side and im.format == "JPEG" and min(full) >= draft_side and im.mode in ("RGB", "L"):
                im.draft(im.mode, (draft_side, draft_side))
            im.load()
            if jpeg is None:
                oriented = _oriented(im)
            else:
                oriented = im if jpeg[0] == 1 else im.transpose(_ORIENTATIONS[jpeg[0]])
            if oriented.size != im.size:  # rotated by 90 degrees: the full-size sides swap too
                full = full[::-1]
            rgb = (
                oriented
                if oriented.mode == "RGB" and "transparency" not in oriented.info
                else Image.fromarray(to_rgb(oriented))
            )
            if min(full) < MIN_SIDE:
                raise ImageError(
                    f"{name}: image is {full[0]}x{full[1]} px; the smallest side must be at least "
                    f"{MIN_SIDE} px; use a larger image"
                )
            yield rgb, full


def decode_photo(
    source: Source | np.ndarray, sizes: Sequence[int] = (), *, name: str | None = None
) -> tuple[np.ndarray, dict[int, torch.Tensor]]:
    """Decode one photo at full resolution and resize it to each network input side, on the CPU.

    What the batched engine (:mod:`explainers.batched`) runs in its worker threads: the pixels are
    :func:`explainers.load_image`'s and each resized copy normalises (:func:`to_batch`) to
    :meth:`LoadedModel.preprocess`'s tensor, bit for bit, with fewer copies (the resize reads the
    decoded Pillow image; no EXIF parse in Python for JPEGs). No draft decoding: every product path
    needs the full photo (its maps, overlays, superpixels and faithfulness curves are at its size).

    Parameters
    ----------
    source : path, bytes, (name, bytes) or (H, W, 3) uint8 ndarray
        A file as :func:`explainers.load_image` takes it, or a decoded photo (validated, not modified).
    sizes : sequence of int
        Input sides ``S`` to resize to (one per distinct model input).
    name : str, optional
        Name for messages (default: the file name, or ``"image"``).

    Returns
    -------
    image : (H, W, 3) uint8 ndarray
        RGB, in the displayed orientation.
    pixels : dict of int -> (S, S, 3) uint8 tensor
        The photo resized bilinearly to each side in ``sizes``.

    Raises
    ------
    ImageError
        As :func:`explainers.load_image`.
    TypeError
        A source of another type.
    """
    if isinstance(source, np.ndarray):
        image = validate_image(source, name or "image")
        if not sizes:
            return image, {}
        rgb = Image.fromarray(image)
        return image, {s: _resized(rgb, s) for s in dict.fromkeys(sizes)}
    if isinstance(source, (str, os.PathLike)) and name is None:
        name = str(source)  # load_image's messages name the path as given
    name, data = _name_and_data(source, name)
    with _decoded(data, name) as (rgb, _):
        image = validate_image(np.asarray(rgb), name)
        return image, {s: _resized(rgb, s) for s in dict.fromkeys(sizes)}


def _resized(rgb: Image.Image, size: int) -> torch.Tensor:
    """``(S, S, 3)`` uint8 tensor: Pillow's bilinear resize, as :meth:`LoadedModel.preprocess` does."""
    return torch.from_numpy(np.array(rgb.resize((size, size), Image.Resampling.BILINEAR)))


def _jpeg_header(data: bytes) -> tuple[int, tuple[int, int], str] | None:
    """``(EXIF orientation, (W, H), mode)`` of a JPEG from its markers (cheaper than Pillow's parser, which holds
    the GIL); None when anything is unusual, and Pillow decides."""
    if not data.startswith(b"\xff\xd8"):
        return None
    orientation, pos, end = 1, 2, len(data)
    try:
        while pos + 4 <= end:
            if data[pos] != 0xFF:
                return None
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
                continue
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            segment = data[pos + 4 : pos + 2 + length]
            if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
                orientation = _exif_orientation(segment[6:])
            elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
                height, width = int.from_bytes(segment[1:3], "big"), int.from_bytes(segment[3:5], "big")
                mode = {1: "L", 3: "RGB"}.get(segment[5], "other")
                return (orientation, (width, height), mode) if width and height else None
            elif marker in (0xD9, 0xDA):  # end of image or start of scan before a frame header
                return None
            pos += 2 + length
    except (IndexError, ValueError):
        return None
    return None


def _exif_orientation(tiff: bytes) -> int:
    """The orientation tag (0x0112) of IFD0 in an EXIF TIFF block; 1 when absent or unreadable."""
    order: Literal["little", "big"]
    if tiff[:2] == b"II":
        order = "little"
    elif tiff[:2] == b"MM":
        order = "big"
    else:
        return 1
    if len(tiff) < 8:
        return 1
    ifd = int.from_bytes(tiff[4:8], order)
    count = int.from_bytes(tiff[ifd : ifd + 2], order)
    for k in range(count):
        entry = tiff[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
        if len(entry) < 12:
            break
        if int.from_bytes(entry[:2], order) == 0x0112:
            value = int.from_bytes(entry[8:10], order)
            return value if 1 <= value <= 8 else 1
    return 1


def _header(name: str, data: bytes) -> tuple[str, int, tuple[int, int], str]:
    """``(format, EXIF orientation, (W, H) as stored, mode)`` from the header alone; ImageError if refused."""
    fast = _jpeg_header(data)
    if fast is not None:
        orientation, (w, h), mode = fast
        if w * h <= MAX_PIXELS:  # above the limit: Pillow's path raises the library's message
            return "JPEG", orientation, (w, h), mode
    with decode_errors(name, data):
        with open_image(data, name) as im:
            orientation = 1
            if im.format == "JPEG":
                try:
                    orientation = int(im.getexif().get(0x0112, 1))
                except Exception:  # noqa: BLE001 (a broken EXIF block is ignored, as load_image does)
                    orientation = 1
            return str(im.format), orientation, im.size, im.mode


def _orient_tensor(img: torch.Tensor, orientation: int) -> torch.Tensor:
    """Apply an EXIF orientation to a ``(3, H, W)`` tensor (the same as PIL's ``exif_transpose``)."""
    if orientation == 2:
        return img.flip(-1)
    if orientation == 3:
        return img.flip(-1).flip(-2)
    if orientation == 4:
        return img.flip(-2)
    if orientation == 5:
        return img.transpose(-1, -2)
    if orientation == 6:
        return img.transpose(-1, -2).flip(-1)
    if orientation == 7:
        return img.transpose(-1, -2).flip(-1).flip(-2)
    if orientation == 8:
        return img.transpose(-1, -2).flip(-2)
    return img


def decode_resize(
    sources: Sequence[Source],
    size: int,
    *,
    device: torch.device | str = "cuda",
    workers: int | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> list[ModelInput | InputFailure]:
    """Decode a batch of photos with ``torchvision.io.decode_jpeg`` on ``device`` and resize them there.

    JPEGs in RGB or grayscale are decoded together in one call (nvJPEG on a
    GPU; libjpeg with ``device="cpu"``), oriented by their EXIF tag and resized
    with antialiased bilinear interpolation (as Pillow's ``BILINEAR`` does);
    other formats, CMYK JPEGs and a batch nvJPEG refuses go through
    :func:`prepare_input` and are moved to ``device``.

    Parameters
    ----------
    sources : sequence of path, bytes or (name, bytes)
    size : int
        Input side ``S``.
    device : torch.device or str
    workers : int, optional
        Threads reading files and headers (default: the CPU count, at most 16).
    pool : ThreadPoolExecutor, optional
        Reuse this pool instead of making one.

    Returns
    -------
    list of ModelInput or InputFailure
        One per source, in order; tensors on ``device``.
    """
    device = torch.device(device)
    read_all: list | None = None
    batch: Any = sources
    if isinstance(batch, _ReadBatch):  # read ahead by iter_cam_maps
        sources, read_all = batch.sources, batch.read
    own_pool = pool is None
    threads = (
        pool if pool is not None else ThreadPoolExecutor(max_workers=workers or max(1, min(16, os.cpu_count() or 1)))
    )
    try:
        if read_all is None:
            read_all = read_sources(sources, threads)
        results: list[ModelInput | InputFailure | None] = [None] * len(read_all)
        decoded, cpu_index = _decode_on_device(read_all, device, results)
        same_size: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = {}
        for i, img in decoded.items():
            same_size.setdefault((int(img.shape[-2]), int(img.shape[-1])), []).append((i, img))
        for (h, w), group in same_size.items():  # one resize per photo size: few kernel launches per batch
            small = _resize_tensors(torch.stack([img for _, img in group]), size)
            for k, (i, _) in enumerate(group):
                results[i] = ModelInput(read_all[i][0], small[k], (h, w))

        def cpu(i):
            name, data, _ = read_all[i]
            try:
                x = prepare_input((name, data), size)
                return ModelInput(x.name, x.pixels.to(device), x.image_size)
            except ImageError as exc:
                return InputFailure(name, str(exc))

        for i, r in zip(cpu_index, threads.map(cpu, cpu_index)):
            results[i] = r
    finally:
        if own_pool:
            threads.shutdown()
    return [r for r in results if r is not None]


def _decode_on_device(
    read_all: list[tuple[str, bytes | None, tuple | InputFailure]], device: torch.device, results: list
) -> tuple[dict[int, torch.Tensor], list[int]]:
    """Decode the RGB and grayscale JPEGs of ``read_all`` in one ``decode_jpeg`` call on ``device``.

    Returns ``{index: (3, H, W) uint8 tensor}`` in the displayed orientation, and the sorted indices
    the CPU path must decode (other formats, what the device decoder refused); read failures and
    too-small photos are written into ``results``.
    """
    from torchvision.io import ImageReadMode, decode_jpeg

    device_index, cpu_index = [], []
    for i, (_, _, header) in enumerate(read_all):
        if isinstance(header, InputFailure):
            results[i] = header
        elif isinstance(header, tuple) and header[0] == "JPEG" and header[3] in ("RGB", "L"):
            device_index.append(i)
        elif isinstance(header, tuple):
            cpu_index.append(i)
    out: dict[int, torch.Tensor] = {}
    if not device_index:
        return out, sorted(cpu_index)
    encoded = [torch.frombuffer(bytearray(read_all[i][1] or b""), dtype=torch.uint8) for i in device_index]
    try:
        decoded = decode_jpeg(encoded, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:  # one damaged file fails the whole call: find it, one photo at a time
        kept, decoded = [], []
        for i, e in zip(device_index, encoded):
            try:
                decoded.append(decode_jpeg(e, mode=ImageReadMode.RGB, device=device))
                kept.append(i)
            except RuntimeError:  # the CPU path gives the library's message (or decodes what nvJPEG refused)
                cpu_index.append(i)
        device_index = kept
    for i, img in zip(device_index, decoded):
        name, _, header = read_all[i]
        img = _orient_tensor(img, header[1] if isinstance(header, tuple) else 1)
        h, w = int(img.shape[-2]), int(img.shape[-1])
        if min(h, w) < MIN_SIDE:
            results[i] = InputFailure(
                name,
                f"{name}: image is {w}x{h} px; the smallest side must be at least {MIN_SIDE} px; use a larger image",
            )
            continue
        out[i] = img
    return out, sorted(cpu_index)


def _resize_tensors(images: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, 3, H, W)`` uint8 -> ``(N, S, S, 3)`` uint8: antialiased bilinear as Pillow's, rounded to bytes as Pillow's."""
    small = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return small.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


@dataclasses.dataclass(frozen=True, eq=False)
class DecodedPhoto:
    """A photo decoded at full resolution and resized to each network input (:func:`decode_photos`).

    Attributes
    ----------
    name : str
    image : (H, W, 3) uint8 ndarray
        RGB, in the displayed orientation, on the CPU.
    pixels : dict of int -> (S, S, 3) uint8 tensor
        The photo resized to each input side, on the decoding device.
    """

    name: str
    image: np.ndarray
    pixels: dict[int, torch.Tensor]


def decode_photos(
    sources: Sequence[Source],
    sizes: Sequence[int],
    *,
    device: torch.device | str = "cuda",
    pool: ThreadPoolExecutor,
) -> list[DecodedPhoto | InputFailure]:
    """Decode a batch of photos at full resolution on ``device`` (nvJPEG on a GPU) and resize them there.

    The full photos come back to the CPU (maps, overlays and superpixels need them); the resized
    copies stay on ``device``. JPEGs in RGB or grayscale are decoded in one ``decode_jpeg`` call;
    other formats, CMYK JPEGs and what the device decoder refuses go through :func:`decode_photo` in
    ``pool``. Tolerance against :func:`decode_photo`: as :func:`decode_resize`'s (module docstring).

    Parameters
    ----------
    sources : sequence of path, bytes or (name, bytes)
    sizes : sequence of int
        Input sides to resize to.
    device : torch.device or str
    pool : ThreadPoolExecutor
        Threads that read the files and run the CPU fallback.

    Returns
    -------
    list of DecodedPhoto or InputFailure
        One per source, in order.
    """
    device = torch.device(device)
    read_all = read_sources(sources, pool)
    results: list[DecodedPhoto | InputFailure | None] = [None] * len(read_all)
    decoded, cpu_index = _decode_on_device(read_all, device, results)
    same_size: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = {}
    for i, img in decoded.items():
        same_size.setdefault((int(img.shape[-2]), int(img.shape[-1])), []).append((i, img))
    for group in same_size.values():
        stacked = torch.stack([img for _, img in group])
        host = stacked.permute(0, 2, 3, 1).contiguous().cpu().numpy()  # one copy back per photo size
        small = {s: _resize_tensors(stacked, s) for s in dict.fromkeys(sizes)}
        for k, (i, _) in enumerate(group):
            results[i] = DecodedPhoto(read_all[i][0], host[k], {s: t[k] for s, t in small.items()})

    def cpu(i):
        name, data, _ = read_all[i]
        try:
            image, pixels = decode_photo((name, data), sizes)
            return DecodedPhoto(name, image, {s: t.to(device) for s, t in pixels.items()})
        except ImageError as exc:
            return InputFailure(name, str(exc))

    for i, r in zip(cpu_index, pool.map(cpu, cpu_index)):
        results[i] = r
    return [r for r in results if r is not None]


def read_sources(
    sources: Sequence[Source], pool: ThreadPoolExecutor, chunk: int = 32
) -> list[tuple[str, bytes | None, tuple | InputFailure]]:
    """Read every source and parse its header, ``chunk`` files per thread task (a future per file cost
    more than the read on a GPU machine); ``(name, bytes, header)`` or ``(name, None, InputFailure)``."""

    def read(source):
        name = source_name(source)
        try:
            name, data = _name_and_data(source)
            return name, data, _header(name, data)
        except ImageError as exc:
            return name, None, InputFailure(name, str(exc))

    sources = list(sources)
    if len(sources) <= chunk:
        return [read(s) for s in sources]
    parts = pool.map(
        lambda part: [read(s) for s in part], [sources[i : i + chunk] for i in range(0, len(sources), chunk)]
    )
    return [r for part in parts for r in part]


def source_name(source: Source) -> str:
    """The name a source is reported under: the file name, the given name, or ``"image"`` for bare bytes."""
    if isinstance(source, tuple):
        return str(source[0])
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return "image"


@dataclasses.dataclass(frozen=True, eq=False)
class PhotoMaps:
    """CAM maps of one photo's top-K classes (or given targets).

    Attributes
    ----------
    name : str
    image_size : (H, W)
    classes : (T,) int64 tensor
        Explained classes, best first for top-K.
    probabilities : (T,) float32 tensor
        Their softmax probabilities.
    maps : (T, H, W) or (T, h, w) float32 tensor
        Min-max normalised CAM maps at the photo's size (``upsample=True``) or at
        feature resolution; on the model's device unless ``to_cpu``.
    """

    name: str
    image_size: tuple[int, int]
    classes: torch.Tensor
    probabilities: torch.Tensor
    maps: torch.Tensor


def iter_cam_maps(
    model: LoadedModel,
    sources: Iterable[Source],
    *,
    topk: int = 1,
    targets: Sequence[int] | None = None,
    batch_size: int | None = None,
    decoder: str = "auto",
    workers: int | None = None,
    upsample: bool = True,
    to_cpu: bool = True,
) -> Iterator[PhotoMaps | InputFailure]:
    """Files -> CAM maps at throughput: batched decoding, one forward pass per batch, all K maps at once.

    The next batch is read and decoded in a background thread (on its own CUDA
    stream on a GPU) while the current one runs through the network.

    Parameters
    ----------
    model : LoadedModel
        A model whose head is GAP + linear (``model.cam_exact``).
    sources : iterable of path, bytes or (name, bytes)
    topk : int
        Maps of the top ``topk`` classes of each photo (ignored with ``targets``).
    targets : sequence of int, optional
        The same classes for every photo.
    batch_size : int, optional
        Photos per forward pass (default 16 on the CPU, 256 on a GPU).
    decoder : {"auto", "cpu", "gpu"}
        ``"gpu"``: :func:`decode_resize` on the model's device (torchvision's
        CPU decoder when the model is on the CPU); ``"cpu"``: :func:`prepare_input`
        in threads; ``"auto"``: ``"gpu"`` on CUDA, else ``"cpu"``.
    workers : int, optional
        Reading/decoding threads (default: the CPU count, at most 16).
    upsample : bool
        Upsample maps to each photo's size (one call per distinct size in a batch); else feature resolution.
    to_cpu : bool
        Copy the maps back to the CPU.

    Yields
    ------
    PhotoMaps or InputFailure
        In input order.

    Raises
    ------
    ParameterError
        Bad ``decoder``, ``batch_size``, ``workers``, ``topk`` or ``targets``, or a model CAM is not exact for.
    """
    from .methods.cam import cam_maps

    if decoder not in ("auto", "cpu", "gpu"):
        raise ParameterError(f"`decoder` must be 'auto', 'cpu' or 'gpu', got {decoder!r}")
    if not model.cam_exact:
        raise ParameterError(
            f"CAM maps need a GAP + linear head and '{model.name}' has another "
            f"({model.gap_check.detail}); use gradcam for this model"
        )
    on_gpu = model.device.type == "cuda"
    if decoder == "auto":
        decoder = "gpu" if on_gpu else "cpu"
    batch_size = (256 if on_gpu else 16) if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(f"`batch_size` must be an int >= 1, got {batch_size!r}")
    workers = max(1, min(16, os.cpu_count() or 1)) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"`workers` must be an int >= 1, got {workers!r}")
    chosen = check_classes(model.num_classes, targets, topk)
    weight, _ = model.classifier_weights()
    size, mean, std = model.input_size, model.spec.mean, model.spec.std

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explainers-input")
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explainers-read-ahead")  # waits on `pool`
    side_stream = torch.cuda.Stream(model.device) if on_gpu else None
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            iterator = iter(sources)

            def next_batch():
                batch = [s for _, s in zip(range(batch_size), iterator)]
                if not batch or decoder != "gpu":
                    return batch
                return reader.submit(lambda: _ReadBatch(batch, read_sources(batch, pool)))  # read ahead

            pending = next_batch()
            while not stop.is_set():
                batch = pending.result() if isinstance(pending, Future) else pending
                if not batch:
                    break
                pending = next_batch()  # the next batch is read while this one decodes and runs
                if decoder == "gpu":
                    with torch.cuda.stream(side_stream) if side_stream is not None else contextlib.nullcontext():
                        order = decode_resize(batch, size, device=model.device, pool=pool)
                        inputs = [d for d in order if isinstance(d, ModelInput)]
                        stacked = to_batch(inputs, mean, std, model.device) if inputs else None
                        event = torch.cuda.Event() if side_stream is not None else None
                        if event is not None:
                            event.record(side_stream)
                else:
                    order = list(pool.map(lambda s: _prepare_or_fail(s, size), batch))
                    inputs = [d for d in order if isinstance(d, ModelInput)]
                    stacked = to_batch(inputs, mean, std, model.device) if inputs else None
                    event = None
                ready.put((order, inputs, stacked, event))
            ready.put(None)
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, raised there)
            ready.put(exc)

    producer = threading.Thread(target=produce, name="explainers-input-producer", daemon=True)
    producer.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            order, inputs, stacked, event = item
            results: dict[int, PhotoMaps] = {}
            if stacked is not None:
                if event is not None:
                    torch.cuda.current_stream(model.device).wait_event(event)
                    stacked.record_stream(torch.cuda.current_stream(model.device))
                logits, features = model.forward_batch(stacked)
                if chosen is None:
                    top = torch.topk(logits, topk, dim=1)
                    classes = top.indices
                else:
                    classes = torch.tensor(chosen, device=logits.device).expand(len(inputs), -1)
                probabilities = torch.softmax(logits, dim=1).gather(1, classes)
                _, normalised = cam_maps(weight, features, classes)
                maps = _upsample_groups(normalised, [x.image_size for x in inputs]) if upsample else list(normalised)
                if to_cpu:
                    maps = _to_host(maps)
                    classes, probabilities = classes.cpu(), probabilities.cpu()
                for j, x in enumerate(inputs):
                    results[id(x)] = PhotoMaps(x.name, x.image_size, classes[j], probabilities[j], maps[j])
            for entry in order:
                yield results[id(entry)] if isinstance(entry, ModelInput) else entry
    finally:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        reader.shutdown(cancel_futures=True)
        pool.shutdown()


@dataclasses.dataclass(frozen=True)
class _ReadBatch:
    """Sources already read by :func:`read_sources` (what :func:`decode_resize` would read first)."""

    sources: list
    read: list

    def __bool__(self) -> bool:
        return bool(self.sources)


def _prepare_or_fail(source: Source, size: int) -> ModelInput | InputFailure:
    try:
        return prepare_input(source, size)
    except ImageError as exc:
        return InputFailure(source_name(source), str(exc))


def _to_host(maps: list[torch.Tensor]) -> list[torch.Tensor]:
    """All maps of a batch to the CPU in one copy (into pinned memory on a GPU), as views of one buffer."""
    if not maps or maps[0].device.type == "cpu":
        return maps
    flat = torch.cat([m.reshape(-1) for m in maps])
    host = torch.empty(flat.shape, dtype=flat.dtype, pin_memory=True)
    host.copy_(flat, non_blocking=True)
    torch.cuda.current_stream(flat.device).synchronize()
    out, start = [], 0
    for m in maps:
        out.append(host[start : start + m.numel()].view(m.shape))
        start += m.numel()
    return out


def _upsample_groups(maps: torch.Tensor, sizes: list[tuple[int, int]]) -> list[torch.Tensor]:
    """``(N, T, h, w)`` maps to one ``(T, H_i, W_i)`` per photo: one bilinear call per distinct size."""
    out: list[torch.Tensor | None] = [None] * len(sizes)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, s in enumerate(sizes):
        groups.setdefault((int(s[0]), int(s[1])), []).append(i)
    for s, idx in groups.items():
        index = torch.tensor(idx, device=maps.device)
        up = F.interpolate(maps.index_select(0, index), size=s, mode="bilinear", align_corners=False)
        for k, i in enumerate(idx):
            out[i] = up[k]
    return [o for o in out if o is not None]
