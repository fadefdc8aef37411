"""CAM and SeCAM dashboard: ``streamlit run dashboard.py``.

This file only routes. The sidebar is drawn here, before the page, so its
widgets (model, image, top-K...) are shared by every page. To add a page, add
one ``st.Page`` line to ``PAGES``.
"""

import streamlit as st

from ui import sidebar

st.set_page_config(page_title="CAM & SeCAM explorer", page_icon=":material/image_search:", layout="wide")

PAGES = [
    st.Page("pages/explain.py", title="Explain", icon=":material/image_search:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/method.py", title="Method", icon=":material/functions:"),
    st.Page("pages/models.py", title="Models", icon=":material/view_list:"),
]

page = st.navigation(PAGES)
sidebar.render()
page.run()
