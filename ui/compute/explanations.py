"""The cached explanations, for ANY registered method: forward passes, superpixels, maps.

A Streamlit rerun (any widget change) runs the page script again, so nothing
heavy may happen in it unless cached:

* the forward pass: per ``(model, photo)``;
* superpixels (SLIC): per ``(photo, n_segments, compactness, slic_max_side)``, computed once
  and handed to every method that accepts ``segments=`` (see :func:`explanations`);
* explanations: per ``(condition, photo, classes)``, a condition being an
  :class:`explainers.Condition` (model, method, every parameter). A method that pushes more than
  :data:`ui.compute.jobs.HEAVY_UNITS` images through the model (LIME) runs as a job: progress, an
  estimate from the model's measured speed, Cancel, stopped when superseded or abandoned.
  Such a method starts from its quick setting (:func:`shown`: LIME with 100 samples, a map in
  seconds); the page's Refine button (:data:`REFINED`) runs the full one.

A method's mask threshold is applied after the cache (``explainers.with_threshold``),
and the colour scale, the opacity and the normalisation are applied by the
figures, so moving those sliders never runs the model or SLIC again. Cached values
are shared between sessions: arrays are made read-only.

Sizes are bounded (``max_entries``, and an hour's ``ttl`` for anything that
holds full-resolution arrays), so a shared server's memory stays bounded.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import streamlit as st

import explainers
from explainers import Condition, Explanation, ForwardPass, LoadedModel
from explainers.methods.condition import param_text
from explainers.methods.secam import SLIC_MAX_SIDE  # noqa: F401  (the sidebar's full-resolution toggle)

from ..app.session import Selection
from ..text import md
from . import jobs, models

#: Parameters every method that declares them shares with the sidebar and the page (one value per session).
SHARED_PARAMS = ("n_segments", "compactness", "threshold", "slic_max_side")
#: Applied after the cache (re-masking is cheap), so it is not part of an explanation's cache key.
AFTER_CACHE = ("threshold",)


def shared_params(selection: Selection, threshold: float) -> dict[str, Any]:
    """The session's values of the parameters every method shares (SLIC's, and the mask threshold)."""
    return {"n_segments": selection.n_segments, "compactness": selection.compactness,
            "slic_max_side": selection.slic_max_side, "threshold": float(threshold)}


def condition(model: str, method: str, selection: Selection, threshold: float,
              extra: Mapping[str, Any] | None = None) -> Condition:
    """The condition a page shows: ``method`` on ``model`` with the session's shared values and its own ``extra``.

    The one way Explain, Compare and a review study (built from the same choices) make their conditions,
    held to the shared server's maximums (:attr:`explainers.Param.server_high`).
    """
    return Condition.make(model, method, shared_params(selection, threshold), extra, server=True)


# -- the computations ---------------------------------------------------------------------
def _frozen(array: np.ndarray | None) -> np.ndarray | None:
    if isinstance(array, np.ndarray):
        array.flags.writeable = False
    return array


@st.cache_resource(max_entries=32, ttl=3600, show_spinner="Running the model...")
def forward_pass(model_name: str, image_key: str, _model: LoadedModel, _image: np.ndarray) -> ForwardPass:
    """One forward pass per (model, photo), at the photo's full resolution."""
    return _model.forward(_image)


@st.cache_resource(max_entries=8, ttl=3600, show_spinner="Computing superpixels (SLIC)...")
def superpixels(image_key: str, params: tuple[tuple[str, Any], ...], _method: str, _image: np.ndarray):
    """Superpixels as ``_method`` computes them (its ``segment``), once per photo and SLIC setting ``params``.

    The key holds only the SLIC parameters, not the method, so every method that
    accepts ``segments=`` shares one segmentation per setting.
    """
    segmentation = explainers.get_explainer(_method, **dict(params)).segment(_image)
    _frozen(getattr(segmentation, "full", None))
    return segmentation


def _slic_key(condition: Condition) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v) for k, v in condition.params if k in SHARED_PARAMS and k not in AFTER_CACHE)


def superpixels_of(condition: Condition, image_key: str, image: np.ndarray):
    """The cached superpixels a superpixel ``condition`` works on (``.full`` labels, ``.working``, ``.seconds``)."""
    return superpixels(image_key, _slic_key(condition), condition.method, image)


def _accepts_segments(explainer: explainers.Explainer) -> bool:
    return hasattr(explainer, "segment") and "segments" in inspect.signature(explainer.explain).parameters


def _explain(condition: Condition, image_key: str, classes: tuple[int, ...], model: LoadedModel,
             image: np.ndarray) -> Callable[[], list[Explanation]]:
    """The library call that explains ``classes``, its forward pass and superpixels taken from the caches."""
    explainer = condition.explainer()
    forward = forward_pass(condition.model, image_key, model, image)
    precomputed = {}
    if _accepts_segments(explainer):  # one SLIC per photo and setting, shared by every method that takes it
        precomputed["segments"] = superpixels(image_key, _slic_key(condition), condition.method, image)

    def run() -> list[Explanation]:
        found = explainer.explain(model, image, list(classes), forward=forward, **precomputed)
        for explanation in found:
            for field in ("saliency", "class_map", "segments", "mask"):
                _frozen(getattr(explanation, field))
        return found

    return run


@st.cache_resource(max_entries=24, ttl=3600, show_spinner="Explaining...")
def _explanations(condition: Condition, image_key: str, classes: tuple[int, ...], _model: LoadedModel,
                  _image: np.ndarray) -> list[Explanation]:
    return _explain(condition, image_key, classes, _model, _image)()


