"""The Review page's code that is not layout: the store, who the reviewer is, photos, creating a study,
each reviewer's trials, and answers -> results.

The page (``pages/review.py``) has three views, chosen by the URL so each can be shared:

* ``/review``: the studies, and the form that creates one;
* ``/review?study=ID``: the **blind** trials of one study (nothing in the page, its HTML or its URL
  names a method or a model: the study's name and question are checked for such names when it is
  created, and this view draws no sidebar, whose model picker would name the model);
* ``/review?study=ID&view=results``: the results (not blind).

The statistics are :mod:`explainers_team.review` (library code); the database is :mod:`explainers_team.store`.
Functions that need no Streamlit (:func:`build_study`, :func:`blind_leaks`, :func:`review_answers`,
:func:`study_summary`) take the store as an argument and are tested without a page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import streamlit as st

import explainers
from explainers import ExplainersError, ImageError, ParameterError
from explainers_team.review import (Answer, Condition, attach_faithfulness, encode_png, measure_faithfulness,
                               prepare_trials, reviewer_plan, summarize)
from explainers_team.review.design import Assignment
from explainers_team.store import (NotFoundError, TrialMap, NewTrial, Store, StoreError, StudyRecord,
                              TrialRecord, User)
from explainers_team.access import may_change
from explainers_team.roots import resolve_under_roots

from .analysis import resize_image
from .workspace import login_identity, store  # one store per process, one identity rule for both pages

#: Query parameters of the page.
STUDY_PARAM, VIEW_PARAM, RESULTS = "study", "view", "results"
#: Cookie that remembers the name typed by a reviewer when no login is configured (one per browser).
COOKIE = "explainers_reviewer"
#: At most this many photos per study (each is a trial every reviewer answers).
MAX_PHOTOS = 200
#: Image files a server folder may hold (what explainers.load_image decodes).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
#: Long side of the plain photo shown beside the maps.
PHOTO_SIDE = 768
#: What a reviewer can answer, in the order of the buttons, with their labels.
CHOICE_LABELS = {"left": "Left is better", "right": "Right is better", "equal": "Equally good",
                 "cant_tell": "Can't tell"}
#: Default number of steps of the deletion and insertion curves measured at creation.
DEFAULT_STEPS = 20


# ---------------------------------------------------------------------------------------------- the store
# ---------------------------------------------------------------------------------------------- who reviews
def signed_in() -> bool:
    """Whether this session's identity comes from a login (then no name is asked for)."""
    return login_identity() is not None


def current_user() -> User | None:
    """The reviewer: the logged-in user, else the name given once in this browser (cookie), else None."""
    user = login_identity()
    if user is not None:
        return user
    name = st.session_state.get("review_name")
    if name is None:
        name = _cookie()
    if not name or not name.strip():
        return None
    try:
        return User(name.strip())
    except ExplainersError:
        return None


def check_name(name: str) -> str:
    """A reviewer name typed in the page, stripped; raises ParameterError saying what to type."""
    name = " ".join((name or "").split())
    if not name:
        raise ParameterError("type your name (or initials) first; it is kept in this browser")
    if len(name) > 100:
        raise ParameterError(f"that name is {len(name)} characters long; use at most 100")
    return name


def remember_name(name: str) -> None:
    """Use ``name`` for this session; :func:`cookie_script` then keeps it in the browser for the next visit."""
    st.session_state["review_name"] = name


def forget_name() -> None:
    """Stop using the typed name here (and forget where that reviewer was); :func:`cookie_script` then clears
    the cookie."""
    st.session_state["review_name"] = ""
    for key in [k for k in st.session_state if str(k).startswith(("review_position_", "review_clock"))]:
        del st.session_state[key]


def _cookie() -> str | None:
    try:
        raw = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no cookies outside a browser session (AppTest, bare mode)
        return None
    return urllib.parse.unquote(raw) if isinstance(raw, str) else None


