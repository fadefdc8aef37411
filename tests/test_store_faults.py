"""Faults: a failed save leaves no row and no file; an unreachable database or a full disk gives a
:class:`StoreError` that says what to do. Failures are injected at each step of a save."""

from __future__ import annotations

import errno

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session
from store_data import files_under, item_fields, photo

from explainers.errors import ExplainersError
from explainers_team.store import Store, StoreError
from explainers_team.store.blobs import PhotoFiles


def nothing_written(store):
    return store.list_photos() == [] and files_under(store.data_dir / "photos") == []


def test_disk_full_while_writing_the_photo(store, monkeypatch):
    real_stage = PhotoFiles.stage

    def full_disk(self, sha256, data):
        path = real_stage(self, sha256, data)  # a temporary file exists when the disk fills up
        path.unlink()
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(PhotoFiles, "stage", full_disk)
    with pytest.raises(StoreError, match="disk holding the data folder is full.*free some space") as err:
        store.put_photo(photo("chelsea"), "chelsea.jpg", "ann")
    assert isinstance(err.value, ExplainersError) and "nothing was saved" in str(err.value)
    assert nothing_written(store)
    monkeypatch.undo()
    store.put_photo(photo("chelsea"), "chelsea.jpg", "ann")  # the disk has room again: the save goes through
    assert len(store.list_photos()) == 1


def test_failure_at_commit_removes_the_staged_file(store, monkeypatch):
    def fail(session):
        raise RuntimeError("injected: the commit failed")

    event.listen(Session, "before_commit", fail)
    try:
        with pytest.raises(RuntimeError, match="injected"):
            store.put_photo(photo("coffee"), "coffee.jpg", "ann")
    finally:
        event.remove(Session, "before_commit", fail)
    assert nothing_written(store)


def test_failure_after_commit_takes_the_row_back(store, monkeypatch):
    def fail(staged, final):
        raise OSError(errno.ENOSPC, "No space left on device", str(final))

    monkeypatch.setattr(PhotoFiles, "publish", staticmethod(fail))
    with pytest.raises(StoreError, match="full"):
        store.put_photo(photo("rocket"), "rocket.jpg", "ann")
    assert nothing_written(store)


def test_failure_in_the_middle_of_an_item_save_leaves_no_row(store):
    calls = []

    def fail_on_thumbnails(session, flush_context):
        calls.append(1)
        raise RuntimeError("injected: the connection dropped mid-save")

    event.listen(Session, "after_flush", fail_on_thumbnails)  # rows are sent, then the unit fails
    try:
        with pytest.raises(RuntimeError, match="injected"):
            store.save_item(**item_fields())
    finally:
        event.remove(Session, "after_flush", fail_on_thumbnails)
    assert calls and store.list_items() == [] and store.item_facets()["tags"] == []
    store.save_item(**item_fields())
    assert len(store.list_items()) == 1


def test_unreachable_database_says_what_to_do(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://team:s3cret@127.0.0.1:{port}/explainers"
    with pytest.raises(StoreError) as err:
        Store(url, tmp_path)
    message = str(err.value)
    assert "cannot reach the database" in message and f"127.0.0.1:{port}" in message
    assert "EXPLAINERS_DATABASE_URL" in message and "s3cret" not in message


def test_database_lost_while_running(postgresql_server, tmp_path):
    name = postgresql_server.create_database()
    with Store(postgresql_server.url(name), tmp_path) as store:
        store.save_item(**item_fields())
        postgresql_server.drop_database(name)  # the server loses the database under a running dashboard
        with pytest.raises(StoreError, match="nothing was written|was lost"):
            store.save_item(**item_fields())
        with pytest.raises(StoreError):
            store.put_photo(photo("chelsea"), "chelsea.jpg", "ann")
        assert files_under(tmp_path / "photos") == []


@pytest.mark.parametrize("url, message", [
    ("not a url", "malformed"),
    ("mysql+nosuchdriver://x/y", "no driver|unsupported"),
    ("oracle://x/y", "no driver|unsupported"),
])
def test_bad_database_url(tmp_path, url, message):
    with pytest.raises(StoreError, match=message):
        Store(url, tmp_path)


def test_data_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the data folder.*EXPLAINERS_DATA_DIR"):
        Store(data_dir=blocker / "data")


def test_stale_temporary_files_are_swept(store):
    import os

    kept = store.put_photo(photo("chelsea"), "chelsea.jpg", "ann")  # a delete of it was interrupted
    kept_path = store.photo_path(kept)
    os.replace(kept_path, kept_path.with_name(f".tmp-deleting-{kept_path.name}"))
    folder = store.data_dir / "photos" / "ab"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".tmp-old.part", folder / ".tmp-new.part"
    gone = folder / f".tmp-deleting-{'ab' * 32}.jpg"  # a delete that committed: no row
    for path in (stale, fresh, gone):
        path.write_bytes(b"x")
    for path in (stale, gone, kept_path.with_name(f".tmp-deleting-{kept_path.name}")):
        os.utime(path, (0, 0))
    Store(store.url, store.data_dir).close()
    assert not stale.exists() and not gone.exists()
    assert fresh.exists()  # a save in progress elsewhere keeps its file
    assert store.get_photo(kept) == photo("chelsea")  # the rolled-back delete's file is back


def test_answers_survive_a_killed_server_process(store):
    """A server killed mid-review (SIGKILL: no clean shutdown) loses no answer it had recorded."""
    import subprocess
    import sys

    from conftest import ROOT
    from test_store import make_study

    study_id, _ = make_study(store, n=3)
    script = f"""
import os, signal
from explainers_team.review.studies import plan
from explainers_team.store import Store
store = Store({store.url!r}, {str(store.data_dir)!r}, migrate=False)
for a in plan(store, {study_id}, "ann")[:2]:
    store.record_answer(a.trial_id, reviewer="ann", choice="left", left_condition=a.left_index, seconds=2.0)
print("recorded", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == -9 and "recorded" in result.stdout, result.stderr[-2000:]
    with Store(store.url, store.data_dir) as restarted:
        assert restarted.progress(study_id, "ann") == (2, 3)
        assert {a.choice for a in restarted.answers(study_id)} == {"left"}
