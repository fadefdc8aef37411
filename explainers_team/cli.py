"""Command line of the team layer: ``python -m explainers_team db upgrade``.

Errors print one line on stderr and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import logging
import sys

from explainers.errors import ExplainersError

from .store import Store
from .store.engine import safe_url
from .store.migrate import current_revision


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="explainers-team", description="The team server's database: migrations and checks."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="the workspace database: `db upgrade` applies pending schema migrations")
    db.add_argument("action", choices=["upgrade"], help="upgrade: migrate to the newest schema (idempotent)")
    db.add_argument(
        "--url",
        default=None,
        help="database URL (default: $EXPLAINERS_DATABASE_URL, else SQLite in $EXPLAINERS_DATA_DIR)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return _db(args)
    except ExplainersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _db(args: argparse.Namespace) -> int:
    with Store(url=args.url) as store:  # opening a store migrates it
        print(f"database {safe_url(store.url)} is at schema revision {current_revision(store.url)} (newest)")
    return 0
