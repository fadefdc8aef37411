"""OpenCV-contrib's ximgproc SLIC against scikit-image's SLIC (the reference), speed and agreement (issue 20).

ximgproc lives in ``opencv-contrib-python-headless``, which replaces the project's ``opencv-python-headless``
(both install a ``cv2``), so this runs in two steps: the segmentations in a throw-away virtual environment
with the contrib build, then the agreement (boundary recall, SeCAM maps' correlation with the top-1 CAM) in
the project's environment::

    python3.11 -m venv /tmp/cvx && /tmp/cvx/bin/pip install opencv-contrib-python-headless scikit-image
    /tmp/cvx/bin/python bench/slic_ximgproc.py segment --photos 30 --out /tmp/xslic
    .venv/bin/python bench/slic_ximgproc.py agree --out /tmp/xslic

Both run on each photo's SLIC working copy (long side 640, as SeCAM), one thread, interleaved.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def sample_paths(n: int) -> list[Path]:
    folder = Path(os.environ.get("EXPLAINERS_SAMPLE_DIR", ROOT.parent / "shared" / "imagenet-sample"))
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))[:n]


def segment(photos: int, out: Path, n_segments: int = 50, compactness: float = 10.0) -> None:
    import cv2
    from PIL import Image
    from skimage.segmentation import slic

    cv2.setNumThreads(1)
    out.mkdir(parents=True, exist_ok=True)
    times = {"ximgproc": [], "skimage": []}
    for i, path in enumerate(sample_paths(photos)):
        image = np.asarray(Image.open(path).convert("RGB"))
        h, w = image.shape[:2]
        scale = min(1.0, 640 / max(h, w))
        small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        region = max(4, int(round(np.sqrt(small.shape[0] * small.shape[1] / n_segments))))

        def ours():
            lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
            s = cv2.ximgproc.createSuperpixelSLIC(lab, algorithm=cv2.ximgproc.SLIC, region_size=region,
                                                  ruler=compactness)
            s.iterate(10)
            s.enforceLabelConnectivity(25)
            return s.getLabels()

        def reference():
            return slic(small, n_segments=n_segments, compactness=compactness, start_label=1)

        runs = [("ximgproc", ours), ("skimage", reference)]
        labels = {}
        for name, fn in (runs if i % 2 == 0 else runs[::-1]):
            t0 = time.perf_counter()
            labels[name] = fn()
            times[name].append(time.perf_counter() - t0)
        np.savez_compressed(out / f"{path.stem}.npz", small=small, **labels)
    ratio = np.median(np.array(times["skimage"]) / np.array(times["ximgproc"]))
    print(f"{photos} photos: ximgproc median {1e3 * np.median(times['ximgproc']):.0f} ms, scikit-image "
          f"{1e3 * np.median(times['skimage']):.0f} ms; ximgproc {ratio:.2f}x faster (median of per-photo ratios)")


def agree(out: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import explainers
    from test_secam import boundary_recall, secam_map

    model = explainers.load_model("efficientnet_lite0", device="cpu")
    cam = explainers.get_explainer("cam")
    recall, counts, r = [], [], []
    for f in sorted(out.glob("*.npz")):
        d = np.load(f)
        ref, ours = d["skimage"], d["ximgproc"]
        recall.append(boundary_recall(ref, ours))
        counts.append((len(np.unique(ours)), len(np.unique(ref))))
        [e] = cam.explain(model, d["small"])
        a, b = secam_map(e.class_map, ours), secam_map(e.class_map, ref)
        r.append(float(np.corrcoef(a.ravel(), b.ravel())[0, 1]))
    r_arr = np.array(r)
    print(f"{len(r)} photos: boundary recall mean {np.mean(recall):.3f} (5th percentile {np.percentile(recall, 5):.3f}); "
          f"segments ximgproc/skimage median {np.median([c[0] for c in counts]):.0f}/{np.median([c[1] for c in counts]):.0f}; "
          f"SeCAM r mean {r_arr.mean():.3f}, 5th percentile {np.percentile(r_arr, 5):.3f}, share >= 0.97 {(r_arr >= 0.97).mean():.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("segment", "agree"))
    parser.add_argument("--photos", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("/tmp/xslic"))
    args = parser.parse_args()
    segment(args.photos, args.out) if args.step == "segment" else agree(args.out)


if __name__ == "__main__":
    main()
