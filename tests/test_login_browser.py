"""Sign-in on a team server, end to end: a real OpenID Connect provider, the dashboard, and Chromium.

The provider is panva's certified ``oidc-provider`` (``tests/oidc/provider.js``, installed by
``npm ci`` in ``tests/oidc``, which ``scripts/test.sh`` runs), started on a free loopback port with
two test accounts; the dashboard runs with a temporary secrets.toml (``--secrets.files``) whose
``[auth]`` points at it and whose ``[explainers]`` allows ``@example.org``.

* An anonymous visit to a deep link (``/compare?...``) is sent to the provider's sign-in page; after
  signing in, the browser lands back on ``/compare`` (query string kept) with the person's name and
  a "Sign out" button in the sidebar, and the page works.
* Someone outside the allow-list is refused with a page that names their address, shows none of the
  dashboard, and offers "Sign out", which ends the session at the provider.
* A sign-in that does not complete (the provider answers with an error) ends on a "Sign in" page
  with a button, not in a redirect loop.

Needs Node.js + npm (and ``tests/oidc/node_modules``) and Chromium at /usr/bin/chromium: without
them it skips with the reason; under ``CI=true`` it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from browser import ROOT, TIMEOUT_MS, free_port, launch_chromium, require_browser, running_server, stop, \
    wait_http, wait_idle

OIDC_DIR = ROOT / "tests" / "oidc"
CLIENT_ID, CLIENT_SECRET = "explainers-test", secrets.token_hex(16)  # hex: never starts with "-", which the provider would read as an option
ACCOUNTS = {"alice@example.org": "Alice Martin", "mallory@elsewhere.net": "Mallory Outsider"}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _require_tools() -> None:
    problems = []
    if shutil.which("node") is None:
        problems.append("Node.js (`node`) is not installed: it runs the test OpenID Connect provider")
    elif not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        problems.append(f"the provider's packages are not installed: run `npm ci` in {OIDC_DIR}")
    require_browser("the login browser test", problems)


@contextlib.contextmanager
def oidc_provider(tmp: Path, redirect_uri: str):
    """The real provider on a free loopback port; yields its issuer URL."""
    port = free_port()
    log_path = tmp / "provider.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["node", "provider.js", "--port", str(port), "--redirect-uri", redirect_uri, "--client-id", CLIENT_ID,
             f"--client-secret={CLIENT_SECRET}", "--accounts", json.dumps(ACCOUNTS)],
            cwd=OIDC_DIR, stdout=log, stderr=subprocess.STDOUT)
        issuer = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{issuer}/.well-known/openid-configuration", proc, log_path, "the OpenID Connect provider",
                      poll_s=0.3)
            yield issuer
        finally:
            stop(proc)


@contextlib.contextmanager
def dashboard_with_login(tmp: Path, port: int, issuer: str):
    """`streamlit run dashboard.py` with a temporary secrets.toml whose [auth] uses the provider."""
    secrets_file = tmp / "secrets.toml"
    secrets_file.write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{secrets.token_urlsafe(32)}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "{issuer}/.well-known/openid-configuration"

[explainers]
allowed = ["@example.org"]
admins = ["boss@example.org"]
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPLAINERS_ALLOWED") and k != "EXPLAINERS_ADMINS"}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", EXPLAINERS_DATA_DIR=str(tmp / "data"))
    with running_server(tmp / "server.log", env=env, args=["--secrets.files", str(secrets_file)], port=port,
                        poll_s=0.3) as url:
        yield url


@pytest.fixture(scope="module")
def login_server(tmp_path_factory):
    """The provider and the dashboard, wired to each other; yields (dashboard URL, issuer URL)."""
    _require_tools()
    tmp = tmp_path_factory.mktemp("login")
    port = free_port()
    with oidc_provider(tmp, f"http://127.0.0.1:{port}/oauth2callback") as issuer:
        with dashboard_with_login(tmp, port, issuer) as url:
            url.data_dir = tmp / "data"
            yield url, issuer


@pytest.fixture(scope="module")
def chromium():
    _require_tools()
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium, login_server):
    """A fresh browser context (no cookies: anonymous) that may talk to loopback only."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def sign_in_at_provider(page, issuer: str, email: str) -> None:
    """On the provider's own sign-in page (its origin, not the dashboard's), sign in as ``email``."""
    page.wait_for_url(f"{issuer}/interaction/**")
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Sign in").click()