def units(condition: Condition) -> int:
    """Images through the model for one call of ``condition`` on a photo, whatever its classes: LIME's perturbed
    copies serve every class of the call (:meth:`explainers.Explainer.cost`)."""
    return condition.explainer().cost()


def estimate_seconds(condition: Condition) -> float:
    """Expected seconds to explain a photo with ``condition``, at the model's speed measured on this server."""
    return jobs.estimate(units(condition), condition.model, models.seconds_per_image(condition.model))


def _keyed(condition: Condition) -> Condition:
    """``condition`` as the cache keys it: the method's default threshold (the value is applied after the cache)."""
    cls = explainers.EXPLAINERS[condition.method]
    return condition.replace(**{name: cls.defaults[name] for name in AFTER_CACHE if name in cls.defaults})


def _job_key(keyed: Condition, image_key: str, classes: tuple[int, ...]) -> tuple:
    return ("explanations", keyed, image_key, classes)


def _slow_explanations(condition: Condition, image_key: str, classes: tuple[int, ...], model: LoadedModel,
                       image: np.ndarray) -> list[Explanation]:
    """As :func:`_explanations`, for a method that pushes many images through the model: as a job (progress,
    estimate, Cancel; :mod:`ui.compute.jobs`). Stops the page's run when the job did not finish."""
    title = f"{md(condition.title)} ({units(condition)} images through the model)"
    found = jobs.run(_job_key(condition, image_key, classes), title,
                     _explain(condition, image_key, classes, model, image), estimate_seconds(condition),
                     condition.model)
    if found is None:
        st.stop()
    return found


def explanations(condition: Condition, image_key: str, image: np.ndarray, classes: Sequence[int],
                 threshold: float | None = None) -> list[Explanation]:
    """The explanations of ``classes`` by ``condition`` (cached), each mask at ``threshold``.

    Parameters
    ----------
    condition : Condition
    image_key : str
        ``sample:<name>`` or ``upload:<sha256>``: identifies ``image`` in the caches.
    image : (H, W, 3) uint8 ndarray
    classes : sequence of int
    threshold : float, optional
        Re-mask superpixel explanations (no model, no SLIC); default: the condition's own.

    Returns
    -------
    list of Explanation
        One per class, in the order of ``classes``.

    Raises
    ------
    explainers.ExplainersError
        E.g. ``CamNotExactError`` when the method needs a GAP + linear head the model lacks.
    """
    model = models.get_model(condition.model)
    keyed = _keyed(condition)  # the cache runs with the method's default threshold; the value is applied below
    classes = tuple(int(c) for c in classes)
    if keyed.explainer().cost() > jobs.HEAVY_UNITS:
        found = _slow_explanations(keyed, image_key, classes, model, image)
    else:
        found = _explanations(keyed, image_key, classes, model, image)
    if threshold is None:
        threshold = dict(condition.params).get("threshold")
    if threshold is not None:
        found = [explainers.with_threshold(e, threshold) if e.segment_scores is not None else e for e in found]
    return list(found)


# -- quick first, then Refine ----------------------------------------------------------------
#: Session key (``ui.app.session``; ``refined=1`` in a link): the person asked for the full settings of the methods
#: that start quick (the Refine button).
REFINED = "refined"


def quick_condition(condition: Condition) -> Condition | None:
    """``condition`` with its method's ``quick_params`` (LIME: 100 samples), or None when that is not cheaper.

    A method whose full setting pushes more than :data:`ui.compute.jobs.HEAVY_UNITS` images through the model
    starts from its quick one, so a map shows in seconds; Refine then runs the full one as a job.
    """
    quick = explainers.EXPLAINERS[condition.method].quick_params
    if not quick:
        return None
    cost = condition.explainer().cost()
    cheap = condition.replace(**quick)
    return cheap if cost > jobs.HEAVY_UNITS and cheap.explainer().cost() < cost else None


def setting_text(condition: Condition) -> str:
    """``condition``'s values of the parameters its method's quick setting changes: ``1000 samples``."""
    names = explainers.EXPLAINERS[condition.method].quick_params
    values = [(k, condition.param(k)) for k in names]
    return ", ".join(f"{v} {k[len('num_'):].replace('_', ' ')}" if k.startswith("num_") else param_text(k, v)
                     for k, v in values)


def quick_text(condition: Condition) -> str:
    """What a quick map (a :func:`quick_condition`) says about itself: ``quick (100 samples)``."""
    return f"quick ({setting_text(condition)})"


def shown(condition: Condition, image_key: str, classes: Sequence[int]) -> tuple[Condition, bool]:
    """The condition a page draws for ``condition`` now, and whether that is its quick version.

    The quick version (:func:`quick_condition`) until the person asks for the full one (:data:`REFINED`, the
    Refine button or ``refined=1`` in a link), or when the full one was computed already. A Refine stopped with
    Cancel goes back to the quick version (and the Refine button).
    """
    quick = quick_condition(condition)
    if quick is None:
        return condition, False
    full_key = _job_key(_keyed(condition), image_key, tuple(int(c) for c in classes))
    if st.session_state.get(REFINED):
        if not jobs.stopped(full_key):
            return condition, False
        st.session_state[REFINED] = False  # Cancel on the Refine: the quick map again
        jobs.forget_stop()
    elif jobs.done(full_key) is not None:
        return condition, False
    return quick, True


def clear_caches() -> None:
    """Drop every cached model, image and result (tests; an operator after editing models.yaml).

    The faithfulness measurements are kept: ``ui.compute.faithfulness.clear`` forgets them.
    """
    st.cache_resource.clear()
    st.cache_data.clear()
