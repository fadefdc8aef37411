"""The Review page's views: the studies and the create form, the blind trials, the results.

The page (``pages/review.py``) shows one of three views, chosen by the URL so each can be shared:

* ``/review``: the studies, and the form that creates one;
* ``/review?study=ID``: the **blind** trials of one study (nothing in the page, its HTML or its URL
  names a method or a model: the study's name and question are checked for such names when it is
  created, and this view draws no sidebar, whose model picker would name the model);
* ``/review?study=ID&view=results``: the results (not blind).

The study logic (creating, planning, results) is :mod:`explainers_team.review`; the database is
:mod:`explainers_team.store`; who reviews is :func:`ui.app.identity.current_user`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

import explainers
from explainers import ExplainersError, ImageError
from explainers.metrics import DEFAULT_STEPS
from explainers_team.access import User, may_change
from explainers_team.review import (DEFAULT_QUESTION, answers_csv, encode_png, summary_csv, summary_json,
                                    summary_rows, verdict)
from explainers_team.review.design import PICTURE_MAX_SIDE, Assignment
from explainers_team.review.studies import (MAX_PHOTOS, Photo, answers_json, build_study, conditions_of,
                                            plan, preparation_units, progress_rows, question_for, review_answers,
                                            study_summary, trial_rows, unique_photos)
from explainers_team.roots import MAX_PATH_CHARS, server_photos
from explainers_team.store import Store, StudyRecord

from ..app import identity, session
from ..app.store import error_text, store
from ..text import MISSING, cell, md
from ..compute import explanations, faithfulness, jobs, models, photos
from ..figures.arrays import resize_image
from ..figures.review import breakdown_figure, faithfulness_figure, position_bias_figure, preference_figure
from ..widgets.params import own_parameters

#: Query parameters of the page.
STUDY_PARAM, VIEW_PARAM, RESULTS = "study", "view", "results"
#: Largest study id a link may carry (ids are 64-bit integers in the store).
MAX_STUDY_ID = 2 ** 62
#: What a reviewer can answer, in the order of the buttons, with their labels.
CHOICE_LABELS = {"left": "Left is better", "right": "Right is better", "equal": "Equally good",
                 "cant_tell": "Can't tell"}


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
        study = -1
    if not 1 <= study <= MAX_STUDY_ID:
        return View("list", problem=f"'{str(raw)[:40]}' in the link is not a study number; pick the study below.")
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


def open_store() -> Store:
    """The store, or the page says why not and stops."""
    try:
        return store()
    except ExplainersError as exc:
        st.title("Review")
        st.error(md(error_text(exc)))
        st.stop()


def load_study(found: Store, study_id: int) -> StudyRecord:
    """The study, or the page says it is gone and offers the list."""
    try:
        return found.get_study(study_id)
    except ExplainersError as exc:
        st.error(md(error_text(exc)))
        if st.button("Back to the studies", key="review_back_missing"):
            open_view(None)
        st.stop()


def who_line(user: User | None) -> None:
    """Who is reviewing, with "Not you?" for a typed name."""
    if user is not None:
        identity.name_form(key="reviewer", action="Reviewing")


def ask_name() -> User | None:
    """The reviewer's name, asked once per browser when no login is configured."""
    st.info("Type your name (or initials) once: this browser remembers it, and your answers are recorded "
            "under it so you can stop and resume later.")
    return identity.name_form(key="reviewer", action="Reviewing")


# ---------------------------------------------------------------------------------------------- trials
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
    """The stored photo at most the trial pictures' size, as PNG (for the "photo alone" view)."""
    image = explainers.load_image(store().get_photo(sha256))
    return encode_png(resize_image(image, PICTURE_MAX_SIDE))


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


