"""What the Chromium tests share: the browser, a freshly started dashboard server, and waiting on a page.

A plain module (not a test file), imported like ``photos``: ``from browser import running_server, ...``.
Used by tests/test_browser.py, tests/test_login_browser.py, tests/test_review_browser.py and
tests/test_workspace_browser.py; each keeps its own server options (environment, extra arguments).

Without Chromium at /usr/bin/chromium (or without Playwright) :func:`require_browser` skips with the
reason; under ``CI=true`` it fails.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from collections.abc import Iterable, Iterator

import pytest

from photos import sample_dir

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
#: How long a page may take for anything (Playwright's default timeout, and :func:`wait_idle`'s).
TIMEOUT_MS = 120_000


def browser_problems() -> list[str]:
    """Why Chromium cannot be driven here (empty when it can)."""
    problems = []
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} not found: install it with `apt-get install -y chromium` (scripts/test.sh does as root)")
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        problems.append("the Python package `playwright` is not installed (pip install -r requirements.txt)")
    return problems


def require_browser(what: str = "the browser test", more_problems: Iterable[str] = ()) -> None:
    """Skip the test with the reasons it cannot run (Chromium, Playwright, ``more_problems``); fail under ``CI=true``."""
    problems = browser_problems() + list(more_problems)
    if problems:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {what} cannot run: " + "; ".join(problems))
        pytest.skip("; ".join(problems))


@contextlib.contextmanager
def launch_chromium():
    """Chromium, headless, through Playwright; closed afterwards. Call :func:`require_browser` first."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log_path: Path, what: str, expect: bytes | None = None,
              poll_s: float = 0.5) -> None:
    """Wait (90 s at most) until ``url`` answers (with ``expect``, stripped, if given); fail with the log's tail
    if ``proc`` exits or the time is up."""
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if expect is None or reply.read().strip() == expect:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            pytest.fail(f"{what} did not start (exit {proc.poll()}):\n{log_path.read_text()[-3000:]}")
        time.sleep(poll_s)


def stop(proc: subprocess.Popen) -> None:
    """Terminate ``proc``; kill it if it has not exited 15 s later."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def default_env(log_path: Path) -> dict[str, str]:
    """The dashboard's environment for tests/test_browser.py and tests/test_workspace_browser.py: this one's,
    with a workspace beside ``log_path`` unless ``EXPLAINERS_DATA_DIR`` is set (never the repository's data/),
    and ``EXPLAINERS_SAMPLE_DIR`` when the ImageNet sample is there (the Evaluate page suggests it)."""
    env = dict(os.environ)
    env.setdefault("EXPLAINERS_DATA_DIR", str(log_path.parent / "explainers-data"))
    if sample_dir() is not None:
        env["EXPLAINERS_SAMPLE_DIR"] = str(sample_dir())
    return env


class ServerURL(str):
    """The server's URL; ``pid`` is its process (to watch its CPU)."""

    pid: int


def cpu_seconds(pid: int) -> float:
    """CPU seconds ``pid`` has used so far, all its threads (user + system), from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_cpu_quiet(pid: int, within_s: float, busy_below: float = 0.3, window_s: float = 1.0) -> float:
    """Wait until ``pid`` uses less than ``busy_below`` of a core over ``window_s``; returns the seconds it took.

    Raises AssertionError if it is still busy after ``within_s``.
    """
    t0 = time.monotonic()
    while time.monotonic() - t0 < within_s:
        before = cpu_seconds(pid)
        time.sleep(window_s)
        if (cpu_seconds(pid) - before) / window_s < busy_below:
            return time.monotonic() - t0
    raise AssertionError(f"the server still used more than {busy_below:.0%} of a core {within_s:.0f} s later")


@contextlib.contextmanager
def running_server(log_path: Path, env: dict[str, str] | None = None, args: Iterable[str] = (),
                   port: int | None = None, append: bool = False, poll_s: float = 0.5) -> Iterator[ServerURL]:
    """`streamlit run dashboard.py` headless on ``port`` (a free one by default), freshly started; yields its URL.

    Parameters
    ----------
    log_path : Path
        Where the server's output goes (appended to when ``append``).
    env : dict of str to str, optional
        Its environment (``PYTHONUNBUFFERED=1`` is added); :func:`default_env` when None.
    args : iterable of str
        More ``streamlit run`` options, e.g. ``["--secrets.files", path]``.

    Afterwards the server is stopped and its log must hold no ``Traceback``.
    """
    port = port or free_port()
    env = {**(default_env(log_path) if env is None else env), "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "a" if append else "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", *args],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = ServerURL(f"http://127.0.0.1:{port}")
    url.pid = proc.pid
    try:
        wait_http(f"{url}/_stcore/health", proc, log_path, "streamlit", expect=b"ok", poll_s=poll_s)
        yield url
    finally:
        stop(proc)
        log.close()
        server_log = log_path.read_text()
        assert "Traceback" not in server_log, f"the server logged a traceback:\n{server_log[-3000:]}"


def wait_idle(page, settle_s: float = 1.0, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the app has finished its run (no 'running' indicator, no spinner) for ``settle_s``."""
    busy = '[data-testid="stStatusWidget"], [data-testid="stSpinner"], [data-testid="stSkeleton"]'
    deadline = time.time() + timeout_ms / 1000
    quiet_since = None
    while time.time() < deadline:
        if page.locator(busy).count() == 0:
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since >= settle_s:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(200)
    raise AssertionError("the app was still running after the timeout")


def assert_no_error(page, where: str) -> None:
    """No exception and no error box on ``page``; ``where`` names the step in the message."""
    for selector in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]'):
        found = page.locator(selector)
        assert found.count() == 0, f"{where}: error shown: {found.first.inner_text()[:500]}"
