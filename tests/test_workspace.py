"""Permalinks and the team workspace, driven without a browser by ``streamlit.testing.v1.AppTest``.

* A view's URL opened in a fresh session gives the same choices and the same maps (figure data equal).
* A stored photo's link reopens it, also after the server's caches and store are gone (a restart).
* Bad links (unknown model, sample, class, hash; malformed numbers) warn and fall back, never a traceback.
* Save to workspace from Explain and Compare; the Workspace page lists, filters, opens (the exact view),
  edits, deletes after a confirmation (author only), exports CSV, JSON and the item's HTML report.
* A failing database (injected) on save: one clear error, no row written, the page still drawn; an
  unreachable database: the Workspace page says so and the other pages keep working.

Every test has its own ``EXPLAINERS_DATA_DIR`` (the autouse fixture in ``conftest.py``).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from explainers_team.store import Store, User  # noqa: E402
from conftest import shown  # noqa: E402
from ui.app import permalink  # noqa: E402
from ui.app import session as ui_session  # noqa: E402
from ui.app import store as app_store  # noqa: E402
from ui.compute import explanations  # noqa: E402
from ui.views import workspace as ws  # noqa: E402

TIMEOUT = 240


def app(query: dict | None = None, **session) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    if query:
        at.query_params.update(query)
    return at


def open_page(page: str, query: dict | None = None, **session) -> AppTest:
    """A fresh session (a fresh browser) whose first request is ``page`` with ``query``."""
    at = app(None, **session)
    if page == "dashboard.py":
        at.query_params.update(query or {})
        return at.run()
    at.run()  # AppTest needs one run before switching pages; then the link is the next request
    at.query_params.clear()
    at.query_params.update(query or {})
    at.session_state["_permalink_written"] = None
    return at.switch_page(page).run()


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [shown(e.value) for e in at.error]


def maps(at: AppTest) -> list:
    """What the maps of the last run show: every Plotly figure's pictures and hover values."""
    out = []
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            if trace.get("type") in ("heatmap", "image"):
                out.append((trace.get("source"), trace.get("z"), trace.get("customdata")))
    return out


def warnings(at: AppTest) -> str:
    return " ".join(shown(w.value) for w in at.warning)


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def card_titles(page: AppTest) -> list[str]:
    """Titles of the Workspace grid's cards, in order."""
    return [m.value for m in page.main.markdown if m.value.startswith("**") and "item(s)" not in m.value]


def submit_save(at: AppTest, title: str, note: str = "", tags: str = "") -> AppTest:
    next(t for t in at.text_input if t.label == "Title").input(title)
    next(t for t in at.text_area if t.label == "Note").input(note)
    next(t for t in at.text_input if t.label.startswith("Tags")).input(tags)
    return next(b for b in at.button if b.label == "Save").click().run()


# -- permalinks --------------------------------------------------------------------------------------
def test_compare_link_round_trip_gives_the_same_view():
    at = app(None, sample="coffee")
    at.run()
    at.switch_page("pages/compare.py").run()
    clean(at)
    # change what the link must carry: class, threshold, colour scale, opacity, top-K, SLIC
    at.slider(key="w_threshold").set_value(0.35)
    at.selectbox(key="w_colorscale").set_value("Turbo")
    at.slider(key="w_opacity").set_value(0.7)
    at.slider(key="n_segments").set_value(80)
    at.slider(key="topk").set_value(2)
    at.radio(key="w_view").set_value("Difference")
    at.run()
    at.selectbox(key=next(k for k in at.session_state if str(k).startswith("w_target_class_"))).set_value(504).run()
    clean(at)
    query = dict(at.query_params)
    assert query["page"] == "compare" and query["photo"] == "sample:coffee" and query["class"] == "504"
    assert query["threshold"] == "0.35" and query["colors"] == "Turbo" and query["opacity"] == "0.7"
    assert query["segments"] == "80" and query["topk"] == "2" and query["view"] == "Difference"
    link = next(c.value for c in at.code)
    assert link.startswith("/compare?") and "class=504" in link

    other = open_page("pages/compare.py", query)  # user B: a fresh session opens the link
    clean(other)
    assert not other.warning
    for key in ("target_class", "threshold", "colorscale", "opacity", "n_segments", "topk", "sample", "view"):
        assert other.session_state[key] == at.session_state[key], key
    assert maps(other) == maps(at) and len(maps(at)) >= 4
    assert dict(other.query_params) == query


