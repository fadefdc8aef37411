"""Image decoding and validation: every image enters the library through here.

``load_image`` is the one decode path used by the CLI and the dashboard: Pillow,
restricted to the formats in :data:`FORMATS`, EXIF orientation applied, first
frame of animated files, every mode converted to RGB (transparency composited
on white), with size limits that protect a shared server.

Limits (module attributes, read at each call, so tests and servers may change them):

- :data:`MAX_FILE_BYTES`: largest file, 50 MB by default (``$EXPLAINERS_MAX_FILE_MB``);
  the dashboard's ``.streamlit/config.toml`` ``server.maxUploadSize`` matches it.
- :data:`MAX_PIXELS`: largest image, 100 megapixels by default
  (``$EXPLAINERS_MAX_MEGAPIXELS``), checked from the file header before any pixel
  is decoded. Pillow's own decompression-bomb guard stays in force as a second
  net (it refuses above ``2 * PIL.Image.MAX_IMAGE_PIXELS``, about 179 MP).
- :data:`MIN_SIDE`: smallest side, 32 px.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

#: Largest file accepted, in bytes (override with ``EXPLAINERS_MAX_FILE_MB``).
MAX_FILE_BYTES = int(float(os.environ.get("EXPLAINERS_MAX_FILE_MB", "50")) * 1024 * 1024)
#: Largest image accepted, in pixels (about 100 megapixels).
MAX_PIXELS = int(float(os.environ.get("EXPLAINERS_MAX_MEGAPIXELS", "100")) * 1_000_000)
#: Smallest accepted side, in pixels.
MIN_SIDE = 32
#: Pillow formats that are decoded; anything else (EPS, PSD, ICO...) is refused
#: before its decoder runs (EPS would be handed to Ghostscript).
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")
FORMAT_NAMES = "JPEG, PNG, WebP, BMP, TIFF or GIF"

#: File name endings of the formats in :data:`FORMATS` (the one list: folders, uploads, the CLI).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")

# Leading bytes of the accepted formats: a file that starts like one of them but
# does not decode is damaged, not of the wrong kind.
_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def image_files(folder: str | os.PathLike) -> list[Path]:
    """The image files directly in ``folder`` (not in sub-folders), by :data:`IMAGE_SUFFIXES`, sorted by name.

    Symbolic links are listed as they are; a caller that must stay inside some folders checks each
    file (:func:`explainers_team.roots.server_photos` does).
    """
    return sorted(
        (p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()), key=lambda p: p.name
    )


def load_image(source: str | os.PathLike | bytes | BinaryIO, name: str | None = None) -> np.ndarray:
    """Decode an image file into an RGB array.

    Parameters
    ----------
    source : path, bytes or binary file object
        The encoded image: JPEG, PNG, WebP, BMP, TIFF or GIF (see :data:`FORMATS`).
    name : str, optional
        Name used in error messages (defaults to the path, the file object's
        ``name``, or ``"image"``).

    Returns
    -------
    (H, W, 3) uint8 ndarray
        RGB pixels in the photo's displayed orientation (EXIF orientation
        applied). For animated or multi-page files, the first frame. Modes are
        converted as :func:`to_rgb` describes (transparency on white).

    Raises
    ------
    ImageError
        If the path is missing or a folder, or the file is empty, not an image
        of an accepted format, damaged or truncated, larger than
        :data:`MAX_FILE_BYTES` or :data:`MAX_PIXELS`, or smaller than
        :data:`MIN_SIDE` on a side. The message starts with ``name`` and says
        how to fix it.

    Examples
    --------
    >>> image = load_image("photo.jpg")  # doctest: +SKIP
    >>> image.shape, image.dtype         # doctest: +SKIP
    ((480, 640, 3), dtype('uint8'))
    """
    data, name = _read_bytes(source, name)
    with decode_errors(name, data):
        with open_image(data, name) as im:
            im.seek(0)
            im.load()
            rgb = to_rgb(_oriented(im))
    return validate_image(rgb, name)


def open_image(data: bytes, name: str) -> Image.Image:
    """Parse the header of ``data`` (formats :data:`FORMATS` only) and check its size; no pixel is decoded.

    Raise :class:`ImageError` (via :func:`decode_errors`) for what Pillow refuses.
    """
    # Pillow warns between its MAX_IMAGE_PIXELS and twice that; the size is
    # checked against our own limit right after, so the warning is only noise
    # (an extra stderr line in the CLI). Pillow's limit itself is never changed:
    # setting and restoring it per call raced between threads and could leave
    # it changed for good. The filter is held only while the header is parsed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        im = Image.open(io.BytesIO(data), formats=FORMATS)
    try:
        _check_pixels(im.size, name)
    except ImageError:
        im.close()
        raise
    return im


@contextlib.contextmanager
def decode_errors(name: str, data: bytes):
    """Turn whatever Pillow (or another decoder) raises inside the block into one :class:`ImageError`."""
    try:
        yield
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, above twice its MAX_IMAGE_PIXELS
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "too many pixels"
        raise ImageError(
            f"{name}: image has {size}, above the {MAX_PIXELS / 1e6:.0f} megapixels limit; downscale it first"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: {_not_an_image(data)}") from None
    except MemoryError:
        raise ImageError(f"{name}: not enough memory to decode this image; downscale it first") from None
    except Exception as exc:  # noqa: BLE001 (decoders raise OSError, SyntaxError, struct.error...)
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ImageError(
            f"{name}: the image data is damaged or truncated ({detail}); re-export or re-download the file"
        ) from None


def to_rgb(im: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any mode to an ``(H, W, 3)`` uint8 RGB array.

    - Transparency (modes RGBA, LA, PA, RGBa, or a transparent colour in P, L or
      RGB images) is composited on white: transparent pixels become white, as a
      viewer with a white page shows them.
    - 16-bit modes (``I;16``...) keep their full scale: 65535 becomes 255.
    - 32-bit integer (``I``) and float (``F``) images have no agreed white
      level: their data range is stretched to 0..255; NaN and infinite values
      count as the minimum.
    - Everything else (L, P, 1, CMYK, YCbCr, LAB...) goes through Pillow's ``convert("RGB")``.
    """
    if im.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if im.mode.startswith("I;16"):
        gray = (np.asarray(im).astype(np.float32) / 257.0).round().astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        finite = np.isfinite(arr)
        lo, hi = (float(arr[finite].min()), float(arr[finite].max())) if finite.any() else (0.0, 0.0)
        arr = np.where(finite, arr, lo)
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return np.repeat(arr.round().astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(im.convert("RGB"))


def validate_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check that ``image`` is an ``(H, W, 3)`` uint8 array of a usable size.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
    name : str
        Used in error messages.

    Returns
    -------
    (H, W, 3) uint8 ndarray
        The same pixels, C-contiguous (a copy only when needed; never modified).

    Raises
    ------
    TypeError
        If ``image`` is not a numpy array.
    ImageError
        Wrong shape or dtype, a side below :data:`MIN_SIDE`, or more than :data:`MAX_PIXELS`.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name}: expected an (H, W, 3) uint8 numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(
            f"{name}: expected shape (H, W, 3) RGB, got {image.shape}; "
            "convert grayscale or RGBA with explainers.load_image or PIL's .convert('RGB')"
        )
    if image.dtype != np.uint8:
        raise ImageError(f"{name}: expected dtype uint8, got {image.dtype}; scale to 0-255 and use .astype(np.uint8)")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(
            f"{name}: image is {w}x{h} px; the smallest side must be at least {MIN_SIDE} px; use a larger image"
        )
    _check_pixels((w, h), name)
    return np.ascontiguousarray(image)