def cookie_script() -> str | None:
    """A script that writes (or clears) the reviewer cookie, while the browser's cookie differs from this
    session's name; None otherwise. Drawn on every such run (idempotent), so no single run has to survive."""
    name = st.session_state.get("review_name")
    if name is None or (name or None) == (_cookie() or None) or login_identity() is not None:
        return None
    age = 400 * 24 * 3600 if name else 0
    return (f"<script>document.cookie = {json.dumps(COOKIE + '=')} + encodeURIComponent({json.dumps(name)}) + "
            f"'; path=/; max-age={age}; SameSite=Lax';</script>")


# ---------------------------------------------------------------------------------------------- views
@dataclasses.dataclass(frozen=True)
class View:
    """What the URL asks for: ``mode`` is ``list``, ``answer`` or ``results``; ``study`` an id or None."""

    mode: str
    study: int | None = None
    problem: str | None = None


def current_view() -> View:
    """The view named by the query parameters (a bad study id gives the list with a problem to show)."""
    raw = st.query_params.get(STUDY_PARAM)
    if raw is None or raw == "":
        return View("list")
    try:
        study = int(raw)
    except ValueError:
        return View("list", problem=f"'{raw}' in the link is not a study number; pick the study below.")
    mode = RESULTS if st.query_params.get(VIEW_PARAM) == RESULTS else "answer"
    # A page link with query parameters runs the page with them but leaves the address bar at /review;
    # writing them back puts them in the address bar, so a reload or a copied link opens the same view.
    st.query_params[STUDY_PARAM] = str(study)
    if mode == RESULTS:
        st.query_params[VIEW_PARAM] = RESULTS
    return View(mode, study)


def review_link(study: int) -> str:
    """The link to send to reviewers: absolute (this page's address, as the browser sees it) when known."""
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - no browser address outside a browser session
        url = None
    base = url.split("?", 1)[0].split("#", 1)[0] if isinstance(url, str) and url.startswith("http") else "/review"
    return f"{base}?{STUDY_PARAM}={study}"


def open_view(study: int | None, mode: str = "answer") -> None:
    """Change the URL to another view and rerun."""
    st.query_params.clear()
    if study is not None:
        st.query_params[STUDY_PARAM] = str(study)
        if mode == RESULTS:
            st.query_params[VIEW_PARAM] = RESULTS
    st.rerun()


# ---------------------------------------------------------------------------------------------- blinding
def blind_words(conditions: Iterable[Condition] = ()) -> list[str]:
    """Words that would tell a reviewer which map is which: every registered method's name and title, every
    registry model's name and title, and the conditions' own method and model names."""
    words = set()
    for name, cls in explainers.EXPLAINERS.items():
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
    found = []
    for word in words:
        if re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text, flags=re.IGNORECASE):
            found.append(word)
    return found


def check_blind(name: str, question: str, conditions: Sequence[Condition]) -> None:
    """Refuse a study name or question that names a method or a model (reviewers see both)."""
    words = blind_words(conditions)
    for what, text in (("name", name), ("question", question)):
        leaks = blind_leaks(text, words)
        if leaks:
            raise ParameterError(f"the study's {what} mentions {', '.join(repr(w) for w in leaks)}; reviewers see "
                                 f"the {what}, so it would tell them which map is which. Reword it without "
                                 "method or model names (the results name the conditions).")


def question_for(study: StudyRecord, label: str) -> str:
    """The question shown above a trial, with ``{label}`` replaced by the trial's class."""
    return study.question.replace("{label}", label)


# ---------------------------------------------------------------------------------------------- photos
@dataclasses.dataclass(frozen=True)
class Photo:
    """One photo of a new study: its name (unique within the study) and its encoded bytes."""

    name: str
    data: bytes


def sample_bytes(name: str) -> bytes:
    """The file of a scikit-image gallery sample (``ui.state.SAMPLES``)."""
    from skimage import data as skdata

    from .state import SAMPLES

    if name not in SAMPLES:
        raise ImageError(f"unknown sample '{name}'; samples: {', '.join(SAMPLES)}")
    return (Path(skdata.data_dir) / SAMPLES[name]).read_bytes()


