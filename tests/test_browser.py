"""The dashboard in a real browser: `streamlit run dashboard.py` headless, driven by Chromium (Playwright).

What it checks, page by page, with no network:

* every page (Explain, Compare, Method, Models) loads with no exception and no error box, including
  a deep link (``/compare``) as the very first request to a freshly started server;
* the Plotly figures render (Explain: predictions, the two maps, superpixel bars; Compare: the maps;
  Method: contributions, feature maps, SLIC effect);
* hovering a map shows the pixel and its value, and for a superpixel method the id, score, area and kept;
* on Compare, a box zoom in one map zooms the other (linked axes);
* Compare at 1500x1000 and 1024x768: an uploaded photo, CAM vs SeCAM (maps >= 600 px wide at 1500, no
  overlapping text), B switched to another model then to Grad-CAM with the class kept, the swipe view,
  faithfulness measured with one click and a second run cancelled, the comparison PNG and the HTML report
  downloaded, and the report opened from disk with every network request refused: its figures render;
* the CSV, JSON and .npy downloads arrive and parse;
* a photo uploaded through the sidebar's file uploader is explained: its name is shown, the model's
  top-1 class for it appears in the predictions, CAM and SeCAM maps appear, and it is still the
  photo on the Compare page (choices carry over between pages);
* the Evaluate page runs the evaluation on three photos of the ImageNet sample (``$EXPLAINERS_SAMPLE_DIR`` or
  ``../shared/imagenet-sample``, skipped without it) (CAM, SeCAM and
  Grad-CAM, true classes from its ``labels.csv``): its charts, tables and accuracy appear with no error box;
* screenshots of every page are saved to ``test-artifacts/screenshots/`` (git-ignored), or to
  ``$SCREENSHOT_DIR``: ``bash scripts/screenshots.sh`` runs this test with
  ``SCREENSHOT_DIR=docs/screenshots`` to refresh the README's pictures (``docs/screenshots/compare.png``).

Without Chromium at /usr/bin/chromium the test skips with the reason; under ``CI=true`` it fails.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import ROOT, TIMEOUT_MS, assert_no_error, launch_chromium, require_browser, running_server, wait_idle
from photos import sample_dir, sample_reason

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "test-artifacts" / "screenshots"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _require_browser():
    require_browser("the browser test")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module's walk-through tests."""
    _require_browser()
    with running_server(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    _require_browser()
    with launch_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def browser_page(server, chromium):
    page = chromium.new_page(viewport={"width": 1500, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    page.close()


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> tuple[Path, str]:
    """A JPEG to upload (scikit-image's coffee, 600x400), and the model's top-1 label for it."""
    import explainers
    from skimage import data

    path = tmp_path_factory.mktemp("upload") / "my coffee.jpg"
    Image.fromarray(data.coffee()).save(path, quality=92)
    model = explainers.load_model("efficientnet_lite0")
    [(_, label, _)] = model.predict(explainers.load_image(path), topk=1)
    return path, label


# -- helpers --------------------------------------------------------------------------------
def wait_figures(page, n: int) -> None:
    """Wait until at least ``n`` Plotly figures are drawn (their SVG layers exist)."""
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n && "
        "document.querySelectorAll('.js-plotly-plot').length >= n", arg=n, timeout=TIMEOUT_MS)


def figure_titles(page) -> list[str]:
    return page.eval_on_selector_all(".js-plotly-plot .gtitle, .js-plotly-plot .annotation-text",
                                     "els => els.map(e => e.textContent)")


def go_to(page, title: str) -> None:
    """Click the page's link in the sidebar navigation (same session, so the choices carry over).

    Compare starts with the sidebar collapsed (its maps take the width): open it first.
    """
    expand = page.locator('[data-testid="stExpandSidebarButton"]')
    if expand.count() and expand.first.is_visible():
        expand.first.click()
        page.wait_for_timeout(400)
    page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]', has_text=title).first.click()
    page.wait_for_function("t => document.title.includes(t) || true", arg=title)
    wait_idle(page)


def hover_text(page, figure, fx: float = 0.5, fy: float = 0.5, subplot: int = 0) -> str:
    """Move the mouse over a point of a figure's ``subplot``-th plot area and return Plotly's hover label."""
    area = figure.locator(".nsewdrag").nth(subplot)
    box = area.bounding_box()
    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    label = page.locator(".hoverlayer .hovertext")
    label.first.wait_for(state="attached", timeout=10_000)
    return " ".join(label.evaluate_all("els => els.map(e => e.textContent)"))


def shoot(page, name: str) -> Path:
    """Screenshot of the whole page: the app scrolls inside its main area, so grow the window to fit it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    viewport = page.viewport_size
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                           " return m ? m.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": viewport["width"], "height": int(min(max(height, viewport["height"]), 6000))})
    page.wait_for_timeout(800)  # let Plotly relayout
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)
    return path


def wait_title(page, prefix: str) -> None:
    """Wait until a Plotly figure's title starts with ``prefix`` (the rerun has drawn the new result)."""
    page.wait_for_function(
        "p => Array.from(document.querySelectorAll('.js-plotly-plot .gtitle, .js-plotly-plot .annotation-text'))"
        ".some(e => e.textContent.startsWith(p))", arg=prefix, timeout=TIMEOUT_MS)


# -- the tests ----------------------------------------------------------------------------
#: Every page's deep link, and a heading it must show.
DEEP_LINKS = {"/": "Explain a prediction", "/compare": "Compare two explanations", "/evaluate": "Evaluate methods on many photos",
              "/method": "How CAM and SeCAM work", "/models": "Models"}
DEEP_LINKS["/workspace"] = "Workspace"
DEEP_LINKS["/review"] = "Blind review"


@pytest.mark.parametrize("path", list(DEEP_LINKS))
def test_deep_link_is_the_first_request_after_a_restart(path, chromium, tmp_path):
    """A fresh server, a fresh browser context, and this page's URL as the very first request: the page
    config, the shared sidebar (model, photo) and the navigation must be there, with no error."""
    with running_server(tmp_path / "server.log") as url:
        context = chromium.new_context(viewport={"width": 1500, "height": 1000})
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url + path)
            page.get_by_role("heading", name=DEEP_LINKS[path]).first.wait_for()
            wait_idle(page)
            assert_no_error(page, f"deep link {path}")
            sidebar = page.locator('[data-testid="stSidebar"]')
            assert sidebar.locator('[data-testid="stPageLink-NavLink"]').count() == 7  # ui.app.page.NAV
            assert sidebar.get_by_text("chelsea: 451x300 px").count() == 1, "the shared sidebar did not run"
            assert page.title().endswith("CAM & SeCAM explorer"), page.title()
        finally:
            context.close()
