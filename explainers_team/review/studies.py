"""Studies kept in the store: creating one, each reviewer's plan, and answers turned into results.

The glue between :mod:`explainers_team.review.design` / :mod:`.results` (no database) and
:class:`explainers_team.store.Store`. No Streamlit: the Review page lays these out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

import explainers
from explainers.errors import ExplainersError, ParameterError
from explainers.methods import EXPLAINERS, Condition
from explainers.metrics import DEFAULT_STEPS, curve_copies

from ..access import User
from ..errors import NotFoundError
from ..store import Store, StudyRecord, TrialMap, NewTrial, TrialRecord
from .design import CONDITIONS, Assignment, ModelSource, encode_png, prepare_trials, reviewer_plan
from .results import Answer, attach_faithfulness, preference_and_metrics, summarize

#: At most this many photos per study (each is a trial every reviewer answers).
MAX_PHOTOS = 200


@dataclasses.dataclass(frozen=True)
class Photo:
    """One photo of a new study: its name (unique within the study) and its encoded bytes."""

    name: str
    data: bytes


def plan(store: Store, study_id: int, reviewer: User | str) -> list[Assignment]:
    """This reviewer's trials of the study in their own order, each with the condition on the left.

    The same every time for the same reviewer (stop and resume), independent between reviewers, each
    condition on the left in half of the reviewer's trials, and keyed by the study's secret
    (:meth:`Store.study_key`), so nobody can compute the sides.
    """
    ids = [t.id for t in store.trials_for(study_id)]
    return reviewer_plan(store.study_key(study_id), User.of(reviewer).id, ids)


def conditions_of(study: StudyRecord) -> dict[str, Condition]:
    """``{"A": Condition, "B": Condition}`` from the store's list of two condition dicts."""
    return {key: Condition.from_dict(c) for key, c in zip(CONDITIONS, study.conditions)}


def question_for(study: StudyRecord, label: str) -> str:
    """The question shown above a trial, with ``{label}`` replaced by the trial's class."""
    return study.question.replace("{label}", label)


# ---------------------------------------------------------------------------------------------- blinding
def blind_words(conditions: Iterable[Condition] = ()) -> list[str]:
    """Words that would tell a reviewer which map is which: every registered method's name and title, every
    registry model's name and title, and the conditions' own method and model names."""
    words = set()
    for name, cls in EXPLAINERS.items():
        words.update({name, getattr(cls, "title", "") or ""})
    try:
        for name, spec in explainers.load_registry().specs.items():
            words.update({name, getattr(spec, "title", "") or ""})
    except ExplainersError:
        pass
    for c in conditions:
        words.update({c.method, c.model})
    return sorted((w for w in words if w and w.strip()), key=str.lower)


def blind_leaks(text: str, words: Iterable[str]) -> list[str]:
    """The ``words`` that occur in ``text`` as whole words, case-insensitively (``cam`` in "Grad-CAM" counts,
    ``cam`` in "camera" does not)."""
    return [w for w in words if re.search(rf"(?<![\w]){re.escape(w)}(?![\w])", text, flags=re.IGNORECASE)]


def check_blind(name: str, question: str, conditions: Sequence[Condition]) -> None:
    """Refuse a study name or question that names a method or a model (reviewers see both).

    Raises
    ------
    ParameterError
        Naming the words to take out.
    """
    words = blind_words(conditions)
    for what, text in (("name", name), ("question", question)):
        leaks = blind_leaks(text, words)
        if leaks:
            raise ParameterError(
                f"the study's {what} mentions {', '.join(repr(w) for w in leaks)}; reviewers see "
                f"the {what}, so it would tell them which map is which. Reword it without "
                "method or model names (the results name the conditions)."
            )


# ---------------------------------------------------------------------------------------------- creation
def unique_photos(photos: Iterable[Photo]) -> tuple[list[Photo], list[str]]:
    """The photos with identical contents given once, and names made unique (``name (2)``).

    Returns
    -------
    photos : list of Photo
    notes : list of str
        One line per photo dropped as a duplicate.
    """
    out, notes, seen, names = [], [], {}, set()
    for photo in photos:
        digest = hashlib.sha256(photo.data).hexdigest()
        if digest in seen:
            notes.append(f"{photo.name} is the same file as {seen[digest]}; it is used once")
            continue
        name, n = photo.name, 1
        while name in names:
            n += 1
            stem, dot, suffix = photo.name.rpartition(".")
            name = f"{stem} ({n}).{suffix}" if dot else f"{photo.name} ({n})"
        seen[digest] = name
        names.add(name)
        out.append(Photo(name, photo.data))
    return out, notes


