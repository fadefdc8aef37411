"""A condition: one way to explain a photo, a registry model and a registered method with its parameters.

The one definition that Compare's two sides, a review study's A and B, and the dashboard's caches
share: two conditions made from the same choices (:meth:`Condition.make`) are equal, hash alike and
give the same maps.

Examples
--------
>>> a = Condition.make("efficientnet_lite0", "secam", shared={"n_segments": 30, "unused": 1})
>>> a.param("n_segments"), a.param("threshold")
(30, 0.8)
>>> a == Condition.from_dict(a.to_dict())
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..errors import ParameterError
from .base import EXPLAINERS, Explainer, get_explainer


def param_text(name: str, value: Any) -> str:
    """A parameter as people read it in results: ``n segments 50``, ``threshold 0.5``."""
    words = name.replace("_", " ")
    return f"{words} {value:g}" if isinstance(value, float) else f"{words} {value}"


@dataclasses.dataclass(frozen=True)
class Condition:
    """A registry model and a registered method with every one of its parameters.

    Attributes
    ----------
    model : str
        Registry name, e.g. ``"efficientnet_lite0"``.
    method : str
        Registered method name, e.g. ``"secam"``.
    params : tuple of (str, value)
        Every parameter the method declares, sorted by name (hashable: part of cache keys).
    """

    model: str
    method: str
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(
        cls,
        model: str,
        method: str,
        shared: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        server: bool = False,
    ) -> Condition:
        """The one way to build a condition: the method's defaults, then ``shared``, then ``extra``, validated.

        Parameters
        ----------
        model : str
            Registry name.
        method : str
            Registered method name.
        shared : mapping, optional
            Values several methods may share (the dashboard's superpixel settings and mask threshold); only the
            ones this method declares are taken.
        extra : mapping, optional
            This method's own values (they win over ``shared``); a name it does not declare is an error.
        server : bool
            Hold the values to a shared server's maximums too (:meth:`Explainer.check_params`).

        Raises
        ------
        ParameterError
            Unknown method (the message lists the known ones), an unknown parameter, or a value out of range.
        """
        if not isinstance(model, str) or not model.strip():
            raise ParameterError(f"a condition's model must be a registry name, got {model!r}")
        if method not in EXPLAINERS:
            raise ParameterError(f"unknown method '{method}'; pick one of {', '.join(EXPLAINERS)}")
        declared = EXPLAINERS[method].defaults
        params = dict(declared)
        params.update({k: v for k, v in (shared or {}).items() if k in declared})
        params.update(extra or {})
        checked = EXPLAINERS[method].check_params(params, server=server)  # validates, coerces, refuses unknown names
        return cls(model, method, tuple(sorted(checked.items())))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition:
        """Inverse of :meth:`to_dict` (parameters missing from ``data`` take the method's defaults).

        Raises
        ------
        ParameterError
            If ``model`` or ``method`` is missing, or as :meth:`make`.
        """
        missing = {"model", "method"} - set(data)
        if missing:
            raise ParameterError(f"a condition needs 'model' and 'method', missing {sorted(missing)}")
        return cls.make(data["model"], data["method"], extra=dict(data.get("params") or {}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"model", "method", "params": {name: value}}``."""
        return {"model": self.model, "method": self.method, "params": dict(self.params)}

    def param(self, name: str) -> Any:
        """The value of one parameter (KeyError when the method does not declare it)."""
        return dict(self.params)[name]

    def replace(self, **params: Any) -> Condition:
        """The same condition with some parameters changed (validated)."""
        return Condition.make(self.model, self.method, extra={**dict(self.params), **params})

    def explainer(self) -> Explainer:
        """The configured explainer."""
        return get_explainer(self.method, **dict(self.params))

    @property
    def title(self) -> str:
        """The method's title, e.g. ``SeCAM`` (the name itself for a method that is no longer registered)."""
        cls = EXPLAINERS.get(self.method)
        return cls.title if cls is not None else self.method

    @property
    def uses_superpixels(self) -> bool:
        """Whether the method's explanations carry superpixels."""
        cls = EXPLAINERS.get(self.method)
        return bool(cls is not None and cls.uses_superpixels)

    def label(self, with_model: bool = True) -> str:
        """``SeCAM`` or ``SeCAM on efficientnet_lite0``."""
        return f"{self.title} on {self.model}" if with_model else self.title

    def describe(self) -> str:
        """For people reading results: the title, the parameters that differ from the defaults, and the model.

        E.g. ``SeCAM (threshold 0.5) on efficientnet_lite0``.
        """
        cls = EXPLAINERS.get(self.method)
        defaults = cls.defaults if cls is not None else {}
        changed = [param_text(k, v) for k, v in self.params if defaults.get(k, object()) != v]
        detail = f" ({', '.join(changed)})" if changed else ""
        return f"{self.title}{detail} on {self.model}"
