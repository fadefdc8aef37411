"""Plain frozen dataclasses that the store takes and returns (no SQLAlchemy objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode


#: Answers a reviewer can give in a blind trial.
CHOICES = ("left", "right", "equal", "cant_tell")
#: Default question of a study; ``{label}`` is the trial's class label.
DEFAULT_QUESTION = "Which map better shows why the model predicted {label}?"


@dataclass(frozen=True)
class PhotoRecord:
    """A stored photo. ``sha256`` is its id (hex digest of the uploaded bytes)."""

    sha256: str
    original_name: str
    media_type: str
    byte_size: int
    width: int
    height: int
    uploader_id: str
    uploader_name: str
    created_at: datetime


@dataclass(frozen=True)
class ItemRecord:
    """A saved comparison, as the workspace lists it.

    ``view`` is the permalink's query parameters (``dict[str, str]``); ``thumbnails`` are
    encoded images (PNG or JPEG bytes) in the order they were saved (empty when listed
    with ``with_thumbnails=False``).
    """

    id: int
    title: str
    note: str
    tags: tuple[str, ...]
    author_id: str
    author_name: str
    created_at: datetime
    updated_at: datetime
    models: tuple[str, ...]
    methods: tuple[str, ...]
    class_index: int
    class_label: str
    view: dict[str, Any]
    predictions: Any
    scores: Any
    photo_sha256: str | None
    thumbnails: tuple[bytes, ...] = ()

    @property
    def query(self) -> str:
        """The permalink's query string, e.g. ``page=compare&photo=sample%3Achelsea&class=285``."""
        return urlencode(self.view, doseq=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict without the thumbnails; dates in ISO 8601."""
        return {
            "id": self.id,
            "title": self.title,
            "note": self.note,
            "tags": list(self.tags),
            "author_id": self.author_id,
            "author_name": self.author_name,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "models": list(self.models),
            "methods": list(self.methods),
            "class_index": self.class_index,
            "class_label": self.class_label,
            "photo_sha256": self.photo_sha256,
            "view": self.view,
            "predictions": self.predictions,
            "scores": self.scores,
        }


@dataclass(frozen=True)
class TrialMap:
    """One condition's prepared map in a trial.

    Parameters
    ----------
    picture : bytes
        What the reviewer sees: a PNG (or JPEG) of the map over the photo. It must not
        show the method or model name.
    saliency : bytes, optional
        The map itself as ``.npy`` bytes (float32, preferably at display size), kept for
        analysis and downloads.
    metrics : dict, optional
        JSON-ready numbers, e.g. ``{"deletion_auc": 0.21, "insertion_auc": 0.64}``.
    """

    picture: bytes
    saliency: bytes | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewTrial:
    """One trial of a study, prepared before the study is created.

    ``maps[i]`` belongs to the study's ``conditions[i]``; ``photo_sha256`` is a photo
    already stored with :meth:`Store.put_photo`.
    """

    photo_sha256: str
    class_index: int
    class_label: str
    maps: tuple[TrialMap, ...]


@dataclass(frozen=True)
class StudyRecord:
    """A study: ``conditions`` is a list of ``{"model", "method", "params"}`` dicts (hidden from reviewers)."""

    id: int
    name: str
    question: str
    creator_id: str
    creator_name: str
    conditions: list[dict[str, Any]]
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    n_trials: int

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True)
class TrialRecord:
    """A trial; ``maps`` is empty unless it was asked for (``with_maps=True`` or ``get_trial``)."""

    id: int
    study_id: int
    position: int
    photo_sha256: str
    class_index: int
    class_label: str
    metrics: tuple[dict[str, Any], ...]
    maps: tuple[TrialMap, ...] = ()


@dataclass(frozen=True)
class AnswerRecord:
    """One reviewer's answer to one trial.

    ``left_condition`` is the index (into the study's conditions) of the map shown on the
    left; ``preferred_condition`` is the chosen condition's index, or None for ``equal``
    and ``cant_tell``.
    """

    trial_id: int
    study_id: int
    position: int
    photo_sha256: str
    class_index: int
    class_label: str
    reviewer_id: str
    reviewer_name: str
    choice: str
    left_condition: int
    comment: str
    seconds: float | None
    answered_at: datetime

    @property
    def preferred_condition(self) -> int | None:
        if self.choice == "left":
            return self.left_condition
        if self.choice == "right":
            return 1 - self.left_condition
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with ``preferred_condition``; dates in ISO 8601."""
        return {
            "trial_id": self.trial_id,
            "study_id": self.study_id,
            "position": self.position,
            "photo_sha256": self.photo_sha256,
            "class_index": self.class_index,
            "class_label": self.class_label,
            "reviewer_id": self.reviewer_id,
            "reviewer_name": self.reviewer_name,
            "choice": self.choice,
            "left_condition": self.left_condition,
            "preferred_condition": self.preferred_condition,
            "comment": self.comment,
            "seconds": self.seconds,
            "answered_at": self.answered_at.isoformat(),
        }


@dataclass(frozen=True)
class Usage:
    """Photo storage in bytes: one user's, the total, and the quotas (0 = no limit)."""

    user_bytes: int
    total_bytes: int
    user_quota: int
    total_quota: int
