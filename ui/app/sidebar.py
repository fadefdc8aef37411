"""The sidebar every page shares: model, image, top-K, SeCAM's superpixel parameters, device.

Every page draws it through ``ui.app.page.setup``; ``session.keep_sidebar_choices``
carries its choices over from page to page, and an uploaded photo stays the
chosen photo on every page until another is uploaded or a sample is picked.
"""

from __future__ import annotations

import streamlit as st

from explainers import ExplainersError

from ..compute import models, photos
from ..compute.explanations import SLIC_MAX_SIDE
from ..compute.photos import SAMPLES, UPLOAD_TYPES
from . import session
from .session import SOURCE_SAMPLE, SOURCE_UPLOAD, TOPK_MAX, Selection
from ..text import md


def render() -> Selection:
    """Draw the sidebar, load what it chose (cached), and publish it for the page (see ``session.require``).

    Never raises: a failure becomes the selection's ``problem``, shown by the page as ``st.error``.
    """
    selection = None
    with session.guard("the sidebar"):
        selection = _render()
    if selection is None:
        selection = Selection(model_name=str(st.session_state.get("model_name")), image_key=None, image_name=None,
                              topk=1, n_segments=50, compactness=10.0,
                              problem="The sidebar failed (see the message in it); reload the page.")
        session.set_selection(selection)
    return selection


def _render() -> Selection:
    session.init_session()
    bar = st.sidebar
    model, problem = _model_section(bar)
    image_key, image_name, image, image_problem = _image_section(bar)
    bar.slider("Top-K classes", 1, TOPK_MAX, key="topk",
               help="How many of the best classes the predictions chart and the Compare grid show.")
    with bar.expander("Superpixels (SLIC)", expanded=False):
        st.slider("Number of superpixels (approx.)", *session.N_SEGMENTS_RANGE, step=5, key="n_segments",
                  help="SLIC's n_segments, for every superpixel method: more gives smaller superpixels and a finer map.")
        st.slider("Compactness", *session.COMPACTNESS_RANGE, step=1.0, key="compactness",
                  help="SLIC's compactness: higher gives squarer superpixels that follow colour edges less.")
        if SLIC_MAX_SIDE:
            st.toggle("Full-resolution SLIC", key="slic_full",
                      help=f"Off (the library's default): photos larger than {SLIC_MAX_SIDE} px are segmented "
                           f"on a {SLIC_MAX_SIDE} px copy and the labels mapped back, about 0.2 s instead of "
                           "tens of seconds for 12 MP. Maps, masks and areas are at full resolution either way.")
    if model is not None:
        bar.caption(f"Device: **{models.device_label(model)}** | {model.num_parameters / 1e6:.1f} M parameters")
    selection = Selection(
        model_name=st.session_state["model_name"], image_key=image_key, image_name=image_name,
        topk=int(st.session_state["topk"]), n_segments=int(st.session_state["n_segments"]),
        compactness=float(st.session_state["compactness"]), model=model, image=image,
        slic_max_side=0 if st.session_state["slic_full"] else SLIC_MAX_SIDE,
        problem=problem or image_problem,
    )
    session.set_selection(selection)
    return selection


def _model_section(bar):
    """Model picker: only models whose weights are available can be picked; the others are listed with why."""
    try:
        registry = models.registry()
        available = models.availability()
    except ExplainersError as exc:
        message = f"The model registry cannot be read: {exc}. Fix models.yaml and reload the page."
        bar.error(md(message))
        return None, message
    usable = [name for name in registry.specs if available[name][0]]
    blocked = {name: detail for name, (ok, detail) in available.items() if not ok}
    if not usable:
        message = "No model in models.yaml has its weights available offline; see 'Not available' in the sidebar."
        bar.error(message)
        _blocked_list(bar, blocked)
        return None, message
    if st.session_state.get("model_name") not in usable:
        st.session_state["model_name"] = session.DEFAULT_MODEL if session.DEFAULT_MODEL in usable else usable[0]
    bar.selectbox("Model", usable, key="model_name",
                  format_func=lambda n: f"{n} - {registry.specs[n].title}",
                  help="Models from models.yaml whose weights load without network.")
    _blocked_list(bar, blocked)
    name = st.session_state["model_name"]
    try:
        return models.get_model(name), None
    except ExplainersError as exc:
        message = f"Model '{name}' cannot be loaded: {exc}. Pick another model in the sidebar."
        bar.error(md(message))
        return None, message


def _blocked_list(bar, blocked: dict[str, str]) -> None:
    if not blocked:
        return
    # one short line, whatever the number of models: the names and reasons are inside, collapsed
    count = f"{len(blocked)} model{'s' if len(blocked) != 1 else ''}"
    with bar.expander(f"Not available: {count}", icon=":material/block:", expanded=False):
        for name, detail in blocked.items():
            st.markdown(f"**{md(name)}** cannot be picked: {md(detail)}")
        st.caption("Put the weights where the message says (or run once with network access), then reload.")


def _image_section(bar):
    """Image picker: the scikit-image gallery or an upload (decoded and hashed once, kept in the store)."""
    bar.radio("Image", [SOURCE_SAMPLE, SOURCE_UPLOAD], key="image_source", horizontal=True)
    try:
        if st.session_state["image_source"] == SOURCE_SAMPLE:
            if st.session_state.get("sample") not in SAMPLES:
                st.session_state["sample"] = session.DEFAULT_SAMPLE
            name = bar.selectbox("Sample (scikit-image)", list(SAMPLES), key="sample")
            key, image = f"sample:{name}", photos.sample_image(name)
        else:
            upload = bar.file_uploader(f"Photo: {photos.upload_types_text()}", type=UPLOAD_TYPES, key="upload")
            if upload is not None:
                digest, name, image, problem = photos.accept_upload(upload)
                if problem:
                    bar.warning(md(f"The photo is not stored: {problem}. It is explained in this tab, but a link to "
                                   "this view will not reopen it elsewhere."))
                else:
                    bar.caption(f"Stored as `{digest[:12]}`: a link to this view reopens it, also after a restart.")
            elif session.current_upload() is not None:  # uploaded on another page: the uploader there is gone
                digest, name, data = session.current_upload()
                image = photos.uploaded_image(digest, name, data)
                bar.caption(f"Photo: **{md(name)}** (uploaded). Upload another to replace it.")
            else:
                return None, None, None, f"Upload a photo in the sidebar ({photos.upload_types_text()}), or pick a sample."
            key = f"upload:{digest}"
    except ExplainersError as exc:
        # the message names the file; the page shows it (once), the sidebar says where to act
        bar.caption("That file cannot be used; see the message on the page.")
        return None, None, None, f"{exc}. Upload another file, or pick a sample from the gallery."
    height, width = image.shape[:2]
    bar.image(photos.display_thumbnail(key, image), caption=f"{md(name)}: {width}x{height} px", width="stretch")
    return key, name, image, None
