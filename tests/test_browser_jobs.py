"""Slow work in a real browser: progress with an estimate, Cancel, and no work left behind.

A LIME explanation with 2,000 samples (the shared server's maximum) opens on the Compare page with its
quick map (100 samples); Refine runs the full one while Chromium watches: the progress bar moves and
says how long is left; Cancel stops it, the quick map comes back and the server's CPU falls back within
seconds; a tab closed mid-run leaves no work behind either (the job notices
that nobody looks at it any more). Without Chromium the test skips with the reason; under ``CI=true``
it fails.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from browser import TIMEOUT_MS, launch_chromium, require_browser, running_server, wait_cpu_quiet, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PROGRESS = re.compile(r"LIME \(2001 images through the model\): (\d+) %, about (\d+) s left")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser("the jobs browser test")
    with running_server(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    require_browser("the jobs browser test")
    with launch_chromium() as browser:
        yield browser


def lime_link(server, seed: int, refined: bool = True) -> str:
    """Compare with B = LIME at 2,000 samples; ``refined``: the full setting at once (else the quick map first)."""
    params = json.dumps({"lime": {"num_samples": 2000, "seed": seed}}, separators=(",", ":"))
    return (f"{server}/compare?page=compare&a_method=cam&b_method=lime&params={quote(params)}"
            f"&refined={int(refined)}")


def progress_of(page) -> tuple[int, int]:
    """The bar's (percent, seconds left), once it says both."""
    bar = page.get_by_text(PROGRESS).first
    bar.wait_for(timeout=TIMEOUT_MS)
    found = PROGRESS.search(bar.inner_text())
    return int(found.group(1)), int(found.group(2))


def wait_percent_above(page, percent: int) -> int:
    for _ in range(600):
        try:
            now, _ = progress_of(page)
        except Exception:  # noqa: BLE001 - the bar was being redrawn
            now = -1
        if now > percent:
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"the progress never went above {percent} %")


def test_lime_starts_quick_then_refine_shows_progress_and_cancel_stops_the_work(server, chromium):
    page = chromium.new_page(viewport={"width": 1500, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(lime_link(server, seed=1, refined=False))
    page.get_by_text(re.compile(r"quick \(100 samples\): a first look")).first.wait_for()  # the quick map
    wait_idle(page)
    page.get_by_role("button", name="Refine").click()
    first, left = progress_of(page)
    assert left >= 1  # an estimate is shown from the start
    later = wait_percent_above(page, max(first, 1))
    assert later > first  # the bar moves
    page.get_by_role("button", name="Cancel").click()
    wait_cpu_quiet(server.pid, within_s=15)
    wait_idle(page)
    page.get_by_role("button", name="Refine").wait_for()  # back to the quick map; nothing restarts on its own
    assert page.get_by_text(PROGRESS).count() == 0
    page.close()


def test_a_closed_tab_leaves_no_work_behind(server, chromium):
    page = chromium.new_page(viewport={"width": 1500, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(lime_link(server, seed=2))
    wait_percent_above(page, 0)
    page.close()  # mid-run: the job notices nobody waits for it
    wait_cpu_quiet(server.pid, within_s=30)