def test_every_session_choice_is_in_the_link():
    """A choice added to ui.app.session.SESSION_KEYS must get a line in ui.app.permalink.PARAMS (or the link loses it)."""
    from ui.app import session

    covered = {p.key for p in permalink.PARAMS} | {"page", "photo_key", "image_source", "sample"}
    missing = set(session.SESSION_KEYS) - covered
    assert not missing, f"add a LinkField line to ui/app/permalink.py PARAMS for: {sorted(missing)}"
    names = [p.name for p in permalink.PARAMS]
    assert len(names) == len(set(names)) and not {"page", "photo"} & set(names)


def test_explain_link_round_trip_with_other_methods():
    at = app({"photo": "sample:astronaut", "a_method": "gradcam", "b_method": "secam", "class": "834",
              "threshold": "0.6", "colors": "Cividis", "boundaries": "0"}).run()
    clean(at)
    assert not at.warning
    assert at.session_state["left_method"] == "gradcam" and at.session_state["target_class"] == 834
    assert at.session_state["boundaries"] is False and at.session_state["colorscale"] == "Cividis"
    query = dict(at.query_params)
    other = app(query).run()
    clean(other)
    assert maps(other) == maps(at) and dict(other.query_params) == query


def test_link_to_the_other_page_switches_to_it_and_full_url_uses_the_server_address():
    at = app({"page": "compare", "photo": "sample:rocket", "class": "812"})
    at.context["url"] = "http://team.example.org:8501/"
    at.run()
    clean(at)
    assert shown(at.title[0].value) == "Compare two explanations"
    assert at.session_state["target_class"] == 812 and at.session_state["sample"] == "rocket"
    link = next(c.value for c in at.code)
    assert link.startswith("http://team.example.org:8501/compare?page=compare&photo=sample%3Arocket"), link


@pytest.mark.parametrize("query, says", [
    ({"model": "no_such_model"}, "no model 'no_such_model'"),
    ({"photo": "sample:nope"}, "sample 'nope', does not exist"),
    ({"photo": "upload:" + "ab" * 32}, "not stored on this server"),
    ({"photo": "garbage"}, "neither sample:<name> nor a stored photo's hash"),
    ({"threshold": "1.5"}, "threshold cannot be used: 1.5 is outside [0, 1]"),
    ({"opacity": "nan"}, "opacity cannot be used"),
    ({"class": "cat"}, "class cannot be used: 'cat' is not a whole number"),
    ({"colors": "Rainbow"}, "colors cannot be used: 'Rainbow' is not one of Viridis, Cividis, Turbo, Jet"),
    ({"page": "nowhere"}, "unknown page 'nowhere'"),
    ({"b_method": "nope"}, "b_method cannot be used: there is no method 'nope'"),
    ({"params": "{not json"}, "params cannot be used: it is not valid JSON"),
    ({"params": '{"secam": {"n_segments": -4}}'}, "params cannot be used: secam:"),
    ({"segments": "99999"}, "segments cannot be used: 99999 is outside [10, 300]"),
])
def test_a_bad_link_warns_and_falls_back_to_the_default(query, says):
    at = app({"photo": "sample:coffee", "threshold": "0.25", **query}).run()
    clean(at)
    assert says in warnings(at), warnings(at)
    assert len(maps(at)) >= 2, "the page is still drawn"
    if "threshold" not in query:
        assert at.session_state["threshold"] == 0.25, "the link's other values still apply"
    if "photo" in query:
        assert at.session_state["sample"] == ui_session.DEFAULTS["sample"]
    # the URL now describes what is shown, so the warning does not come back on the next rerun
    at.run()
    assert says not in warnings(at)


def test_a_class_the_model_does_not_have_falls_back_to_the_top_prediction():
    at = app({"photo": "sample:chelsea", "class": "5000"}).run()
    clean(at)
    assert "class 5000 does not exist for efficientnet_lite0" in warnings(at)
    assert at.session_state["target_class"] == 285  # Egyptian cat, the top-1
    assert at.query_params["class"] == "285"


