"""What the Compare (and Explain) page shows, computed from two conditions: pure of layout.

A :class:`Side` is one condition's result for the chosen class: the model, the
explanation (cached by :mod:`ui.compute.explanations`), the class it explains (the same class
by name on both sides when both models have it), and, for the ``absolute``
scale, the top-1 class's explanation that sets the unit. :func:`panels` turns
two sides into what is drawn in the chosen view.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from explainers import ExplainersError, Explanation, ForwardPass, LoadedModel

from explainers import Condition

from ..app.session import Selection
from ..figures import maps
from ..figures import scales
from ..figures.arrays import map_agreement
from ..figures.maps import Panel
from . import explanations
from . import models
from .photos import display_image

#: Long side of the pictures the comparison draws.
MAP_MAX_SIDE = 900
HOVER_SIDE = 160


@dataclasses.dataclass(frozen=True)
class Side:
    """One condition's result (``problem`` set and ``explanation`` None when it cannot be computed)."""

    name: str
    condition: Condition
    model: LoadedModel | None
    forward: ForwardPass | None
    class_index: int | None
    same_class: bool
    explanation: Explanation | None
    reference: float | None
    problem: str | None = None
    #: The condition asked for when ``condition`` is its quick version (Refine computes it), else None.
    full: Condition | None = None

    @property
    def title(self) -> str:
        quick = f", {explanations.quick_text(self.condition)}" if self.full is not None else ""
        return f"{self.name}: {self.condition.label()}{quick}"


def compute_side(name: str, condition: Condition, selection: Selection, label: str, scale: str,
                 max_side: int = MAP_MAX_SIDE) -> Side:
    """Explain ``label``'s class with ``condition`` on the sidebar's photo (cached).

    The class is the one named ``label`` in the condition's model; a model without it
    explains its own top-1 class (``same_class`` False). A method that starts quick (LIME) is
    drawn with its quick setting until the person refines it (:func:`ui.compute.explanations.shown`;
    the side's ``full`` is then the condition asked for). Never raises for library
    errors: the side's ``problem`` says what to do.
    """
    try:
        model = models.get_model(condition.model)
        forward = explanations.forward_pass(condition.model, selection.image_key, model, selection.image)
        if label in model.labels:
            class_index, same = model.labels.index(label), True
        else:
            class_index, same = forward.top(1)[0], False
        top1 = forward.top(1)[0]
        classes = [class_index] if scale == "relative" or top1 == class_index else [class_index, top1]
        drawn, quick = explanations.shown(condition, selection.image_key, classes)  # LIME: quick until Refine
        found = explanations.explanations(drawn, selection.image_key, selection.image, classes)
        reference = None
        if scale == "absolute":
            rows, cols = scales.grid(found[0].image_size, max_side)
            reference = scales.absolute_reference(found[-1], rows, cols)
        return Side(name, drawn, model, forward, class_index, same, found[0], reference,
                    full=condition if quick else None)
    except ExplainersError as exc:
        return Side(name, condition, None, None, None, False, None, None,
                    problem=f"{condition.label()} cannot explain this photo: {exc}. Pick another method or model "
                            "for this side.")


def panels(sides: Sequence[Side], photo: np.ndarray, view: str, style: Mapping[str, Any], split: float = 0.5,
           max_side: int = MAP_MAX_SIDE) -> tuple[list[Panel], np.ndarray | None]:
    """The panels of ``view`` ("Side by side", "Swipe", "Difference", "Stacked") for two computed sides.

    ``style`` holds the Display choices (:func:`ui.widgets.controls.display_controls`) and, optionally,
    ``highlight``: a superpixel id of :func:`segment_side` to outline.

    Returns
    -------
    panels : list of Panel
    difference : (h, w) float32 ndarray or None
        B - A on the display grid, for the Difference view.
    """
    a, b = sides
    common = {"scale": style["scale"], "colorscale": style["colorscale"], "opacity": style["opacity"],
              "boundaries": style["boundaries"], "numbers": bool(style.get("numbers")), "max_side": max_side,
              "hover_side": HOVER_SIDE}
    # the superpixel table describes the first side with superpixels: a row picked there is outlined on it
    first = segment_side(sides)
    highlight = {s.name: style.get("highlight") if s is first else None for s in sides}
    left = maps.map_panel(photo, a.explanation, title=a.title, reference=a.reference, highlight=highlight[a.name],
                          **common)
    right = maps.map_panel(photo, b.explanation, title=b.title, reference=b.reference, highlight=highlight[b.name],
                           **common)
    if view == "Swipe":
        return [maps.swipe_panel(left, right, split, title=f"{a.title} | {b.title} (swipe)")], None
    if view == "Difference":
        diff_panel, diff = maps.difference_panel(
            photo, a.explanation, b.explanation, title=f"B - A ({b.condition.title} - {a.condition.title})",
            scale=style["scale"], references=(a.reference, b.reference), max_side=max_side, hover_side=HOVER_SIDE)
        return [left, right, diff_panel], diff
    return [left, right], None


