"""One model shared by several threads: each thread gets exactly its own maps, and no hook outlives a call."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch.nn.modules import module as torch_module

import explainers
from explainers import ParameterError, get_explainer
from photos import skimage_photos

METHODS = {"cam": {}, "secam": {"n_segments": 30}, "gradcam": {}}
THREADS = 4


def hook_count(network: torch.nn.Module) -> int:
    """Hooks of every kind on every module of ``network``, plus torch's global module hooks."""
    kinds = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    local = sum(len(getattr(m, kind)) for m in network.modules() for kind in kinds)
    return local + len(torch_module._global_forward_hooks) + len(torch_module._global_forward_pre_hooks)


def lock_is_free(model) -> bool:
    if model.lock.acquire(blocking=False):
        model.lock.release()
        return True
    return False


def photos(n: int = 4) -> list[np.ndarray]:
    """``n`` different photos that ship with scikit-image, downscaled: the test is about threads, not SLIC."""
    return [np.asarray(Image.fromarray(explainers.load_image(f)).reduce(3)) for f in skimage_photos(n)]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    network = torchvision.models.resnet18(num_classes=5)
    m = explainers.from_network(network, name="resnet18_5", input_size=96, device="cpu")
    assert m.cam_exact and m.feature_layer == "layer4"
    return m


@pytest.fixture(scope="module")
def images():
    return photos()


def explain(model, method, image, targets=(0, 1, 2)):
    return get_explainer(method, **METHODS[method]).explain(model, image, targets=list(targets))


def fingerprint(explanations):
    """Every array of a list of explanations, to compare runs exactly."""
    fields = ("saliency", "class_map", "segments", "mask", "segment_scores")
    return [(e.class_index, e.probability, [getattr(e, f) for f in fields]) for e in explanations]


def assert_same(a, b):
    assert len(a) == len(b)
    for (ca, pa, arrays_a), (cb, pb, arrays_b) in zip(a, b):
        assert ca == cb and pa == pb
        for x, y in zip(arrays_a, arrays_b):
            assert (x is None and y is None) or np.array_equal(x, y)


def test_four_threads_get_exactly_the_sequential_maps(model, images):
    jobs = [(method, i) for method in METHODS for i in range(len(images))]
    sequential = {job: fingerprint(explain(model, job[0], images[job[1]])) for job in jobs}
    random.Random(0).shuffle(jobs)
    start = threading.Barrier(THREADS)
    seen_threads = set()

    def run(job):
        seen_threads.add(threading.get_ident())
        if len(seen_threads) <= THREADS and job in jobs[:THREADS]:
            start.wait(timeout=30)  # the first four jobs really start together
        return job, fingerprint(explain(model, job[0], images[job[1]]))

    with ThreadPoolExecutor(THREADS) as pool:
        concurrent = dict(pool.map(run, jobs))
    assert len(seen_threads) == THREADS
    for job in jobs:
        assert_same(concurrent[job], sequential[job])
    assert hook_count(model.network) == 0 and lock_is_free(model)


def test_failures_in_some_threads_leave_no_hook_and_do_not_disturb_the_others(model, images):
    expected = {i: fingerprint(explain(model, "cam", images[i])) for i in range(4)}

    def good(i):
        return i, fingerprint(explain(model, "cam", images[i]))

    def bad_target(method):
        with pytest.raises(ParameterError, match="out of range"):
            explain(model, method, images[0], targets=(0, 99))

    def raise_inside_capture():
        with pytest.raises(RuntimeError, match="inside the hooked block"):
            with model.capture_features():
                assert hook_count(model.network) == 1  # ours, and only ours: the lock is held
                raise RuntimeError("inside the hooked block")

    def bad_input():
        with pytest.raises(RuntimeError):
            model.forward_batch(torch.zeros(1, 5, 96, 96))  # wrong channel count: fails inside the network

    tasks = [lambda i=i: good(i) for i in range(4)]
    tasks += [lambda m=m: bad_target(m) for m in METHODS] + [raise_inside_capture, bad_input] * 2
    random.Random(1).shuffle(tasks)
    with ThreadPoolExecutor(THREADS) as pool:
        results = [f.result() for f in [pool.submit(t) for t in tasks]]
    got = dict(r for r in results if r is not None)
    assert sorted(got) == [0, 1, 2, 3]
    for i, fp in got.items():  # each thread got the map of its own photo, not another's
        assert _equal(fp, expected[i])
    assert hook_count(model.network) == 0 and lock_is_free(model)


def _equal(a, b) -> bool:
    try:
        assert_same(a, b)
        return True
    except AssertionError:
        return False


@pytest.mark.parametrize("method", METHODS)
def test_no_hook_after_an_exception_in_each_method(model, images, method, monkeypatch):
    """A failure inside the network, and one from a bad target after the pass, for every method."""
    with pytest.raises(ParameterError):
        explain(model, method, images[0], targets=(7,))
    assert hook_count(model.network) == 0

    def broken(self, x):
        raise RuntimeError("layer4 failed")

    monkeypatch.setattr(type(model.module("layer4")), "forward", broken)
    with pytest.raises(RuntimeError, match="layer4 failed"):
        explain(model, method, images[0])
    assert hook_count(model.network) == 0 and lock_is_free(model)
