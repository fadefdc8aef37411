"""Schema migrations (Alembic, configured in code: there is no ``alembic.ini``).

``upgrade_to_head(url)`` runs when a :class:`~explainers_team.store.Store` opens a database, and
``python -m explainers_team db upgrade`` runs it from the command line. It is idempotent, and safe
when several processes start at once: on PostgreSQL they queue on an advisory lock, on SQLite
on a lock file beside the database (then the write lock, ``BEGIN IMMEDIATE``), and each one reads
the schema version only once it holds the lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.engine import make_url

try:  # POSIX; elsewhere SQLite's own busy timeout is the only queue
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

from .engine import make_engine, safe_url, translate_errors
from ..errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
#: Key of the PostgreSQL advisory lock that serialises migrations (any constant; "expl" in ASCII).
ADVISORY_LOCK_KEY = 0x6578706C


def alembic_config() -> Config:
    """Alembic's configuration pointing at ``explainers/store/migrations``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str) -> str | None:
    """The database's schema revision, or None for an empty database."""
    engine = make_engine(url)
    try:
        with translate_errors(url, "reading the schema version"), engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@contextlib.contextmanager
def _sqlite_migration_lock(url: str) -> Iterator[None]:
    """One migrating process at a time on a SQLite file, however long the first one takes.

    SQLite's busy timeout (30 s) is meant for saves; a migration on a busy machine (first import
    of Alembic, the DDL) can outlast it, and the second process would fail instead of waiting.
    """
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a malformed URL is reported by the upgrade itself, with the fix
        parsed = None
    database = parsed.database if parsed is not None and parsed.get_backend_name() == "sqlite" else None
    if fcntl is None or not database or database == ":memory:" or not Path(database).parent.is_dir():
        yield
        return
    with open(Path(database).with_name(Path(database).name + ".migrate-lock"), "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database at ``url`` to ``revision`` (default: the newest). Returns the revision reached.

    Raises
    ------
    StoreError
        If the database is unreachable, or it was migrated by a newer version of explainers.
    """
    with _sqlite_migration_lock(url):
        return _upgrade(url, revision)


def _upgrade(url: str, revision: str) -> str:
    engine = make_engine(url)
    config = alembic_config()
    try:
        with translate_errors(url, "upgrading the database"), engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # held until this transaction ends; DDL is transactional
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            current = MigrationContext.configure(conn).get_current_revision()
            known = {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}
            if current is not None and current not in known:
                raise StoreError(
                    f"the database {safe_url(url)} has schema revision {current}, made by a newer "
                    "version of explainers; upgrade explainers (git pull) before starting it"
                )
            config.attributes["connection"] = conn
            try:
                command.upgrade(config, revision)
            except CommandError as exc:
                raise StoreError(f"cannot migrate {safe_url(url)} to {revision}: {exc}") from None
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade_to_head(url: str) -> str:
    """Migrate the database at ``url`` to the newest schema; does nothing when it is already there."""
    return upgrade(url, "head")
