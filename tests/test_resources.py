"""Many explanations in a row: no hook left, no thread left, memory bounded (the 1,000-run version is bench/soak.py)."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import torch
from torch import nn

import explainers

RUNS = 200
METHODS = ("cam", "secam", "gradcam")


def rss_bytes() -> int | None:
    """Resident memory of this process (Linux), or None."""
    status = Path("/proc/self/status")
    if not status.is_file():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


class SmallNet(nn.Module):
    """Two convolutions, ReLU, GAP, linear: a real feature map, fast on a CPU."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(self.body(x).mean(dim=(2, 3)))


def test_many_explanations_keep_hooks_threads_and_memory_bounded():
    model = explainers.from_network(SmallNet(), name="small", input_size=64, device="cpu")
    explainers_ = {m: explainers.get_explainer(m, **({"n_segments": 20} if m == "secam" else {})) for m in METHODS}
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (64 + 8 * i, 80, 3), dtype=np.uint8) for i in range(4)]

    def run(i):
        explainers_[METHODS[i % 3]].explain(model, images[i % 4], topk=2)
        assert all(not m._forward_hooks and not m._backward_hooks for m in model.network.modules()), f"hook left at run {i}"

    for i in range(30):  # warm-up: allocator pools, thread pools, lazy imports
        run(i)
    gc.collect()
    threads, rss0 = threading.active_count(), rss_bytes()
    tracemalloc.start()
    py0 = tracemalloc.get_traced_memory()[0]
    for i in range(30, RUNS):
        run(i)
    gc.collect()
    py1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss1 = rss_bytes()
    assert threading.active_count() <= threads
    assert py1 - py0 < 2 * 2**20, f"Python heap grew by {(py1 - py0) / 2**20:.1f} MB over {RUNS - 30} runs"
    if rss0 is not None:
        assert rss1 - rss0 < 64 * 2**20, f"RSS grew by {(rss1 - rss0) / 2**20:.1f} MB over {RUNS - 30} runs"
