"""Creating a review study as a job: an estimate up front, progress by photo, and Cancel that stores nothing.

The work the Review page hands to ``ui.compute.jobs`` (:func:`ui.views.review.study_job`) runs here under a
``Progress`` as the job's worker runs it; Cancel is the job's cancel flag, set from the job's watch at the
library's first batch of images.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explainers import Cancelled, progress  # noqa: E402
from explainers_team.access import User  # noqa: E402
from explainers_team.review import DEFAULT_QUESTION, default_conditions  # noqa: E402
from explainers_team.review.studies import Photo, preparation_units  # noqa: E402
from explainers_team.store import Store  # noqa: E402
from ui.compute import faithfulness, jobs, models  # noqa: E402
from ui.views import review  # noqa: E402

NAMES = ("chelsea", "coffee")


@pytest.fixture
def store(tmp_path):
    jobs.clear()
    yield Store(data_dir=tmp_path / "data")
    jobs.clear()


def work_for(store: Store):
    a, b = default_conditions()
    chosen = [Photo(name, review.sample_bytes(name)) for name in NAMES]
    return review.study_job(store, User("Ann"), "Pets", DEFAULT_QUESTION, a, b, chosen, measure=True, steps=5)


def test_cancel_during_the_preparation_leaves_no_study_and_no_photo(store):
    outer = progress.Progress()
    calls = []

    def cancel_at_first_batch(p: progress.Progress) -> None:  # as the job's Cancel button, mid-preparation
        calls.append(p.done)
        p.cancel("cancelled")

    outer.on_advance = cancel_at_first_batch
    with progress.tracking(outer), pytest.raises(Cancelled):
        work_for(store)()
    assert calls == [0]  # stopped at the library's first batch, before any photo was done
    assert store.list_studies() == [] and store.list_photos() == []


def test_a_finished_preparation_stores_the_study_counts_photos_and_sets_the_speed(store):
    a, b = default_conditions()
    assert jobs.speed(a.model, review.STUDY) is None
    outer = progress.Progress()
    with progress.tracking(outer):
        study_id = work_for(store)()
    [study] = store.list_studies()
    assert study.id == study_id and study.n_trials == len(NAMES)
    assert (outer.done, outer.total) == (len(NAMES), len(NAMES))
    units = sum(preparation_units(a, b, measure=True, steps=5).values()) * len(NAMES)
    assert jobs.speed(a.model, review.STUDY) == pytest.approx(outer.elapsed / units, rel=0.05)
    # the next estimate uses that speed: photos x the units of both conditions
    assert review.study_estimate(a, b, 3, True, 5) == pytest.approx(
        3 * units / len(NAMES) * jobs.speed(a.model, review.STUDY))
    jobs.clear()  # a fresh server: the model's forward time, or the faithfulness curves' speed once measured
    assert review.study_estimate(a, b, 3, True, 5) == pytest.approx(
        3 * units / len(NAMES) * models.seconds_per_image(a.model))
    jobs.record_speed(a.model, 1.0, 10, kind=faithfulness.CURVES)
    assert review.study_estimate(a, b, 3, True, 5) == pytest.approx(3 * units / len(NAMES) * 0.1)