def answer_view(found: Store, study_id: int, user: User | None) -> None:
    """The blind trials: one at a time, in this reviewer's order, with this reviewer's own earlier answers only."""
    study = load_study(found, study_id)
    st.title(md(study.name))
    if user is None:
        ask_name()
        return
    who_line(user)
    if study.is_closed:
        st.warning("This study is closed: it accepts no more answers. Thank you for taking part.")
    assignments = plan(found, study.id, user)
    mine = {a.trial_id: a for a in found.answers(study.id, reviewer=user)}
    answered = set(mine)
    key = f"review_position_{study.id}_{user.id}"
    if key not in st.session_state:
        first = next_open(assignments, answered)
        st.session_state[key] = first if first is not None else len(assignments)  # len: the "all done" screen
    position = st.session_state[key]
    total = len(assignments)
    st.progress(len(answered) / total if total else 1.0, text=f"{len(answered)} of {total} answered")
    if position >= total:
        _all_done(key, assignments, answered, total)
        return
    assignment = assignments[position]
    trial_id = assignment.trial_id
    label, picture_a, picture_b, photo_sha = trial_pictures(trial_id)
    left, right = (picture_a, picture_b) if assignment.left == "A" else (picture_b, picture_a)
    start_clock(trial_id)
    st.subheader(f"Trial {position + 1} of {total}")
    st.markdown(f"**{md(question_for(study, label))}**")
    earlier = mine.get(trial_id)
    if earlier is not None:
        st.caption(f"You answered this trial: *{CHOICE_LABELS[earlier.choice]}*. Answering again replaces it.")
    columns = st.columns(2)
    columns[0].image(left, caption="Left", width="stretch")
    columns[1].image(right, caption="Right", width="stretch")
    if st.toggle("Show the photo without any map", key=f"review_photo_{study.id}"):
        st.image(photo_png(found.url, photo_sha), caption="The photo", width=480)
    comment = st.text_area("Comment (optional)", value=earlier.comment if earlier else "", max_chars=2000,
                           key=f"review_comment_{study.id}_{trial_id}", height=80,
                           placeholder="What made you choose? (optional)")
    chosen = None
    for column, (choice, text) in zip(st.columns(4), CHOICE_LABELS.items()):
        if column.button(text, key=f"review_choice_{choice}", width="stretch", disabled=study.is_closed):
            chosen = choice
    if chosen is not None:
        try:
            found.record_answer(trial_id, reviewer=user, choice=chosen, left_condition=assignment.left_index,
                                comment=comment, seconds=stop_clock(trial_id))
        except ExplainersError as exc:
            st.error(md(f"Your answer was not recorded: {error_text(exc)}"))
            return
        answered.add(trial_id)
        nxt = next_open(assignments, answered, after=position)
        st.session_state[key] = nxt if nxt is not None else total
        st.rerun()
    nav = st.columns([1, 1, 4])
    if nav[0].button("Previous", key="review_previous", disabled=position == 0, width="stretch"):
        st.session_state[key] = position - 1
        st.rerun()
    if nav[1].button("Skip" if earlier is None else "Next", key="review_skip", width="stretch"):
        st.session_state[key] = position + 1 if position + 1 < total else total
        st.rerun()
    st.caption("The two maps explain the same class in the same photo; which side shows which explanation "
               "changes from trial to trial. Stop whenever you like: your answers are saved as you go, and this "
               "link brings you back to your first unanswered trial.")


def _all_done(key: str, assignments: Sequence[Assignment], answered: set[int], total: int) -> None:
    st.success(f"You have answered all {total} trials. Thank you!" if len(answered) == total else
               f"{len(answered)} of {total} answered.")
    st.caption("You can go back and change an answer: answering a trial again replaces your earlier answer.")
    cols = st.columns(3)
    if cols[0].button("Go through my answers", key="review_revisit", disabled=not total):
        st.session_state[key] = 0
        st.rerun()
    nxt = next_open(assignments, answered)
    if nxt is not None and cols[1].button("Next unanswered trial", key="review_next_open"):
        st.session_state[key] = nxt
        st.rerun()


# ---------------------------------------------------------------------------------------------- results
def text_cells(rows: Sequence[dict], *columns: str) -> list[dict]:
    """Rows for ``st.table``, which renders Markdown in its cells: the ``columns`` of user text (a reviewer, a
    condition) as text, a missing value as :data:`ui.text.MISSING`."""
    return [{k: md(v) if k in columns else cell(v) for k, v in row.items()} for row in rows]


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def interval(ci: Sequence[float] | None) -> str:
    return "n/a" if not ci else f"{100 * ci[0]:.0f}% to {100 * ci[1]:.0f}%"


def pvalue(p: float | None) -> str:
    return "n/a" if p is None else (f"{p:.3f}" if p >= 0.001 else "< 0.001")


def signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.3f}"


