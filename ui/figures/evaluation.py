"""Plotly figures of faithfulness and batch evaluation: pure functions, no Streamlit.

They take what the library returns (:class:`explainers.metrics.Faithfulness`,
the ``summary`` dict of :func:`explainers.evaluate.summarize` or a
``summary.json``) and return a ``plotly.graph_objects.Figure``, so a compare or
Batch page only lays them out, and they can be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explainers import list_explainers
from explainers.evaluate import RANDOM

from ..text import html

#: Colours given to the registered methods in registration order (built-ins first, then plug-ins), so a
#: method keeps its colour in every figure; the random baseline is grey.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
RANDOM_COLOR = "#7f7f7f"


def method_color(name: str, index: int = 0) -> str:
    """The colour of method ``name``: by its place in the registry; ``index`` picks one for unknown names."""
    if name == RANDOM:
        return RANDOM_COLOR
    names = list_explainers()
    return PALETTE[(names.index(name) if name in names else len(names) + index) % len(PALETTE)]


def _title(title: str | None) -> str | None:
    """A caller's title as Plotly shows it: the text as given (it may name a class or a method), no tags."""
    return None if title is None else html(title)


def _curve(entry: Any, kind: str) -> tuple[list[float], list[float]]:
    """Fractions and one curve from a Faithfulness or a summary's ``curves`` dict."""
    if isinstance(entry, Mapping):
        entry = entry.get("curves", entry)
        return list(entry["fractions"]), list(entry[kind])
    return list(entry.fractions), list(getattr(entry, kind))


def faithfulness_curves_figure(curves: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """Deletion and insertion curves, one line per method, side by side.

    Parameters
    ----------
    curves : mapping of method name -> Faithfulness or dict
        A :class:`~explainers.metrics.Faithfulness` (one photo), or a summary
        entry / dict with ``fractions``, ``deletion`` and ``insertion`` lists
        (the mean curves of ``summary["methods"][name]["curves"]``).
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        x: share of pixels removed (left) or inserted (right); y: probability of
        the explained class. The legend gives each curve's area (AUC).
    """
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=("Deletion (lower area is better)", "Insertion (higher area is better)"))
    for i, (name, entry) in enumerate(curves.items()):
        for col, kind in ((1, "deletion"), (2, "insertion")):
            x, y = _curve(entry, kind)
            area = sum((y[j] + y[j + 1]) * (x[j + 1] - x[j]) for j in range(len(x) - 1)) / 2
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines+markers", name=f"{html(name)} ({kind[:3]}. AUC {area:.3f})",
                legendgroup=html(name), line={"color": method_color(name, i), "dash": "dot" if name == RANDOM else "solid"},
                marker={"size": 4},
                hovertemplate=f"{html(name)}<br>%{{x:.0%}} {'removed' if kind == 'deletion' else 'inserted'}"
                              "<br>p = %{y:.3f}<extra></extra>"),
                row=1, col=col)
    fig.update_xaxes(title_text="share of pixels", tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title_text="probability of the class", range=[0, 1.02], row=1, col=1)
    fig.update_layout(title=_title(title), height=380, margin={"l": 60, "r": 20, "t": 60, "b": 50},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def summary_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per method of a ``summary``: means and 95% intervals, for a table or a CSV.

    Returns
    -------
    list of dict
        Keys: ``method``, ``photos``, ``deletion_auc``, ``deletion_ci95``,
        ``insertion_auc``, ``insertion_ci95``, ``explain_s``, ``kept_fraction``.
    """
    def ci(stat):
        return None if stat["ci95"] is None else f"{stat['ci95'][0]:.3f} to {stat['ci95'][1]:.3f}"

    rows = []
    for name, entry in summary["methods"].items():
        rows.append({
            "method": name,
            "photos": entry["deletion_auc"]["n"],
            "deletion_auc": entry["deletion_auc"]["mean"],
            "deletion_ci95": ci(entry["deletion_auc"]),
            "insertion_auc": entry["insertion_auc"]["mean"],
            "insertion_ci95": ci(entry["insertion_auc"]),
            "explain_s": entry["explain_s"]["mean"],
            "kept_fraction": entry["kept_fraction"]["mean"],
        })
    return rows


def _error(stat: Mapping[str, Any]) -> tuple[float, float]:
    if stat["ci95"] is None or stat["mean"] is None:
        return 0.0, 0.0
    return stat["ci95"][1] - stat["mean"], stat["mean"] - stat["ci95"][0]


def auc_summary_figure(summary: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """Mean deletion and insertion AUC per method, with 95% intervals as error bars.

    Parameters
    ----------
    summary : dict
        From :func:`explainers.evaluate.summarize` or ``summary.json``.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        Two panels (deletion, insertion), one bar per method.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Deletion AUC (lower is better)",
                                                        "Insertion AUC (higher is better)"))
    names = list(summary["methods"])
    for col, key in ((1, "deletion_auc"), (2, "insertion_auc")):
        stats = [summary["methods"][n][key] for n in names]
        plus, minus = zip(*(_error(s) for s in stats)) if stats else ((), ())
        fig.add_trace(go.Bar(
            x=[html(n) for n in names], y=[s["mean"] for s in stats], showlegend=False,
            marker_color=[method_color(n, i) for i, n in enumerate(names)],
            error_y={"type": "data", "array": list(plus), "arrayminus": list(minus)},
            hovertemplate="%{x}: %{y:.3f}<extra></extra>"), row=1, col=col)
    fig.update_yaxes(range=[0, 1])
    fig.update_layout(title=_title(title), height=340, margin={"l": 50, "r": 20, "t": 60, "b": 40})
    return fig


def time_summary_figure(summary: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """Mean seconds per explanation (its forward passes included) per method, log scale.

    The ``random`` baseline costs nothing and is left out.

    Parameters
    ----------
    summary : dict
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    names = [n for n in summary["methods"] if n != RANDOM]
    stats = [summary["methods"][n]["explain_s"] for n in names]
    plus, minus = zip(*(_error(s) for s in stats)) if stats else ((), ())
    fig = go.Figure(go.Bar(
        x=[html(n) for n in names], y=[s["mean"] for s in stats],
        marker_color=[method_color(n, i) for i, n in enumerate(names)],
        error_y={"type": "data", "array": list(plus), "arrayminus": list(minus)},
        text=[f"{s['mean']:.2f} s" if s["mean"] is not None else "" for s in stats], textposition="outside",
        hovertemplate="%{x}: %{y:.3f} s<extra></extra>"))
    fig.update_yaxes(type="log", title_text="seconds per explanation")
    fig.update_layout(title=_title(title) or "Time per explanation", height=340, margin={"l": 60, "r": 20, "t": 60, "b": 40})
    return fig