# -- stored photos -------------------------------------------------------------------------------------
def test_an_upload_is_stored_and_its_link_reopens_it_after_a_restart(tmp_path):
    from skimage import data

    rocket = data.rocket()[::2, ::2].copy()
    at = app(None, image_source=ui_session.SOURCE_UPLOAD, _identity_name="Ann")
    at.run()
    at.file_uploader[0].upload("rocket.png", png(rocket), "image/png").run()
    clean(at)
    sha = app_store.store().list_photos()[0].sha256
    assert any(f"Stored as `{sha[:12]}`" in shown(c.value) for c in at.sidebar.caption)
    assert app_store.store().list_photos()[0].uploader_id == "Ann"
    query = dict(at.query_params)
    assert query["photo"] == f"upload:{sha}"

    explanations.clear_caches()  # a restart: no cached photo, no open store
    other = app(query).run()
    clean(other)
    assert other.session_state["selection"].image_name == "rocket.png"
    assert np.array_equal(other.session_state["selection"].image, rocket)
    assert maps(other) == maps(at)
    # a bare hash (the stored photo's id) is a link too
    explanations.clear_caches()
    assert app({"photo": sha}).run().session_state["selection"].image_name == "rocket.png"
    # a link opened in the session that uploaded another photo shows the link's photo, not the uploader's
    coffee = app_store.store().put_photo(png(data.coffee()), "coffee.png", User("Bob"))
    at.query_params.clear()
    at.query_params.update({**query, "photo": f"upload:{coffee}"})
    at.run()
    clean(at)
    assert at.session_state["selection"].image_name == "coffee.png"
    assert at.query_params["photo"] == f"upload:{coffee}"


def test_an_upload_that_cannot_be_stored_still_works_in_the_tab(monkeypatch):
    from explainers_team.store import StoreError
    from skimage import data

    def full(*args, **kwargs):
        raise StoreError("saving photo rocket.png failed: the disk is full; free space in the data folder")

    monkeypatch.setattr(Store, "put_photo", full)
    at = app(None, image_source=ui_session.SOURCE_UPLOAD).run()
    at.file_uploader[0].upload("rocket.png", png(data.rocket()[::2, ::2].copy()), "image/png").run()
    assert not at.exception and not at.error
    assert "The photo is not stored: saving photo rocket.png failed: the disk is full" in warnings(at)
    assert len(maps(at)) >= 2


