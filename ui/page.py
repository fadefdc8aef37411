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

from . import permalink, session, sidebar
from .session import Selection
from .auth import require_login

#: Bundled, so no request leaves the machine for an icon font.
ICON = str(Path(__file__).parent / "assets" / "icon.png")

#: The sidebar's navigation, in order: (script, label, icon). Emoji icons need no font download.
NAV = [
    ("dashboard.py", "Explain", "🔍"),
    ("pages/compare.py", "Compare", "⚖️"),
    ("pages/batch.py", "Batch", "🗂️"),
    ("pages/method.py", "Method", "📐"),
    ("pages/models.py", "Models", "🧩"),
    ("pages/workspace.py", "Workspace", "🗃️"),
    ("pages/review.py", "Review", "🗳️"),
]


#: Less padding around the page than Streamlit's default, so the maps get the width (``wide`` pages).
_WIDE_CSS = """<style>
[data-testid="stMainBlockContainer"] {padding-left: 1.25rem; padding-right: 1.25rem; padding-top: 2.5rem;}
</style>"""


def setup(title: str, *, script: str = "dashboard.py", wide: bool = False) -> Selection:
    """Configure the page, draw the navigation and the shared sidebar; returns the sidebar's selection.

    Parameters
    ----------
    title : str
        The page's title, shown in the browser tab as ``title - CAM & SeCAM explorer``.
    script : str
        The page's script (``pages/compare.py``): recorded in the session key ``page``.
    wide : bool
        Narrow margins, and the sidebar starts collapsed (pages whose maps need the width).

    Returns
    -------
    Selection
        What the sidebar chose (model, photo, top-K, SLIC parameters); its
        ``problem`` says why it cannot be used, see :func:`ui.session.require`.
    """
    st.set_page_config(page_title=f"{title} - CAM & SeCAM explorer", page_icon=ICON, layout="wide",
                       initial_sidebar_state="collapsed" if wide else "auto")
    require_login()  # when [auth] is configured: signed in and allowed, or the page stops here
    if wide:
        st.html(_WIDE_CSS)
    # the view in the URL (Explain, Compare) goes into the session before any widget is drawn
    view = permalink.restore(script)
    session.keep_sidebar_choices()
    st.session_state["page"] = script
    with st.sidebar:
        for path, label, icon in NAV:
            st.page_link(path, label=label, icon=icon)
        st.divider()
    permalink.show_notes()
    if view is not None:
        permalink.reserve_share_box()
    return sidebar.render()
