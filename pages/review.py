"""Review: blind forced-choice studies of two explanations (create, answer, results); see docs/REVIEW.md."""

import streamlit as st

import explainers
from explainers import ExplainersError
from explainers_team.access import may_change
from explainers_team.review import DEFAULT_QUESTION, Condition, answers_csv, summary_csv, summary_json, summary_rows
from ui import page, review, state
from ui.session import DEFAULT_METHODS
from ui.review_figures import breakdown_figure, faithfulness_figure, position_bias_figure, preference_figure

view = review.current_view()
# A trial must not name a method or a model anywhere: no shared sidebar (its model picker), a neutral tab title.
if view.mode == "answer":
    review.blind_setup()
else:
    page.setup("Review")

script = review.cookie_script()
if script:
    st.html(script, unsafe_allow_javascript=True)

try:
    store = review.store()
except ExplainersError as exc:
    st.title("Review")
    st.error(f"{review.error_text(exc)}")
    st.stop()
user = review.current_user()


def pct(x):
    return "n/a" if x is None else f"{100 * x:.0f}%"


def interval(ci):
    return "n/a" if not ci else f"{100 * ci[0]:.0f}% to {100 * ci[1]:.0f}%"


def pvalue(p):
    return "n/a" if p is None else (f"{p:.3f}" if p >= 0.001 else "< 0.001")


def signed(x):
    return "n/a" if x is None else f"{x:+.3f}"


def ask_name(key: str) -> None:
    """The reviewer's name, asked once per browser when no login is configured."""
    st.info("Type your name (or initials) once: it is kept in this browser, and your answers are recorded "
            "under it so you can stop and resume later.")
    with st.form(f"review_name_form_{key}"):
        name = st.text_input("Your name", key=f"review_name_input_{key}", max_chars=100)
        if st.form_submit_button("Continue", type="primary"):
            try:
                review.remember_name(review.check_name(name))
            except ExplainersError as exc:
                st.error(f"{exc}")
            else:
                st.rerun()


def who_line() -> None:
    if user is None:
        return
    left, right = st.columns([5, 1])
    left.caption(f"Signed in as **{user.name}**" if review.signed_in() else f"Reviewing as **{user.name}**")
    if not review.signed_in() and right.button("Not you?", key="review_forget"):
        review.forget_name()
        st.rerun()


def load_study(study_id):
    try:
        return store.get_study(study_id)
    except ExplainersError as exc:
        st.error(f"{review.error_text(exc)}")
        if st.button("Back to the studies", key="review_back_missing"):
            review.open_view(None)
        st.stop()


