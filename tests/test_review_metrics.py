"""Review results beside the metrics (issue 21): explainers_team.review.preference_and_metrics."""

from __future__ import annotations

import pytest
from scipy.stats import spearmanr

from explainers_team.review import Answer, preference_and_metrics


def answer(trial: int, reviewer: str, outcome: str) -> Answer:
    # A on the left: "left" prefers A, "right" prefers B
    choice = {"A": "left", "B": "right", "tie": "equal"}[outcome]
    return Answer(trial=trial, reviewer=reviewer, left="A", choice=choice, seconds=1.0, label="cat", photo="p.jpg",
                  comment="", study=1)


def rows(trial: int, a: tuple[float, float], b: tuple[float, float]) -> list[dict]:
    return [{"trial": trial, "photo": f"p{trial}", "condition": c, "deletion_auc": d, "insertion_auc": i}
            for c, (d, i) in (("A", a), ("B", b))]


def test_people_who_follow_insertion_and_oppose_deletion():
    # trial t: people prefer A in 0, 1, 2 or 3 of 3 answers; insertion favours A more as t grows, deletion the
    # reverse (A's deletion AUC grows: worse for A)
    outcomes = [["B", "B", "B"], ["A", "B", "B"], ["A", "A", "B"], ["A", "A", "A"]]
    answers = [answer(t, f"r{k}", o) for t, per in enumerate(outcomes) for k, o in enumerate(per)]
    stored = [r for t in range(4) for r in rows(t, a=(0.1 + 0.1 * t, 0.3 + 0.1 * t), b=(0.3, 0.5))]
    found = {e["metric"]: e for e in preference_and_metrics(answers, stored)}
    assert found["insertion_auc"]["rho"] == pytest.approx(1.0) and found["deletion_auc"]["rho"] == pytest.approx(-1.0)
    assert found["insertion_auc"]["direction"] == "higher" and found["deletion_auc"]["direction"] == "lower"
    # same side, over trials where both lean: insertion leans B, B, A at t=0, 1, 3 (t=2 equal); people B, B, A
    assert found["insertion_auc"]["compared"] == 3 and found["insertion_auc"]["same_side"] == 1.0
    # against scipy on the same per-trial values (an independent reading of the definition)
    people = [0, 1 / 3, 2 / 3, 1]
    lean = [0.1 * t - 0.2 for t in range(4)]  # A - B on insertion (higher is better)
    assert found["insertion_auc"]["rho"] == pytest.approx(spearmanr(people, lean)[0])


def test_ties_and_missing_metrics_are_left_out_and_too_few_trials_say_why():
    answers = [answer(0, "r", "A"), answer(1, "r", "tie"), answer(2, "r", "B")]
    stored = rows(0, (0.1, 0.9), (0.2, 0.8)) + rows(2, (0.1, 0.9), (0.2, 0.8))  # trial 1 tied, 3 unmeasured
    for e in preference_and_metrics(answers, stored):
        assert e["trials"] == 2 and e["rho"] is None and "3 are needed" in e["reason"]
        assert e["compared"] == 2 and e["same_side"] == 0.5