def results_view(found: Store, study_id: int, user: User | None) -> None:
    """The results of a study: preferences, agreement, position bias, times, AUCs, breakdowns, exports."""
    study = load_study(found, study_id)
    st.title(f"Results: {md(study.name)}")
    if st.button("Back to the studies", key="review_back"):
        open_view(None)
    answers = review_answers(found, study)
    creator = may_change(user, study.creator_id)
    mine = found.answers(study.id, reviewer=user) if user is not None else []
    if not study.is_closed and not creator and user is not None and len(mine) < study.n_trials:
        st.warning(f"The results name the methods and models. You have answered {len(mine)} of {study.n_trials} "
                   "trials: seeing them first would unblind you.")
        if not st.button("Show the results anyway", key="review_unblind"):
            if st.button("Answer my remaining trials", key="review_to_answer", type="primary"):
                open_view(study.id)
            return
    conditions = conditions_of(study)
    status = f"closed {study.closed_at:%Y-%m-%d %H:%M} UTC" if study.is_closed else "open"
    st.caption(f"Created by **{md(study.creator_name)}** on {study.created_at:%Y-%m-%d %H:%M} UTC; "
               f"{study.n_trials} trials; {status}. Question: *{md(study.question)}*")
    st.markdown(f"**A**: {md(conditions['A'].describe())}  \n**B**: {md(conditions['B'].describe())}")
    if creator and not study.is_closed:
        with st.expander("Close the study"):
            st.caption("A closed study accepts no more answers; its results stay. This cannot be undone.")
            if st.button("Close the study now", key="review_close"):
                try:
                    found.close_study(study.id, by=user)
                except ExplainersError as exc:
                    st.error(md(error_text(exc)))
                else:
                    st.rerun()
    if not answers:
        st.info(f"No answers yet. Share the review link: `{review_link(study.id)}`")
        return
    summary = study_summary(found, study, answers)
    st.markdown(md(verdict(summary).sentence))
    _preference(summary, conditions)
    _charts(summary)
    st.subheader("Per reviewer and per class")
    table = [r for r in summary_rows(summary) if r["scope"] in ("overall", "reviewer", "class")]
    st.dataframe(table, hide_index=True, placeholder=MISSING, width="stretch", key="review_breakdown_table",
                 column_order=("scope", "key", "answers", "A", "B", "tie", "cant_tell", "share_A", "share_A_low",
                               "share_A_high", "p_value", "share_left", "median_seconds"),
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in
                                ("share_A", "share_A_low", "share_A_high", "p_value", "share_left",
                                 "median_seconds")})
    st.subheader("Per trial")
    st.dataframe(trial_rows(found, study, answers), hide_index=True, placeholder=MISSING, width="stretch", key="review_trial_table")
    st.subheader("Reviewers' progress")
    progress = [{**r, "median_seconds": "n/a" if r["median_seconds"] is None else f"{r['median_seconds']:.1f} s"}
                for r in progress_rows(study, answers)]
    st.table(text_cells(progress, "reviewer"), border="horizontal", hide_index=True)
    comments = [a for a in answers if a.comment]
    if comments:
        with st.expander(f"Comments ({len(comments)})"):
            for a in comments:
                st.markdown(f"- **{md(a.reviewer)}** on {md(a.photo)} ({md(a.label)}), outcome {a.outcome}: "
                            f"{md(a.comment)}")
    _downloads(study, answers, summary)