# ================================================================================================ answer (blind)
def answer_view(study_id: int) -> None:
    study = load_study(study_id)
    st.title(study.name)
    if user is None:
        ask_name("answer")
        return
    who_line()
    if study.is_closed:
        st.warning("This study is closed: it accepts no more answers. Thank you for taking part.")
    plan = review.plan(store, study, user)
    mine = {a.trial_id: a for a in store.answers(study.id, reviewer=user)}
    answered = set(mine)
    key = f"review_position_{study.id}"
    if key not in st.session_state:
        first = review.next_open(plan, answered)
        st.session_state[key] = first if first is not None else len(plan)  # len(plan): the "all done" screen
    position = st.session_state[key]
    total = len(plan)
    st.progress(len(answered) / total if total else 1.0, text=f"{len(answered)} of {total} answered")

    if position >= total:
        st.success(f"You have answered all {total} trials. Thank you!" if len(answered) == total else
                   f"{len(answered)} of {total} answered.")
        st.caption("You can go back and change an answer: answering a trial again replaces your earlier answer.")
        cols = st.columns(3)
        if cols[0].button("Go through my answers", key="review_revisit", disabled=not total):
            st.session_state[key] = 0
            st.rerun()
        nxt = review.next_open(plan, answered)
        if nxt is not None and cols[1].button("Next unanswered trial", key="review_next_open"):
            st.session_state[key] = nxt
            st.rerun()
        return

    assignment = plan[position]
    trial_id = assignment.trial_id
    label, picture_a, picture_b, photo_sha = review.trial_pictures(trial_id)
    left, right = (picture_a, picture_b) if assignment.left == "A" else (picture_b, picture_a)
    review.start_clock(trial_id)
    st.subheader(f"Trial {position + 1} of {total}")
    st.markdown(f"**{review.question_for(study, label)}**")
    earlier = mine.get(trial_id)
    if earlier is not None:
        st.caption(f"You answered this trial: *{review.CHOICE_LABELS[earlier.choice]}*. "
                   "Answering again replaces it.")
    columns = st.columns(2)
    columns[0].image(left, caption="Left", width="stretch")
    columns[1].image(right, caption="Right", width="stretch")
    if st.toggle("Show the photo without any map", key=f"review_photo_{study.id}"):
        st.image(review.photo_png(store.url, photo_sha), caption="The photo", width=480)
    comment = st.text_area("Comment (optional)", value=earlier.comment if earlier else "", max_chars=2000,
                           key=f"review_comment_{study.id}_{trial_id}", height=80,
                           placeholder="What made you choose? (optional)")
    buttons = st.columns(4)
    chosen = None
    for column, (choice, text) in zip(buttons, review.CHOICE_LABELS.items()):
        if column.button(text, key=f"review_choice_{choice}", width="stretch", disabled=study.is_closed,
                         type="secondary"):
            chosen = choice
    if chosen is not None:
        try:
            store.record_answer(trial_id, reviewer=user, choice=chosen, left_condition=review.left_index(assignment),
                                comment=comment, seconds=review.stop_clock(trial_id))
        except ExplainersError as exc:
            st.error(f"Your answer was not recorded: {review.error_text(exc)}")
            return
        answered.add(trial_id)
        nxt = review.next_open(plan, answered, after=position)
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


