"""Two users at once, on SQLite and PostgreSQL: each thread has its own Store (its own engine and
connections, as two server processes would), and they start together at a barrier."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from store_data import files_under, item_fields, photo, trial_order

from explainers_team.store import Store

N = 12


def run_together(store, jobs, **store_kwargs):
    """Run each ``job(store_i)`` in its own thread with its own Store; return results or exceptions."""
    stores = [Store(store.url, store.data_dir, migrate=False, **store_kwargs) for _ in jobs]
    barrier = threading.Barrier(len(jobs))

    def call(job, own):
        barrier.wait()
        try:
            return job(own)
        except Exception as exc:  # noqa: BLE001 - returned, so the test sees every thread's outcome
            return exc

    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            return list(pool.map(call, jobs, stores))
    finally:
        for s in stores:
            s.close()


def test_concurrent_saves_from_two_sessions_all_land(store):
    def saves(author):
        return lambda s: [s.save_item(**item_fields(author=author, title=f"{author} {i}", tags=[author, "shared"]))
                          for i in range(N)]

    ann, bob = run_together(store, [saves("ann"), saves("bob")])
    assert not isinstance(ann, Exception) and not isinstance(bob, Exception), (ann, bob)
    assert len(set(ann) | set(bob)) == 2 * N
    assert len(store.list_items(author="ann")) == N and len(store.list_items(author="bob")) == N
    assert len(store.list_items(tag="shared")) == 2 * N


def test_concurrent_deletes_never_touch_the_other_users_items(store):
    ann_ids = [store.save_item(**item_fields(author="ann", title=f"ann {i}")) for i in range(N)]
    bob_ids = [store.save_item(**item_fields(author="bob", title=f"bob {i}")) for i in range(N)]

    def ann_deletes_hers(s):
        for i in ann_ids:
            s.delete_item(i, by="ann")

    def bob_saves_and_tries_hers(s):
        denied = 0
        for i in ann_ids[: N // 2]:
            try:
                s.delete_item(i, by="bob")
            except PermissionError:
                denied += 1
            except LookupError:
                denied += 1  # ann deleted it first
        return denied, [s.save_item(**item_fields(author="bob", title="late")) for _ in range(3)]

    first, second = run_together(store, [ann_deletes_hers, bob_saves_and_tries_hers])
    assert first is None and not isinstance(second, Exception), (first, second)
    assert second[0] == N // 2
    remaining = store.list_items()
    assert {i.author_id for i in remaining} == {"bob"}
    assert set(bob_ids) | set(second[1]) == {i.id for i in remaining}


def test_same_photo_uploaded_at_once_is_stored_once(store):
    data = photo("astronaut")
    results = run_together(store, [lambda s: s.put_photo(data, "a.jpg", "ann"),
                                   lambda s: s.put_photo(data, "b.jpg", "bob")])
    assert results[0] == results[1] and isinstance(results[0], str), results
    assert len(store.list_photos()) == 1
    assert files_under(store.data_dir / "photos") == [store.photo_path(results[0])]  # no temporary file left
    assert store.get_photo(results[0]) == data


def test_total_quota_holds_when_two_upload_at_once(store):
    first, second = photo("chelsea"), photo("coffee")
    limit = max(len(first), len(second)) + min(len(first), len(second)) // 2  # room for one of the two
    results = run_together(store, [lambda s: s.put_photo(first, "chelsea.jpg", "ann"),
                                   lambda s: s.put_photo(second, "coffee.jpg", "bob")],
                           quota_user_bytes=0, quota_total_bytes=limit)
    assert sorted(type(r).__name__ for r in results) == ["QuotaExceededError", "str"], results
    assert len(store.list_photos()) == 1 and len(files_under(store.data_dir / "photos")) == 1


@pytest.mark.parametrize("same_answer_twice", [False, True])
def test_concurrent_answers(store, same_answer_twice):
    from test_store import make_study

    study_id, _ = make_study(store, n=6)

    def answer_all(reviewer, choice):
        def job(s):
            for trial_id, left in trial_order(s, study_id, reviewer):
                s.record_answer(trial_id, reviewer=reviewer, choice=choice, left_condition=left, seconds=1.0)
        return job

    if same_answer_twice:  # one reviewer in two tabs: one answer per trial survives
        jobs = [answer_all("ann", "left"), answer_all("ann", "right")]
    else:
        jobs = [answer_all("ann", "left"), answer_all("bob", "equal")]
    assert run_together(store, jobs) == [None, None]
    answers = store.answers(study_id)
    if same_answer_twice:
        assert len(answers) == 6 and {a.reviewer_id for a in answers} == {"ann"}
        assert {a.choice for a in answers} <= {"left", "right"}
    else:
        assert len(answers) == 12 and store.progress(study_id, "bob") == (6, 6)



def test_sqlite_reads_are_not_blocked_by_a_writer(tmp_path):
    import sqlite3

    with Store(data_dir=tmp_path) as store:
        store.save_item(**item_fields())
        writer = sqlite3.connect(tmp_path / "explainers.db", isolation_level=None, timeout=0)
        writer.execute("BEGIN IMMEDIATE")  # another session holds the write lock
        writer.execute("INSERT INTO item_tags (item_id, tag) VALUES (1, 'pending')")
        try:
            assert [i.tags for i in store.list_items()] == [("cats", "faces")]  # WAL: reads the last commit
            assert store.item_facets()["tags"] == ["cats", "faces"]
        finally:
            writer.execute("ROLLBACK")
            writer.close()
