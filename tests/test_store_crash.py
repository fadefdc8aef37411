"""Nothing lost in a crash: a writer killed at each step of a save or a delete, then the store reopened.

A save writes a staged file, commits the row, then renames the file into place; a delete sets the
file aside, commits, then removes it. A real process (forked per step from one interpreter, so the
imports are paid once) is killed with ``os._exit`` at the chosen step; the test then reopens the
store and checks that every photo whose row was committed can be read, and that ``db check``
reports only what ``--repair`` fixes. Both backends (the ``store`` fixture).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT
from store_data import files_under, photo, png

from explainers_team.cli import main as team_cli
from explainers_team.store import NotFoundError, Store, StoreError
from explainers_team.store.blobs import PhotoFiles

#: step -> whether the photo's row is committed when the writer dies there (so it must be readable after).
STEPS = {
    "save:writing": False,  # half the staged file is on disk
    "save:staged": False,  # the staged file is whole, the row not committed
    "save:committing": False,  # killed as the commit starts
    "save:undoing": False,  # the rename failed; the row was taken back; killed before the staged file went
    "delete:aside": True,  # the file set aside, the deletion not committed
    "delete:committed": False,  # the deletion committed, the set-aside file not yet removed
    "save:published": True,  # the file in place, nothing left to do
    "save:committed": True,  # the row committed, the file not yet renamed into place (the probe's case)
}
KILLED = 77

WRITER = r"""
import errno, json, os, sys
from sqlalchemy import event
from sqlalchemy.orm import Session
from explainers_team.store import Store
from explainers_team.store.blobs import PhotoFiles

url, data_dir, photos = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
KILLED = 77


def die(*_args, **_kwargs):
    os._exit(KILLED)


def after(method):  # run the real step, then die
    def wrapper(*args, **kwargs):
        method(*args, **kwargs)
        die()
    return wrapper


def crash_at(step):
    if step == "save:writing":
        def torn(fd):
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            die()
        os.fsync = torn
    elif step == "save:staged":
        PhotoFiles.stage = after(PhotoFiles.stage)
    elif step == "save:committing":
        event.listen(Session, "before_commit", die)
    elif step in ("save:committed", "delete:committed"):
        event.listen(Session, "after_commit", die)
    elif step == "save:published":
        PhotoFiles.publish = staticmethod(after(PhotoFiles.publish))
    elif step == "save:undoing":
        def full(staged, final):
            raise OSError(errno.ENOSPC, "No space left on device", str(final))
        PhotoFiles.publish = staticmethod(full)
        PhotoFiles.discard = staticmethod(die)
    elif step == "delete:aside":
        PhotoFiles.set_aside = staticmethod(after(PhotoFiles.set_aside))


def run(step, path):
    data = open(path, "rb").read()
    store = Store(url, data_dir, migrate=False)
    if step.startswith("delete"):
        sha = store.put_photo(data, "photo.png", "ann")
        crash_at(step)
        store.delete_photo(sha, by="ann")
    else:
        crash_at(step)
        store.put_photo(data, "photo.png", "ann")


codes = {}
for step, path in photos.items():
    pid = os.fork()
    if pid == 0:
        try:
            run(step, path)
        except BaseException as exc:
            print(f"{step}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            os._exit(1)
        os._exit(0)  # the step was never reached
    codes[step] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(codes))