# -- saving, listing, editing, deleting ----------------------------------------------------------------
def test_save_from_compare_then_list_filter_open_edit_delete():
    at = app(None, sample="coffee", _identity_name="Ann")
    at.run()
    at.switch_page("pages/compare.py").run()
    at.slider(key="w_threshold").set_value(0.45).run()
    at = submit_save(at, "Coffee: CAM vs SeCAM", "SeCAM keeps the cup's rim.", "cups, Rim")
    clean(at)
    assert any("Saved 'Coffee: CAM vs SeCAM'" in shown(s.value) for s in at.success)
    [item] = app_store.store().list_items()
    assert item.author_id == "Ann" and item.tags == ("cups", "rim") and item.note == "SeCAM keeps the cup's rim."
    assert item.view == dict(at.query_params) and item.view["threshold"] == "0.45"
    assert item.models == ("efficientnet_lite0",) and item.methods == ("cam", "secam")
    assert item.class_label == "espresso" and len(item.thumbnails) == 2
    assert all(t.startswith(b"\xff\xd8\xff") for t in item.thumbnails)
    assert item.predictions["top"]["efficientnet_lite0"][0]["label"] == "espresso"
    secam = item.scores[1]
    assert secam["method"] == "secam" and len(secam["superpixels"]["scores"]) == len(secam["superpixels"]["ids"]) > 5

    # another from Explain, by Bob, on another photo
    bob = app({"photo": "sample:chelsea"}, _identity_name="Bob").run()
    bob = submit_save(bob, "A cat", "", "cats")
    clean(bob)
    assert len(app_store.store().list_items()) == 2

    # the Workspace page: both, newest first, without running any model
    page = open_page("pages/workspace.py", None, _identity_name="Ann")
    clean(page)
    assert card_titles(page) == ["**A cat**", "**Coffee\\: CAM vs SeCAM**"]
    page.selectbox(key="ws_tag").set_value("rim").run()
    assert card_titles(page) == ["**Coffee\\: CAM vs SeCAM**"]
    page.selectbox(key="ws_tag").set_value(None).run()
    page.text_input(key="ws_text").input("cat").run()
    assert card_titles(page) == ["**A cat**"]
    page.text_input(key="ws_text").input("").run()
    page.selectbox(key="ws_author").set_value(("Bob", "Bob")).run()
    assert "**1 item(s)** match the filters; newest first" in [m.value for m in page.main.markdown]
    page.selectbox(key="ws_author").set_value(None).run()

    # Ann may edit and delete her item, not Bob's
    assert page.button(key=f"delete_{item.id}").disabled is False
    bob_item = next(i for i in app_store.store().list_items() if i.author_id == "Bob")
    assert page.button(key=f"delete_{bob_item.id}").disabled is True

    # edit the note and tags
    form_note = next(t for t in page.text_area if t.label == "Note" and t.value == item.note)
    form_note.input("Rim and handle.")
    edit_button = next(b for b in page.button if b.label == "Save changes" and b.form_id == f"edit_{item.id}")
    edit_button.click().run()
    clean(page)
    edited = app_store.store().get_item(item.id)
    assert edited.note == "Rim and handle." and edited.tags == ("cups", "rim")
    assert any("Saved your changes" in shown(s.value) for s in page.success)

    # the exports: CSV and JSON of all items, the item's HTML report
    downloads = {b.label: b for b in page.get("download_button")}
    assert {"Export as CSV", "Export as JSON", "Report (HTML)"} <= set(downloads)
    exported = json.loads(app_store.store().export_items_json())
    assert {e["title"] for e in exported} == {"Coffee: CAM vs SeCAM", "A cat"}
    from ui.exports.item_report import item_html

    report = item_html(edited, permalink.url(edited.view), ws.item_photo(edited)).decode()
    assert "Rim and handle." in report and "Coffee: CAM vs SeCAM" in report and "espresso" in report

    # open: the exact view comes back (same page, same choices)
    page.button(key=f"open_{item.id}").click().run()
    clean(page)
    assert shown(page.title[0].value) == "Compare two explanations"
    assert page.session_state["threshold"] == 0.45 and page.session_state["sample"] == "coffee"
    assert dict(page.query_params) == item.view

    # delete: first a confirmation, then it is gone (Bob's stays)
    page.switch_page("pages/workspace.py").run()
    page.button(key=f"delete_{item.id}").click().run()
    assert any("Delete 'Coffee: CAM vs SeCAM' for everyone?" in shown(w.value) for w in page.warning)
    assert len(app_store.store().list_items()) == 2
    page.button(key=f"confirm_delete_{item.id}").click().run()
    clean(page)
    assert [i.title for i in app_store.store().list_items()] == ["A cat"]
    assert any("Deleted 'Coffee: CAM vs SeCAM'" in shown(s.value) for s in page.success)


