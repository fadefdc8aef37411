"""The photos: the sample gallery, uploads, and the smaller copies the page draws (cached, read-only).

Images are identified by a key (``sample:<name>`` or ``upload:<sha256>``); cached
functions take the array itself as an underscore argument so Streamlit does not
hash megabytes of pixels on every rerun. Cached arrays are shared between
sessions, so they are made read-only. An upload is decoded once and hashed once
(:func:`accept_upload`), whichever page it was uploaded on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

import explainers
from explainers.images import IMAGE_SUFFIXES

from ..app import session, store
from ..figures.arrays import resize_image
from ..figures.maps import DISPLAY_MAX_SIDE

#: Gallery: name -> file bundled with scikit-image (``skimage.data``); decoded by explainers.load_image.
SAMPLES = {
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "astronaut": "astronaut.png",
    "rocket": "rocket.jpg",
    "motorcycle": "motorcycle_left.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "immunohistochemistry": "ihc.png",
    "retina": "retina.jpg",
    "camera": "camera.png",
    "logo": "logo.png",
}
#: File types the uploader accepts: exactly what explainers.load_image decodes (GIF included).
UPLOAD_TYPES = sorted(s.lstrip(".") for s in IMAGE_SUFFIXES)
#: Long side of a small copy: the sidebar's preview, the Method page's illustration, a saved item's thumbnails.
THUMBNAIL_SIDE = 320


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def upload_types_text() -> str:
    """``JPEG, PNG, ...`` for labels."""
    names = {"jpg": "JPEG", "jpeg": None, "tif": None, "tiff": "TIFF"}
    return ", ".join(names.get(t, t.upper()) for t in UPLOAD_TYPES if names.get(t, t) is not None)


@st.cache_resource(max_entries=len(SAMPLES), show_spinner=False)
def sample_image(name: str) -> np.ndarray:
    """A gallery photo, decoded like an upload."""
    if name not in SAMPLES:
        raise explainers.ImageError(f"unknown sample '{name}'; samples: {', '.join(SAMPLES)}")
    from skimage import data as skdata

    return _frozen(np.array(explainers.load_image(Path(skdata.data_dir) / SAMPLES[name], name=name)))


@st.cache_resource(max_entries=8, ttl=3600, show_spinner="Decoding the photo...")
def uploaded_image(digest: str, name: str, _data: bytes, _pixels: np.ndarray | None = None) -> np.ndarray:
    """An uploaded photo, decoded once per content (``digest`` is its SHA-256); ``_pixels`` when already decoded."""
    image = _pixels if _pixels is not None else explainers.load_image(_data, name=name)
    return _frozen(np.array(image))


def accept_upload(upload) -> tuple[str, str, np.ndarray, str | None]:
    """Decode an uploaded file once, keep it in the store (which hashes it once) and in this session.

    Returns
    -------
    digest : str
        The SHA-256 of its bytes: the photo's key is ``upload:<digest>``.
    name : str
    image : (H, W, 3) uint8 ndarray
    problem : str or None
        Why the store could not keep it (then links to it open only in this tab).

    Raises
    ------
    explainers.ImageError
        If the file is not an image the library decodes; nothing is kept.
    """
    memo = st.session_state.setdefault("_accepted_uploads", {})
    if upload.file_id not in memo:
        data = upload.getvalue()
        pixels = explainers.load_image(data, name=upload.name)
        digest, problem = store.keep_upload(data, upload.name, pixels)
        memo.clear()
        memo[upload.file_id] = (digest, problem)
        uploaded_image(digest, upload.name, data, pixels)  # the decoded pixels go into the cache
        session.remember_upload(digest, upload.name, data)
    digest, problem = memo[upload.file_id]
    _, name, data = session.current_upload() or (digest, upload.name, upload.getvalue())
    return digest, name, uploaded_image(digest, name, data), problem


@st.cache_resource(max_entries=16, show_spinner=False)
def display_image(image_key: str, _image: np.ndarray) -> np.ndarray:
    """The copy the figures draw: at most ``DISPLAY_MAX_SIDE`` px on the long side."""
    small = resize_image(_image, DISPLAY_MAX_SIDE)
    return small if small is _image else _frozen(small)


@st.cache_resource(max_entries=16, show_spinner=False)
def display_thumbnail(image_key: str, _image: np.ndarray) -> np.ndarray:
    """The sidebar's preview: at most :data:`THUMBNAIL_SIDE` px on the long side."""
    small = resize_image(_image, THUMBNAIL_SIDE)
    return small if small is _image else _frozen(small)


@st.cache_resource(max_entries=16, show_spinner="Computing superpixels for the preview...")
def thumbnail_superpixels(image_key: str, n_segments: int, compactness: float,
                          _image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SLIC on the ``THUMBNAIL_SIDE`` preview (the Method page's illustration of the parameters' effect)."""
    small = resize_image(_image, THUMBNAIL_SIDE)
    return small, _frozen(explainers.slic_segments(small, n_segments, compactness))