def resolve_folder(text: str) -> Path:
    """A server folder a study may read photos from.

    Only folders under the server's allowed roots (:func:`explainers_team.roots.resolve_under_roots`).

    Raises
    ------
    ParameterError
        If the folder is empty, outside the allowed roots, or not a folder.
    """
    text = (text or "").strip()
    if not text:
        raise ParameterError("type a folder on the server")
    folder = Path(resolve_under_roots(text))
    if not folder.is_dir():
        raise ParameterError(f"{text} is not a folder on the server; check the path")
    return folder


def folder_photos(text: str, limit: int = MAX_PHOTOS) -> list[Photo]:
    """The image files directly in an allowed server folder, sorted by name, at most ``limit``."""
    folder = resolve_folder(text)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ParameterError(f"{folder} holds no image file ({', '.join(IMAGE_SUFFIXES)})")
    return [Photo(p.name, p.read_bytes()) for p in files[:limit]]


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


# ---------------------------------------------------------------------------------------------- creation
def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array, dtype=np.float32))
    return buffer.getvalue()


def build_study(store: Store, *, creator: User, name: str, question: str, condition_a: Condition,
                condition_b: Condition, photos: Sequence[Photo], load: Callable | None = None,
                measure: bool = True, steps: int = DEFAULT_STEPS,
                on_progress: Callable[[str, int, int], None] | None = None) -> int:
    """Prepare every trial once (both maps per photo, and optionally their deletion and insertion AUC), then
    store the photos and the study in one go; returns the study's id.

    Parameters
    ----------
    store : Store
    creator : User
        May close the study.
    name, question : str
        Shown to reviewers; neither may name a method or a model (:func:`check_blind`).
    condition_a, condition_b : Condition
        The study's conditions A and B (the store's conditions 0 and 1).
    photos : sequence of Photo
        Unique names (see :func:`unique_photos`), at most :data:`MAX_PHOTOS`.
    load : callable, optional
        ``model name -> LoadedModel`` (the dashboard passes its cached loader).
    measure : bool
        Also measure each condition's deletion and insertion AUC on the photos (stored as each map's metrics).
    steps : int
        Steps of those curves.
    on_progress : callable, optional
        ``on_progress(stage, done, total)`` with ``stage`` ``"decoding"``, ``"preparing"``, ``"measuring"``
        or ``"storing"``.

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
    trials = prepare_trials(arrays, condition_a, condition_b, load=load,
                            on_progress=lambda done, total, _: progress("preparing", done, total))
    metrics = {}
    if measure:
        rows = measure_faithfulness(arrays, condition_a, condition_b, load=load, steps=int(steps),
                                    class_indices={t.photo: t.class_index for t in trials},
                                    on_progress=lambda done, total, _: progress("measuring", done, total))
        metrics = {(r["photo"], r["condition"]): {"deletion_auc": float(r["deletion_auc"]),
                                                  "insertion_auc": float(r["insertion_auc"]),
                                                  "kept_fraction": None if r["kept_fraction"] is None
                                                  else float(r["kept_fraction"]), "steps": int(steps)}
                   for r in rows}
    stored = []
    for done, (photo, trial) in enumerate(zip(photos, trials), start=1):
        sha = store.put_photo(photo.data, photo.name, creator)
        maps = tuple(TrialMap(encode_png(trial.overlay(key)), _npy(getattr(trial, f"saliency_{key.lower()}")),
                                 {"condition": key, **metrics.get((photo.name, key), {})})
                     for key in ("A", "B"))
        stored.append(NewTrial(sha, trial.class_index, trial.label, maps))
        progress("storing", done, len(photos))
    return store.create_study(name=name, creator=creator, question=question,
                              conditions=[condition_a.to_dict(), condition_b.to_dict()], trials=stored)


# ---------------------------------------------------------------------------------------------- answering
def conditions_of(study: StudyRecord) -> dict[str, Condition]:
    """``{"A": Condition, "B": Condition}`` from the store's list of two condition dicts."""
    return {key: Condition.from_dict(c) for key, c in zip(("A", "B"), study.conditions)}


