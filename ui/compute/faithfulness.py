"""Faithfulness on demand: deletion and insertion curves of the compared maps and a random map.

Nothing measures on its own: :func:`view` shows a button; one click measures the
maps not measured yet (each condition's map, plus a random map per model), with
a progress bar, a time estimate and a cancel button. Every finished map is kept
in a process-wide store keyed by photo, model, method and its parameters, class
and steps, so a result is shown whenever it exists, a cancelled run keeps the
maps it finished, and moving a display slider never measures again.

The curves are :func:`explainers.metrics.faithfulness` (the library's metric, the
same as ``python -m explainers evaluate`` and the Batch page); the random map is
:func:`explainers.metrics.random_saliency` with seed 0, as there.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from explainers import Condition, Explanation
from explainers.evaluate import RANDOM
from explainers.metrics import DEFAULT_STEPS, Faithfulness, faithfulness, random_saliency

from .explanations import AFTER_CACHE
from . import models

#: Steps of each curve (``2 * (steps + 1)`` images per map through the model).
STEPS = DEFAULT_STEPS
#: Measurements kept (each a few kilobytes).
MAX_STORED = 512

_STORE: OrderedDict[tuple, Faithfulness] = OrderedDict()
_LOCK = threading.Lock()
#: Seconds per image through each model, from the last measurement (for the time estimate).
_PER_IMAGE: dict[str, float] = {}


@dataclasses.dataclass(frozen=True)
class Item:
    """One map to measure: ``name`` (the table's row), its store key, its model, its condition (None: random)
    and the class whose probability the curves follow."""

    name: str
    key: tuple
    model_name: str
    condition: Condition | None
    class_index: int


def plan(conditions: Sequence[Condition], classes: Sequence[int], image_key: str, steps: int = STEPS) -> list[Item]:
    """The maps a measurement covers: each distinct condition, then a random map per distinct model.

    ``classes`` holds each condition's class index in its own model (the same class by name).
    """
    items, seen, per_model = [], set(), {}
    for side, condition, class_index in zip("AB", conditions, classes):
        params = tuple((k, v) for k, v in condition.params if k not in AFTER_CACHE)  # the order, not the mask
        key = (image_key, int(class_index), int(steps), condition.model, condition.method, params)
        per_model.setdefault(condition.model, int(class_index))
        if key in seen:
            continue
        seen.add(key)
        items.append(Item(f"{side}: {condition.label()}", key, condition.model, condition, int(class_index)))
    for model_name, class_index in per_model.items():
        key = (image_key, class_index, int(steps), model_name, RANDOM, ())
        items.append(Item(f"random map on {model_name}", key, model_name, None, class_index))
    return items


def lookup(items: Sequence[Item]) -> dict[str, Faithfulness | None]:
    """``name -> curves`` for every item, None where not measured yet."""
    with _LOCK:
        return {item.name: _STORE.get(item.key) for item in items}


def estimate_seconds(items: Sequence[Item], forward_seconds: Mapping[str, float], steps: int = STEPS) -> float:
    """Expected seconds to measure ``items``: ``2 * (steps + 1)`` images each, at the model's last measured speed
    (else its single-photo forward time, an overestimate since curves run in batches)."""
    total = 0.0
    for item in items:
        per_image = _PER_IMAGE.get(item.model_name, forward_seconds.get(item.model_name, 0.05))
        total += 2 * (steps + 1) * per_image
    return total


def measure(item: Item, image: np.ndarray, saliency: np.ndarray | None, mask: np.ndarray | None = None,
            stop: threading.Event | None = None) -> Faithfulness | None:
    """Measure one item (a condition's ``saliency``, or the random map when ``saliency`` is None) and store it.

    Returns None (and stores nothing) when ``stop`` was set while it measured.
    """
    model = models.get_model(item.model_name)
    if saliency is None:
        saliency = random_saliency(image.shape[:2], seed=0)
    curves = faithfulness(model, image, saliency, item.class_index, steps=item.key[2], mask=mask)
    _PER_IMAGE[item.model_name] = curves.timings["curves"] / (2 * (item.key[2] + 1))
    if stop is not None and stop.is_set():
        return None
    with _LOCK:
        _STORE[item.key] = curves
        _STORE.move_to_end(item.key)
        while len(_STORE) > MAX_STORED:
            _STORE.popitem(last=False)
    return curves


def clear() -> None:
    """Forget every measurement (tests)."""
    with _LOCK:
        _STORE.clear()
    _PER_IMAGE.clear()


def table(results: Mapping[str, Faithfulness | None]) -> pd.DataFrame:
    """One row per measured map: name, deletion AUC, insertion AUC, kept fraction, seconds."""
    return pd.DataFrame([{"map": name, "deletion AUC": c.deletion_auc, "insertion AUC": c.insertion_auc,
                          "kept %": None if c.kept_fraction is None else 100.0 * c.kept_fraction,
                          "seconds": c.timings["curves"]}
                         for name, c in results.items() if c is not None])


def _cancel() -> None:
    st.session_state["_faith_cancelled"] = True


def view(conditions: Sequence[Condition], found: Sequence[Explanation], image_key: str, image: np.ndarray,
         forward_seconds: Mapping[str, float]) -> dict[str, Faithfulness | None]:
    """The faithfulness section: results when they exist, a measure button, progress with estimate and cancel.

    Parameters
    ----------
    conditions : sequence of Condition
        The compared conditions (A, B).
    found : sequence of Explanation
        Their explanations of the chosen class, in the same order (each in its own model's classes).
    forward_seconds : mapping
        Model name -> seconds of one forward pass (the first estimate before anything was measured here).

    Returns
    -------
    dict
        ``name -> curves`` (None where not measured), for the report.
    """
    items = plan(conditions, [e.class_index for e in found], image_key, STEPS)
    results = lookup(items)
    todo = [item for item in items if results[item.name] is None]
    seconds = estimate_seconds(todo, forward_seconds, STEPS)
    if st.session_state.pop("_faith_cancelled", False):
        st.info("Measurement cancelled; the maps it had finished are kept. Click Measure to finish the others.")
    if todo:
        clicked = st.button(f"Measure faithfulness ({len(todo)} map{'s' if len(todo) > 1 else ''}, about "
                            f"{max(1, round(seconds))} s)", key="measure_faithfulness", type="primary",
                            help="Deletion and insertion curves of both maps and a random map, for this photo, "
                                 "class and settings. Measured once, then kept; nothing measures on its own.")
        if clicked:
            _run(todo, conditions, found, image, seconds)
            st.rerun()  # draw the results without the button
    else:
        st.caption("Measured for this photo, class and settings (kept: nothing measures again).")
    return results


def _run(todo: Sequence[Item], conditions: Sequence[Condition], found: Sequence[Explanation], image: np.ndarray,
         seconds: float) -> None:
    """Measure ``todo`` in a worker thread while this run draws the progress every 0.2 s.

    Each progress update is a Streamlit call, where a click on Cancel (or any
    other widget: a rerun) stops this run; the ``finally`` then tells the worker
    to stop: the map being measured is discarded and no further map starts.
    """
    by_condition = {id(c): e for c, e in zip(conditions, found)}
    bar = st.progress(0.0, text=f"Measuring {len(todo)} maps: about {seconds:.0f} s")
    st.button("Cancel", key="cancel_faithfulness", on_click=_cancel,
              help="Stops the measurement; maps already finished are kept.")
    stop = threading.Event()
    state = {"done": 0, "error": None}

    def work() -> None:
        try:
            for item in todo:
                if stop.is_set():
                    return
                explanation = None if item.condition is None else by_condition[id(item.condition)]
                measure(item, image, None if explanation is None else explanation.saliency,
                        None if explanation is None else explanation.mask, stop=stop)
                state["done"] += 1
        except BaseException as exc:  # noqa: BLE001 - shown by the page
            state["error"] = exc

    worker = threading.Thread(target=work, name="faithfulness", daemon=True)
    t0 = time.perf_counter()
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
            elapsed = time.perf_counter() - t0
            left = max(0.0, seconds - elapsed) if state["done"] == 0 else \
                elapsed / state["done"] * (len(todo) - state["done"])
            partial = min(0.95, max(0.0, elapsed / max(seconds, 1e-3) * len(todo) - state["done"]))
            bar.progress(min(1.0, (state["done"] + partial) / len(todo)),
                         text=f"Measured {state['done']} of {len(todo)} maps: about {left:.0f} s left")
    finally:
        stop.set()  # a rerun (Cancel) interrupted this run: the worker stops at its next step
    if state["error"] is not None:
        raise state["error"]
    bar.empty()
