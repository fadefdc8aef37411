"""How long creating a review study takes: trial preparation and, separately, the faithfulness hook.

Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python bench/review_prepare.py

Prepares a CAM-vs-SeCAM study of scikit-image's four colour photos (chelsea,
coffee, astronaut, rocket) on ``efficientnet_lite0`` (CPU), then measures both
conditions' deletion/insertion AUC on the same photos (20 steps). The model
load is not counted. Prints one JSON object (machine, date, seconds).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import explainers  # noqa: E402
from explainers_team.review import default_conditions, measure_faithfulness, prepare_trials  # noqa: E402


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    photos = [(name, getattr(data, name)()) for name in ("chelsea", "coffee", "astronaut", "rocket")]
    model = explainers.load_model("efficientnet_lite0", device="cpu")
    a, b = default_conditions()
    load = {"efficientnet_lite0": model}
    prepare_trials(photos[:1], a, b, load=load)  # warm-up: first-call costs are not a study's
    t0 = time.perf_counter()
    trials = prepare_trials(photos, a, b, load=load)
    prepare_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    measure_faithfulness(photos, a, b, load=load, class_indices={t.photo: t.class_index for t in trials})
    faithfulness_s = time.perf_counter() - t0
    print(json.dumps({
        "date": dt.date.today().isoformat(), "machine": _cpu_name(),
        "cpus": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "photos": len(photos),
        "labels": [t.label for t in trials], "prepare_trials_s": round(prepare_s, 2),
        "measure_faithfulness_s": round(faithfulness_s, 2)}, indent=2))


if __name__ == "__main__":
    main()
