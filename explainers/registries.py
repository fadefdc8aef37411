"""What the method and metric registries share: the checks a class passes when it is registered, the look-up
by name, and the built-in names.

A registry is a plain ``dict`` from a registered name to a class whose ``name``, ``parameters`` (a
sequence of :class:`~explainers.parameters.Param`) and ``source`` (``"explainers"`` for the built-ins, the
distribution's name for a plug-in) are declared on the class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

from .errors import ParameterError
from .parameters import Param


def check_new(registry: Mapping[str, type], cls: Any, base: type, base_name: str, example: str, word: str) -> None:
    """Check a class before it is added to ``registry``.

    Parameters
    ----------
    registry : mapping
        The registered classes by name.
    cls : object
        What is being registered.
    base : type
        The class it must subclass; ``base_name`` is how messages name it (``explainers.Explainer``).
    example : str
        A valid name for the message about a bad one (``mycam``).
    word : str
        What the registry holds, for messages (``explainer``, ``metric``).

    Raises
    ------
    ValueError
        If ``cls`` is not a ``base`` subclass, its ``name`` is not a lower-case identifier, the name is
        taken, or its parameters repeat a name or have a default outside their own range.
    """
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"{cls!r} is not a subclass of {base_name}")
    cls = cast(Any, cls)  # its base declares ``name`` and ``parameters``
    if not cls.name or not cls.name.isidentifier() or cls.name != cls.name.lower():
        raise ValueError(f"{cls.__name__}.name must be a lower-case identifier such as '{example}', got {cls.name!r}")
    if cls.name in registry:
        other = registry[cls.name]
        raise ValueError(
            f"{'an' if word[0] in 'aeiou' else 'a'} {word} named '{cls.name}' is already registered "
            f" ({other.__module__}.{other.__qualname__}, from {getattr(other, 'source', '?')})"
        )
    names = [p.name for p in cls.parameters]
    if len(set(names)) != len(names):
        raise ValueError(f"{cls.__name__}: a parameter name is declared twice in {names}")
    for param in cls.parameters:
        try:
            param.check(param.default)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{cls.__name__}: the default of `{param.name}` is not allowed: {exc}") from None


def create(registry: Mapping[str, type], name: str, word: str, **params: Any) -> Any:
    """An instance of the class registered as ``name``, with ``params`` validated by its constructor.

    Raises
    ------
    ParameterError
        If ``name`` is unknown (the message lists the known names of this ``word``: "explainer", "metric").
    """
    if name not in registry:
        raise ParameterError(f"unknown {word} '{name}'; known {word}s: {', '.join(sorted(registry))}")
    return registry[name](**params)


def builtin(registry: Mapping[str, type]) -> list[str]:
    """The names registered by ``explainers`` itself (no plug-ins), in registration order."""
    return [name for name, cls in registry.items() if getattr(cls, "source", None) == "explainers"]


class Declared:
    """What a registered class (a method, a metric) shares: its declared parameters, validated on construction.

    Subclasses set ``name``, ``title`` (defaults to ``name``) and ``parameters``; ``defaults`` is derived from
    ``parameters``; ``params`` holds every parameter's value after :meth:`check_params`.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    parameters: ClassVar[Sequence[Param]] = ()
    defaults: ClassVar[Mapping[str, Any]] = {}
    source: ClassVar[str] = "explainers"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "parameters" in cls.__dict__:
            cls.defaults = {p.name: p.default for p in cls.parameters}
        if not cls.__dict__.get("title"):
            cls.title = cls.name

    def __init__(self, **params: Any) -> None:
        self.params: Mapping[str, Any] = self.check_params(params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def check_params(cls, params: Mapping[str, Any], server: bool = False) -> dict[str, Any]:
        """Every declared parameter: the defaults updated with ``params``, each validated and coerced.

        Parameters
        ----------
        params : mapping
            Some of the declared parameters.
        server : bool
            Apply the declared :attr:`explainers.Param.server_high` maximums too (the dashboard's inputs and
            links, where one visitor must not take a shared server's time or memory).

        Raises
        ------
        ParameterError, TypeError
            An unknown name, or a value out of its range (the message says the range).
        """
        unknown = sorted(set(params) - set(cls.defaults))
        if unknown:
            known = ", ".join(cls.defaults) or "none"
            raise ParameterError(f"{cls.name}: unknown parameter '{unknown[0]}'; parameters: {known}")
        merged = {**cls.defaults, **params}
        for param in cls.parameters:
            merged[param.name] = param.check(merged[param.name], server=server)
        return merged
