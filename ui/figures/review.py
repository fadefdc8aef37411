"""Plotly figures of a blind review study's results: pure functions, no Streamlit.

Each builder takes the summary dict of :func:`explainers_team.review.results.summarize`
(or a ``summary.json`` read back) and returns a ``plotly.graph_objects.Figure``,
so the Review page only lays them out and the figures are tested without a browser.
Shares are drawn in percent with their Wilson intervals as error bars, and a
dashed line at 50 % (no preference, no position bias). Conditions are named by their
methods' titles (:func:`~explainers_team.review.results.condition_titles`), escaped for
Plotly's labels; numbers sit beside the plot, never on a bar, an error bar or the 50 % line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from explainers_team.review.results import condition_titles

from ..text import html
from .evaluation import method_color

_GREY = "#7f7f7f"
_SIDE_COLORS = ("#1f77b4", "#d62728")


def condition_colors(summary: Mapping[str, Any]) -> dict[str, str]:
    """One colour per condition: its method's colour (as on the Compare and Batch pages) when the
    two methods differ, else a fixed pair."""
    methods = [summary["conditions"][k].get("method") for k in ("A", "B")]
    if None not in methods and methods[0] != methods[1]:
        return {k: method_color(m, i) for i, (k, m) in enumerate(zip(("A", "B"), methods))}
    return dict(zip(("A", "B"), _SIDE_COLORS))


def _error(share: float | None, ci: list[float] | None) -> tuple[float, float]:
    """Plus and minus error-bar lengths, in percent (0 when undefined)."""
    if share is None or ci is None:
        return 0.0, 0.0
    return 100 * (ci[1] - share), 100 * (share - ci[0])


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _interval(ci: list[float] | None) -> str:
    return "n/a" if ci is None else f"{100 * ci[0]:.0f}% to {100 * ci[1]:.0f}%"


def _p(p: float | None) -> str:
    return "n/a" if p is None else (f"{p:.3f}" if p >= 0.001 else "< 0.001")


def preference_figure(summary: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """Each condition's preference share (ties and can't tell excluded) with its interval.

    Parameters
    ----------
    summary : dict
        From :func:`~explainers_team.review.results.summarize`.
    title : str, optional
        Default: the counts, ties, can't tell and the sign test's p-value.

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal bar per condition, x in percent (0 to 100).
    """
    overall = summary["overall"]
    colors = condition_colors(summary)
    titles = condition_titles(summary)
    level = round(100 * summary.get("confidence", 0.95))
    fig = go.Figure()
    for key in ("A", "B"):
        entry = overall[key]
        plus, minus = _error(entry["share"], entry["ci"])
        name = html(summary["conditions"][key]["name"])
        # the numbers go in the axis label beside the bar: inside it they sat on the error bar and the 50 % line
        label = (f"{key}: {html(titles[key])}<br>{_pct(entry['share'])} ({entry['count']} of {overall['decided']}), "
                 f"{_interval(entry['ci'])}")
        fig.add_trace(go.Bar(
            y=[label], x=[0 if entry["share"] is None else 100 * entry["share"]], orientation="h",
            name=html(titles[key]), marker_color=colors[key],
            error_x={"type": "data", "symmetric": False, "array": [plus], "arrayminus": [minus]},
            hovertext=[f"{name}<br>preferred in {entry['count']} of {overall['decided']} decided answers"
                       f"<br>{level}% interval: {_interval(entry['ci'])}"], hoverinfo="text"))
    fig.add_vline(x=50, line_dash="dash", line_color=_GREY)
    fig.update_layout(
        title=html(title) if title else (f"Preferred map ({level}% Wilson interval); ties {overall['tie']}, "
                        f"can't tell {overall['cant_tell']}, sign test p = {_p(overall['p_value'])}"),
        xaxis={"title": "share of decided answers (%)", "range": [0, 100]},
        yaxis={"autorange": "reversed", "type": "category", "automargin": True, "ticklabelstandoff": 8},
        showlegend=False, height=260,
        margin={"l": 20, "r": 20, "t": 60, "b": 40})
    return fig


def breakdown_figure(summary: Mapping[str, Any], by: str = "reviewer", title: str | None = None) -> go.Figure:
    """Share of decided answers preferring condition A, per reviewer or per class, with intervals.

    Parameters
    ----------
    summary : dict
        From :func:`~explainers_team.review.results.summarize`.
    by : str
        ``"reviewer"`` or ``"class"``.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One point per group, x in percent; hover gives the counts (A, B, ties, can't tell).

    Raises
    ------
    ValueError
        If ``by`` is neither.
    """
    if by not in ("reviewer", "class"):
        raise ValueError(f"`by` must be 'reviewer' or 'class', got {by!r}")
    groups = summary["by_reviewer" if by == "reviewer" else "by_class"]
    name_a = html(condition_titles(summary)["A"])
    keys = [html(k) for k in groups]  # reviewer names and class labels: user text
    shares, plus, minus, hover = [], [], [], []
    for key, t in zip(keys, groups.values()):
        shares.append(None if t["A"]["share"] is None else 100 * t["A"]["share"])
        p, m = _error(t["A"]["share"], t["A"]["ci"])
        plus.append(p)
        minus.append(m)
        hover.append(f"{key}<br>A {t['A']['count']}, B {t['B']['count']}, ties {t['tie']}, "
                     f"can't tell {t['cant_tell']}<br>p = {_p(t['p_value'])}")
    fig = go.Figure(go.Scatter(
        x=shares, y=keys, mode="markers", marker={"size": 11, "color": condition_colors(summary)["A"]},
        error_x={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus},
        hovertext=hover, hoverinfo="text", name=name_a))
    fig.add_vline(x=50, line_dash="dash", line_color=_GREY)
    fig.update_layout(title=html(title) if title else f"Share preferring A ({name_a}), per {by}",
                      xaxis={"title": "share of decided answers preferring A (%)", "range": [0, 100]},
                      yaxis={"autorange": "reversed", "type": "category"}, height=120 + 36 * max(1, len(keys)),
                      margin={"l": 20, "r": 20, "t": 60, "b": 40}, showlegend=False)
    return fig


def position_bias_figure(summary: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """Share of "left" among left/right answers, overall and per reviewer, with intervals.

    Returns
    -------
    plotly.graph_objects.Figure
        One point per row (``all`` first), x in percent; 50 % means no position bias.
    """
    rows = {"all": summary["overall"], **summary["by_reviewer"]}
    xs, plus, minus, hover = [], [], [], []
    for key, t in rows.items():
        pos = t["position"]
        xs.append(None if pos["share_left"] is None else 100 * pos["share_left"])
        p, m = _error(pos["share_left"], pos["ci"])
        plus.append(p)
        minus.append(m)
        hover.append(f"{html(key)}<br>left {pos['left']}, right {pos['right']}<br>p = {_p(pos['p_value'])}")
    fig = go.Figure(go.Scatter(
        x=xs, y=[html(k) for k in rows], mode="markers", marker={"size": 11, "color": _GREY},
        error_x={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus},
        hovertext=hover, hoverinfo="text"))
    fig.add_vline(x=50, line_dash="dash", line_color=_GREY)
    overall = summary["overall"]["position"]
    fig.update_layout(title=html(title) if title else f"Position bias: share of 'left' answers {_pct(overall['share_left'])} "
                                     f"(p = {_p(overall['p_value'])})",
                      xaxis={"title": "share of left/right answers that chose the left map (%)", "range": [0, 100]},
                      yaxis={"autorange": "reversed", "type": "category"}, height=120 + 36 * len(rows),
                      margin={"l": 20, "r": 20, "t": 60, "b": 40}, showlegend=False)
    return fig


def faithfulness_figure(summary: Mapping[str, Any], title: str | None = None) -> go.Figure | None:
    """Each condition's mean deletion and insertion AUC on the study's photos, with 95 % intervals.

    Returns
    -------
    plotly.graph_objects.Figure or None
        Grouped bars (deletion: lower is better; insertion: higher is better);
        None until :func:`~explainers_team.review.results.attach_faithfulness` has run.
    """
    faith = summary.get("faithfulness")
    if not faith:
        return None
    colors = condition_colors(summary)
    titles = condition_titles(summary)
    fig = go.Figure()
    for key in ("A", "B"):
        ys, plus, minus = [], [], []
        for metric in ("deletion_auc", "insertion_auc"):
            stat = faith[key][metric]
            ys.append(stat["mean"])
            ci = stat["ci95"]
            plus.append(0 if ci is None else ci[1] - stat["mean"])
            minus.append(0 if ci is None else stat["mean"] - ci[0])
        fig.add_trace(go.Bar(x=["deletion AUC (lower is better)", "insertion AUC (higher is better)"], y=ys,
                             name=f"{key}: {html(titles[key])}", marker_color=colors[key],
                             error_y={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus}))
    fig.update_layout(barmode="group", title=html(title) if title else f"Faithfulness on the study's {faith['A']['photos']} photos",
                      yaxis={"title": "AUC", "range": [0, 1]}, height=340, margin={"l": 50, "r": 20, "t": 60, "b": 40})
    return fig
