"""Sign-in for a team server: Streamlit's OpenID Connect login, the allow-list, and who is signed in.

:func:`require_login` is called by ``ui.page.setup`` at the start of every page, so every page,
deep links included, needs a signed-in and allowed person once login is configured:

* No ``[auth]`` table in ``.streamlit/secrets.toml``: nothing changes, it returns None (the local
  single-user dashboard, as before).
* Not signed in: the browser is sent to the identity provider (``st.login``); after signing in it
  comes back to the page it asked for (Streamlit's callback always lands on ``/``, so the page and
  its query string are remembered, per browser, for a few minutes). If a sign-in does not complete
  (cancelled, refused by the provider), the page shows a "Sign in" button instead of looping.
* Signed in but not on the allow-list (``explainers_team.access``): a refusal page that says why, with a
  "Sign out" button; nothing else of the dashboard is shown.
* Signed in and allowed: the sidebar shows the name, the address, "admin" when listed, and a
  "Sign out" button; it returns the :class:`~explainers_team.access.User`.

Configuration errors (a secrets file that does not parse, a malformed allow-list, an incomplete
``[auth]`` table) stop every page with a message that names the setting: login fails closed.
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import streamlit as st
from streamlit.errors import StreamlitAuthError

from explainers_team.access import AccessConfigError, AccessDenied, AccessPolicy, User

from .. import APP_DIR
from ..text import md

log = logging.getLogger(__name__)

MAIN_SCRIPT = "dashboard.py"
#: Streamlit's XSRF cookie: always set when ``[auth]`` is configured; its token is stable per browser.
XSRF_COOKIE = "_streamlit_xsrf"
#: How long a page asked for before signing in is remembered, and for how many browsers at most.
RETURN_TTL_S = 600
RETURN_MAX = 10_000
#: A sign-in started less than this ago that came back without a user did not complete: no loop.
RETRY_WINDOW_S = 60
#: What Streamlit's login needs in ``[auth]``, and in each provider's table (or ``[auth]`` itself for one).
AUTH_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
README_HINT = "see the README, section 'Team server: sign-in, allow-list, server folders'"


@dataclass
class _Return:
    """Where a browser was going when it was sent to sign in."""

    script: str
    query: dict[str, list[str]]
    started: float


_returns: dict[str, _Return] = {}
_returns_lock = threading.Lock()


def auth_configured() -> bool:
    """Whether login is on: the secrets have an ``[auth]`` table (stops the page if they do not parse)."""
    return bool(_secrets().get("auth"))


def require_login() -> User | None:
    """Make sure a signed-in, allowed person is using this page; the one call of ``ui.page.setup``.

    Returns
    -------
    User or None
        The signed-in person; None when login is not configured (local single-user mode).
        Anyone else never gets past this call: the page stops after showing the sign-in
        redirect, the refusal page or the configuration error.
    """
    secrets = _secrets()
    if not secrets.get("auth"):
        return None
    policy = _policy(secrets)
    providers = _providers(secrets["auth"])
    _check_auth(secrets["auth"], providers)
    if not st.user.is_logged_in:
        _sign_in(providers)
        st.stop()
    try:
        identity = policy.authorize(st.user.to_dict())
    except AccessDenied as denied:
        _forget_return()
        _refusal(str(denied))
        st.stop()
    _return_to_requested_page()
    _sidebar(identity)
    return identity


def current_user() -> User | None:
    """The signed-in, allowed person of this session, or None (login off, not signed in, or refused).

    For the parts that record who did something (the workspace, the reviews). It stops the page only
    on a configuration error, which :func:`require_login` has already reported at the top of the page.
    """
    secrets = _secrets()
    if not secrets.get("auth") or not st.user.is_logged_in:
        return None
    try:
        return _policy(secrets).authorize(st.user.to_dict())
    except AccessDenied:
        return None


# -- configuration ----------------------------------------------------------------------------
def _secrets() -> dict:
    """The secrets as a dict; {} when there is no secrets file; stops the page if one does not parse."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError as error:  # StreamlitSecretNotFoundError: none found, or one does not parse
        files = [Path(p) for p in st.get_option("secrets.files") or []]
        present = [str(p) for p in files if p.exists()]
        if not present:
            return {}
        _stop_misconfigured(f"the secrets ({', '.join(present)}) cannot be read: {error}. Fix the file; "
                            "until then no page is served, because it may hold the login settings.")


def _policy(secrets: dict) -> AccessPolicy:
    section = secrets.get("explainers")
    if section is not None and not isinstance(section, dict):
        _stop_misconfigured("`explainers` in secrets.toml must be a table: [explainers] with allowed = [...]")
    try:
        return AccessPolicy.from_config(section, os.environ)
    except AccessConfigError as error:
        _stop_misconfigured(str(error))


def _providers(auth: dict) -> list[str | None]:
    """The providers to offer: None for a single provider configured directly in ``[auth]``."""
    if not isinstance(auth, dict):
        _stop_misconfigured("`auth` in secrets.toml must be a table: [auth] with client_id, redirect_uri...")
    if "client_id" in auth:
        return [None]
    providers = [name for name, value in auth.items() if isinstance(value, dict)]
    if not providers:
        _stop_misconfigured("[auth] in secrets.toml has neither client_id nor a provider table such as [auth.google]")
    return providers


