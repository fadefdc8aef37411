"""pytest plug-in: a real PostgreSQL server for the store's tests, and the ``store`` fixture.

The server is started once per test session with ``initdb`` + ``pg_ctl`` in a temporary folder,
on a free loopback port, and stopped at the end. PostgreSQL refuses to run as root, so when the
tests run as root (CI, the sessions) the server runs as the ``postgres`` user (``runuser``).
Binaries: ``$EXPLAINERS_PG_BIN``, else ``pg_ctl`` on ``PATH``, else the newest
``/usr/lib/postgresql/*/bin`` (Debian's layout; ``scripts/test.sh`` installs the package).
Without them a test that needs PostgreSQL skips with the reason, except under ``CI=true``,
where it fails: CI must run both backends.

Fixtures
--------
postgresql_server (session)
    The running server: ``host``, ``port``, ``user`` and ``admin_url()``.
postgresql_url
    A fresh empty database on that server (``postgresql+psycopg://...``), dropped afterwards.
database_url
    Parametrised ``sqlite`` / ``postgresql``: a fresh database URL of each backend.
store
    Parametrised ``sqlite`` / ``postgresql``: a migrated :class:`explainers_team.store.Store` on a
    fresh database and data folder, with ``admin@example.org`` as admin.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ADMIN_EMAIL = "admin@example.org"


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    folder: Path
    databases: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def admin_conninfo(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname=postgres"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def find_pg_bin() -> Path | None:
    """Folder holding ``initdb`` and ``pg_ctl``, or None."""
    env = os.environ.get("EXPLAINERS_PG_BIN")
    if env:
        return Path(env) if (Path(env) / "pg_ctl").is_file() else None
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires PostgreSQL (bash scripts/test.sh installs it on Debian)",
                    pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgresql_server():
    bin_dir = find_pg_bin()
    if bin_dir is None:
        _unavailable("PostgreSQL binaries (initdb, pg_ctl) not found; install the `postgresql` package "
                     "or set EXPLAINERS_PG_BIN")
    prefix: list[str] = []
    # as root, TMPDIR may be a folder the postgres user cannot enter: /tmp always lets it in
    base = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
    folder = Path(tempfile.mkdtemp(prefix="explainers-pg-", dir=base))
    if os.geteuid() == 0:  # PostgreSQL refuses root: run it as the postgres user, in a folder it owns
        import pwd

        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder, ignore_errors=True)
            _unavailable("tests run as root and there is no `postgres` user to run PostgreSQL as")
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(folder, ignore_errors=True)
            _unavailable("tests run as root and `runuser` is missing, so PostgreSQL cannot be started")
        os.chown(folder, account.pw_uid, account.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], cwd=folder, capture_output=True, text=True, check=check, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed: {exc.stderr.strip()[-500:]}", pytrace=False)
    server = None
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = _free_port()
        options = (f"-p {port} -h 127.0.0.1 -k {folder} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        result = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
                     "start", check=False)
        if result.returncode == 0:
            server = PgServer("127.0.0.1", port, "postgres", folder)
            break
    if server is None:
        tail = log.read_text(errors="replace")[-800:] if log.exists() else result.stderr
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {tail}", pytrace=False)
    try:
        yield server
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgresql_url(postgresql_server):
    name = postgresql_server.create_database()
    yield postgresql_server.url(name)
    postgresql_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'explainers.db'}"
    return request.getfixturevalue("postgresql_url")


@pytest.fixture
def store(database_url, tmp_path):
    from explainers_team.store import Store

    with Store(database_url, tmp_path / "data", quota_user_bytes=0, quota_total_bytes=0) as s:
        yield s
