"""Workspace: the team's saved views, as a grid; filter, reopen, edit, delete, export.

Each item was saved from Explain or Compare ("Save to workspace" in the sidebar) with
its permalink, settings, predictions, per-superpixel scores and thumbnails, so this page
draws without running any model. "Open" restores the exact view through the permalink.
"""

import streamlit as st

from explainers_team.access import may_change

from ui import page, permalink, session
from ui import workspace as ws
from ui.item_report import item_html

page.setup("Workspace", script="pages/workspace.py")
st.title("Workspace")
st.caption("What the team saved from Explain and Compare. Open an item to get its exact view back.")

store = ws.open_store()
user = None
with st.expander("Who you are", expanded=ws.identity() is None):
    user = ws.name_form(key="workspace_author")
    ws.write_cookie()


with session.guard("the workspace's filters"):
    facets = store.item_facets()
    cols = st.columns([1, 1, 1.4, 1, 1, 1.6])
    model = cols[0].selectbox("Model", [None, *facets["models"]], format_func=lambda v: v or "Any", key="ws_model")
    method = cols[1].selectbox("Method", [None, *facets["methods"]], format_func=lambda v: v or "Any",
                               key="ws_method")
    chosen_class = cols[2].selectbox("Class", [None, *facets["classes"]], key="ws_class",
                                     format_func=lambda v: f"{v[1]} ({v[0]})" if v else "Any")
    author = cols[3].selectbox("Author", [None, *facets["authors"]], key="ws_author",
                               format_func=lambda v: v[1] if v else "Anyone")
    tag = cols[4].selectbox("Tag", [None, *facets["tags"]], format_func=lambda v: v or "Any", key="ws_tag")
    text = cols[5].text_input("Search", key="ws_text", placeholder="title, note or class")
    filters = ws.item_filters(model=model, method=method, class_=chosen_class, author=author, tag=tag, text=text)

    shown = st.session_state.setdefault("ws_shown", ws.PAGE_SIZE)
    items = store.list_items(limit=shown + 1, **filters)
    more = len(items) > shown
    items = items[:shown]

    head, csv_col, json_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    head.markdown(f"**{len(items)}{'+' if more else ''} item(s)**"
                  + (" match the filters" if filters else " saved") + ("; newest first" if items else ""))
    csv_col.download_button("Export as CSV", lambda: store.export_items_csv(**filters), file_name="workspace.csv",
                            mime="text/csv", width="stretch", on_click="ignore",
                            help="Every item that matches the filters (all items without filters).")
    json_col.download_button("Export as JSON", lambda: store.export_items_json(**filters),
                             file_name="workspace.json", mime="application/json", width="stretch",
                             on_click="ignore", help="Every item that matches the filters, with scores.")

if not items:
    st.info("Nothing here yet. On Explain or Compare, use **Save to workspace** in the sidebar."
            if not filters else "No saved item matches these filters.")

for row in range(0, len(items), ws.GRID_COLUMNS):
    for column, item in zip(st.columns(ws.GRID_COLUMNS), items[row:row + ws.GRID_COLUMNS]):
        with column.container(border=True):
            ws.item_card(item)
            link = permalink.url(item.view)
            allowed = may_change(user, item.author_id)
            a, b = st.columns(2)
            if a.button("Open", key=f"open_{item.id}", type="primary", width="stretch",
                        help="Reopen this exact view"):
                permalink.open_view(ws.item_page(item), item.view)
            b.download_button("Report (HTML)", lambda item=item, link=link: item_html(item, link, ws.item_photo(item)),
                              file_name=f"workspace_item_{item.id}.html", mime="text/html", key=f"report_{item.id}",
                              width="stretch", on_click="ignore", help="This item as a standalone HTML page")
            c, d = st.columns(2)
            with c.popover("Edit", width="stretch", disabled=not allowed, key=f"edit_popover_{item.id}",
                           help=None if allowed else f"Only {item.author_name} or an admin can edit it"):
                ws.edit_form(store, item, user)
            if d.button("Delete", key=f"delete_{item.id}", width="stretch", disabled=not allowed,
                        help=None if allowed else f"Only {item.author_name} or an admin can delete it"):
                st.session_state["ws_confirm_delete"] = item.id
            if st.session_state.get("ws_confirm_delete") == item.id:
                ws.confirm_delete(store, item, user)
            st.markdown(f"[🔗 Link to this view]({link})")

if more and st.button("Show more"):
    st.session_state["ws_shown"] = shown + ws.PAGE_SIZE
    st.rerun()
