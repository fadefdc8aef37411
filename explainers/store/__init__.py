"""The store: a team's photos, saved comparisons and blind-review studies in one SQL database.

SQLite in the data folder by default, PostgreSQL on a team server (``EXPLAINERS_DATABASE_URL``);
see :mod:`explainers.store.config`. Never imports Streamlit.

>>> from explainers.store import Store, User                     # doctest: +SKIP
>>> store = Store()                                              # doctest: +SKIP
>>> sha = store.put_photo(data, "cat.jpg", User("ann@example.org", "Ann"))  # doctest: +SKIP
"""

from .api import EXPORT_COLUMNS, Store
from .config import data_dir, database_url
from .errors import (InvalidRecordError, NotFoundError, PermissionDeniedError, QuotaExceededError, StoreError,
                     StudyClosedError)
from .migrate import current_revision, head_revision, upgrade, upgrade_to_head
from .records import (CHOICES, DEFAULT_QUESTION, AnswerRecord, ItemRecord, PhotoRecord, PreparedMap, PreparedTrial,
                      StudyRecord, TrialRecord, Usage, User)

__all__ = [
    "Store", "User", "EXPORT_COLUMNS", "CHOICES", "DEFAULT_QUESTION",
    "PhotoRecord", "ItemRecord", "StudyRecord", "TrialRecord", "AnswerRecord", "PreparedTrial", "PreparedMap", "Usage",
    "StoreError", "NotFoundError", "PermissionDeniedError", "StudyClosedError", "QuotaExceededError",
    "InvalidRecordError",
    "upgrade", "upgrade_to_head", "current_revision", "head_revision", "data_dir", "database_url",
]
