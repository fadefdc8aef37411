"""Every bad file of the corpus uploaded to the dashboard (AppTest): an st.error that says why, no
exception, and the app still explains the next good upload.

AppTest loses every sidebar element on the second run of an app that uses ``st.navigation``
(Streamlit 1.67; reproduced with a three-line app), and the uploader lives in the sidebar. So
the test runs what ``dashboard.py`` runs, minus the router: the shared sidebar, then the
Explain page's script.
"""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

import corpus  # noqa: E402
import explainers.images as images  # noqa: E402
from ui.state import SOURCE_UPLOAD, UPLOAD_TYPES  # noqa: E402

LIMIT = 100_000  # bytes: the decode limit during this test, so the oversize case stays small


def allowed_name(filename: str) -> str:
    """The browser's uploader only offers UPLOAD_TYPES: other suffixes arrive renamed (as a user would)."""
    suffix = filename.rsplit(".", 1)[-1].lower()
    return filename if suffix in UPLOAD_TYPES else f"{filename}.png"


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def dashboard_without_router():
    """``dashboard.py`` minus ``st.navigation``: the sidebar, then pages/explain.py."""
    import runpy
    from pathlib import Path

    import ui
    from ui import sidebar

    sidebar.render()
    runpy.run_path(str(Path(ui.__file__).resolve().parents[1] / "pages" / "explain.py"))


@pytest.fixture(scope="module")
def app():
    at = AppTest.from_function(dashboard_without_router, default_timeout=180)
    at.run()
    assert not at.exception
    at.sidebar.radio(key="image_source").set_value(SOURCE_UPLOAD).run()
    assert not at.exception
    return at


def test_every_bad_upload_shows_an_error_and_the_app_recovers(app, monkeypatch):
    monkeypatch.setattr(images, "MAX_FILE_BYTES", LIMIT)
    at = app
    cases = corpus.upload_cases(oversize_limit=LIMIT)
    assert len(cases) >= 15
    for filename, data, expected in cases:
        name = allowed_name(filename)
        at.sidebar.file_uploader(key="upload").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, (name, at.exception)
        shown = errors(at)
        assert any(expected in message and name in message for message in shown), (name, expected, shown)
        assert not [m for m in shown if "Traceback" in m or "Something went wrong" in m], shown

    # the next good upload works: no error, the photo is explained
    at.sidebar.file_uploader(key="upload").set_value(("good.jpg", corpus.good_jpeg((320, 240)), "image/jpeg")).run()
    assert not at.exception and errors(at) == []
    assert any("Why '" in h.value for h in at.subheader), [h.value for h in at.subheader]
