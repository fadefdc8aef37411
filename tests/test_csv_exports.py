"""No CSV the project writes can run as a spreadsheet formula, and its numbers stay numbers.

Every writer goes through the one rule, :func:`explainers.files.csv_text` (OWASP's: a text cell starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``). Each export is fed the same
payloads in every text field a user can fill, and read back with Python's own CSV reader.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from store_data import item_fields
from test_review_results import answers as review_answers

sys.path.insert(0, str(ROOT))
from explainers import Explanation  # noqa: E402
from explainers.files import csv_text, read_cell, safe_cell  # noqa: E402
from explainers_team.access import User  # noqa: E402
from explainers_team.review import Answer, answers_csv, read_answers_csv, summarize, summary_csv  # noqa: E402
from ui.exports.files import superpixels_csv  # noqa: E402

#: What a visitor types into a name, comment, title or label.
PAYLOADS = ('=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "-2+3")


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def inert(cell: str, payload: str) -> bool:
    """The cell shows the payload as text: it starts with ``'``, which a spreadsheet never runs."""
    return cell == "'" + payload


# ------------------------------------------------------------------------------------------------ the one rule
def test_the_rule():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(f"{start}1") == f"'{start}1"
        assert read_cell(safe_cell(f"{start}1")) == f"{start}1"
    assert safe_cell("plain") == "plain" and safe_cell("'quoted") == "'quoted" and read_cell("'quoted") == "'quoted"
    for number in (-0.5, -3, np.float32(-0.5), np.int64(-2)):
        assert safe_cell(number) is number  # numbers are never text
    rows = table(csv_text([{"name": p, "score": -0.5} for p in PAYLOADS], ("name", "score")))
    assert all(inert(r["name"], p) for r, p in zip(rows, PAYLOADS)) and {r["score"] for r in rows} == {"-0.5"}


def test_every_csv_writer_goes_through_the_one_rule():
    """No module but ``explainers/files.py`` makes a CSV writer of its own (a second copy would drift)."""
    writers = []
    paths = [*ROOT.glob("explainers/**/*.py"), *ROOT.glob("explainers_team/**/*.py"), *ROOT.glob("ui/**/*.py"),
             *ROOT.glob("pages/*.py"), ROOT / "dashboard.py", *ROOT.glob("scripts/*.py"), *ROOT.glob("bench/*.py")]
    for path in paths:
        if path == ROOT / "explainers" / "files.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter", "to_csv", "writerow"):
                writers.append(f"{Path(path).relative_to(ROOT)}:{node.lineno} {node.attr}")
    assert not writers, writers


# --------------------------------------------------------------------------------------------------- the exports
def test_workspace_csv(store):
    for payload in PAYLOADS:
        store.save_item(**item_fields(title=payload, note=payload, class_label=payload, tags=[payload],
                                      author=User(f"{len(payload)}@example.org", payload)))
    rows = table(store.export_items_csv())
    assert len(rows) == len(PAYLOADS)
    for row in rows:
        payload = read_cell(row["title"])
        assert payload in PAYLOADS
        for column in ("title", "note", "class_label", "tags", "author_name"):
            assert inert(row[column], payload.lower() if column == "tags" else payload), (column, row[column])
        assert row["class_index"] == "285" and row["id"].isdigit()  # numbers stay numbers


def test_review_answers_csv():
    original = [Answer(trial=f"t{i}", reviewer=p, left="A", choice="left", seconds=0.5 + i, label=p, photo=p,
                       comment=p, study="s1") for i, p in enumerate(PAYLOADS)]
    text = answers_csv(original)
    for row, payload in zip(table(text), PAYLOADS, strict=True):
        for column in ("reviewer", "label", "photo", "comment"):
            assert inert(row[column], payload), (column, row[column])
        assert float(row["seconds"]) >= 0.5 and not row["seconds"].startswith("'")
    assert read_answers_csv(text) == original  # the project reads its own export back as it was


def test_review_summary_csv():
    names = dict(zip(("ann", "bob", "cy", "cat"), PAYLOADS))
    answers = [dataclasses.replace(a, reviewer=names[a.reviewer], label=names.get(a.label, "=cup()"))
               for a in review_answers()]
    rows = table(summary_csv(summarize(answers)))
    keys = {r["key"] for r in rows if r["scope"] in ("reviewer", "class")}
    assert keys == {"'" + p for p in PAYLOADS} | {"'=cup()"}
    fleiss = next(r for r in rows if r["key"] == "fleiss")
    assert fleiss["kappa"].startswith("-") and float(fleiss["kappa"]) == pytest.approx(-2 / 9)  # a negative number


def test_superpixel_scores_csv():
    segments = np.repeat(np.arange(1, 4, dtype=np.int32), 4)[None, :].repeat(4, axis=0)  # three 4x4 blocks
    scores = np.array([-0.5, 0.25, 0.75], np.float32)
    explanation = Explanation(method="secam", model="toy", class_index=1, label="=cat()", probability=0.7, logit=2.0,
                              rank=0, saliency=scores[segments - 1], class_map=np.zeros((2, 3), np.float32),
                              params={}, timings={}, segments=segments, segment_ids=np.arange(1, 4, dtype=np.int32),
                              segment_scores=scores, segment_areas=np.full(3, 16, np.int64),
                              mask=scores[segments - 1] > 0.5)
    rows = table(superpixels_csv(explanation).decode())
    assert [(r["id"], r["score"]) for r in rows] == [("3", "0.75"), ("2", "0.25"), ("1", "-0.5")]
    assert rows[2]["area_pct"] == "33.3333"