def _oriented(im: Image.Image) -> Image.Image:
    """``im`` turned to its EXIF orientation, in place; a broken EXIF block is ignored (the pixels are fine).

    In place: without it Pillow returns a full-resolution copy even when there is nothing to turn.
    """
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception:  # noqa: BLE001 (malformed EXIF raises anything from struct.error to KeyError)
        pass
    return im


def _check_pixels(size: tuple[int, int], name: str) -> None:
    """Refuse more than MAX_PIXELS pixels (called on the header's size, before decoding)."""
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageError(
            f"{name}: image is {w}x{h} ({w * h / 1e6:.0f} megapixels), above the "
            f"{MAX_PIXELS / 1e6:.0f} megapixels limit; downscale it first"
        )


def _not_an_image(data: bytes) -> str:
    """Why Pillow could not identify ``data``, from its first bytes."""
    head = data[:512]
    for signature, fmt in _SIGNATURES.items():
        if head.startswith(signature):
            return f"starts like a {fmt} file but is damaged or truncated; re-export or re-download the file"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "starts like a WebP file but is damaged or truncated; re-export or re-download the file"
    text = head.decode("utf-8", "replace")
    # at most one undecodable character: a multi-byte character cut at byte 512
    if text.strip() and text.count("\ufffd") <= 1 and all(c.isprintable() or c in "\t\r\n" for c in text):
        return f"contains text, not an image (it starts with {text.strip()[:20]!r}); upload a {FORMAT_NAMES} image file"
    return f"not a supported image ({FORMAT_NAMES}); convert it to one of these formats"


def _size_text(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 // 10 else f"{n:,} bytes"


def _too_big(name: str, size: int) -> ImageError:
    size_text, limit_text = _size_text(size), _size_text(MAX_FILE_BYTES)
    if size_text == limit_text:  # just over: "50.0 MB, above the 50.0 MB limit" would say nothing
        size_text, limit_text = f"{size:,} bytes", f"{MAX_FILE_BYTES:,} bytes"
    return ImageError(f"{name}: file is {size_text}, above the {limit_text} limit; compress or downscale it")


def _read_bytes(source, name: str | None) -> tuple[bytes, str]:
    """The file's bytes (at most MAX_FILE_BYTES + 1 are read) and the name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or "image"
    elif hasattr(source, "read"):
        name = name or getattr(source, "name", None) or "image"
        data = source.read(MAX_FILE_BYTES + 1)
        if not isinstance(data, bytes):
            raise TypeError(f"{name}: the file object must be opened in binary mode ('rb')")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = name or str(path)
        if not path.exists():
            raise ImageError(f"{name}: no such file; check the path")
        if path.is_dir():
            raise ImageError(f"{name}: is a folder, not an image file; give the image files inside it")
        if not path.is_file():  # a device or a pipe (/dev/zero) would be read forever
            raise ImageError(f"{name}: is not a regular file; give an image file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(name, size)
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat()
        except OSError as exc:
            raise ImageError(f"{name}: cannot be read ({exc.strerror}); check its permissions") from None
    else:
        raise TypeError(f"expected a path, bytes or a binary file object, got {type(source).__name__}")
    if len(data) == 0:
        raise ImageError(f"{name}: file is empty; upload the image again")
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(name, len(data))
    return data, str(name)
