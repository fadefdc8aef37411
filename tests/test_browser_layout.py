"""Maps first: on Explain and Compare both maps fit the first screen, and nothing hides under the top bar.

In Chromium at 1500x1000, 1024x768 and 390x844, for a landscape photo (chelsea) and a portrait one
(chelsea turned upright, uploaded): the maps' picture (both panels, the colour bar included) lies inside the first viewport without
scrolling; on a phone the maps come before the controls; the share row ("Copy link", "Link", "Save") is
entirely below Streamlit's top bar and inside the window. A screenshot of each first screen goes to
``test-artifacts/screenshots/`` (or ``$SCREENSHOT_DIR``). Without Chromium the test skips with the reason;
under ``CI=true`` it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import ROOT, TIMEOUT_MS, assert_no_error, launch_chromium, require_browser, running_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "test-artifacts" / "screenshots"))
VIEWPORTS = [(1500, 1000), (1024, 768), (390, 844)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser("the layout browser test")
    with running_server(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    require_browser("the layout browser test")
    with launch_chromium() as browser:
        yield browser


def box(page, selector: str) -> dict:
    found = page.locator(selector).first
    found.wait_for(timeout=TIMEOUT_MS)
    return found.bounding_box()


def top_bar_bottom(page) -> float:
    header = page.locator('[data-testid="stHeader"]')
    return header.bounding_box()["y"] + header.bounding_box()["height"] if header.count() else 0.0


def go_to(page, label: str) -> None:
    """Another page of the same session, through the sidebar's navigation (the photo carries over)."""
    expand = page.locator('[data-testid="stExpandSidebarButton"]')
    if expand.count() and expand.first.is_visible():
        expand.first.click()
        page.wait_for_timeout(400)
    page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]', has_text=label).first.click()
    wait_idle(page)


def check_first_screen(page, name: str, key: str, photo: str) -> None:
    """At every viewport size: both maps' pictures whole on the first screen, the share row visible, and on a
    phone the maps before the controls. The page is resized, not reloaded (the layout is responsive)."""
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(1200)  # CSS reflow and Plotly's resize
        where = f"{name}, {photo}, {width}x{height}"
        page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
        maps = box(page, f".st-key-{key}_box .js-plotly-plot")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"first-screen-{name}-{photo}-{width}.png"))
        pictures = [page.locator(f".st-key-{key}_box .js-plotly-plot image").nth(i).bounding_box() for i in (0, 1)]
        for picture in pictures:  # each map's picture is whole on the first screen
            assert picture["y"] >= 0 and picture["y"] + picture["height"] <= height, (where, picture)
            assert picture["x"] >= 0 and picture["x"] + picture["width"] <= width, (where, picture)
            readable = picture["width"] >= 0.2 * min(width, maps["width"]) or picture["height"] >= 0.3 * height
            assert readable, (where, "maps too small", picture)
        assert maps["y"] + maps["height"] <= height + 1, (where, "the figure runs below the first screen", maps)
        share = box(page, ".st-key-share_row")
        assert share["y"] >= top_bar_bottom(page) - 1, (where, "the share row is under the top bar", share)
        assert share["y"] + share["height"] <= height and share["x"] + share["width"] <= width + 1, (where, share)
        toolbar = box(page, ".st-key-toolbar")
        if width < 640:  # a phone: the maps come before the controls, with no empty band between title and maps
            assert maps["y"] < toolbar["y"], (where, "the controls come before the maps", maps, toolbar)
            title = box(page, ".st-key-page_head")
            assert maps["y"] - (title["y"] + title["height"]) < 80, (where, "a band between title and maps")
        else:
            assert toolbar["y"] < maps["y"], (where, maps, toolbar)
    page.set_viewport_size({"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})


def wait_maps(page, key: str) -> None:
    page.locator(f".st-key-{key}_box .js-plotly-plot image").nth(1).wait_for()
    wait_idle(page)


def test_a_landscape_photo_fits_the_first_screen(server, chromium):
    page = chromium.new_page(viewport={"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server}/?photo=sample:chelsea")
    for name, label, key in [("explain", "Explain", "maps"), ("compare", "Compare", "compare_maps")]:
        if name != "explain":
            go_to(page, label)
        wait_maps(page, key)
        assert_no_error(page, name)
        check_first_screen(page, name, key, "landscape")
    page.close()


def test_a_portrait_photo_fits_the_first_screen(server, chromium, tmp_path):
    from skimage import data

    path = tmp_path / "portrait cat.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(data.chelsea()))).save(path, quality=92)  # 300 wide, 451 high
    page = chromium.new_page(viewport={"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    wait_maps(page, "maps")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator("label", has_text="Upload a photo").first.click()
    wait_idle(page)
    sidebar.locator('input[type="file"]').set_input_files(str(path))
    sidebar.locator("*", has_text="portrait cat.jpg").first.wait_for()
    for name, label, key in [("explain", "Explain", "maps"), ("compare", "Compare", "compare_maps")]:
        if name != "explain":
            go_to(page, label)
        wait_maps(page, key)
        assert_no_error(page, name)
        check_first_screen(page, name, key, "portrait")
    page.close()
