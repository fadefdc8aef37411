"""Evaluate: every chosen method on many photos (uploads or a folder on the server), with faithfulness and timings."""

import streamlit as st

from ui.app import page, session
from ui.views import evaluate

page.setup("Evaluate", script="pages/evaluate.py", heading="Evaluate methods on many photos")
st.caption("Explains every photo with each method, then measures how faithful each map is to the model with the "
           "chosen metrics (deletion, insertion, ROAD, IROF, Average Drop... and any plug-in), next to a random map, "
           "and says which method wins on which metric, whether the metrics agree and, if asked, whether each "
           "method passes the sanity check. The same computation as `python -m explainers evaluate`. It runs on the "
           "sidebar's model; the sidebar's photo is not used here.")

selection = st.session_state.get("selection")
if selection is None or selection.model is None:
    st.error("Pick a usable model in the sidebar first (the evaluation runs on the sidebar's model).")
    st.stop()

with session.guard("the Evaluate page"):
    chosen = evaluate.inputs(selection.model)
    if st.button("Run the evaluation", type="primary", key="evaluate_run", disabled=not chosen["methods"]):
        evaluate.run(selection.model, chosen)
    outcome = st.session_state.get("evaluate_result")
    if outcome is not None:
        evaluate.results(outcome)
