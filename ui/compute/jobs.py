"""Slow work for a page: a worker thread with progress, a time estimate, Cancel, and at most one job per person.

A page calls :func:`run` with a key and a function of the library. The function runs in a worker
thread under an :class:`explainers.progress.Progress`, while the page's run draws a progress bar
with the time left and a Cancel button every :data:`POLL_S` seconds. Then:

- **Cancel** stops the work at its next batch (the library checks after each one).
- **A newer run supersedes it**: when the same person asks for different work (another photo,
  other parameters), the older job is cancelled; a rerun that asks for the same key (a slider moved,
  a rerun after the job finished) reattaches to it instead of starting again.
- **Abandoned work stops**: the page's run marks the job as seen each time it draws the bar; a job
  nobody has looked at for :data:`ABANDON_S` seconds (the tab was closed, the visitor went to another
  page) is cancelled by its own worker.
- **One heavy job per person**: the owner is the signed-in user (else the browser session); a second
  tab of the same person that asks for other work is told what is running and may stop it.

Finished results are kept in a small process-wide store by key, so a page that finds its key done
gets the result at once. The estimate before the start comes from :func:`estimate`, the measured
seconds per image of the model on this server, kept per kind of work (an explanation's copies, the
faithfulness curves' copies, a study's preparation): the same image costs differently in each.
Work that counts its own items (photos) uses :func:`counted`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import streamlit as st

from explainers import Cancelled, progress

#: Session key holding this session's owner (``ui.app.page.setup`` puts the signed-in user's id there).
OWNER_KEY = "_job_owner"
#: Images through the network above which a page's computation runs as a job (below, it runs in the page's run).
HEAVY_UNITS = 24
#: Seconds between two updates of the progress bar.
POLL_S = 0.15
#: A job nobody has looked at for this long is cancelled.
ABANDON_S = 6.0
#: Session key of the work this session stopped (it does not start again until asked).
STOPPED_KEY = "_job_stopped"
#: Finished results kept (each one a page's explanation or measurement).
MAX_DONE = 24


@dataclasses.dataclass(eq=False)
class Job:
    """One computation in a worker thread.

    Attributes
    ----------
    key : hashable
        What it computes (equal keys: the same result).
    owner : str
        Who asked (user id or session id); one running job per owner.
    session : str
        The browser session that started it.
    title : str
        What people read: ``LIME on chelsea.jpg``.
    progress : explainers.progress.Progress
    seen : float
        ``time.monotonic()`` when a page last drew its progress.
    """

    key: Hashable
    owner: str
    session: str
    title: str
    progress: progress.Progress
    seen: float = dataclasses.field(default_factory=time.monotonic)
    result: Any = None
    error: BaseException | None = None
    finished: threading.Event = dataclasses.field(default_factory=threading.Event)


_JOBS_LOCK = threading.Lock()
_RUNNING: dict[str, Job] = {}
_DONE: OrderedDict[Hashable, Any] = OrderedDict()
_SECONDS_PER_UNIT: dict[tuple[str, str], float] = {}
#: The kind of work a job's speed is measured on, by default: an explanation's images through the network.
EXPLAIN = "explain"


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def owner() -> str:
    """Who this session's jobs belong to: the signed-in user, else the browser session."""
    return str(st.session_state.get(OWNER_KEY) or _session_id())


def done(key: Hashable) -> Any | None:
    """The finished result of ``key``, or None."""
    with _JOBS_LOCK:
        if key in _DONE:
            _DONE.move_to_end(key)
            return _DONE[key]
    return None


def running() -> Job | None:
    """This owner's running job, if any."""
    with _JOBS_LOCK:
        job = _RUNNING.get(owner())
    return job if job is not None and not job.finished.is_set() else None


