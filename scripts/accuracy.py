"""Top-1 / top-5 accuracy of a registry model on a labelled folder (default: $EXPLAINERS_SAMPLE_DIR or ../shared/imagenet-sample).

Usage: .venv/bin/python scripts/accuracy.py [--model efficientnet_lite0] [--dir DIR] [--limit N] [--protocol whole|crop]
The folder needs labels.csv with columns file,class_index.

``whole`` (default) is what the explainers use: the whole photo resized to the input size, so
the map covers the whole photo. ``crop`` is the usual ImageNet evaluation protocol (short side
to 256/224 of the input size, bicubic, centre crop), for comparison with published accuracy.
"""

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import explainers  # noqa: E402
from photos import sample_dir, sample_reason  # noqa: E402


def centre_crop(image, size: int):
    """Short side to size * 256 / 224 (bicubic), then the central size x size square."""
    from PIL import Image
    import numpy as np

    im = Image.fromarray(image)
    scale = size * 256 / 224 / min(im.size)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.BICUBIC)
    left, top = (im.width - size) // 2, (im.height - size) // 2
    return np.array(im.crop((left, top, left + size, top + size)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--dir", type=Path, default=sample_dir(), help="folder with labels.csv")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--protocol", choices=("whole", "crop"), default="whole")
    args = parser.parse_args()
    if args.dir is None or not (args.dir / "labels.csv").is_file():
        parser.error(f"--dir needs a folder with labels.csv ({sample_reason()})")
    with open(args.dir / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))[: args.limit]
    model = explainers.load_model(args.model)
    top1 = top5 = 0
    for row in rows:
        image = explainers.load_image(args.dir / row["file"])
        if args.protocol == "crop":
            image = centre_crop(image, model.input_size)
        top = model.forward(image).top(5)
        top1 += top[0] == int(row["class_index"])
        top5 += int(row["class_index"]) in top
    n = len(rows)
    print(f"{args.model} ({args.protocol}) on {n} photos of {args.dir.name}: top-1 {top1}/{n} = {top1 / n:.1%}, top-5 {top5}/{n} = {top5 / n:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
