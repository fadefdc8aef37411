"""The Evaluate page and the Compare page's faithfulness view, driven by ``AppTest`` through the real dashboard.py.

Kept small for a shared 2-core machine: two photos, CAM only, two curve steps
for the Evaluate page; four steps for the Compare page's curves. Plus the library
hook the Evaluate page drives (``evaluate_photos`` with ``on_progress``) on the
tiny synthetic model.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from explainers.evaluate import COLUMNS, evaluate_photos, make_explainers, results_csv  # noqa: E402
from ui.text import md  # noqa: E402
from ui.compute import models  # noqa: E402
from ui.views import evaluate  # noqa: E402

from photos import skimage_photo  # noqa: E402
from conftest import shown  # noqa: E402

TIMEOUT = 300


def evaluate_page() -> AppTest:
    """The dashboard on the Evaluate page, set to CAM only with two curve steps (fast)."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["sample"] = "chelsea"
    at.run()
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.multiselect(key="evaluate_methods").set_value(["cam"])
    at.slider(key="evaluate_steps").set_value(2)
    return at


def png(shape=(64, 80), seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (*shape, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def download(at: AppTest, label: str):
    return next(b for b in at.get("download_button") if b.label == label)


# -- the Evaluate page ----------------------------------------------------------------------
@pytest.fixture
def photo_folder(tmp_path):
    """Three scikit-image photos and a labels.csv (true classes), as a team's sample folder would be."""
    folder = tmp_path / "sample"
    folder.mkdir()
    for name in ("chelsea", "coffee", "rocket"):
        shutil.copy(skimage_photo(name), folder / skimage_photo(name).name)
    (folder / "labels.csv").write_text("file,class_index\nchelsea.png,285\ncoffee.png,967\nrocket.jpg,657\n")
    return folder


def test_evaluate_page_on_a_server_folder(photo_folder, monkeypatch):
    monkeypatch.setenv("EXPLAINERS_SAMPLE_DIR", str(photo_folder))
    at = evaluate_page()
    assert at.text_input(key="evaluate_folder").value == str(photo_folder)  # suggested from EXPLAINERS_SAMPLE_DIR
    at.radio(key="evaluate_source").set_value("Folder on the server")
    at.number_input(key="evaluate_limit").set_value(2)
    at.toggle(key="evaluate_labels").set_value(True)  # the folder's labels.csv: explain the true class
    at.button(key="evaluate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [shown(e.value) for e in at.error]
    table = at.dataframe[2].value  # the verdicts, the summary, then the results
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 4 and list(table["method"]) == ["cam", "random", "cam", "random"]
    assert sorted(set(table["file"])) == ["chelsea.png", "coffee.png"]
    assert table["deletion_auc"].between(0, 1).all() and table["insertion_auc"].between(0, 1).all()
    assert (table["true_class"] == table["class_index"]).all() and table["correct"].notna().all()
    assert "Top-1 accuracy: 100%" in shown(at.success[0].value)
    summary = at.dataframe[1].value
    assert list(summary["method"]) == ["cam", "random"]
    verdicts = at.dataframe[0].value  # cam against the random map, under deletion and insertion
    assert list(verdicts["metric"]) == ["Deletion AUC", "Insertion AUC"]
    assert set(verdicts["pair"]) == {"cam vs random"} and verdicts["photos"].eq(2).all()
    assert {download(at, "results.csv").label, download(at, "summary.json").label} == {"results.csv",
                                                                                         "summary.json"}
    assert len(at.get("plotly_chart")) == 4  # agreement, AUC, time, mean curves
    # the gallery: per photo, the photo and the CAM map, captioned with that photo's AUCs
    captions = [shown(c) for img in at.main.get("image") for c in img.captions]  # the sidebar has its thumbnail
    assert len(captions) == 2 * 2, captions
    assert captions[0] == "chelsea.png: Egyptian cat, true class 285"
    assert captions[1].startswith("cam: Deletion AUC 0.") and ", Insertion AUC 0." in captions[1]
    assert captions[2].startswith("coffee.png: espresso")
    # the result survives a rerun caused by another widget, without running again
    at.slider(key="evaluate_steps").set_value(3).run()
    assert not at.exception and len(at.dataframe[2].value) == 4


def test_evaluate_page_without_a_sample_suggests_nothing(monkeypatch):
    monkeypatch.delenv("EXPLAINERS_SAMPLE_DIR", raising=False)
    at = evaluate_page()
    assert at.radio(key="evaluate_source").value == "Upload photos"  # no folder to suggest: uploads first
    at.radio(key="evaluate_source").set_value("Folder on the server").run()
    assert at.text_input(key="evaluate_folder").value == ""


def test_evaluate_page_shows_a_glob_as_typed(tmp_path):
    """A glob in an error keeps its `*` (Streamlit would read `*...*` as Markdown emphasis)."""
    at = evaluate_page()
    at.radio(key="evaluate_source").set_value("Folder on the server").run()
    pattern = str(tmp_path / "*_x_*.jpg")
    at.text_input(key="evaluate_folder").set_value(pattern)
    at.button(key="evaluate_run").click().run()
    assert not at.exception
    [error] = [e for e in at.error if "no image files" in e.value]
    assert md(pattern) in error.value  # escaped in the Markdown source, so shown as typed
    assert pattern.replace("*", "") not in error.value.replace("\\", "")


def test_evaluate_page_bad_upload_among_good_ones():
    at = evaluate_page()
    at.radio(key="evaluate_source").set_value("Upload photos").run()
    at.file_uploader(key="evaluate_uploads").set_value([
        ("a.png", png(seed=1), "image/png"),
        ("broken.jpg", b"\xff\xd8\xff\xe0 not really a JPEG", "image/jpeg"),
        ("b.png", png(seed=2), "image/png"),
    ]).run()
    at.button(key="evaluate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and "broken.jpg" in shown(errors[0])
    table = at.dataframe[2].value
    assert sorted(set(table["file"])) == ["a.png", "b.png"]
    assert shown(errors[0]).startswith("broken.jpg was skipped: ") and shown(errors[0]).count("broken.jpg") == 1
    assert "1 failed" in shown(at.success[0].value)


def test_evaluate_page_bad_folder_says_what_to_do(tmp_path):
    at = evaluate_page()
    at.radio(key="evaluate_source").set_value("Folder on the server").run()
    at.text_input(key="evaluate_folder").set_value(str(tmp_path / "nowhere"))
    at.button(key="evaluate_run").click().run()
    assert not at.exception
    assert any("does not exist" in shown(e.value) for e in at.error)
    at.text_input(key="evaluate_folder").set_value(str(tmp_path))  # exists, but holds no photo
    at.button(key="evaluate_run").click().run()
    assert not at.exception
    assert any("no image files" in shown(e.value) for e in at.error)
    assert not at.get("download_button")


def test_evaluate_page_without_a_model_says_why(monkeypatch):
    import explainers

    def broken(name):
        raise explainers.WeightsUnavailableError(f"model '{name}': weights file is corrupt")

    monkeypatch.setattr(models, "get_model", broken)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception
    assert any("model" in shown(e.value) for e in at.error)
    assert not at.get("button")


# -- the library hook and the helpers -------------------------------------------------------
def test_evaluate_photos_progress_and_failures(tiny_model, tmp_path):
    good = tmp_path / "red.png"
    good.write_bytes(png((32, 32)))
    calls = []
    results, failures = evaluate_photos(tiny_model, [good, ("bad.jpg", b"nope"), ("up.png", png((32, 32), 3))],
                                        make_explainers(["cam"], tiny_model),
                                        on_progress=lambda *a: calls.append(a), steps=2)
    assert calls == [(1, 3, "red.png"), (2, 3, "bad.jpg"), (3, 3, "up.png")]
    assert [f.file for f in failures] == ["bad.jpg"] and "bad.jpg" in failures[0].message
    assert [(r.file, r.method) for r in results] == [("red.png", "cam"), ("red.png", "random"),
                                                     ("up.png", "cam"), ("up.png", "random")]
    rows = list(csv.DictReader(io.StringIO(results_csv(results))))
    assert list(rows[0]) == list(COLUMNS) and len(rows) == 4


def test_folder_photos_validates(tmp_path):
    with pytest.raises(Exception, match="type the path"):
        evaluate.folder_photos("  ", 3)
    with pytest.raises(Exception, match=r"\[1, "):
        evaluate.folder_photos(str(tmp_path), 0)
    for name in ("c.png", "a.png", "b.png"):
        (tmp_path / name).write_bytes(png((32, 32)))
    assert [p.name for p in evaluate.folder_photos(str(tmp_path), 2).photos] == ["a.png", "b.png"]
    assert [p.name for p in evaluate.folder_photos(str(tmp_path / "*.png"), 5).photos] == ["a.png", "b.png", "c.png"]
