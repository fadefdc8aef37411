"""Progress and cancellation of long computations, for whoever runs them (a page, a CLI, a worker).

The library's slow loops (LIME's perturbed copies, the faithfulness curves, an evaluation's photos)
announce their work in *units* (images through the network) with :func:`plan` and report it with
:func:`advance`. Both do nothing unless the caller opened a :class:`Progress` with :func:`tracking`
in the same thread (a context variable), so the library stays free of any user interface. A caller
that wants to stop the work calls :meth:`Progress.cancel` from any thread: the next :func:`advance`
in the worker raises :class:`Cancelled`.

Examples
--------
>>> p = Progress()
>>> with tracking(p):
...     plan(10)
...     advance(4)
>>> p.done, p.total
(4, 10)
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator

from .errors import Cancelled

__all__ = ["Cancelled", "Progress", "advance", "check", "current", "plan", "tracking"]


class Progress:
    """Units of work planned and done, the time since the start, and a cancel flag.

    Parameters
    ----------
    on_advance : callable, optional
        Called as ``on_advance(progress)`` in the worker's thread after each :func:`advance`; it may
        call :meth:`cancel` (e.g. when nobody has looked at the progress for a while).

    Attributes
    ----------
    total : int
        Units announced so far with :func:`plan`.
    done : int
        Units reported with :func:`advance`.
    started : float
        ``time.perf_counter()`` at creation.
    """

    def __init__(self, on_advance: Callable[[Progress], None] | None = None) -> None:
        self.total = 0
        self.done = 0
        self.started = time.perf_counter()
        self.on_advance = on_advance
        self._cancel = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the worker to stop at its next :func:`advance` (thread-safe)."""
        self.reason = self.reason or reason
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancel.is_set()

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.started

    @property
    def fraction(self) -> float:
        """``done / total`` in [0, 1] (0 before anything is planned)."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    def remaining(self) -> float | None:
        """Seconds left at the speed measured so far; None until a unit is done."""
        if not self.done or not self.total:
            return None
        return max(0.0, self.elapsed / self.done * (self.total - self.done))

    def check(self) -> None:
        """Raise :class:`Cancelled` if the work was cancelled."""
        if self._cancel.is_set():
            raise Cancelled(f"stopped: {self.reason}")


_CURRENT: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("explainers_progress", default=None)


@contextlib.contextmanager
def tracking(progress: Progress) -> Iterator[Progress]:
    """Report the library's work in this thread (and its context) to ``progress``."""
    token = _CURRENT.set(progress)
    try:
        yield progress
    finally:
        _CURRENT.reset(token)


def current() -> Progress | None:
    """The :class:`Progress` of this context, or None."""
    return _CURRENT.get()


def plan(units: int) -> None:
    """Announce ``units`` more units of work (no-op without a :func:`tracking` caller)."""
    p = _CURRENT.get()
    if p is not None:
        p.total += int(units)


def advance(units: int = 1) -> None:
    """Report ``units`` done; raises :class:`Cancelled` if the caller cancelled the work.

    Raises
    ------
    Cancelled
    """
    p = _CURRENT.get()
    if p is None:
        return
    p.done += int(units)
    if p.on_advance is not None:
        p.on_advance(p)
    p.check()


def check() -> None:
    """Raise :class:`Cancelled` if this context's work was cancelled (for loops with no unit to report)."""
    p = _CURRENT.get()
    if p is not None:
        p.check()