def speed(model_name: str, kind: str = EXPLAIN) -> float | None:
    """Seconds per unit (an image through the network) of ``kind`` of work measured on this server for
    ``model_name``, or None.

    Kinds are measured apart because each unit carries its work's own overhead besides the forward pass (LIME:
    SLIC, the masked copies, the regressions; the curves: the blurred baseline, the pixel order).
    """
    return _SECONDS_PER_UNIT.get((model_name, kind))


def estimate(units: int, model_name: str, fallback: float, kind: str = EXPLAIN) -> float:
    """Seconds for ``units`` images of ``kind`` through ``model_name`` at the measured speed (``fallback`` s/image
    before any: ``ui.compute.models.seconds_per_image``)."""
    return units * _SECONDS_PER_UNIT.get((model_name, kind), fallback)


def record_speed(model_name: str, seconds: float, units: int, kind: str = EXPLAIN) -> None:
    """Remember ``seconds`` for ``units`` images of ``kind`` through ``model_name`` (the next estimates use it)."""
    if units > 0 and seconds > 0:
        _SECONDS_PER_UNIT[(model_name, kind)] = seconds / units


@contextlib.contextmanager
def counted(total: int) -> Iterator[Callable[[int], None]]:
    """Inside a job's work: count its progress in ``total`` items of its own (photos), while the library's units
    (images through the network, reported to :mod:`explainers.progress`) still stop it at Cancel.

    Yields ``done(n)``, to call with the items finished so far. The bar and the time left then follow the items
    (the library announces its units batch by batch, so their total is not known up front); Cancel, a newer run
    and abandonment still stop the work at the library's next batch. Outside a job it only runs the block.
    """
    outer = progress.current()
    if outer is not None:
        outer.total += int(total)

    def check() -> None:
        if outer is not None:
            if outer.on_advance is not None:  # the job's watch: nobody waiting any more
                outer.on_advance(outer)
            outer.check()

    def done(n: int) -> None:
        if outer is not None:
            outer.done = int(n)
            check()

    with progress.tracking(progress.Progress(on_advance=lambda _: check())):
        yield done


def _work(job: Job, fn: Callable[[], Any], model_name: str | None) -> None:
    def watch(p: progress.Progress) -> None:
        if time.monotonic() - job.seen > ABANDON_S:
            p.cancel("nobody was waiting for it any more (the page was closed or left)")

    job.progress.on_advance = watch
    try:
        with progress.tracking(job.progress):
            job.result = fn()
        if model_name is not None:
            record_speed(model_name, job.progress.elapsed, job.progress.done)
        with _JOBS_LOCK:
            _DONE[job.key] = job.result
            while len(_DONE) > MAX_DONE:
                _DONE.popitem(last=False)
    except BaseException as exc:  # noqa: BLE001 - handed to the page that waits for it
        job.error = exc
    finally:
        job.finished.set()
        with _JOBS_LOCK:
            if _RUNNING.get(job.owner) is job:
                del _RUNNING[job.owner]


def stopped(key: Hashable) -> bool:
    """Whether this session stopped the work ``key`` (its Cancel button) and has not asked for it again."""
    return st.session_state.get(STOPPED_KEY) == key


def forget_stop() -> None:
    """Forget this session's stopped work (a page that handles the stop itself, e.g. by showing something else)."""
    st.session_state.pop(STOPPED_KEY, None)


def _cancel(job: Job, reason: str) -> None:
    job.progress.cancel(reason)


def _stop(job: Job) -> None:
    """The Cancel button: stop the job, and do not start it again on the rerun the click causes."""
    st.session_state[STOPPED_KEY] = job.key
    _cancel(job, "cancelled")


def _start(key: Hashable, title: str, fn: Callable[[], Any], model_name: str | None) -> Job:
    job = Job(key, owner(), _session_id(), title, progress.Progress())
    with _JOBS_LOCK:
        _RUNNING[job.owner] = job
    threading.Thread(target=_work, args=(job, fn, model_name), name=f"job: {title}", daemon=True).start()
    return job