def test_a_deep_link_needs_sign_in_and_comes_back_to_the_page(page, login_server):
    url, issuer = login_server
    page.goto(f"{url}/compare?from=deep-link")
    # Anonymous: sent to the provider, and no part of the dashboard was shown on the way.
    sign_in_at_provider(page, issuer, "alice@example.org")
    page.wait_for_url(f"{url}/compare?from=deep-link")
    page.get_by_role("heading", name="Compare two explanations").first.wait_for()
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Alice Martin").wait_for()
    assert sidebar.get_by_text("alice@example.org").count() == 1
    assert sidebar.get_by_role("button", name="Sign out").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('.js-plotly-plot').count() >= 1, "the Compare page did not draw its maps after sign-in"
    # Signed in: another deep link opens directly, in the same browser.
    page.goto(f"{url}/models")
    page.get_by_role("heading", name="Models").first.wait_for()
    assert page.locator('[data-testid="stSidebar"]').get_by_text("Alice Martin").count() == 1


def a_study(data_dir: Path) -> int:
    """A two-photo CAM vs SeCAM study created by someone else, in the login server's store."""
    from explainers import Condition
    from explainers_team.review.studies import Photo, build_study
    from explainers_team.store import Store, User
    from photos import skimage_photo

    with contextlib.closing(Store(None, data_dir)) as store:
        return build_study(store, creator=User("boss@example.org", "Boss", True), name="Pets", question="Which "
                           "map shows better why the model says {label}?",
                           condition_a=Condition.make("efficientnet_lite0", "cam"),
                           condition_b=Condition.make("efficientnet_lite0", "secam"),
                           photos=[Photo(f"{n}.png", skimage_photo(n).read_bytes()) for n in ("chelsea", "coffee")],
                           measure=False)


def test_an_anonymous_review_link_goes_to_the_provider_and_back_to_the_trial(page, login_server):
    url, issuer = login_server
    study = a_study(url.data_dir)
    page.goto(f"{url}/review?study={study}")
    # Anonymous: the blind trial view is not shown, and no name can be typed; the provider asks who it is.
    sign_in_at_provider(page, issuer, "alice@example.org")
    page.wait_for_url(f"{url}/review?study={study}")
    page.get_by_text("Trial 1 of 2").first.wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_label("Your name").count() == 0  # signed in: the login is the reviewer, never a typed name
    assert page.locator('[data-testid="stImage"]').count() >= 2, "the trial's maps were not drawn after sign-in"
    assert page.get_by_role("button", name="Left is better").count() == 1


def test_someone_outside_the_allow_list_is_refused(page, login_server):
    url, issuer = login_server
    page.goto(f"{url}/evaluate")
    sign_in_at_provider(page, issuer, "mallory@elsewhere.net")
    page.get_by_role("heading", name="Access refused").wait_for()
    wait_idle(page)
    body = page.inner_text("body")
    assert "mallory@elsewhere.net, which is not on this server's allow-list" in body, body
    # Nothing of the dashboard: no navigation, no page content, no photo.
    assert page.locator('[data-testid="stPageLink-NavLink"]').count() == 0
    assert "Evaluate methods" not in body and "chelsea" not in body
    # Signing out ends the session at the provider (its end-session endpoint).
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{issuer}/session/end**")


def test_a_sign_in_that_fails_offers_a_button_instead_of_looping(page, login_server):
    url, issuer = login_server
    page.goto(f"{url}/method")
    page.wait_for_url(f"{issuer}/interaction/**")
    # The person gives up: the provider answers the dashboard's callback with an error.
    page.goto(f"{url}/oauth2callback?error=access_denied&error_description=cancelled&state=x")
    page.get_by_text("The last sign-in did not complete").wait_for()
    assert page.get_by_role("heading", name="Sign in").count() == 1
    assert page.url.startswith(url), "the dashboard sent the browser away again: a redirect loop"
    page.get_by_role("button", name="Sign in").click()
    sign_in_at_provider(page, issuer, "alice@example.org")
    page.wait_for_url(f"{url}/method")
    page.locator('[data-testid="stSidebar"]').get_by_text("Alice Martin").wait_for()
