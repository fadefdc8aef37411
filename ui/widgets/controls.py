"""Widgets several pages share, built from the registries (models.yaml and the explainer registry).

Every value lives in a plain session key listed in :data:`ui.app.session.SESSION_KEYS`;
the widget itself has the key ``w_<name>`` and copies each change into the
plain key, so a choice made on one page is the choice on every page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import streamlit as st

import explainers
from explainers import Condition, ForwardPass

from ..app import session
from ..app.session import SIDES, Selection
from ..compute import explanations
from ..figures.arrays import sample_grid
from ..figures.scales import COLORSCALES, SCALES
from .params import own_parameters


def bound(widget: str, label: str, key: str, container=st, generation: str = "", **kwargs):
    """A widget whose value is the session choice ``key``, on whichever page it is drawn.

    Streamlit forgets a widget when its page is left, so the choice lives under
    the plain key ``key`` and the widget (key ``w_<key>``) starts from it and
    copies every change back. Code that changes the choice itself (a new photo
    resets the class) passes a new ``generation``, which makes a fresh widget.
    """
    current = st.session_state.get(key, session.DEFAULTS.get(key))
    wkey = f"w_{key}_{generation}" if generation else f"w_{key}"
    if kwargs.get("options") is not None:
        options = list(kwargs["options"])
        kwargs["index"] = options.index(current) if current in options else 0
    else:
        kwargs["value"] = current

    def keep() -> None:
        st.session_state[key] = st.session_state[wkey]

    result = getattr(container, widget)(label, key=wkey, on_change=keep, **kwargs)
    st.session_state[key] = result
    return result


# -- the class ------------------------------------------------------------------------------
def _rank(forward: ForwardPass) -> np.ndarray:
    rank = np.empty(forward.logits.numel(), dtype=np.int64)
    rank[np.argsort(-forward.logits.numpy(), kind="stable")] = np.arange(forward.logits.numel())
    return rank


def target_class(selection: Selection, forward: ForwardPass, container=st, width: int | str = "stretch") -> int:
    """Searchable choice among all the sidebar model's classes.

    A new photo starts from the model's top-1 class; a new model keeps the
    chosen class when it has a class of the same name (else its top-1).

    Returns
    -------
    int
        The class index (of the sidebar's model) to explain.
    """
    labels = selection.model.labels
    owner = st.session_state.get("_target_owner")
    chosen = st.session_state.get("target_class")
    if owner != (selection.model_name, selection.image_key) or chosen not in range(len(labels)):
        previous = st.session_state.get("_target_label")
        if owner is not None and owner[1] == selection.image_key and previous in labels:
            chosen = labels.index(previous)  # the model changed, the class is kept
        elif owner is None and isinstance(chosen, int) and chosen in range(len(labels)):
            pass  # restored from a permalink (or set before the first run)
        else:
            chosen = forward.top(1)[0]
        st.session_state["target_class"] = int(chosen)
        st.session_state["_target_owner"] = (selection.model_name, selection.image_key)
    probabilities = forward.probabilities.numpy()
    rank = _rank(forward)
    generation = hashlib.sha1(repr(st.session_state["_target_owner"]).encode()).hexdigest()[:10]
    target = int(bound(
        "selectbox", "Class to explain", "target_class", container, width=width,
        generation=generation, options=list(range(len(labels))),
        format_func=lambda c: f"{labels[c]} | #{rank[c] + 1}, {probabilities[c]:.1%} | class {c}",
        help=f"Type to search all {len(labels)} classes. Defaults to the model's top prediction; any class can "
             "be explained, not only the top ones, and it is kept when you switch to a model that has it.",
    ))
    st.session_state["_target_label"] = labels[target]
    return target


# -- display ---------------------------------------------------------------------------------
def display_controls(container=st, superpixels: bool = True, extra: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Colour scale, normalisation, opacity, threshold, boundaries and region numbers, in a "Display" popover: shared by Explain
    and Compare (and, through :mod:`ui.figures.scales`, the colour scale of every map on every page).

    Parameters
    ----------
    container : Streamlit container
        Where the popover's button goes (the page's toolbar).
    superpixels : bool
        Whether a shown method has superpixels (else the threshold and boundaries are disabled).
    extra : callable, optional
        Draws more display choices at the top of the popover (Compare's view); its result is ``"extra"``.

    Returns
    -------
    dict
        ``colorscale``, ``scale``, ``opacity``, ``threshold``, ``boundaries``, ``numbers`` (and ``extra``).
    """
    with container.popover("Display", icon=":material/tune:", width="content", key="display_popover",
                           help="Colour scale, normalisation, opacity, mask threshold, superpixel boundaries and numbers"):
        chosen = extra() if extra is not None else None
        colorscale = bound("selectbox", "Colour scale", "colorscale", options=list(COLORSCALES),
                           help="Every map of every page uses it. Viridis and Cividis are perceptually uniform and "
                                "colour-blind safe; differences always use a diverging red-blue scale.")
        scale = bound("radio", "Scale", "scale", options=list(SCALES), horizontal=True,
                      help="relative: each map min-max scaled to [0, 1]. absolute: the method's raw class map over "
                           "the top-1 class's maximum, one scale for every class (a 0 % class looks cold).")
        opacity = bound("slider", "Map opacity", "opacity", min_value=0.0, max_value=1.0, step=0.05)
        threshold = bound("slider", "Mask threshold (fraction of the best superpixel score)", "threshold",
                          min_value=0.0, max_value=1.0, step=0.05, disabled=not superpixels,
                          help="Superpixel methods keep superpixels scoring above threshold x the best score. "
                               "Moving it only re-masks: the model and SLIC do not run again.")
        boundaries = bound("toggle", "Superpixel boundaries", "boundaries", disabled=not superpixels)
        numbers = bound("toggle", "Region numbers", "region_numbers", disabled=not superpixels,
                        help="Write each kept superpixel's number (as in the superpixel table and chart) on the map.")
    style = {"colorscale": colorscale, "scale": scale, "opacity": float(opacity), "threshold": float(threshold),
             "boundaries": bool(boundaries), "numbers": bool(numbers)}
    if extra is not None:
        style["extra"] = chosen
    return style


def toggle(label: str, key: str, container=st) -> bool:
    """An on/off session choice."""
    return bool(bound("toggle", label, key, container))


def display_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A full-resolution mask sampled onto the display copy's grid."""
    return sample_grid(mask, max(shape))[0] if mask.shape != shape else mask


def condition_picker(side: str, selection: Selection, usable_models: Sequence[str], container=st,
                     threshold_: float | None = None) -> Condition:
    """One condition of the comparison: its model (any usable registry model) and method (any registered one).

    The model defaults to the sidebar's (``None`` in the session key follows the sidebar).
    """
    if side not in SIDES:
        raise ValueError(f"`side` must be one of {SIDES}, got {side!r}")
    methods = explainers.list_explainers()
    model_key, method_key = f"{side}_model", f"{side}_method"
    if st.session_state.get(method_key) not in methods:
        st.session_state[method_key] = session.DEFAULTS[method_key] if session.DEFAULTS[method_key] in methods \
            else methods[0]
    follow = "(sidebar's model)"
    options = [follow, *usable_models]
    if st.session_state.get(model_key) not in usable_models:
        st.session_state[model_key] = None
    current = st.session_state.get(model_key) or follow
    a, b, c = container.columns([3, 3, 2], vertical_alignment="bottom")
    wkey = f"w_{model_key}"

    def keep_model() -> None:
        chosen = st.session_state[wkey]
        st.session_state[model_key] = None if chosen == follow else chosen

    name = "A" if side == "left" else "B"
    picked = a.selectbox(f"{name}: model", options, key=wkey, on_change=keep_model,
                         index=options.index(current),
                         format_func=lambda n: n if n != follow else f"{selection.model_name} (sidebar)")
    model_name = selection.model_name if picked == follow else picked
    st.session_state[model_key] = None if picked == follow else picked
    method = bound("selectbox", f"{name}: method", method_key, b, options=methods,
                   format_func=lambda m: explainers.EXPLAINERS[m].title)
    extra = own_parameters(method, c)
    threshold = float(session.value("threshold") if threshold_ is None else threshold_)
    return explanations.condition(model_name, method, selection, threshold, extra)
