"""The Review page driven without a browser (``streamlit.testing.v1.AppTest``), on a temporary data folder.

A CAM vs SeCAM study of four scikit-image photos on ``efficientnet_lite0`` is created through the page;
two reviewers answer every trial blind (their own order and sides; no method or model name in any text the
trial view draws, no sidebar model picker); answering again replaces; a fresh session (and a reopened
store, as after a server restart) resumes at the first unanswered trial; the results view shows the counts,
intervals, kappas and AUCs that the library computes from the stored answers; only the creator may close the
study, after which it takes no answers. A study whose name names a method is refused, and nothing is stored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from explainers_team.review import answers_csv, read_answers_csv, verdict  # noqa: E402
from explainers_team.store import Store, User  # noqa: E402
from explainers_team.review import studies  # noqa: E402
from ui.app import store as app_store  # noqa: E402
from ui.views import review  # noqa: E402
from conftest import shown  # noqa: E402

pytestmark = pytest.mark.slow
TIMEOUT = 300
PHOTOS = ["chelsea", "coffee", "astronaut", "rocket"]
#: Words no trial may show: method names and titles, model names (whole words, any case).
FORBIDDEN = ["cam", "secam", "gradcam", "Grad-CAM", "lime", "efficientnet_lite0", "EfficientNet-Lite0"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Every test gets its own empty workspace database."""
    monkeypatch.setenv("EXPLAINERS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EXPLAINERS_DATA_ROOTS", str(tmp_path / "data"))  # server folders: the data folder only
    monkeypatch.delenv("EXPLAINERS_DATABASE_URL", raising=False)
    monkeypatch.delenv("EXPLAINERS_ADMINS", raising=False)
    return tmp_path / "data"


def new_session(name: str | None = None, clean: bool = True, **query) -> AppTest:
    """A browser session on the Review page: the entry script first (it draws the shared sidebar), then Review."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["sample"] = "chelsea"
    if name is not None:
        at.session_state["_identity_name"] = name
    at.run()
    at.switch_page("pages/review.py")
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.run()
    if clean:
        assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [shown(e.value) for e in at.error]


def page_text(at: AppTest) -> str:
    """Every text the run drew (titles, markdown, captions, labels, alerts, widget labels and values)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "success", "warning",
                 "error", "metric"):
        for element in at.get(kind):
            parts.append(str(getattr(element, "value", "")) + " " + str(getattr(element, "label", "")))
    for kind in ("button", "text_area", "text_input", "toggle", "selectbox", "radio", "multiselect", "progress"):
        for element in at.get(kind):
            parts.append(json.dumps(str(element.proto)))
    return shown("\n".join(parts))


def create_study(at: AppTest, name: str = "Pets and things", steps: int = 5) -> AppTest:
    at.text_input(key="review_new_name").input(name)
    at.multiselect(key="review_samples").set_value(PHOTOS)
    at.number_input(key="review_steps").set_value(steps)
    at.button(key="review_create").click()
    return at.run()


def answer(at: AppTest, choice: str, comment: str = "") -> AppTest:
    if comment:
        next(t for t in at.text_area if t.key.startswith("review_comment_")).input(comment)
    at.button(key=f"review_choice_{choice}").click()
    return at.run()


