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


#: The largest seed a parameter accepts: numpy's generators take any, but a link or a browser's number input
#: holds integers exactly only up to 2**53, and 32 bits are plenty of different orders.
SEED_MAX = 2**32 - 1

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
    server_high : float, optional
        A lower maximum for a shared server (the dashboard's inputs and links): values that cost more
        time or memory than one visitor may spend. The library's ``high`` still applies everywhere else.

    Examples
    --------
    >>> n = Param("num_samples", int, 1000, low=10, high=100_000, server_high=2000)
    >>> n.check(5000)
    5000
    >>> n.check(5000, server=True)
    Traceback (most recent call last):
    ...
    explainers.errors.ParameterError: `num_samples` must be in [10, 2000] on a shared server (the library allows up to 100000), got 5000
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
    server_high: float | None = None

    @property
    def flag(self) -> str:
        """The command-line flag: ``--n-segments`` for ``n_segments``."""
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str, server: bool = False) -> Any:
        """A value typed on the command line (or in a text box), converted to :attr:`type` and checked.

        With ``server``, :attr:`server_high` applies too.

        Raises
        ------
        ParameterError
            If ``text`` is not a value of :attr:`type` or is out of range (the message says the range).
        """
        text = str(text).strip()
        if self.none_means is not NOT_NONE and text.lower() == "none":
            return self.check(None, server)
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
        return self.check(value, server)

    def limit(self, server: bool = False) -> float | None:
        """The largest allowed value: :attr:`server_high` on a shared server when declared, else :attr:`high`."""
        if server and self.server_high is not None:
            return self.server_high if self.high is None else min(self.high, self.server_high)
        return self.high

    def range_text(self, server: bool = False) -> str:
        """The allowed values in words: ``in [0.0, 1.0]``, ``>= 2``, ``one of 'a', 'b'``."""
        high = self.limit(server)
        if server and high != self.high:
            return dataclasses.replace(self, high=high, server_high=None).range_text() + " on a shared server"
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

    def check(self, value: Any, server: bool = False) -> Any:
        """``value`` coerced to :attr:`type`; raises TypeError or ParameterError with the allowed values.

        With ``server``, :attr:`server_high` applies too (see :meth:`limit`).
        """
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
        high = self.limit(server)
        if high is not None and high != self.high and value > high:
            raise ParameterError(
                f"`{self.name}` must be {self.range_text(server).removesuffix(' on a shared server')} on a shared "
                f"server (the library allows up to {self.high if self.high is not None else 'any value'}), got {given}"
            )
        return value
