"""Issue 11's "Done when", in a real Chromium against a real `streamlit run dashboard.py`:

1. User A uploads a photo, sets the class, the threshold and the colour scale on Compare, gives a
   name once (a cookie), saves the view to the workspace with a note, and copies the link (the
   clipboard holds it).
2. User B opens the link in a fresh browser context (no cookie, no session) and sees the same
   photo and class, and the same maps: the downloaded ``.npy`` files equal A's byte for byte.
   B finds A's item on the Workspace page, and may not delete it (B is not its author).
3. The server is restarted on the same ``EXPLAINERS_DATA_DIR``: the link still gives the same
   maps, and the item is still listed; "Open" restores its view.

What it relies on (the rest of the page may change freely):

* the sidebar's "Upload a photo" radio and file input, and its caption ``<name>: <W>x<H> px``;
* the widgets labelled "Class to explain ...", "Colour scale", "Mask threshold ..." (ui/widgets/controls.py; the last two in the "Display" popover);
* the download buttons whose names end in ``map (.npy)`` (ui/downloads.py: one per side);
* what this issue adds: the "Copy link" button (aria-label), the "Save to workspace" popover and
  its "Your name", "Title", "Note", "Save" fields, the Workspace page's cards and "Open" button.

Without Chromium the test skips with the reason (fails under ``CI=true``), like tests/test_browser.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from browser import TIMEOUT_MS, assert_no_error, launch_chromium, require_browser, running_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLASS_LABEL = "Class to explain"
NOTE = "SeCAM keeps the rim of the cup; CAM spills onto the saucer."
TITLE = "Coffee mug: CAM vs SeCAM"


@pytest.fixture(scope="module")
def chromium():
    require_browser("the browser test")
    with launch_chromium() as browser:
        yield browser


#: Screenshots of the pages open when the test fails (git-ignored).
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "workspace-browser"
_open_pages: list = []


def fresh(chromium, url: str):
    """A fresh browser context (no cookies, no storage) with clipboard access, and its page."""
    context = chromium.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    page.set_default_timeout(int(os.environ.get("BROWSER_TIMEOUT_MS", TIMEOUT_MS)))
    _open_pages.append(page)
    return context, page


@pytest.fixture(autouse=True)
def _screenshots_on_failure(request):
    _open_pages.clear()
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        SHOTS.mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(_open_pages):
            try:
                page.screenshot(path=str(SHOTS / f"page{i}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - the page may be closed already
                pass


def query(link: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(link).query, keep_blank_values=True).items()}


def open_display(page) -> None:
    """Open the toolbar's "Display" popover (colour scale, normalisation, opacity...) unless it is open."""
    if not page.locator('[data-testid="stSelectbox"]', has_text="Colour scale").first.is_visible():
        page.get_by_role("button", name=re.compile(r"Display")).first.click()
        page.locator('[data-testid="stSelectbox"]', has_text="Colour scale").first.wait_for()


def choose(page, label: str, search: str, option: re.Pattern | None = None) -> None:
    """Pick an option of the select box labelled ``label`` by typing ``search``, as a user does."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label).first
    box.locator('input').first.click()
    page.keyboard.type(search)
    page.get_by_role("option", name=option or re.compile(f"^{re.escape(search)}")).first.click()
    wait_idle(page)


def selected(page, label: str) -> str:
    """What the select box labelled ``label`` shows as chosen."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label).first
    value = box.locator("input").first.input_value()
    return value or box.inner_text()


def npy_downloads(page) -> dict[str, bytes]:
    """Every map's ``.npy`` download of the page: button name -> the file's bytes."""
    buttons = page.get_by_role("button", name=re.compile(r"map \(\.npy\)$"))
    assert buttons.count() == 2, "expected one .npy download per side (A and B)"
    files = {}
    for i in range(buttons.count()):
        button = buttons.nth(i)
        with page.expect_download() as download:
            button.click()
        files[button.inner_text().strip()] = Path(download.value.path()).read_bytes()
    wait_idle(page)
    return files


