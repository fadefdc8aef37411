"""The dashboard's state: caches shared by every session, and one session's choices.

A Streamlit rerun (any widget change) runs the page script again, so nothing
heavy may happen in it unless cached:

* the model: ``st.cache_resource`` (one copy shared by every user; the library's
  ``LoadedModel.lock`` serialises the hooks);
* the forward pass: per ``(model, image)``;
* SLIC superpixels: per ``(image, n_segments, compactness, slic_max_side)``, computed
  by SeCAM's own ``segment`` and handed back to it;
* the explanations: per ``(model, image, classes, SLIC parameters)``;
* the faithfulness curves (Compare page): per ``(model, image, class, SLIC parameters, steps)``.

The SeCAM threshold, the colour scale and the opacity are applied after the
caches (``explainers.with_threshold`` and the figure builders), so moving those
sliders never runs the model or SLIC again. Cached values are shared between
sessions: arrays are made read-only so no page can modify them in place.

Sizes are bounded (``max_entries``, and an hour's ``ttl`` for anything that
holds full-resolution arrays: a 12-megapixel photo's SLIC labels are 48 MB,
each explained class about 60 MB), so a shared server's memory stays bounded.

Images are identified by a key (``sample:<name>`` or ``upload:<sha1>``); cached
functions take the array itself as an underscore argument so Streamlit does not
hash megabytes of pixels on every rerun.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import streamlit as st

import explainers
from explainers import Explanation, ExplainersError, ForwardPass, LoadedModel
from explainers.metrics import Faithfulness, faithfulness, random_saliency

from .analysis import resize_image
from .figures import COLORSCALES, DISPLAY_MAX_SIDE

log = logging.getLogger(__name__)

DEFAULT_MODEL = "efficientnet_lite0"
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
#: File types the uploader accepts (what explainers.load_image decodes).
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
SOURCE_SAMPLE, SOURCE_UPLOAD = "Sample gallery", "Upload a photo"
TOPK_MAX = 10
#: SeCAM's default long side for SLIC's working copy (the library's; 0 would mean full resolution).
SLIC_MAX_SIDE = int(explainers.EXPLAINERS["secam"].defaults.get("slic_max_side") or 0)
THUMBNAIL_SIDE = 320

#: Every choice a session makes, with its default. The sidebar's widgets and the
#: pages' widgets use these keys, so a choice carries over from page to page.
DEFAULTS = {
    "model_name": DEFAULT_MODEL,
    "image_source": SOURCE_SAMPLE,
    "sample": "chelsea",
    "topk": 3,
    "n_segments": 50,
    "compactness": 10.0,
    "slic_full": False,
    "threshold": 0.8,
    "colorscale": COLORSCALES[0],
    "opacity": 0.5,
    "boundaries": True,
    "difference": True,
    "faithfulness": False,
}
#: Choices made by widgets on a page (not in the sidebar). Streamlit forgets a
#: widget when its page is left, so these values live under these plain keys and
#: the widgets (keys ``w_<name>``) copy into them: see ``ui.widgets``.
PAGE_KEYS = ("threshold", "colorscale", "opacity", "boundaries", "difference", "target_class", "faithfulness")


@dataclasses.dataclass(frozen=True)
class Selection:
    """What the sidebar chose for this run of the page.

    ``problem`` is set (and ``model`` or ``image`` is None) when the choice
    cannot be used; pages show it with :func:`require`.
    """

    model_name: str
    image_key: str | None
    image_name: str | None
    topk: int
    n_segments: int
    compactness: float
    model: LoadedModel | None = None
    slic_max_side: int = 0
    image: np.ndarray | None = None
    problem: str | None = None


# -- session ----------------------------------------------------------------------
def init_session() -> None:
    """Fill in the defaults of every choice this session has not made yet (call once per run, first)."""
    for key, default in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = default


#: The sidebar's widget keys. Each page is its own script (``pages/``), and Streamlit forgets a
#: widget's value when the page that drew it is left; re-assigning the value before the widgets are
#: drawn makes it the session's own, so it carries over to the next page (Streamlit's documented way).
SIDEBAR_KEYS = ("model_name", "image_source", "sample", "topk", "n_segments", "compactness", "slic_full")


def keep_sidebar_choices() -> None:
    """Carry the sidebar's choices over from the previous page (call before the sidebar is drawn)."""
    for key in SIDEBAR_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def remember_upload(digest: str, name: str, data: bytes) -> None:
    """Keep this session's current upload, so the photo stays chosen on other pages (the uploader empties)."""
    st.session_state["_upload"] = (digest, name, data)


