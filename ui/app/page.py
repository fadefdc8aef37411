"""The one call every page starts with: page config, the login gate, the view in the URL, navigation, sidebar.

The dashboard uses Streamlit's native ``pages/`` folder (no ``st.navigation``),
so every script, ``dashboard.py`` (the Explain page, at ``/``) and each file in
``pages/`` (``/compare``, ``/evaluate``...), is a complete entry point: a deep
link opened as the very first request after a server restart runs this setup
like any other visit, and so does the blind trial view of a review link.

To add a page: put its script in ``pages/``, start it with
``selection = page.setup("Title", script="pages/NAME.py")`` and add one line to :data:`NAV`.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from explainers_team.settings import ENV_DATA_DIR

from .. import APP_DIR
from . import identity, permalink, session, sidebar
from ..compute import jobs
from .auth import current_user, require_login
from .session import Selection

#: Bundled, so no request leaves the machine for an icon.
ICON = str(Path(__file__).resolve().parents[1] / "assets" / "icon.png")

#: The sidebar's navigation, in order: (script, label, icon). Material icons ship with Streamlit (no font download,
#: no emoji font needed).
NAV = [
    ("dashboard.py", "Explain", ":material/search:"),
    ("pages/compare.py", "Compare", ":material/compare:"),
    ("pages/evaluate.py", "Evaluate", ":material/fact_check:"),
    ("pages/method.py", "Method", ":material/functions:"),
    ("pages/models.py", "Models", ":material/view_in_ar:"),
    ("pages/workspace.py", "Workspace", ":material/bookmarks:"),
    ("pages/review.py", "Review", ":material/how_to_vote:"),
]
#: Title of the browser tab.
APP_TITLE = "CAM & SeCAM explorer"

#: Every page: the content starts just below Streamlit's top bar (3.75rem), never under it, with a compact title.
_PAGE_CSS = """<style>
[data-testid="stMainBlockContainer"] {padding-top: 4.25rem; padding-bottom: 3rem;}
.st-key-page_head h1 {font-size: 2rem; padding: 0.1rem 0 0.25rem 0;}
</style>"""
#: Less padding at the sides, so the maps get the width (``wide`` pages).
_WIDE_CSS = """<style>
[data-testid="stMainBlockContainer"] {padding-left: 1.25rem; padding-right: 1.25rem;}
</style>"""


def setup(title: str, *, script: str = "dashboard.py", wide: bool = False, blind: bool = False,
          heading: str | None = None) -> Selection:
    """Configure the page, check the login, draw the navigation and the shared sidebar; returns its selection.

    Parameters
    ----------
    title : str
        The page's title, shown in the browser tab as ``title - CAM & SeCAM explorer``.
    script : str
        The page's script (``pages/compare.py``): recorded in the session key ``page``.
    wide : bool
        Narrow margins, and the sidebar starts collapsed (pages whose maps need the width).
    blind : bool
        A review trial: the same gate, but a neutral tab title and no shared sidebar (its model picker
        would name the model).
    heading : str, optional
        The page's title, drawn by the setup: on a page with a view in the URL (Explain, Compare) the
        share row ("Copy link", "Link", "Save to workspace") sits on the same line, right of it.

    Returns
    -------
    Selection
        What the sidebar chose (model, photo, top-K, SLIC parameters); its ``problem`` says why it cannot
        be used (see :func:`ui.app.session.require`). For a ``blind`` page, a selection with no model.
    """
    os.environ.setdefault(ENV_DATA_DIR, str(APP_DIR / "data"))
    st.set_page_config(page_title=title if blind else f"{title} - {APP_TITLE}", page_icon=ICON, layout="wide",
                       initial_sidebar_state="collapsed" if wide else "auto")
    require_login()  # when [auth] is configured: signed in and allowed, or the page stops here
    user = current_user()
    st.session_state[jobs.OWNER_KEY] = f"user:{user.id}" if user is not None else None  # one slow job per person
    identity.sync_cookie()
    st.html(_PAGE_CSS + (_WIDE_CSS if wide else ""))
    # the view in the URL (Explain, Compare) goes into the session before any widget is drawn
    view = None if blind else permalink.restore(script)
    session.keep_sidebar_choices()
    st.session_state["page"] = script
    with st.sidebar:
        for path, label, icon in NAV:
            st.page_link(path, label=label, icon=icon)
        st.divider()
    if blind:
        return Selection(model_name=str(st.session_state.get("model_name", session.DEFAULT_MODEL)), image_key=None,
                         image_name=None, topk=1, n_segments=0, compactness=0.0, problem="a blind review trial")
    if heading is not None:  # one line: the title, and on a view's page the share row at its right (wraps below)
        with st.container(key="page_head", horizontal=True, vertical_alignment="center", gap="medium"):
            st.title(heading, anchor=False, width="content")
            if view is not None:
                st.space("stretch")
                permalink.reserve_share_box()
    permalink.show_notes()
    return sidebar.render()