"""


def age(path, seconds=2 * 3600):
    then = time.time() - seconds
    os.utime(path, (then, then))


def shas_of(datas):
    import hashlib

    return {step: hashlib.sha256(d).hexdigest() for step, d in datas.items()}


def test_a_writer_killed_at_each_step_loses_nothing(store, tmp_path):
    datas = {step: png(100 + i, size=64) for i, step in enumerate(STEPS)}
    paths = {}
    for step, data in datas.items():
        paths[step] = tmp_path / f"{step.replace(':', '-')}.png"
        paths[step].write_bytes(data)
    shas = shas_of(datas)
    args = [sys.executable, "-c", WRITER, store.url, str(store.data_dir), json.dumps({s: str(p) for s, p in paths.items()})]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    codes = json.loads(result.stdout.strip().splitlines()[-1])
    assert codes == {step: KILLED for step in STEPS}, result.stderr[-3000:]

    # the last writer died between the commit and the rename: its photo is recorded, its file only staged
    committed = shas["save:committed"]
    final = store.data_dir / "photos" / committed[:2] / f"{committed}.png"
    assert not final.exists()
    staged = [p for p in final.parent.glob(".tmp-*") if p.read_bytes() == datas["save:committed"]]
    assert len(staged) == 1

    with Store(store.url, store.data_dir) as reopened:  # opening reconciles
        for step, recorded in STEPS.items():
            if recorded:
                assert reopened.get_photo(shas[step]) == datas[step], step
            else:
                with pytest.raises(NotFoundError, match="no stored photo"):
                    reopened.photo_info(shas[step])
        assert final.is_file()

        report = reopened.check()
        assert {p.kind for p in report.problems} == {"leftover"}, [p.line() for p in report.problems]
        # one leftover per step that died before its file's fate was settled; each says it may be in progress
        assert len(report.problems) == 5
        assert all("a save may still be running" in p.message for p in report.problems)
        staged_name = f".tmp-{shas['save:staged']}-"  # a staged file says which photo it is
        assert [p.path.name.startswith(staged_name) for p in report.problems].count(True) == 1
        assert reopened.check(repair=True).fixed == ()  # young: a save may still be writing them
        for problem in report.problems:
            age(problem.path)
        repaired = reopened.check(repair=True)
        assert repaired.clean and len(repaired.fixed) == 5 and all(f.startswith("removed") for f in repaired.fixed)
        assert reopened.check().clean

        present = {reopened.photo_path(shas[s]) for s, recorded in STEPS.items() if recorded}
        assert set(files_under(store.data_dir / "photos")) == present
        for step, recorded in STEPS.items():  # what was not saved can be saved now
            if not recorded:
                assert reopened.put_photo(datas[step], "again.png", "ann") == shas[step]
                assert reopened.get_photo(shas[step]) == datas[step]
        assert reopened.check().clean


def test_an_old_staged_file_whose_row_exists_is_put_in_place_not_deleted(store):
    """The probe's case, found an hour later: the staged copy is the only copy of a recorded photo."""
    new_name = store.put_photo(photo("chelsea"), "chelsea.jpg", "ann")
    old_name = store.put_photo(photo("coffee"), "coffee.jpg", "ann")
    staged = {}
    for sha, name in ((new_name, f".tmp-{new_name}-k3j2.part"), (old_name, ".tmp-q8w7e6.part")):  # before: random
        path = store.photo_path(sha)
        staged[sha] = path.with_name(name)
        os.replace(path, staged[sha])
        age(staged[sha])
    with Store(store.url, store.data_dir) as reopened:
        assert reopened.get_photo(new_name) == photo("chelsea")
        assert reopened.get_photo(old_name) == photo("coffee")
        assert not any(p.exists() for p in staged.values())
        assert reopened.check().clean


def test_a_failed_undo_keeps_the_staged_file_for_the_next_opening(store, monkeypatch):
    """The rename fails and taking the row back fails too: the staged file is the photo's only copy, so it stays."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    failing = []

    def full(staged, final):
        failing.append(1)
        raise OSError(errno.ENOSPC, "No space left on device", str(final))

    def commit_fails(session):
        if failing:
            raise RuntimeError("injected: the database went away")

    monkeypatch.setattr(PhotoFiles, "publish", staticmethod(full))
    event.listen(Session, "before_commit", commit_fails)
    try:
        with pytest.raises(StoreError, match="full"):
            store.put_photo(photo("rocket"), "rocket.jpg", "ann")
    finally:
        event.remove(Session, "before_commit", commit_fails)
    monkeypatch.undo()
    sha = store.list_photos()[0].sha256  # the row stayed
    assert len(store.files.leftovers()) == 1
    with Store(store.url, store.data_dir) as reopened:
        assert reopened.get_photo(sha) == photo("rocket")
        assert reopened.check().clean


def test_a_save_finishes_when_an_opening_store_put_its_file_in_place_first(store, monkeypatch):
    """A store opening between another process's commit and rename puts the file in place; the save still succeeds."""
    real = PhotoFiles.publish

    def reconcile_first(staged, final):
        Store(store.url, store.data_dir).close()  # another process opens the store at this moment
        assert final.is_file() and not staged.exists()
        real(staged, final)

    monkeypatch.setattr(PhotoFiles, "publish", staticmethod(reconcile_first))
    sha = store.put_photo(photo("astronaut"), "astronaut.jpg", "ann")
    monkeypatch.undo()
    assert store.get_photo(sha) == photo("astronaut") and store.check().clean