def test_create_answer_results(data_dir):
    at = new_session()
    at.text_input(key="reviewer_input").input("Ann")
    at.get("form_submit_button")[0].click()
    at.run()
    assert_clean(at)
    # A name that gives the methods away is refused, and nothing is stored.
    create_study(at, name="CAM vs SeCAM, first try")
    assert any("mentions" in shown(e.value) and "'cam'" in shown(e.value).lower() for e in at.error), [
        shown(e.value) for e in at.error]
    store = Store(data_dir=data_dir)
    assert store.list_studies() == [] and store.list_photos() == []

    create_study(at)
    assert not at.exception, [e.value for e in at.exception]
    [study] = store.list_studies()
    assert study.name == "Pets and things" and study.n_trials == 4 and study.creator_id == "Ann"
    assert [c["method"] for c in study.conditions] == ["cam", "secam"]
    assert {c["model"] for c in study.conditions} == {"efficientnet_lite0"}
    assert any(f"Study {study.id} created" in shown(s.value) for s in at.success)
    trials = store.trials_for(study.id)
    assert len(trials) == 4 and all(len(t.metrics) == 2 for t in trials)
    for t in trials:  # both AUCs measured and stored per map
        for m in t.metrics:
            assert 0 <= m["deletion_auc"] <= 1 and 0 <= m["insertion_auc"] <= 1 and m["steps"] == 5

    # Ann answers blind: her own order; nothing drawn names a method or a model.
    ann = new_session("Ann", study=study.id)
    plan = studies.plan(store, study.id, User("Ann"))
    choices = ["left", "right", "equal", "left"]
    for i, choice in enumerate(choices):
        assert_clean(ann)
        text = page_text(ann)
        assert f"Trial {i + 1} of 4" in text and f"{i} of 4 answered" in text
        assert studies.blind_leaks(text, FORBIDDEN) == [], studies.blind_leaks(text, FORBIDDEN)
        assert not ann.sidebar.selectbox, "the sidebar's model picker names the model"
        label = store.get_trial(plan[i].trial_id).class_label
        assert f"Which map better shows why the model predicted {label}?" in text
        ann = answer(ann, choice, comment="sharper edges" if i == 0 else "")
    assert_clean(ann)
    assert "You have answered all 4 trials" in page_text(ann)
    mine = {a.trial_id: a for a in store.answers(study.id, reviewer="Ann")}
    assert [mine[p.trial_id].choice for p in plan] == choices
    assert [mine[p.trial_id].left_condition for p in plan] == [p.left_index for p in plan]
    assert mine[plan[0].trial_id].comment == "sharper edges"
    assert all(a.seconds is not None and a.seconds >= 0 for a in mine.values())
    assert sum(p.left == "A" for p in plan) == 2  # sides balanced per reviewer

    # Answering again replaces the earlier answer.
    ann.button(key="review_revisit").click()
    ann.run()
    assert "You answered this trial: *Left is better*" in page_text(ann)
    ann = answer(ann, "cant_tell")
    assert len(store.answers(study.id, reviewer="Ann")) == 4
    assert {a.trial_id: a.choice for a in store.answers(study.id, reviewer="Ann")}[plan[0].trial_id] == "cant_tell"

    # Bob answers two trials, stops; a server restart (store reopened, caches dropped) loses nothing.
    bob = new_session("Bob", study=study.id)
    bob_plan = studies.plan(store, study.id, User("Bob"))
    assert [p.trial_id for p in bob_plan] != [p.trial_id for p in plan] or \
        [p.left for p in bob_plan] != [p.left for p in plan]
    bob = answer(answer(bob, "right"), "left")
    app_store._open.clear()
    review._trial_pictures.clear()
    bob = new_session("Bob", study=study.id)
    assert "Trial 3 of 4" in page_text(bob) and "2 of 4 answered" in page_text(bob)
    bob = answer(answer(bob, "right"), "equal")
    assert len(store.answers(study.id)) == 8

    # Results: counts, intervals, kappa and the AUCs, from the library's summary of the stored answers.
    res = new_session("Bob", study=study.id, view="results")
    assert_clean(res)
    answers = studies.review_answers(store, study)
    summary = studies.study_summary(store, study, answers)
    text = page_text(res)
    assert review.md(verdict(summary).sentence) in [m.value for m in res.markdown]  # the verdict, as text
    assert verdict(summary).sentence in text and "CAM" in verdict(summary).sentence
    overall = summary["overall"]
    assert str(overall["tie"]) == next(m.value for m in res.metric if m.label == "Equally good (ties)")
    assert str(overall["cant_tell"]) == next(m.value for m in res.metric if m.label == "Can't tell")
    fleiss = summary["agreement"]["fleiss"]
    kappa = next(m.value for m in res.metric if m.label == "Fleiss' kappa")
    assert kappa == ("n/a" if fleiss["value"] is None else f"{fleiss['value']:.2f} ({fleiss['interpretation']})")
    assert next(m.value for m in res.metric if m.label == "Cohen's kappa") != ""
    table = res.table[0].value
    conditions = [shown(c) for c in table["condition"]]  # st.table renders Markdown: the cells are escaped text
    assert conditions == [f"{k}: {summary['conditions'][k]['name']}" for k in ("A", "B")]
    assert conditions[0] == "A: CAM on efficientnet_lite0"
    assert list(table["preferred"]) == [overall["A"]["count"], overall["B"]["count"]]
    ci = overall["A"]["ci"]
    assert table["95% interval"][0] == f"{100 * ci[0]:.0f}% to {100 * ci[1]:.0f}%"
    assert table["deletion AUC (lower is better)"][0] == f"{summary['faithfulness']['A']['deletion_auc']['mean']:.3f}"
    progress = res.table[1].value
    assert dict(zip(map(shown, progress["reviewer"]), progress["answered"])) == {"Ann": 4, "Bob": 4}
    assert len(res.get("plotly_chart")) == 5
    people = next(d.value for d in res.dataframe if "same side" in d.value.columns)  # people vs each metric
    decided = {a.trial for a in answers if a.choice in ("left", "right")}  # trials with a preference
    assert list(people["metric"]) == ["Deletion AUC", "Insertion AUC"]
    assert list(people["trials"]) == [len(decided)] * 2 == [e["trials"] for e in summary["preference_metrics"]]
    per_trial = next(d.value for d in res.dataframe if {"photo", "answers"} <= set(d.value.columns))
    assert list(per_trial["answers"]) == [2, 2, 2, 2] and per_trial[["A", "B", "tie", "cant_tell"]].sum().sum() == 8
    assert set(per_trial["photo"]) == {f"{n}.{'jpg' if n == 'rocket' else 'png'}" for n in PHOTOS}
    # The raw answers export is the store's answers, row for row.
    back = read_answers_csv(answers_csv(answers))
    assert sorted((a.reviewer, str(a.trial), a.choice) for a in back) == \
        sorted((a.reviewer_name, str(a.trial_id), a.choice) for a in store.answers(study.id))

    # Only the creator (or an admin) may close; a closed study takes no answers.
    assert res.get("expander") and not any(e.label == "Close the study" for e in res.get("expander"))
    owner = new_session("Ann", study=study.id, view="results")
    owner.button(key="review_close").click()
    owner.run()
    assert_clean(owner)
    assert store.get_study(study.id).is_closed
    late = new_session("Cleo", study=study.id)
    assert "This study is closed" in page_text(late)
    assert late.button(key="review_choice_left").disabled


