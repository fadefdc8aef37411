"""Schema migrations on SQLite and PostgreSQL: a filled 0001 database upgrades with nothing lost,
the newest schema equals the models, upgrading is idempotent and safe from two processes at once."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import ROOT
from store_data import photo, png

from explainers_team.cli import main
from explainers_team.store import TrialMap, NewTrial, Store, StoreError, current_revision, head_revision, upgrade
from explainers_team.store.engine import make_engine
from explainers_team.store.schema import Base

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _table(name, *columns):
    return sa.table(name, *(sa.column(c, t) for c, t in columns))


def test_filled_first_schema_upgrades_with_nothing_lost(database_url, tmp_path):
    assert upgrade(database_url, "0001") == "0001"
    data = photo("chelsea")
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "data" / "photos" / sha[:2]).mkdir(parents=True)
    (tmp_path / "data" / "photos" / sha[:2] / f"{sha}.jpg").write_bytes(data)
    engine = make_engine(database_url)
    with engine.begin() as conn:  # rows as the first release wrote them (plain SQL, not today's models)
        assert set(sa.inspect(conn).get_table_names()) >= {"photos", "items", "item_tags", "item_thumbnails"}
        assert "studies" not in sa.inspect(conn).get_table_names()
        conn.execute(_table("photos", ("sha256", sa.String), ("original_name", sa.String), ("media_type", sa.String),
                            ("byte_size", sa.BigInteger), ("width", sa.Integer), ("height", sa.Integer),
                            ("uploader_id", sa.String), ("uploader_name", sa.String),
                            ("created_at", sa.DateTime(timezone=True))).insert(),
                     [{"sha256": sha, "original_name": "chelsea.jpg", "media_type": "image/jpeg",
                       "byte_size": len(data), "width": 451, "height": 300, "uploader_id": "ann",
                       "uploader_name": "Ann", "created_at": WHEN}])
        items = _table("items", ("title", sa.String), ("note", sa.Text), ("author_id", sa.String),
                       ("author_name", sa.String), ("created_at", sa.DateTime(timezone=True)),
                       ("updated_at", sa.DateTime(timezone=True)), ("models", sa.JSON), ("methods", sa.JSON),
                       ("class_index", sa.Integer), ("class_label", sa.String), ("view", sa.JSON),
                       ("predictions", sa.JSON), ("scores", sa.JSON), ("photo_sha256", sa.String))
        conn.execute(items.insert(), [
            {"title": f"item {n}", "note": f"note {n}", "author_id": "ann", "author_name": "Ann",
             "created_at": WHEN.replace(minute=n), "updated_at": WHEN.replace(minute=n),
             "models": ["efficientnet_lite0"], "methods": ["cam", "secam"], "class_index": 280 + n,
             "class_label": f"class {n}", "view": {"page": "compare", "photo": sha}, "predictions": [{"p": 0.5}],
             "scores": {"ids": [1, 2]}, "photo_sha256": sha if n == 1 else None} for n in (1, 2)])  # ids 1, 2 from the sequence
        conn.execute(_table("item_tags", ("item_id", sa.Integer), ("tag", sa.String)).insert(),
                     [{"item_id": 1, "tag": "cats"}, {"item_id": 2, "tag": "old"}])
        conn.execute(_table("item_thumbnails", ("item_id", sa.Integer), ("position", sa.Integer),
                            ("media_type", sa.String), ("data", sa.LargeBinary)).insert(),
                     [{"item_id": 1, "position": 0, "media_type": "image/png", "data": png(7)}])
    engine.dispose()

    with Store(database_url, tmp_path / "data") as store:  # opening migrates to the newest schema
        assert current_revision(database_url) == head_revision() == "0002"
        first, second = store.get_item(1), store.get_item(2)
        assert (first.title, first.note, first.tags, first.author_name) == ("item 1", "note 1", ("cats",), "Ann")
        assert first.created_at == WHEN.replace(minute=1) and first.class_index == 281
        assert first.view == {"page": "compare", "photo": sha} and first.scores == {"ids": [1, 2]}
        assert first.thumbnails == (png(7),) and first.photo_sha256 == sha
        assert second.tags == ("old",) and second.photo_sha256 is None
        assert store.get_photo(sha) == data and store.photo_info(sha).uploader_name == "Ann"
        assert [i.id for i in store.list_items(tag="cats")] == [1]
        new = store.save_item(title="after the upgrade", author="bob", view={}, models=["m"], methods=["cam"],
                              class_index=1, class_label="x")
        assert new not in (1, 2)  # the id sequence carried on past the old rows
        study = store.create_study(name="s", creator="ann", conditions=[{"model": "m", "method": "cam"},
                                                                        {"model": "m", "method": "secam"}],
                                   trials=[NewTrial(sha, 1, "x", (TrialMap(png(1)), TrialMap(png(2))))])
        assert store.get_study(study).n_trials == 1


def _schema_diffs(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()


def test_newest_schema_equals_the_models(database_url):
    upgrade(database_url, "0001")
    missing = {d[1].name for d in _schema_diffs(database_url) if d[0] == "add_table"}
    assert missing == {"studies", "trials", "trial_maps", "answers"}  # the comparison sees what 0002 adds
    upgrade(database_url)
    assert _schema_diffs(database_url) == []


def test_upgrade_is_idempotent_and_refuses_a_newer_database(database_url, tmp_path):
    assert upgrade(database_url) == "0002"
    assert upgrade(database_url) == "0002"
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="schema revision 9999, made by a newer version of explainers"):
        Store(database_url, tmp_path)


def test_cli_db_upgrade(database_url, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINERS_DATA_DIR", str(tmp_path / "data"))
    assert main(["db", "upgrade", "--url", database_url]) == 0
    assert "schema revision 0002" in capsys.readouterr().out
    assert current_revision(database_url) == "0002"


def test_cli_db_upgrade_reports_an_unreachable_database(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLAINERS_DATA_DIR", str(tmp_path))
    assert main(["db", "upgrade", "--url", "postgresql://u:pw@127.0.0.1:1/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cannot reach the database" in err and "pw" not in err.replace("psycopg", "")


def test_two_processes_upgrading_at_once(database_url, tmp_path):
    env = dict(os.environ, EXPLAINERS_DATA_DIR=str(tmp_path / "data"), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "explainers_team", "db", "upgrade", "--url", database_url]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in processes]
    assert [r[0] for r in results] == [0, 0], results
    assert all("schema revision 0002" in r[1] for r in results)
    assert current_revision(database_url) == "0002"
