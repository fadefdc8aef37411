"""The Compare page's faithfulness estimate against the real time, for one photo.

Run from the repository root::

    PYTHONPATH=$PWD .venv/bin/python bench/faithfulness_estimate.py [--photo chelsea] [--second coffee] [--reps 2]

What the button says before it measures (:func:`ui.compute.faithfulness.estimate_seconds`: each map's
``2 * (steps + 1)`` copies x the model's forward time per image in a full batch, measured the way the
dashboard measures it when the model loads), then the real time of the same maps (CAM and SeCAM on
``efficientnet_lite0``, and the random map: three maps, 20 steps). Then both photos ``--reps`` times, each
estimated from the curves' speed the measurement before set (what the button says from then on). For comparison, ``lime_speed_estimate_s`` is what
the old estimate said when a LIME job had set the model's speed (one speed for every kind of work).
Prints one JSON object (machine, date, seconds, ratios estimate / real).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import explainers  # noqa: E402
from explainers import Condition  # noqa: E402
from explainers.metrics import curve_copies  # noqa: E402
from ui.compute import faithfulness, jobs, models, photos  # noqa: E402

MODEL = "efficientnet_lite0"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _measure(name: str) -> tuple[float, float]:
    """(estimate, real seconds) of the three maps of photo ``name``."""
    image = photos.sample_image(name)
    model = models.get_model(MODEL)
    conditions = [Condition.make(MODEL, "cam"), Condition.make(MODEL, "secam")]
    found = [c.explainer().explain(model, image)[0] for c in conditions]
    items = faithfulness.plan(conditions, [e.class_index for e in found], f"sample:{name}")
    estimate = faithfulness.estimate_seconds(items)
    by_name = {item.name: e for item, e in zip(items, found)}
    t0 = time.perf_counter()
    for item in items:
        e = by_name.get(item.name)
        faithfulness.measure(item, image, None if e is None else e.saliency, None if e is None else e.mask)
    return estimate, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", default="chelsea")
    parser.add_argument("--second", default="coffee")
    parser.add_argument("--reps", type=int, default=1, help="measure both photos this many times (after the first)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    per_image = models.seconds_per_image(MODEL)  # loads the model and measures, as the dashboard does
    first_estimate, first_real = _measure(args.photo)  # estimated from the load-time speed
    later = []
    for _ in range(max(1, args.reps)):  # estimated from the last measured curves' speed
        for name in (args.second, args.photo):
            estimate, real = _measure(name)
            later.append({"photo": name, "estimate_s": round(estimate, 1), "real_s": round(real, 1),
                          "ratio": round(estimate / real, 2)})
    # the old estimate: the model's one speed, as a LIME job (100 samples) left it
    lime = explainers.get_explainer("lime", num_samples=100)
    t0 = time.perf_counter()
    lime.explain(models.get_model(MODEL), photos.sample_image(args.photo))
    lime_per_image = (time.perf_counter() - t0) / lime.cost()
    old = 3 * curve_copies() * lime_per_image  # three maps
    print(json.dumps({
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": _cpu_name(),
        "cpus": os.cpu_count(), "loadavg_before": [round(x, 1) for x in load_before],
        "loadavg_after": [round(x, 1) for x in os.getloadavg()],
        "model": MODEL, "steps": faithfulness.STEPS, "maps": 3,
        "forward_s_per_image_at_load": round(per_image, 4),
        "curves_s_per_image_measured": round(jobs.speed(MODEL, faithfulness.CURVES) or 0.0, 4),
        "lime_s_per_image": round(lime_per_image, 4),
        "first": {"photo": args.photo, "estimate_s": round(first_estimate, 1), "real_s": round(first_real, 1),
                  "ratio": round(first_estimate / first_real, 2)},
        "later": later,
        "lime_speed_estimate_s": round(old, 1), "lime_speed_ratio": round(old / first_real, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