def segment_side(sides: Sequence[Side]) -> Side | None:
    """The first side whose explanation has superpixels (the one the superpixel table and chart describe)."""
    return next((s for s in sides if s.explanation is not None and s.explanation.segment_scores is not None), None)


def caption(sides: Sequence[Side], style: Mapping[str, Any], view: str, difference: np.ndarray | None) -> str:
    """What the colours mean, in one paragraph (the page's caption, the comparison PNG's and the report's).

    How to use the figure on the page (zoom, pan) is not part of it: see :data:`ui.views.compare.ZOOM_HINT`.
    """
    text = (f"Both maps use the same rule: {scales.SCALE_TEXT[style['scale']]}. Colour scale "
            f"{style['colorscale']}, opacity {style['opacity']:.2f}.")
    if difference is not None:
        limit = scales.difference_limit(difference)
        text += (f" Difference B - A on a symmetric scale fitted to it: +-{limit:.3f} (red: B higher, blue: A "
                 f"higher); mean {float(difference.mean()):+.3f}.")
    if view == "Swipe":
        text += " Swipe: A on the left of the white line, B on the right; move the slider."
    return text


def agreement(sides: Sequence[Side]) -> float:
    """Pearson correlation of the two maps (1: same shape)."""
    a, b = sides
    return map_agreement(a.explanation.saliency, b.explanation.saliency)


def kept_area(side: Side) -> float:
    """Share of the photo in the superpixels the side's mask keeps (superpixel methods only)."""
    e = side.explanation
    return float(e.segment_areas[e.kept_segments].sum() / e.mask.size)


def timings(side: Side) -> dict[str, float]:
    """Seconds of each step the side's explanation recorded."""
    return {k: float(v) for k, v in side.explanation.timings.items()}


def topk_rows(sides: Sequence[Side], selection: Selection, style: Mapping[str, Any],
              max_side: int = 480) -> list[list[Panel]]:
    """One ``[A, B]`` row of smaller panels per top-K class of the sidebar's model (cached explanations)."""
    forward = explanations.forward_pass(selection.model_name, selection.image_key, selection.model, selection.image)
    labels = [selection.model.labels[c] for c in forward.top(selection.topk)]
    photo = cache_display(selection)
    per_side = []
    for side in sides:
        classes = [side.model.labels.index(lb) if lb in side.model.labels else side.class_index for lb in labels]
        per_side.append(explanations.explanations(side.condition, selection.image_key, selection.image, classes))
    rows = []
    for i in range(len(labels)):
        row = []
        for side, found in zip(sides, per_side):
            e = found[i]
            row.append(maps.map_panel(photo, e, title=f"{side.name}: {side.condition.title}, #{e.rank + 1} "
                                                         f"{e.label} ({e.probability:.1%})",
                                         scale=style["scale"], reference=side.reference,
                                         colorscale=style["colorscale"], opacity=style["opacity"],
                                         boundaries=style["boundaries"], numbers=bool(style.get("numbers")),
                                         max_side=max_side, hover_side=96))
        rows.append(row)
    return rows


def cache_display(selection: Selection) -> np.ndarray:
    return display_image(selection.image_key, selection.image)
