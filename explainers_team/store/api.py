"""The store: photos, saved comparisons (items), and blind-review studies, in one database.

One :class:`Store` per process is enough (it is thread-safe: each call is one unit of work
in its own ``Session``, committed or rolled back as a whole). Pages call it; it never
imports Streamlit.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import String, cast, delete, func, or_, select, text as sql_text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, defer, selectinload

from explainers import images
from explainers.files import csv_text
from .. import settings
from ..access import User, check_may_change
from . import consistency, validate
from .blobs import PhotoFiles
from .engine import make_engine, safe_url, translate_errors
from ..errors import InvalidRecordError, NotFoundError, QuotaExceededError, StoreError, StudyClosedError
from .migrate import upgrade_to_head
from .records import (
    CHOICES,
    DEFAULT_QUESTION,
    AnswerRecord,
    ItemRecord,
    PhotoRecord,
    TrialMap,
    NewTrial,
    StudyRecord,
    TrialRecord,
    Usage,
)
from .schema import AnswerRow, ItemRow, ItemTagRow, ItemThumbnailRow, PhotoRow, StudyRow, TrialRow, TrialMapRow, utcnow

#: Columns of :meth:`Store.export_items_csv`, in order.
EXPORT_COLUMNS = (
    "id",
    "title",
    "note",
    "tags",
    "author_id",
    "author_name",
    "created_at",
    "updated_at",
    "models",
    "methods",
    "class_index",
    "class_label",
    "photo_sha256",
    "query",
)
#: PostgreSQL advisory lock key that serialises quota checks of uploads ("phot").
_UPLOAD_LOCK_KEY = 0x70686F74
_MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "GIF": "image/gif",
}
log = logging.getLogger(__name__)


class Store:
    """The team's workspace and reviews: a SQL database plus a folder of photos.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL. Default ``$EXPLAINERS_DATABASE_URL``, else SQLite at
        ``<data_dir>/explainers.db``. ``postgresql://`` means psycopg 3.
    data_dir : path, optional
        Data folder (photos, and the SQLite database). Default ``$EXPLAINERS_DATA_DIR``,
        else ``<repo>/data``. Created when missing.
    migrate : bool, optional
        Upgrade the schema to the newest migration on opening (default True; idempotent,
        safe when several processes start at once).
    quota_user_bytes, quota_total_bytes : int, optional
        Photo storage allowed per uploader and in total, in bytes; 0 means no limit.
        Default ``$EXPLAINERS_QUOTA_USER_MB`` (1000 MB) and ``$EXPLAINERS_QUOTA_TOTAL_MB``
        (20000 MB).

    Raises
    ------
    StoreError
        If the data folder cannot be created or the database cannot be reached or migrated.

    Notes
    -----
    Opening a store settles what interrupted saves and deletes left in the photo folder: a
    staged or set-aside file holding a recorded photo's bytes is put in place, one holding no
    recorded photo's bytes is removed once over an hour old, and recorded photos without a file
    are logged (see :meth:`check` and :mod:`explainers_team.store.consistency`).

    Examples
    --------
    >>> store = Store(data_dir="/tmp/explainers-demo")                  # doctest: +SKIP
    >>> sha = store.put_photo(open("cat.jpg", "rb").read(), "cat.jpg", "ann@example.org")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str | None = None,
        data_dir: str | Path | None = None,
        *,
        migrate: bool = True,
        quota_user_bytes: int | None = None,
        quota_total_bytes: int | None = None,
    ):
        self.data_dir = Path(data_dir).expanduser() if data_dir is not None else settings.data_dir()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data folder {self.data_dir} ({exc.strerror}); set "
                "EXPLAINERS_DATA_DIR to a writable folder"
            ) from None
        self.url = settings.normalize_url(url) if url else settings.database_url(self.data_dir)
        self.files = PhotoFiles(self.data_dir / "photos")
        self.quota_user_bytes = (
            settings.quota_bytes(settings.ENV_QUOTA_USER, settings.DEFAULT_QUOTA_USER_MB)
            if quota_user_bytes is None
            else int(quota_user_bytes)
        )
        self.quota_total_bytes = (
            settings.quota_bytes(settings.ENV_QUOTA_TOTAL, settings.DEFAULT_QUOTA_TOTAL_MB)
            if quota_total_bytes is None
            else int(quota_total_bytes)
        )
        if migrate:
            upgrade_to_head(self.url)
        self.engine = make_engine(self.url)
        # reads need no write lock: on SQLite they begin DEFERRED (see engine._sqlite_setup)
        self._read_engine = self.engine.execution_options(store_read_only=True)
        self._reconcile()

    def _reconcile(self) -> None:
        """Settle what interrupted saves and deletes left (see :mod:`.consistency`); log rows without files."""
        try:
            for line in consistency.reconcile(self.files, self._unit):
                log.info("%s", line)
            missing = consistency.missing_files(self.files, self._unit)
        except (StoreError, SQLAlchemyError, OSError) as exc:
            log.warning("could not compare the photo files with the database (%s); run `explainers-team db check`", exc)
            return
        if missing:
            log.warning(
                "%d recorded photo(s) have no file, e.g. %s; run `explainers-team db check` for the list",
                len(missing),
                missing[0].path,
            )

    def check(self, *, repair: bool = False, verify: bool = True) -> consistency.CheckReport:
        """Compare the photo rows with the photo folder; with ``repair``, fix what can be fixed.

        Opening a store already puts every leftover of an interrupted save in place when its photo is
        recorded; this reports what is still inconsistent: rows without files, files that do not hold
        their photo's bytes, leftovers, files that no row refers to.

        Parameters
        ----------
        repair : bool, optional
            Put in place every file that holds the bytes of a recorded photo whose own file is
            missing or wrong; remove leftovers of no recorded photo and move other files that no
            row refers to into ``<data_dir>/orphans/``, once they are over an hour old. Nothing
            that a row refers to is ever deleted.
        verify : bool, optional
            Hash every photo file (default); False compares sizes only.

        Returns
        -------
        CheckReport
            ``problems`` (what is still wrong, one line each with what to do) and ``fixed``
            (what the repair did); ``clean`` is True when rows and files agree.

        Raises
        ------
        StoreError
            If the database is unreachable.
        """
        with translate_errors(self.url, "checking the photo files"):
            return consistency.check(self.files, self._unit, repair=repair, verify=verify)

    def __repr__(self) -> str:
        return f"Store(url={safe_url(self.url)!r}, data_dir={str(self.data_dir)!r})"

    def close(self) -> None:
        """Close the database connections (the store may not be used afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _unit(self, action: str, *, read: bool = False) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any exception."""
        with translate_errors(self.url, action):
            with Session(self._read_engine if read else self.engine, expire_on_commit=False) as s, s.begin():
                yield s

    # ---------------------------------------------------------------- photos

    def put_photo(self, data: bytes, name: str, uploader: User | str, *, pixels: np.ndarray | None = None) -> str:
        """Store an uploaded photo once, addressed by the SHA-256 of its bytes.

        The bytes are decoded first by :func:`explainers.images.load_image` (same formats and
        limits as everywhere); nothing is written when that fails. Uploading the same bytes
        again (by anyone) returns the same hash and stores nothing new.

        Parameters
        ----------
        data : bytes
            The encoded file as uploaded (JPEG, PNG, WebP, BMP, TIFF or GIF).
        name : str
            The uploaded file's name (kept for display; only its last path part).
        uploader : User or str
            Who uploads; counted against their quota.
        pixels : (H, W, 3) uint8 ndarray, optional
            ``explainers.load_image(data)``, when the caller has decoded it already (it is not decoded again).

        Returns
        -------
        str
            The photo's id: 64 lower-case hex digits.

        Raises
        ------
        ImageError
            If the bytes are not an accepted image (the decoder's message).
        QuotaExceededError
            If the photo would exceed the uploader's or the server's quota.
        StoreError
            If the database is unreachable or the disk is full; nothing is left behind.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"`data` must be the uploaded file's bytes, got {type(data).__name__}")
        data = bytes(data)
        name = Path(str(name or "photo").replace("\\", "/")).name[:255] or "photo"
        user = User.of(uploader)
        if pixels is None:
            pixels = images.load_image(data, name)
        with Image.open(io.BytesIO(data)) as im:
            media_type = _MEDIA_TYPES.get(im.format or "", "application/octet-stream")
        sha = hashlib.sha256(data).hexdigest()
        final = self.files.path(sha, media_type)
        staged = None
        inserted = False
        try:
            with self._unit(f"saving photo {name}") as s:
                if s.get(PhotoRow, sha) is not None:
                    if self.files.holds(final, sha):
                        return sha
                    staged = self.files.stage(sha, data)  # the row survived a lost or damaged file: put it back
                else:
                    self._check_quota(s, user, len(data), name)
                    s.add(
                        PhotoRow(
                            sha256=sha,
                            original_name=name,
                            media_type=media_type,
                            byte_size=len(data),
                            width=int(pixels.shape[1]),
                            height=int(pixels.shape[0]),
                            uploader_id=user.id,
                            uploader_name=user.name,
                            created_at=utcnow(),
                        )
                    )
                    s.flush()
                    staged = self.files.stage(sha, data)
                    inserted = True
        except IntegrityError:
            # another session stored the same bytes at the same moment: the row is theirs; the file has the
            # same bytes, so writing it too (atomically) makes sure it is there when we return
            inserted = False
            if staged is None and not final.is_file():
                with translate_errors(self.url, f"saving photo {name}"):
                    staged = self.files.stage(sha, data)
        except BaseException:
            self.files.discard(staged)
            raise
        if staged is not None:
            try:
                with translate_errors(self.url, f"saving photo {name}"):
                    self.files.publish(staged, final)
            except BaseException:
                # our committed row without its file: take the row back, then the file. The staged file holds
                # a recorded photo's bytes as long as a row exists, so it stays when the row does (another
                # session's, or ours when taking it back failed too): the next store to open the folder puts
                # it in place.
                if inserted:
                    with contextlib.suppress(Exception):
                        with self._unit("undoing a failed photo save") as s:
                            s.execute(delete(PhotoRow).where(PhotoRow.sha256 == sha))
                        self.files.discard(staged)
                raise
        return sha

    def _check_quota(self, s: Session, user: User, size: int, name: str) -> None:
        if not (self.quota_user_bytes or self.quota_total_bytes):
            return
        if s.get_bind().dialect.name == "postgresql":  # two uploads at once must not both fit the last MB
            s.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPLOAD_LOCK_KEY})
        used = s.scalar(select(func.coalesce(func.sum(PhotoRow.byte_size), 0)).where(PhotoRow.uploader_id == user.id))
        total = s.scalar(select(func.coalesce(func.sum(PhotoRow.byte_size), 0)))
        mb = _size_text
        if self.quota_user_bytes and used + size > self.quota_user_bytes:
            raise QuotaExceededError(
                f"{name} ({mb(size)}) would bring {user.name}'s stored photos to {mb(used + size)}, above the "
                f"{mb(self.quota_user_bytes)} allowed per user; delete photos you no longer need, or ask an admin to raise EXPLAINERS_QUOTA_USER_MB"
            )
        if self.quota_total_bytes and total + size > self.quota_total_bytes:
            raise QuotaExceededError(
                f"{name} ({mb(size)}) would bring the server's stored photos to {mb(total + size)}, above its "
                f"{mb(self.quota_total_bytes)} limit; ask an admin to free space or raise EXPLAINERS_QUOTA_TOTAL_MB"
            )

    def delete_photo(self, sha256: str, *, by: User | str) -> None:
        """Delete a stored photo that no saved item or trial uses, freeing its uploader's quota.

        Raises
        ------
        PermissionDeniedError
            Unless ``by`` uploaded it or is an admin.
        InvalidRecordError
            If saved items or trials still use it (delete those first).
        NotFoundError
            If no photo has this hash.
        """
        user = User.of(by)
        aside = None
        try:
            with self._unit("deleting a photo") as s:
                row = s.get(PhotoRow, _sha(sha256), with_for_update=True)
                if row is None:
                    raise NotFoundError(f"no stored photo has the hash {sha256[:16]}...; it may have been deleted")
                check_may_change(
                    user, row.uploader_id, row.uploader_name, f"delete the photo {row.original_name}", "uploader"
                )
                items = s.scalar(select(func.count(ItemRow.id)).where(ItemRow.photo_sha256 == row.sha256))
                trials = s.scalar(select(func.count(TrialRow.id)).where(TrialRow.photo_sha256 == row.sha256))
                if items or trials:
                    raise InvalidRecordError(
                        f"the photo {row.original_name} is used by {items} saved item(s) and "
                        f"{trials} study trial(s); delete those first"
                    )
                path = self.files.path(row.sha256, row.media_type)
                s.delete(row)
                s.flush()
                if path.is_file():  # set aside, not deleted, until the transaction commits
                    aside = self.files.set_aside(path)
        except BaseException:
            if aside is not None:
                self.files.publish(aside, path)
            raise
        self.files.discard(aside)

    def photo_info(self, sha256: str) -> PhotoRecord:
        """The stored photo's record. Raises :class:`NotFoundError` for an unknown hash."""
        with self._unit("reading a photo", read=True) as s:
            row = s.get(PhotoRow, _sha(sha256))
            if row is None:
                raise NotFoundError(
                    f"no stored photo has the hash {sha256!s:.16}...; it was never uploaded here "
                    "or the link is from another server"
                )
            return _photo_record(row)

    def photo_path(self, sha256: str) -> Path:
        """Path of the stored photo's file. Raises :class:`NotFoundError` when the row or the file is missing."""
        info = self.photo_info(sha256)
        path = self.files.path(info.sha256, info.media_type)
        if not path.is_file():
            raise NotFoundError(
                f"photo {info.original_name} ({info.sha256[:16]}...) is recorded but its file "
                f"{path} is missing; restore the photos folder from a backup, or upload it again"
            )
        return path

    def get_photo(self, sha256: str) -> bytes:
        """The stored photo's bytes, exactly as uploaded (decode with :func:`explainers.load_image`)."""
        return self.photo_path(sha256).read_bytes()

    def list_photos(self, *, uploader: User | str | None = None) -> list[PhotoRecord]:
        """Stored photos, newest first, optionally only those of one uploader."""
        query = select(PhotoRow).order_by(PhotoRow.created_at.desc(), PhotoRow.sha256)
        if uploader is not None:
            query = query.where(PhotoRow.uploader_id == User.of(uploader).id)
        with self._unit("listing photos", read=True) as s:
            return [_photo_record(p) for p in s.scalars(query)]

    def usage(self, user: User | str) -> Usage:
        """Photo storage used by ``user`` and in total, with the quotas (bytes; 0 = no limit)."""
        user = User.of(user)
        with self._unit("reading storage use", read=True) as s:
            used = s.scalar(
                select(func.coalesce(func.sum(PhotoRow.byte_size), 0)).where(PhotoRow.uploader_id == user.id)
            )
            total = s.scalar(select(func.coalesce(func.sum(PhotoRow.byte_size), 0)))
        return Usage(int(used), int(total), self.quota_user_bytes, self.quota_total_bytes)

    # ---------------------------------------------------------------- items

    def save_item(
        self,
        *,
        title: str,
        author: User | str,
        view: dict[str, Any],
        models: Sequence[str],
        methods: Sequence[str],
        class_index: int,
        class_label: str,
        photo_sha256: str | None = None,
        note: str = "",
        tags: Sequence[str] | str = (),
        predictions: Any = None,
        scores: Any = None,
        thumbnails: Sequence[bytes] = (),
    ) -> int:
        """Save a comparison to the workspace; returns its id.

        Parameters
        ----------
        title : str
            1 to 200 characters.
        author : User or str
            The logged-in user, or the name typed once per browser.
        view : dict of str to str
            The permalink's query parameters (``st.query_params.to_dict()``): opening them
            restores the exact view.
        models, methods : list of str
            Registry names, e.g. ``["efficientnet_lite0"]`` and ``["cam", "secam"]``.
        class_index : int
            The explained class; ``class_label`` its name.
        photo_sha256 : str, optional
            A photo stored with :meth:`put_photo` (None for a bundled sample: ``view`` names it).
        note : str, optional
            Free text, at most 20,000 characters.
        tags : list of str or comma-separated str, optional
            Lower-cased and de-duplicated; at most 20 of 64 characters.
        predictions, scores : JSON-like, optional
            E.g. the top-K ``[{"class_index", "label", "probability"}]`` and SeCAM's
            per-superpixel ``{"ids", "scores", "areas"}``; numpy arrays are converted to lists.
        thumbnails : list of bytes, optional
            PNG or JPEG pictures for the list (e.g. the CAM and SeCAM overlays), at most 8
            of 4 MB each.

        Raises
        ------
        InvalidRecordError, TypeError
            On a malformed value (the message names it).
        NotFoundError
            If ``photo_sha256`` is not a stored photo.
        StoreError
            If the database is unreachable; nothing is saved.
        """
        user = User.of(author)
        if isinstance(thumbnails, (bytes, bytearray)):
            raise TypeError("`thumbnails` must be a list of encoded pictures, not one bytes object")
        if len(thumbnails) > validate.MAX_THUMBNAILS:
            raise InvalidRecordError(f"{len(thumbnails)} thumbnails given; at most {validate.MAX_THUMBNAILS}")
        pictures = [
            validate.picture(t, f"thumbnails[{i}]", validate.MAX_THUMBNAIL_BYTES) for i, t in enumerate(thumbnails)
        ]
        now = utcnow()
        item = ItemRow(
            title=validate.text(title, "title"),
            note=validate.text(note, "note", max_chars=validate.MAX_NOTE_CHARS, required=False),
            author_id=user.id,
            author_name=user.name,
            created_at=now,
            updated_at=now,
            models=validate.names(models, "models"),
            methods=validate.names(methods, "methods"),
            class_index=validate.class_index(class_index),
            class_label=validate.text(class_label, "class_label"),
            view=validate.view(view),
            predictions=validate.jsonable(predictions, "predictions"),
            scores=validate.jsonable(scores, "scores"),
            photo_sha256=None if photo_sha256 is None else _sha(photo_sha256),
        )
        item.tags = [ItemTagRow(tag=t) for t in validate.tags(tags)]
        item.thumbnails = [ItemThumbnailRow(position=i, media_type=m, data=d) for i, (d, m) in enumerate(pictures)]
        missing = NotFoundError(f"photo {str(item.photo_sha256)[:16]}... is not stored; store it with put_photo first")
        try:
            with self._unit(f"saving '{item.title}'") as s:
                if item.photo_sha256 is not None and s.get(PhotoRow, item.photo_sha256) is None:
                    raise missing
                s.add(item)
                s.flush()
                return item.id
        except IntegrityError:  # the photo was deleted between the check and the insert
            raise missing from None

    def get_item(self, item_id: int) -> ItemRecord:
        """One saved item, with its thumbnails. Raises :class:`NotFoundError` when it does not exist."""
        with self._unit("reading an item", read=True) as s:
            return _item_record(self._item(s, item_id), True)

    @staticmethod
    def _item(s: Session, item_id: int, lock: bool = False) -> ItemRow:
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            raise TypeError(f"`item_id` must be an int, got {type(item_id).__name__}")
        query = (
            select(ItemRow)
            .where(ItemRow.id == item_id)
            .options(selectinload(ItemRow.tags), selectinload(ItemRow.thumbnails))
        )
        item = s.scalars(query.with_for_update() if lock else query).first()
        if item is None:
            raise NotFoundError(f"no saved item has id {item_id}; it may have been deleted")
        return item

    def list_items(
        self,
        *,
        model: str | None = None,
        method: str | None = None,
        class_index: int | None = None,
        author: User | str | None = None,
        tag: str | None = None,
        text: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        with_thumbnails: bool = True,
    ) -> list[ItemRecord]:
        """Saved items, newest first, matching every filter given.

        Parameters
        ----------
        model, method : str, optional
            Items that used this registry name.
        class_index : int, optional
            Items that explain this class.
        author : User or str, optional
            Items saved by this identity.
        tag : str, optional
            Items carrying this tag (case-insensitive).
        text : str, optional
            Case-insensitive substring of the title, note or class label.
        limit, offset : int, optional
            Paging.
        with_thumbnails : bool, optional
            Load the thumbnails (default True).
        """
        query = (
            select(ItemRow).order_by(ItemRow.created_at.desc(), ItemRow.id.desc()).options(selectinload(ItemRow.tags))
        )
        if with_thumbnails:
            query = query.options(selectinload(ItemRow.thumbnails))
        if model is not None:
            query = query.where(_json_list_contains(ItemRow.models, model))
        if method is not None:
            query = query.where(_json_list_contains(ItemRow.methods, method))
        if class_index is not None:
            query = query.where(ItemRow.class_index == validate.class_index(class_index))
        if author is not None:
            query = query.where(ItemRow.author_id == User.of(author).id)
        if tag is not None and tag.strip():
            wanted = " ".join(tag.split()).lower()
            query = query.where(ItemRow.id.in_(select(ItemTagRow.item_id).where(ItemTagRow.tag == wanted)))
        if text is not None and text.strip():
            pattern = f"%{_escape_like(text.strip().lower())}%"
            query = query.where(
                or_(
                    *(
                        func.lower(col).like(pattern, escape="\\")
                        for col in (ItemRow.title, ItemRow.note, ItemRow.class_label)
                    )
                )
            )
        if offset:
            query = query.offset(int(offset))
        if limit is not None:
            query = query.limit(int(limit))
        with self._unit("listing items", read=True) as s:
            return [_item_record(i, with_thumbnails) for i in s.scalars(query)]

    def item_facets(self) -> dict[str, list]:
        """Values to offer in the workspace's filters.

        Returns
        -------
        dict
            ``models``, ``methods``, ``tags``: sorted lists of str; ``classes``: sorted
            ``(class_index, class_label)`` pairs; ``authors``: sorted ``(author_id, author_name)`` pairs.
        """
        with self._unit("reading the filters", read=True) as s:
            rows = s.execute(
                select(
                    ItemRow.models,
                    ItemRow.methods,
                    ItemRow.class_index,
                    ItemRow.class_label,
                    ItemRow.author_id,
                    ItemRow.author_name,
                )
            ).all()
            tags = s.scalars(select(ItemTagRow.tag).distinct()).all()
        return {
            "models": sorted({m for r in rows for m in r.models}),
            "methods": sorted({m for r in rows for m in r.methods}),
            "classes": sorted({(r.class_index, r.class_label) for r in rows}),
            "authors": sorted({(r.author_id, r.author_name) for r in rows}),
            "tags": sorted(tags),
        }

    def update_item(
        self,
        item_id: int,
        *,
        by: User | str,
        title: str | None = None,
        note: str | None = None,
        tags: Sequence[str] | str | None = None,
    ) -> ItemRecord:
        """Change an item's title, note and/or tags (None leaves a field as it is); returns the new record.

        Raises
        ------
        PermissionDeniedError
            Unless ``by`` is the item's author or an admin.
        NotFoundError
            If the item does not exist.
        """
        user = User.of(by)
        new_title = None if title is None else validate.text(title, "title")
        new_note = (
            None if note is None else validate.text(note, "note", max_chars=validate.MAX_NOTE_CHARS, required=False)
        )
        new_tags = None if tags is None else validate.tags(tags)
        with self._unit(f"updating item {item_id}") as s:
            item = self._item(s, item_id, lock=True)
            check_may_change(user, item.author_id, item.author_name, f"edit '{item.title}'")
            if new_title is not None:
                item.title = new_title
            if new_note is not None:
                item.note = new_note
            if new_tags is not None:
                item.tags = [ItemTagRow(tag=t) for t in new_tags]
            item.updated_at = utcnow()
            s.flush()
            return _item_record(item, True)

    def delete_item(self, item_id: int, *, by: User | str) -> None:
        """Delete one item (its tags and thumbnails go with it; its photo stays).

        Raises
        ------
        PermissionDeniedError
            Unless ``by`` is the item's author or an admin.
        NotFoundError
            If the item does not exist (e.g. already deleted).
        """
        user = User.of(by)
        with self._unit(f"deleting item {item_id}") as s:
            item = self._item(s, item_id, lock=True)
            check_may_change(user, item.author_id, item.author_name, f"delete '{item.title}'")
            s.delete(item)

    def export_items_json(self, **filters: Any) -> str:
        """The items that :meth:`list_items` returns for ``filters``, as a JSON array (no thumbnails)."""
        items = self.list_items(with_thumbnails=False, **filters)
        return json.dumps([i.to_dict() for i in items], indent=2, ensure_ascii=False)

    def export_items_csv(self, **filters: Any) -> str:
        """The items that :meth:`list_items` returns for ``filters``, as CSV (:data:`EXPORT_COLUMNS`).

        Lists are joined with ``;``; ``query`` is the permalink's query string. Written by
        :func:`explainers.files.csv_text`: a text cell that a spreadsheet would run as a formula
        (``=``, ``+``, ``-``, ``@``...) starts with ``'``; ``id`` and ``class_index`` stay numbers.
        """
        rows = (
            item.to_dict()
            | {
                "tags": ";".join(item.tags),
                "models": ";".join(item.models),
                "methods": ";".join(item.methods),
                "query": item.query,
            }
            for item in self.list_items(with_thumbnails=False, **filters)
        )
        return csv_text(rows, EXPORT_COLUMNS)

    # ---------------------------------------------------------------- studies

    def create_study(
        self,
        *,
        name: str,
        creator: User | str,
        conditions: Sequence[dict[str, Any]],
        trials: Sequence[NewTrial],
        question: str = DEFAULT_QUESTION,
    ) -> int:
        """Create a study with its prepared trials, in one transaction; returns its id.

        Parameters
        ----------
        name : str
            1 to 200 characters.
        creator : User or str
            May close the study (as may an admin).
        conditions : list of two dicts
            ``{"model": str, "method": str, "params": dict}`` each, e.g. CAM and SeCAM on
            one model. Never shown to reviewers.
        trials : list of NewTrial
            In order; ``trial.maps[i]`` is ``conditions[i]``'s map. Photos must be stored.
        question : str, optional
            Shown to reviewers; ``{label}`` is replaced by the trial's class label.

        Raises
        ------
        InvalidRecordError, TypeError
            On a malformed value. NotFoundError: a trial's photo is not stored.
        """
        user = User.of(creator)
        conds = validate.conditions(conditions)
        if isinstance(trials, (str, bytes)) or not isinstance(trials, Sequence) or not trials:
            raise InvalidRecordError("a study needs at least one trial (a list of NewTrial)")
        rows = []
        for position, trial in enumerate(trials):
            if not isinstance(trial, NewTrial):
                raise TypeError(f"trials[{position}] must be a NewTrial, got {type(trial).__name__}")
            if len(trial.maps) != len(conds):
                raise InvalidRecordError(
                    f"trials[{position}] has {len(trial.maps)} maps; give one per condition ({len(conds)})"
                )
            maps = []
            for c, prepared in enumerate(trial.maps):
                if not isinstance(prepared, TrialMap):
                    raise TypeError(f"trials[{position}].maps[{c}] must be a TrialMap, got {type(prepared).__name__}")
                picture, media_type = validate.picture(
                    prepared.picture, f"trials[{position}].maps[{c}].picture", validate.MAX_MAP_BYTES
                )
                maps.append(
                    TrialMapRow(
                        condition=c,
                        picture_type=media_type,
                        picture=picture,
                        saliency=validate.npy(prepared.saliency, f"trials[{position}].maps[{c}].saliency"),
                        metrics=validate.jsonable(
                            dict(prepared.metrics or {}), f"trials[{position}].maps[{c}].metrics"
                        ),
                    )
                )
            rows.append(
                TrialRow(
                    position=position,
                    photo_sha256=_sha(trial.photo_sha256),
                    class_index=validate.class_index(trial.class_index),
                    class_label=validate.text(trial.class_label, f"trials[{position}].class_label"),
                    maps=maps,
                )
            )
        study = StudyRow(
            name=validate.text(name, "name"),
            question=validate.text(question, "question", max_chars=2000),
            creator_id=user.id,
            creator_name=user.name,
            conditions=conds,
            seed=secrets.randbits(62),
            created_at=utcnow(),
            trials=rows,
        )
        with self._unit(f"creating study '{study.name}'") as s:
            wanted = {t.photo_sha256 for t in rows}
            found = set(s.scalars(select(PhotoRow.sha256).where(PhotoRow.sha256.in_(wanted))))
            if wanted - found:
                missing = sorted(wanted - found)[0]
                raise NotFoundError(f"photo {missing[:16]}... of a trial is not stored; store it with put_photo first")
            s.add(study)
            s.flush()
            return study.id

    def list_studies(self, *, include_closed: bool = True) -> list[StudyRecord]:
        """Studies, newest first."""
        n_trials = select(func.count(TrialRow.id)).where(TrialRow.study_id == StudyRow.id).scalar_subquery()
        query = select(StudyRow, n_trials).order_by(StudyRow.created_at.desc(), StudyRow.id.desc())
        if not include_closed:
            query = query.where(StudyRow.closed_at.is_(None))
        with self._unit("listing studies", read=True) as s:
            return [_study_record(study, n) for study, n in s.execute(query)]

    def get_study(self, study_id: int) -> StudyRecord:
        """One study. Raises :class:`NotFoundError` when it does not exist."""
        with self._unit("reading a study", read=True) as s:
            study = self._study(s, study_id)
            return _study_record(study, s.scalar(select(func.count(TrialRow.id)).where(TrialRow.study_id == study.id)))

    @staticmethod
    def _study(s: Session, study_id: int, lock: bool = False) -> StudyRow:
        if isinstance(study_id, bool) or not isinstance(study_id, int):
            raise TypeError(f"`study_id` must be an int, got {type(study_id).__name__}")
        study = s.get(StudyRow, study_id, with_for_update=lock)
        if study is None:
            raise NotFoundError(f"no study has id {study_id}; it may have been deleted")
        return study

    def close_study(self, study_id: int, *, by: User | str) -> StudyRecord:
        """Close a study: it accepts no more answers (closing a closed study changes nothing).

        Raises
        ------
        PermissionDeniedError
            Unless ``by`` created the study or is an admin.
        """
        user = User.of(by)
        with self._unit(f"closing study {study_id}") as s:
            study = self._study(s, study_id, lock=True)
            check_may_change(user, study.creator_id, study.creator_name, f"close the study '{study.name}'", "creator")
            if study.closed_at is None:
                study.closed_at, study.closed_by = utcnow(), user.id
            s.flush()
            return _study_record(study, s.scalar(select(func.count(TrialRow.id)).where(TrialRow.study_id == study.id)))

    def trials_for(self, study_id: int, *, with_maps: bool = False) -> list[TrialRecord]:
        """The study's trials in position order (with their pictures and ``.npy`` maps if ``with_maps``)."""
        maps = selectinload(TrialRow.maps)
        if not with_maps:  # the list needs only the metrics, not megabytes of pictures
            maps = maps.options(defer(TrialMapRow.picture), defer(TrialMapRow.saliency))
        query = select(TrialRow).where(TrialRow.study_id == study_id).order_by(TrialRow.position).options(maps)
        with self._unit("reading trials", read=True) as s:
            self._study(s, study_id)
            return [_trial_record(t, with_maps) for t in s.scalars(query)]

    def get_trial(self, trial_id: int) -> TrialRecord:
        """One trial with its maps. Raises :class:`NotFoundError` when it does not exist."""
        with self._unit("reading a trial", read=True) as s:
            trial = s.scalars(
                select(TrialRow).where(TrialRow.id == trial_id).options(selectinload(TrialRow.maps))
            ).first()
            if trial is None:
                raise NotFoundError(f"no trial has id {trial_id}; its study may have been deleted")
            return _trial_record(trial, True)

    def study_key(self, study_id: int) -> bytes:
        """The study's secret (its random ``seed``), the key of each reviewer's order and sides.

        For :func:`explainers_team.review.reviewer_plan` only: never show it, never put it in a link or an
        export (whoever has it can tell which condition is on which side).
        """
        with self._unit("reading a study", read=True) as s:
            return str(self._study(s, study_id).seed).encode("ascii")

    def record_answer(
        self,
        trial_id: int,
        *,
        reviewer: User | str,
        choice: str,
        left_condition: int,
        comment: str = "",
        seconds: float | None = None,
    ) -> AnswerRecord:
        """Record a reviewer's answer to a trial; answering again replaces the earlier answer.

        Parameters
        ----------
        choice : {"left", "right", "equal", "cant_tell"}
        left_condition : {0, 1}
            The condition that was shown on the left (from :func:`explainers_team.review.reviewer_plan`).
        comment : str, optional
            At most 2,000 characters.
        seconds : float, optional
            Time taken to answer, >= 0.

        Raises
        ------
        StudyClosedError
            If the trial's study is closed.
        NotFoundError
            If the trial does not exist.
        """
        user = User.of(reviewer)
        if choice not in CHOICES:
            raise InvalidRecordError(f"`choice` must be one of {', '.join(CHOICES)}, got {choice!r}")
        if isinstance(left_condition, bool) or left_condition not in (0, 1):
            raise InvalidRecordError(f"`left_condition` must be 0 or 1, got {left_condition!r}")
        comment = validate.text(comment, "comment", max_chars=2000, required=False)
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < 1e7:
                raise InvalidRecordError(f"`seconds` must be a number >= 0, got {seconds!r}")
            seconds = float(seconds)
        for attempt in range(2):
            try:
                with self._unit("recording the answer") as s:
                    trial = s.get(TrialRow, trial_id)
                    if trial is None:
                        raise NotFoundError(f"no trial has id {trial_id}; its study may have been deleted")
                    study = s.get(StudyRow, trial.study_id)
                    if study.closed_at is not None:
                        raise StudyClosedError(
                            f"the study '{study.name}' was closed on "
                            f"{study.closed_at:%Y-%m-%d %H:%M} UTC; it accepts no more answers"
                        )
                    answer = s.scalars(
                        select(AnswerRow)
                        .where(AnswerRow.trial_id == trial_id, AnswerRow.reviewer_id == user.id)
                        .with_for_update()
                    ).first()
                    if answer is None:
                        answer = AnswerRow(trial_id=trial_id, reviewer_id=user.id)
                        s.add(answer)
                    answer.reviewer_name, answer.choice, answer.left_condition = user.name, choice, left_condition
                    answer.comment, answer.seconds, answer.answered_at = comment, seconds, utcnow()
                    s.flush()
                    return _answer_record(answer, trial)
            except IntegrityError:
                if attempt:  # the same reviewer answered twice at the same moment; the second try updates
                    raise StoreError("recording the answer failed twice on a conflict; try again") from None
        raise AssertionError("unreachable")

    def answers(self, study_id: int, *, reviewer: User | str | None = None) -> list[AnswerRecord]:
        """The study's answers (one per trial and reviewer), by trial position then reviewer."""
        query = (
            select(AnswerRow, TrialRow)
            .join(TrialRow, AnswerRow.trial_id == TrialRow.id)
            .where(TrialRow.study_id == study_id)
            .order_by(TrialRow.position, AnswerRow.reviewer_id)
        )
        if reviewer is not None:
            query = query.where(AnswerRow.reviewer_id == User.of(reviewer).id)
        with self._unit("reading answers", read=True) as s:
            self._study(s, study_id)
            return [_answer_record(a, t) for a, t in s.execute(query)]

    def progress(self, study_id: int, reviewer: User | str) -> tuple[int, int]:
        """``(answered, total)`` trials of the study for this reviewer, e.g. ``(7, 20)``."""
        user = User.of(reviewer)
        with self._unit("reading progress", read=True) as s:
            self._study(s, study_id)
            total = s.scalar(select(func.count(TrialRow.id)).where(TrialRow.study_id == study_id))
            done = s.scalar(
                select(func.count(AnswerRow.id))
                .join(TrialRow, AnswerRow.trial_id == TrialRow.id)
                .where(TrialRow.study_id == study_id, AnswerRow.reviewer_id == user.id)
            )
        return int(done), int(total)


