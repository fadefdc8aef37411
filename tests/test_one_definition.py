"""One definition of each concept: the copies that had drifted apart, each pinned by a test.

Each test here failed on the code before the concepts were merged: a study built its conditions without
the threshold and SLIC's working size; the Workspace and the Review asked for the name twice (two
cookies); the store read its own admin list from the environment; the Review's folder listing read
files that link out of the allowed folders and left GIFs out; "can this method explain this model" had
four messages and two exception types.
"""

from __future__ import annotations

import io
import os
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, shown

sys.path.insert(0, str(ROOT))
from streamlit.testing.v1 import AppTest  # noqa: E402

import explainers  # noqa: E402
from explainers import CamNotExactError, Condition  # noqa: E402
from explainers_team.store import PermissionDeniedError, Store  # noqa: E402

TIMEOUT = 300


def session(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


@pytest.mark.slow
def test_a_study_is_made_of_the_conditions_compare_shows(tmp_path, monkeypatch, default_model):
    """The same sidebar and display choices give the same conditions, and the same maps, on Compare and in a
    study (the study used to drop the threshold and SLIC's working size)."""
    monkeypatch.setenv("EXPLAINERS_DATA_DIR", str(tmp_path / "data"))
    at = session(sample="chelsea", n_segments=30, slic_full=True, threshold=0.45, _identity_name="Ann")
    at.switch_page("pages/compare.py").run()
    assert not at.exception and not at.error, [shown(e.value) for e in at.error]
    shared = {"n_segments": 30, "compactness": 10.0, "slic_max_side": 0, "threshold": 0.45}
    compare_a, compare_b = (Condition.make("efficientnet_lite0", m, shared) for m in ("cam", "secam"))
    at.switch_page("pages/review.py").run()
    at.text_input(key="review_new_name").input("Cats")
    at.multiselect(key="review_samples").set_value(["chelsea"])
    at.toggle(key="review_measure").set_value(False)
    at.button(key="review_create").click().run()
    assert not at.exception and not at.error, [shown(e.value) for e in at.error]
    store = Store(data_dir=tmp_path / "data")
    [study] = store.list_studies()
    assert [Condition.from_dict(c) for c in study.conditions] == [compare_a, compare_b]
    # the stored map of B is Compare's B map (at the stored picture's size)
    [trial] = store.trials_for(study.id, with_maps=True)
    from skimage import data

    [expected] = compare_b.explainer().explain(default_model, data.chelsea(), targets=[trial.class_index])
    stored = np.load(io.BytesIO(trial.maps[1].saliency))
    resized = cv2.resize(expected.saliency, stored.shape[::-1], interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(stored, resized, atol=1e-5)


@pytest.mark.slow
def test_one_typed_name_for_the_workspace_and_the_review(tmp_path, monkeypatch):
    """Without login, the name typed once (on any page) is the author on the Workspace and the reviewer."""
    monkeypatch.setenv("EXPLAINERS_DATA_DIR", str(tmp_path / "data"))
    at = session()
    at.switch_page("pages/workspace.py").run()
    at.text_input(key="workspace_author_input").input("Cleo")
    next(b for b in at.get("form_submit_button") if b.label == "Continue").click().run()
    assert not at.exception
    assert any('"explainers_name="' in h.proto.body for h in at.get("html"))  # the one cookie
    at.switch_page("pages/review.py").run()
    assert not at.exception
    assert not [t for t in at.text_input if t.label.startswith("Your name")], "the Review asked for the name again"
    assert any("Reviewing as **Cleo**" in shown(c.value) for c in at.caption)


def test_the_store_has_no_admin_list_of_its_own(tmp_path, monkeypatch):
    """Who is an admin is decided once, at sign-in (explainers_team.access); a typed name listed in
    EXPLAINERS_ADMINS gets no rights from the store."""
    from store_data import item_fields

    monkeypatch.setenv("EXPLAINERS_ADMINS", "boss")
    with Store(data_dir=tmp_path / "data") as store:
        item = store.save_item(**item_fields(author="ann"))
        with pytest.raises(PermissionDeniedError, match="only ann"):
            store.update_item(item, by="boss", title="mine now")


@pytest.mark.slow
def test_the_review_reads_a_server_folder_through_the_one_checked_listing(tmp_path, monkeypatch):
    """Every file of the folder is checked under the roots: a link out (to a text file or a photo elsewhere)
    is left out by name and never read, and a GIF counts as a photo (the Review's own list dropped it)."""
    from PIL import Image
    from skimage import data

    roots, outside = tmp_path / "roots", tmp_path / "outside"
    folder = roots / "incoming"
    folder.mkdir(parents=True)
    outside.mkdir()
    Image.fromarray(data.chelsea()).save(folder / "cat.png")
    Image.fromarray(data.coffee()).save(folder / "cup.gif")
    secret = outside / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    Image.fromarray(data.rocket()).save(outside / "rocket.png")
    os.symlink(secret, folder / "passwd.png")
    os.symlink(outside / "rocket.png", folder / "rocket.png")
    monkeypatch.setenv("EXPLAINERS_DATA_DIR", str(roots / "data"))
    monkeypatch.setenv("EXPLAINERS_DATA_ROOTS", str(roots))
    at = session(_identity_name="Ann")
    at.switch_page("pages/review.py").run()
    at.multiselect(key="review_samples").set_value([])
    at.text_input(key="review_folder").input("incoming")
    at.toggle(key="review_measure").set_value(False)
    at.text_input(key="review_new_name").input("Things")
    at.button(key="review_create").click().run()
    assert not at.exception
    text = " ".join(shown(e.value) for e in (*at.warning, *at.error, *at.info, *at.caption, *at.markdown))
    assert "root:x" not in text
    assert "passwd.png" in text and "rocket.png" in text  # named as left out
    store = Store(data_dir=roots / "data")
    [study] = store.list_studies()
    names = sorted(store.photo_info(t.photo_sha256).original_name for t in store.trials_for(study.id))
    assert names == ["cat.png", "cup.gif"]


def test_one_rule_and_one_error_for_a_method_a_model_cannot_serve(two_layer_model):
    """explain, make_explainers and a study's preparation refuse CAM on a head that is not GAP + linear with the
    same error type and a message that lists the methods that would work."""
    from explainers.evaluate import make_explainers
    from explainers_team.review.design import prepare_trials

    image = np.zeros((40, 40, 3), np.uint8)
    attempts = [
        lambda: explainers.get_explainer("cam").explain(two_layer_model, image),
        lambda: make_explainers(["cam"], two_layer_model),
        lambda: prepare_trials([("x", image)], Condition.make("two_layer", "gradcam"),
                               Condition.make("two_layer", "cam"), load={"two_layer": two_layer_model}),
    ]
    for attempt in attempts:
        with pytest.raises(CamNotExactError, match="use one of gradcam, lime"):
            attempt()
    assert explainers.EXPLAINERS["gradcam"].supports(two_layer_model)
    assert not explainers.EXPLAINERS["cam"].supports(two_layer_model)


def test_one_list_of_image_suffixes():
    """The library's list is the one the uploader, the folders and the CLI use (GIF included)."""
    from explainers.images import IMAGE_SUFFIXES
    from ui.compute.photos import UPLOAD_TYPES

    assert ".gif" in IMAGE_SUFFIXES and sorted(s.lstrip(".") for s in IMAGE_SUFFIXES) == UPLOAD_TYPES
