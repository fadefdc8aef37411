"""Alembic environment: runs on the connection that :func:`explainers_team.store.migrate.upgrade` hands over.

There is no ``alembic.ini``; ``upgrade`` builds the configuration in code and passes the
connection (already inside a transaction, and on PostgreSQL holding an advisory lock) as
``config.attributes["connection"]``.
"""

from alembic import context

from explainers_team.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `python -m explainers_team db upgrade` or explainers_team.store.upgrade_to_head(url)"
    )

context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite"
)  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
