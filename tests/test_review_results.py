"""Results of a blind review study on a small synthetic answer set computed by hand, exports, faithfulness."""

from __future__ import annotations

import csv
import io
import json
import math

import plotly.graph_objects as go
import pytest
from conftest import quadrant_image

import explainers
from explainers import ParameterError
from explainers.evaluate import mean_interval
from explainers.metrics import faithfulness
from explainers import Condition
from explainers_team.review.design import default_conditions, prepare_trials
from explainers_team.review.results import (ANSWER_COLUMNS, SUMMARY_COLUMNS, Answer, answers_csv, attach_faithfulness,
                                            condition_titles, decided_answers_needed, faithfulness_summary,
                                            read_answers_csv, summarize, summary_csv, summary_json, summary_rows,
                                            tally, verdict)
from explainers_team.review.stats import wilson_interval
from ui.figures.review import breakdown_figure, faithfulness_figure, position_bias_figure, preference_figure

# (reviewer, trial, label, left, choice, seconds) -> outcome in the comment
ANSWERS = [
    ("ann", "t1", "cat", "A", "left", 2.0),        # A
    ("ann", "t2", "cat", "B", "right", 4.0),       # A
    ("ann", "t3", "cup", "A", "right", 6.0),       # B
    ("ann", "t4", "cup", "B", "right", 8.0),       # A
    ("bob", "t1", "cat", "B", "right", 1.0),       # A
    ("bob", "t2", "cat", "A", "right", 3.0),       # B
    ("bob", "t3", "cup", "B", "right", 5.0),       # A
    ("bob", "t4", "cup", "A", "cant_tell", None),  # cant_tell
    ("cy", "t1", "cat", "A", "left", 10.0),        # A
    ("cy", "t2", "cat", "B", "equal", 20.0),       # tie
    ("cy", "t3", "cup", "A", "left", 30.0),        # A
]


def answers(keep=("ann", "bob", "cy")):
    return [Answer(trial=t, reviewer=r, left=left, choice=c, seconds=s, label=label, photo=f"{t}.jpg",
                   comment="", study="s1") for r, t, label, left, c, s in ANSWERS if r in keep]


def test_outcomes_follow_sides():
    assert [a.outcome for a in answers()] == ["A", "A", "B", "A", "A", "B", "A", "cant_tell", "A", "tie", "A"]


def test_overall_preference_by_hand():
    conditions = dict(zip("AB", default_conditions()))
    s = summarize(answers(), conditions)
    assert s["answers"] == 11 and s["trials"] == 4 and s["reviewers"] == ["ann", "bob", "cy"]
    assert s["conditions"]["A"]["name"] == "CAM on efficientnet_lite0" and s["conditions"]["B"]["method"] == "secam"
    o = s["overall"]
    assert (o["A"]["count"], o["B"]["count"], o["tie"], o["cant_tell"], o["decided"]) == (7, 2, 1, 1, 9)
    assert o["A"]["share"] == pytest.approx(7 / 9) and o["B"]["share"] == pytest.approx(2 / 9)
    assert o["A"]["ci"] == pytest.approx(list(wilson_interval(7, 9)))
    low, high = o["A"]["ci"]
    assert o["B"]["ci"] == pytest.approx([1 - high, 1 - low])  # the complement
    # sign test, 7 of 9: 2 * (C(9,0) + C(9,1) + C(9,2)) / 2^9 = 92 / 512
    assert o["p_value"] == 92 / 512
    # position: left answers ann 1, bob 0, cy 2 = 3; right 3 + 3 + 0 = 6; p = 2 * 130 / 512
    assert (o["position"]["left"], o["position"]["right"]) == (3, 6)
    assert o["position"]["share_left"] == pytest.approx(1 / 3)
    assert o["position"]["p_value"] == 260 / 512
    # times 1 2 3 4 5 6 8 10 20 30 (bob's cant_tell untimed): median (5 + 6) / 2
    assert o["median_seconds"] == 5.5 and o["timed"] == 10


