"""CAM and SeCAM dashboard: ``streamlit run dashboard.py``.

This file only routes. The sidebar is drawn here, before the page, so its
widgets (model, image, top-K...) are shared by every page. To add a page, put
its script in ``app_pages/`` and add one ``st.Page`` line to ``PAGES``.

The folder is ``app_pages/``, not ``pages/``: Streamlit still treats a folder
named ``pages`` next to the entry script as an old-style multipage app until
``st.navigation`` has run once in the process, so the first visit after a
restart to a deep link (``/compare``) would run that page without this file
and its sidebar (tests/test_dashboard.py guards against it).
"""

import streamlit as st

from ui import sidebar

st.set_page_config(page_title="CAM & SeCAM explorer", page_icon=":material/image_search:", layout="wide")

PAGES = [
    st.Page("app_pages/explain.py", title="Explain", icon=":material/image_search:", default=True),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("app_pages/batch.py", title="Batch", icon=":material/dataset:"),
    st.Page("app_pages/method.py", title="Method", icon=":material/functions:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/view_list:"),
]

page = st.navigation(PAGES)
sidebar.render()
page.run()