def test_every_page_in_chromium(browser_page, server, photo):
    page = browser_page
    # A deep link as the first request of a fresh server: the entry script and its sidebar must still run.
    page.goto(f"{server}/compare")
    wait_idle(page)
    wait_figures(page, 1)
    assert_no_error(page, "Compare (deep link)")
    titles = figure_titles(page)
    assert "A: CAM on efficientnet_lite0" in titles and "B: SeCAM on efficientnet_lite0" in titles, titles
    # Linked zoom: a box zoom on the first map moves the other map to the same region.
    grid = page.locator('.st-key-compare_maps .js-plotly-plot, [class*="compare_maps"] .js-plotly-plot').first
    if grid.count() == 0:
        grid = page.locator(".js-plotly-plot").first
    box = grid.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7, steps=8)
    page.mouse.up()
    page.wait_for_timeout(500)
    ranges = grid.evaluate("gd => [1, 2].map(i => gd._fullLayout['xaxis' + (i > 1 ? i : '')].range)")
    assert ranges[0][1] - ranges[0][0] < 451 * 0.5, ranges  # zoomed in...
    assert ranges[1] == ranges[0], ranges  # ...and the other map followed

    go_to(page, "Explain")
    wait_figures(page, 3)
    assert_no_error(page, "Explain")
    titles = figure_titles(page)
    assert any(t.startswith("Top-3 predictions") for t in titles), titles
    assert "A: CAM on efficientnet_lite0" in titles and "B: SeCAM on efficientnet_lite0" in titles, titles
    maps = page.locator(".st-key-maps_box .js-plotly-plot").first  # the maps (ui.views.compare.fitted_chart's box)
    cam_hover = hover_text(page, maps, 0.5, 0.5, subplot=0)
    assert "pixel x=" in cam_hover and "value" in cam_hover, cam_hover
    page.mouse.move(0, 0)
    secam_hover = hover_text(page, maps, 0.5, 0.5, subplot=1)
    for fact in ("superpixel #", "score", "area", "kept"):
        assert fact in secam_hover, (fact, secam_hover)
    # one number for the region (its score, as in the table and the chart), and kept as yes / no
    assert "value" not in secam_hover and re.search(r"kept (yes|no)", secam_hover), secam_hover
    page.mouse.move(0, 0)
    shoot(page, "explain.png")
    # picking a row of the superpixel table (its box at the left) outlines and numbers that superpixel on the map
    numbers = "gd => gd.data.filter(t => t.type === 'scatter').map(t => t.text).flat()"
    assert maps.evaluate(numbers) == []
    grid = page.locator('.st-key-superpixel_table [data-testid="stDataFrame"], [data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)  # row 1's selection box (header and rows are 35 px)
    page.wait_for_function(f"() => {{ const gd = document.querySelector('.st-key-maps_box .js-plotly-plot'); "
                           f"return gd && gd.data && ({numbers})(gd).length === 1; }}", timeout=60_000)
    wait_idle(page)
    [picked] = page.locator(".st-key-maps_box .js-plotly-plot").first.evaluate(numbers)
    assert re.fullmatch(r"#\d+", picked), picked

    go_to(page, "Method")
    wait_figures(page, 3)
    assert_no_error(page, "Method")
    assert "7x7x1280" in page.inner_text("body")
    shoot(page, "method.png")

    go_to(page, "Models")
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    assert_no_error(page, "Models")
    assert "efficientnet_lite0" in page.inner_text("body")
    shoot(page, "models.png")

    # Upload a photo through the sidebar's file uploader, on the Explain page.
    path, top1 = photo
    go_to(page, "Explain")
    upload(page, path, "600x400")
    wait_function_text(page, f"Why '{top1}'?")
    wait_idle(page)
    wait_figures(page, 3)
    assert_no_error(page, "Explain after upload")
    assert page.locator(".js-plotly-plot .ytick", has_text=top1).count() >= 1, f"{top1} not in the predictions"
    shoot(page, "explain_upload.png")

    # Downloads are built when clicked, at full resolution.
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Superpixel scores (CSV)").click()
    rows = Path(csv_download.value.path()).read_text().splitlines()
    assert rows[0] == "id,score,area_px,area_pct,kept" and len(rows) > 5
    with page.expect_download() as json_download:
        page.get_by_role("button", name="Whole result (JSON)").click()
    result = json.loads(Path(json_download.value.path()).read_text())
    assert result["image"]["name"] == path.name and result["explanations"][0]["label"] == top1
    with page.expect_download() as npy_download:
        page.get_by_role("button", name="CAM map (.npy)", exact=True).click()
    assert np.load(npy_download.value.path()).shape == (400, 600)
    wait_idle(page)


def upload(page, path: Path, size: str) -> None:
    """Upload ``path`` through the sidebar (on the current page) and wait until the sidebar shows it."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    if not sidebar.locator('input[type="file"]').count():
        sidebar.locator("label", has_text="Upload a photo").first.click()
        wait_idle(page)
    sidebar.locator('input[type="file"]').set_input_files(str(path))
    sidebar.locator("*", has_text=f"{path.name}: {size} px").first.wait_for()


def wait_function_text(page, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=TIMEOUT_MS)


def class_shown(page) -> str:
    """The text of the 'Class to explain' box."""
    box = page.locator('[data-testid="stSelectbox"]', has_text="Class to explain").first
    return box.get_by_role("combobox").input_value()


def pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the select box labelled ``label``."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label).first
    wanted = page.get_by_role("option", name=option, exact=True).first
    for _ in range(3):  # a rerun may redraw the box between the click and the menu
        box.get_by_role("button", name="Open").click()
        try:
            wanted.wait_for(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - retried
            page.keyboard.press("Escape")
            wait_idle(page)
    wanted.click()
    wait_idle(page)


def no_overlap(boxes: list[dict]) -> bool:
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
                    and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]):
                return False
    return True


@pytest.mark.parametrize("viewport", [(1500, 1000), (1024, 768)], ids=["1500x1000", "1024x768"])
def test_compare_in_chromium(viewport, server, chromium, photo, tmp_path):
    """Upload, compare CAM with SeCAM, switch B's model then method (class kept), swipe, measure and cancel,
    download the PNG and the report, and open the report offline."""
    width, height = viewport
    other = "efficientnet_lite1" if width >= 1500 else "efficientnet_lite2"  # measurements are kept server-wide
    context = chromium.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server)
        wait_idle(page)
        path, top1 = photo
        upload(page, path, "600x400")
        go_to(page, "Compare")
        wait_title(page, "B: SeCAM on efficientnet_lite0")
        wait_idle(page)
        assert_no_error(page, "Compare after upload")
        assert top1 in class_shown(page)
        titles = figure_titles(page)
        assert "A: CAM on efficientnet_lite0" in titles, titles
        pictures = page.locator(".js-plotly-plot").first.locator("g.imagelayer image, .layer-above image, image")
        widths = [b["width"] for b in pictures.evaluate_all("els => els.map(e => e.getBoundingClientRect())")]
        if width >= 1500:
            assert min(widths) >= 600, widths  # each map at least 600 px wide
        texts = page.locator(".js-plotly-plot .annotation-text, [data-testid='stWidgetLabel']")
        boxes = [b for b in texts.evaluate_all("els => els.map(e => e.getBoundingClientRect().toJSON())")
                 if b["width"] > 0]
        assert no_overlap(boxes), "text overlaps"
        if width >= 1500:
            shoot(page, "compare.png")

        # B: another model, then another method; the class stays the same both times
        pick(page, "B: model", other)
        wait_title(page, f"B: SeCAM on {other}")
        assert top1 in class_shown(page)
        pick(page, "B: method", "Grad-CAM")
        wait_title(page, f"B: Grad-CAM on {other}")
        wait_idle(page)
        assert top1 in class_shown(page)
        assert_no_error(page, "Compare, B switched")

        # the swipe view: one picture, a line, and the slider moves the line
        page.locator('[data-testid="stRadio"]', has_text="View").get_by_text("Swipe", exact=True).click()
        wait_title(page, "A: CAM on efficientnet_lite0 | B")
        wait_idle(page)
        chart = page.locator(".js-plotly-plot").first
        before = chart.evaluate("gd => gd.layout.shapes[0].x0")
        thumb = page.locator('[data-testid="stSlider"]', has_text="Swipe").get_by_role("slider")
        thumb.focus()
        for _ in range(10):
            thumb.press("ArrowLeft")
        wait_idle(page)
        page.wait_for_function("x => document.querySelector('.js-plotly-plot').layout.shapes[0].x0 < x", arg=before)
        if width >= 1500:
            shoot(page, "compare_swipe.png")
        page.locator('[data-testid="stRadio"]', has_text="View").get_by_text("Side by side", exact=True).click()
        wait_idle(page)

        # faithfulness: one click measures; a second run is cancelled
        page.get_by_role("button", name="Measure faithfulness").click()
        page.locator('[data-testid="stDataFrame"]').last.wait_for()
        wait_title(page, "Faithfulness for")
        wait_idle(page)
        assert_no_error(page, "faithfulness")
        assert "random map on efficientnet_lite0" in page.inner_text("body")
        assert page.get_by_role("button", name="Measure faithfulness").count() == 0  # kept: nothing to measure
        pick(page, "B: method", "SeCAM")  # conditions and a class not measured yet: four maps
        wait_title(page, f"B: SeCAM on {other}")
        combo = page.locator('[data-testid="stSelectbox"]', has_text="Class to explain").first.get_by_role("combobox")
        combo.fill("tiger | ")
        page.get_by_role("option").filter(has_text=re.compile(r"^tiger \|")).first.click()
        wait_idle(page)
        assert class_shown(page).startswith("tiger |")
        page.get_by_role("button", name="Measure faithfulness").click()
        page.get_by_role("button", name="Cancel").click()
        page.get_by_text(re.compile(r"Measuring \d maps: stopped \(cancelled\)")).wait_for()
        wait_idle(page)
        assert page.get_by_role("button", name="Measure faithfulness").count() == 1  # the cancelled map is not kept

        # downloads: the comparison as shown, and the report
        with page.expect_download() as png_download:
            page.get_by_role("button", name="Comparison (PNG, as shown)").click()
        picture = Image.open(png_download.value.path())
        assert picture.width >= 2 * 600 and picture.mode == "RGB"
        with page.expect_download() as html_download:
            page.get_by_role("button", name="Report (HTML, opens offline)").click()
        report = tmp_path / "report.html"
        html_download.value.save_as(report)
    finally:
        context.close()

    # the report, from disk, in a fresh context with every non-file request refused
    offline = chromium.new_context(viewport={"width": 1200, "height": 900})
    try:
        refused = []
        offline.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                      else (refused.append(route.request.url), route.abort()))
        page = offline.new_page()
        page.goto(report.as_uri())
        page.wait_for_function("() => window.Plotly && document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1"
                               " && document.querySelectorAll('.js-plotly-plot image').length >= 2", timeout=60_000)
        body = page.inner_text("body")
        assert top1 in body and "Faithfulness" in body and "Superpixels" in body
        assert page.locator("img.photo").evaluate("img => img.complete && img.naturalWidth > 0")
        assert refused == [], refused
    finally:
        offline.close()


def test_evaluate_page_in_chromium(browser_page, server):
    if sample_dir() is None:
        pytest.skip(sample_reason())
    page = browser_page
    page.goto(f"{server}/evaluate")
    wait_idle(page)
    assert_no_error(page, "Evaluate")
    limit = page.get_by_role("spinbutton", name="Photos (at most)")
    limit.fill("3")
    limit.press("Enter")
    wait_idle(page)
    page.locator('[data-testid="stMultiSelect"]').first.click()
    page.get_by_role("option", name="gradcam").click()
    page.keyboard.press("Escape")
    wait_idle(page)
    page.get_by_text("Explain the true class from labels.csv").click()
    wait_idle(page)
    page.get_by_role("button", name="Run the evaluation").click()
    page.locator('[data-testid="stDataFrame"]').nth(1).wait_for()
    wait_idle(page)
    wait_figures(page, 3)
    assert_no_error(page, "Evaluate after a run")
    titles = figure_titles(page)
    assert any(t.startswith("Mean AUC per method") for t in titles), titles
    assert any(t.startswith("Mean curves over the photos") for t in titles), titles
    body = page.inner_text("body")
    assert "Evaluated 3 photo(s) with cam, secam, gradcam" in body and "Top-1 accuracy" in body
    page.mouse.move(0, 0)
    shoot(page, "evaluate.png")
