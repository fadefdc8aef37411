"""The tables, as SQLAlchemy 2 typed declarative models.

The migrations in ``migrations/versions/`` create exactly this schema (a test compares them).
Workspace (migration 0001): ``photos``, ``items``, ``item_tags``, ``item_thumbnails``.
Review (migration 0002): ``studies``, ``trials``, ``trial_maps``, ``answers``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

#: Constraint names are fixed, so that migrations can name them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone: it is restored)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store timestamps must be timezone-aware")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class PhotoRow(Base):
    """An uploaded photo, stored once under ``<data>/photos/ab/<sha256>.<ext>``."""

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    original_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(50))
    byte_size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploader_id: Mapped[str] = mapped_column(String(200), index=True)
    uploader_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemRow(Base):
    """A saved comparison: its view (the permalink's query parameters) and what the list shows."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[str] = mapped_column(String(200), index=True)
    author_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    models: Mapped[list[Any]] = mapped_column(JSON)
    methods: Mapped[list[Any]] = mapped_column(JSON)
    class_index: Mapped[int] = mapped_column(Integer, index=True)
    class_label: Mapped[str] = mapped_column(String(200))
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
    predictions: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    scores: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    photo_sha256: Mapped[str | None] = mapped_column(
        ForeignKey("photos.sha256", ondelete="RESTRICT"), index=True, nullable=True
    )

    tags: Mapped[list[ItemTagRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ItemTagRow.tag"
    )
    thumbnails: Mapped[list[ItemThumbnailRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ItemThumbnailRow.position"
    )


class ItemTagRow(Base):
    __tablename__ = "item_tags"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class ItemThumbnailRow(Base):
    __tablename__ = "item_thumbnails"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StudyRow(Base):
    """A blind forced-choice study of two conditions (each ``{"model", "method", "params"}``)."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    creator_id: Mapped[str] = mapped_column(String(200), index=True)
    creator_name: Mapped[str] = mapped_column(String(200))
    conditions: Mapped[list[Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)  # the study's secret: the HMAC key of each reviewer's order and sides
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    trials: Mapped[list[TrialRow]] = relationship(
        back_populates="study", cascade="all, delete-orphan", passive_deletes=True, order_by="TrialRow.position"
    )


class TrialRow(Base):
    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("study_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    photo_sha256: Mapped[str] = mapped_column(ForeignKey("photos.sha256", ondelete="RESTRICT"), index=True)
    class_index: Mapped[int] = mapped_column(Integer)
    class_label: Mapped[str] = mapped_column(String(200))

    study: Mapped[StudyRow] = relationship(back_populates="trials")
    maps: Mapped[list[TrialMapRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="TrialMapRow.condition"
    )


class TrialMapRow(Base):
    """Condition ``condition``'s prepared map for one trial (``condition`` indexes the study's conditions)."""

    __tablename__ = "trial_maps"

    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), primary_key=True)
    condition: Mapped[int] = mapped_column(Integer, primary_key=True)
    picture_type: Mapped[str] = mapped_column(String(50))
    picture: Mapped[bytes] = mapped_column(LargeBinary)
    saliency: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)


class AnswerRow(Base):
    """One reviewer's answer to one trial; answering again replaces it (one row per trial and reviewer)."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("trial_id", "reviewer_id"),
        CheckConstraint("choice IN ('left', 'right', 'equal', 'cant_tell')", name="choice"),
        CheckConstraint("left_condition IN (0, 1)", name="left_condition"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[str] = mapped_column(String(200), index=True)
    reviewer_name: Mapped[str] = mapped_column(String(200))
    choice: Mapped[str] = mapped_column(String(16))
    left_condition: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