def test_breakdowns_by_hand():
    s = summarize(answers())
    cat, cup = s["by_class"]["cat"], s["by_class"]["cup"]
    assert (cat["A"]["count"], cat["B"]["count"], cat["tie"], cat["cant_tell"]) == (4, 1, 1, 0)
    assert cat["A"]["share"] == 0.8 and cat["p_value"] == 12 / 32
    assert (cup["A"]["count"], cup["B"]["count"], cup["tie"], cup["cant_tell"]) == (3, 1, 0, 1)
    assert cup["A"]["share"] == 0.75 and cup["p_value"] == 10 / 16
    r = s["by_reviewer"]
    assert [(r[k]["A"]["count"], r[k]["B"]["count"], r[k]["tie"], r[k]["cant_tell"]) for k in ("ann", "bob", "cy")] == [
        (3, 1, 0, 0), (2, 1, 0, 1), (2, 0, 1, 0)]
    assert [r[k]["median_seconds"] for k in ("ann", "bob", "cy")] == [5.0, 3.0, 20.0]
    assert r["cy"]["position"]["share_left"] == 1.0 and r["bob"]["position"]["share_left"] == 0.0


def test_trial_majority_by_hand():
    # t1 A A A -> A; t2 A B tie -> split; t3 B A A -> A; t4 A cant_tell -> A: 3 for A, 0 for B, 1 split
    m = summarize(answers())["trial_majority"]
    assert m == {"A": 3, "B": 0, "split": 1, "p_value": 0.25}  # 2 / 2^3
    assert summarize([])["trial_majority"] == {"A": 0, "B": 0, "split": 0, "p_value": None}


def test_fleiss_agreement_by_hand():
    # rows (A, B, tie, cant_tell): t1 [3,0,0,0] P=1; t2 [1,1,1,0] P=0; t3 [2,1,0,0] P=1/3; t4 [1,0,0,1] P=0
    # P_o = 1/3; shares 7/11, 2/11, 1/11, 1/11 -> P_e = 55/121 = 5/11; kappa = (1/3 - 5/11) / (6/11) = -2/9
    a = summarize(answers())["agreement"]
    assert a["categories"] == ["A", "B", "tie", "cant_tell"] and a["trials"] == 4
    assert a["fleiss"]["observed"] == pytest.approx(1 / 3)
    assert a["fleiss"]["expected"] == pytest.approx(5 / 11)
    assert a["fleiss"]["value"] == pytest.approx(-2 / 9) and a["fleiss"]["interpretation"] == "poor"
    assert a["cohen"]["value"] is None and "exactly two reviewers" in a["cohen"]["reason"]


def test_cohen_with_exactly_two_reviewers_by_hand():
    # ann A A B A, bob A B A cant_tell: P_o = 1/4; P_e = (3*2 + 1*1) / 16 = 7/16; kappa = -1/3
    a = summarize(answers(keep=("ann", "bob")))["agreement"]
    assert a["cohen"]["value"] == pytest.approx(-1 / 3) and a["cohen"]["subjects"] == 4
    # Fleiss on the same: P_o = 1/4, P_e = (25 + 4 + 1) / 64; kappa = -7/17
    assert a["fleiss"]["value"] == pytest.approx(-7 / 17)


def test_edge_cases_no_answers_and_unanimity():
    s = summarize([])
    assert s["answers"] == 0 and s["overall"]["A"]["share"] is None and s["overall"]["A"]["ci"] is None
    assert s["overall"]["p_value"] is None and s["overall"]["median_seconds"] is None
    assert s["agreement"]["fleiss"]["value"] is None and s["agreement"]["fleiss"]["reason"]
    json.loads(summary_json(s))  # strict JSON, no NaN
    same = [Answer(t, r, "A", "left") for t in ("x", "y") for r in ("ann", "bob")]
    s = summarize(same)
    assert s["overall"]["A"]["share"] == 1.0 and s["overall"]["A"]["ci"][1] == 1.0
    assert s["agreement"]["fleiss"]["value"] is None and "same category" in s["agreement"]["fleiss"]["reason"]
    assert s["agreement"]["cohen"]["value"] is None and "same single answer" in s["agreement"]["cohen"]["reason"]
    only_ties = tally([Answer("x", "ann", "A", "equal", 1.5)])
    assert only_ties["decided"] == 0 and only_ties["A"]["share"] is None and only_ties["p_value"] is None
    assert only_ties["position"]["share_left"] is None and only_ties["median_seconds"] == 1.5


