"""Results of a blind review study: preference, agreement, position bias, times, faithfulness, exports.

Input is a list of :class:`Answer` records, one per reviewer and trial, as any
store can produce them. :func:`summarize` turns them into one JSON-ready dict;
:func:`attach_faithfulness` adds each condition's deletion and insertion AUC, as
:func:`~explainers_team.review.design.prepare_trials` measured them with the maps.

Conventions
-----------
- The **preference share** of a condition counts only decided answers (A or B):
  ties ("equally good") and "can't tell" are reported as counts beside it, not
  split between the sides. Its interval is the Wilson score interval and its
  p-value the exact two-sided sign test against 50 %.
- **Agreement** is measured on the *outcome* (A, B, tie, can't tell), not on the
  side clicked, since each reviewer saw their own sides. All four outcomes are
  categories: "can't tell" is an answer a reviewer gave, and dropping it would
  hide disagreement between one who could tell and one who could not. Fleiss'
  kappa uses every trial answered by two or more reviewers (generalised to
  unequal numbers of reviewers per trial); Cohen's kappa is reported only when
  exactly two reviewers answered, over the trials both answered.
- **Position bias** is the share of "left" among left/right answers, with the
  same interval and test; sides are balanced per reviewer, so a bias shows up
  here without favouring either condition.
- **The verdict** (:func:`verdict`) says all this in one sentence, with the methods' titles
  (:func:`condition_titles`), at the level :data:`ALPHA`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from explainers.errors import ParameterError
from explainers.evaluate import mean_interval
from explainers.files import csv_text, read_cell
from explainers.metrics import HIGHER, get_metric
from explainers.methods import Condition
from explainers.methods.condition import param_text

from .design import CONDITIONS, OUTCOMES, choice_to_outcome
from .stats import Kappa, cohen_kappa, fleiss_kappa, fleiss_table, kappa_interpretation, sign_test, wilson_interval

#: Significance level of every conclusion the verdict draws (a p-value below it is a finding).
ALPHA = 0.05
#: The preference the "more answers" estimate is sized to detect: this far from 50 % (0.15 = 65 % against 35 %) ...
DETECT_DIFFERENCE = 0.15
#: ... with this power (the chance that the sign test finds it, at :data:`ALPHA`).
POWER = 0.8

#: Columns of the raw answers CSV, in order (``outcome`` is derived from ``left`` and ``choice``).
ANSWER_COLUMNS = ("study", "trial", "photo", "label", "reviewer", "left", "choice", "outcome", "seconds", "comment")
#: Columns of the summary CSV, in order.
SUMMARY_COLUMNS = (
    "scope",
    "key",
    "answers",
    "A",
    "B",
    "tie",
    "cant_tell",
    "share_A",
    "share_A_low",
    "share_A_high",
    "p_value",
    "left",
    "right",
    "share_left",
    "share_left_low",
    "share_left_high",
    "p_left",
    "median_seconds",
    "kappa",
    "kappa_subjects",
    "deletion_auc",
    "insertion_auc",
    "note",
)


@dataclasses.dataclass(frozen=True)
class Answer:
    """One reviewer's answer to one trial.

    Attributes
    ----------
    trial : hashable
        The trial's id in the store.
    reviewer : str
        Who answered.
    left : str
        The condition that was shown on the left, ``"A"`` or ``"B"``.
    choice : str
        One of ``left``, ``right``, ``equal``, ``cant_tell``.
    seconds : float or None
        Time from showing the trial to the answer.
    label : str
        The explained class's name (for the per-class breakdown).
    photo : str
        The photo's name.
    comment : str
        The reviewer's optional comment.
    study : hashable
        The study's id.
    """

    trial: Hashable
    reviewer: str
    left: str
    choice: str
    seconds: float | None = None
    label: str = ""
    photo: str = ""
    comment: str = ""
    study: Hashable = ""

    def __post_init__(self) -> None:
        if not isinstance(self.reviewer, str) or not self.reviewer.strip():
            raise ParameterError(f"an answer needs a reviewer name, got {self.reviewer!r}")
        choice_to_outcome(self.choice, self.left)  # validates both
        if self.seconds is not None:
            if (
                isinstance(self.seconds, bool)
                or not isinstance(self.seconds, (int, float))
                or not math.isfinite(self.seconds)
                or self.seconds < 0
            ):
                raise ParameterError(f"`seconds` must be a non-negative number or None, got {self.seconds!r}")
            object.__setattr__(self, "seconds", float(self.seconds))

    @property
    def outcome(self) -> str:
        """``"A"``, ``"B"``, ``"tie"`` or ``"cant_tell"``."""
        return choice_to_outcome(self.choice, self.left)

    def row(self) -> dict[str, Any]:
        """The raw answers CSV row (:data:`ANSWER_COLUMNS`)."""
        return {
            "study": self.study,
            "trial": self.trial,
            "photo": self.photo,
            "label": self.label,
            "reviewer": self.reviewer,
            "left": self.left,
            "choice": self.choice,
            "outcome": self.outcome,
            "seconds": self.seconds,
            "comment": self.comment,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        """An answer from a mapping with (at least) ``trial``, ``reviewer``, ``left`` and ``choice``;
        other keys of :data:`ANSWER_COLUMNS` are optional and unknown keys are ignored.

        Raises
        ------
        ParameterError
            If a required key is missing or a value is invalid.
        """
        missing = [k for k in ("trial", "reviewer", "left", "choice") if k not in data]
        if missing:
            raise ParameterError(f"an answer needs {', '.join(missing)}")
        seconds = data.get("seconds")
        if isinstance(seconds, str):
            try:
                seconds = float(seconds) if seconds.strip() else None
            except ValueError:
                raise ParameterError(f"`seconds` must be a number, got {seconds!r}") from None
        return cls(
            trial=data["trial"],
            reviewer=data["reviewer"],
            left=data["left"],
            choice=data["choice"],
            seconds=seconds,
            label=data.get("label") or "",
            photo=data.get("photo") or "",
            comment=data.get("comment") or "",
            study=data.get("study", ""),
        )


def _clean(x: Any) -> Any:
    """``nan`` -> None, numpy scalars -> Python, recursively (JSON-ready)."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def _proportion(successes: int, n: int, confidence: float) -> dict[str, Any]:
    low, high = wilson_interval(successes, n, confidence)
    return {"count": successes, "share": successes / n if n else None, "ci": None if n == 0 else [low, high]}


