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
from ui.text import md
from ui.views import compare, workspace
from ui.widgets import controls

page.setup("Explain", script="dashboard.py")
st.title("Explain a prediction")
selection = session.require()
with session.guard("the Explain page"):
    forward = compare.forward(selection)
    labels = selection.model.labels

    left, right = st.columns([3, 2], gap="large")
    with right:
        target = controls.target_class(selection, forward)
        compare.predictions_chart(selection, forward, target)
    with left:
        conditions = compare.method_pickers(selection)
        style = controls.display_controls(superpixels=any(c.uses_superpixels for c in conditions))
    label = labels[target]
    sides = compare.compute_sides(selection, conditions, label, style["scale"], warn_other_class=False)
    first = sides[0].explanation
    with right:
        a, b, c = st.columns(3)
        a.metric("Probability", f"{first.probability:.1%}", help=f"rank #{first.rank + 1}, logit {first.logit:.2f}")
        with_segments = [s for s in sides if s.explanation.segment_scores is not None]
        if with_segments:
            seg = with_segments[0].explanation
            b.metric("Superpixels", f"{seg.segment_ids.size}")
            c.metric("Kept", f"{int(seg.kept_segments.sum())}",
                     help=f"Superpixels kept by the {md(with_segments[0].condition.title)} mask: "
                          f"{compare.comparison.kept_area(with_segments[0]):.0%} of the photo at threshold "
                          f"{style['threshold']:.2f}")

    st.subheader(f"Why '{md(label)}'?")
    shown, _, caption = compare.maps_figure(selection, sides, "Side by side", style, panel_width=560, key="maps")
    compare.superpixel_section(selection, sides, style)

    compare.explain_downloads(selection, sides, shown, style)

    # the view goes into the URL; "Copy link" and "Save to workspace" at the top of the page
    workspace.share("explain", selection, sides, style)