def test_db_check_reports_each_problem_and_repair_fixes_what_it_can(store, capsys):
    good = store.put_photo(photo("chelsea"), "chelsea.jpg", "ann")
    lost = store.put_photo(photo("coffee"), "coffee.jpg", "ann")
    damaged = store.put_photo(photo("rocket"), "rocket.jpg", "ann")
    photos = store.data_dir / "photos"
    store.photo_path(lost).unlink()
    backup = photos / "coffee-from-backup.jpg"  # the lost photo's bytes, under another name
    backup.write_bytes(photo("coffee"))
    bad = store.photo_path(damaged)
    bad.write_bytes(b"\0" * bad.stat().st_size)  # same size, other bytes
    orphan = photos / "ab" / f"{'ab' * 32}.jpg"  # a photo file with no row
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(photo("astronaut"))
    young = photos / "ab" / f".tmp-{'cd' * 32}-x1.part"  # a save that may be running
    young.write_bytes(b"half a photo")
    for path in (backup, orphan):
        age(path)
    cli = ["db", "check", "--url", store.url, "--data-dir", str(store.data_dir)]

    assert team_cli(cli) == 1
    lines = capsys.readouterr().out.splitlines()
    by_kind = {line.split(":", 1)[0]: line for line in lines}
    assert sorted(by_kind) == ["leftover", "mismatch", "missing", "orphan", "unexpected"], lines
    assert len(lines) == 5
    assert "coffee.jpg" in by_kind["missing"] and "upload the photo again" in by_kind["missing"]
    assert "rocket.jpg" in by_kind["mismatch"] and "restore it from a backup" in by_kind["mismatch"]
    assert str(orphan) in by_kind["orphan"] and "--repair` moves it" in by_kind["orphan"]
    assert "holds the bytes of photo 'coffee.jpg'" in by_kind["unexpected"]
    assert "a save may still be running" in by_kind["leftover"]
    quick = {p.kind for p in store.check(verify=False).problems}  # sizes only: same-size damage goes unseen
    assert "missing" in quick and "mismatch" not in quick

    assert team_cli([*cli, "--repair"]) == 1
    out = capsys.readouterr().out.splitlines()
    fixed = [line for line in out if line.startswith("fixed: ")]
    not_fixed = [line for line in out if line.startswith("not fixed: ")]
    assert len(fixed) == 2 and any("coffee.jpg" in f for f in fixed) and any(str(orphan) in f for f in fixed)
    assert sorted(line.split(": ")[1] for line in not_fixed) == ["leftover", "mismatch"]
    assert store.get_photo(lost) == photo("coffee")  # put in place from the backup copy
    assert (store.data_dir / "orphans" / "ab" / orphan.name).read_bytes() == photo("astronaut")  # moved, not deleted
    assert store.get_photo(good) == photo("chelsea")

    assert store.put_photo(photo("rocket"), "rocket.jpg", "bob") == damaged  # the right bytes replace the damaged file
    assert store.get_photo(damaged) == photo("rocket")
    age(young)
    assert team_cli([*cli, "--repair"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("ok: ")
    assert not young.exists()
    assert team_cli(cli) == 0


def test_db_check_options_belong_to_check(capsys):
    with pytest.raises(SystemExit):
        team_cli(["db", "upgrade", "--repair"])
    assert "--repair and --quick go with `db check`" in capsys.readouterr().err