def tally(answers: Sequence[Answer], confidence: float = 0.95) -> dict[str, Any]:
    """Preference, position and time of a group of answers (all, one class, one reviewer).

    Parameters
    ----------
    answers : sequence of Answer
    confidence : float
        Of the Wilson intervals, in (0, 1).

    Returns
    -------
    dict
        ``answers`` (count); ``A`` and ``B``: ``{"count", "share", "ci"}`` with
        the share of decided answers (ties and can't tell excluded) and its
        Wilson interval (None without decided answers); ``decided``, ``tie``,
        ``cant_tell`` (counts); ``p_value``: the two-sided sign test of A
        against B (None without decided answers); ``position``: ``{"left",
        "right", "share_left", "ci", "p_value"}`` over left/right answers;
        ``median_seconds`` and ``timed`` (answers with a time).
    """
    outcomes = [a.outcome for a in answers]
    wins = {o: outcomes.count(o) for o in OUTCOMES}
    decided = wins["A"] + wins["B"]
    left = sum(a.choice == "left" for a in answers)
    right = sum(a.choice == "right" for a in answers)
    side = _proportion(left, left + right, confidence)
    times = [a.seconds for a in answers if a.seconds is not None]
    return _clean(
        {
            "answers": len(answers),
            "A": _proportion(wins["A"], decided, confidence),
            "B": _proportion(wins["B"], decided, confidence),
            "decided": decided,
            "tie": wins["tie"],
            "cant_tell": wins["cant_tell"],
            "p_value": sign_test(wins["A"], wins["B"]),
            "position": {
                "left": left,
                "right": right,
                "share_left": side["share"],
                "ci": side["ci"],
                "p_value": sign_test(left, right),
            },
            "median_seconds": statistics.median(times) if times else None,
            "timed": len(times),
        }
    )


def check_answers(answers: Iterable[Answer | Mapping[str, Any]]) -> list[Answer]:
    """Validate answers: :class:`Answer` objects (dicts are converted), one study, one answer per reviewer and trial.

    Raises
    ------
    ParameterError
        On an invalid answer, answers from two studies, or two answers by one
        reviewer to one trial (the store must keep only the latest).
    """
    out = [a if isinstance(a, Answer) else Answer.from_dict(a) for a in answers]
    studies = {str(a.study) for a in out if a.study not in ("", None)}
    if len(studies) > 1:
        raise ParameterError(
            f"answers come from {len(studies)} studies ({', '.join(sorted(studies))}); summarise one study at a time"
        )
    seen = set()
    for a in out:
        key = (str(a.trial), a.reviewer)
        if key in seen:
            raise ParameterError(f"reviewer '{a.reviewer}' answered trial {a.trial} twice; keep only the latest answer")
        seen.add(key)
    return out


