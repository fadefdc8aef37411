"""The store: a team's photos, saved comparisons and blind-review studies in one SQL database.

SQLite in the data folder by default, PostgreSQL on a team server (``EXPLAINERS_DATABASE_URL``);
see :mod:`explainers_team.settings`. Never imports Streamlit.

>>> from explainers_team.store import Store, User                # doctest: +SKIP
>>> store = Store()                                              # doctest: +SKIP
>>> sha = store.put_photo(data, "cat.jpg", User("ann@example.org", "Ann"))  # doctest: +SKIP
"""

from ..access import User
from ..errors import (
    InvalidRecordError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    StoreError,
    StudyClosedError,
)
from .api import EXPORT_COLUMNS, Store
from .migrate import current_revision, head_revision, upgrade, upgrade_to_head
from .records import (
    CHOICES,
    DEFAULT_QUESTION,
    AnswerRecord,
    ItemRecord,
    TrialMap,
    PhotoRecord,
    StudyRecord,
    NewTrial,
    TrialRecord,
    Usage,
)

__all__ = [
    "Store",
    "User",
    "EXPORT_COLUMNS",
    "CHOICES",
    "DEFAULT_QUESTION",
    "PhotoRecord",
    "ItemRecord",
    "StudyRecord",
    "TrialRecord",
    "AnswerRecord",
    "NewTrial",
    "TrialMap",
    "Usage",
    "StoreError",
    "NotFoundError",
    "PermissionDeniedError",
    "StudyClosedError",
    "QuotaExceededError",
    "InvalidRecordError",
    "upgrade",
    "upgrade_to_head",
    "current_revision",
    "head_revision",
]
