"""Studies kept in the store: each reviewer's plan, keyed by the study's secret.

The glue between :mod:`explainers_team.review.design` (pure) and :class:`explainers_team.store.Store`.
"""

from __future__ import annotations

from ..access import User
from ..store import Store
from .design import Assignment, reviewer_plan


def plan(store: Store, study_id: int, reviewer: User | str) -> list[Assignment]:
    """This reviewer's trials of the study in their own order, each with the condition on the left.

    The same every time for the same reviewer (stop and resume), independent between reviewers, each
    condition on the left in half of the reviewer's trials, and keyed by the study's secret
    (:meth:`Store.study_key`), so nobody can compute the sides.
    """
    ids = [t.id for t in store.trials_for(study_id)]
    return reviewer_plan(store.study_key(study_id), User.of(reviewer).id, ids)
