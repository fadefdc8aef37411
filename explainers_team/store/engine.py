"""Engines for SQLite and PostgreSQL, and the translation of driver failures into :class:`StoreError`."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError, SQLAlchemyError

from explainers.errors import ExplainersError
from ..errors import StoreError

#: How long (seconds) a writer waits for another writer's lock (SQLite) or for a connection (PostgreSQL).
BUSY_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 5


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<malformed database URL>"


def make_engine(url: str) -> Engine:
    """An engine for ``url``.

    SQLite: WAL journal (readers never block the writer), a 30 s busy timeout, foreign keys
    on, and every transaction starts with ``BEGIN IMMEDIATE`` so that two sessions saving at
    once queue for the write lock instead of failing with "database is locked".
    PostgreSQL (psycopg 3): connections are checked before use and fail after 5 s when the
    server is unreachable.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"the database URL '{url[:80]}' is malformed; set EXPLAINERS_DATABASE_URL to e.g. "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DB, or unset it to use SQLite"
        ) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
            _sqlite_setup(engine)
        elif parsed.get_backend_name() == "postgresql":
            engine = create_engine(
                parsed,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=10,
                pool_timeout=BUSY_TIMEOUT_S,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
            )
        else:
            raise StoreError(
                f"unsupported database '{parsed.get_backend_name()}' in {safe_url(url)}; "
                "use SQLite (the default) or postgresql+psycopg://..."
            )
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"no driver for {safe_url(url)} ({exc}); use postgresql+psycopg:// and `pip install 'psycopg[binary]'`"
        ) from None
    return engine


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own is deferred and late)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # writers take the write lock at BEGIN: a deferred transaction that reads and then writes
        # fails at once with "database is locked" when another writer committed in between
        read_only = connection.get_execution_options().get("store_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextlib.contextmanager
def translate_errors(url: str, action: str) -> Iterator[None]:
    """Turn driver and disk failures during ``action`` into a :class:`StoreError` that says what to do."""
    try:
        yield
    except ExplainersError:  # already says what to do (PermissionDeniedError is an OSError too)
        raise
    except OperationalError as exc:
        raise StoreError(_operational_message(url, action, exc)) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreError(
                f"{action} failed: the connection to the database {safe_url(url)} was lost; "
                "nothing was saved, try again"
            ) from exc
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError(
                f"{action} failed: the disk holding the data folder is full ({exc.strerror}); "
                "nothing was saved; free some space or move EXPLAINERS_DATA_DIR"
            ) from exc
        if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            raise StoreError(
                f"{action} failed: cannot write the data folder ({exc.strerror}: {exc.filename}); "
                "nothing was saved; make EXPLAINERS_DATA_DIR writable by the server"
            ) from exc
        raise StoreError(
            f"{action} failed: the data folder gave an error ({exc.strerror or exc}: {exc.filename}); "
            "nothing was saved; check EXPLAINERS_DATA_DIR and the disk"
        ) from exc
    except SQLAlchemyError as exc:
        if isinstance(exc.__cause__, OSError) or "timeout" in type(exc).__name__.lower():
            raise StoreError(
                f"{action} failed: the database {safe_url(url)} did not answer ({exc}); nothing was saved, try again"
            ) from exc
        raise


def _operational_message(url: str, action: str, exc: OperationalError) -> str:
    detail = " ".join(str(exc.orig).split())[:300] if exc.orig is not None else str(exc)
    low = detail.lower()
    if "locked" in low or "busy" in low:
        return (
            f"{action} failed: the database is busy (another save held it for over {BUSY_TIMEOUT_S} s); "
            "nothing was saved, try again"
        )
    if "disk" in low and "full" in low or "no space" in low:
        return (
            f"{action} failed: the disk holding the database is full; nothing was saved; "
            "free some space or move EXPLAINERS_DATA_DIR"
        )
    if "unable to open database" in low:
        return (
            f"{action} failed: cannot open the SQLite database {safe_url(url)} ({detail}); "
            "check that EXPLAINERS_DATA_DIR exists and is writable"
        )
    return (
        f"{action} failed: cannot reach the database {safe_url(url)} ({detail}); nothing was written; "
        "check that the database server is running and that EXPLAINERS_DATABASE_URL is right"
    )
