"""Soak test: 1,000 explanations in a loop on one loaded model; prints memory growth and hook count.

Usage (from the project root)::

    .venv/bin/python bench/soak.py                        # 1,000 runs, efficientnet_lite0, CAM/SeCAM/Grad-CAM
    .venv/bin/python bench/soak.py --runs 200 --model efficientnet_lite0 --methods cam,secam

Photos come from the ImageNet sample (``$EXPLAINERS_SAMPLE_DIR`` or ``../shared/imagenet-sample``) when it exists, else synthetic
pictures. After a warm-up, it reports every ``--every`` runs: resident memory
(RSS), Python heap (tracemalloc), CUDA memory when on a GPU, live threads, and
hooks left on the model. It exits with status 1 if a hook is ever left or RSS
grows by more than ``--max-growth-mb`` after the warm-up. The quick version of
this check runs in the test suite (tests/test_resources.py).
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import explainers  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from photos import sample_photos  # noqa: E402  ($EXPLAINERS_SAMPLE_DIR or ../shared/imagenet-sample)


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def hook_count(network: torch.nn.Module) -> int:
    """Forward and backward hooks left on any module."""
    kinds = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return sum(len(getattr(m, k)) for m in network.modules() for k in kinds)


def photos(n: int) -> list[np.ndarray]:
    """Up to ``n`` photos from the shared sample, or synthetic pictures when it is absent."""
    files = sample_photos(n)
    if files:
        return [explainers.load_image(f) for f in files]
    rng = np.random.default_rng(0)
    return [np.clip(rng.normal(128, 60, (300 + 10 * i, 400, 3)), 0, 255).astype(np.uint8) for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--every", type=int, default=100, help="report every N runs")
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--methods", default="cam,secam,gradcam")
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--device", default=None)
    parser.add_argument("--max-growth-mb", type=float, default=100.0)
    args = parser.parse_args(argv)

    model = explainers.load_model(args.model, device=args.device)
    methods = [explainers.get_explainer(m) for m in args.methods.split(",")]
    images = photos(args.photos)
    cuda = model.device.type == "cuda"
    print(f"soak: {args.runs} runs of {','.join(m.name for m in methods)} on {model.name} ({model.device}), "
          f"{len(images)} photos, warm-up {args.warmup}")

    def run(i: int) -> None:
        methods[i % len(methods)].explain(model, images[i % len(images)], topk=2)

    for i in range(args.warmup):
        run(i)
    gc.collect()
    tracemalloc.start()
    rss0, heap0, threads0 = rss_mb(), tracemalloc.get_traced_memory()[0], threading.active_count()
    cuda0 = torch.cuda.memory_allocated(model.device) if cuda else 0
    print(f"{'runs':>6} {'s/run':>7} {'RSS MB':>8} {'dRSS':>7} {'dheap MB':>9} {'dCUDA MB':>9} {'threads':>7} {'hooks':>5}")
    worst_hooks, t0, done = 0, time.perf_counter(), 0
    for i in range(args.runs):
        run(args.warmup + i)
        done += 1
        hooks = hook_count(model.network)
        worst_hooks = max(worst_hooks, hooks)
        if done % args.every == 0 or done == args.runs:
            gc.collect()
            cuda_growth = (torch.cuda.memory_allocated(model.device) - cuda0) / 2**20 if cuda else 0.0
            print(f"{done:>6} {(time.perf_counter() - t0) / done:>7.3f} {rss_mb():>8.0f} {rss_mb() - rss0:>+7.1f} "
                  f"{(tracemalloc.get_traced_memory()[0] - heap0) / 2**20:>+9.2f} {cuda_growth:>+9.1f} "
                  f"{threading.active_count() - threads0:>+7d} {hooks:>5}")
    growth = rss_mb() - rss0
    ok = worst_hooks == 0 and growth <= args.max_growth_mb
    print(f"soak: RSS growth {growth:+.1f} MB after warm-up (bound {args.max_growth_mb:.0f} MB), "
          f"most hooks ever left {worst_hooks}: {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
