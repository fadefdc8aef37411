"""The team store as the dashboard uses it: opened once per server process, uploads kept in it.

The data lives in :mod:`explainers_team.store` (SQLite in ``EXPLAINERS_DATA_DIR`` by default, PostgreSQL
with ``EXPLAINERS_DATABASE_URL``). Every store failure becomes a message that says what to do; the rest
of the page keeps working.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from explainers import ExplainersError
from explainers_team.settings import data_dir, database_url
from explainers_team.store import NotFoundError, QuotaExceededError, Store, StoreError, User

from . import identity

#: Who uploads when nobody gave a name (counts against one shared quota).
ANONYMOUS = User("anonymous", "anonymous")


@st.cache_resource(show_spinner="Opening the workspace database...")
def _open(url: str, folder: str) -> Store:
    return Store(url, folder)


def store() -> Store:
    """The store of ``EXPLAINERS_DATABASE_URL`` / ``EXPLAINERS_DATA_DIR``, opened once per server process.

    Raises
    ------
    StoreError
        If the data folder cannot be created or the database cannot be reached (not
        cached: the next call tries again).
    """
    folder = data_dir()
    return _open(database_url(folder), str(folder))


def error_text(exc: Exception) -> str:
    """One line for ``st.error`` about a store failure."""
    if isinstance(exc, StoreError):
        return f"The workspace database: {exc}"
    return str(exc)


def stored_photo(sha256: str) -> tuple[str, bytes] | str:
    """``(file name, bytes)`` of a stored photo, or a one-line message saying why it cannot be had."""
    try:
        found = store()
        info = found.photo_info(sha256)
        return info.original_name, found.get_photo(sha256)
    except NotFoundError:
        return (f"The photo in this link ({sha256[:12]}...) is not stored on this server: it was deleted, "
                "or the link comes from another server.")
    except ExplainersError as exc:
        return f"The photo in this link cannot be read: {exc}."
    except OSError as exc:
        return f"The photo in this link cannot be read from the data folder ({exc.strerror})."


def keep_upload(data: bytes, name: str, pixels: np.ndarray | None = None) -> tuple[str, str | None]:
    """Keep an uploaded photo in the store; returns ``(its SHA-256, why it is not stored or None)``.

    The store decodes it first (same decoder and limits as everywhere) unless ``pixels`` are given; an
    undecodable file raises :class:`explainers.ImageError` and nothing is written. When the store cannot keep it (database down,
    disk full, quota), the photo can still be explained in this tab: the second value says why links
    to it will not open elsewhere.
    """
    try:
        return store().put_photo(data, name, identity.current_user() or ANONYMOUS, pixels=pixels), None
    except (StoreError, QuotaExceededError) as exc:
        return hashlib.sha256(data).hexdigest(), str(exc)
    except OSError as exc:
        return hashlib.sha256(data).hexdigest(), f"the data folder cannot be written ({exc.strerror})"