def current_upload() -> tuple[str, str, bytes] | None:
    """``(digest, name, bytes)`` of this session's last upload, or None."""
    return st.session_state.get("_upload")


def value(key: str):
    """A session choice (a ``DEFAULTS`` or ``PAGE_KEYS`` key), whichever page set it."""
    return st.session_state.get(key, DEFAULTS.get(key))


def set_selection(selection: Selection) -> None:
    st.session_state["selection"] = selection


def require() -> Selection:
    """The current selection; shows why and stops the page when there is no usable model or image."""
    selection = st.session_state.get("selection")
    if selection is None:
        st.error("The sidebar did not run; open the dashboard with `streamlit run dashboard.py`.")
        st.stop()
    if selection.problem or selection.model is None or selection.image is None:
        st.error(selection.problem or "Pick a model and an image in the sidebar.")
        st.stop()
    return selection


@contextlib.contextmanager
def guard(what: str = "this page") -> Iterator[None]:
    """Show a failure as ``st.error`` with what to do, never a traceback (the log keeps the traceback)."""
    try:
        yield
    except ExplainersError as exc:
        st.error(f"{exc}")
    except Exception as exc:  # noqa: BLE001 - the page must never show a traceback
        log.exception("dashboard: %s failed", what)
        st.error(f"Something went wrong while drawing {what}: {type(exc).__name__}: {exc}. "
                 "Try another image or model; if it persists, report it with the server log.")


# -- registry and models ------------------------------------------------------------------
@st.cache_resource(ttl=60, show_spinner=False)
def registry() -> explainers.models.ModelRegistry:
    """``models.yaml``, re-read at most once a minute."""
    return explainers.load_registry()


@st.cache_data(ttl=60, show_spinner=False)
def availability() -> dict[str, tuple[bool, str]]:
    """``name -> (weights available offline, detail)`` for every registry entry (no download tried)."""
    reg = registry()
    status = {name: explainers.weights_status(spec) for name, spec in reg.specs.items()}
    status.update({name: (False, f"invalid entry: {message}") for name, message in reg.errors.items()})
    return status


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def get_model(name: str) -> LoadedModel:
    """The registry model ``name``, built once per server process and shared by every session."""
    return explainers.load_model(name, registry=registry())


def device_label(model: LoadedModel) -> str:
    """``CPU`` or ``GPU (cuda:0, <name>)``."""
    if model.device.type == "cuda":
        import torch

        return f"GPU ({model.device}, {torch.cuda.get_device_name(model.device)})"
    return model.device.type.upper()


# -- images -----------------------------------------------------------------------------
def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@st.cache_resource(max_entries=len(SAMPLES), show_spinner=False)
def sample_image(name: str) -> np.ndarray:
    """A gallery photo, decoded like an upload."""
    if name not in SAMPLES:
        raise explainers.ImageError(f"unknown sample '{name}'; samples: {', '.join(SAMPLES)}")
    from skimage import data as skdata

    return _frozen(np.array(explainers.load_image(Path(skdata.data_dir) / SAMPLES[name], name=name)))


@st.cache_resource(max_entries=8, ttl=3600, show_spinner="Decoding the photo...")
def uploaded_image(digest: str, name: str, _data: bytes) -> np.ndarray:
    """An uploaded photo, decoded once per content (``digest`` is its SHA-1)."""
    return _frozen(np.array(explainers.load_image(_data, name=name)))


