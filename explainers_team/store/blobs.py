"""Photo files under ``<data>/photos/ab/<sha256>.<ext>``, written so that no half file is ever visible.

A new photo's bytes go to a hidden temporary file first (``.tmp-...``, flushed to disk); the
store renames it to its final name only after the database transaction has committed, and
deletes it when the transaction fails. A temporary file left by a crash is swept away the next
time a store opens the folder.
"""

from __future__ import annotations

import os
import tempfile
import time
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
#: Temporary files older than this (seconds) belong to no running save and are swept.
STALE_TMP_S = 3600


class PhotoFiles:
    """The photo folder of a data directory (``root`` is ``<data>/photos``)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str, media_type: str) -> Path:
        """Final path of a photo: ``<root>/<first two hex digits>/<sha256><ext>``."""
        return self.root / sha256[:2] / f"{sha256}{EXTENSIONS.get(media_type, '.bin')}"

    def stage(self, sha256: str, data: bytes) -> Path:
        """Write ``data`` to a temporary file beside its final place (flushed to disk) and return its path."""
        folder = self.root / sha256[:2]
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
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
        """Move a staged file to its final name (atomic on one file system)."""
        os.replace(staged, final)

    @staticmethod
    def set_aside(final: Path) -> Path:
        """Rename a photo's file to a temporary name (deleted on commit, renamed back on rollback)."""
        aside = final.with_name(f".tmp-deleting-{final.name}")
        os.replace(final, aside)
        return aside

    @staticmethod
    def discard(staged: Path | None) -> None:
        """Delete a staged file, if any."""
        if staged is not None:
            staged.unlink(missing_ok=True)

    def sweep(self, is_recorded, older_than_s: float = STALE_TMP_S) -> int:
        """Clean up after interrupted saves and deletes; returns how many files were touched.

        A staged upload (``.tmp-*.part``) is deleted. A photo set aside by a delete
        (``.tmp-deleting-<name>``) is put back when ``is_recorded(sha256)`` says its row is still
        there (the delete was rolled back), and deleted otherwise.
        """
        if not self.root.is_dir():
            return 0
        cutoff, touched = time.time() - older_than_s, 0
        for tmp in self.root.glob("*/.tmp-*"):
            try:
                if tmp.stat().st_mtime >= cutoff:
                    continue  # a save or delete may be in progress in another process
                name = tmp.name.removeprefix(".tmp-deleting-")
                if name != tmp.name and is_recorded(name.split(".")[0]):
                    os.replace(tmp, tmp.with_name(name))
                else:
                    tmp.unlink()
                touched += 1
            except OSError:
                pass
        return touched