def _preference(summary: dict, conditions: dict) -> None:
    overall, faith = summary["overall"], summary.get("faithfulness")
    st.subheader("Which map do reviewers prefer?")
    rows = []
    for key in ("A", "B"):
        entry = overall[key]
        row = {"condition": f"{key}: {conditions[key].describe()}", "preferred": entry["count"],
               "of decided": overall["decided"], "share": pct(entry["share"]), "95% interval": interval(entry["ci"])}
        if faith:
            row["deletion AUC (lower is better)"] = f"{faith[key]['deletion_auc']['mean']:.3f}"
            row["insertion AUC (higher is better)"] = f"{faith[key]['insertion_auc']['mean']:.3f}"
        rows.append(row)
    st.table(text_cells(rows, "condition"), border="horizontal", hide_index=True)
    agreement, majority = summary["agreement"], summary["trial_majority"]
    fleiss, cohen = agreement["fleiss"], agreement["cohen"]
    cells = st.columns(4)
    cells[0].metric("Sign test p (A vs B)", pvalue(overall["p_value"]),
                    help="Exact two-sided binomial test against 50 %, ties and can't tell excluded.")
    cells[1].metric("One vote per trial p", pvalue(majority["p_value"]),
                    help=f"Each trial counted once by its majority: A {majority['A']}, B {majority['B']}, split "
                         f"{majority['split']}. Answers to one trial are not independent; trust this one when "
                         "the two disagree.")
    cells[2].metric("Equally good (ties)", overall["tie"])
    cells[3].metric("Can't tell", overall["cant_tell"])
    cells = st.columns(4)
    kappa = "n/a" if fleiss["value"] is None else f"{fleiss['value']:.2f} ({fleiss['interpretation']})"
    cells[0].metric("Fleiss' kappa", kappa, help=(fleiss["reason"] or "") + f" Over {agreement['trials']} trials "
                    "answered by two or more reviewers, on the outcomes A, B, tie, can't tell.")
    ckappa = "n/a" if cohen["value"] is None else f"{cohen['value']:.2f} ({cohen['interpretation']})"
    cells[1].metric("Cohen's kappa", ckappa, help=cohen["reason"] or "The two reviewers, over the trials both answered.")
    position = overall["position"]
    cells[2].metric("Position bias: share 'left'", pct(position["share_left"]),
                    help=f"{position['left']} left, {position['right']} right; 95% interval "
                         f"{interval(position['ci'])}; p = {pvalue(position['p_value'])}. 50% means no bias.")
    median = overall["median_seconds"]
    cells[3].metric("Median answer time", "n/a" if median is None else f"{median:.1f} s")
    for k, name in ((fleiss, "Fleiss"), (cohen, "Cohen")):
        if k["reason"] and k["value"] is None and (name == "Fleiss" or len(summary["reviewers"]) == 2):
            st.caption(f"{name}'s kappa: {k['reason']}")


def _charts(summary: dict) -> None:
    faith = summary.get("faithfulness")
    st.plotly_chart(preference_figure(summary), key="review_fig_preference", config={"displayModeBar": False})
    figure = faithfulness_figure(summary)
    if figure is not None:
        difference = faith["difference"]
        st.caption(f"Faithfulness on the same {faith['A']['photos']} photos (each map for the trial's class): "
                   f"B - A deletion AUC {signed(difference['deletion_auc']['mean'])}, insertion AUC "
                   f"{signed(difference['insertion_auc']['mean'])} (paired over {difference['photos']} photos; lower "
                   "deletion and higher insertion mean a more faithful map).")
        st.plotly_chart(figure, key="review_fig_faithfulness", config={"displayModeBar": False})
        _people_and_metrics(summary.get("preference_metrics") or [])
    else:
        st.info("Deletion and insertion AUC were not measured when this study was created.")
    charts = st.columns(2)
    charts[0].plotly_chart(breakdown_figure(summary, "reviewer"), key="review_fig_reviewer",
                           config={"displayModeBar": False})
    charts[1].plotly_chart(breakdown_figure(summary, "class"), key="review_fig_class",
                           config={"displayModeBar": False})
    st.plotly_chart(position_bias_figure(summary), key="review_fig_position", config={"displayModeBar": False})


def _people_and_metrics(entries: list) -> None:
    """Per metric: how the trials' preferences follow it (Spearman over trials; same side where both choose)."""
    if not entries:
        return
    rows = [{"metric": e["title"], "trials": e["trials"],
             "Spearman ρ (preference for A vs the metric's lean to A)": e["rho"], "p": MISSING if e["p_value"] is None else pvalue(e["p_value"]),
             "same side": MISSING if e["same_side"] is None else f"{e['same_side']:.0%} of {e['compared']}"}
            for e in entries]
    st.dataframe(rows, hide_index=True, width="stretch", placeholder=MISSING,
                 column_config={"Spearman ρ (preference for A vs the metric's lean to A)":
                                st.column_config.NumberColumn(format="%.2f")})
    reasons = {e["reason"] for e in entries if e["reason"]}
    st.caption("Do people prefer the map the metric calls more faithful? A positive ρ: the more a trial's answers "
               "prefer A, the more the metric favours A. 'Same side': trials whose majority and the metric pick the "
               "same map." + (f" Not computed: {'; '.join(sorted(reasons))}." if reasons else ""))


