"""Image decoding and validation: every image enters the library through here.

``load_image`` is the one decode path used by the CLI and the dashboard: Pillow,
EXIF orientation applied, first frame of animated files, every mode converted to
RGB (transparency composited on white), with size limits that protect a shared
server.
"""

from __future__ import annotations

import io
import os
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

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def load_image(source: str | os.PathLike | bytes | BinaryIO, name: str | None = None) -> np.ndarray:
    """Decode an image file into an RGB array.

    Parameters
    ----------
    source : path, bytes or binary file object
        The encoded image (JPEG, PNG, WebP, BMP, TIFF, GIF...).
    name : str, optional
        Name used in error messages (defaults to the path, or ``"image"``).

    Returns
    -------
    (H, W, 3) uint8 ndarray
        RGB pixels in the photo's displayed orientation (EXIF applied).
        Transparent pixels are composited on white; for animated files the
        first frame is used.

    Raises
    ------
    ImageError
        If the file is missing, empty, not an image, truncated, larger than
        ``MAX_FILE_BYTES`` or ``MAX_PIXELS``, or smaller than ``MIN_SIDE``.
    """
    data, name = _read_bytes(source, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            previous = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = MAX_PIXELS
            try:
                with Image.open(io.BytesIO(data)) as im:
                    _check_pixels(im.size, name)
                    im.seek(0)
                    im.load()
                    im = ImageOps.exif_transpose(im)
                    rgb = to_rgb(im)
            finally:
                Image.MAX_IMAGE_PIXELS = previous
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{name}: image has more than {MAX_PIXELS / 1e6:.0f} megapixels; downscale it first"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not a readable image file (use JPEG, PNG, WebP, BMP or TIFF)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: the image data is damaged or truncated ({exc}); re-export the file") from None
    return validate_image(rgb, name)


def to_rgb(im: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any mode to an ``(H, W, 3)`` uint8 RGB array."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # High bit depth: rescale the data range to 8 bits instead of clipping.
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return np.repeat(arr.round().astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(im.convert("RGB"))


def validate_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check that ``image`` is an ``(H, W, 3)`` uint8 array of a usable size.

    Returns the array unchanged (made C-contiguous); raises ``TypeError`` or
    :class:`ImageError` with the fix otherwise.
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
        raise ImageError(f"{name}: image is {w}x{h} px; the smallest side must be at least {MIN_SIDE} px")
    _check_pixels((w, h), name)
    return np.ascontiguousarray(image)


def _check_pixels(size: tuple[int, int], name: str) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageError(
            f"{name}: image is {w}x{h} ({w * h / 1e6:.0f} MP), above the {MAX_PIXELS / 1e6:.0f} MP limit; downscale it first"
        )


def _read_bytes(source, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or "image"
    elif hasattr(source, "read"):
        data = source.read()
        name = name or getattr(source, "name", None) or "image"
    else:
        path = Path(source)
        name = name or str(path)
        if not path.exists():
            raise ImageError(f"{name}: no such file; check the path")
        if path.is_dir():
            raise ImageError(f"{name}: is a folder, not an image file; give the image files inside it")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageError(
                f"{name}: file is {size / 2**20:.0f} MB, above the {MAX_FILE_BYTES / 2**20:.0f} MB limit; compress or downscale it"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"{name}: cannot be read ({exc.strerror}); check its permissions") from None
    if len(data) == 0:
        raise ImageError(f"{name}: file is empty; upload the image again")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(
            f"{name}: file is {len(data) / 2**20:.0f} MB, above the {MAX_FILE_BYTES / 2**20:.0f} MB limit; compress or downscale it"
        )
    return data, str(name)