# -------------------------------------------------------------------- helpers


def _sha(value: Any) -> str:
    if (
        not isinstance(value, str)
        or len(value.strip()) != 64
        or any(c not in "0123456789abcdef" for c in value.strip().lower())
    ):
        raise NotFoundError(
            f"{str(value)[:70]!r} is not a stored photo's hash (64 hex digits); the link may be damaged"
        )
    return value.strip().lower()


def _size_text(n: int) -> str:
    return f"{n / settings.MB:.1f} MB" if n >= settings.MB / 10 else f"{n / 1024:.0f} KB"


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json_list_contains(column, name: str):
    """``name`` is an element of the JSON list in ``column`` (portable: a match on its JSON text)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidRecordError(f"a model or method filter must be a non-empty name, got {name!r}")
    return cast(column, String).like(f"%{_escape_like(json.dumps(name.strip()))}%", escape="\\")


def _photo_record(p: PhotoRow) -> PhotoRecord:
    return PhotoRecord(
        p.sha256,
        p.original_name,
        p.media_type,
        p.byte_size,
        p.width,
        p.height,
        p.uploader_id,
        p.uploader_name,
        p.created_at,
    )


def _item_record(i: ItemRow, with_thumbnails: bool) -> ItemRecord:
    return ItemRecord(
        id=i.id,
        title=i.title,
        note=i.note,
        tags=tuple(t.tag for t in i.tags),
        author_id=i.author_id,
        author_name=i.author_name,
        created_at=i.created_at,
        updated_at=i.updated_at,
        models=tuple(i.models),
        methods=tuple(i.methods),
        class_index=i.class_index,
        class_label=i.class_label,
        view=dict(i.view),
        predictions=i.predictions,
        scores=i.scores,
        photo_sha256=i.photo_sha256,
        thumbnails=tuple(t.data for t in i.thumbnails) if with_thumbnails else (),
    )


def _study_record(s: StudyRow, n_trials: int) -> StudyRecord:
    return StudyRecord(
        id=s.id,
        name=s.name,
        question=s.question,
        creator_id=s.creator_id,
        creator_name=s.creator_name,
        conditions=list(s.conditions),
        created_at=s.created_at,
        closed_at=s.closed_at,
        closed_by=s.closed_by,
        n_trials=int(n_trials or 0),
    )


def _trial_record(t: TrialRow, with_maps: bool) -> TrialRecord:
    return TrialRecord(
        id=t.id,
        study_id=t.study_id,
        position=t.position,
        photo_sha256=t.photo_sha256,
        class_index=t.class_index,
        class_label=t.class_label,
        metrics=tuple(dict(m.metrics) for m in t.maps),
        maps=tuple(TrialMap(m.picture, m.saliency, dict(m.metrics)) for m in t.maps) if with_maps else (),
    )


def _answer_record(a: AnswerRow, t: TrialRow) -> AnswerRecord:
    return AnswerRecord(
        trial_id=t.id,
        study_id=t.study_id,
        position=t.position,
        photo_sha256=t.photo_sha256,
        class_index=t.class_index,
        class_label=t.class_label,
        reviewer_id=a.reviewer_id,
        reviewer_name=a.reviewer_name,
        choice=a.choice,
        left_condition=a.left_condition,
        comment=a.comment,
        seconds=a.seconds,
        answered_at=a.answered_at,
    )
