"""Every bad file of the corpus uploaded to the dashboard (AppTest): an st.error that names the file
and says why, no exception, and the app still explains the next good upload.

Two tests. The first uploads each case to the real ``dashboard.py``, one fresh session per case.
The second uploads every case in ONE session, then a good photo, which must be explained.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

import corpus  # noqa: E402
import explainers.images as images  # noqa: E402
from ui.app.session import SOURCE_UPLOAD  # noqa: E402
from ui.compute.photos import UPLOAD_TYPES  # noqa: E402
from conftest import shown  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 100_000  # bytes: the decode limit during this test, so the oversize case stays small
CASES = corpus.upload_cases(oversize_limit=LIMIT)


def allowed_name(filename: str) -> str:
    """The browser's uploader only offers UPLOAD_TYPES: other suffixes arrive renamed (as a user would)."""
    suffix = filename.rsplit(".", 1)[-1].lower()
    return filename if suffix in UPLOAD_TYPES else f"{filename}.png"


def errors(at) -> list[str]:
    return [shown(e.value) for e in at.error]


def assert_refused(at, name: str, expected: str) -> None:
    assert not at.exception, (name, [e.value for e in at.exception])
    shown = errors(at)
    assert any(expected in message and name in message for message in shown), (name, expected, shown)
    assert not [m for m in shown if "Traceback" in m or "Something went wrong" in m], shown


@pytest.fixture
def small_file_limit(monkeypatch):
    monkeypatch.setattr(images, "MAX_FILE_BYTES", LIMIT)


@pytest.mark.parametrize("filename, data, expected", CASES, ids=[c[0] for c in CASES])
def test_each_bad_upload_to_the_dashboard_shows_why(filename, data, expected, small_file_limit):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.session_state["image_source"] = SOURCE_UPLOAD
    at.run()
    assert not at.exception
    name = allowed_name(filename)
    at.file_uploader[0].upload(name, data, "application/octet-stream").run()
    assert_refused(at, name, expected)


def test_one_session_survives_every_bad_upload_then_explains_a_good_one(small_file_limit):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.session_state["image_source"] = SOURCE_UPLOAD
    at.run()
    assert not at.exception
    for filename, data, expected in CASES:
        name = allowed_name(filename)
        at.sidebar.file_uploader(key="upload").set_value((name, data, "application/octet-stream")).run()
        assert_refused(at, name, expected)
    at.sidebar.file_uploader(key="upload").set_value(("good.jpg", corpus.good_jpeg((320, 240)), "image/jpeg")).run()
    assert not at.exception and errors(at) == []
    assert any("Why '" in shown(h.value) for h in at.caption), [shown(h.value) for h in at.caption]
