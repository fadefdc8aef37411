"""Photo rows and photo files agree: the reconciliation a store runs when it opens, and ``db check``.

A save writes a staged file, commits the row, then renames the file into place; a delete sets the
file aside, commits, then removes it (:mod:`explainers_team.store.blobs`). A process killed between
two steps leaves a leftover file. Each leftover holds one photo's bytes, and a photo's id is the
SHA-256 of its bytes, so the leftover's content says which row it belongs to:

- a leftover whose bytes are a recorded photo's is put in place (never deleted);
- a leftover whose bytes are no recorded photo's is removed once older than
  :data:`~explainers_team.store.blobs.STALE_TMP_S` (younger ones may belong to a save still running);
- a row whose file is missing is reported (nothing can bring the bytes back but a backup or a new upload).

Every change to a file is made while holding the photo's row lock (PostgreSQL ``FOR UPDATE``,
SQLite's write lock), so it cannot interleave with a save or delete of the same photo.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import StoreError
from .blobs import STALE_TMP_S, PhotoFiles
from .schema import PhotoRow

log = logging.getLogger(__name__)

#: What a :class:`Problem` can be, in the order ``db check`` reports them.
PROBLEM_KINDS = ("missing", "mismatch", "leftover", "orphan", "unexpected")
#: What ``db check --repair`` does about a problem ("" when it cannot fix it).
REPAIRS = ("publish", "remove", "move", "")

Unit = Callable[..., AbstractContextManager[Session]]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One disagreement between the photo rows and the photo folder.

    Attributes
    ----------
    kind : str
        One of :data:`PROBLEM_KINDS`: ``missing`` (a row whose file is missing), ``mismatch`` (the
        file does not hold the row's bytes), ``leftover`` (a staged or set-aside file of an
        interrupted save or delete), ``orphan`` (a photo file that no row refers to),
        ``unexpected`` (a file the store did not write).
    path : Path
        The file concerned (for ``missing``: where the file should be).
    message : str
        One line: what is wrong and what to do.
    sha256 : str or None
        The recorded photo the file belongs to (for a leftover or orphan: whose bytes it holds), else None.
    repair : str
        What ``db check --repair`` does (one of :data:`REPAIRS`): ``publish`` (put the file in place
        as its photo's file), ``remove`` (an old leftover of nothing recorded), ``move`` (to the
        data folder's ``orphans/``); ``""`` when it cannot fix it now.
    """

    kind: str
    path: Path
    message: str
    sha256: str | None = None
    repair: str = ""

    def line(self) -> str:
        """``<kind>: <message>``, the line ``db check`` prints."""
        return f"{self.kind}: {self.message}"


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """The result of :func:`check`.

    Attributes
    ----------
    problems : tuple of Problem
        What is still wrong (after the repair, when one was asked for).
    fixed : tuple of str
        One line per repair made.
    """

    problems: tuple[Problem, ...]
    fixed: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True when rows and files agree."""
        return not self.problems


@dataclasses.dataclass(frozen=True)
class _Row:
    sha256: str
    media_type: str
    name: str
    size: int


def reconcile(files: PhotoFiles, unit: Unit, *, older_than_s: float = STALE_TMP_S) -> list[str]:
    """Settle the leftovers of interrupted saves and deletes; what a store does when it opens.

    Parameters
    ----------
    files : PhotoFiles
        The store's photo folder.
    unit : callable
        The store's unit of work (``Store._unit``).
    older_than_s : float, optional
        Age (seconds) above which a leftover of no recorded photo is removed.

    Returns
    -------
    list of str
        One line per file put in place or removed. A leftover that cannot be settled (database
        busy, disk error) is logged and left for the next opening or ``db check``.
    """
    done = []
    for path in files.leftovers():
        try:
            sha = files.digest(path)
            old = files.age_s(path) >= older_than_s
            line = _settle(files, unit, path, sha, otherwise="remove" if old else "")
        except FileNotFoundError:
            continue  # settled meanwhile by the save or delete it belongs to
        except (OSError, StoreError) as exc:
            log.warning("could not settle %s (%s); `explainers-team db check` reports it", path, exc)
            continue
        if line:
            done.append(line)
    return done


def missing_files(files: PhotoFiles, unit: Unit) -> list[Problem]:
    """A ``missing`` problem for each recorded photo whose file is not there (existence only, no hashing)."""
    return [
        _missing(files, row) for row in _rows(unit).values() if not files.path(row.sha256, row.media_type).is_file()
    ]


def check(
    files: PhotoFiles, unit: Unit, *, repair: bool = False, verify: bool = True, older_than_s: float = STALE_TMP_S
) -> CheckReport:
    """Every disagreement between the photo rows and the photo folder; with ``repair``, fix what can be fixed.

    Parameters
    ----------
    files : PhotoFiles
        The store's photo folder.
    unit : callable
        The store's unit of work (``Store._unit``).
    repair : bool, optional
        Put in place every file that holds a recorded photo's bytes, remove leftovers of no
        recorded photo and move other files that no row refers to into ``<data>/orphans/``, when
        older than ``older_than_s``. Nothing a row refers to is ever deleted.
    verify : bool, optional
        Hash every photo file (default). False compares sizes only (fast on a large folder).
    older_than_s : float, optional
        Files without a row younger than this are left alone (a save may still be running).

    Returns
    -------
    CheckReport
    """
    rows = _rows(unit)
    problems = _inspect(files, rows, verify=verify, older_than_s=older_than_s)
    if not repair:
        return CheckReport(tuple(problems))
    fixed, remaining, restored = [], [], set()
    for problem in problems:
        line = _repair(files, unit, problem) if problem.repair else None
        if line is None:
            remaining.append(problem)
            continue
        fixed.append(line)
        if problem.repair == "publish" and problem.sha256 is not None:
            restored.add(problem.sha256)
    remaining = [p for p in remaining if not (p.kind in ("missing", "mismatch") and p.sha256 in restored)]
    return CheckReport(tuple(remaining), tuple(fixed))


# ----------------------------------------------------------------------------------------------------- helpers


def _rows(unit: Unit) -> dict[str, _Row]:
    query = select(PhotoRow.sha256, PhotoRow.media_type, PhotoRow.original_name, PhotoRow.byte_size)
    with unit("listing photos", read=True) as s:
        return {sha: _Row(sha, media_type, name, int(size)) for sha, media_type, name, size in s.execute(query)}


def _settle(files: PhotoFiles, unit: Unit, path: Path, sha: str, *, otherwise: str) -> str | None:
    """Under the row lock: put ``path`` in place when it holds a recorded photo, else ``otherwise``.

    ``otherwise`` is "remove", "move" or "" (leave it). The bytes of a recorded photo are never
    removed: they go in place, or, for a second copy of a photo whose own file is sound, to the
    orphans folder (with ``otherwise="move"``).
    """
    with unit("putting a photo file in place") as s:
        row = s.get(PhotoRow, sha, with_for_update=True)
        final = files.path(sha, row.media_type) if row is not None else None
        if final is not None and (otherwise != "move" or not files.holds(final, sha)):
            os.replace(path, final)
            return f"put {path} in place as the file of photo {row.original_name!r} ({sha[:16]}...)"
        if otherwise == "remove":
            path.unlink()
            return f"removed {path} (a leftover of an interrupted save or delete; no recorded photo has its bytes)"
        if otherwise == "move":
            target = files.move_to_orphans(path)
            return f"moved {path} to {target} (no recorded photo refers to it)"
        return None


def _repair(files: PhotoFiles, unit: Unit, problem: Problem) -> str | None:
    try:
        sha = problem.sha256 if problem.repair == "publish" else files.digest(problem.path)
        return _settle(files, unit, problem.path, sha, otherwise=problem.repair)
    except FileNotFoundError:
        return None  # settled meanwhile: the next check says so
    except (OSError, StoreError) as exc:
        log.warning("could not repair %s: %s", problem.path, exc)
        return None


def _digest(files: PhotoFiles, path: Path) -> str | None:
    with contextlib.suppress(OSError):
        return files.digest(path)
    return None


def _missing(files: PhotoFiles, row: _Row) -> Problem:
    path = files.path(row.sha256, row.media_type)
    return Problem(
        "missing",
        path,
        f"photo {row.name!r} ({row.sha256[:16]}...) is recorded but its file {path} is missing; restore the "
        "file from a backup, or upload the photo again (the same bytes are put back in place)",
        row.sha256,
    )


def _age_text(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{max(seconds, 0):.0f} s"


def _inspect(files: PhotoFiles, rows: dict[str, _Row], *, verify: bool, older_than_s: float) -> list[Problem]:
    found: list[Problem] = []
    broken: set[str] = set()  # rows whose file is missing or wrong: another file may hold their bytes
    finals: dict[Path, _Row] = {}
    for row in rows.values():
        path = files.path(row.sha256, row.media_type)
        finals[path] = row
        try:
            size = path.stat().st_size if path.is_file() else None
        except OSError:
            size = None
        if size is None:
            found.append(_missing(files, row))
            broken.add(row.sha256)
            continue
        wrong = size != row.size or (verify and _digest(files, path) != row.sha256)
        if wrong:
            what = f"{size} bytes instead of {row.size}" if size != row.size else "other bytes (its SHA-256 differs)"
            found.append(
                Problem(
                    "mismatch",
                    path,
                    f"the file {path} of photo {row.name!r} ({row.sha256[:16]}...) holds {what}; restore it from "
                    "a backup, or upload the photo again (the right bytes replace it)",
                    row.sha256,
                )
            )
            broken.add(row.sha256)
    limit = _age_text(older_than_s)
    for path in files.leftovers():
        found += _unowned(files, path, rows, broken, "leftover", older_than_s, limit)
    for path in files.others():
        if path not in finals:
            kind = "orphan" if files.final_name(path) is not None else "unexpected"
            found += _unowned(files, path, rows, broken, kind, older_than_s, limit)
    return sorted(found, key=lambda p: (PROBLEM_KINDS.index(p.kind), str(p.path)))


def _unowned(
    files: PhotoFiles,
    path: Path,
    rows: dict[str, _Row],
    broken: set[str],
    kind: str,
    older_than_s: float,
    limit: str,
) -> Iterator[Problem]:
    """The problem a file that is not a photo's final file makes (nothing when it vanished meanwhile)."""
    sha = _digest(files, path)
    try:
        age = files.age_s(path)
    except OSError:
        return
    if sha is None:
        return
    row = rows.get(sha)
    if row is not None and (kind == "leftover" or sha in broken):
        # the bytes of a recorded photo: a leftover always goes in place; another file only where the photo's own is bad
        yield Problem(
            kind,
            path,
            f"{path} holds the bytes of photo {row.name!r} ({sha[:16]}...); `db check --repair` puts it in place "
            "(opening the store does too for a leftover)",
            sha,
            "publish",
        )
        return
    old = age >= older_than_s
    action = ("remove" if kind == "leftover" else "move") if old else ""
    what = {
        "leftover": "is a leftover of an interrupted save or delete",
        "orphan": "is a photo file that no recorded photo refers to"
        + (f" (a second copy of {row.name!r} under another name)" if row is not None else ""),
        "unexpected": "was not written by the store",
    }[kind]
    fix = {
        "remove": "`db check --repair` removes it",
        "move": f"`db check --repair` moves it to {files.orphans}",
    }
    if old:
        todo = fix[action]
    else:
        later = fix["remove" if kind == "leftover" else "move"]
        todo = f"it is {_age_text(age)} old, so a save may still be running; if none is, {later} once it is over {limit} old"
    yield Problem(kind, path, f"{path} {what}; {todo}", sha if row is not None else None, action)
