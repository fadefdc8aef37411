"""Methods from other packages: entry points in the group ``explainers.methods``.

A separately installed distribution adds a method by declaring, in its metadata::

    [project.entry-points."explainers.methods"]
    mycam = "mycam_plugin:MyCAM"

``import explainers`` loads every such entry point once and registers the class exactly like a
built-in (its ``source`` becomes the distribution's name). A plug-in that fails (its module does not
import, the object is not an :class:`~explainers.Explainer`, its name is taken or differs from the
entry point's) is recorded in :func:`plugin_errors` by name with its error; the others keep working.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from .methods.base import EXPLAINERS, Explainer, register_explainer

#: The entry-point group a plug-in declares.
GROUP = "explainers.methods"

log = logging.getLogger(__name__)
_ERRORS: dict[str, str] = {}


def load_plugins() -> dict[str, str]:
    """Register the methods of every installed plug-in (entry point group ``explainers.methods``).

    Safe to call again: an entry point already registered is skipped.

    Returns
    -------
    dict
        Entry point name -> one-line error, for the plug-ins that failed (also :func:`plugin_errors`).
    """
    for ep in entry_points(group=GROUP):
        if ep.name in _ERRORS or (ep.name in EXPLAINERS and EXPLAINERS[ep.name].source != "explainers"):
            continue
        package = ep.dist.name if ep.dist is not None else ep.value.split(":")[0].split(".")[0]
        try:
            _register(ep, package)
        except Exception as exc:  # any failure of foreign code: report it by name, keep the others
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            _ERRORS[ep.name] = f"plug-in '{ep.name}' ({ep.value}, from {package}) could not be loaded: {message}"
            log.warning("%s", _ERRORS[ep.name])
    return dict(_ERRORS)


def _register(ep, package: str) -> None:
    """Load ``ep`` (``module:Class``) and register the class under its name, marked with ``package``."""
    if ":" not in ep.value:
        raise ValueError(f"the entry point must be 'module:Class', got '{ep.value}'")
    before = set(EXPLAINERS)
    cls = ep.load()
    if not (isinstance(cls, type) and issubclass(cls, Explainer)):
        raise TypeError(f"{ep.value} is {cls!r}, not a subclass of explainers.Explainer")
    if cls.name != ep.name:
        raise ValueError(
            f"the entry point is named '{ep.name}' but {cls.__name__}.name is '{cls.name}'; use the same name for both"
        )
    if cls.name in EXPLAINERS and EXPLAINERS[cls.name] is not cls:
        other = EXPLAINERS[cls.name]
        raise ValueError(
            f"the name '{cls.name}' is taken by {other.__module__}.{other.__qualname__} "
            f"(from {other.source}); rename the method"
        )
    cls.source = package
    if cls.name not in before and cls.name in EXPLAINERS:
        return  # the module registered it itself with @register_explainer
    register_explainer(cls)


def plugin_errors() -> dict[str, str]:
    """Plug-ins that could not be loaded: entry point name -> what went wrong (empty when all loaded)."""
    return dict(_ERRORS)
