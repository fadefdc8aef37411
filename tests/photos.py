"""Where tests, benchmarks and scripts find photos, without naming anything outside the repository by force.

Two kinds of photos:

- photos that ship with a dependency (scikit-image's ``skimage.data``: chelsea, coffee, astronaut,
  rocket), always present: every end-to-end test uses these;
- the 200-photo ImageNet sample with ``labels.csv``, only in CI and on the team's machines: taken from
  ``$EXPLAINERS_SAMPLE_DIR``, else ``<repo>/../shared/imagenet-sample``. Tests that need it (accuracy,
  evaluation over the sample) are marked :data:`needs_sample` and skip with a one-line reason without it.

No import of ``explainers`` here, so bench/ and scripts/ can use it before the library is importable.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The photos of ``skimage.data`` the tests use, by name -> file in ``skimage.data.data_dir``.
SKIMAGE_PHOTOS = {"chelsea": "chelsea.png", "coffee": "coffee.png", "astronaut": "astronaut.png",
                  "rocket": "rocket.jpg"}


def sample_dir() -> Path | None:
    """The ImageNet sample folder (``$EXPLAINERS_SAMPLE_DIR`` or ``<repo>/../shared/imagenet-sample``), or None."""
    env = os.environ.get("EXPLAINERS_SAMPLE_DIR")
    folder = Path(env).expanduser() if env else ROOT.parent / "shared" / "imagenet-sample"
    return folder if folder.is_dir() else None


def sample_reason() -> str:
    """One line: why a test that needs the ImageNet sample skipped."""
    return ("no ImageNet sample: set EXPLAINERS_SAMPLE_DIR to a folder of photos with labels.csv "
            "(CI has ../shared/imagenet-sample)")


def sample_photos(n: int | None = None) -> list[Path]:
    """The first ``n`` JPEGs of the sample, by name ([] without the sample)."""
    folder = sample_dir()
    files = sorted(folder.glob("*.JPEG")) if folder is not None else []
    return files if n is None else files[:n]


def skimage_photo(name: str = "chelsea") -> Path:
    """The file of a ``skimage.data`` photo (ships with scikit-image, always present)."""
    from skimage import data

    return Path(data.data_dir) / SKIMAGE_PHOTOS[name]


def skimage_photos(n: int) -> list[Path]:
    """The first ``n`` of chelsea, coffee, astronaut, rocket (at most 4)."""
    if n > len(SKIMAGE_PHOTOS):
        raise ValueError(f"only {len(SKIMAGE_PHOTOS)} skimage photos; ask for fewer")
    return [skimage_photo(name) for name in list(SKIMAGE_PHOTOS)[:n]]


try:  # the marker is for tests; bench/ and scripts/ import this module without pytest
    import pytest

    #: Mark a test that needs the ImageNet sample: it skips with a one-line reason without it.
    needs_sample = pytest.mark.skipif(sample_dir() is None, reason=sample_reason())
except ImportError:  # pragma: no cover
    needs_sample = None
