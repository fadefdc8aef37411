"""What an explainer declares about each of its parameters, once: the CLI, the dashboard and the docs read it.

Examples
--------
>>> p = Param("threshold", float, 0.8, low=0.0, high=1.0, help="keep superpixels above this x the best score")
>>> p.check(0.5)
0.5
>>> p.check(1.5)
Traceback (most recent call last):
...
explainers.errors.ParameterError: `threshold` must be in [0.0, 1.0], got 1.5
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ParameterError


#: ``Param.none_means``'s default: ``None`` is not a value of the parameter.
NOT_NONE = object()


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of an explainer.

    Parameters
    ----------
    name : str
        The keyword of ``get_explainer(name, **params)``; the CLI flag is ``--`` + name with ``-`` for ``_``.
    type : {int, float, bool, str}
        Values are coerced to it (an int is accepted for a float).
    default : Any
        The value when not given.
    low, high : float, optional
        Inclusive bounds for numbers (``low_open`` makes ``low`` exclusive).
    choices : tuple, optional
        The allowed values (for ``str`` parameters).
    help : str
        One line for ``--help``, tooltips and ``python -m explainers methods``.
    low_open : bool
        ``low`` itself is not allowed (``compactness > 0``).
    aliases : tuple of str
        Older names still accepted on the command line (``--segments`` for ``--n-segments``), not shown in help.
    none_means : Any, optional
        If given, ``None`` is accepted and stands for this value (``slic_max_side=None`` is 0).
    rule : callable, optional
        A check beyond the range: ``rule(value)`` is True when ``value`` is allowed.
    rule_text : str
        The allowed values in words when there is a ``rule`` (``0 (full resolution) or >= 64``); replaces
        :meth:`range_text`.
    """

    name: str
    type: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    help: str = ""
    low_open: bool = False
    aliases: tuple[str, ...] = ()
    none_means: Any = dataclasses.field(default=NOT_NONE, repr=False)
    rule: Callable[[Any], bool] | None = dataclasses.field(default=None, repr=False, compare=False)
    rule_text: str = ""

    @property
    def flag(self) -> str:
        """The command-line flag: ``--n-segments`` for ``n_segments``."""
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        """A value typed on the command line (or in a text box), converted to :attr:`type` and checked.

        Raises
        ------
        ParameterError
            If ``text`` is not a value of :attr:`type` or is out of range (the message says the range).
        """
        text = str(text).strip()
        if self.none_means is not NOT_NONE and text.lower() == "none":
            return self.check(None)
        value: Any
        try:
            if self.type is bool:
                lowered = text.lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(text)
                value = lowered in ("true", "1", "yes", "on")
            elif self.type in (int, float):
                value = self.type(text)
            else:
                value = text
        except ValueError:
            raise ParameterError(
                f"`{self.name}` must be {self.type.__name__} {self.range_text()}, got {text!r}"
            ) from None
        return self.check(value)

    def range_text(self) -> str:
        """The allowed values in words: ``in [0.0, 1.0]``, ``>= 2``, ``one of 'a', 'b'``."""
        if self.rule_text:
            return self.rule_text
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.type is bool:
            return "True or False"
        left = "(" if self.low_open else "["
        if self.low is not None and self.high is not None:
            return f"in {left}{self.low}, {self.high}]"
        if self.low is not None:
            return ("> " if self.low_open else ">= ") + str(self.low)
        if self.high is not None:
            return f"<= {self.high}"
        return "any " + self.type.__name__

    def check(self, value: Any) -> Any:
        """``value`` coerced to :attr:`type`; raises TypeError or ParameterError with the allowed values."""
        if value is None and self.none_means is not NOT_NONE:
            value = self.none_means
        rng, given = self.range_text(), value
        if self.type is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"`{self.name}` must be True or False, got {type(value).__name__} {value!r}")
            return bool(value)
        if self.type is str:
            if not isinstance(value, str):
                raise TypeError(f"`{self.name}` must be a string {rng}, got {type(value).__name__} {value!r}")
            if self.choices is not None and value not in self.choices:
                raise ParameterError(f"`{self.name}` must be {rng}, got {value!r}")
            return value
        if self.type is int:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                raise TypeError(f"`{self.name}` must be an int {rng}, got {type(value).__name__} {value!r}")
            value = int(value)
        else:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise TypeError(f"`{self.name}` must be a number {rng}, got {type(value).__name__} {value!r}")
            value = float(value)
            if not np.isfinite(value):
                raise ParameterError(f"`{self.name}` must be {rng}, got {given}")
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and value > self.high
        if too_low or too_high or (self.choices is not None and value not in self.choices):
            raise ParameterError(f"`{self.name}` must be {rng}, got {given}")
        if self.rule is not None and not self.rule(value):
            raise ParameterError(f"`{self.name}` must be {rng}, got {given}")
        return value