def test_bad_answers_are_refused_with_the_fix():
    with pytest.raises(ParameterError, match="twice; keep only the latest"):
        summarize(answers() + [Answer("t1", "ann", "A", "right")])
    with pytest.raises(ParameterError, match="2 studies"):
        summarize([Answer("t1", "ann", "A", "left", study="s1"), Answer("t1", "bob", "A", "left", study="s2")])
    with pytest.raises(ParameterError, match="choice"):
        Answer("t1", "ann", "A", "maybe")
    with pytest.raises(ParameterError, match="left"):
        Answer("t1", "ann", "secam", "left")
    with pytest.raises(ParameterError, match="seconds"):
        Answer("t1", "ann", "A", "left", seconds=-1)
    with pytest.raises(ParameterError, match="reviewer"):
        Answer("t1", "", "A", "left")
    with pytest.raises(ParameterError, match="needs trial"):
        Answer.from_dict({"reviewer": "ann", "left": "A", "choice": "left"})
    with pytest.raises(ParameterError, match="confidence"):
        summarize(answers(), confidence=1.5)


def test_dicts_are_accepted_like_answers():
    rows = [a.row() for a in answers()]
    assert summarize(rows)["overall"] == summarize(answers())["overall"]


def test_answers_csv_round_trip_with_awkward_comments():
    original = answers()
    original[0] = Answer("t1", "ann", "A", "left", 2.25, label="cat", photo="t1.jpg", study="s1",
                         comment='left one, "clearly"\nsecond line; é')
    text = answers_csv(original)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == ANSWER_COLUMNS and len(rows) == 11
    assert [r["outcome"] for r in rows] == [a.outcome for a in original]
    assert rows[7]["seconds"] == ""
    assert read_answers_csv(text) == original
    with pytest.raises(ParameterError, match="line 2: outcome"):
        read_answers_csv(text.replace("A,left,A", "A,left,B", 1))
    with pytest.raises(ParameterError, match="lacks the columns choice"):
        read_answers_csv("trial,reviewer,left\nt1,ann,A\n")
    with pytest.raises(ParameterError, match="line 3: `seconds`"):
        read_answers_csv("trial,reviewer,left,choice,seconds\nt1,ann,A,left,1\nt2,ann,A,left,soon\n")


def test_summary_json_and_csv():
    s = summarize(answers(), dict(zip("AB", default_conditions())))
    assert json.loads(summary_json(s)) == json.loads(json.dumps(s))
    rows = list(csv.DictReader(io.StringIO(summary_csv(s))))
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    assert [(r["scope"], r["key"]) for r in rows] == [
        ("overall", "all"), ("class", "cat"), ("class", "cup"), ("reviewer", "ann"), ("reviewer", "bob"),
        ("reviewer", "cy"), ("trial_majority", "trials"), ("agreement", "fleiss"), ("agreement", "cohen")]
    overall = rows[0]
    assert (overall["A"], overall["B"], overall["tie"], overall["cant_tell"]) == ("7", "2", "1", "1")
    assert float(overall["share_A"]) == pytest.approx(7 / 9) and float(overall["p_value"]) == 92 / 512
    assert float(overall["share_A_low"]) == pytest.approx(wilson_interval(7, 9)[0])
    assert (rows[6]["A"], rows[6]["B"], rows[6]["tie"]) == ("3", "0", "1")
    assert float(rows[7]["kappa"]) == pytest.approx(-2 / 9) and rows[7]["note"] == "poor"
    assert rows[8]["kappa"] == "" and "exactly two" in rows[8]["note"]


def test_faithfulness_summary_by_hand():
    rows = [{"photo": "p1", "condition": "A", "deletion_auc": 0.2, "insertion_auc": 0.6},
            {"photo": "p2", "condition": "A", "deletion_auc": 0.4, "insertion_auc": 0.8},
            {"photo": "p1", "condition": "B", "deletion_auc": 0.1, "insertion_auc": 0.7},
            {"photo": "p2", "condition": "B", "deletion_auc": 0.5, "insertion_auc": 0.9}]
    f = faithfulness_summary(rows)
    assert f["A"]["photos"] == 2 and f["A"]["deletion_auc"]["mean"] == pytest.approx(0.3)
    assert f["B"]["insertion_auc"]["mean"] == pytest.approx(0.8)
    assert f["difference"]["deletion_auc"]["mean"] == pytest.approx(0.0)  # -0.1 and +0.1
    assert f["difference"]["insertion_auc"]["mean"] == pytest.approx(0.1)
    assert f["difference"]["insertion_auc"]["ci95"] is not None
    s = attach_faithfulness(summarize(answers()), rows)
    assert s["faithfulness"] == f
    faith_rows = [r for r in summary_rows(s) if r["scope"] == "faithfulness"]
    assert [r["key"] for r in faith_rows] == ["A", "B", "difference"]
    assert faith_rows[1]["deletion_auc"] == pytest.approx(0.3)
    with pytest.raises(ParameterError, match="condition"):
        faithfulness_summary([{"photo": "p", "condition": "cam", "deletion_auc": 0, "insertion_auc": 0}])


