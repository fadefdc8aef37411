"""Who is using the dashboard: the one identity the Workspace and the Review share.

* Login configured (``[auth]`` in the secrets): the signed-in person (:func:`ui.app.auth.current_user`), and
  nobody else: a typed name is never an identity then, whatever a cookie says.
* No login (the local tool): the name typed once per browser, kept in one cookie (:data:`COOKIE`) for
  a year; a label anyone can type, with no admin rights (:meth:`explainers_team.access.AccessPolicy.user`).
"""

from __future__ import annotations

import urllib.parse

import streamlit as st

from explainers import ParameterError
from explainers_team.access import AccessPolicy, User

from . import auth
from ..text import md, script_json

#: The one cookie that remembers the name a person typed (no login), for the Workspace and the Review.
COOKIE = "explainers_name"
#: Cookies of earlier versions (one per page), read once so nobody has to type their name again.
OLD_COOKIES = ("explainers_author", "explainers_reviewer")
#: Longest name accepted.
MAX_NAME = 100
_NAME, _WRITE = "_identity_name", "_identity_cookie"


def current_user() -> User | None:
    """The signed-in person with login, else the typed name (no admin rights), else None."""
    if auth.auth_configured():
        return auth.current_user()
    name = typed_name()
    return AccessPolicy.user(name) if name else None


def signed_in() -> bool:
    """Whether the identity comes from a login (then no name is asked for)."""
    return auth.auth_configured() and auth.current_user() is not None


def _cookie(name: str) -> str | None:
    try:
        raw = st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no cookies outside a browser session (AppTest, bare mode)
        return None
    value = urllib.parse.unquote(raw).strip() if isinstance(raw, str) else ""
    return value[:MAX_NAME] or None


def typed_name() -> str | None:
    """The name this browser gave: this session's, else the cookie's, else None (never used with login)."""
    if _NAME in st.session_state:
        return st.session_state[_NAME] or None
    for cookie in (COOKIE, *OLD_COOKIES):
        found = _cookie(cookie)
        if found:
            st.session_state[_NAME] = found
            if cookie != COOKIE:
                st.session_state[_WRITE] = True  # move it to the one cookie
            return found
    return None


def check_name(name: str) -> str:
    """A typed name, whitespace collapsed; raises ParameterError saying what to type."""
    name = " ".join((name or "").split())
    if not name:
        raise ParameterError("type your name (or initials) first; this browser remembers it")
    if len(name) > MAX_NAME:
        raise ParameterError(f"that name is {len(name)} characters long; use at most {MAX_NAME}")
    return name


def remember_name(name: str) -> None:
    """Use ``name`` from now on in this browser (the cookie is written by :func:`sync_cookie`)."""
    st.session_state[_NAME] = check_name(name)
    st.session_state[_WRITE] = True


def forget_name() -> None:
    """Stop using the typed name in this browser (the cookie is cleared by :func:`sync_cookie`)."""
    st.session_state[_NAME] = ""
    st.session_state[_WRITE] = True


def sync_cookie() -> None:
    """Write (or clear) the name cookie when this run changed the name: a few lines of script in the page."""
    if not st.session_state.pop(_WRITE, False) or auth.auth_configured():
        return
    name = st.session_state.get(_NAME) or ""
    age = 400 * 24 * 3600 if name else 0
    clear_old = "".join(f"document.cookie = {script_json(old + '=; path=/; max-age=0; SameSite=Lax')};"
                        for old in OLD_COOKIES)
    st.html(f"<script>document.cookie = {script_json(COOKIE + '=')} + encodeURIComponent({script_json(name)}) + "
            f"{script_json(f'; path=/; max-age={age}; SameSite=Lax')};{clear_old}</script>",
            unsafe_allow_javascript=True)


def name_form(container=st, key: str = "identity", action: str = "Saving") -> User | None:
    """Who you are, in one line: the signed-in person, or the typed name with "Change", or a field to type it.

    Returns
    -------
    User or None
        None until a name is given (without login).
    """
    if auth.auth_configured():
        user = auth.current_user()
        if user is not None:
            container.caption(f"{action} as **{md(user.name)}** ({md(user.id)}), signed in.")
        return user
    name = typed_name()
    if name and not st.session_state.get(f"_{key}_editing"):
        line, change = container.columns([4, 1], vertical_alignment="center")
        line.caption(f"{action} as **{md(name)}** (remembered in this browser).")
        if change.button("Not you?", key=f"{key}_change"):
            st.session_state[f"_{key}_editing"] = True
            st.rerun()
        return AccessPolicy.user(name)
    with container.form(f"{key}_form", border=False):
        typed = st.text_input("Your name (asked once; this browser remembers it)", value=name or "",
                              max_chars=MAX_NAME, key=f"{key}_input",
                              help="Recorded with what you save and answer. With a login, the signed-in "
                                   "identity is used instead.")
        remember = st.form_submit_button("Continue", type="primary")
    if remember:
        try:
            remember_name(typed)
        except ParameterError as exc:
            container.warning(md(exc))
            return None
        st.session_state.pop(f"_{key}_editing", None)
        st.rerun()
    return None
