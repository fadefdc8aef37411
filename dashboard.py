"""CAM & SeCAM explorer: ``streamlit run dashboard.py`` (or ``bash scripts/dashboard.sh``, which loads the
default model as the server starts).

This entry script is the Explain page (``/``): predictions, the two methods'
maps for one class (Compare's A and B methods, on the sidebar's model), the
masked photo, per-superpixel scores, downloads. The other pages are the scripts
in ``pages/``; each one, like this one, starts with ``page.setup``, so any of
them can be the first page opened.
"""

import streamlit as st

from ui.app import page, session
from ui.views import compare, workspace
from ui.widgets import controls

page.setup("Explain", script="dashboard.py", heading="Explain a prediction")
selection = session.require()
with session.guard("the Explain page"):
    forward = compare.forward(selection)
    with compare.maps_first():  # the choices in one compact row, then the maps (on a phone: the maps first)
        with compare.toolbar(horizontal=True):
            conditions = compare.method_pickers(selection)
            target = controls.target_class(selection, forward, width=360)
            style = controls.display_controls(superpixels=any(c.uses_superpixels for c in conditions))
        label = selection.model.labels[target]
        sides = compare.compute_sides(selection, conditions, label, style["scale"], warn_other_class=False)
        shown, _, caption = compare.maps_figure(selection, sides, "Side by side", style, panel_width=560, key="maps",
                                                label=label, highlight=True)

    with st.container(horizontal=True, gap="large", vertical_alignment="center"):  # wraps on a narrow screen
        compare.predictions_chart(selection, forward, target)
        compare.explain_numbers(sides, style)
    compare.superpixel_section(selection, sides, style)

    compare.explain_downloads(selection, sides, shown, style)

    # the view goes into the URL; "Copy link" and "Save to workspace" at the top of the page
    workspace.share("explain", selection, sides, style)
