"""Checks on the values given to the store, with messages that say how to fix the call."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidRecordError

#: Leading bytes of the encoded pictures the store accepts as thumbnails and trial pictures.
PICTURE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_THUMBNAILS = 8
MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024
MAX_MAP_BYTES = 64 * 1024 * 1024
MAX_TAGS = 20
MAX_TAG_CHARS = 64
MAX_NOTE_CHARS = 20_000


def text(value: Any, what: str, *, max_chars: int = 200, required: bool = True) -> str:
    """A stripped string of at most ``max_chars`` characters (non-empty when ``required``)."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"`{what}` must be a str, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise InvalidRecordError(f"`{what}` is empty; give a {what.replace('_', ' ')}")
    if len(value) > max_chars:
        raise InvalidRecordError(f"`{what}` is {len(value)} characters long; at most {max_chars} are allowed")
    return value


def names(values: Any, what: str) -> list[str]:
    """A non-empty list of registry names (models or methods)."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Sequence) or not values:
        raise InvalidRecordError(f"`{what}` must be a non-empty list of names, got {values!r}")
    return [text(v, what, max_chars=100) for v in values]


def class_index(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`class_index` must be an int, got {type(value).__name__}")
    if value < 0:
        raise InvalidRecordError(f"`class_index` must be >= 0, got {value}")
    return int(value)


def tags(values: Any) -> list[str]:
    """Tags from a list or a comma-separated string: stripped, lower-cased, de-duplicated, sorted."""
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, Iterable):
        raise TypeError(f"`tags` must be a list of str or a comma-separated str, got {type(values).__name__}")
    out = set()
    for tag in values:
        if not isinstance(tag, str):
            raise TypeError(f"each tag must be a str, got {type(tag).__name__}")
        tag = " ".join(tag.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise InvalidRecordError(f"tag '{tag[:20]}...' is {len(tag)} characters long; at most {MAX_TAG_CHARS}")
        out.add(tag)
    if len(out) > MAX_TAGS:
        raise InvalidRecordError(f"{len(out)} tags given; at most {MAX_TAGS} are allowed")
    return sorted(out)


def jsonable(value: Any, what: str) -> Any:
    """``value`` with numpy arrays and scalars turned into lists and numbers; refuses NaN and objects."""
    value = _plain(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRecordError(
            f"`{what}` cannot be stored as JSON ({exc}); pass dicts, lists, str and finite numbers"
        ) from None
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k) if isinstance(k, (int, np.integer)) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return value  # json.dumps(allow_nan=False) names it
    return value


def view(value: Any) -> dict[str, Any]:
    """The permalink's query parameters: a dict of str to str (or list of str)."""
    if not isinstance(value, dict):
        raise TypeError(f"`view` must be a dict of query parameters, got {type(value).__name__}")
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise InvalidRecordError(f"`view` keys must be non-empty str, got {key!r}")
        if isinstance(item, (list, tuple)):
            out[key] = [str(v) for v in item]
        elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
            out[key] = str(item)
        else:
            raise InvalidRecordError(f"`view['{key}']` must be a str (a query parameter), got {type(item).__name__}")
    return out


def picture(data: Any, what: str, max_bytes: int) -> tuple[bytes, str]:
    """Encoded PNG or JPEG bytes and their media type."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"`{what}` must be PNG or JPEG bytes, got {type(data).__name__}")
    data = bytes(data)
    media_type = next((kind for signature, kind in PICTURE_SIGNATURES.items() if data.startswith(signature)), None)
    if media_type is None:
        raise InvalidRecordError(f"`{what}` is not a PNG or JPEG; encode it first (e.g. cv2.imencode('.png', ...))")
    if len(data) > max_bytes:
        raise InvalidRecordError(
            f"`{what}` is {len(data) / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB: downscale it first"
        )
    return data, media_type


def npy(data: Any, what: str) -> bytes | None:
    """``.npy`` bytes (as written by ``numpy.save``), or None."""
    if data is None:
        return None
    if not isinstance(data, (bytes, bytearray, memoryview)) or not bytes(data[:6]) == b"\x93NUMPY":
        raise InvalidRecordError(f"`{what}` must be the bytes of a .npy file (numpy.save to io.BytesIO)")
    if len(data) > MAX_MAP_BYTES:
        raise InvalidRecordError(
            f"`{what}` is {len(data) / 1e6:.0f} MB; at most {MAX_MAP_BYTES / 1e6:.0f} MB: store the map at display size"
        )
    return bytes(data)


def conditions(values: Any) -> list[dict[str, Any]]:
    """Exactly two distinct ``{"model", "method", "params"}`` dicts."""
    if not isinstance(values, Sequence) or isinstance(values, str) or len(values) != 2:
        raise InvalidRecordError(
            "a study compares exactly two conditions, each {'model': ..., 'method': ..., "
            f"'params': {{...}}}}; got {values!r}"[:300]
        )
    out = []
    for i, cond in enumerate(values):
        if not isinstance(cond, dict):
            raise TypeError(
                f"condition {i} must be a dict with 'model', 'method' and 'params', got {type(cond).__name__}"
            )
        unknown = set(cond) - {"model", "method", "params"}
        if unknown:
            raise InvalidRecordError(f"condition {i} has unknown keys {sorted(unknown)}; use model, method, params")
        params = cond.get("params") or {}
        if not isinstance(params, dict):
            raise TypeError(f"condition {i}: `params` must be a dict, got {type(params).__name__}")
        out.append(
            {
                "model": text(cond.get("model"), f"conditions[{i}].model", max_chars=100),
                "method": text(cond.get("method"), f"conditions[{i}].method", max_chars=100),
                "params": jsonable(params, f"conditions[{i}].params"),
            }
        )
    if out[0] == out[1]:
        raise InvalidRecordError(
            f"the two conditions are the same ({out[0]['method']} on {out[0]['model']}); "
            "pick two methods, or one method on two models"
        )
    return out
