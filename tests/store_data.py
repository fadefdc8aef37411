"""Small real photos and pictures for the store's tests (scikit-image's gallery, encoded with Pillow)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data as gallery


def encode(image: np.ndarray, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt)
    return buf.getvalue()


def photo(name: str = "chelsea", fmt: str = "JPEG") -> bytes:
    """A gallery photo (chelsea, coffee, astronaut, rocket) encoded as ``fmt``."""
    return encode(getattr(gallery, name)(), fmt)


def png(seed: int = 0, size: int = 48) -> bytes:
    """A small PNG picture (a thumbnail or a trial's map), different per ``seed``."""
    rng = np.random.default_rng(seed)
    return encode(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), "PNG")


def npy(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.random.default_rng(seed).random((8, 8), dtype=np.float32))
    return buf.getvalue()


def item_fields(**overrides) -> dict:
    """Keyword arguments of a valid ``Store.save_item`` call."""
    fields = dict(title="Chelsea, CAM vs SeCAM", author="ann@example.org",
                  view={"page": "compare", "photo": "sample:chelsea", "class": "285", "threshold": "0.8"},
                  models=["efficientnet_lite0"], methods=["cam", "secam"], class_index=285,
                  class_label="Egyptian cat", note="SeCAM keeps the face", tags=["cats", "faces"],
                  predictions=[{"class_index": 285, "label": "Egyptian cat", "probability": 0.79}],
                  scores={"ids": np.arange(1, 4), "scores": np.array([0.1, 0.9, 0.5], np.float32)},
                  thumbnails=[png(1), png(2)])
    fields.update(overrides)
    return fields


def files_under(folder) -> list:
    """Every file under ``folder`` (temporary ones included)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def trial_order(store, study_id: int, reviewer: str) -> list[tuple[int, int]]:
    """``(trial_id, left_condition)`` of each trial in the reviewer's order (the plan the Review page uses)."""
    from explainers_team.review.studies import plan

    return [(a.trial_id, a.left_index) for a in plan(store, study_id, reviewer)]
