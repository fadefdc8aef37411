"""User text stays text (issue 18, findings B and G), without a browser: the three escapers of ``ui.text`` and the
figure builders that put names, labels and titles into Plotly (which renders ``<a href>`` and a few tags).

tests/test_browser_beacon.py checks the same end to end, in Chromium, on every page and export.
"""

from __future__ import annotations

import html as std_html
import json

import numpy as np
import plotly.graph_objects as go
import pytest
from conftest import shown

from explainers_team.review.results import Answer, summarize
from ui.figures import maps
from ui.figures.evaluation import auc_summary_figure, faithfulness_curves_figure
from ui.figures.review import breakdown_figure, position_bias_figure, preference_figure
from ui.text import html, md, script_json

#: Text that would fetch, link or run if rendered, and characters each renderer treats specially.
PAYLOADS = [
    "![i](http://127.0.0.1:9/x.gif)",
    '<img src="http://127.0.0.1:9/x.gif">',
    "[x](http://127.0.0.1:9/l) <a href='http://127.0.0.1:9/a'>x</a>",
    '</script><script>fetch("//127.0.0.1:9/j")</script>',
    "=HYPERLINK(\"http://127.0.0.1:9\") **bold** _it_ `code` ~~s~~ $x^2$ :smile: :red[red] www.example.org",
    "a | b\n# heading\n- item\n> quote\r\nback\\slash & &amp; \u2028 \u2029 {label}",
]
#: What Markdown (and Streamlit's extensions) may read as markup: each must come escaped out of ``md``.
MARKUP = set("\\`*_{}[]()#+-.!<>|~$:&\"'=")
#: Tags Plotly renders (links among them) or a browser would run.
TAGS = ("<a", "<img", "<script", "</script", "<b>", "<i>", "<span", "<sup", "<sub")


@pytest.mark.parametrize("text", PAYLOADS)
def test_md_escapes_every_markup_character_and_keeps_the_text(text):
    out = md(text)
    i = 0
    while i < len(out):
        if out[i] == "\\":
            i += 2
            continue
        assert out[i] not in MARKUP, f"{out[i]!r} at {i} is not escaped in {out!r}"
        i += 1
    assert shown(out) == text.replace("\r\n", "\n")


@pytest.mark.parametrize("text", PAYLOADS)
def test_html_leaves_no_tag_and_plotly_can_decode_every_entity(text):
    out = html(text)
    assert not set("<>\"'") & set(out), out
    assert "&quot;" not in out  # Plotly shows a named &quot; as typed; it decodes numeric entities
    assert std_html.unescape(out) == text


@pytest.mark.parametrize("text", PAYLOADS)
def test_script_json_cannot_end_or_break_a_script(text):
    value = {"name": text, "list": [text]}
    out = script_json(value)
    assert not set("<>&\u2028\u2029") & set(out), out
    assert json.loads(out) == value


def _strings(value) -> list[str]:
    """Every string in a figure's JSON (titles, names, ticks, hover texts and templates, annotations)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, np.ndarray) and value.dtype.kind in "OU":
        return [s for v in value.ravel().tolist() for s in _strings(v)]
    return []


def assert_text_only(fig: go.Figure, payload: str) -> None:
    """No tag from user text in the figure, and the payload in it, escaped (so it is drawn)."""
    strings = _strings(fig.to_plotly_json())
    tags = [s for s in strings if any(t in s.lower() for t in TAGS)]
    assert not tags, tags[:3]
    assert any(html(payload) in s for s in strings), strings[:20]


PAYLOAD = '<a href="//127.0.0.1:9/a">x</a><img src="//127.0.0.1:9/i"><b>"bold"</b>'


def test_review_figures_show_reviewer_names_and_class_labels_as_text():
    answers = [Answer(trial=f"t{i}", reviewer=f"{PAYLOAD} {r}", left="A", choice=c, seconds=2.0,
                      label=f"{PAYLOAD} cat", photo="p.jpg", comment="", study="s1")
               for i, (r, c) in enumerate([("ann", "left"), ("bob", "right"), ("ann", "right")])]
    summary = summarize(answers)
    for fig in (breakdown_figure(summary, "reviewer"), breakdown_figure(summary, "class"),
                position_bias_figure(summary), preference_figure(summary, title=f"{PAYLOAD} title")):
        assert_text_only(fig, PAYLOAD)


def test_evaluation_figures_show_method_names_and_titles_as_text():
    curve = {"fractions": [0.0, 0.5, 1.0], "deletion": [0.9, 0.4, 0.1], "insertion": [0.1, 0.5, 0.9]}
    assert_text_only(faithfulness_curves_figure({PAYLOAD: curve}, title=f"Faithfulness for {PAYLOAD}"), PAYLOAD)
    stat = {"mean": 0.5, "ci95": [0.4, 0.6]}
    summary = {"methods": {PAYLOAD: {"deletion_auc": stat, "insertion_auc": stat}}}
    assert_text_only(auc_summary_figure(summary, title=PAYLOAD), PAYLOAD)


def test_map_figures_show_titles_labels_and_steps_as_text():
    photo = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    from explainers import Explanation

    saliency = np.random.default_rng(1).random((40, 60), dtype=np.float32)
    explanation = Explanation(method=PAYLOAD, model=PAYLOAD, class_index=0, label=PAYLOAD, probability=0.5,
                              logit=1.0, rank=0, saliency=saliency, class_map=saliency[::10, ::10].copy(),
                              params={}, timings={})
    panel = maps.map_panel(photo, explanation, title=f"A: CAM on {PAYLOAD}")
    assert_text_only(maps.panels_figure([panel]), PAYLOAD)
    assert_text_only(maps.contribution_figure(np.arange(5.0), n=3, label=PAYLOAD), PAYLOAD)
    assert_text_only(maps.timings_figure({f"A {PAYLOAD}": 0.1}), PAYLOAD)
