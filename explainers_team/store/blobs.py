"""Photo files under ``<data>/photos/ab/<sha256>.<ext>``, written so that no half file is ever visible.

A new photo's bytes go to a hidden staged file first (``.tmp-<sha256>-<random>.part``, flushed to
disk); the store renames it to its final name only after the database transaction has committed.
A photo being deleted is set aside (``.tmp-deleting-<sha256>.<ext>``) until the deletion commits.
Every such leftover of an interrupted save or delete is named by, and holds, the bytes of one
photo, so :mod:`explainers_team.store.consistency` can tell by its content (the SHA-256 that is
the photo's id) which row it belongs to: a leftover of a recorded photo is put in place, never
deleted.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: File extension per media type of an accepted photo.
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/gif": ".gif",
}
#: A leftover (staged or set-aside file) whose bytes are no recorded photo's is removed once older than
#: this (seconds): younger ones may belong to a save or delete still running in another process.
STALE_TMP_S = 3600
#: Name prefix of staged and set-aside files (hidden, and never a photo's final name).
LEFTOVER_PREFIX = ".tmp-"
#: Folder of the data directory that ``db check --repair`` moves files without a row to (never deleted).
ORPHANS_FOLDER = "orphans"
_FINAL_NAME = re.compile(r"^([0-9a-f]{64})(\.[a-z0-9]+)$")


class PhotoFiles:
    """The photo folder of a data directory (``root`` is ``<data>/photos``)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.orphans = self.root.parent / ORPHANS_FOLDER

    def path(self, sha256: str, media_type: str) -> Path:
        """Final path of a photo: ``<root>/<first two hex digits>/<sha256><ext>``."""
        return self.root / sha256[:2] / f"{sha256}{EXTENSIONS.get(media_type, '.bin')}"

    def stage(self, sha256: str, data: bytes) -> Path:
        """Write ``data`` to a staged file beside its final place (flushed to disk) and return its path.

        The name ``.tmp-<sha256>-<random>.part`` says which photo it is; several saves of the
        same bytes at once each write their own.
        """
        folder = self.root / sha256[:2]
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{LEFTOVER_PREFIX}{sha256}-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    @staticmethod
    def publish(staged: Path, final: Path) -> None:
        """Move a staged file to its final name (atomic on one file system).

        When the staged file is already gone and the final file exists, another process (a store
        opening the folder) has put it in place: that is success too.
        """
        try:
            os.replace(staged, final)
        except FileNotFoundError:
            if not final.is_file():
                raise

    @staticmethod
    def set_aside(final: Path) -> Path:
        """Rename a photo's file to a hidden name (deleted on commit, renamed back on rollback)."""
        aside = final.with_name(f"{LEFTOVER_PREFIX}deleting-{final.name}")
        os.replace(final, aside)
        return aside

    @staticmethod
    def discard(staged: Path | None) -> None:
        """Delete a staged or set-aside file, if any."""
        if staged is not None:
            staged.unlink(missing_ok=True)

    def leftovers(self) -> list[Path]:
        """Staged and set-aside files (``<root>/ab/.tmp-*``), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob(f"*/{LEFTOVER_PREFIX}*") if p.is_file())

    def others(self) -> Iterator[Path]:
        """Every other file under ``root`` (final photo files, and anything else put there), sorted."""
        if not self.root.is_dir():
            return iter(())
        return iter(
            sorted(
                p
                for p in self.root.rglob("*")
                if p.is_file() and not (p.name.startswith(LEFTOVER_PREFIX) and p.parent.parent == self.root)
            )
        )

    def final_name(self, path: Path) -> tuple[str, str] | None:
        """``(sha256, extension)`` when ``path`` is named and placed like a photo's final file, else None."""
        match = _FINAL_NAME.match(path.name)
        if match is None or path.parent != self.root / match.group(1)[:2]:
            return None
        return match.group(1), match.group(2)

    @staticmethod
    def digest(path: Path) -> str:
        """SHA-256 (hex) of the file's bytes."""
        sha = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                sha.update(block)
        return sha.hexdigest()

    def holds(self, path: Path, sha256: str) -> bool:
        """Whether ``path`` is a file holding exactly the bytes whose SHA-256 is ``sha256``."""
        try:
            return path.is_file() and self.digest(path) == sha256
        except OSError:
            return False

    @staticmethod
    def age_s(path: Path) -> float:
        """Seconds since the file was last written."""
        return time.time() - path.stat().st_mtime

    def move_to_orphans(self, path: Path) -> Path:
        """Move a file that no row refers to into ``<data>/orphans/`` (same sub-path; never overwrites)."""
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            relative = Path(path.name)
        target = self.orphans / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        stem, n = target, 1
        while target.exists():
            target = stem.with_name(f"{stem.name}.{n}")
            n += 1
        shutil.move(path, target)  # a rename, or a copy when the orphans folder is on another disk
        return target