def upload_digest(upload) -> str:
    """SHA-1 of an uploaded file, computed once per upload (not on every rerun)."""
    memo = st.session_state.setdefault("_upload_digests", {})
    if upload.file_id not in memo:
        memo.clear()
        memo[upload.file_id] = hashlib.sha1(upload.getvalue()).hexdigest()
    return memo[upload.file_id]


@st.cache_resource(max_entries=16, show_spinner=False)
def display_image(image_key: str, _image: np.ndarray) -> np.ndarray:
    """The copy the figures draw: at most ``DISPLAY_MAX_SIDE`` px on the long side."""
    small = resize_image(_image, DISPLAY_MAX_SIDE)
    return small if small is _image else _frozen(small)


@st.cache_resource(max_entries=16, show_spinner=False)
def display_thumbnail(image_key: str, _image: np.ndarray) -> np.ndarray:
    """The sidebar's preview: at most ``THUMBNAIL_SIDE`` px on the long side."""
    small = resize_image(_image, THUMBNAIL_SIDE)
    return small if small is _image else _frozen(small)


# -- the computations (cached) --------------------------------------------------------
@st.cache_resource(max_entries=32, ttl=3600, show_spinner="Running the model...")
def forward_pass(model_name: str, image_key: str, _model: LoadedModel, _image: np.ndarray) -> ForwardPass:
    """One forward pass per (model, image), at the photo's full resolution."""
    return _model.forward(_image)


def _secam(n_segments: int, compactness: float, slic_max_side: int) -> explainers.Explainer:
    params = {"n_segments": n_segments, "compactness": compactness}
    if "slic_max_side" in explainers.EXPLAINERS["secam"].defaults:
        params["slic_max_side"] = slic_max_side
    return explainers.get_explainer("secam", **params)


@st.cache_resource(max_entries=8, ttl=3600, show_spinner="Computing superpixels (SLIC)...")
def superpixels(image_key: str, n_segments: int, compactness: float, slic_max_side: int, _image: np.ndarray):
    """SeCAM's SLIC superpixels per (image, n_segments, compactness, working size), as the library computes them.

    Returns the library's segmentation (``.full`` labels at the photo's resolution,
    ``.seconds``), which :func:`explain` hands back to SeCAM so SLIC never runs twice.
    """
    segmentation = _secam(n_segments, compactness, slic_max_side).segment(_image)
    _frozen(segmentation.full)
    return segmentation


@st.cache_resource(max_entries=12, ttl=3600, show_spinner="Explaining...")
def _explanations(model_name: str, image_key: str, classes: tuple[int, ...], n_segments: int, compactness: float,
                  slic_max_side: int, _model: LoadedModel, _image: np.ndarray) -> dict[str, list[Explanation]]:
    forward = forward_pass(model_name, image_key, _model, _image)
    segmentation = superpixels(image_key, n_segments, compactness, slic_max_side, _image)
    cams = explainers.get_explainer("cam").explain(_model, _image, list(classes), forward=forward)
    # Handing SeCAM its own segmentation back skips SLIC and reports the time SLIC took when it ran.
    secams = _secam(n_segments, compactness, slic_max_side).explain(_model, _image, list(classes), forward=forward,
                                                                   segments=segmentation)
    return {"cam": cams, "secam": secams}


#: Methods of the Compare page's faithfulness view, in the table's order; ``random`` is the baseline map.
FAITHFULNESS_METHODS = ("cam", "secam", "gradcam", "random")
#: Steps of its deletion and insertion curves (``2 * (steps + 1)`` images per method through the model).
FAITHFULNESS_STEPS = 20


@st.cache_data(max_entries=16, ttl=3600, show_spinner="Measuring faithfulness (deletion and insertion curves)...")
def _faithfulness(model_name: str, image_key: str, class_index: int, n_segments: int, compactness: float,
                  slic_max_side: int, steps: int, _model: LoadedModel, _image: np.ndarray, _cam: np.ndarray,
                  _secam: np.ndarray) -> dict[str, Faithfulness]:
    """Curves per method; ``_cam`` and ``_secam`` are the saliencies the key fields determine (already cached)."""
    gradcam = explainers.get_explainer("gradcam").explain(_model, _image, [class_index])[0].saliency
    maps = {"cam": _cam, "secam": _secam, "gradcam": gradcam,
            "random": random_saliency(_image.shape[:2], seed=0)}
    return {name: faithfulness(_model, _image, maps[name], class_index, steps=steps)
            for name in FAITHFULNESS_METHODS}