def _downloads(study: StudyRecord, answers: list, summary: dict) -> None:
    st.subheader("Downloads")
    files = st.columns(4)
    stem = f"study-{study.id}"
    files[0].download_button("Answers (CSV)", answers_csv(answers), file_name=f"{stem}-answers.csv",
                             mime="text/csv", width="stretch", on_click="ignore", key="review_dl_answers_csv")
    files[1].download_button("Answers (JSON)", answers_json(answers), file_name=f"{stem}-answers.json",
                             mime="application/json", width="stretch", on_click="ignore",
                             key="review_dl_answers_json")
    files[2].download_button("Summary (CSV)", summary_csv(summary), file_name=f"{stem}-summary.csv",
                             mime="text/csv", width="stretch", on_click="ignore", key="review_dl_summary_csv")
    files[3].download_button("Summary (JSON)", summary_json(summary), file_name=f"{stem}-summary.json",
                             mime="application/json", width="stretch", on_click="ignore",
                             key="review_dl_summary_json")
    st.caption("How to read these numbers: docs/REVIEW.md. `left` in the answers is the condition shown on the "
               "left; `outcome` is the condition preferred (A or B), tie or cant_tell.")


# ---------------------------------------------------------------------------------------------- list + create
def list_view(found: Store, user: User | None, problem: str | None) -> None:
    """The studies, each with links to answer it and to its results, then the create form."""
    st.title("Blind review")
    st.caption("Does the team find one explanation more convincing than another? Each reviewer sees the same "
               "photos explained two ways, side by side, without knowing which is which, and picks the map that "
               "better shows why the model predicted the class.")
    if problem:
        st.error(md(problem))
    who_line(user)
    try:
        studies = found.list_studies()
    except ExplainersError as exc:
        st.error(md(error_text(exc)))
        return
    st.subheader("Studies")
    if not studies:
        st.info("No study yet: create one below.")
    for study in studies:
        with st.container(border=True):
            cols = st.columns([4, 2, 1, 1])
            status = "closed" if study.is_closed else "open"
            cols[0].markdown(f"**{md(study.name)}**  \n{study.n_trials} trials, by {md(study.creator_name)}, "
                             f"{study.created_at:%Y-%m-%d}, {status}")
            if user is not None:
                done, total = found.progress(study.id, user)
                cols[1].caption(f"You: {done} of {total} answered")
            cols[2].page_link("pages/review.py", label="Answer", query_params={"study": study.id},
                              disabled=study.is_closed)
            cols[3].page_link("pages/review.py", label="Results",
                              query_params={"study": study.id, "view": "results"})
    st.subheader("Create a study")
    if user is None:
        ask_name()
        return
    create_form(found, user)


def sample_bytes(name: str) -> bytes:
    """The file of a scikit-image gallery sample (:data:`ui.compute.photos.SAMPLES`)."""
    from skimage import data as skdata

    if name not in photos.SAMPLES:
        raise ImageError(f"unknown sample '{name}'; samples: {', '.join(photos.SAMPLES)}")
    return (Path(skdata.data_dir) / photos.SAMPLES[name]).read_bytes()


def conditions_input() -> tuple[explainers.Condition, explainers.Condition]:
    """The study's two conditions, made exactly as Compare makes them (the sidebar's superpixel settings and
    threshold, each method's own parameters)."""
    selection = session.require()
    usable = models.usable() or [selection.model_name]
    methods = explainers.list_explainers()
    threshold = float(session.value("threshold"))

    def title(name: str) -> str:
        return f"{explainers.EXPLAINERS[name].title} ({name})"

    first, second = session.DEFAULT_METHODS
    pair = f"{explainers.EXPLAINERS[first].title} vs {explainers.EXPLAINERS[second].title}"
    kinds = [f"{pair} on the sidebar's model", "Two methods on one model", "One method on two models"]
    kind = st.radio("Conditions", kinds, key="review_kind", horizontal=True)
    if kind == kinds[0]:
        a, b = (explanations.condition(selection.model_name, m, selection, threshold) for m in (first, second))
    elif kind == kinds[1]:
        cols = st.columns([2, 2, 1, 2, 1])
        model = cols[0].selectbox("Model", usable, key="review_model",
                                  index=usable.index(selection.model_name) if selection.model_name in usable else 0)
        method_a = cols[1].selectbox("Method A", methods, index=methods.index(first) if first in methods else 0,
                                     format_func=title, key="review_method_a")
        extra_a = own_parameters(method_a, cols[2])
        method_b = cols[3].selectbox("Method B", methods, index=methods.index(second) if second in methods else 0,
                                     format_func=title, key="review_method_b")
        extra_b = own_parameters(method_b, cols[4])
        a = explanations.condition(model, method_a, selection, threshold, extra_a)
        b = explanations.condition(model, method_b, selection, threshold, extra_b)
    else:
        cols = st.columns([2, 1, 2, 2])
        method = cols[0].selectbox("Method", methods, format_func=title, key="review_method")
        extra = own_parameters(method, cols[1])
        model_a = cols[2].selectbox("Model A", usable, key="review_model_a")
        model_b = cols[3].selectbox("Model B", usable, index=min(1, len(usable) - 1), key="review_model_b")
        a = explanations.condition(model_a, method, selection, threshold, extra)
        b = explanations.condition(model_b, method, selection, threshold, extra)
    st.caption(f"A: {md(a.describe())}; B: {md(b.describe())}. The same conditions as on the Compare page with "
               "these choices: the same maps.")
    return a, b