def _check_auth(auth: dict, providers: list[str | None]) -> None:
    """Stop with the missing keys of ``[auth]`` now, rather than when someone tries to sign in."""
    missing = [f"[auth] {key}" for key in AUTH_KEYS if not auth.get(key)]
    for provider in providers:
        table = auth if provider is None else auth[provider]
        where = "[auth]" if provider is None else f"[auth.{provider}]"
        missing += [f"{where} {key}" for key in PROVIDER_KEYS if not table.get(key)]
    if missing:
        _stop_misconfigured(f"the login settings in secrets.toml lack {', '.join(missing)}")


def _stop_misconfigured(problem: str) -> None:
    st.title("This server's sign-in is misconfigured")
    st.error(md(problem))
    st.caption(f"For the operator: {README_HINT}.")
    st.stop()


# -- signing in --------------------------------------------------------------------------------
def _login(provider: str | None) -> None:
    try:
        st.login(provider) if provider else st.login()
    except StreamlitAuthError as error:  # [auth] lacks client_id, redirect_uri, cookie_secret...
        _stop_misconfigured(f"the [auth] table of secrets.toml is incomplete or wrong: {error}")


def _sign_in(providers: list[str | None]) -> None:
    """Send the browser to the identity provider, remembering this page; or offer buttons if that failed."""
    key = _browser_key()
    with _returns_lock:
        previous = _returns.get(key) if key else None
    came_back = previous is not None and time.time() - previous.started < RETRY_WINDOW_S
    if key and len(providers) == 1 and not came_back:
        _remember_return(key)
        _login(providers[0])
        st.info("Taking you to the sign-in page...")
        return
    st.title("Sign in")
    if came_back:
        st.warning("The last sign-in did not complete (it was cancelled, or the identity provider refused it). "
                   "Try again; if it keeps failing, the server's log says why.")
    st.write("This dashboard is shared by a team: sign in to use it.")
    for provider in providers:
        label = f"Sign in with {provider}" if provider else "Sign in"
        if st.button(label, key=f"sign_in_{provider or 'default'}", type="primary"):
            if key:
                _remember_return(key)
            _login(provider)


def _browser_key() -> str | None:
    """A stable, private key for this browser: the hash of its XSRF token (None without the cookie)."""
    raw = st.context.cookies.get(XSRF_COOKIE)
    if not isinstance(raw, str) or not raw.strip("\"'"):
        return None
    raw = raw.strip("\"'")
    token = raw.encode()
    parts = raw.split("|")
    if len(parts) == 4 and parts[0] == "2":  # 2|mask|masked token|timestamp: the mask changes per response
        try:
            mask, masked = binascii.a2b_hex(parts[1]), binascii.a2b_hex(parts[2])
            token = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked)) + parts[3].encode()
        except (binascii.Error, ValueError, ZeroDivisionError):
            pass
    return hashlib.sha256(token).hexdigest()


def _page_script(url: str | None) -> str:
    """The script of a page URL (``/compare`` -> ``pages/compare.py``), or the main script."""
    path = urlparse(url or "").path
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    parts = [p for p in path.split("/") if p]
    if base and parts[: len(base.split("/"))] == base.split("/"):
        parts = parts[len(base.split("/")):]
    if len(parts) == 1 and re.fullmatch(r"[A-Za-z0-9_-]+", parts[0]):
        if (APP_DIR / "pages" / f"{parts[0]}.py").is_file():
            return f"pages/{parts[0]}.py"
    return MAIN_SCRIPT


def _remember_return(key: str) -> None:
    """Remember this page for the browser ``key``; a retry keeps the page first asked for."""
    query = {name: st.query_params.get_all(name) for name in st.query_params}
    target = _Return(_page_script(st.context.url), query, time.time())
    with _returns_lock:
        now = time.time()
        previous = _returns.pop(key, None)
        if previous is not None and now - previous.started <= RETURN_TTL_S:
            target.script, target.query = previous.script, previous.query
        for stale in [k for k, r in _returns.items() if now - r.started > RETURN_TTL_S]:
            del _returns[stale]
        while len(_returns) >= RETURN_MAX:
            del _returns[next(iter(_returns))]
        _returns[key] = target


def _forget_return() -> _Return | None:
    key = _browser_key()
    if key is None:
        return None
    with _returns_lock:
        target = _returns.pop(key, None)
    if target is not None and time.time() - target.started > RETURN_TTL_S:
        return None
    return target


def _return_to_requested_page() -> None:
    """Right after signing in (on ``/``), go on to the page that was asked for, with its query string."""
    target = _forget_return()
    if target is None:
        return
    if target.script != _page_script(st.context.url):
        st.switch_page(target.script, query_params=target.query or None)
    elif target.query and not st.query_params:
        st.query_params.from_dict(target.query)


# -- what a signed-in person sees ----------------------------------------------------------------
def _refusal(reason: str) -> None:
    st.title("Access refused")
    st.error(md(reason[:1].upper() + reason[1:] + "."))
    st.write("Signing out lets you sign in with another account.")
    if st.button("Sign out", type="primary", key="sign_out_refused"):
        st.logout()


def _sidebar(identity: User) -> None:
    with st.sidebar:
        badge = " · admin" if identity.is_admin else ""
        st.markdown(f"**{md(identity.name)}**{badge}  \n{md(identity.id)}")
        if st.button("Sign out", key="sign_out"):
            st.logout()
        st.divider()
