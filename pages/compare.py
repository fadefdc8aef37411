"""Compare: two conditions (model, method) on the same photo and class, big linked maps on honest scales."""

import streamlit as st

from ui.app import page, session
from ui.views import compare, workspace
from ui.widgets import controls

selection = page.setup("Compare", script="pages/compare.py", wide=True, heading="Compare two explanations")
selection = session.require()
with session.guard("the Compare page"):
    forward = compare.forward(selection)
    with compare.maps_first():  # the choices in two compact rows, then the maps (on a phone: the maps first)
        with compare.toolbar():
            conditions = compare.condition_pickers(selection)
            class_col, view_col, display_col = st.columns([5, 4, 1.4], vertical_alignment="bottom")
            target = controls.target_class(selection, forward, class_col)
            view = compare.view_picker(view_col)
            style = controls.display_controls(display_col, superpixels=any(c.uses_superpixels for c in conditions))
        label = selection.model.labels[target]
        sides = compare.compute_sides(selection, conditions, label, style["scale"])
        shown, fig, caption = compare.maps_figure(selection, sides, view, style, reserve="21rem")
    compare.numbers_row(sides, style)
    results = compare.faithfulness_section(selection, sides, label)
    compare.downloads(selection, sides, shown, fig, caption, style, view, results)
    compare.topk_section(selection, sides, style)
    compare.timings_section(selection, sides)

    # the view goes into the URL; "Copy link" and "Save to workspace" at the top of the page
    workspace.share("compare", selection, sides, style)