def test_results_hidden_from_a_reviewer_who_has_not_finished(data_dir):
    at = new_session("Ann")
    create_study(at, name="Small one", steps=5)
    [study] = Store(data_dir=data_dir).list_studies()
    bob = new_session("Bob", study=study.id, view="results")
    assert_clean(bob)
    assert "would unblind you" in page_text(bob)
    assert not bob.get("plotly_chart")
    bob.button(key="review_unblind").click()
    bob.run()
    assert_clean(bob)
    assert "No answers yet" in page_text(bob)


def test_bad_links_and_missing_study(data_dir):
    at = new_session("Ann", clean=False, study="nonsense")
    assert any("not a study number" in shown(e.value) for e in at.error)
    at = new_session("Ann", clean=False, study=99)
    assert not at.exception
    assert any("no study has id 99" in shown(e.value) for e in at.error)


def test_folder_photos_stay_in_the_data_folder(data_dir, tmp_path):
    from explainers import ParameterError
    from explainers_team.roots import PathNotAllowedError, server_photos

    (data_dir / "photos-in").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(PathNotAllowedError, match="outside the folders"):
        server_photos(str(outside))
    with pytest.raises(ParameterError, match="no image files"):
        server_photos(str(data_dir / "photos-in"))
    (data_dir / "photos-in" / "b.png").write_bytes(review.sample_bytes("coffee"))
    (data_dir / "photos-in" / "a.png").write_bytes(review.sample_bytes("coffee"))
    listing = server_photos("photos-in")
    photos, notes = studies.unique_photos(studies.Photo(p.name, p.read_bytes()) for p in listing.photos)
    assert [p.name for p in photos] == ["a.png"] and "same file" in notes[0]


