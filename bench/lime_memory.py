"""Peak memory of LIME in the library by batch size (issue 18, finding D): the forward split bounds it.

Usage: .venv/bin/python bench/lime_memory.py SAMPLES BATCH_SIZE   (one process per measurement)

Loads the default model, explains scikit-image's chelsea with LIME (SAMPLES perturbed copies, BATCH_SIZE copies
per call), and prints the process's peak resident memory before and after the explanation.
"""

from __future__ import annotations

import resource
import sys

import explainers
from skimage import data


def main() -> None:
    samples, batch = int(sys.argv[1]), int(sys.argv[2])
    model = explainers.load_model("efficientnet_lite0")
    lime = explainers.get_explainer("lime", num_samples=samples, batch_size=batch)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    lime.explain(model, data.chelsea())
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"samples {samples}, batch {batch}: peak RSS {before} MB after loading, {after} MB after explaining")


if __name__ == "__main__":
    main()
