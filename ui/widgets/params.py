"""Inputs for methods' parameters, built from what each method declares (:class:`explainers.Param`).

Any registered method, plug-ins included, gets its inputs without an edit here. The values are
validated by the library (``get_explainer`` / ``make_explainers``), which says what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from explainers import EXPLAINERS, Param

from ..compute.explanations import SHARED_PARAMS
from ..text import md


def param_input(param: Param, value: Any, key: str, container=st, on_change: Callable[[], None] | None = None) -> Any:
    """The one input for a declared parameter, starting at ``value``: a number box, a toggle, a choice or a text box.

    Its range is the declaration's, held to the shared server's maximum (:meth:`explainers.Param.limit`); a
    stored value above it starts at the maximum.
    """
    label = param.name.replace("_", " ")
    help_text = f"{param.help} ({param.range_text(server=True)}; default {param.default!r})"
    top = param.limit(server=True)
    if top is not None and param.type in (int, float) and not isinstance(value, bool) and value > top:
        value = top
    common = {"key": key, "help": help_text, "on_change": on_change}
    if param.type is bool:
        return bool(container.toggle(label, value=bool(value), **common))
    if param.choices is not None:
        choices = list(param.choices)
        return container.selectbox(label, choices, index=choices.index(value) if value in choices else 0, **common)
    if param.type is int:
        low = None if param.low is None else int(param.low) + (1 if param.low_open else 0)
        high = None if top is None else int(top)
        return int(container.number_input(label, min_value=low, max_value=high, value=int(value), step=1, **common))
    if param.type is float:
        # an open lower bound is left to the library's check (a number box has no "greater than")
        low = None if param.low is None or param.low_open else float(param.low)
        high = None if top is None else float(top)
        return float(container.number_input(label, min_value=low, max_value=high, value=float(value), format="%g",
                                            **common))
    return container.text_input(label, value=str(value), **common)


def own_parameters(method: str, container=st) -> dict[str, Any]:
    """Inputs for ``method``'s own parameters (beyond those the session shares), in a popover; returns the values.

    The values live in the session key ``method_params`` (``{method: {parameter: value}}``), so they carry
    over from page to page and into the view's link.
    """
    cls = EXPLAINERS[method]
    own = [p for p in cls.parameters if p.name not in SHARED_PARAMS]
    values: dict[str, Any] = {}
    if not own:
        return values
    with container.popover(f"{md(cls.title)} parameters", width="stretch"):
        for param in own:
            key = f"w_param_{method}_{param.name}"
            stored = st.session_state.setdefault("method_params", {})
            current = stored.get(method, {}).get(param.name, param.default)

            def keep(param: Param = param, key: str = key) -> None:
                chosen = dict(st.session_state.get("method_params", {}))
                chosen[method] = {**chosen.get(method, {}), param.name: st.session_state[key]}
                st.session_state["method_params"] = chosen

            values[param.name] = param_input(param, current, key, st, on_change=keep)
    return values


def method_parameters(methods: Sequence[str], key_prefix: str, initial: Mapping[str, Mapping[str, Any]] | None = None,
                      columns: int = 4) -> dict[str, dict[str, Any]]:
    """An expander per chosen method that has parameters, with one input per parameter.

    Parameters
    ----------
    methods : sequence of str
        Registered method names.
    key_prefix : str
        Widget keys are ``{key_prefix}_{method}_{param}`` (so values survive reruns and page switches).
    initial : mapping of method -> {param: value}, optional
        Starting values (default: the method's defaults).
    columns : int
        Inputs per row.

    Returns
    -------
    dict
        Method -> {param: value} for the methods with parameters.
    """
    values: dict[str, dict[str, Any]] = {}
    for name in methods:
        cls = EXPLAINERS[name]
        if not cls.parameters:
            continue
        start = {**cls.defaults, **((initial or {}).get(name, {}))}
        with st.expander(f"{md(cls.title)} parameters", expanded=False):
            cols = st.columns(columns)
            values[name] = {p.name: param_input(p, start[p.name], f"{key_prefix}_{name}_{p.name}", cols[i % columns])
                            for i, p in enumerate(cls.parameters)}
    return values
