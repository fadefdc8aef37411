"""ui.auth without a browser (AppTest): what each kind of visitor sees when login is configured.

The whole OpenID Connect flow against a real provider is in tests/test_login_browser.py; here
the signed-in user is seeded with ``AppTest.user`` to check each branch quickly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shown
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import streamlit as st
from ui.app.auth import current_user, require_login

identity = require_login()
st.write(f"PAGE CONTENT for {identity!r}; current {current_user()!r}")
"""

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "explainers", "client_secret": "s", "server_metadata_url":
        "http://127.0.0.1:1/.well-known/openid-configuration"}
POLICY = {"allowed": ["@example.org"], "admins": ["boss@example.org"]}


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch):
    monkeypatch.delenv("EXPLAINERS_ALLOWED", raising=False)
    monkeypatch.delenv("EXPLAINERS_ADMINS", raising=False)
    monkeypatch.chdir(ROOT)


def run(secrets: dict | None, user: dict | None = None) -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=30)
    if secrets:
        at.secrets.update(secrets)
    at.user = user if user is not None else {"is_logged_in": False}
    return at.run()


def text(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.title, *at.markdown, *at.error, *at.warning, *at.info])


def test_without_auth_the_page_is_served_as_before():
    at = run(None)
    assert not at.exception
    assert "PAGE CONTENT for None; current None" in text(at)
    assert not at.sidebar.button


def test_an_allowed_user_gets_the_page_and_their_name_in_the_sidebar():
    at = run({"auth": AUTH, "explainers": POLICY},
             {"is_logged_in": True, "email": "Alice@Example.org", "name": "Alice Martin", "email_verified": True})
    assert not at.exception
    assert "PAGE CONTENT for User(id='alice@example.org', name='Alice Martin', is_admin=False)" in text(at)
    assert "current User(id='alice@example.org'" in text(at)
    sidebar = " ".join(shown(m.value) for m in at.sidebar.markdown)
    assert "Alice Martin" in sidebar and "alice@example" in sidebar and "admin" not in sidebar
    assert [b.label for b in at.sidebar.button] == ["Sign out"]


def test_an_admin_is_marked_as_such():
    at = run({"auth": AUTH, "explainers": POLICY}, {"is_logged_in": True, "email": "boss@example.org", "name": "Boss"})
    assert "is_admin=True" in text(at)
    assert "admin" in " ".join(shown(m.value) for m in at.sidebar.markdown)


def test_someone_outside_the_allow_list_is_refused_and_can_sign_out():
    at = run({"auth": AUTH, "explainers": POLICY},
             {"is_logged_in": True, "email": "mallory@elsewhere.net", "name": "Mallory"})
    assert not at.exception
    assert [shown(t.value) for t in at.title] == ["Access refused"]
    assert "mallory@elsewhere.net, which is not on this server's allow-list" in shown(at.error[0].value)
    assert "PAGE CONTENT" not in text(at)
    assert [b.label for b in at.button] == ["Sign out"]
    at.button[0].click().run()  # st.logout: the seeded user is cleared, the page asks to sign in again
    assert "PAGE CONTENT" not in text(at) and not at.exception


def test_an_unverified_address_is_refused():
    at = run({"auth": AUTH, "explainers": POLICY},
             {"is_logged_in": True, "email": "alice@example.org", "email_verified": False})
    assert "is not verified" in shown(at.error[0].value) and "PAGE CONTENT" not in text(at)


def test_an_anonymous_visitor_without_a_browser_key_gets_a_sign_in_button():
    at = run({"auth": AUTH, "explainers": POLICY})
    assert not at.exception
    assert [shown(t.value) for t in at.title] == ["Sign in"] and "PAGE CONTENT" not in text(at)
    assert [b.label for b in at.button] == ["Sign in"]