def agreement(answers: Sequence[Answer]) -> dict[str, Any]:
    """Fleiss' kappa over trials with two or more reviewers; Cohen's kappa when there are exactly two reviewers.

    Returns
    -------
    dict
        ``categories`` (the outcomes), ``trials`` (with two or more answers),
        ``fleiss`` and ``cohen``: :meth:`Kappa.to_dict` (``value`` None with a
        ``reason`` when undefined or not applicable).
    """
    by_trial: dict[str, dict[str, str]] = defaultdict(dict)
    for a in answers:
        by_trial[str(a.trial)][a.reviewer] = a.outcome
    shared = [t for t in by_trial.values() if len(t) >= 2]
    fleiss = fleiss_kappa(fleiss_table([list(t.values()) for t in shared], OUTCOMES))
    reviewers = sorted({a.reviewer for a in answers})
    if len(reviewers) == 2:
        both = [t for t in by_trial.values() if len(t) == 2]
        cohen = cohen_kappa([t[reviewers[0]] for t in both], [t[reviewers[1]] for t in both])
    else:
        cohen = Kappa(
            math.nan,
            math.nan,
            math.nan,
            0,
            f"Cohen's kappa needs exactly two reviewers; there are {len(reviewers)} (see Fleiss' kappa)",
        )
    return {"categories": list(OUTCOMES), "trials": len(shared), "fleiss": fleiss.to_dict(), "cohen": cohen.to_dict()}


def trial_majority(answers: Sequence[Answer]) -> dict[str, Any]:
    """Which condition most reviewers preferred, trial by trial: a conservative check of the overall test.

    Answers to one trial by several reviewers are not independent (they judge
    the same pair of maps), so the overall sign test, which counts every
    answer, can be optimistic. Counting each trial once, by the majority of its
    decided answers, gives a test whose unit is the photo.

    Returns
    -------
    dict
        ``A`` and ``B``: trials whose decided answers favour that condition;
        ``split``: trials with as many for A as for B (or no decided answer);
        ``p_value``: two-sided sign test of A against B trials (None without any).
    """
    per: dict[str, list[str]] = defaultdict(list)
    for a in answers:
        per[str(a.trial)].append(a.outcome)
    counts = {"A": 0, "B": 0, "split": 0}
    for outcomes in per.values():
        diff = outcomes.count("A") - outcomes.count("B")
        counts["A" if diff > 0 else "B" if diff < 0 else "split"] += 1
    return _clean({**counts, "p_value": sign_test(counts["A"], counts["B"])})


