"""Faithfulness on demand: deletion and insertion curves of the compared maps and a random map.

Nothing measures on its own: :func:`view` shows a button; one click measures the
maps not measured yet (each condition's map, plus a random map per model) as a job
(:mod:`ui.compute.jobs`): a progress bar, an estimate from the model's measured speed
and a cancel button. Every finished map is kept
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
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from explainers import Condition, Explanation
from explainers.evaluate import RANDOM
from explainers.metrics import (METRICS, DEFAULT_STEPS, Faithfulness, curve_copies, faithfulness, get_metric,
                                list_metrics, random_saliency)

from .explanations import AFTER_CACHE
from . import jobs, models

#: Steps of each curve (``2 * (steps + 1)`` images per map through the model).
STEPS = DEFAULT_STEPS
#: Measurements kept (each a few kilobytes).
MAX_STORED = 512

#: The registered metrics every measurement has (its curves); the others are measured when chosen.
CURVE_METRICS = ("deletion", "insertion")
#: Session key of the other metrics chosen on the page (registered names).
CHOSEN = "faith_metrics"
#: The job-speed kind of the chosen metrics (:func:`ui.compute.jobs.speed`).
METRIC_KIND = "metrics"

_STORE: OrderedDict[tuple, Faithfulness] = OrderedDict()
_EXTRA: OrderedDict[tuple, float] = OrderedDict()
_LOCK = threading.Lock()
#: The kind of work (:func:`ui.compute.jobs.speed`) the curves' speed is measured as.
CURVES = "curves"


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


def estimate_seconds(items: Sequence[Item], steps: int = STEPS) -> float:
    """Expected seconds to measure ``items``: :func:`explainers.metrics.curve_copies` images each, at the seconds
    per image of the last curves measured on this model (:func:`ui.compute.jobs.speed`, kind :data:`CURVES`), or
    before any, at the model's forward time per image in a full batch (``ui.compute.models.seconds_per_image``).

    Only the curves' own speed counts: a LIME job's (SLIC, masks and regressions besides each copy's forward pass)
    says nothing about them.
    """
    return sum(jobs.estimate(curve_copies(steps), item.model_name, models.seconds_per_image(item.model_name),
                             kind=CURVES) for item in items)


def measure(item: Item, image: np.ndarray, saliency: np.ndarray | None, mask: np.ndarray | None = None
            ) -> Faithfulness:
    """Measure one item (a condition's ``saliency``, or the random map when ``saliency`` is None) and store it.

    Raises
    ------
    explainers.Cancelled
        When the job it runs in was cancelled (nothing is stored for this item).
    """
    model = models.get_model(item.model_name)
    if saliency is None:
        saliency = random_saliency(image.shape[:2], seed=0)
    curves = faithfulness(model, image, saliency, item.class_index, steps=item.key[2], mask=mask)
    jobs.record_speed(item.model_name, curves.timings["curves"], curve_copies(item.key[2]), kind=CURVES)
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
        _EXTRA.clear()


def more_metrics() -> list[str]:
    """The registered metrics besides the curves (plug-ins included), in registration order."""
    return [name for name in list_metrics() if name not in CURVE_METRICS]


def chosen_metrics() -> list[str]:
    """The other metrics the person chose on the page that are still registered."""
    return [name for name in st.session_state.get(CHOSEN, []) if name in METRICS and name not in CURVE_METRICS]


def _extra_key(item: Item, metric: str) -> tuple:
    return (*item.key, "metric", metric)


def extras(items: Sequence[Item], metrics: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """``name -> {metric: value or None}`` for every item and chosen metric."""
    with _LOCK:
        return {item.name: {m: _EXTRA.get(_extra_key(item, m)) for m in metrics} for item in items}


def measure_extra(item: Item, metric: str, image: np.ndarray, saliency: np.ndarray | None,
                  segments: np.ndarray | None) -> float:
    """Measure one registered ``metric`` (default parameters) on one item's map and keep it.

    The random map is :func:`explainers.metrics.random_saliency` with seed 0, as for the curves; a superpixel
    metric uses the explanation's own superpixels when it has them.
    """
    model = models.get_model(item.model_name)
    if saliency is None:
        saliency = random_saliency(image.shape[:2], seed=0)
    measured = get_metric(metric)
    scores = measured.measure(model, [image], [saliency], [item.class_index], segments=[segments])
    jobs.record_speed(item.model_name, scores.seconds, max(1.0, measured.cost()), kind=METRIC_KIND)
    value = float(scores.values[0])
    with _LOCK:
        _EXTRA[_extra_key(item, metric)] = value
        while len(_EXTRA) > MAX_STORED * 4:
            _EXTRA.popitem(last=False)
    return value


def table(results: Mapping[str, Faithfulness | None],
          more: Mapping[str, Mapping[str, float | None]] | None = None) -> pd.DataFrame:
    """One row per measured map: name, deletion AUC, insertion AUC, then each chosen metric's value (column
    named by its title and direction), kept fraction, seconds."""
    more = more or {}

    def others(name: str) -> dict:
        return {f"{METRICS[m].title} ({METRICS[m].direction} is better)": v
                for m, v in more.get(name, {}).items() if m in METRICS}

    return pd.DataFrame([{"map": name, "deletion AUC": c.deletion_auc, "insertion AUC": c.insertion_auc,
                          **others(name), "kept %": None if c.kept_fraction is None else 100.0 * c.kept_fraction,
                          "seconds": c.timings["curves"]}
                         for name, c in results.items() if c is not None])


#: AUC differences smaller than this are called "about equal" (a curve of a few steps on one photo).
CLOSE = 0.01


def verdict(results: Mapping[str, Faithfulness | None]) -> str | None:
    """The table in one or two sentences: which map is the more faithful on each curve, and whether the maps
    beat the random map; None before anything is measured.

    Rows whose name starts with ``"random map"`` are the baselines (:func:`plan`); deletion's area is better
    low, insertion's high.
    """
    maps = {name: c for name, c in results.items() if c is not None and not name.startswith("random map")}
    randoms = [c for name, c in results.items() if c is not None and name.startswith("random map")]
    if not maps:
        return None
    parts = []
    if len(maps) > 1:
        best_del = min(maps, key=lambda n: maps[n].deletion_auc)
        best_ins = max(maps, key=lambda n: maps[n].insertion_auc)
        gap_del = max(c.deletion_auc for c in maps.values()) - maps[best_del].deletion_auc
        gap_ins = maps[best_ins].insertion_auc - min(c.insertion_auc for c in maps.values())
        close_del, close_ins = gap_del < CLOSE, gap_ins < CLOSE
        if close_del and close_ins:
            parts.append("The maps are about equally faithful on this photo (deletion and insertion areas within "
                         f"{CLOSE:.2f}).")
        elif best_del == best_ins and not (close_del or close_ins):
            parts.append(f"{best_del} is the more faithful on both curves: deletion area lower by {gap_del:.3f}, "
                         f"insertion area higher by {gap_ins:.3f}.")
        else:
            said = [f"deletion: {'about equal' if close_del else f'{best_del} (lower by {gap_del:.3f})'}",
                    f"insertion: {'about equal' if close_ins else f'{best_ins} (higher by {gap_ins:.3f})'}"]
            parts.append(f"Mixed: the more faithful map differs by curve ({'; '.join(said)}).")
    if randoms:
        base = randoms[0]
        beat = [n for n, c in maps.items() if c.deletion_auc < base.deletion_auc and c.insertion_auc > base.insertion_auc]
        if len(beat) == len(maps):
            parts.append("Both maps beat the random map on both curves." if len(maps) > 1
                         else "The map beats the random map on both curves.")
        elif beat:
            parts.append(f"Only {', '.join(beat)} beats the random map on both curves.")
        else:
            parts.append("No map beats the random map on both curves: treat these maps with suspicion.")
    parts.append("One photo shows little; the Evaluate page measures many.")
    return " ".join(parts)


def view(conditions: Sequence[Condition], found: Sequence[Explanation], image_key: str, image: np.ndarray
         ) -> dict[str, Faithfulness | None]:
    """The faithfulness section: results when they exist, a measure button, progress with estimate and cancel.

    Parameters
    ----------
    conditions : sequence of Condition
        The compared conditions (A, B).
    found : sequence of Explanation
        Their explanations of the chosen class, in the same order (each in its own model's classes).

    Returns
    -------
    dict
        ``name -> curves`` (None where not measured), for the report.
    """
    items = plan(conditions, [e.class_index for e in found], image_key, STEPS)
    results = lookup(items)
    st.multiselect("Also measure", more_metrics(), key=CHOSEN, format_func=lambda n: METRICS[n].title,
                   placeholder="more metrics (ROAD, IROF, Average Drop...)",
                   help="Other registered metrics (plug-ins included), each on both maps and the random map with "
                        "its default parameters; docs/EVALUATION.md says what each measures and its biases.")
    chosen = chosen_metrics()
    todo = [item for item in items if results[item.name] is None]
    more = extras(items, chosen)
    todo_more = [(item, m) for item in items for m in chosen if more[item.name][m] is None]
    seconds = estimate_seconds(todo, STEPS) + sum(
        jobs.estimate(max(1.0, get_metric(m).cost()), item.model_name, models.seconds_per_image(item.model_name),
                      kind=METRIC_KIND) for item, m in todo_more)
    job = jobs.running()
    key = _job_key(todo, todo_more)
    following = job is not None and bool(todo or todo_more) and job.key == key  # a rerun while it measures
    if todo or todo_more:
        what = (f"{len(todo)} map{'s' if len(todo) > 1 else ''}" if todo else
                f"{len(todo_more)} more value{'s' if len(todo_more) > 1 else ''}")
        clicked = st.button(f"Measure faithfulness ({what}, about {max(1, round(seconds))} s)",
                            key="measure_faithfulness", type="primary",
                            help="Deletion and insertion curves of both maps and a random map (and the metrics "
                                 "chosen above), for this photo, class and settings. Measured once, then kept; "
                                 "nothing measures on its own.")
        if (clicked or following) and _run(todo, todo_more, conditions, found, image, seconds, requested=clicked):
            st.rerun()  # draw the results without the button
    else:
        st.caption("Measured for this photo, class and settings (kept: nothing measures again).")
    return results


def _run(todo: Sequence[Item], todo_more: Sequence[tuple[Item, str]], conditions: Sequence[Condition],
         found: Sequence[Explanation], image: np.ndarray, seconds: float, requested: bool) -> bool:
    """Measure ``todo`` as a job (:mod:`ui.compute.jobs`: progress, estimate, Cancel); whether it finished.

    Finished maps are kept even when the job is cancelled.
    """
    by_condition = {id(c): e for c, e in zip(conditions, found)}

    def work() -> int:
        for item in todo:
            explanation = None if item.condition is None else by_condition[id(item.condition)]
            measure(item, image, None if explanation is None else explanation.saliency,
                    None if explanation is None else explanation.mask)
        for item, metric in todo_more:
            explanation = None if item.condition is None else by_condition[id(item.condition)]
            measure_extra(item, metric, image, None if explanation is None else explanation.saliency,
                          None if explanation is None else explanation.segments)
        return len(todo) + len(todo_more)

    title = f"Measuring {len(todo)} map{'s' if len(todo) != 1 else ''}" + (
        f" and {len(todo_more)} more value{'s' if len(todo_more) != 1 else ''}" if todo_more else "")
    return jobs.run(_job_key(todo, todo_more), title, work, seconds, requested=requested) is not None


def _job_key(todo: Sequence[Item], todo_more: Sequence[tuple[Item, str]] = ()) -> tuple:
    return ("faithfulness", tuple(item.key for item in todo), tuple((item.key, m) for item, m in todo_more))