def plan(store: Store, study: StudyRecord, reviewer: User) -> list[Assignment]:
    """This reviewer's trials in their own order, each with the condition shown on the left (``"A"``/``"B"``).

    The same every time for the same reviewer (stop and resume), independent between reviewers, and each
    condition on the left in half of the reviewer's trials (:func:`explainers_team.review.reviewer_plan`).
    """
    ids = [t.id for t in store.trials_for(study.id)]
    return reviewer_plan(store.study_key(study.id), reviewer.id, ids)


def left_index(assignment: Assignment) -> int:
    """The store's ``left_condition`` (0 for A, 1 for B) of an assignment."""
    return 0 if assignment.left == "A" else 1


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _trial_pictures(url: str, trial_id: int) -> tuple[str, int, bytes, bytes, str]:
    trial = store().get_trial(trial_id)
    return trial.class_label, trial.class_index, trial.maps[0].picture, trial.maps[1].picture, trial.photo_sha256


def trial_pictures(trial_id: int) -> tuple[str, bytes, bytes, str]:
    """``(label, picture of A, picture of B, photo sha256)`` of a trial (read once per process)."""
    label, _, a, b, sha = _trial_pictures(store().url, int(trial_id))
    return label, a, b, sha


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def photo_png(url: str, sha256: str) -> bytes:
    """The stored photo at most :data:`PHOTO_SIDE` px, as PNG (for the "photo alone" view)."""
    image = explainers.load_image(store().get_photo(sha256))
    return encode_png(resize_image(image, PHOTO_SIDE))


def start_clock(trial_id: int) -> None:
    """Note when this trial was first shown in this session (the answer's time is measured from it)."""
    clock = st.session_state.setdefault("review_clock", {})
    clock.setdefault(int(trial_id), time.monotonic())


def stop_clock(trial_id: int) -> float | None:
    """Seconds since the trial was shown; the clock restarts for a later answer to the same trial."""
    clock = st.session_state.setdefault("review_clock", {})
    started = clock.pop(int(trial_id), None)
    return None if started is None else round(time.monotonic() - started, 3)


def next_open(assignments: Sequence[Assignment], answered: set[int], after: int = -1) -> int | None:
    """Position of the first unanswered trial after ``after`` (wrapping around), or None when all are answered."""
    n = len(assignments)
    for step in range(1, n + 1):
        position = (after + step) % n
        if assignments[position].trial_id not in answered:
            return position
    return None


# ---------------------------------------------------------------------------------------------- results
def review_answers(store: Store, study: StudyRecord) -> list[Answer]:
    """The study's answers as :class:`explainers_team.review.Answer` (reviewers by name, ``A``/``B`` sides)."""
    records = store.answers(study.id)
    names: dict[str, set[str]] = {}
    for r in records:
        names.setdefault(r.reviewer_name, set()).add(r.reviewer_id)
    photo_names = {}
    out = []
    for r in records:
        if r.photo_sha256 not in photo_names:
            try:
                photo_names[r.photo_sha256] = store.photo_info(r.photo_sha256).original_name
            except NotFoundError:
                photo_names[r.photo_sha256] = r.photo_sha256[:12]
        # two identities may share a display name: then the identity tells them apart
        who = r.reviewer_name if len(names[r.reviewer_name]) == 1 else f"{r.reviewer_name} <{r.reviewer_id}>"
        out.append(Answer(trial=r.trial_id, reviewer=who, left="AB"[r.left_condition], choice=r.choice,
                          seconds=r.seconds, label=r.class_label, photo=photo_names[r.photo_sha256],
                          comment=r.comment, study=study.id))
    return out


