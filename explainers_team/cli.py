"""Command line of the team layer: ``explainers-team db upgrade``, ``explainers-team db check [--repair]``.

Errors print one line on stderr and the exit status is 2. ``db check`` prints one line per problem
(what is wrong and what to do) and exits with 0 when the photo rows and files agree, 1 otherwise.
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
    db = sub.add_parser(
        "db",
        help="the workspace database: `db upgrade` applies pending schema migrations, "
        "`db check` compares the photo rows with the photo files",
    )
    db.add_argument(
        "action",
        choices=["upgrade", "check"],
        help="upgrade: migrate to the newest schema (idempotent); check: report every photo row without its "
        "file, file without its row, leftover of an interrupted save, and file whose bytes do not match "
        "(exit status 0 when there is none, 1 otherwise)",
    )
    db.add_argument(
        "--repair",
        action="store_true",
        help="with check: fix what can be fixed (put files holding a recorded photo's bytes in place; remove "
        "leftovers and move files that no row refers to into <data>/orphans/ once they are over an hour old; "
        "nothing a row refers to is deleted), then report what is left",
    )
    db.add_argument(
        "--quick",
        action="store_true",
        help="with check: compare file sizes instead of hashing every photo file",
    )
    db.add_argument(
        "--url",
        default=None,
        help="database URL (default: $EXPLAINERS_DATABASE_URL, else SQLite in the data folder)",
    )
    db.add_argument(
        "--data-dir",
        default=None,
        help="data folder holding photos/ (default: $EXPLAINERS_DATA_DIR, else <repo>/data)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action != "check" and (args.repair or args.quick):
        parser.error("--repair and --quick go with `db check`")
    try:
        return _check(args) if args.action == "check" else _upgrade(args)
    except ExplainersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _upgrade(args: argparse.Namespace) -> int:
    with Store(url=args.url, data_dir=args.data_dir) as store:  # opening a store migrates it
        print(f"database {safe_url(store.url)} is at schema revision {current_revision(store.url)} (newest)")
    return 0


def _check(args: argparse.Namespace) -> int:
    # opening a store migrates it and puts the leftovers of interrupted saves in place
    with Store(url=args.url, data_dir=args.data_dir) as store:
        report = store.check(repair=args.repair, verify=not args.quick)
        for line in report.fixed:
            print(f"fixed: {line}")
        for problem in report.problems:
            print(f"{'not fixed: ' if args.repair else ''}{problem.line()}")
        where = f"{safe_url(store.url)} and {store.files.root}"
        if report.clean:
            print(f"ok: the photo rows in {where} agree")
        else:
            print(f"{len(report.problems)} problem(s) in {where}", file=sys.stderr)
    return 0 if report.clean else 1