def test_one_button_per_named_provider():
    auth = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
            "google": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
            "okta": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}}
    at = run({"auth": auth, "explainers": POLICY})
    assert [b.label for b in at.button] == ["Sign in with google", "Sign in with okta"]


def test_the_environment_replaces_the_allow_list(monkeypatch):
    monkeypatch.setenv("EXPLAINERS_ALLOWED", "mallory@elsewhere.net")
    at = run({"auth": AUTH, "explainers": POLICY}, {"is_logged_in": True, "email": "mallory@elsewhere.net"})
    assert "PAGE CONTENT for User(id='mallory@elsewhere.net'" in text(at)
    at = run({"auth": AUTH, "explainers": POLICY}, {"is_logged_in": True, "email": "alice@example.org"})
    assert [shown(t.value) for t in at.title] == ["Access refused"]


@pytest.mark.parametrize("secrets, message", [
    ({"auth": AUTH, "explainers": {"allow": ["@example.org"]}}, "unknown key(s) 'allow'"),
    ({"auth": AUTH, "explainers": {"allowed": ["example.org"]}}, "write '@example.org'"),
    ({"auth": AUTH, "explainers": {"admins": ["@example.org"]}}, "admins must be single addresses"),
    ({"auth": AUTH, "explainers": "alice@example.org"}, "must be a table"),
    ({"auth": {"cookie_secret": "x" * 32}, "explainers": POLICY}, "neither client_id nor a provider table"),
])
def test_a_misconfiguration_stops_every_page_with_the_fix(secrets, message):
    at = run(secrets, {"is_logged_in": True, "email": "alice@example.org"})
    assert not at.exception
    assert [shown(t.value) for t in at.title] == ["This server's sign-in is misconfigured"]
    assert message in shown(at.error[0].value), shown(at.error[0].value)
    assert "PAGE CONTENT" not in text(at)


@pytest.mark.parametrize("drop, message", [
    ("redirect_uri", "lack [auth] redirect_uri"), ("cookie_secret", "lack [auth] cookie_secret"),
    ("server_metadata_url", "lack [auth] server_metadata_url"), ("client_id", "neither client_id nor a provider table"),
])
def test_an_incomplete_auth_table_names_the_missing_key_on_every_page(drop, message):
    auth = {k: v for k, v in AUTH.items() if k != drop}
    at = run({"auth": auth, "explainers": POLICY})  # anonymous: stopped before any redirect
    assert [shown(t.value) for t in at.title] == ["This server's sign-in is misconfigured"]
    assert message in shown(at.error[0].value)
    named = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"], "okta": {"client_id": "x"}}
    at = run({"auth": named, "explainers": POLICY}, {"is_logged_in": True, "email": "alice@example.org"})
    assert "[auth.okta] client_secret, [auth.okta] server_metadata_url" in shown(at.error[0].value)


def test_a_secrets_file_that_does_not_parse_stops_every_page(monkeypatch, tmp_path):
    """Fail closed: a typo in secrets.toml must not silently turn the login off."""
    import streamlit as st

    broken = tmp_path / "secrets.toml"
    broken.write_text("[auth\nclient_id = 'x'\n")

    class Unreadable:
        def to_dict(self):
            raise FileNotFoundError(f"Error parsing secrets file at {broken}: Expected ']'")

    get_option = st.get_option
    monkeypatch.setattr(st, "secrets", Unreadable())
    monkeypatch.setattr(st, "get_option", lambda key: [str(broken)] if key == "secrets.files" else get_option(key))
    at = run(None)
    assert [shown(t.value) for t in at.title] == ["This server's sign-in is misconfigured"]
    assert f"the secrets ({broken}) cannot be read" in shown(at.error[0].value)
    assert "PAGE CONTENT" not in text(at)
    # No secrets file at all: the local default.
    monkeypatch.setattr(st, "get_option", lambda key: [str(tmp_path / "none.toml")] if key == "secrets.files"
                        else get_option(key))
    assert "PAGE CONTENT for None" in text(run(None))