@st.cache_resource(max_entries=16, show_spinner="Computing superpixels for the preview...")
def thumbnail_superpixels(image_key: str, n_segments: int, compactness: float,
                          _image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SLIC on the ``THUMBNAIL_SIDE`` preview (the Method page's illustration of the parameters' effect)."""
    small = resize_image(_image, THUMBNAIL_SIDE)
    return small, _frozen(explainers.slic_segments(small, n_segments, compactness))


@st.cache_data(max_entries=16, show_spinner="Loading and checking the model...")
def model_facts(name: str) -> dict:
    """What the Models page shows about a loaded model: layers, GAP check, parameters, feature map size."""
    import torch

    model = get_model(name)
    probe = torch.zeros(1, 3, model.input_size, model.input_size)
    _, features = model.forward_batch(probe)
    check = model.gap_check
    return {"feature_layer": model.feature_layer, "classifier": model.classifier,
            "gap_exact": bool(check.exact), "gap_max_error": float(check.max_error),
            "gap_tolerance": float(check.tolerance), "gap_detail": check.detail,
            "parameters": int(model.num_parameters), "feature_shape": tuple(int(d) for d in features.shape[1:]),
            "device": device_label(model), "num_classes": int(model.num_classes)}


def forward(selection: Selection) -> ForwardPass:
    """The cached forward pass of the selected model on the selected image."""
    return forward_pass(selection.model_name, selection.image_key, selection.model, selection.image)


def segments(selection: Selection):
    """The cached SLIC superpixels of the selected image with the sidebar's parameters (``.full``, ``.seconds``)."""
    return superpixels(selection.image_key, selection.n_segments, selection.compactness, selection.slic_max_side,
                       selection.image)


def explain(selection: Selection, classes: Sequence[int],
            threshold: float | None = None) -> tuple[list[Explanation], list[Explanation]]:
    """CAM and SeCAM explanations of ``classes`` (cached), SeCAM's mask at ``threshold``.

    Returns
    -------
    cams, secams : list of Explanation
        One per class, in the order of ``classes``.
    """
    found = _explanations(selection.model_name, selection.image_key, tuple(int(c) for c in classes),
                          selection.n_segments, float(selection.compactness), selection.slic_max_side,
                          selection.model, selection.image)
    secams = found["secam"]
    if threshold is not None:
        secams = [explainers.with_threshold(e, threshold) for e in secams]
    return list(found["cam"]), secams


def faithfulness_curves(selection: Selection, cam: Explanation, secam: Explanation) -> dict[str, Faithfulness]:
    """Deletion and insertion curves of CAM, SeCAM, Grad-CAM and a random map for ``cam``'s class (cached).

    Parameters
    ----------
    selection : Selection
    cam, secam : Explanation
        The cached CAM and SeCAM explanations of one class (from :func:`explain`).

    Returns
    -------
    dict
        Method name (``FAITHFULNESS_METHODS``) -> :class:`explainers.metrics.Faithfulness`, with
        ``FAITHFULNESS_STEPS`` steps. The SeCAM threshold is not part of the key: the curves follow
        the map's order, not its mask, so moving the threshold does not measure again.
    """
    return _faithfulness(selection.model_name, selection.image_key, int(cam.class_index), selection.n_segments,
                         float(selection.compactness), selection.slic_max_side, int(FAITHFULNESS_STEPS),
                         selection.model, selection.image, cam.saliency, secam.saliency)


def display(selection: Selection) -> np.ndarray:
    """The selected image's display copy (cached)."""
    return display_image(selection.image_key, selection.image)


def clear_caches() -> None:
    """Drop every cached model, image and result (tests; an operator after editing models.yaml)."""
    st.cache_resource.clear()
    st.cache_data.clear()
