"""A blind review study in a real browser: `streamlit run dashboard.py` headless, driven by Chromium (Playwright).

On an empty temporary workspace (``EXPLAINERS_DATA_DIR``):

* Ann creates a 4-photo study (scikit-image's chelsea, coffee, astronaut, rocket) of CAM vs SeCAM on
  ``efficientnet_lite0`` from the Review page;
* Ann and Bob, each in their own browser context (own cookies: each types a name once), answer every
  trial; the HTML of every trial page (``page.content()``), its title and its URL contain no method name
  and no model name as a whole word, in any case;
* the server is restarted halfway through Ann's trials: her two answers survive and her browser (its
  cookie) brings her back to trial 3 of 4;
* the results page shows both reviewers' counts, the preference intervals and the kappas; the downloaded
  answers CSV is the store's answers row for row, and the numbers on the page are those the library
  computes from that CSV.

Without Chromium at /usr/bin/chromium the test skips with the reason; under ``CI=true`` it fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import explainers  # noqa: E402
from explainers import Condition  # noqa: E402
from explainers_team.review import read_answers_csv, summarize  # noqa: E402
from explainers_team.store import Store  # noqa: E402

import browser  # noqa: E402
from browser import assert_no_error, launch_chromium, require_browser  # noqa: E402

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "test-artifacts" / "screenshots"))
TIMEOUT_MS = 180_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def forbidden_words() -> list[str]:
    """Every method's name and title, every registry model's name and title (and the issue's own list)."""
    words = {"cam", "secam", "CAM", "SeCAM", "Grad-CAM", "gradcam", "lime", "LIME"}
    for name, cls in explainers.EXPLAINERS.items():
        words.update({name, cls.title})
    for name, spec in explainers.load_registry().specs.items():
        words.add(name)
        if getattr(spec, "title", None):
            words.add(spec.title)
    return sorted(words)


def leaks(text: str, words: list[str]) -> list[str]:
    """Words found in ``text`` as whole words, case-insensitively, with some context."""
    found = []
    for word in words:
        for m in re.finditer(rf"(?<![\w]){re.escape(word)}(?![\w])", text, flags=re.IGNORECASE):
            found.append(f"{word!r} in ...{text[max(0, m.start() - 60):m.end() + 60]}...")
    return found


def _require_browser():
    require_browser("the browser test")


@contextlib.contextmanager
def running_server(log_path: Path, data_dir: Path):
    """`streamlit run dashboard.py` on a free port with its workspace in ``data_dir``; yields its URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "EXPLAINERS_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    env.pop("EXPLAINERS_DATABASE_URL", None)
    env.pop("EXPLAINERS_ADMINS", None)
    with browser.running_server(log_path, env=env, append=True) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    _require_browser()
    with launch_chromium() as browser_:
        yield browser_


def wait_idle(page, settle_s: float = 1.0) -> None:
    """:func:`browser.wait_idle` with this module's longer timeout."""
    browser.wait_idle(page, settle_s, timeout_ms=TIMEOUT_MS)


def shoot(page, name: str) -> None:
    """Screenshot of the whole page: the app scrolls inside its main area, so grow the window to fit it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    height = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                           " return m ? m.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": viewport["width"], "height": int(min(max(height, viewport["height"]), 6000))})
    page.wait_for_timeout(800)  # let Plotly relayout
    page.screenshot(path=str(SHOTS / name), full_page=True)
    page.set_viewport_size(viewport)


def new_page(context):
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def give_name(page, name: str) -> None:
    page.get_by_role("textbox", name=re.compile("^Your name")).fill(name)
    page.get_by_role("button", name="Continue").click()
    wait_idle(page)


def answer_trials(page, reviewer: str, choices: list[str], start: int, words: list[str],
                  records: list[tuple[str, str]]) -> None:
    """Answer trials ``start``.. of 4 with ``choices`` (button names), checking each trial page's HTML."""
    for i, choice in enumerate(choices, start=start):
        page.get_by_text(f"Trial {i} of 4", exact=True).wait_for()
        wait_idle(page)
        assert_no_error(page, f"{reviewer}, trial {i}")
        page.locator('[data-testid="stImage"] img').nth(1).wait_for()
        html = page.content()
        found = leaks(html, words) + leaks(page.title(), words) + leaks(page.url, words)
        assert not found, f"{reviewer}, trial {i}: the page names a method or a model: {found[:5]}"
        assert page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').count() == 0
        assert "Which map better shows why the model predicted" in page.inner_text("body")
        if i == 1 and reviewer == "Ann":
            shoot(page, "review_trial.png")
        page.get_by_role("button", name=choice, exact=True).click()
        page.get_by_text(f"{i} of 4 answered").wait_for()
        records.append((reviewer, choice))


CHOICE = {"Left is better": "left", "Right is better": "right", "Equally good": "equal", "Can't tell": "cant_tell"}


def test_blind_review_in_chromium(chromium, tmp_path):
    data_dir = tmp_path / "data"
    log_path = tmp_path / "server.log"
    words = forbidden_words()
    clicked: list[tuple[str, str]] = []
    ann_context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    bob_context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        with running_server(log_path, data_dir) as url:
            # Ann creates the study (CAM vs SeCAM on the sidebar's efficientnet_lite0; the four default samples).
            ann = new_page(ann_context)
            ann.goto(f"{url}/review")
            ann.get_by_role("heading", name="Blind review").wait_for()
            wait_idle(ann)
            assert_no_error(ann, "Review page")
            give_name(ann, "Ann")
            name_box = ann.get_by_label("Name (reviewers see it: no method or model names)")
            name_box.fill("Household photos")
            name_box.press("Enter")
            steps = ann.get_by_role("spinbutton", name="Curve steps")
            steps.fill("5")
            steps.press("Enter")
            wait_idle(ann)
            assert ann.get_by_text("4 photo(s) chosen").count() == 1
            ann.get_by_role("button", name="Create the study").click()
            created = ann.get_by_text(re.compile(r"Study \d+ created"))
            created.wait_for()
            study_id = int(re.search(r"Study (\d+) created", created.inner_text()).group(1))
            assert f"{url}/review?study={study_id}" in created.inner_text(), created.inner_text()  # the link to share
            wait_idle(ann)
            assert_no_error(ann, "after creating the study")
            # The leak check is not blind itself: the list page draws the sidebar's model picker, and it sees it.
            assert any("efficientnet_lite0" in f for f in leaks(ann.content(), words))
            shoot(ann, "review_list.png")

            # Ann follows the study's Answer link and answers two trials.
            ann.get_by_role("link", name="Answer").first.click()
            ann.wait_for_function("id => location.search.includes('study=' + id)", arg=study_id)
            answer_trials(ann, "Ann", ["Left is better", "Right is better"], 1, words, clicked)

        # The server restarts: nothing recorded is lost, and Ann's browser remembers her.
        with running_server(log_path, data_dir) as url:
            ann.goto(f"{url}/review?study={study_id}")
            ann.get_by_text("Trial 3 of 4").or_(ann.get_by_role("textbox", name=re.compile("^Your name"))).first.wait_for()
            wait_idle(ann)
            assert ann.get_by_role("textbox", name=re.compile("^Your name")).count() == 0, \
                f"the browser forgot the reviewer; cookies: {ann_context.cookies()}"
            assert ann.get_by_text("2 of 4 answered").count() == 1, ann.inner_text("body")[-1500:]
            assert ann.get_by_text("Reviewing as Ann").count() == 1
            answer_trials(ann, "Ann", ["Left is better", "Equally good"], 3, words, clicked)
            ann.get_by_text("You have answered all 4 trials").wait_for()

            bob = new_page(bob_context)
            bob.goto(f"{url}/review?study={study_id}")
            wait_idle(bob)
            give_name(bob, "Bob")
            answer_trials(bob, "Bob", ["Right is better", "Left is better", "Can't tell", "Left is better"], 1,
                          words, clicked)
            bob.get_by_text("You have answered all 4 trials").wait_for()

            # The results, as the creator sees them.
            ann.goto(f"{url}/review?study={study_id}&view=results")
            ann.get_by_role("heading", name="Results: Household photos").wait_for()
            wait_idle(ann)
            ann.locator(".js-plotly-plot .main-svg").first.wait_for()
            assert_no_error(ann, "results")
            body = ann.inner_text("body")
            with ann.expect_download() as download:
                ann.get_by_role("button", name="Answers (CSV)").click()
            csv_text = Path(download.value.path()).read_text()
            shoot(ann, "review_results.png")
    finally:
        ann_context.close()
        bob_context.close()

    # The CSV is the store's answers, row for row, and it holds what the reviewers clicked.
    store = Store(data_dir=data_dir)
    stored = sorted((a.reviewer_name, str(a.trial_id), a.choice) for a in store.answers(study_id))
    exported = read_answers_csv(csv_text)
    assert sorted((a.reviewer, str(a.trial), a.choice) for a in exported) == stored
    assert sorted((r, CHOICE[c]) for r, c in clicked) == sorted((r, c) for r, _, c in stored)
    assert [c["method"] for c in store.get_study(study_id).conditions] == ["cam", "secam"]

    # The page shows the numbers the library computes from that CSV: both reviewers' counts, intervals, kappas.
    names = {k: Condition.from_dict(c).describe() for k, c in zip("AB", store.get_study(study_id).conditions)}
    assert names["A"] == "CAM on efficientnet_lite0" and names["B"] == "SeCAM on efficientnet_lite0"
    summary = summarize(exported)
    overall = summary["overall"]
    for reviewer in ("Ann", "Bob"):
        assert re.search(rf"{reviewer}\s+4\s+4", body), f"{reviewer}'s count (4 of 4) is not shown"
    for key in ("A", "B"):
        ci = overall[key]["ci"]
        assert f"{100 * ci[0]:.0f}% to {100 * ci[1]:.0f}%" in body, (key, ci)
        name = re.escape(f"{key}: {names[key]}")
        assert re.search(rf"{name}\s+{overall[key]['count']}\s+{overall['decided']}", body), (key, names[key])
    fleiss, cohen = summary["agreement"]["fleiss"], summary["agreement"]["cohen"]
    for label, k in (("Fleiss' kappa", fleiss), ("Cohen's kappa", cohen)):
        shown = "n/a" if k["value"] is None else f"{k['value']:.2f} ({k['interpretation']})"
        assert re.search(rf"{re.escape(label)}\s+{re.escape(shown)}", body), (label, shown)
    assert re.search(rf"Can't tell\s+{overall['cant_tell']}", body)
    assert re.search(rf"Equally good \(ties\)\s+{overall['tie']}", body)
