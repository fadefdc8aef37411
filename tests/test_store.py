"""The store's API on SQLite and on a real PostgreSQL server (the ``store`` fixture runs each test on both)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timezone

import numpy as np
import pytest
from pg_server import ADMIN_EMAIL
from store_data import files_under, item_fields, npy, photo, png, trial_order

from explainers.errors import ExplainersError, ImageError
from explainers_team.store import (InvalidRecordError, NotFoundError, PermissionDeniedError, TrialMap, NewTrial,
                              QuotaExceededError, Store, StudyClosedError, User)

#: An admin as the login makes one (the store trusts ``is_admin``; who is an admin is decided at sign-in).
ADMIN = User(ADMIN_EMAIL, "Admin", is_admin=True)

# ---------------------------------------------------------------- photos


def test_photo_is_stored_once_by_its_sha256(store):
    data = photo("chelsea")
    sha = store.put_photo(data, "uploads/chelsea.jpg", User("Ann@Example.org", "Ann"))
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.put_photo(data, "again.jpg", "bob") == sha  # same bytes, another user: nothing new
    info = store.photo_info(sha)
    assert (info.original_name, info.media_type, info.byte_size) == ("chelsea.jpg", "image/jpeg", len(data))
    assert (info.width, info.height) == (451, 300)
    assert (info.uploader_id, info.uploader_name) == ("ann@example.org", "Ann")
    assert info.created_at.tzinfo == timezone.utc
    assert store.get_photo(sha) == data
    path = store.photo_path(sha)
    assert path == store.data_dir / "photos" / sha[:2] / f"{sha}.jpg"
    assert files_under(store.data_dir / "photos") == [path]
    assert [p.sha256 for p in store.list_photos()] == [sha]
    assert store.usage("bob").user_bytes == 0 and store.usage("ann@example.org").user_bytes == len(data)


def test_png_photo_keeps_its_format(store):
    data = photo("coffee", "PNG")
    sha = store.put_photo(data, "coffee.png", "ann")
    assert store.photo_path(sha).suffix == ".png" and store.photo_info(sha).media_type == "image/png"


def test_bad_upload_is_refused_before_anything_is_written(store):
    with pytest.raises(ImageError, match="notes.txt"):
        store.put_photo(b"this is not an image", "notes.txt", "ann")
    with pytest.raises(ImageError, match="tiny.png"):
        store.put_photo(photo("chelsea", "PNG")[:200], "tiny.png", "ann")  # truncated
    assert store.list_photos() == [] and files_under(store.data_dir / "photos") == []


def test_unknown_or_malformed_photo_hash_says_so(store):
    with pytest.raises(NotFoundError, match="no stored photo"):
        store.get_photo("0" * 64)
    with pytest.raises(NotFoundError, match="64 hex digits"):
        store.photo_info("../../etc/passwd")


def test_lost_photo_file_is_reported_and_restored_by_a_new_upload(store):
    data = photo("rocket")
    sha = store.put_photo(data, "rocket.jpg", "ann")
    store.photo_path(sha).unlink()
    with pytest.raises(NotFoundError, match="missing; restore the photos folder"):
        store.get_photo(sha)
    assert store.put_photo(data, "rocket.jpg", "bob") == sha
    assert store.get_photo(sha) == data


# ---------------------------------------------------------------- quotas


@pytest.mark.parametrize("which", ["user", "total"])
def test_quota_refuses_with_a_clear_message_and_writes_nothing(store, which):
    first, second = photo("chelsea"), photo("coffee")
    limit = len(first) + len(second) - 1  # either fits alone, not both
    quotas = {"quota_user_bytes": limit if which == "user" else 0, "quota_total_bytes": limit if which == "total" else 0}
    with Store(store.url, store.data_dir, **quotas) as limited:
        sha = limited.put_photo(first, "chelsea.jpg", "ann")
        variable = "EXPLAINERS_QUOTA_USER_MB" if which == "user" else "EXPLAINERS_QUOTA_TOTAL_MB"
        uploader = "ann" if which == "user" else "bob"  # the total quota binds everyone
        with pytest.raises(QuotaExceededError, match=variable) as err:
            limited.put_photo(second, "coffee.jpg", uploader)
        assert "coffee.jpg" in str(err.value) and "MB" in str(err.value)
        assert isinstance(err.value, ExplainersError)
        assert limited.put_photo(first, "chelsea.jpg", "ann") == sha  # already stored: costs nothing
        if which == "user":
            limited.put_photo(second, "coffee.jpg", "bob")  # another user's quota is their own
        assert limited.usage("ann").user_quota == quotas["quota_user_bytes"]
    expected = 2 if which == "user" else 1
    assert len(store.list_photos()) == expected
    assert len(files_under(store.data_dir / "photos")) == expected


def test_quota_setting_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPLAINERS_QUOTA_USER_MB", "0.5")
    monkeypatch.setenv("EXPLAINERS_QUOTA_TOTAL_MB", "0")
    with Store(data_dir=tmp_path) as s:
        assert (s.quota_user_bytes, s.quota_total_bytes) == (512 * 1024, 0)
    monkeypatch.setenv("EXPLAINERS_QUOTA_USER_MB", "lots")
    with pytest.raises(ExplainersError, match="EXPLAINERS_QUOTA_USER_MB must be a number"):
        Store(data_dir=tmp_path)


# ---------------------------------------------------------------- items


def test_item_round_trip(store):
    sha = store.put_photo(photo("chelsea"), "chelsea.jpg", "ann@example.org")
    fields = item_fields(photo_sha256=sha, author=User("ann@example.org", "Ann"), tags="Cats, faces ,cats")
    item_id = store.save_item(**fields)
    item = store.get_item(item_id)
    assert item.id == item_id and item.title == fields["title"] and item.note == fields["note"]
    assert item.tags == ("cats", "faces")
    assert (item.author_id, item.author_name) == ("ann@example.org", "Ann")
    assert item.models == ("efficientnet_lite0",) and item.methods == ("cam", "secam")
    assert (item.class_index, item.class_label, item.photo_sha256) == (285, "Egyptian cat", sha)
    assert item.view == fields["view"]
    assert item.predictions == fields["predictions"]
    assert item.scores["ids"] == [1, 2, 3] and item.scores["scores"] == pytest.approx([0.1, 0.9, 0.5])
    assert item.thumbnails == tuple(fields["thumbnails"])
    assert item.created_at.tzinfo == timezone.utc and item.updated_at == item.created_at
    assert json.loads(json.dumps(item.to_dict()))["view"] == fields["view"]
    assert item.query == "page=compare&photo=sample%3Achelsea&class=285&threshold=0.8"


@pytest.mark.parametrize("change, error, message", [
    ({"title": "  "}, InvalidRecordError, "`title` is empty"),
    ({"title": "x" * 201}, InvalidRecordError, "at most 200"),
    ({"class_index": -1}, InvalidRecordError, "class_index"),
    ({"class_index": "285"}, TypeError, "class_index"),
    ({"models": []}, InvalidRecordError, "models"),
    ({"thumbnails": [b"GIF89a..."]}, InvalidRecordError, "not a PNG or JPEG"),
    ({"thumbnails": png(1)}, TypeError, "list of encoded pictures"),
    ({"scores": {"x": float("nan")}}, InvalidRecordError, "cannot be stored as JSON"),
    ({"scores": {"x": object()}}, InvalidRecordError, "cannot be stored as JSON"),
    ({"view": {"page": None}}, InvalidRecordError, "view"),
    ({"author": " "}, InvalidRecordError, "identity is empty"),
    ({"photo_sha256": "a" * 64}, NotFoundError, "put_photo first"),
    ({"tags": ["x" * 65]}, InvalidRecordError, "at most 64"),
])
def test_bad_item_is_refused_and_nothing_saved(store, change, error, message):
    with pytest.raises(error, match=message):
        store.save_item(**item_fields(**change))
    assert store.list_items() == []


def test_list_items_filters(store):
    a = store.save_item(**item_fields(title="Cat face", tags=["cats"]))
    b = store.save_item(**item_fields(title="Coffee cup", author="bob", class_index=967, class_label="espresso",
                                      models=["efficientnet_lite1"], methods=["gradcam"], tags=["drinks"],
                                      note="100% crema_ here"))
    c = store.save_item(**item_fields(title="Rocket", author=User("carol", "Carol"), class_index=812,
                                      class_label="space shuttle", models=["efficientnet_lite0", "efficientnet_lite1"],
                                      tags=[]))
    ids = lambda **f: [i.id for i in store.list_items(**f)]  # noqa: E731
    assert ids() == [c, b, a]  # newest first
    assert ids(model="efficientnet_lite0") == [c, a]
    assert ids(model="efficientnet_lite1") == [c, b]
    assert ids(model="efficientnet") == []  # whole names only
    assert ids(method="gradcam") == [b] and ids(method="cam") == [c, a]
    assert ids(class_index=967) == [b]
    assert ids(author="bob") == [b] and ids(author=User("carol")) == [c]
    assert ids(tag="CATS") == [a] and ids(tag="none") == []
    assert ids(text="CUP") == [b] and ids(text="shuttle") == [c] and ids(text="crema") == [b]
    assert ids(text="100%") == [b] and ids(text="%") == [b] and ids(text="_") == [b]  # wildcards are literal
    assert ids(model="efficientnet_lite1", author="bob", tag="drinks", text="coffee") == [b]
    assert ids(limit=1) == [c] and ids(limit=1, offset=1) == [b]
    listed = store.list_items(with_thumbnails=False)
    assert all(i.thumbnails == () for i in listed)
    facets = store.item_facets()
    assert facets["models"] == ["efficientnet_lite0", "efficientnet_lite1"]
    assert facets["methods"] == ["cam", "gradcam", "secam"]
    assert facets["classes"] == [(285, "Egyptian cat"), (812, "space shuttle"), (967, "espresso")]
    assert facets["authors"] == [("ann@example.org", "ann@example.org"), ("bob", "bob"), ("carol", "Carol")]
    assert facets["tags"] == ["cats", "drinks"]


def test_only_the_author_or_an_admin_may_edit(store):
    item_id = store.save_item(**item_fields(author=User("ann@example.org", "Ann")))
    with pytest.raises(PermissionDeniedError, match="only Ann \\(the author\\) or an admin may edit"):
        store.update_item(item_id, by=User("bob@example.org", "Bob"), note="mine now")
    assert store.get_item(item_id).note == "SeCAM keeps the face"
    updated = store.update_item(item_id, by="ANN@example.org", note="checked", tags=["b", "a"])
    assert (updated.note, updated.tags, updated.title) == ("checked", ("a", "b"), item_fields()["title"])
    assert updated.updated_at >= updated.created_at
    assert store.update_item(item_id, by=ADMIN, title="Renamed").title == "Renamed"  # admin (signed in)
    assert store.update_item(item_id, by=User("root", is_admin=True), tags=[]).tags == ()  # any admin
    assert store.get_item(item_id).note == "checked"
    with pytest.raises(NotFoundError):
        store.update_item(item_id + 100, by=ADMIN, note="x")


def test_one_users_delete_never_removes_another_users_item(store):
    ann = store.save_item(**item_fields(author="ann"))
    bob = store.save_item(**item_fields(author="bob"))
    with pytest.raises(PermissionDeniedError, match="only ann"):
        store.delete_item(ann, by="bob")
    store.delete_item(bob, by="bob")
    assert [i.id for i in store.list_items()] == [ann]
    with pytest.raises(NotFoundError, match="may have been deleted"):
        store.delete_item(bob, by="bob")
    store.delete_item(ann, by=ADMIN)
    assert store.list_items() == [] and store.item_facets()["tags"] == []


def test_deleting_an_item_keeps_its_photo(store):
    sha = store.put_photo(photo("chelsea"), "chelsea.jpg", "ann")
    first = store.save_item(**item_fields(author="ann", photo_sha256=sha))
    store.save_item(**item_fields(author="bob", photo_sha256=sha))
    store.delete_item(first, by="ann")
    assert store.get_photo(sha) == photo("chelsea")
    assert [i.author_id for i in store.list_items()] == ["bob"]


def test_exports(store):
    store.save_item(**item_fields(title='Quote " and, comma'))
    store.save_item(**item_fields(title="Other", author="bob", tags=["x"]))
    rows = list(csv.DictReader(io.StringIO(store.export_items_csv())))
    assert [r["title"] for r in rows] == ["Other", 'Quote " and, comma']
    assert rows[1]["tags"] == "cats;faces" and rows[1]["methods"] == "cam;secam"
    assert rows[1]["query"] == "page=compare&photo=sample%3Achelsea&class=285&threshold=0.8"
    assert [r["title"] for r in csv.DictReader(io.StringIO(store.export_items_csv(author="bob")))] == ["Other"]
    data = json.loads(store.export_items_json())
    assert [d["title"] for d in data] == ["Other", 'Quote " and, comma']
    assert data[1]["scores"]["ids"] == [1, 2, 3] and "thumbnails" not in data[1]


# ---------------------------------------------------------------- studies

CONDITIONS = [{"model": "efficientnet_lite0", "method": "cam", "params": {}},
              {"model": "efficientnet_lite0", "method": "secam", "params": {"n_segments": 50, "threshold": 0.8}}]


def make_study(store, n=4, creator=User("carol@example.org", "Carol")):
    shas = [store.put_photo(photo(name), f"{name}.jpg", creator) for name in ("chelsea", "coffee", "astronaut", "rocket")]
    trials = [NewTrial(shas[i % 4], 100 + i, f"class {i}",
                            (TrialMap(png(2 * i), npy(i), {"deletion_auc": 0.2, "insertion_auc": 0.6}),
                             TrialMap(png(2 * i + 1), None, {"deletion_auc": 0.25, "insertion_auc": 0.55})))
              for i in range(n)]
    return store.create_study(name="CAM vs SeCAM", creator=creator, conditions=CONDITIONS, trials=trials), trials


def test_study_round_trip(store):
    study_id, trials = make_study(store)
    study = store.get_study(study_id)
    assert (study.name, study.creator_id, study.creator_name, study.n_trials) == ("CAM vs SeCAM", "carol@example.org",
                                                                                  "Carol", 4)
    assert study.conditions == CONDITIONS and not study.is_closed
    assert "{label}" in study.question
    assert [s.id for s in store.list_studies()] == [study_id]
    listed = store.trials_for(study_id)
    assert [t.position for t in listed] == [0, 1, 2, 3] and all(t.maps == () for t in listed)
    assert listed[1].class_index == 101 and listed[1].metrics[1]["insertion_auc"] == 0.55
    full = store.trials_for(study_id, with_maps=True)
    assert full[2].maps[0].picture == trials[2].maps[0].picture and full[2].maps[0].saliency == npy(2)
    assert full[2].maps[1].saliency is None
    assert store.get_trial(full[3].id).maps[1].picture == trials[3].maps[1].picture
    with pytest.raises(NotFoundError):
        store.get_study(study_id + 1)


def test_trial_order_is_per_reviewer_stable_and_complete(store):
    study_id, _ = make_study(store, n=12)
    ids = sorted(t.id for t in store.trials_for(study_id))
    ann, bob = trial_order(store, study_id, "ann"), trial_order(store, study_id, "bob")
    assert ann == trial_order(store, study_id, "ann")  # resume: the same order
    assert sorted(t for t, _ in ann) == ids and sorted(t for t, _ in bob) == ids
    assert ann != bob
    assert {side for _, side in ann} == {0, 1}


def test_answer_again_replaces_and_results_read_back(store):
    study_id, _ = make_study(store)
    order = trial_order(store, study_id, "ann")
    first_trial, left = order[0]
    store.record_answer(first_trial, reviewer=User("ann", "Ann"), choice="left", left_condition=left, seconds=3.5)
    again = store.record_answer(first_trial, reviewer="ann", choice="right", left_condition=left, comment="changed")
    assert again.preferred_condition == 1 - left and again.reviewer_name == "ann"
    store.record_answer(order[1][0], reviewer="ann", choice="cant_tell", left_condition=order[1][1])
    store.record_answer(first_trial, reviewer="bob", choice="equal", left_condition=1 - left)
    answers = store.answers(study_id)
    assert len(answers) == 3
    mine = {a.trial_id: a for a in store.answers(study_id, reviewer="ann")}
    assert mine[first_trial].choice == "right" and mine[first_trial].comment == "changed"
    assert mine[first_trial].seconds is None
    assert mine[order[1][0]].preferred_condition is None
    assert store.progress(study_id, "ann") == (2, 4) and store.progress(study_id, "bob") == (1, 4)
    assert store.progress(study_id, "dan") == (0, 4)
    assert json.loads(json.dumps(answers[0].to_dict()))["study_id"] == study_id


@pytest.mark.parametrize("kwargs, message", [
    ({"choice": "both"}, "`choice` must be one of left, right, equal, cant_tell"),
    ({"left_condition": 2}, "left_condition"),
    ({"seconds": -1}, "seconds"),
])
def test_bad_answer_is_refused(store, kwargs, message):
    study_id, _ = make_study(store, n=1)
    [(trial_id, left)] = trial_order(store, study_id, "ann")
    with pytest.raises(InvalidRecordError, match=message):
        store.record_answer(trial_id, **({"reviewer": "ann", "choice": "left", "left_condition": left} | kwargs))
    assert store.answers(study_id) == []


def test_only_the_creator_or_an_admin_closes_a_study_and_closed_takes_no_answers(store):
    study_id, _ = make_study(store, n=2)
    [(trial_id, left), _] = trial_order(store, study_id, "ann")
    with pytest.raises(PermissionDeniedError, match="only Carol \\(the creator\\) or an admin may close"):
        store.close_study(study_id, by="ann")
    closed = store.close_study(study_id, by="carol@example.org")
    assert closed.is_closed and closed.closed_by == "carol@example.org"
    assert store.list_studies(include_closed=False) == []
    with pytest.raises(StudyClosedError, match="closed"):
        store.record_answer(trial_id, reviewer="ann", choice="left", left_condition=left)
    other, _ = make_study(store, n=1)
    assert store.close_study(other, by=ADMIN).closed_by == ADMIN_EMAIL


@pytest.mark.parametrize("conditions, message", [
    (CONDITIONS[:1], "exactly two conditions"),
    ([CONDITIONS[0], dict(CONDITIONS[0])], "the two conditions are the same"),
    ([CONDITIONS[0], {"model": "m", "method": "cam", "colour": 1}], "unknown keys"),
])
def test_bad_study_is_refused(store, conditions, message):
    sha = store.put_photo(photo("chelsea"), "chelsea.jpg", "carol")
    trial = NewTrial(sha, 1, "x", (TrialMap(png(1)), TrialMap(png(2))))
    with pytest.raises(InvalidRecordError, match=message):
        store.create_study(name="s", creator="carol", conditions=conditions, trials=[trial])
    with pytest.raises(InvalidRecordError, match="one per condition"):
        store.create_study(name="s", creator="carol", conditions=CONDITIONS,
                           trials=[NewTrial(sha, 1, "x", (TrialMap(png(1)),))])
    with pytest.raises(NotFoundError, match="put_photo first"):
        store.create_study(name="s", creator="carol", conditions=CONDITIONS,
                           trials=[NewTrial("b" * 64, 1, "x", (TrialMap(png(1)), TrialMap(png(2))))])
    with pytest.raises(InvalidRecordError, match="saliency"):
        store.create_study(name="s", creator="carol", conditions=CONDITIONS,
                           trials=[NewTrial(sha, 1, "x", (TrialMap(png(1), np.zeros(3).tobytes()),
                                                               TrialMap(png(2))))])
    assert store.list_studies() == []


def test_delete_photo_frees_the_quota_only_when_unused_and_by_its_uploader(store):
    data = photo("chelsea")
    sha = store.put_photo(data, "chelsea.jpg", "ann")
    item_id = store.save_item(**item_fields(author="ann", photo_sha256=sha))
    with pytest.raises(InvalidRecordError, match="used by 1 saved item"):
        store.delete_photo(sha, by="ann")
    store.delete_item(item_id, by="ann")
    with pytest.raises(PermissionDeniedError, match="only ann \\(the uploader\\)"):
        store.delete_photo(sha, by="bob")
    assert store.get_photo(sha) == data
    store.delete_photo(sha, by="ann")
    assert nothing_stored(store) and store.usage("ann").user_bytes == 0
    with pytest.raises(NotFoundError):
        store.delete_photo(sha, by=ADMIN)
    with pytest.raises(NotFoundError, match="put_photo first"):
        store.save_item(**item_fields(photo_sha256=sha))


def test_failed_photo_delete_keeps_the_file(store):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    sha = store.put_photo(photo("coffee"), "coffee.jpg", "ann")

    def fail(session):
        raise RuntimeError("injected: the commit failed")

    event.listen(Session, "before_commit", fail)
    try:
        with pytest.raises(RuntimeError, match="injected"):
            store.delete_photo(sha, by="ann")
    finally:
        event.remove(Session, "before_commit", fail)
    assert store.get_photo(sha) == photo("coffee")
    assert files_under(store.data_dir / "photos") == [store.photo_path(sha)]


def nothing_stored(store):
    return store.list_photos() == [] and files_under(store.data_dir / "photos") == []


def test_the_store_never_imports_streamlit():
    import subprocess
    import sys

    from conftest import ROOT

    code = ("import sys, explainers_team.store, explainers_team.store.api, explainers_team.store.migrate; "
            "assert 'streamlit' not in sys.modules, 'streamlit imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-1000:]