def photos_input(found: Store) -> list[Photo]:
    """The photos chosen from every source (errors shown, bad sources skipped)."""
    chosen = []
    samples = st.multiselect("Sample photos (scikit-image gallery)", list(photos.SAMPLES),
                             default=["chelsea", "coffee", "astronaut", "rocket"], key="review_samples")
    chosen += [Photo(f"{name}.{photos.SAMPLES[name].rsplit('.', 1)[-1]}", sample_bytes(name)) for name in samples]
    uploads = st.file_uploader(f"Upload photos: {photos.upload_types_text()}", type=photos.UPLOAD_TYPES,
                               accept_multiple_files=True, key="review_uploads")
    chosen += [Photo(u.name, u.getvalue()) for u in uploads or []]
    with st.expander("Photos stored in the workspace, or a folder on the server"):
        try:
            stored = found.list_photos()
            items = [i for i in found.list_items(with_thumbnails=False) if i.photo_sha256]
        except ExplainersError as exc:
            st.error(md(error_text(exc)))
            stored, items = [], []
        names = {p.sha256: p.original_name for p in stored}
        options = {f"item: {i.title} ({i.class_label})": i.photo_sha256 for i in items}
        options.update({f"photo: {p.original_name} ({p.width}x{p.height}, by {p.uploader_name})": p.sha256
                        for p in stored})
        picked = st.multiselect("Saved workspace items and stored photos", list(options), key="review_stored",
                                help="Photos uploaded to this workspace before, and the photos of saved items.")
        for label in picked:
            try:
                chosen.append(Photo(names.get(options[label], options[label][:12]), found.get_photo(options[label])))
            except ExplainersError as exc:
                st.error(md(error_text(exc)))
        folder = st.text_input("Folder on the server", key="review_folder", max_chars=MAX_PATH_CHARS,
                               help="Image files directly in a folder under the server's allowed data roots "
                                    "(EXPLAINERS_DATA_ROOTS), sorted by name.")
        if folder.strip():
            try:
                listing = server_photos(folder, MAX_PHOTOS)
                chosen += [Photo(p.name, p.read_bytes()) for p in listing.photos]
                if listing.refused:
                    st.warning(md(f"Left out (they lead outside the allowed folders): {', '.join(listing.refused)}"))
            except ExplainersError as exc:
                st.error(md(f"Folder: {exc}"))
            except OSError as exc:
                st.error(md(f"Folder: cannot be read ({exc.strerror})"))
    return chosen


