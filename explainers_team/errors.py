"""Exceptions raised by the team layer (the store, access, server folders).

All derive from :class:`explainers.errors.ExplainersError`, so a page can show
``str(exc)`` in one line. Each also derives from the matching built-in.
"""

from __future__ import annotations

from explainers.errors import ExplainersError


class StoreError(ExplainersError, RuntimeError):
    """The store cannot do the work: database unreachable, disk full, schema too new...

    Nothing was written. The message says what the operator should do.
    """


class NotFoundError(ExplainersError, LookupError):
    """No photo, item, study or trial has the given id (it may have been deleted)."""


class PermissionDeniedError(ExplainersError, PermissionError):
    """The user may not do this (only the author, the creator or an admin may: :func:`~explainers_team.access.may_change`)."""


class StudyClosedError(PermissionDeniedError):
    """The study is closed: it accepts no more answers."""


class QuotaExceededError(ExplainersError, ValueError):
    """An upload would exceed the user's or the server's storage quota."""


class InvalidRecordError(ExplainersError, ValueError):
    """A value given to the store is malformed (empty title, unknown choice, bad thumbnail...)."""