def test_trials_are_measured_with_their_maps_on_a_tiny_model(tiny_model):
    """A study's AUCs come from the same pass that computes its maps (evaluate_photo), for the trial's class."""
    image = quadrant_image(64, 64)
    a, b = Condition.make("tiny", "cam"), Condition.make("tiny", "secam", extra={"n_segments": 8})
    [trial] = prepare_trials([("q", image)], a, b, load={"tiny": tiny_model}, steps=4)
    target = tiny_model.forward(image).top(1)[0]
    assert trial.class_index == target and trial.label == tiny_model.labels[target]
    [cam] = explainers.get_explainer("cam").explain(tiny_model, image, targets=[target])
    expected = faithfulness(tiny_model, image, cam.saliency, target, steps=4)
    assert trial.metrics["A"]["deletion_auc"] == pytest.approx(expected.deletion_auc)
    assert trial.metrics["A"]["insertion_auc"] == pytest.approx(expected.insertion_auc)
    assert trial.metrics["A"]["kept_fraction"] is None and 0 < trial.metrics["B"]["kept_fraction"] <= 1
    [one] = prepare_trials([("q", image)], a, b, load={"tiny": tiny_model}, class_indices={"q": 1}, steps=2)
    assert one.class_index == 1 and one.metrics["A"]["steps"] == 2
    [unmeasured] = prepare_trials([("q", image)], a, b, load={"tiny": tiny_model}, measure=False)
    assert unmeasured.metrics == {}
    rows = [{"photo": "q", "condition": k, **trial.metrics[k]} for k in "AB"]
    assert faithfulness_summary(rows)["A"]["deletion_auc"] == mean_interval([expected.deletion_auc])


def test_figures_are_built_from_the_summary():
    s = attach_faithfulness(summarize(answers(), dict(zip("AB", default_conditions()))),
                            [{"photo": "p", "condition": k, "deletion_auc": 0.2, "insertion_auc": 0.5} for k in "AB"])
    fig = preference_figure(s)
    assert isinstance(fig, go.Figure) and len(fig.data) == 2
    assert fig.data[0].x[0] == pytest.approx(100 * 7 / 9)
    low, high = wilson_interval(7, 9)
    assert fig.data[0].error_x.array[0] == pytest.approx(100 * (high - 7 / 9))
    assert fig.data[0].error_x.arrayminus[0] == pytest.approx(100 * (7 / 9 - low))
    # method titles, and the numbers beside the bar (in its axis label), not on it, its error bar or the 50 % line
    assert fig.data[0].y[0] == "A: CAM<br>78% (7 of 9), 45% to 94%" and fig.data[1].y[0].startswith("B: SeCAM<br>22%")
    assert all(trace.text is None for trace in fig.data) and "p = 0.180" in fig.layout.title.text
    fig = breakdown_figure(s, by="reviewer")
    assert list(fig.data[0].y) == ["ann", "bob", "cy"] and list(fig.data[0].x) == pytest.approx([75, 200 / 3, 100])
    assert "A 2, B 1, ties 0, can't tell 1" in fig.data[0].hovertext[1]
    assert list(breakdown_figure(s, by="class").data[0].y) == ["cat", "cup"]
    with pytest.raises(ValueError, match="by"):
        breakdown_figure(s, by="photo")
    fig = position_bias_figure(s)
    assert list(fig.data[0].y) == ["all", "ann", "bob", "cy"]
    assert fig.data[0].x[0] == pytest.approx(100 / 3) and fig.data[0].x[2] == 0
    fig = faithfulness_figure(s)
    assert len(fig.data) == 2 and list(fig.data[0].y) == [0.2, 0.5]
    assert faithfulness_figure(summarize(answers())) is None
    empty = summarize([])
    for build in (preference_figure, position_bias_figure, breakdown_figure):
        assert isinstance(build(empty), go.Figure)  # no answers yet: empty figures, no error
    assert math.isclose(preference_figure(empty).data[0].x[0], 0)