# ================================================================================================ results
def results_view(study_id: int) -> None:
    study = load_study(study_id)
    st.title(f"Results: {study.name}")
    if st.button("Back to the studies", key="review_back"):
        review.open_view(None)
    answers = review.review_answers(store, study)
    creator = may_change(user, study.creator_id)
    mine = [a for a in store.answers(study.id, reviewer=user)] if user is not None else []
    if not study.is_closed and not creator and user is not None and len(mine) < study.n_trials:
        st.warning(f"The results name the methods and models. You have answered {len(mine)} of {study.n_trials} "
                   "trials: seeing them first would unblind you.")
        if not st.button("Show the results anyway", key="review_unblind"):
            if st.button("Answer my remaining trials", key="review_to_answer", type="primary"):
                review.open_view(study.id)
            return
    conditions = review.conditions_of(study)
    status = (f"closed {study.closed_at:%Y-%m-%d %H:%M} UTC" if study.is_closed else "open")
    st.caption(f"Created by **{study.creator_name}** on {study.created_at:%Y-%m-%d %H:%M} UTC; {study.n_trials} "
               f"trials; {status}. Question: *{study.question}*")
    st.markdown(f"**A**: {conditions['A'].name}  \n**B**: {conditions['B'].name}")

    if review.can_close(store, study, user):
        with st.expander("Close the study"):
            st.caption("A closed study accepts no more answers; its results stay. This cannot be undone.")
            if st.button("Close the study now", key="review_close"):
                try:
                    store.close_study(study.id, by=user)
                except ExplainersError as exc:
                    st.error(review.error_text(exc))
                else:
                    st.rerun()
    if not answers:
        st.info(f"No answers yet. Share the review link: `{review.review_link(study.id)}`")
        return
    summary = review.study_summary(store, study, answers)
    overall, faith = summary["overall"], summary.get("faithfulness")

    st.subheader("Which map do reviewers prefer?")
    rows = []
    for key in ("A", "B"):
        entry = overall[key]
        row = {"condition": f"{key}: {conditions[key].name}", "preferred": entry["count"],
               "of decided": overall["decided"], "share": pct(entry["share"]), "95% interval": interval(entry["ci"])}
        if faith:
            row["deletion AUC (lower is better)"] = f"{faith[key]['deletion_auc']['mean']:.3f}"
            row["insertion AUC (higher is better)"] = f"{faith[key]['insertion_auc']['mean']:.3f}"
        rows.append(row)
    st.table(rows, border="horizontal", hide_index=True)
    agreement = summary["agreement"]
    fleiss, cohen = agreement["fleiss"], agreement["cohen"]
    cells = st.columns(4)
    cells[0].metric("Sign test p (A vs B)", pvalue(overall["p_value"]),
                    help="Exact two-sided binomial test against 50 %, ties and can't tell excluded.")
    majority = summary["trial_majority"]
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

    st.plotly_chart(preference_figure(summary), key="review_fig_preference", config={"displayModeBar": False})
    figure = faithfulness_figure(summary)
    if figure is not None:
        difference = faith["difference"]
        st.caption(f"Faithfulness on the same {faith['A']['photos']} photos (each map for the trial's class): "
                   f"B - A deletion AUC {signed(difference['deletion_auc']['mean'])}, insertion AUC "
                   f"{signed(difference['insertion_auc']['mean'])} (paired over {difference['photos']} photos; lower "
                   "deletion and higher insertion mean a more faithful map).")
        st.plotly_chart(figure, key="review_fig_faithfulness", config={"displayModeBar": False})
    else:
        st.info("Deletion and insertion AUC were not measured when this study was created.")
    charts = st.columns(2)
    charts[0].plotly_chart(breakdown_figure(summary, "reviewer"), key="review_fig_reviewer",
                           config={"displayModeBar": False})
    charts[1].plotly_chart(breakdown_figure(summary, "class"), key="review_fig_class",
                           config={"displayModeBar": False})
    st.plotly_chart(position_bias_figure(summary), key="review_fig_position", config={"displayModeBar": False})

    st.subheader("Per reviewer and per class")
    table = [r for r in summary_rows(summary) if r["scope"] in ("overall", "reviewer", "class")]
    st.dataframe(table, hide_index=True, width="stretch", key="review_breakdown_table",
                 column_order=("scope", "key", "answers", "A", "B", "tie", "cant_tell", "share_A", "share_A_low",
                               "share_A_high", "p_value", "share_left", "median_seconds"),
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in
                                ("share_A", "share_A_low", "share_A_high", "p_value", "share_left",
                                 "median_seconds")})
    st.subheader("Per trial")
    st.dataframe(review.trial_rows(store, study, answers), hide_index=True, width="stretch",
                 key="review_trial_table")
    st.subheader("Reviewers' progress")
    st.table([{**r, "median_seconds": "n/a" if r["median_seconds"] is None else f"{r['median_seconds']:.1f} s"}
              for r in review.progress_rows(store, study, answers)], border="horizontal", hide_index=True)
    comments = [a for a in answers if a.comment]
    if comments:
        with st.expander(f"Comments ({len(comments)})"):
            for a in comments:
                st.markdown(f"- **{a.reviewer}** on {a.photo} ({a.label}), outcome {a.outcome}: {a.comment}")

    st.subheader("Downloads")
    files = st.columns(4)
    stem = f"study-{study.id}"
    files[0].download_button("Answers (CSV)", answers_csv(answers), file_name=f"{stem}-answers.csv",
                             mime="text/csv", width="stretch", on_click="ignore", key="review_dl_answers_csv")
    files[1].download_button("Answers (JSON)", review.answers_json(answers), file_name=f"{stem}-answers.json",
                             mime="application/json", width="stretch", on_click="ignore",
                             key="review_dl_answers_json")
    files[2].download_button("Summary (CSV)", summary_csv(summary), file_name=f"{stem}-summary.csv",
                             mime="text/csv", width="stretch", on_click="ignore", key="review_dl_summary_csv")
    files[3].download_button("Summary (JSON)", summary_json(summary), file_name=f"{stem}-summary.json",
                             mime="application/json", width="stretch", on_click="ignore",
                             key="review_dl_summary_json")
    st.caption("How to read these numbers: docs/REVIEW.md. `left` in the answers is the condition shown on the "
               "left; `outcome` is the condition preferred (A or B), tie or cant_tell.")


