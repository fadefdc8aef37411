"""Seconds per image of the network's forward pass by batch size, on the CPU (interleaved repetitions).

Usage: .venv/bin/python bench/forward_batch.py [--sizes 1,2,4,8,12,16,32] [--reps 4] [--threads 2]

The same 64 random images go through ``LoadedModel.forward_batch`` in chunks of each size, the sizes
interleaved in each repetition; the best repetition of each size is printed (ms per image). It chose the
CPU's ``explainers.models.loaded.MAX_FORWARD_IMAGES``: the passes of the metrics and of LIME are split there.
"""

from __future__ import annotations

import argparse
import os
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,2,4,8,12,16,32")
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="efficientnet_lite0")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import explainers
    from explainers.models import loaded

    model = explainers.load_model(args.model, device="cpu")
    sizes = [int(s) for s in args.sizes.split(",")]
    images = torch.randn(64, 3, model.input_size, model.input_size)
    loaded.MAX_FORWARD_IMAGES = (max(sizes), loaded.MAX_FORWARD_IMAGES[1])  # let every size through unsplit

    def run(size: int) -> float:
        start = time.perf_counter()
        for i in range(0, len(images), size):
            model.forward_batch(images[i : i + size])
        return time.perf_counter() - start

    for size in sizes:  # warm-up
        run(size)
    best = {size: float("inf") for size in sizes}
    for _ in range(args.reps):
        for size in sizes:
            best[size] = min(best[size], run(size))
    print(f"{args.model}, {args.threads} torch threads, load average {os.getloadavg()[0]:.1f}")
    for size in sizes:
        print(f"batch {size:3d}: {1000 * best[size] / len(images):6.1f} ms/image")


if __name__ == "__main__":
    main()
