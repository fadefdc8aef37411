"""Server-side time of a dashboard rerun when the threshold slider moves (issue 6's <= 150 ms target).

Usage: .venv/bin/python bench/dashboard_rerun.py [--reps 7] [--threads 1]

Drives the real ``dashboard.py`` (Explain page) with Streamlit's AppTest, which runs the scripts as
the server does, minus the network and the browser's drawing. For an ordinary photo (the chelsea
sample, 451x300) and a 12 MP upload (chelsea upscaled to 4000x3000), it times the first run (model,
forward pass, SLIC, figures) and then reruns after moving the threshold, alternating two values, and
reports medians, and counts forward passes and SLIC runs during the threshold reruns (must be 0).
"""

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import explainers.methods.secam as secam_module  # noqa: E402
from explainers.models.loaded import LoadedModel  # noqa: E402
from ui.app import session  # noqa: E402
from ui.compute import explanations  # noqa: E402

CALLS = {"forward": 0, "slic": 0}


def count_calls() -> None:
    forward_batch, slic = LoadedModel.forward_batch, secam_module.slic

    def counted_forward(self, batch):
        CALLS["forward"] += 1
        return forward_batch(self, batch)

    def counted_slic(*args, **kwargs):
        CALLS["slic"] += 1
        return slic(*args, **kwargs)

    LoadedModel.forward_batch = counted_forward
    secam_module.slic = counted_slic


def measure(name: str, at: AppTest, reps: int) -> dict:
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    assert not at.exception and not at.error, (at.exception, at.error)
    before = dict(CALLS)
    times = []
    for i in range(reps):
        at.slider(key="w_threshold").set_value(0.5 if i % 2 == 0 else 0.7)
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception and not at.error
    extra = {k: CALLS[k] - before[k] for k in CALLS}
    median = statistics.median(times) * 1000
    print(f"{name:28s} first run {first:6.2f} s | threshold rerun median {median:6.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) | forward passes {extra['forward']}, "
          f"SLIC runs {extra['slic']} during the threshold reruns")
    return {"first_s": first, "threshold_rerun_ms": median, **extra}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    count_calls()
    explanations.clear_caches()

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    at.session_state["sample"] = "chelsea"
    small = measure("chelsea 451x300 (sample)", at, args.reps)

    big = np.array(Image.fromarray(data.chelsea()).resize((4000, 3000), Image.BICUBIC))
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="JPEG", quality=90)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    at.session_state["image_source"] = session.SOURCE_UPLOAD
    at.run()
    at.file_uploader[0].upload("chelsea-12mp.jpg", buffer.getvalue(), "image/jpeg")
    large = measure("chelsea 4000x3000 (upload)", at, args.reps)
    ok = all(r["threshold_rerun_ms"] <= 150 and r["forward"] == 0 and r["slic"] == 0 for r in (small, large))
    print(f"target: threshold rerun <= 150 ms with no forward pass and no SLIC: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
