"""Long computations report their progress and stop when their caller cancels them (explainers.progress)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import explainers
from explainers import progress
from explainers.metrics.faithfulness import faithfulness


@pytest.fixture(scope="module")
def photo():
    return np.random.default_rng(0).integers(0, 256, (64, 48, 3), dtype=np.uint8)


def test_nothing_happens_without_a_caller(tiny_model, photo):
    assert progress.current() is None
    progress.plan(5)
    progress.advance(5)  # no reporter: no effect, no error
    [e] = explainers.get_explainer("lime", num_samples=20, n_segments=8).explain(tiny_model, photo)
    assert e.saliency.shape == photo.shape[:2]


def test_lime_and_the_curves_report_every_image_they_push(tiny_model, photo):
    p = progress.Progress()
    with progress.tracking(p):
        explainers.get_explainer("lime", num_samples=70, batch_size=16, n_segments=8).explain(tiny_model, photo)
    assert (p.done, p.total) == (70, 70) and p.fraction == 1.0 and p.remaining() == 0.0
    p = progress.Progress()
    with progress.tracking(p):
        faithfulness(tiny_model, photo, np.ones(photo.shape[:2]), 0, steps=9)
    assert (p.done, p.total) == (20, 20)
    assert progress.current() is None  # the context is restored


def test_cancel_from_another_thread_stops_lime_after_the_current_batch(tiny_model, photo):
    lime = explainers.get_explainer("lime", num_samples=2000, batch_size=8, n_segments=8)
    seen = []

    def watch(p):
        seen.append(p.done)
        if p.done >= 24:  # as a Cancel button pressed in the page's thread
            threading.Thread(target=p.cancel, args=("a newer run",)).start()
            threading.Event().wait(0.05)

    p = progress.Progress(on_advance=watch)
    with progress.tracking(p), pytest.raises(progress.Cancelled, match="stopped: a newer run"):
        lime.explain(tiny_model, photo)
    assert p.cancelled and p.done < 2000 and seen[-1] <= 40


def test_remaining_time_follows_the_measured_speed():
    p = progress.Progress()
    assert p.remaining() is None and p.fraction == 0.0
    p.total, p.done = 100, 25
    p.started -= 10.0  # 25 units in 10 s
    assert p.remaining() == pytest.approx(30.0, rel=0.05)
