"""One session's choices: the single list of session keys, their defaults, the sidebar's selection.

Every choice a user makes on Explain or Compare lives in a *plain* session key
listed in :data:`SESSION_KEYS` (never only in a widget's key), so that

* it carries over from page to page (Streamlit forgets a widget's own key when
  its page is left; the widgets in :mod:`ui.widgets` copy into these keys);
* it can be written to and read from the URL (``st.query_params``) for a
  permalink: :func:`snapshot` returns every choice as plain values, and
  :func:`restore` puts such a snapshot back before the widgets are drawn.

The keys
--------
page : str
    Not a widget: the page script the choices were made on (``dashboard.py``, ``pages/compare.py``).
model_name : str
    The sidebar's model (a registry name).
image_source : str
    ``SOURCE_SAMPLE`` or ``SOURCE_UPLOAD``.
sample : str
    A gallery name (the photo key is ``sample:<name>``).
photo_key : str
    The photo being explained: ``sample:<name>`` or ``upload:<sha256>`` (set by the sidebar; an upload is kept
    in the store by that hash, so a permalink to it opens anywhere).
target_class : int or None
    The explained class (None: the top-1 class of the sidebar's model).
topk : int
    Top-K classes shown (predictions; Compare's rows).
n_segments, compactness, slic_full :
    SLIC's parameters, shared by every superpixel method (``slic_full``: no reduced working copy).
threshold : float
    The superpixel mask's threshold (fraction of the best score), shared by every superpixel method.
colorscale : str
    One of ``ui.figures.scales.COLORSCALES``.
opacity : float
    Weight of the map's colours over the photo.
boundaries : bool
    Draw superpixel boundaries.
scale : str
    ``"relative"`` (each map min-max scaled) or ``"absolute"`` (raw class map over the top-1 class's maximum).
left_model, right_model : str or None
    Compare's two conditions: the model (None: the sidebar's model).
left_method, right_method : str
    Compare's two conditions: a registered explainer name.
method_params : dict
    ``{method: {parameter: value}}`` for parameters a method has beyond the shared ones above.
view : str
    Compare's view: one of :data:`VIEWS`.
swipe : int
    Where the swipe view splits, in percent of the width.
topk_rows : bool
    Compare's top-K rows are shown.
refined : bool
    Methods that start from a quick setting (LIME: 100 samples) show their full one (the Refine button).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import streamlit as st

from explainers import ExplainersError, LoadedModel
from explainers.methods.secam import SLIC_PARAMETERS
from explainers.overlays import DEFAULT_COLORSCALE

from ..text import md

log = logging.getLogger(__name__)

#: The model the dashboard opens with (also the one the launcher loads at server start).
DEFAULT_MODEL = "efficientnet_lite0"
#: Most top-K classes the sidebar offers (and a link may ask for).
TOPK_MAX = 10
#: The sidebar's superpixel sliders (and their links): SLIC's target count up to the shared server's maximum.
N_SEGMENTS_RANGE = (10, int(SLIC_PARAMETERS[0].limit(server=True)))
COMPACTNESS_RANGE = (1.0, 60.0)
#: Compare's views.
VIEWS = ("Side by side", "Swipe", "Difference", "Stacked")
#: The two sides of a comparison (A on the left, B on the right), as session keys name them.
SIDES = ("left", "right")
#: The two methods Compare opens with (left, right): the only place the dashboard names methods.
DEFAULT_METHODS = ("cam", "secam")
SOURCE_SAMPLE, SOURCE_UPLOAD = "Sample gallery", "Upload a photo"
DEFAULT_SAMPLE = "chelsea"

#: Every choice, with its default: the single list of session keys (see the module's docstring).
DEFAULTS: dict[str, Any] = {
    "page": "dashboard.py",
    "model_name": DEFAULT_MODEL,
    "image_source": SOURCE_SAMPLE,
    "sample": DEFAULT_SAMPLE,
    "photo_key": f"sample:{DEFAULT_SAMPLE}",
    "target_class": None,
    "topk": 3,
    "n_segments": 50,
    "compactness": 10.0,
    "slic_full": False,
    "threshold": 0.8,
    "colorscale": DEFAULT_COLORSCALE,
    "opacity": 0.5,
    "boundaries": True,
    "region_numbers": False,
    "scale": "relative",
    "left_model": None,
    "left_method": DEFAULT_METHODS[0],
    "right_model": None,
    "right_method": DEFAULT_METHODS[1],
    "method_params": {},
    "view": "Side by side",
    "swipe": 50,
    "topk_rows": False,
    "refined": False,
}
#: The keys, in order (what a permalink writes).
SESSION_KEYS: tuple[str, ...] = tuple(DEFAULTS)
#: Keys the sidebar's widgets own directly (drawn on every page, so ``keep_sidebar_choices`` suffices).
SIDEBAR_KEYS = ("model_name", "image_source", "sample", "topk", "n_segments", "compactness", "slic_full")
#: Keys set by widgets on a page; the widget (key ``w_<name>``) copies into the plain key (``ui.widgets``).
PAGE_KEYS = tuple(k for k in SESSION_KEYS if k not in SIDEBAR_KEYS and k not in ("page", "photo_key"))


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


def init_session() -> None:
    """Fill in the defaults of every choice this session has not made yet (call once per run, first)."""
    for key, default in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = dict(default) if isinstance(default, dict) else default


def keep_sidebar_choices() -> None:
    """Carry the sidebar's choices over from the previous page (call before the sidebar is drawn).

    Re-assigning a widget's value before it is drawn makes it the session's own
    (Streamlit's documented way), so it survives the page change.
    """
    for key in SIDEBAR_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def value(key: str) -> Any:
    """A session choice (a :data:`SESSION_KEYS` key), whichever page set it."""
    if key not in DEFAULTS:
        raise KeyError(f"'{key}' is not a session key; session keys: {', '.join(SESSION_KEYS)}")
    return st.session_state.get(key, DEFAULTS[key])


def snapshot() -> dict[str, Any]:
    """Every choice of this session as plain values (for a permalink): ``{key: value}`` for :data:`SESSION_KEYS`."""
    return {key: value(key) for key in SESSION_KEYS}


def remember_upload(digest: str, name: str, data: bytes) -> None:
    """Keep this session's current upload, so the photo stays chosen on other pages (the uploader empties)."""
    st.session_state["_upload"] = (digest, name, data)


def current_upload() -> tuple[str, str, bytes] | None:
    """``(digest, name, bytes)`` of this session's last upload, or None."""
    return st.session_state.get("_upload")


def set_selection(selection: Selection) -> None:
    st.session_state["selection"] = selection
    if selection.image_key:
        st.session_state["photo_key"] = selection.image_key


def require() -> Selection:
    """The current selection; shows why and stops the page when there is no usable model or image."""
    selection = st.session_state.get("selection")
    if selection is None:
        st.error("The sidebar did not run; open the dashboard with `streamlit run dashboard.py`.")
        st.stop()
    if selection.problem or selection.model is None or selection.image is None:
        st.error(md(selection.problem) if selection.problem else "Pick a model and an image in the sidebar.")
        st.stop()
    return selection


@contextlib.contextmanager
def guard(what: str = "this page") -> Iterator[None]:
    """Show a failure as ``st.error`` with what to do, never a traceback (the log keeps the traceback)."""
    try:
        yield
    except ExplainersError as exc:
        st.error(md(exc))  # a message may quote a file name, a folder, a label: text, never Markdown
    except Exception as exc:  # noqa: BLE001 - the page must never show a traceback
        log.exception("dashboard: %s failed", what)
        st.error(md(f"Something went wrong while drawing {what}: {type(exc).__name__}: {exc}. "
                    "Try another image or model; if it persists, report it with the server log."))
