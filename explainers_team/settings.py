"""The team server's settings, read from the environment at each call (tests and servers may change them).

=================================  =====================================================================
variable                           meaning
=================================  =====================================================================
``EXPLAINERS_DATA_DIR``            the data folder: the SQLite database ``explainers.db`` and the uploaded
                                   photos under ``photos/``; default ``data/`` in the current folder (the
                                   dashboard's launcher sets it to ``data/`` beside ``dashboard.py``)
``EXPLAINERS_DATABASE_URL``        a SQLAlchemy URL; default SQLite at ``<data>/explainers.db``. A team
                                   server uses PostgreSQL: ``postgresql+psycopg://USER:PASSWORD@HOST/DB``
                                   (``postgresql://`` is accepted and means psycopg 3)
``EXPLAINERS_QUOTA_USER_MB``       photo storage per uploader (default 1000; 0 = no limit)
``EXPLAINERS_QUOTA_TOTAL_MB``      photo storage in total (default 20000; 0 = no limit)
``EXPLAINERS_DATA_ROOTS``          server folders users may read (:mod:`explainers_team.roots`)
``EXPLAINERS_ALLOWED``,            who may sign in and who is an admin (:mod:`explainers_team.access`)
``EXPLAINERS_ADMINS``
=================================  =====================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import StoreError

#: Environment variables of the data folder and the database.
ENV_DATA_DIR = "EXPLAINERS_DATA_DIR"
ENV_DATABASE_URL = "EXPLAINERS_DATABASE_URL"
ENV_QUOTA_USER = "EXPLAINERS_QUOTA_USER_MB"
ENV_QUOTA_TOTAL = "EXPLAINERS_QUOTA_TOTAL_MB"
DEFAULT_QUOTA_USER_MB = 1000.0
DEFAULT_QUOTA_TOTAL_MB = 20000.0
MB = 1024 * 1024


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The data folder: ``$EXPLAINERS_DATA_DIR``, or ``data/`` in the current folder (not created here).

    The one definition: the store keeps its database and photos there, and it is the first of the
    server folders users may read (:func:`explainers_team.roots.data_roots`).
    """
    environ = os.environ if environ is None else environ
    value = environ.get(ENV_DATA_DIR, "").strip()
    return Path(value).expanduser() if value else Path.cwd() / "data"


def database_url(data: Path | None = None) -> str:
    """``$EXPLAINERS_DATABASE_URL``, or SQLite at ``<data>/explainers.db``."""
    value = os.environ.get(ENV_DATABASE_URL, "").strip()
    if value:
        return normalize_url(value)
    return f"sqlite:///{(data or data_dir()) / 'explainers.db'}"


def normalize_url(url: str) -> str:
    """Map ``postgres://`` and ``postgresql://`` to psycopg 3, the driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def quota_bytes(variable: str, default_mb: float) -> int:
    """A quota from the environment, in bytes; 0 means no limit.

    Raises
    ------
    StoreError
        If the variable is not a number of megabytes >= 0.
    """
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