def faithfulness_rows(trials: Sequence[TrialRecord]) -> list[dict]:
    """The AUCs stored with each trial's maps, as :func:`explainers_team.review.faithfulness_summary` rows."""
    rows = []
    for t in trials:
        for key, metrics in zip(("A", "B"), t.metrics):
            if metrics.get("deletion_auc") is not None and metrics.get("insertion_auc") is not None:
                rows.append({"photo": t.photo_sha256, "condition": key, "deletion_auc": metrics["deletion_auc"],
                             "insertion_auc": metrics["insertion_auc"]})
    return rows


def study_summary(store: Store, study: StudyRecord, answers: Sequence[Answer] | None = None) -> dict:
    """Everything the results view shows (:func:`explainers_team.review.summarize`), with the stored AUCs attached."""
    answers = review_answers(store, study) if answers is None else answers
    summary = summarize(answers, conditions_of(study))
    rows = faithfulness_rows(store.trials_for(study.id))
    return attach_faithfulness(summary, rows) if rows else summary


def trial_rows(store: Store, study: StudyRecord, answers: Sequence[Answer]) -> list[dict]:
    """One row per trial: photo, class, the outcomes of its answers, and each condition's stored AUCs."""
    per: dict[str, list[str]] = {}
    for a in answers:
        per.setdefault(str(a.trial), []).append(a.outcome)
    rows = []
    for t in store.trials_for(study.id):
        try:
            photo = store.photo_info(t.photo_sha256).original_name
        except NotFoundError:
            photo = t.photo_sha256[:12]
        outcomes = per.get(str(t.id), [])
        row = {"trial": t.id, "photo": photo, "class": t.class_label, "answers": len(outcomes),
               **{k: outcomes.count(k) for k in ("A", "B", "tie", "cant_tell")}}
        for key, metrics in zip(("A", "B"), t.metrics):
            for m in ("deletion_auc", "insertion_auc"):
                if metrics.get(m) is not None:
                    row[f"{m.split('_')[0]} {key}"] = round(float(metrics[m]), 3)
        rows.append(row)
    return rows


def answers_json(answers: Sequence[Answer]) -> str:
    """The raw answers as a JSON array (the CSV's columns and values)."""
    return json.dumps([a.row() for a in answers], indent=2)


def progress_rows(store: Store, study: StudyRecord, answers: Sequence[Answer]) -> list[dict]:
    """One row per reviewer: answered, of how many, median seconds."""
    per: dict[str, list[Answer]] = {}
    for a in answers:
        per.setdefault(a.reviewer, []).append(a)
    rows = []
    for who, mine in sorted(per.items()):
        times = sorted(a.seconds for a in mine if a.seconds is not None)
        rows.append({"reviewer": who, "answered": len(mine), "of": study.n_trials,
                     "median_seconds": round(float(np.median(times)), 1) if times else None})
    return rows


def can_close(store: Store, study: StudyRecord, user: User | None) -> bool:
    """Whether ``user`` created the study or is an admin."""
    return not study.is_closed and may_change(user, study.creator_id)


def error_text(exc: Exception) -> str:
    """One line for ``st.error``."""
    if isinstance(exc, StoreError):
        return f"The workspace database: {exc}"
    return str(exc)


def data_folder_text() -> str:
    """Where folders may be read from, in words, for the folder box's help."""
    return "a folder under the server's allowed data roots (EXPLAINERS_DATA_ROOTS)"


def blind_setup(title: str = "Review") -> None:
    """``ui.page.setup`` for a trial: the page config and the navigation, but not the shared sidebar (its model
    picker names the model) and a tab title without the dashboard's name (it names the methods)."""
    from . import page, state

    st.set_page_config(page_title=title, page_icon=page.ICON, layout="wide")
    state.keep_sidebar_choices()
    with st.sidebar:
        for script, label, icon in page.NAV:
            st.page_link(script, label=label, icon=icon)
