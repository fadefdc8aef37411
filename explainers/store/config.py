"""Where the store keeps its data, and its limits, from the environment.

- ``EXPLAINERS_DATA_DIR``: the data folder, by default ``data/`` at the root of
  the repository (ignored by git). Created on first use. It holds the SQLite
  database ``explainers.db`` and the uploaded photos under ``photos/``.
- ``EXPLAINERS_DATABASE_URL``: a SQLAlchemy URL; by default SQLite at
  ``<data>/explainers.db``. A team server uses PostgreSQL:
  ``postgresql+psycopg://USER:PASSWORD@HOST:5432/DB`` (``postgresql://`` is
  accepted and means psycopg 3).
- ``EXPLAINERS_QUOTA_USER_MB`` (default 1000) and ``EXPLAINERS_QUOTA_TOTAL_MB``
  (default 20000): photo storage allowed per uploader and in total.
- ``EXPLAINERS_ADMINS``: comma-separated identities (e-mails or names) that may
  edit or delete any item and close any study.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import StoreError

#: Repository root (the folder holding ``explainers/``).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Data folder used when ``EXPLAINERS_DATA_DIR`` is not set.
DEFAULT_DATA_DIR = REPO_ROOT / "data"
DEFAULT_QUOTA_USER_MB = 1000.0
DEFAULT_QUOTA_TOTAL_MB = 20000.0
MB = 1024 * 1024


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The data folder: ``$EXPLAINERS_DATA_DIR`` or ``<repo>/data`` (not created here).

    The one definition: the store keeps its database and photos there, and it is the first of the
    server folders the dashboard may read (:mod:`explainers.roots`). ``environ`` defaults to ``os.environ``.
    """
    environ = os.environ if environ is None else environ
    value = environ.get("EXPLAINERS_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else DEFAULT_DATA_DIR


def database_url(data: Path | None = None) -> str:
    """``$EXPLAINERS_DATABASE_URL``, or SQLite at ``<data>/explainers.db``."""
    value = os.environ.get("EXPLAINERS_DATABASE_URL", "").strip()
    if value:
        return normalize_url(value)
    return f"sqlite:///{(data or data_dir()) / 'explainers.db'}"


def normalize_url(url: str) -> str:
    """Map ``postgres://`` and ``postgresql://`` to psycopg 3, the driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def quota_bytes(variable: str, default_mb: float) -> int:
    """A quota from the environment, in bytes; 0 means no limit."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return int(default_mb * MB)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise StoreError(f"{variable} must be a number of megabytes >= 0 (0 = no limit), got '{raw}'; fix the setting")
    return int(value * MB)


def admins() -> frozenset[str]:
    """Identities listed in ``$EXPLAINERS_ADMINS`` (comma-separated), normalised."""
    from .records import normalize_identity

    raw = os.environ.get("EXPLAINERS_ADMINS", "")
    return frozenset(normalize_identity(a) for a in raw.split(",") if a.strip())
