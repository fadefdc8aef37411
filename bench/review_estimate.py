"""The Review page's "Create the study" estimate against the real time of the preparation.

Run from the repository root::

    PYTHONPATH=$PWD .venv/bin/python bench/review_estimate.py [--photos chelsea coffee astronaut]

Runs the page's own job work (:func:`ui.views.review.study_job`: CAM vs SeCAM on ``efficientnet_lite0``,
both maps and their AUCs, 20 steps) into a throw-away store twice. The first study is compared with two estimates:
from the model's forward time per image measured at its load (a fresh server), and from the faithfulness
curves' speed after one measurement on another photo (what the page uses then); the second study with the
estimate from the speed the first one left (``ui.compute.jobs.speed(model, "study")``). Prints one JSON object (machine, date, seconds, ratios).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explainers import progress  # noqa: E402
from explainers.metrics import DEFAULT_STEPS  # noqa: E402
from explainers_team.access import User  # noqa: E402
from explainers_team.review import DEFAULT_QUESTION, default_conditions  # noqa: E402
from explainers_team.review.studies import Photo  # noqa: E402
from explainers_team.store import Store  # noqa: E402
from ui.compute import faithfulness, models, photos  # noqa: E402
from ui.views import review  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", nargs="+", default=["chelsea", "coffee", "astronaut"])
    args = parser.parse_args()
    a, b = default_conditions()
    chosen = [Photo(name, review.sample_bytes(name)) for name in args.photos]
    load_before = os.getloadavg()
    per_image = models.seconds_per_image(a.model)
    runs = []
    fresh = review.study_estimate(a, b, len(chosen), True, DEFAULT_STEPS)  # nothing measured yet
    # one faithfulness measurement (Compare's button) on another photo sets the curves' speed
    image = photos.sample_image("rocket")
    model = models.get_model(a.model)
    [e] = a.explainer().explain(model, image)
    [item] = [i for i in faithfulness.plan([a, a], [e.class_index] * 2, "sample:rocket") if i.condition is not None]
    faithfulness.measure(item, image, e.saliency)
    after_curves = review.study_estimate(a, b, len(chosen), True, DEFAULT_STEPS)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(data_dir=Path(folder) / "data")
        for run in range(2):
            estimate = review.study_estimate(a, b, len(chosen), True, DEFAULT_STEPS)
            work = review.study_job(store, User("bench"), f"Bench {run}", DEFAULT_QUESTION, a, b, chosen,
                                    measure=True, steps=DEFAULT_STEPS)
            t0 = time.perf_counter()
            with progress.tracking(progress.Progress()):
                work()
            real = time.perf_counter() - t0
            if run == 0:
                runs.append({"estimate_from": "forward time at load (a fresh server)", "estimate_s": round(fresh, 1),
                             "real_s": round(real, 1), "ratio": round(fresh / real, 2)})
            runs.append({"estimate_from": "curves' speed" if run == 0 else "last study",
                         "estimate_s": round(estimate if run else after_curves, 1), "real_s": round(real, 1),
                         "ratio": round((estimate if run else after_curves) / real, 2)})
    print(json.dumps({
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 1) for x in load_before],
        "loadavg_after": [round(x, 1) for x in os.getloadavg()], "photos": args.photos,
        "forward_s_per_image_at_load": round(per_image, 4), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
