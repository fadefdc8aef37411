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
from explainers.evaluate import DEFAULT_METRICS, RANDOM, metric_column
from explainers.evaluate.verdicts import metric_title

from ..text import html
from .scales import DIVERGING

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
        Keys: ``method``, ``photos``, then for each metric measured its ``results.csv`` column (the
        mean) and ``COLUMN_ci95`` (its interval as text), then ``explain_s`` and ``kept_fraction``.
        Without ``summary["metrics"]`` (an older ``summary.json``): deletion and insertion.
    """
    def ci(stat):
        return None if stat is None or stat["ci95"] is None else f"{stat['ci95'][0]:.3f} to {stat['ci95'][1]:.3f}"

    columns = [metric_column(m) for m in summary.get("metrics") or DEFAULT_METRICS]
    rows = []
    for name, entry in summary["methods"].items():
        row: dict[str, Any] = {"method": name, "photos": entry["explain_s"]["n"]}
        for column in columns:
            stat = entry.get(column)
            row[column] = None if stat is None else stat["mean"]
            row[f"{column.removesuffix('_auc')}_ci95"] = ci(stat)
        row["explain_s"] = entry["explain_s"]["mean"]
        row["kept_fraction"] = entry["kept_fraction"]["mean"]
        rows.append(row)
    return rows


def agreement_figure(agreement: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """The agreement between metrics as a heatmap: Kendall's tau of their per-photo verdicts on two methods.

    Parameters
    ----------
    agreement : dict
        :meth:`explainers.metrics.MetricAgreement.to_dict` (``metrics``, ``tau``, ``p_values``, ``n``),
        e.g. ``summary.json``'s ``comparisons[i]["agreement"]``.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        ``M x M`` cells on a diverging scale from -1 (the metrics rank the photos oppositely) to 1 (the
        same way), each labelled with its tau; undefined cells (a metric that does not vary) are blank.
    """
    names = [html(metric_title(m)) for m in agreement["metrics"]]
    tau = [[None if v is None else float(v) for v in row] for row in agreement["tau"]]
    text = [["" if v is None else f"{v:+.2f}" for v in row] for row in tau]
    custom = [[f"p = {p:.2g}, {n} photos" if p is not None else f"{n} photos" for p, n in zip(prow, nrow)]
              for prow, nrow in zip(agreement["p_values"], agreement["n"])]
    fig = go.Figure(go.Heatmap(
        z=tau, x=names, y=names, zmin=-1, zmax=1, colorscale=DIVERGING, text=text, texttemplate="%{text}",
        customdata=custom, colorbar={"title": {"text": "Kendall's tau"}},
        hovertemplate="%{y} / %{x}: tau %{z:.2f} (%{customdata})<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    side = 140 + 48 * len(names)
    fig.update_layout(title=_title(title), height=max(320, side), margin={"l": 60, "r": 20, "t": 60, "b": 40})
    return fig


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
    """Mean seconds per explanation (its forward passes included) per method, on an axis from 0.

    A linear axis that starts at 0, so bar heights compare as the times do (0.55 s against 0.66 s looks
    like 1.2x, not 2x).

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
    fig.update_yaxes(title_text="seconds per explanation", rangemode="tozero")
    fig.update_layout(title=_title(title) or "Time per explanation", height=340, margin={"l": 60, "r": 20, "t": 60, "b": 40})
    return fig