def summarize(
    answers: Iterable[Answer | Mapping[str, Any]],
    conditions: Mapping[str, Condition | Mapping[str, Any]] | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Everything the results tab shows, as one JSON-ready dict.

    Parameters
    ----------
    answers : iterable of Answer or dict
        One per reviewer and trial (see :func:`check_answers`).
    conditions : mapping ``{"A": Condition, "B": Condition}``, optional
        Named in the summary (the results are not blind).
    confidence : float
        Of every interval, in (0, 1).

    Returns
    -------
    dict
        ``confidence``; ``conditions``: ``{"A": {"model", "method", "params", "name"}, "B": ...}``;
        ``answers``, ``trials`` (answered), ``reviewers`` (sorted names);
        ``overall``: :func:`tally` of every answer; ``by_class`` and
        ``by_reviewer``: label / reviewer -> :func:`tally`; ``agreement``:
        :func:`agreement`; ``trial_majority``: :func:`trial_majority`;
        ``faithfulness``: None until :func:`attach_faithfulness`.
        Undefined numbers are None.

    Raises
    ------
    ParameterError
        On invalid answers or conditions, or ``confidence`` outside (0, 1).
    """
    answers = check_answers(answers)
    wilson_interval(0, 0, confidence)  # validates confidence before any work
    named: dict[str, Any] = {}
    for key in CONDITIONS:
        c = (conditions or {}).get(key)
        if c is None:
            named[key] = {"model": None, "method": None, "params": {}, "name": f"condition {key}"}
            continue
        c = c if isinstance(c, Condition) else Condition.from_dict(c)
        named[key] = {**c.to_dict(), "name": c.describe()}
    by_class: dict[str, list[Answer]] = defaultdict(list)
    by_reviewer: dict[str, list[Answer]] = defaultdict(list)
    for a in answers:
        by_class[a.label or "(no label)"].append(a)
        by_reviewer[a.reviewer].append(a)
    return {
        "confidence": confidence,
        "conditions": named,
        "answers": len(answers),
        "trials": len({str(a.trial) for a in answers}),
        "reviewers": sorted(by_reviewer),
        "overall": tally(answers, confidence),
        "by_class": {k: tally(v, confidence) for k, v in sorted(by_class.items())},
        "by_reviewer": {k: tally(v, confidence) for k, v in sorted(by_reviewer.items())},
        "trial_majority": trial_majority(answers),
        "agreement": agreement(answers),
        "faithfulness": None,
    }


# ----------------------------------------------------------------------------------------------------- verdict
def condition_titles(summary: Mapping[str, Any]) -> dict[str, str]:
    """Short names of A and B for people: each method's title, and only as much more as tells them apart.

    Two methods: their titles (``CAM``, ``SeCAM``, whatever their parameters), with the model
    when the models differ. One method on both sides: its title with the parameters that differ
    (``SeCAM (n segments 50)``), else with the model, else with the side (``SeCAM (A)``).

    Parameters
    ----------
    summary : dict
        From :func:`summarize` (or ``summary.json`` read back): its ``conditions``.

    Returns
    -------
    dict
        ``{"A": str, "B": str}``; ``"condition A"`` for a condition the summary does not name.
        Titles come from the methods' plug-ins: user text, to be escaped where it is shown.
    """
    conditions = summary["conditions"]
    named = {k: conditions[k] for k in CONDITIONS if conditions[k].get("method") is not None}
    titles = {k: Condition(str(c.get("model")), c["method"]).title for k, c in named.items()}
    if len(named) < 2:
        return {k: titles.get(k, f"condition {k}") for k in CONDITIONS}
    a, b = named["A"], named["B"]
    if a["method"] != b["method"]:
        if titles["A"] == titles["B"]:  # two plug-ins with one title
            titles = {k: f"{titles[k]} ({named[k]['method']})" for k in CONDITIONS}
        if a.get("model") != b.get("model"):
            titles = {k: f"{titles[k]} on {named[k].get('model')}" for k in CONDITIONS}
        return titles
    params = {k: dict(named[k].get("params") or {}) for k in CONDITIONS}
    differ = [n for n in sorted(set(params["A"]) | set(params["B"])) if params["A"].get(n) != params["B"].get(n)]
    if differ:
        return {
            k: f"{titles[k]} ({', '.join(param_text(n, params[k][n]) for n in differ if n in params[k])})"
            for k in CONDITIONS
        }
    if a.get("model") != b.get("model"):
        return {k: f"{titles[k]} on {named[k].get('model')}" for k in CONDITIONS}
    return {k: f"{titles[k]} ({k})" for k in CONDITIONS}


def decided_answers_needed(difference: float = DETECT_DIFFERENCE, alpha: float = ALPHA, power: float = POWER) -> int:
    """Decided answers a study needs to detect a preference ``difference`` away from 50 %.

    A power calculation by statsmodels (``NormalIndPower`` with ``ratio=0``, the one-sample
    test): the answers are independent, each prefers one side with probability
    ``0.5 + difference``, and the test is two-sided at level ``alpha``, on Cohen's effect size
    :math:`h = 2\\arcsin\\sqrt{0.5 + d} - 2\\arcsin\\sqrt{0.5}` (the normal approximation).
    The study's own test is the exact sign test, which is a little more conservative, and
    answers to one photo are not independent: read the result as "about".

    Parameters
    ----------
    difference : float
        In (0, 0.5): 0.15 means 65 % against 35 %.
    alpha : float
        In (0, 1).
    power : float
        In (0, 1).

    Returns
    -------
    int
        Decided answers (ties and can't tell not counted), rounded up.

    Raises
    ------
    ParameterError
        If a value is out of range.

    Examples
    --------
    >>> decided_answers_needed()
    85
    """
    for name, value, high in (("difference", difference, 0.5), ("alpha", alpha, 1.0), ("power", power, 1.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < high:
            raise ParameterError(f"`{name}` must be a number in (0, {high:g}), got {value!r}")
    effect = proportion_effectsize(0.5 + difference, 0.5)
    n = NormalIndPower().solve_power(effect_size=effect, nobs1=None, alpha=alpha, power=power, ratio=0)
    return math.ceil(float(n))


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a study's answers conclude, in one sentence, and the numbers it rests on.

    Attributes
    ----------
    sentence : str
        The conclusion and how sure it is, for people (method titles are user text: escape it).
    conclusion : str
        ``"preference"`` (both the sign test over answers and the one-vote-per-trial test are
        significant), ``"leaning"`` (only the test over answers is), ``"no_preference"``,
        ``"no_decided_answers"`` (only ties and can't tell) or ``"no_answers"``.
    preferred : str or None
        ``"A"`` or ``"B"`` when ``conclusion`` is ``"preference"`` or ``"leaning"``.
    leader : str or None
        The condition chosen more often (None on an even split or without decided answers).
    share : float or None
        The leader's share of decided answers (0.5 on an even split).
    ci : (float, float) or None
        Its interval, at the summary's confidence.
    p_value : float or None
        The sign test over every decided answer.
    trial_p_value : float or None
        The sign test with one vote per trial (:func:`trial_majority`).
    answers, decided, ties, cant_tell : int
        Counts.
    more_answers : int or None
        About how many more answers would detect a :data:`DETECT_DIFFERENCE` preference
        (:func:`decided_answers_needed`, scaled by the share of answers that decide); 0 when the
        study already has that many; None when a preference was found.
    kappa : float or None
        Fleiss' kappa, when defined.
    agreement : str or None
        Its Landis & Koch word (``"fair"``), when defined.
    position_bias : str or None
        ``"left"`` or ``"right"`` when reviewers chose one side significantly more often.
    """

    sentence: str
    conclusion: str
    preferred: str | None
    leader: str | None
    share: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    trial_p_value: float | None
    answers: int
    decided: int
    ties: int
    cant_tell: int
    more_answers: int | None
    kappa: float | None
    agreement: str | None
    position_bias: str | None


def _p_words(p: float) -> str:
    """``p = 0.75``, ``p = 0.012``, ``p < 0.001``; never a significant p written as ALPHA or more."""
    if p < 0.001:
        return "p < 0.001"
    text = f"{p:.2g}"
    return f"p < {ALPHA:g}" if p < ALPHA <= float(text) else f"p = {text}"


def _percent(x: float) -> str:
    return f"{100 * x:.0f}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def verdict(summary: Mapping[str, Any]) -> Verdict:
    """The study's conclusion in one sentence: which map reviewers prefer, and how sure that is.

    The sentence names the methods by title (:func:`condition_titles`) and says, in order: the
    conclusion with the leading condition's share of decided answers, its interval and the sign
    test's p-value; when no preference is shown, about how many more answers would detect one of
    :data:`DETECT_DIFFERENCE` (:func:`decided_answers_needed`); the ties and can't tell; the
    reviewers' agreement in words when Fleiss' kappa is defined; and the position bias when it is
    significant. A preference needs p < :data:`ALPHA` both over answers and with one vote per trial
    (answers to one photo are not independent); significant over answers only, it is a "leaning".

    Parameters
    ----------
    summary : dict
        From :func:`summarize` (or ``summary.json`` read back).

    Returns
    -------
    Verdict

    Examples
    --------
    >>> verdict(summarize([])).sentence
    'No answers yet; about 85 decided answers would detect a 15-point difference between condition A and condition B.'
    """
    titles = condition_titles(summary)
    overall = summary["overall"]
    answers, decided = int(overall["answers"]), int(overall["decided"])
    ties, cant_tell = int(overall["tie"]), int(overall["cant_tell"])
    needed = decided_answers_needed()
    points = f"{100 * DETECT_DIFFERENCE:.0f}-point difference"
    fleiss = summary["agreement"]["fleiss"]
    kappa = fleiss["value"]
    agreement = None if kappa is None else kappa_interpretation(kappa)
    position = overall["position"]
    bias = None
    if position["p_value"] is not None and position["p_value"] < ALPHA:
        bias = "left" if position["left"] > position["right"] else "right"
    p, trial_p = overall["p_value"], summary["trial_majority"]["p_value"]
    leader: str | None = None
    preferred: str | None = None
    share: float | None = None
    ci: tuple[float, float] | None = None
    more: int | None = None
    if answers == 0:
        conclusion = "no_answers"
        parts = [
            f"No answers yet; about {needed} decided answers would detect a {points} between "
            f"{titles['A']} and {titles['B']}"
        ]
    elif decided == 0:
        conclusion = "no_decided_answers"
        reasons = " and ".join(
            text for count, text in ((ties, _plural(ties, "tie")), (cant_tell, f"{cant_tell} can't tell")) if count
        )
        parts = [
            f"No preference yet: none of the {_plural(answers, 'answer')} chose a map ({reasons}); about "
            f"{needed} decided answers would detect a {points} between {titles['A']} and {titles['B']}"
        ]
        more = needed
    else:
        a_count, b_count = overall["A"]["count"], overall["B"]["count"]
        leader = None if a_count == b_count else "A" if a_count > b_count else "B"
        shown = leader or "A"
        low, high = overall[shown]["ci"]
        share, ci = overall[shown]["share"], (float(low), float(high))
        of = f"{_percent(share)} % of {_plural(decided, 'decided answer')} ({_percent(ci[0])}-{_percent(ci[1])} %)"
        if leader is None:
            chosen = f"{titles['A']} and {titles['B']} each chosen in {of}, {_p_words(p)}"
        else:
            chosen = f"{titles[leader]} chosen in {of}, {_p_words(p)}"
        if p < ALPHA and leader is not None:
            preferred, other = leader, "B" if leader == "A" else "A"
            if trial_p is not None and trial_p < ALPHA:
                conclusion = "preference"
                parts = [f"Reviewers prefer {titles[leader]} to {titles[other]}: chosen in {of}, {_p_words(p)}"]
            else:
                conclusion = "leaning"
                per_trial = "no trial decided" if trial_p is None else _p_words(trial_p)
                parts = [
                    f"Reviewers lean to {titles[leader]} over {titles[other]}: chosen in {of}, {_p_words(p)}, "
                    f"but not yet with one vote per photo ({per_trial})"
                ]
        else:
            conclusion = "no_preference"
            more_decided = max(0, needed - decided)
            more = math.ceil(more_decided * answers / decided)
            if more:
                parts = [f"No reliable preference yet: {chosen}", f"about {more} more answers would detect a {points}"]
            else:
                parts = [
                    f"No reliable preference: {chosen}",
                    f"{decided} decided answers are enough to detect a {points}, so any preference is probably smaller",
                ]
        parts.append(f"{_plural(ties, 'tie')}, {cant_tell} can't tell")
    if agreement is not None:
        parts.append(f"{agreement} agreement between reviewers (Fleiss' kappa {kappa:.2f})")
    if bias is not None:
        side_share = position["share_left"] if bias == "left" else 1 - position["share_left"]
        parts.append(
            f"position bias: the {bias} map was chosen in {_percent(side_share)} % of left/right answers "
            f"({_p_words(position['p_value'])})"
        )
    sentence = "; ".join(parts) + "."
    return Verdict(
        sentence=sentence,
        conclusion=conclusion,
        preferred=preferred,
        leader=leader,
        share=share,
        ci=ci,
        p_value=p,
        trial_p_value=trial_p,
        answers=answers,
        decided=decided,
        ties=ties,
        cant_tell=cant_tell,
        more_answers=more,
        kappa=kappa,
        agreement=agreement,
        position_bias=bias,
    )


# ------------------------------------------------------------------------------------------------ faithfulness
def faithfulness_summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean AUCs per condition, and the paired difference B - A over photos measured under both.

    Returns
    -------
    dict
        ``{"A": {"photos", "deletion_auc", "insertion_auc"}, "B": ..., "difference": {...}}``
        where each AUC entry is :func:`explainers.evaluate.mean_interval`
        (``{"n", "mean", "ci95"}``, a 95 % bootstrap interval). Lower deletion and
        higher insertion AUC mean a more faithful map.
    """
    per: dict[str, dict[str, Mapping[str, Any]]] = {k: {} for k in CONDITIONS}
    for r in rows:
        if r.get("condition") not in CONDITIONS:
            raise ParameterError(f"a faithfulness row needs condition 'A' or 'B', got {r.get('condition')!r}")
        per[r["condition"]][str(r["photo"])] = r
    out: dict[str, Any] = {}
    for key in CONDITIONS:
        mine = list(per[key].values())
        out[key] = {
            "photos": len(mine),
            **{m: mean_interval([r[m] for r in mine]) for m in ("deletion_auc", "insertion_auc")},
        }
    paired = sorted(set(per["A"]) & set(per["B"]))
    out["difference"] = {
        "photos": len(paired),
        **{
            m: mean_interval([per["B"][p][m] - per["A"][p][m] for p in paired])
            for m in ("deletion_auc", "insertion_auc")
        },
    }
    return _clean(out)


def attach_faithfulness(summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of ``summary`` with ``faithfulness`` set to :func:`faithfulness_summary` of ``rows``."""
    return {**summary, "faithfulness": faithfulness_summary(rows)}


#: The stored metrics a review compares with its answers: row key -> the registered metric whose value it is.
REVIEW_METRICS = {"deletion_auc": "deletion", "insertion_auc": "insertion"}


def preference_and_metrics(answers: Sequence[Answer], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Do the people and the metrics pick the same map? One entry per stored metric.

    Per trial, the people's side is the share of its decided answers (A or B) that prefer A; the metric's side
    is the difference between the two maps' values oriented by the metric's direction (positive: the metric
    favours A). Their Spearman correlation over the trials with both, and the share of those trials whose
    majority (not a tie) picks the map the metric favours.

    Parameters
    ----------
    answers : sequence of Answer
    rows : sequence of dict
        :func:`~explainers_team.review.studies.faithfulness_rows`: ``trial``, ``condition`` and the metrics.

    Returns
    -------
    list of dict
        ``{"metric", "title", "direction", "trials", "rho", "p_value", "same_side", "compared", "reason"}``;
        ``rho`` and ``p_value`` None (``reason`` says why) under 3 trials or when one side does not vary.
    """
    decided: dict[Hashable, list[int]] = defaultdict(list)
    for a in answers:
        outcome = choice_to_outcome(a.choice, a.left)
        if outcome in CONDITIONS:
            decided[a.trial].append(1 if outcome == "A" else 0)
    values: dict[Hashable, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for r in rows:
        if "trial" in r:
            values[r["trial"]][r["condition"]] = r
    out = []
    for key, name in REVIEW_METRICS.items():
        metric = get_metric(name)
        sign = 1.0 if metric.direction == HIGHER else -1.0
        people, metric_side = [], []
        for trial, votes in decided.items():
            pair = values.get(trial, {})
            if all(c in pair and pair[c].get(key) is not None for c in CONDITIONS):
                people.append(sum(votes) / len(votes))
                metric_side.append(sign * (float(pair["A"][key]) - float(pair["B"][key])))
        entry: dict[str, Any] = {
            "metric": key,
            "title": metric.title,
            "direction": metric.direction,
            "trials": len(people),
            "rho": None,
            "p_value": None,
            "same_side": None,
            "compared": 0,
            "reason": None,
        }
        clear = [(p, m) for p, m in zip(people, metric_side) if p != 0.5 and m != 0]
        if clear:
            entry["compared"] = len(clear)
            entry["same_side"] = sum((p > 0.5) == (m > 0) for p, m in clear) / len(clear)
        if len(people) < 3:
            entry["reason"] = f"{len(people)} trial(s) with answers and both maps measured; 3 are needed"
        elif len(set(people)) < 2 or len(set(metric_side)) < 2:
            entry["reason"] = "the people's or the metric's side is the same on every trial"
        else:
            rho, p = spearmanr(people, metric_side)
            entry["rho"], entry["p_value"] = float(rho), float(p)
        out.append(entry)
    return _clean(out)


# ----------------------------------------------------------------------------------------------------- exports
def answers_csv(answers: Iterable[Answer | Mapping[str, Any]]) -> str:
    """The raw answers as CSV text (header :data:`ANSWER_COLUMNS`), for a download.

    Written by :func:`explainers.files.csv_text`: a reviewer, comment, label or photo name that a
    spreadsheet would run as a formula starts with ``'`` (:func:`read_answers_csv` takes it off).
    """
    return csv_text((a.row() for a in check_answers(answers)), ANSWER_COLUMNS)


def read_answers_csv(text: str) -> list[Answer]:
    """Read :func:`answers_csv`'s output back (``study`` and ``trial`` come back as strings).

    Raises
    ------
    ParameterError
        If a column is missing, a row is invalid (the message names its line),
        or a row's ``outcome`` disagrees with its ``left`` and ``choice``.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("trial", "reviewer", "left", "choice") if c not in (reader.fieldnames or [])]
    if missing:
        raise ParameterError(
            f"the answers CSV lacks the columns {', '.join(missing)}; expected a header like {','.join(ANSWER_COLUMNS)}"
        )
    answers = []
    for line, cells in enumerate(reader, start=2):
        row = {k: read_cell(v) if isinstance(v, str) else v for k, v in cells.items()}
        try:
            answer = Answer.from_dict(row)
        except ParameterError as exc:
            raise ParameterError(f"answers CSV, line {line}: {exc}") from None
        if row.get("outcome") and row["outcome"] != answer.outcome:
            raise ParameterError(
                f"answers CSV, line {line}: outcome {row['outcome']!r} does not follow from "
                f"left={answer.left!r} and choice={answer.choice!r}"
            )
        answers.append(answer)
    return check_answers(answers)


def summary_json(summary: Mapping[str, Any]) -> str:
    """The summary as JSON text (undefined numbers are ``null``)."""
    return json.dumps(_clean(dict(summary)), indent=2, allow_nan=False)


def _group_row(scope: str, key: str, t: Mapping[str, Any]) -> dict[str, Any]:
    ci = t["A"]["ci"] or [None, None]
    pos = t["position"]
    side = pos["ci"] or [None, None]
    return {
        "scope": scope,
        "key": key,
        "answers": t["answers"],
        "A": t["A"]["count"],
        "B": t["B"]["count"],
        "tie": t["tie"],
        "cant_tell": t["cant_tell"],
        "share_A": t["A"]["share"],
        "share_A_low": ci[0],
        "share_A_high": ci[1],
        "p_value": t["p_value"],
        "left": pos["left"],
        "right": pos["right"],
        "share_left": pos["share_left"],
        "share_left_low": side[0],
        "share_left_high": side[1],
        "p_left": pos["p_value"],
        "median_seconds": t["median_seconds"],
    }


def summary_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The summary as flat rows (:data:`SUMMARY_COLUMNS`), for a table or :func:`summary_csv`.

    Rows: ``overall``; one ``class`` row per label; one ``reviewer`` row per
    reviewer; ``trial_majority`` (one vote per trial; ``tie`` holds the split
    trials); ``agreement`` rows ``fleiss`` and ``cohen`` (``kappa``, and the
    reason in ``note`` when undefined); ``faithfulness`` rows ``A``, ``B`` and
    ``difference`` (mean AUCs) once attached.
    """
    rows = [_group_row("overall", "all", summary["overall"])]
    rows += [_group_row("class", k, t) for k, t in summary["by_class"].items()]
    rows += [_group_row("reviewer", k, t) for k, t in summary["by_reviewer"].items()]
    m = summary["trial_majority"]
    rows.append(
        {
            "scope": "trial_majority",
            "key": "trials",
            "answers": m["A"] + m["B"] + m["split"],
            "A": m["A"],
            "B": m["B"],
            "tie": m["split"],
            "p_value": m["p_value"],
            "note": "one vote per trial, by the majority of its decided answers; tie = split trials",
        }
    )
    for name in ("fleiss", "cohen"):
        k = summary["agreement"][name]
        rows.append(
            {
                "scope": "agreement",
                "key": name,
                "kappa": k["value"],
                "kappa_subjects": k["subjects"],
                "note": k["reason"] or k["interpretation"],
            }
        )
    if summary.get("faithfulness"):
        for key in (*CONDITIONS, "difference"):
            f = summary["faithfulness"][key]
            rows.append(
                {
                    "scope": "faithfulness",
                    "key": key,
                    "deletion_auc": f["deletion_auc"]["mean"],
                    "insertion_auc": f["insertion_auc"]["mean"],
                    "note": summary["conditions"][key]["name"] if key in CONDITIONS else "B - A, paired",
                }
            )
    return [{c: r.get(c) for c in SUMMARY_COLUMNS} for r in rows]


def summary_csv(summary: Mapping[str, Any]) -> str:
    """:func:`summary_rows` as CSV text (undefined numbers are empty cells).

    Written by :func:`explainers.files.csv_text`: a class label or reviewer name in ``key`` that a
    spreadsheet would run as a formula starts with ``'``; the numbers stay numbers.
    """
    return csv_text(summary_rows(summary), SUMMARY_COLUMNS)


__all__ = [
    "ALPHA",
    "ANSWER_COLUMNS",
    "DETECT_DIFFERENCE",
    "POWER",
    "SUMMARY_COLUMNS",
    "Answer",
    "Verdict",
    "agreement",
    "answers_csv",
    "attach_faithfulness",
    "preference_and_metrics",
    "check_answers",
    "condition_titles",
    "decided_answers_needed",
    "faithfulness_summary",
    "read_answers_csv",
    "summarize",
    "summary_csv",
    "summary_json",
    "summary_rows",
    "tally",
    "trial_majority",
    "verdict",
]