# ------------------------------------------------------------------------------------------------------ verdict
def outcomes_to_answers(trials, reviewers):
    """Answers from outcomes: ``trials[i][j]`` is reviewer j's outcome on trial i (None: not answered); the
    sides alternate, so left and right are balanced and no position bias arises."""
    rows = []
    for i, outcomes in enumerate(trials):
        for j, (reviewer, outcome) in enumerate(zip(reviewers, outcomes)):
            if outcome is None:
                continue
            left = "A" if (i + j) % 2 == 0 else "B"
            choice = {"tie": "equal", "cant_tell": "cant_tell"}.get(outcome) or ("left" if outcome == left else "right")
            rows.append(Answer(f"t{i}", reviewer, left, choice))
    return rows


def cam_secam():
    return dict(zip("AB", default_conditions()))


def test_power_calculation_by_hand():
    from scipy.stats import norm
    # Cohen's h for 65 % against 50 %, then n = ((z_0.975 + z_0.8) / h)^2 = 84.54 -> 85
    h = 2 * math.asin(math.sqrt(0.65)) - 2 * math.asin(math.sqrt(0.5))
    assert decided_answers_needed() == math.ceil(((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2) == 85
    h = 2 * math.asin(math.sqrt(0.6)) - 2 * math.asin(math.sqrt(0.5))
    assert decided_answers_needed(0.1, 0.01, 0.9) == math.ceil(((norm.ppf(0.995) + norm.ppf(0.9)) / h) ** 2)
    with pytest.raises(ParameterError, match="difference"):
        decided_answers_needed(0.5)
    with pytest.raises(ParameterError, match="power"):
        decided_answers_needed(power=1)


def test_condition_titles_not_internal_names():
    # the example: `secam (compactness=10.0, n_segments=50)` reads "SeCAM"
    assert condition_titles(summarize([], cam_secam())) == {"A": "CAM", "B": "SeCAM"}
    secam = Condition.make("efficientnet_lite0", "secam")
    coarse = {"A": secam, "B": secam.replace(n_segments=100, threshold=0.5)}
    assert condition_titles(summarize([], coarse)) == {"A": "SeCAM (n segments 50, threshold 0.8)",
                                                       "B": "SeCAM (n segments 100, threshold 0.5)"}
    models = {"A": Condition.make("efficientnet_lite0", "cam"), "B": Condition.make("resnet50", "cam")}
    assert condition_titles(summarize([], models)) == {"A": "CAM on efficientnet_lite0", "B": "CAM on resnet50"}
    assert condition_titles(summarize([], {"A": secam, "B": secam})) == {"A": "SeCAM (A)", "B": "SeCAM (B)"}
    assert condition_titles(summarize([])) == {"A": "condition A", "B": "condition B"}


def test_verdict_clear_preference():
    # 9 trials where all three reviewers chose SeCAM, one where two chose CAM, one with a tie and a can't tell:
    # B 29, A 2 of 31 decided; one vote per trial: B 10, A 1 (p = 2 * 12 / 2^11 = 0.0117)
    trials = [["B", "B", "B"]] * 9 + [["A", "A", "B"], ["tie", "B", "cant_tell"]]
    s = summarize(outcomes_to_answers(trials, ("ann", "bob", "cy")), cam_secam())
    v = verdict(s)
    assert v.sentence == ("Reviewers prefer SeCAM to CAM: chosen in 94 % of 31 decided answers (79-98 %), p < 0.001; "
                          "1 tie, 1 can't tell; fair agreement between reviewers (Fleiss' kappa 0.32).")
    assert (v.conclusion, v.preferred, v.leader, v.decided, v.ties, v.cant_tell) == ("preference", "B", "B", 31, 1, 1)
    assert v.share == pytest.approx(29 / 31) and v.ci == pytest.approx(wilson_interval(29, 31))
    assert v.p_value == s["overall"]["p_value"] and v.trial_p_value == pytest.approx(24 / 2048)
    assert v.kappa == s["agreement"]["fleiss"]["value"] and v.agreement == "fair"
    assert v.more_answers is None and v.position_bias is None


def test_verdict_no_preference_says_how_many_more_answers():
    # B 7, A 3 of 10 decided, 1 tie: Wilson 40-89 %, p = 2 * 176 / 1024 = 0.34; 85 - 10 = 75 more decided
    # answers, at 10 decided in 11 answers: 82.5 -> 83 more answers
    trials = [["B", "B"], ["B", "A"], ["A", "B"], ["B", "A"], ["B", "tie"], ["B", None]]
    v = verdict(summarize(outcomes_to_answers(trials, ("ann", "bob")), cam_secam()))
    assert v.sentence == ("No reliable preference yet: SeCAM chosen in 70 % of 10 decided answers (40-89 %), p = 0.34; "
                          "about 83 more answers would detect a 15-point difference; 1 tie, 0 can't tell; "
                          "poor agreement between reviewers (Fleiss' kappa -0.48).")
    assert (v.conclusion, v.preferred, v.leader, v.more_answers) == ("no_preference", None, "B", 83)
    assert v.p_value == pytest.approx(352 / 1024)


def test_verdict_leaning_when_one_vote_per_photo_is_not_significant():
    # 9 answers for SeCAM (p = 2 / 512) but only 3 photos (one vote each: p = 2 / 8)
    v = verdict(summarize(outcomes_to_answers([["B", "B", "B"]] * 3, ("ann", "bob", "cy")), cam_secam()))
    assert v.sentence == ("Reviewers lean to SeCAM over CAM: chosen in 100 % of 9 decided answers (70-100 %), "
                          "p = 0.0039, but not yet with one vote per photo (p = 0.25); 0 ties, 0 can't tell.")
    assert (v.conclusion, v.preferred, v.agreement) == ("leaning", "B", None)  # kappa undefined: one category


def test_verdict_all_ties_one_answer_no_answers():
    ties = verdict(summarize(outcomes_to_answers([["tie", "tie"]] * 2, ("ann", "bob")), cam_secam()))
    assert ties.sentence == ("No preference yet: none of the 4 answers chose a map (4 ties); about 85 decided "
                             "answers would detect a 15-point difference between CAM and SeCAM.")
    assert (ties.conclusion, ties.leader, ties.share, ties.p_value, ties.more_answers) == (
        "no_decided_answers", None, None, None, 85)
    one = verdict(summarize(outcomes_to_answers([["B"]], ("ann",)), cam_secam()))
    assert one.sentence == ("No reliable preference yet: SeCAM chosen in 100 % of 1 decided answer (21-100 %), p = 1; "
                            "about 84 more answers would detect a 15-point difference; 0 ties, 0 can't tell.")
    assert one.conclusion == "no_preference" and one.more_answers == 84
    none = verdict(summarize([], cam_secam()))
    assert none.sentence == ("No answers yet; about 85 decided answers would detect a 15-point difference between CAM "
                             "and SeCAM.")
    assert (none.conclusion, none.answers, none.more_answers) == ("no_answers", 0, None)
    mixed = verdict(summarize(outcomes_to_answers([["tie", "cant_tell", "cant_tell"]], ("ann", "bob", "cy"))))
    assert "(1 tie and 2 can't tell)" in mixed.sentence and "condition A and condition B" in mixed.sentence


def test_verdict_position_bias_and_enough_answers():
    # one reviewer always clicks the left map, which is A and B in turn: no preference, a strong position bias
    biased = [Answer(f"t{i}", "ann", "AB"[i % 2], "left") for i in range(12)]
    v = verdict(summarize(biased, cam_secam()))
    assert v.sentence == ("No reliable preference yet: CAM and SeCAM each chosen in 50 % of 12 decided answers "
                          "(25-75 %), p = 1; about 73 more answers would detect a 15-point difference; 0 ties, "
                          "0 can't tell; position bias: the left map was chosen in 100 % of left/right answers "
                          "(p < 0.001).")
    assert v.position_bias == "left" and v.leader is None and v.share == 0.5
    even = verdict(summarize(outcomes_to_answers([["A"], ["B"]] * 50, ("ann",)), cam_secam()))
    assert even.more_answers == 0 and "100 decided answers are enough to detect a 15-point difference" in even.sentence