# ================================================================================================ list + create
def list_view(problem: str | None) -> None:
    st.title("Blind review")
    st.caption("Does the team find one explanation more convincing than another? Each reviewer sees the same "
               "photos explained two ways, side by side, without knowing which is which, and picks the map that "
               "better shows why the model predicted the class.")
    if problem:
        st.error(problem)
    who_line()
    try:
        studies = store.list_studies()
    except ExplainersError as exc:
        st.error(review.error_text(exc))
        return
    st.subheader("Studies")
    if not studies:
        st.info("No study yet: create one below.")
    for study in studies:
        with st.container(border=True):
            cols = st.columns([4, 2, 1, 1])
            status = "closed" if study.is_closed else "open"
            cols[0].markdown(f"**{study.name}**  \n{study.n_trials} trials, by {study.creator_name}, "
                             f"{study.created_at:%Y-%m-%d}, {status}")
            if user is not None:
                done, total = store.progress(study.id, user)
                cols[1].caption(f"You: {done} of {total} answered")
            cols[2].page_link("pages/review.py", label="Answer", query_params={"study": study.id},
                              disabled=study.is_closed)
            cols[3].page_link("pages/review.py", label="Results",
                              query_params={"study": study.id, "view": "results"})
    st.subheader("Create a study")
    if user is None:
        ask_name("create")
        return
    create_form()


def conditions_input() -> tuple[Condition, Condition]:
    selection = st.session_state.get("selection")
    sidebar_model = selection.model_name if selection is not None else state.DEFAULT_MODEL
    available = state.availability()
    models = [m for m, (ok, _) in available.items() if ok] or [sidebar_model]
    methods = explainers.list_explainers()

    def title(name):
        return f"{explainers.EXPLAINERS[name].title} ({name})"

    first, second = DEFAULT_METHODS
    pair = f"{explainers.EXPLAINERS[first].title} vs {explainers.EXPLAINERS[second].title}"
    kinds = [f"{pair} on the sidebar's model", "Two methods on one model", "One method on two models"]
    kind = st.radio("Conditions", kinds, key="review_kind", horizontal=True)
    secam = {"n_segments": int(state.value("n_segments")), "compactness": float(state.value("compactness"))}

    def params(method):  # SeCAM and LIME use the sidebar's superpixels, as on the Compare page
        p = explainers.EXPLAINERS[method].defaults
        return {k: v for k, v in secam.items() if k in p}

    if kind == kinds[0]:
        st.caption(f"A: {explainers.EXPLAINERS[first].title}, B: {explainers.EXPLAINERS[second].title} "
                   f"(superpixel methods take the sidebar's {secam['n_segments']} superpixels, compactness "
                   f"{secam['compactness']:g}) on **{sidebar_model}**.")
        return Condition(sidebar_model, first, params(first)), Condition(sidebar_model, second, params(second))
    cols = st.columns(3)
    if kind == kinds[1]:
        model = cols[0].selectbox("Model", models, index=models.index(sidebar_model) if sidebar_model in models
                                  else 0, key="review_model")
        a = cols[1].selectbox("Method A", methods, index=methods.index(first) if first in methods else 0,
                              format_func=title, key="review_method_a")
        b = cols[2].selectbox("Method B", methods, index=methods.index(second) if second in methods else 0,
                              format_func=title, key="review_method_b")
        return Condition(model, a, params(a)), Condition(model, b, params(b))
    method = cols[0].selectbox("Method", methods, format_func=title, key="review_method")
    model_a = cols[1].selectbox("Model A", models, key="review_model_a")
    model_b = cols[2].selectbox("Model B", models, index=min(1, len(models) - 1), key="review_model_b")
    return Condition(model_a, method, params(method)), Condition(model_b, method, params(method))


