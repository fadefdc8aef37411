"""Crafted input gives a field-level message, never a whole-page error (security issue, finding H).

Each case was a page replaced by an error before: a seed of 2**80 in a LIME link (the browser cannot hold
the number), a study id of 30 nines (the database's integer overflowed), a 300-character or null-byte folder
on the Evaluate page. Now the page draws, names the field, and the rest of it still works.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from conftest import shown  # noqa: E402

pytestmark = pytest.mark.slow
TIMEOUT = 300


def app(script: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.session_state["sample"] = "chelsea"
    at.run()
    if script:
        at.switch_page(script)
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def messages(at: AppTest) -> list[str]:
    return [shown(m.value) for kind in (at.warning, at.error, at.info) for m in kind]


@pytest.mark.parametrize("params, said", [
    ({"lime": {"seed": 2**80}}, "`seed` must be in [0, 4294967295]"),
    ({"lime": {"num_samples": 100_000}}, "`num_samples` must be in [10, 2000] on a shared server"),
    ({"lime": {"batch_size": 4096}}, "`batch_size` must be in [1, 64] on a shared server"),
    ({"lime": {"n_segments": 100_000}}, "`n_segments` must be in [2, 300] on a shared server"),
])
def test_an_oversized_parameter_in_a_link_is_named_and_the_page_draws(params, said):
    at = app("pages/compare.py", page="compare", a_method="cam", b_method="lime",
             params=json.dumps(params, separators=(",", ":")))
    assert any(said in m and "link's params cannot be used" in m for m in messages(at)), messages(at)
    assert not at.error, [shown(e.value) for e in at.error]
    assert at.session_state["method_params"] in ({}, None) or "lime" not in at.session_state["method_params"] or \
        all(at.session_state["method_params"]["lime"].get(k) != v for k, v in params["lime"].items())


def test_the_number_inputs_stop_at_the_server_maximum():
    at = app("pages/compare.py", page="compare", a_method="cam", b_method="lime",
             params=json.dumps({"lime": {"num_samples": 20}}, separators=(",", ":")))
    box = at.number_input(key="w_param_lime_num_samples")
    assert box.max == 2000 and box.value == 20
    assert at.number_input(key="w_param_lime_batch_size").max == 64
    assert at.number_input(key="w_param_lime_seed").max == 2**32 - 1


def test_a_huge_study_id_is_a_message():
    at = app("pages/review.py", study="9" * 30)
    assert any("no study has id" in m or "not a study number" in m for m in messages(at)), messages(at)


@pytest.mark.parametrize("folder, said", [
    ("a" * 300, "too long"),
    ("/data/photos\x00/etc", "null"),
    ("x/" * 3000, "too long"),
])
def test_odd_folder_names_are_a_field_message_and_run_stays(folder, said):
    at = app("pages/evaluate.py")
    at.radio(key="evaluate_source").set_value("Folder on the server").run()
    at.text_input(key="evaluate_folder").set_value(folder).run()
    at.button(key="evaluate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(said in m.lower() for m in messages(at)), messages(at)
    assert at.button(key="evaluate_run")  # the Run button is still there
