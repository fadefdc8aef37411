"""The one call every page starts with: page config, navigation, the shared sidebar.

The dashboard uses Streamlit's native ``pages/`` folder (no ``st.navigation``),
so every script, ``dashboard.py`` (the Explain page, at ``/``) and each file in
``pages/`` (``/compare``, ``/batch``...), is a complete entry point: a deep
link opened as the very first request after a server restart runs this setup
like any other visit.

To add a page: put its script in ``pages/``, start it with
``selection = page.setup("Title")`` and add one line to :data:`NAV`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from . import sidebar, state
from .auth import require_login
from .state import Selection

#: Bundled, so no request leaves the machine for an icon font.
ICON = str(Path(__file__).parent / "assets" / "icon.png")

#: The sidebar's navigation, in order: (script, label, icon). Emoji icons need no font download.
NAV = [
    ("dashboard.py", "Explain", "🔍"),
    ("pages/compare.py", "Compare", "⚖️"),
    ("pages/batch.py", "Batch", "🗂️"),
    ("pages/method.py", "Method", "📐"),
    ("pages/models.py", "Models", "🧩"),
]


def setup(title: str) -> Selection:
    """Configure the page, draw the navigation and the shared sidebar; returns the sidebar's selection.

    Parameters
    ----------
    title : str
        The page's title, shown in the browser tab as ``title - CAM & SeCAM explorer``.

    Returns
    -------
    Selection
        What the sidebar chose (model, photo, top-K, SLIC parameters); its
        ``problem`` says why it cannot be used, see :func:`ui.state.require`.
    """
    st.set_page_config(page_title=f"{title} - CAM & SeCAM explorer", page_icon=ICON, layout="wide")
    require_login()  # when [auth] is configured: signed in and allowed, or the page stops here
    state.keep_sidebar_choices()
    with st.sidebar:
        for script, label, icon in NAV:
            st.page_link(script, label=label, icon=icon)
        st.divider()
    return sidebar.render()
