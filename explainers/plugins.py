"""Methods and metrics from other packages: entry points in the groups ``explainers.methods`` and ``explainers.metrics``.

A separately installed distribution adds a method or a metric by declaring, in its metadata::

    [project.entry-points."explainers.methods"]
    mycam = "mycam_plugin:MyCAM"

    [project.entry-points."explainers.metrics"]
    mymetric = "mymetric_plugin:MyMetric"

``import explainers`` loads every such entry point once and registers the class exactly like a
built-in (its ``source`` becomes the distribution's name). A plug-in that fails (its module does not
import, the object is not an :class:`~explainers.Explainer` or :class:`~explainers.metrics.Metric`,
its name is taken or differs from the entry point's) is recorded by name with its error in
:func:`plugin_errors` (methods) or :func:`metric_plugin_errors` (metrics); the others keep working.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from .methods.base import EXPLAINERS, Explainer, register_explainer
from .metrics.base import METRICS, Metric, register_metric

#: The entry-point group a method plug-in declares.
GROUP = "explainers.methods"
#: The entry-point group a metric plug-in declares.
METRICS_GROUP = "explainers.metrics"

log = logging.getLogger(__name__)
_ERRORS: dict[str, str] = {}
_METRIC_ERRORS: dict[str, str] = {}


@dataclasses.dataclass(frozen=True)
class _Kind:
    """One kind of plug-in: its entry-point group, registry, base class, register function, error record, names."""

    group: str
    registry: dict[str, Any]
    base: type
    register: Callable[[Any], Any]
    errors: dict[str, str]
    word: str
    base_name: str


_METHODS = _Kind(GROUP, EXPLAINERS, Explainer, register_explainer, _ERRORS, "method", "explainers.Explainer")
_METRICS = _Kind(METRICS_GROUP, METRICS, Metric, register_metric, _METRIC_ERRORS, "metric", "explainers.metrics.Metric")


def load_plugins() -> dict[str, str]:
    """Register the methods of every installed plug-in (entry point group ``explainers.methods``).

    Safe to call again: an entry point already registered is skipped.

    Returns
    -------
    dict
        Entry point name -> one-line error, for the plug-ins that failed (also :func:`plugin_errors`).
    """
    return _load(_METHODS)


def load_metric_plugins() -> dict[str, str]:
    """Register the metrics of every installed plug-in (entry point group ``explainers.metrics``).

    Safe to call again: an entry point already registered is skipped.

    Returns
    -------
    dict
        Entry point name -> one-line error, for the plug-ins that failed (also :func:`metric_plugin_errors`).
    """
    return _load(_METRICS)


def _load(kind: _Kind) -> dict[str, str]:
    """Load and register every entry point of ``kind.group``, recording failures by name."""
    for ep in entry_points(group=kind.group):
        if ep.name in kind.errors or (ep.name in kind.registry and kind.registry[ep.name].source != "explainers"):
            continue
        package = ep.dist.name if ep.dist is not None else ep.value.split(":")[0].split(".")[0]
        try:
            _register(kind, ep, package)
        except Exception as exc:  # any failure of foreign code: report it by name, keep the others
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            kind.errors[ep.name] = f"plug-in '{ep.name}' ({ep.value}, from {package}) could not be loaded: {message}"
            log.warning("%s", kind.errors[ep.name])
    return dict(kind.errors)


def _register(kind: _Kind, ep, package: str) -> None:
    """Load ``ep`` (``module:Class``) and register the class under its name, marked with ``package``."""
    if ":" not in ep.value:
        raise ValueError(f"the entry point must be 'module:Class', got '{ep.value}'")
    before = set(kind.registry)
    cls: Any = ep.load()
    if not _is_subclass(cls, kind.base):
        raise TypeError(f"{ep.value} is {cls!r}, not a subclass of {kind.base_name}")
    if cls.name != ep.name:
        raise ValueError(
            f"the entry point is named '{ep.name}' but {cls.__name__}.name is '{cls.name}'; use the same name for both"
        )
    if cls.name in kind.registry and kind.registry[cls.name] is not cls:
        other = kind.registry[cls.name]
        raise ValueError(
            f"the name '{cls.name}' is taken by {other.__module__}.{other.__qualname__} "
            f"(from {other.source}); rename the {kind.word}"
        )
    cls.source = package
    if cls.name not in before and cls.name in kind.registry:
        return  # the module registered it itself with its register decorator
    kind.register(cls)


def _is_subclass(obj: Any, base: type) -> bool:
    """``obj`` is a class derived from ``base`` (a function, so the type checker keeps ``obj`` as loaded)."""
    return isinstance(obj, type) and issubclass(obj, base)


def plugin_errors() -> dict[str, str]:
    """Method plug-ins that could not be loaded: entry point name -> what went wrong (empty when all loaded)."""
    return dict(_ERRORS)


def metric_plugin_errors() -> dict[str, str]:
    """Metric plug-ins that could not be loaded: entry point name -> what went wrong (empty when all loaded)."""
    return dict(_METRIC_ERRORS)