def test_save_asks_for_a_name_once_and_uses_the_login_when_configured(monkeypatch):
    at = app({"photo": "sample:chelsea"}).run()
    assert next(b for b in at.button if b.label == "Save").disabled
    next(t for t in at.text_input if t.label.startswith("Your name")).input("Cleo")
    next(b for b in at.button if b.label == "Continue").click().run()
    clean(at)
    assert at.session_state["_identity_name"] == "Cleo"
    assert any('"explainers_name="' in h.proto.body and '"Cleo"' in h.proto.body for h in at.get("html"))
    at = submit_save(at, "Cleo's cat")
    assert app_store.store().list_items()[0].author_name == "Cleo"

    from explainers_team.access import User
    from ui.app import auth

    # what ui.auth gives once login is configured and Dana has signed in (tests/test_login_browser.py: the real flow)
    monkeypatch.setattr(auth, "auth_configured", lambda: True)
    monkeypatch.setattr(auth, "current_user", lambda: User("dana@example.org", "Dana", True))
    at = app({"photo": "sample:chelsea"}).run()
    assert any("Saving as **Dana** (dana@example.org), signed in." in shown(c.value) for c in at.caption)
    at = submit_save(at, "Dana's cat")
    assert app_store.store().list_items()[0].author_id == "dana@example.org"
    # an admin (from the login) may delete what Cleo saved
    page = open_page("pages/workspace.py")
    cleo = next(i for i in app_store.store().list_items() if i.author_id == "Cleo")
    assert page.button(key=f"delete_{cleo.id}").disabled is False


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_failing_database_on_save_writes_nothing(database_url, monkeypatch):
    """An injected failure in the middle of the save's transaction: one clear error, no row, the page drawn."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    monkeypatch.setenv("EXPLAINERS_DATABASE_URL", database_url)
    flush = Session.flush

    def failing_flush(self, *args, **kwargs):
        flush(self, *args, **kwargs)  # the rows are sent, then the disk fills up before the commit
        raise OperationalError("INSERT INTO items", {}, Exception("could not extend file: No space left on device"))

    at = app({"photo": "sample:chelsea"}, _identity_name="Ann").run()
    monkeypatch.setattr(Session, "flush", failing_flush)
    at = submit_save(at, "Will not land", "note", "t")
    monkeypatch.setattr(Session, "flush", flush)
    assert not at.exception
    [error] = [shown(e.value) for e in at.error]
    assert error.startswith("Not saved:") and "disk holding the database is full" in error, error
    assert app_store.store().list_items() == [] and app_store.store().item_facets()["tags"] == []
    assert len(maps(at)) >= 2, "the rest of the page is still drawn"
    at = submit_save(at, "Lands", "note", "t")  # once the database is back, saving works
    clean(at)
    assert [i.title for i in app_store.store().list_items()] == ["Lands"]


def test_an_unreachable_database_leaves_the_other_pages_working(monkeypatch):
    from skimage import data

    monkeypatch.setenv("EXPLAINERS_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/nothing?connect_timeout=2")
    page = open_page("pages/workspace.py")
    assert not page.exception
    [error] = [shown(e.value) for e in page.error]
    assert error.startswith("The workspace is not available:") and "other pages keep working" in error
    at = app({"photo": "sample:chelsea"}, _identity_name="Ann").run()
    clean(at)
    assert len(maps(at)) >= 2
    at = submit_save(at, "Nope")
    assert not at.exception and shown(at.error[0].value).startswith("Not saved:")
    # an upload is explained anyway, with a warning that its link will not reopen it elsewhere
    at = app(None, image_source=ui_session.SOURCE_UPLOAD).run()
    at.file_uploader[0].upload("rocket.png", png(data.rocket()[::2, ::2].copy()), "image/png").run()
    assert not at.exception and not at.error and "The photo is not stored" in warnings(at)


def test_item_report_is_self_contained(tmp_path):
    from ui.exports.item_report import item_html

    found = Store(data_dir=tmp_path / "d")
    thumb = ws.jpeg(np.full((400, 600, 3), 128, np.uint8))
    assert Image.open(io.BytesIO(thumb)).size == (ws.THUMBNAIL_SIDE, ws.THUMBNAIL_SIDE * 2 // 3)
    item_id = found.save_item(title="<b>x</b>", author=User("Ann"), view={"page": "explain", "class": "1"},
                              models=["m"], methods=["cam"], class_index=1, class_label="goldfish",
                              note="line 1\nline 2", tags="a", thumbnails=[thumb],
                              scores=[{"side": "A", "method": "secam", "model": "m", "label": "goldfish",
                                       "class_index": 1, "probability": 0.5,
                                       "superpixels": {"ids": [3, 4], "scores": [0.2, 0.9], "areas": [10, 30],
                                                       "kept": [False, True]}}],
                              predictions={"top": {"m": [{"class_index": 1, "label": "goldfish",
                                                          "probability": 0.5}]}})
    page = item_html(found.get_item(item_id), "http://host/?page=explain&class=1").decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page  # escaped
    assert "data:image/jpeg;base64," in page and "line 1<br>line 2" in page and "goldfish" in page
    assert "href='http://host/?page=explain&amp;class=1'" in page and "Saved to the workspace by Ann" in page
    assert page.index("<td>4</td>") < page.index("<td>3</td>"), "superpixels best first"
    assert "<script" not in page and "src='http" not in page and 'src="http' not in page  # nothing fetched


def test_a_rerun_carrying_an_older_address_of_this_session_keeps_the_change():
    """A widget's rerun carries the address the browser showed when the widget changed; while the previous
    run is still writing the new one, that is an older address this session wrote. It must not undo the
    user's change (a swipe slider moved in steps used to throw the page back to the side-by-side view)."""
    at = open_page("pages/compare.py", {})
    clean(at)
    older = dict(at.query_params)
    assert older["view"] != "Swipe"
    at.radio(key="w_view").set_value("Swipe").run()
    assert at.query_params["view"] == "Swipe"
    at.query_params.clear()
    at.query_params.update(older)  # the stale address
    at.run()
    clean(at)
    assert at.session_state["view"] == "Swipe" and at.query_params["view"] == "Swipe"