def shoot(page, name: str) -> None:
    """A screenshot for a person to look at (``test-artifacts/workspace-browser/``, git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def open_save_popover(page) -> None:
    page.get_by_role("button", name=re.compile(r"^\W*Save$|bookmark_add\W*Save")).first.click()
    page.wait_for_timeout(300)


@pytest.fixture
def photo(tmp_path) -> Path:
    from skimage import data

    path = tmp_path / "my coffee.jpg"
    Image.fromarray(data.coffee()).save(path, quality=92)
    return path


def test_a_saved_comparison_is_shared_reopened_and_survives_a_restart(chromium, photo, tmp_path):
    data_dir = os.environ["EXPLAINERS_DATA_DIR"]  # the autouse fixture's: the same for both servers
    with running_server(tmp_path / "server1.log") as url:
        # -- user A -----------------------------------------------------------------------------
        context_a, a = fresh(chromium, url)
        a.goto(f"{url}/compare")
        wait_idle(a)
        sidebar = a.locator('[data-testid="stSidebar"]')
        if not sidebar.is_visible():  # Compare starts with the sidebar collapsed (wide maps)
            a.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button').first.click()
        sidebar.locator("label", has_text="Upload a photo").first.click()
        wait_idle(a)
        sidebar.locator('input[type="file"]').set_input_files(str(photo))
        sidebar.get_by_text(f"{photo.name}: 600x400 px").first.wait_for()
        stored = sidebar.get_by_text(re.compile(r"Stored as [0-9a-f]{12}")).first
        stored.wait_for()
        wait_idle(a)

        choose(a, CLASS_LABEL, "coffee mug", re.compile(r"^coffee mug \|"))
        open_display(a)
        choose(a, "Colour scale", "Turbo")
        threshold = a.locator('[data-testid="stSlider"]', has_text="Mask threshold").first.get_by_role("slider")
        for _ in range(40):  # to 0.45 with the arrow keys (0.05 a step), until the server has it (the URL says)
            now = float(query(a.url).get("threshold", "0.8"))
            if abs(now - 0.45) < 1e-6:
                break
            open_display(a)  # a rerun may close the popover
            threshold.focus()
            a.keyboard.press("ArrowLeft" if now > 0.45 else "ArrowRight")
            wait_idle(a, settle_s=1.0)
        a.keyboard.press("Escape")  # close the popover
        assert_no_error(a, "A's Compare")
        view = query(a.url)
        assert view["page"] == "compare" and view["class"] == "504" and view["colors"] == "Turbo", view
        assert abs(float(view["threshold"]) - 0.45) < 1e-9, view
        assert re.fullmatch(r"upload:[0-9a-f]{64}", view["photo"]), view

        # save with a note, under the name given once (kept in a cookie)
        open_save_popover(a)
        a.get_by_role("textbox", name="Your name (asked once; this browser remembers it)").fill("Ann")
        a.get_by_role("button", name="Continue").click()
        wait_idle(a)
        assert any(c["name"] == "explainers_name" and c["value"] == "Ann" for c in context_a.cookies()), \
            context_a.cookies()
        if not a.get_by_role("textbox", name="Title", exact=True).is_visible():
            open_save_popover(a)
        a.get_by_role("textbox", name="Title", exact=True).fill(TITLE)
        a.get_by_role("textbox", name="Note", exact=True).fill(NOTE)
        a.locator('[data-testid="stBaseButton-primaryFormSubmit"]', has_text="Save").click()  # the form's, not the popover's
        a.get_by_text(f"Saved '{TITLE}' to the workspace").first.wait_for()
        wait_idle(a)
        assert_no_error(a, "A after saving")
        shoot(a, "compare_saved.png")
        a.keyboard.press("Escape")

        # copy the link: the clipboard holds this exact view's full address
        a.get_by_role("button", name="Copy link").click()
        a.get_by_role("status").filter(has_text="Copied").first.wait_for()
        link = a.evaluate("navigator.clipboard.readText()")
        assert link.startswith(f"{url}/compare?"), link
        assert query(link) == query(a.url), (link, a.url)
        maps_a = npy_downloads(a)

        # -- user B: a fresh browser context opens the link ---------------------------------------
        context_b, b = fresh(chromium, url)
        b.goto(link)
        wait_idle(b)
        assert_no_error(b, "B opening the link")
        assert b.locator('[data-testid="stAlertContentWarning"]').count() == 0, "the link fell back to a default"
        assert "coffee mug |" in selected(b, CLASS_LABEL), selected(b, CLASS_LABEL)
        open_display(b)
        assert "Turbo" in selected(b, "Colour scale")
        b.keyboard.press("Escape")
        assert query(b.url) == query(link)
        assert npy_downloads(b) == maps_a, "B's maps differ from A's"

        b.goto(f"{url}/workspace")
        card = b.locator('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]',
                         has_text=TITLE).last
        card.wait_for()
        text = card.inner_text()
        assert "Ann" in text and "efficientnet_lite0" in text and "coffee mug" in text and NOTE[:40] in text, text
        assert card.get_by_role("button", name="Delete").is_disabled(), "B must not delete A's item"
        assert_no_error(b, "B's Workspace")
        shoot(b, "workspace.png")
        context_a.close()
        context_b.close()

    # -- the server restarts on the same data folder ---------------------------------------------
    assert os.environ["EXPLAINERS_DATA_DIR"] == data_dir
    with running_server(tmp_path / "server2.log") as url2:
        # the Workspace page as the very first request of the new server: the item is there
        context_c, c = fresh(chromium, url2)
        c.goto(f"{url2}/workspace")
        card = c.locator('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]',
                         has_text=TITLE).last
        card.wait_for()
        assert_no_error(c, "the Workspace after a restart")
        card.get_by_role("button", name="Open").click()
        c.get_by_role("heading", name="Compare two explanations").first.wait_for()
        wait_idle(c)
        assert_no_error(c, "Open from the Workspace")
        assert query(c.url) == query(link), "Open did not restore the saved view"
        assert "coffee mug |" in selected(c, CLASS_LABEL)
        assert npy_downloads(c) == maps_a, "the item's view gives other maps after the restart"
        context_c.close()

        # the copied link, in another fresh browser (the port changed with the restart; a team server keeps it)
        context_d, d = fresh(chromium, url2)
        d.goto(link.replace(urlsplit(link).netloc, urlsplit(url2).netloc))
        wait_idle(d)
        assert_no_error(d, "the link after a restart")
        assert d.locator('[data-testid="stAlertContentWarning"]').count() == 0
        assert "coffee mug |" in selected(d, CLASS_LABEL)
        assert npy_downloads(d) == maps_a, "the link gives other maps after the restart"
        context_d.close()
