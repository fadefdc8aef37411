"""Widgets several pages share: the class to explain, the map style, the downloads.

Their keys are in ``state.PAGE_KEYS``, so a value chosen on one page is kept on the others.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from explainers import Explanation, ForwardPass
from explainers.overlays import heatmap_overlay, masked_image

from . import exports, state
from .analysis import sample_grid
from .figures import COLORSCALES
from .state import Selection


def _bound(widget, label: str, key: str, container=st, generation: str = "", **kwargs):
    """A widget whose value is the session choice ``key``, on whichever page it is drawn.

    Streamlit forgets a widget when its page is left, so the choice lives under
    the plain key ``key`` and the widget (key ``w_<key>``) starts from it and
    copies every change back. Code that changes the choice itself (a new photo
    resets the class) passes a new ``generation``, which makes a fresh widget.
    """
    current = st.session_state.get(key, state.DEFAULTS.get(key))
    wkey = f"w_{key}_{generation}" if generation else f"w_{key}"
    if kwargs.get("options") is not None:
        options = list(kwargs["options"])
        kwargs["index"] = options.index(current) if current in options else 0
    else:
        kwargs["value"] = current

    def keep() -> None:
        st.session_state[key] = st.session_state[wkey]

    return getattr(container, widget)(label, key=wkey, on_change=keep, **kwargs)


def target_class(selection: Selection, forward: ForwardPass, container=st) -> int:
    """Searchable choice among all the model's classes; the top-1 class for every new model or photo.

    Returns
    -------
    int
        The class index to explain.
    """
    labels = selection.model.labels
    owner = (selection.model_name, selection.image_key)
    if st.session_state.get("_target_owner") != owner or st.session_state.get("target_class") not in range(len(labels)):
        st.session_state["target_class"] = forward.top(1)[0]
        st.session_state["_target_owner"] = owner
    probabilities = forward.probabilities.numpy()
    rank = np.empty(len(labels), dtype=np.int64)
    rank[np.argsort(-forward.logits.numpy(), kind="stable")] = np.arange(len(labels))
    generation = hashlib.sha1(repr(owner).encode()).hexdigest()[:10]
    return int(_bound(
        "selectbox", f"Class to explain (type to search all {len(labels)} classes)", "target_class", container,
        generation=generation, options=list(range(len(labels))),
        format_func=lambda c: f"{labels[c]} | #{rank[c] + 1}, {probabilities[c]:.1%} | class {c}",
        help="Defaults to the model's top prediction. Any class can be explained, not only the top ones.",
    ))


def map_style(container=st) -> tuple[str, float]:
    """Colour scale and opacity of the maps (figures only: nothing is recomputed)."""
    left, right = container.columns(2)
    colorscale = _bound("radio", "Colour scale", "colorscale", left, options=COLORSCALES, horizontal=True)
    opacity = _bound("slider", "Map opacity", "opacity", right, min_value=0.0, max_value=1.0, step=0.05)
    return colorscale, float(opacity)


def threshold(container=st) -> float:
    """SeCAM's mask threshold: keep superpixels whose score exceeds this fraction of the best score."""
    return float(_bound(
        "slider", "SeCAM threshold (fraction of the best superpixel score)", "threshold", container,
        min_value=0.0, max_value=1.0, step=0.05,
        help="Superpixels whose score is above threshold x best score are kept in the masked photo. "
             "Moving it only re-masks: the model and SLIC do not run again."))


def toggle(label: str, key: str, container=st) -> bool:
    """An on/off session choice (``boundaries``, ``difference``)."""
    return bool(_bound("toggle", label, key, container))


def display_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A full-resolution mask sampled onto the display copy's grid."""
    return sample_grid(mask, max(shape))[0] if mask.shape != shape else mask


def downloads(selection: Selection, forward: ForwardPass, cam: Explanation, secam: Explanation, container=st) -> None:
    """Download buttons: overlay PNGs, saliency .npy, superpixel CSV, whole result JSON.

    Files are built only when clicked (deferred), at the photo's full resolution.
    """
    image = selection.image
    stem = f"{(selection.image_name or 'image').rsplit('.', 1)[0]}_{selection.model_name}_{cam.class_index}"
    top = forward.select(None, selection.topk)
    predictions = [{"class_index": c, "label": selection.model.labels[c],
                    "probability": float(forward.probabilities[c])} for c in top]
    settings = {"threshold": secam.params.get("threshold"), "n_segments": selection.n_segments,
                "compactness": selection.compactness, "topk": selection.topk}
    info = {"name": selection.image_name, "key": selection.image_key,
            "width": int(image.shape[1]), "height": int(image.shape[0])}
    cols = container.columns(3)
    cols[0].download_button("CAM overlay (PNG)", lambda: exports.png_bytes(heatmap_overlay(image, cam.saliency, cam.label)),
                            file_name=f"{stem}_cam.png", mime="image/png", width="stretch", on_click="ignore")
    cols[0].download_button("SeCAM masked photo (PNG)", lambda: exports.png_bytes(masked_image(image, secam.mask)),
                            file_name=f"{stem}_secam_masked.png", mime="image/png", width="stretch", on_click="ignore")
    cols[1].download_button("CAM saliency (.npy)", lambda: exports.npy_bytes(cam.saliency),
                            file_name=f"{stem}_cam_saliency.npy", mime="application/octet-stream", width="stretch", on_click="ignore")
    cols[1].download_button("SeCAM saliency (.npy)", lambda: exports.npy_bytes(secam.saliency),
                            file_name=f"{stem}_secam_saliency.npy", mime="application/octet-stream", width="stretch", on_click="ignore")
    cols[2].download_button("Superpixel scores (CSV)", lambda: exports.superpixels_csv(secam),
                            file_name=f"{stem}_superpixels.csv", mime="text/csv", width="stretch", on_click="ignore")
    cols[2].download_button(
        "Whole result (JSON)",
        lambda: exports.result_json([cam, secam], image=info, predictions=predictions, extra=settings),
        file_name=f"{stem}_result.json", mime="application/json", width="stretch", on_click="ignore")