def create_form(found: Store, user: User) -> None:
    """The create form: name, question, conditions, photos; then the study is prepared and stored."""
    name = st.text_input("Name (reviewers see it: no method or model names)", key="review_new_name",
                         max_chars=200, placeholder="e.g. Pets and street scenes, November")
    question = st.text_input("Question ({label} becomes the explained class)", value=DEFAULT_QUESTION,
                             key="review_new_question", max_chars=2000)
    condition_a, condition_b = conditions_input()
    chosen, notes = unique_photos(photos_input(found))
    for note in notes:
        st.caption(md(note))
    cols = st.columns([2, 1])
    measure = cols[0].toggle("Also measure each condition's deletion and insertion AUC on these photos",
                             value=True, key="review_measure",
                             help="Shown beside the preferences: do people prefer the more faithful map?")
    steps = cols[1].number_input("Curve steps", 5, 100, DEFAULT_STEPS, key="review_steps", disabled=not measure)
    seconds = study_estimate(condition_a, condition_b, len(chosen), measure, int(steps)) if chosen else 0.0
    st.caption(f"{len(chosen)} photo(s) chosen. Each photo is one trial: its top-1 class under model A is "
               "explained by both conditions, and the maps are computed now and stored, so answering is instant."
               + (f" Preparing takes about {duration(seconds)} ({len(chosen)} photo(s) x 2 conditions"
                  f"{', with their AUCs' if measure else ''}, at this server's measured speed)." if chosen else ""))
    clicked = st.button("Create the study", type="primary", key="review_create", on_click=_count_create)
    key = ("study", st.session_state.get(_CREATE_COUNT, 0), user.id, name, question, condition_a, condition_b,
           tuple((p.name, hashlib.sha256(p.data).hexdigest()) for p in chosen), bool(measure), int(steps))
    if jobs.stopped(key):
        jobs.forget_stop()
        st.info("The study was not created: its preparation was cancelled, and nothing was stored.",
                icon=":material/stop_circle:")
        return
    job = jobs.running()
    if not (clicked or (job is not None and job.key == key)):  # a rerun while it prepares follows it
        return
    work = study_job(found, user, name, question, condition_a, condition_b, chosen, measure=measure,
                     steps=int(steps))
    try:
        study_id = jobs.run(key, f"Preparing {len(chosen)} trial(s)", work, seconds, requested=clicked)
    except ExplainersError as exc:
        st.error(md(f"The study was not created: {error_text(exc)}"))
        return
    if study_id is None:  # cancelled (the job said so) or another of this person's jobs runs
        return
    st.session_state["review_created"] = study_id
    st.rerun()


#: Session key counting this session's clicks on "Create the study" (each click is new work, even with the same
#: choices: a finished job's result is not reused).
_CREATE_COUNT = "_review_create_count"
#: The kind of work (:func:`ui.compute.jobs.speed`) a study's preparation is measured as.
STUDY = "study"


def _count_create() -> None:
    st.session_state[_CREATE_COUNT] = st.session_state.get(_CREATE_COUNT, 0) + 1


def duration(seconds: float) -> str:
    """``about 40 s`` style text: seconds under two minutes, else minutes."""
    return f"{max(1, round(seconds))} s" if seconds < 120 else f"{round(seconds / 60)} min"


def study_estimate(condition_a: explainers.Condition, condition_b: explainers.Condition, n_photos: int,
                   measure: bool, steps: int) -> float:
    """Expected seconds to prepare ``n_photos`` trials: :func:`explainers_team.review.studies.preparation_units`
    per photo, at the speed of this server's last study preparation (``ui.compute.jobs.speed``, kind
    :data:`STUDY`); before any, at the last faithfulness curves' speed (most of a study's images are curve
    copies), else at each model's forward time per image (``ui.compute.models.seconds_per_image``).
    """
    units = preparation_units(condition_a, condition_b, measure=measure, steps=steps)
    return n_photos * sum(
        jobs.estimate(n, model, jobs.speed(model, faithfulness.CURVES) or models.seconds_per_image(model), kind=STUDY)
        for model, n in units.items())


def study_job(found: Store, user: User, name: str, question: str, condition_a: explainers.Condition,
              condition_b: explainers.Condition, chosen: Sequence[Photo], measure: bool, steps: int
              ) -> Callable[[], int]:
    """The work of "Create the study", for :func:`ui.compute.jobs.run`: prepare every trial, then store the study;
    returns its id.

    Progress counts photos; Cancel (or nobody waiting any more) stops the preparation at its next batch of images,
    and the study is stored only once every trial is prepared (:func:`explainers_team.review.studies.build_study`),
    so a cancelled creation leaves no study. A finished one sets the speed of the next estimates.
    """
    def work() -> int:
        t0 = time.perf_counter()
        with jobs.counted(len(chosen)) as done:
            def prepared(stage: str, n: int, total: int) -> None:
                if stage == "preparing":
                    done(n)

            study_id = build_study(found, creator=user, name=name, question=question, condition_a=condition_a,
                                   condition_b=condition_b, photos=chosen, load=models.get_model, measure=measure,
                                   steps=steps, on_progress=prepared)
        units = preparation_units(condition_a, condition_b, measure=measure, steps=steps)
        for model in units:
            jobs.record_speed(model, time.perf_counter() - t0, len(chosen) * sum(units.values()), kind=STUDY)
        return study_id

    return work
