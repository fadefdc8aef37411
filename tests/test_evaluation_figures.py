"""The evaluation figure builders: pure functions over Faithfulness and summary dicts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explainers.evaluate import MethodResult, summarize
from explainers.metrics import Faithfulness
from ui.figures.evaluation import (auc_summary_figure, faithfulness_curves_figure, summary_rows,
                                   time_summary_figure)


def curves(deletion, insertion) -> Faithfulness:
    f = np.linspace(0, 1, len(deletion))
    return Faithfulness(f, np.array(deletion, float), np.array(insertion, float),
                        0.0, 0.0, None, {"curves": 0.1})


def fake_summary():
    results = []
    for photo, shift in (("a.jpg", 0.0), ("b.jpg", 0.1)):
        for method, d, i, t in (("cam", 0.1, 0.6, 0.05), ("lime", 0.2, 0.5, 3.0), ("random", 0.3, 0.3, 0.0)):
            results.append(MethodResult(photo, method, 1, "x", None, 1, 0.9, None, 0.9, d + shift, i - shift,
                                        0.2 if method == "lime" else None, t, 1.0,
                                        curves([0.9, 0.5, 0.1], [0.1, 0.5, 0.9])))
    return summarize(results)


def test_curves_figure_from_faithfulness_and_from_summary():
    fig = faithfulness_curves_figure({"cam": curves([1, 0.2, 0], [0, 0.8, 1]), "random": curves([1, 0.6, 0], [0, 0.4, 1])})
    assert isinstance(fig, go.Figure) and len(fig.data) == 4
    assert "AUC 0.350" in fig.data[0].name  # (1 + 0.2)/4 + (0.2 + 0)/4
    fig = faithfulness_curves_figure(fake_summary()["methods"])
    assert len(fig.data) == 6


def test_summary_figures_and_rows():
    summary = fake_summary()
    fig = auc_summary_figure(summary)
    assert list(fig.data[0].x) == ["cam", "lime", "random"]
    assert np.allclose(fig.data[0].y, [0.15, 0.25, 0.35])
    assert list(time_summary_figure(summary).data[0].x) == ["cam", "lime"]
    rows = summary_rows(summary)
    assert rows[1]["method"] == "lime" and rows[1]["kept_fraction"] == 0.2 and rows[0]["photos"] == 2
    assert summary["accuracy"] is None and summary["photos"] == 2


def test_no_streamlit_import():
    import ui.figures.evaluation as module

    source = open(module.__file__, encoding="utf-8").read()
    assert "import streamlit" not in source and "from streamlit" not in source
