"""Workspace: the team's saved views, as a grid; filter, reopen, edit, delete, export.

Each item was saved from Explain or Compare ("Save to workspace" at the top right of those pages) with
its permalink, settings, predictions, per-superpixel scores and thumbnails, so this page draws without
running any model. "Open" restores the exact view through the permalink.
"""

import streamlit as st

from ui.app import identity, page, session
from ui.views import workspace

page.setup("Workspace", script="pages/workspace.py", heading="Workspace")
st.caption("What the team saved from Explain and Compare. Open an item to get its exact view back.")

store = workspace.open_store()
with st.expander("Who you are", expanded=identity.current_user() is None):
    user = identity.name_form(key="workspace_author")

with session.guard("the workspace"):
    filters = workspace.filters_row(store)
    items, more = workspace.listing_row(store, filters)
    if not items:
        st.info("Nothing here yet. On Explain or Compare, use **Save** (top right, beside Copy link) to keep a view here."
                if not filters else "No saved item matches these filters.")
    workspace.grid(store, items, user)

if more and st.button("Show more"):
    st.session_state["ws_shown"] = st.session_state.get("ws_shown", workspace.PAGE_SIZE) + workspace.PAGE_SIZE
    st.rerun()
