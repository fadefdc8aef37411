"""The team layer: a shared server's store, blind reviews, access and server folders.

It sits beside the explanation library (:mod:`explainers`), which it imports and which never
imports it; the dashboard (``dashboard.py``, ``pages/``, ``ui/``) sits on both.

- :mod:`.settings`: the data folder, the database URL, the quotas (environment variables).
- :mod:`.access`: who may sign in, who is an admin, the one :class:`~.access.User` type and the
  one permission rule (:func:`~.access.may_change`).
- :mod:`.roots`: which server folders a user may read, and the one listing of photos in them.
- :mod:`.store`: photos, saved comparisons and studies in SQLite or PostgreSQL (SQLAlchemy, Alembic).
- :mod:`.review`: blind forced-choice studies: design, statistics, results.
- :mod:`.cli`: ``python -m explainers_team db upgrade|check`` (also the ``explainers-team`` command).
"""