def run(key: Hashable, title: str, fn: Callable[[], Any], seconds: float, model_name: str | None = None,
        container=st, requested: bool = False) -> Any:
    """The result of ``fn()``, computed in a worker thread while this run shows progress; see the module.

    Parameters
    ----------
    key : hashable
        What ``fn`` computes; a finished or running job with an equal key is reused.
    title : str
        What people read in the progress bar (user text must be escaped by the caller: it is Markdown).
    fn : callable
        The library call; it reports its units with :mod:`explainers.progress`.
    seconds : float
        The estimate before any unit is done (:func:`estimate`).
    model_name : str, optional
        The model whose speed the job measures (for the next estimates).
    container : Streamlit container
        Where the progress bar and the Cancel button go.
    requested : bool
        The person asked for it just now (a button), so an earlier Cancel of the same work does not hold it.

    Returns
    -------
    The result, or None when the work was cancelled or another of this person's jobs runs (the page
    has shown why, with what to do).

    Raises
    ------
    BaseException
        Whatever ``fn`` raised (other than a cancellation).
    """
    found = done(key)
    if found is not None:
        return found
    if requested:
        st.session_state.pop(STOPPED_KEY, None)
    if st.session_state.get(STOPPED_KEY) == key:
        _stopped(title, "cancelled", container)
        return None
    st.session_state.pop(STOPPED_KEY, None)
    me = owner()
    with _JOBS_LOCK:
        job = _RUNNING.get(me)
    if job is not None and job.key != key and not job.finished.is_set():
        if job.session == _session_id():
            _cancel(job, "a newer run replaced it")  # the same tab asks for other work
            job = None
        else:
            _elsewhere(job, container)
            return None
    if job is None or job.key != key:
        job = _start(key, title, fn, model_name)
    return _follow(job, seconds, container)


def _elsewhere(job: Job, container) -> None:
    left = job.progress.remaining()
    when = "starting" if left is None else f"about {round(left)} s left"
    container.warning(f"You already have a computation running in another tab ({job.title}, {when}). One runs at "
                      "a time per person: wait for it, or stop it to run this one.", icon=":material/hourglass_top:")
    if container.button("Stop the other one and run this", key="job_stop_other"):
        _cancel(job, "you started another computation in another tab")
        job.finished.wait(10)
        st.rerun()


def _follow(job: Job, seconds: float, container) -> Any:
    """Draw ``job``'s progress until it ends; the result, or None if it was cancelled."""
    box = container.empty()
    with box.container():
        bar = st.progress(0.0, text=f"{job.title}: starting")
        st.button("Cancel", key=f"job_cancel_{abs(hash(job.key))}", on_click=_stop, args=(job,),
                  help="Stops the computation after its current batch.")
    while not job.finished.wait(POLL_S):
        job.seen = time.monotonic()
        p = job.progress
        left = p.remaining()
        if left is None:
            left = max(0.0, seconds - p.elapsed)
        bar.progress(p.fraction, text=f"{job.title}: {100 * p.fraction:.0f} %, about {left:.0f} s left")
    box.empty()
    if isinstance(job.error, Cancelled):
        st.session_state[STOPPED_KEY] = job.key
        _stopped(job.title, job.progress.reason, container)
        return None
    if job.error is not None:
        raise job.error
    return job.result


def _stopped(title: str, reason: str, container) -> None:
    """Say that the work stopped, with a button that runs it again."""
    container.info(f"{title}: stopped ({reason}). Nothing more is computed until you ask.",
                   icon=":material/stop_circle:")
    if container.button("Run it", key="job_run_again", type="primary"):
        st.session_state.pop(STOPPED_KEY, None)
        st.rerun()


def clear() -> None:
    """Cancel every job and forget every result and speed (tests)."""
    with _JOBS_LOCK:
        jobs = list(_RUNNING.values())
        _RUNNING.clear()
        _DONE.clear()
    for job in jobs:
        _cancel(job, "cleared")
    _SECONDS_PER_UNIT.clear()
