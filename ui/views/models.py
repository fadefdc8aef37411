"""What the Models page shows about the registry and the methods, shaped for tables (no layout here).

Sizes of weights can cost a little (timm's are estimated by building the architecture on the meta
device), so they are cached per registry file and entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import streamlit as st

import explainers
from explainers.models import ModelRegistry, weights_size

from ..compute.models import model_facts
from ..text import md


@st.cache_data(ttl=300, show_spinner=False)
def facts_of(name: str) -> tuple[dict | None, str | None]:
    """The loaded model's facts, or the reason it cannot be loaded (shown in its row, not as a page error)."""
    try:
        return model_facts(name), None
    except explainers.ExplainersError as exc:
        return None, str(exc)


def weight_size(registry_path: str, name: str) -> tuple[int | None, str]:
    """Bytes of entry ``name``'s weights (None when unknown) and where the number comes from."""
    return weights_size(explainers.load_registry(registry_path).specs[name])


def size_text(size: int | None) -> str:
    """``98 MB``, ``0 MB``, or ``unknown``."""
    return "unknown" if size is None else f"{size / 1e6:,.0f} MB"


def weights_text(ok: bool, source: str, size: int | None) -> str:
    """Whether the weights are here, or what happens on first use, with the size."""
    if source == "none":
        return "random weights (for tests)"
    if ok:
        return f"here ({size_text(size)})"
    if source in ("torchvision", "timm"):
        return f"downloads on first use ({size_text(size)})"
    return "missing"


def serving_methods() -> str:
    """The methods that serve a model whose head is not GAP + linear, by title (``Grad-CAM or LIME``)."""
    titles = [cls.title for cls in explainers.EXPLAINERS.values() if not cls.requires_exact_cam]
    return " or ".join(titles) or "a gradient-based method"


def entry_text(spec, ok: bool, detail: str, registry_path: Path) -> str:
    """A registry entry's facts as a Markdown list; every value from the registry (or about it) is text."""
    size, size_source = weight_size(str(registry_path), spec.name)
    lines = [f"**Source:** {md(spec.source)}",
             f"**Input:** {spec.input_size}x{spec.input_size} px, mean {list(spec.mean)}, std {list(spec.std)}",
             f"**Classes:** {spec.num_classes} ({md(spec.labels or 'numbered')})",
             f"**Weights:** {'available offline' if ok else 'NOT available'}: {md(detail)}",
             f"**Size:** {size_text(size)} ({md(size_source)})"]
    if not spec.cam_exact:
        lines.append(f"**CAM not exact:** methods that need GAP + linear refuse it; use {md(serving_methods())}")
    if spec.description:
        lines.append(md(spec.description))
    return "\n".join(f"- {line}" for line in lines)


def facts_text(facts: Mapping[str, Any]) -> str:
    """A loaded model's facts (:func:`ui.compute.models.model_facts`) as a Markdown list."""
    return (f"- **Feature layer** {md(facts['feature_layer'])}, **classifier** {md(facts['classifier'])}, "
            f"feature map {facts['feature_shape']} (C, h, w)\n- **GAP check:** {md(facts['gap_detail'])}\n"
            f"- **Parameters:** {facts['parameters']:,} on {md(facts['device'])}")


def model_rows(registry: ModelRegistry, available: Mapping[str, tuple[bool, str]],
               facts_of: Callable[[str], tuple[dict | None, str | None]], checked: set[str]) -> list[dict[str, Any]]:
    """One row per registry entry (then one per broken entry) for the Models table."""
    rows = []
    for name, spec in registry.specs.items():
        ok, detail = available[name]
        size, size_source = weight_size(str(registry.path), name)
        facts, failure = facts_of(name) if name in checked and ok else (None, None)
        shape = facts["feature_shape"] if facts else None
        gap = ((("exact" if facts["gap_exact"] else "NOT exact") + f" (max error {facts['gap_max_error']:.1e})")
               if facts else (f"cannot load: {failure}" if failure else
                              "not loaded yet" if ok else "cannot load"))
        rows.append({
            "model": name,
            "weights offline": "yes" if ok else "no",
            "weights": weights_text(ok, spec.weights_source, size),
            "size from": size_source,
            "CAM": "exact (GAP + linear)" if spec.cam_exact else f"not exact: use {serving_methods()}",
            "GAP check": gap,
            "parameters": f"{facts['parameters'] / 1e6:.2f} M" if facts else "",
            "input size": f"{spec.input_size} px",
            "feature layer": facts["feature_layer"] if facts else (spec.feature_layer or "detected at load"),
            "feature map (h x w x C)": f"{shape[1]}x{shape[2]}x{shape[0]}" if shape else "",
            "classifier": facts["classifier"] if facts else (spec.classifier or "detected at load"),
            "source": spec.source,
            "weights detail": detail,
        })
    for name, message in registry.errors.items():
        rows.append({"model": name, "weights offline": "no", "weights": "invalid entry", "GAP check": "invalid entry", "weights detail": message})
    return rows


def method_rows() -> list[dict[str, Any]]:
    """One row per registered method (built-ins, then plug-ins), then one per plug-in that failed."""
    rows = [{"method": name, "title": cls.title, "from": cls.source,
             "head": "GAP + linear" if cls.requires_exact_cam else "any",
             "superpixels": "yes" if cls.uses_superpixels else "no",
             "parameters": ", ".join(f"{p.name}={p.default!r}" for p in cls.parameters) or "none",
             "status": "ready"}
            for name, cls in explainers.EXPLAINERS.items()]
    rows += [{"method": name, "title": "", "from": "", "head": "", "superpixels": "", "parameters": "",
              "status": f"FAILED: {message}"} for name, message in explainers.plugin_errors().items()]
    return rows