def photos_input() -> list:
    """The photos chosen from every source, as review.Photo (errors shown, bad sources skipped)."""
    chosen = []
    samples = st.multiselect("Sample photos (scikit-image gallery)", list(state.SAMPLES),
                             default=["chelsea", "coffee", "astronaut", "rocket"], key="review_samples")
    chosen += [review.Photo(f"{name}.{state.SAMPLES[name].rsplit('.', 1)[-1]}", review.sample_bytes(name))
               for name in samples]
    uploads = st.file_uploader("Upload photos: JPEG, PNG, WebP, BMP or TIFF", type=state.UPLOAD_TYPES,
                               accept_multiple_files=True, key="review_uploads")
    chosen += [review.Photo(u.name, u.getvalue()) for u in uploads or []]
    with st.expander("Photos stored in the workspace, or a folder on the server"):
        try:
            stored = store.list_photos()
            items = [i for i in store.list_items(with_thumbnails=False) if i.photo_sha256]
        except ExplainersError as exc:
            st.error(review.error_text(exc))
            stored, items = [], []
        names = {p.sha256: p.original_name for p in stored}
        options = {f"item: {i.title} ({i.class_label})": i.photo_sha256 for i in items}
        options.update({f"photo: {p.original_name} ({p.width}x{p.height}, by {p.uploader_name})": p.sha256
                        for p in stored})
        picked = st.multiselect("Saved workspace items and stored photos", list(options), key="review_stored",
                                help="Photos uploaded to this workspace before, and the photos of saved items.")
        for label in picked:
            try:
                chosen.append(review.Photo(names.get(options[label], options[label][:12]),
                                           store.get_photo(options[label])))
            except ExplainersError as exc:
                st.error(review.error_text(exc))
        folder = st.text_input("Folder on the server", key="review_folder", help=f"Image files directly in "
                               f"{review.data_folder_text()}, sorted by name.")
        if folder.strip():
            try:
                chosen += review.folder_photos(folder)
            except (ExplainersError, OSError) as exc:
                st.error(f"Folder: {exc}")
    return chosen


def create_form() -> None:
    name = st.text_input("Name (reviewers see it: no method or model names)", key="review_new_name",
                         max_chars=200, placeholder="e.g. Pets and street scenes, November")
    question = st.text_input("Question ({label} becomes the explained class)", value=DEFAULT_QUESTION,
                             key="review_new_question", max_chars=2000)
    condition_a, condition_b = conditions_input()
    photos, notes = review.unique_photos(photos_input())
    for note in notes:
        st.caption(note)
    cols = st.columns([2, 1])
    measure = cols[0].toggle("Also measure each condition's deletion and insertion AUC on these photos",
                             value=True, key="review_measure",
                             help="Shown beside the preferences: do people prefer the more faithful map? "
                                  "It takes several seconds per photo on a CPU.")
    steps = cols[1].number_input("Curve steps", 5, 100, review.DEFAULT_STEPS, key="review_steps",
                                 disabled=not measure)
    st.caption(f"{len(photos)} photo(s) chosen. Each photo is one trial: its top-1 class under model A is "
               "explained by both conditions, and the maps are computed now and stored, so answering is instant.")
    if not st.button("Create the study", type="primary", key="review_create"):
        return
    bar = st.progress(0.0, text="Starting...")
    words = {"decoding": "Decoding photos", "preparing": "Computing both maps", "measuring": "Measuring AUCs",
             "storing": "Storing"}

    def progress(stage, done, total):
        bar.progress(done / max(total, 1), text=f"{words[stage]}: {done} of {total}")

    try:
        study_id = review.build_study(store, creator=user, name=name, question=question, condition_a=condition_a,
                                      condition_b=condition_b, photos=photos, load=state.get_model,
                                      measure=measure, steps=int(steps), on_progress=progress)
    except ExplainersError as exc:
        bar.empty()
        st.error(f"The study was not created: {review.error_text(exc)}")
        return
    bar.empty()
    st.session_state["review_created"] = study_id
    st.rerun()


with state.guard("the Review page"):  # a database failure is a message, never a traceback
    if view.mode == "answer":
        answer_view(view.study)
    elif view.mode == review.RESULTS:
        results_view(view.study)
    else:
        created = st.session_state.pop("review_created", None)
        if created is not None:
            st.session_state.pop("review_new_name", None)  # the next study starts with an empty name
            st.success(f"Study {created} created. Share its review link with the team: `{review.review_link(created)}`")
        list_view(view.problem)