def test_blind_leaks_whole_words():
    words = studies.blind_words()
    assert {"cam", "secam", "Grad-CAM", "efficientnet_lite0"} <= set(words)
    assert {"cam", "Grad-CAM"} <= set(studies.blind_leaks("Grad-CAM helps", words))
    assert studies.blind_leaks("a camera and a camel", words) == []
    assert studies.blind_leaks("SECAM!", ["secam"]) == ["secam"]


def test_other_conditions_and_sources(data_dir):
    """Two methods on one model, one method on two models; photos from the store and from a data folder;
    a photo that does not decode stops the creation, names the file, and stores nothing."""
    store = Store(data_dir=data_dir)
    sha = store.put_photo(review.sample_bytes("coffee"), "my coffee.png", "Zoe")
    at = new_session("Ann")
    at.multiselect(key="review_samples").set_value([])
    stored = next(o for o in at.multiselect(key="review_stored").options if "my coffee.png" in o)
    at.multiselect(key="review_stored").set_value([stored])
    at.radio(key="review_kind").set_value("Two methods on one model")
    at.run()
    at.selectbox(key="review_method_b").set_value("gradcam")
    at.toggle(key="review_measure").set_value(False)
    at.text_input(key="review_new_name").input("Drinks")
    at.button(key="review_create").click()
    at.run()
    assert_clean(at)
    [study] = store.list_studies()
    assert [c["method"] for c in study.conditions] == ["cam", "gradcam"]
    [trial] = store.trials_for(study.id)
    assert trial.photo_sha256 == sha and trial.metrics[0] == {"condition": "A"}  # no AUC asked for

    folder = data_dir / "incoming"
    folder.mkdir()
    (folder / "rocket.jpg").write_bytes(review.sample_bytes("rocket"))
    (folder / "broken.jpg").write_bytes(b"not a photo at all")
    at.multiselect(key="review_stored").set_value([])
    at.text_input(key="review_folder").input("incoming")
    at.radio(key="review_kind").set_value("One method on two models")
    at.run()
    models = at.selectbox(key="review_model_b").options
    if len(models) < 2:
        pytest.skip("only one model has its weights offline here")
    at.selectbox(key="review_model_b").set_value(models[1])
    at.text_input(key="review_new_name").input("Rockets")
    at.button(key="review_create").click()
    at.run()
    assert any("broken.jpg" in shown(e.value) and "not created" in shown(e.value) for e in at.error), [
        shown(e.value) for e in at.error]
    assert len(store.list_studies()) == 1
    (folder / "broken.jpg").unlink()
    at.button(key="review_create").click()
    at.run()
    assert_clean(at)
    newest = store.list_studies()[0]
    assert newest.name == "Rockets" and newest.n_trials == 1
    assert [c["model"] for c in newest.conditions] == [models[0], models[1]]
    assert {c["method"] for c in newest.conditions} == {"cam"}


def test_login_identity_is_the_reviewer(monkeypatch):
    """With login configured, the signed-in user reviews (an admin stays one) and a typed name never counts."""
    from explainers_team.access import User
    from ui.app import auth, identity

    monkeypatch.setattr(auth, "auth_configured", lambda: True)
    monkeypatch.setattr(auth, "current_user", lambda: User("Ann@Example.org", "Ann A.", False))
    assert identity.current_user() == User("ann@example.org", "Ann A.")
    monkeypatch.setattr(auth, "current_user", lambda: User("boss@example.org", "Boss", True))
    assert identity.current_user().is_admin
    monkeypatch.setattr(auth, "current_user", lambda: None)
    monkeypatch.setattr(identity, "typed_name", lambda: "alice@example.org")  # a cookie, a typed name: ignored
    assert identity.current_user() is None


def test_unreachable_database_is_a_message(data_dir, monkeypatch):
    monkeypatch.setenv("EXPLAINERS_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    at = new_session("Ann", clean=False, study=1)
    assert not at.exception, [e.value for e in at.exception]
    assert any("workspace database" in shown(e.value) for e in at.error), [shown(e.value) for e in at.error]