def preparation_units(
    condition_a: Condition, condition_b: Condition, measure: bool = True, steps: int = DEFAULT_STEPS
) -> dict[str, int]:
    """Images each model pushes through the network to prepare one photo of a study (:func:`build_study`).

    Each condition's explanation (:meth:`explainers.Explainer.cost`), and with ``measure`` its map's deletion and
    insertion curves (:func:`explainers.metrics.curve_copies`). The unit of the Review page's time estimate.

    Returns
    -------
    dict
        ``model name -> images`` per photo.

    Examples
    --------
    >>> a, b = Condition.make("m", "cam"), Condition.make("m", "secam")
    >>> preparation_units(a, b, measure=True, steps=20)
    {'m': 86}
    """
    units: dict[str, int] = {}
    for condition in (condition_a, condition_b):
        cost = condition.explainer().cost() + (curve_copies(steps) if measure else 0)
        units[condition.model] = units.get(condition.model, 0) + cost
    return units


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=np.float32))
    return buffer.getvalue()


def build_study(
    store: Store,
    *,
    creator: User,
    name: str,
    question: str,
    condition_a: Condition,
    condition_b: Condition,
    photos: Sequence[Photo],
    load: ModelSource | None = None,
    measure: bool = True,
    steps: int = DEFAULT_STEPS,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> int:
    """Prepare every trial once (both maps per photo, measured in the same pass when ``measure``), then store the
    photos and the study in one go; returns the study's id.

    Parameters
    ----------
    store : Store
    creator : User
        May close the study.
    name, question : str
        Shown to reviewers; neither may name a method or a model (:func:`check_blind`).
    condition_a, condition_b : explainers.Condition
        The study's conditions A and B (the store's conditions 0 and 1): the conditions Compare shows.
    photos : sequence of Photo
        Unique names (see :func:`unique_photos`), at most :data:`MAX_PHOTOS`.
    load : callable, optional
        ``model name -> LoadedModel`` (the dashboard passes its cached loader).
    measure : bool
        Also measure each condition's deletion and insertion AUC (stored as each map's metrics).
    steps : int
        Steps of those curves.
    on_progress : callable, optional
        ``on_progress(stage, done, total)`` with ``stage`` ``"decoding"``, ``"preparing"`` or ``"storing"``.

    Raises
    ------
    ExplainersError
        With a message naming the photo or the setting to fix; nothing is stored then (photos already
        stored by an earlier study stay, they are content-addressed).
    """
    progress = on_progress or (lambda *_: None)
    name = " ".join((name or "").split())
    question = (question or "").strip()
    if not name:
        raise ParameterError("give the study a name (reviewers see it)")
    if not question:
        raise ParameterError("give the question reviewers answer; {label} is replaced by the explained class")
    photos = list(photos)
    if not photos:
        raise ParameterError("choose at least one photo (samples, uploads, stored photos or a server folder)")
    if len(photos) > MAX_PHOTOS:
        raise ParameterError(f"{len(photos)} photos chosen; a study takes at most {MAX_PHOTOS}")
    check_blind(name, question, (condition_a, condition_b))
    arrays = []
    for done, photo in enumerate(photos, start=1):
        arrays.append((photo.name, explainers.load_image(photo.data, name=photo.name)))
        progress("decoding", done, len(photos))
    trials = prepare_trials(
        arrays,
        condition_a,
        condition_b,
        load=load,
        measure=measure,
        steps=int(steps),
        on_progress=lambda done, total, _: progress("preparing", done, total),
    )
    stored = []
    for done, (photo, trial) in enumerate(zip(photos, trials), start=1):
        sha = store.put_photo(photo.data, photo.name, creator)
        maps = tuple(
            TrialMap(
                encode_png(trial.overlay(key)),
                _npy(getattr(trial, f"saliency_{key.lower()}")),
                {"condition": key, **dict(trial.metrics.get(key, {}))},
            )
            for key in CONDITIONS
        )
        stored.append(NewTrial(sha, trial.class_index, trial.label, maps))
        progress("storing", done, len(photos))
    return store.create_study(
        name=name,
        creator=creator,
        question=question,
        conditions=[condition_a.to_dict(), condition_b.to_dict()],
        trials=stored,
    )


# ---------------------------------------------------------------------------------------------- results
def _photo_name(store: Store, sha256: str, cache: dict[str, str]) -> str:
    if sha256 not in cache:
        try:
            cache[sha256] = store.photo_info(sha256).original_name
        except NotFoundError:
            cache[sha256] = sha256[:12]
    return cache[sha256]


def review_answers(store: Store, study: StudyRecord, reviewer: User | None = None) -> list[Answer]:
    """The study's answers (or only ``reviewer``'s) as :class:`~explainers_team.review.Answer`: reviewers by name,
    ``A``/``B`` sides."""
    records = store.answers(study.id, reviewer=reviewer)
    names: dict[str, set[str]] = {}
    for r in records:
        names.setdefault(r.reviewer_name, set()).add(r.reviewer_id)
    photos: dict[str, str] = {}
    out = []
    for r in records:
        # two identities may share a display name: then the identity tells them apart
        who = r.reviewer_name if len(names[r.reviewer_name]) == 1 else f"{r.reviewer_name} <{r.reviewer_id}>"
        out.append(
            Answer(
                trial=r.trial_id,
                reviewer=who,
                left=CONDITIONS[r.left_condition],
                choice=r.choice,
                seconds=r.seconds,
                label=r.class_label,
                photo=_photo_name(store, r.photo_sha256, photos),
                comment=r.comment,
                study=study.id,
            )
        )
    return out


def faithfulness_rows(trials: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """The AUCs stored with each trial's maps, as :func:`~explainers_team.review.faithfulness_summary` rows."""
    rows = []
    for t in trials:
        for key, metrics in zip(CONDITIONS, t.metrics):
            if metrics.get("deletion_auc") is not None and metrics.get("insertion_auc") is not None:
                rows.append(
                    {
                        "trial": t.id,
                        "photo": t.photo_sha256,
                        "condition": key,
                        "deletion_auc": metrics["deletion_auc"],
                        "insertion_auc": metrics["insertion_auc"],
                    }
                )
    return rows


def study_summary(store: Store, study: StudyRecord, answers: Sequence[Answer] | None = None) -> dict[str, Any]:
    """Everything the results view shows (:func:`~explainers_team.review.summarize`), with the stored AUCs."""
    answers = review_answers(store, study) if answers is None else answers
    summary = summarize(answers, conditions_of(study))
    rows = faithfulness_rows(store.trials_for(study.id))
    if not rows:
        return summary
    return {**attach_faithfulness(summary, rows), "preference_metrics": preference_and_metrics(answers, rows)}


def trial_rows(store: Store, study: StudyRecord, answers: Sequence[Answer]) -> list[dict[str, Any]]:
    """One row per trial: photo, class, the outcomes of its answers, and each condition's stored AUCs."""
    per: dict[str, list[str]] = {}
    for a in answers:
        per.setdefault(str(a.trial), []).append(a.outcome)
    photos: dict[str, str] = {}
    rows = []
    for t in store.trials_for(study.id):
        outcomes = per.get(str(t.id), [])
        row: dict[str, Any] = {
            "trial": t.id,
            "photo": _photo_name(store, t.photo_sha256, photos),
            "class": t.class_label,
            "answers": len(outcomes),
            **{k: outcomes.count(k) for k in ("A", "B", "tie", "cant_tell")},
        }
        for key, metrics in zip(CONDITIONS, t.metrics):
            for m in ("deletion_auc", "insertion_auc"):
                if metrics.get(m) is not None:
                    row[f"{m.split('_')[0]} {key}"] = round(float(metrics[m]), 3)
        rows.append(row)
    return rows


def answers_json(answers: Sequence[Answer]) -> str:
    """The raw answers as a JSON array (the CSV's columns and values)."""
    return json.dumps([a.row() for a in answers], indent=2)


def progress_rows(study: StudyRecord, answers: Sequence[Answer]) -> list[dict[str, Any]]:
    """One row per reviewer: answered, of how many, median seconds."""
    per: dict[str, list[Answer]] = {}
    for a in answers:
        per.setdefault(a.reviewer, []).append(a)
    rows = []
    for who, mine in sorted(per.items()):
        times = sorted(a.seconds for a in mine if a.seconds is not None)
        rows.append(
            {
                "reviewer": who,
                "answered": len(mine),
                "of": study.n_trials,
                "median_seconds": round(float(np.median(times)), 1) if times else None,
            }
        )
    return rows
