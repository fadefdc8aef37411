"""Command line: ``python -m explainers explain|models ...``.

Errors print one line on stderr and the exit status is non-zero; one bad image
does not stop the others, and leaves no partial output of its own.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .base import get_explainer, list_explainers
from .errors import ExplainersError
from .images import load_image
from .models.build import load_model, weights_status
from .models.registry import load_registry
from .overlays import explanation_picture


def output_stem(method: str, stem: str, rank: int, params: dict) -> str:
    """File stem of one output, named as the tutorial does."""
    if method == "secam":
        return f"SeCAM_{stem}_seg_{params['n_segments']}_ts_{params['threshold']}_{rank}"
    return f"{method.upper() if method == 'cam' else method}_{stem}_{rank}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m explainers", description="Explain image classifiers with CAM and SeCAM.")
    sub = parser.add_subparsers(dest="command", required=True)

    ex = sub.add_parser("explain", help="explain images and write overlays, maps and results.json")
    ex.add_argument("images", nargs="+", help="image files")
    ex.add_argument("--model", default="efficientnet_lite0", help="registry name (default: efficientnet_lite0)")
    ex.add_argument("--method", default="cam", choices=list_explainers(), help="explainer (default: cam)")
    ex.add_argument("--topk", type=int, default=1, help="explain the top K classes (default: 1)")
    ex.add_argument("--targets", type=str, default=None, help="comma-separated class indices instead of the top K")
    ex.add_argument("--segments", type=int, default=None, help="SeCAM: number of SLIC superpixels (default 50)")
    ex.add_argument("--compactness", type=float, default=None, help="SeCAM: SLIC compactness (default 10)")
    ex.add_argument("--threshold", type=float, default=None, help="SeCAM: keep superpixels above T x best (default 0.8)")
    ex.add_argument("--models", type=Path, default=None, help="registry file (default: models.yaml or $EXPLAINERS_MODELS)")
    ex.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ex.add_argument("--out", type=Path, required=True, help="output folder")

    ls = sub.add_parser("models", help="list the registry and whether each model's weights are available offline")
    ls.add_argument("--models", type=Path, default=None, help="registry file")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            return _models(args)
        return _explain(args)
    except ExplainersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _models(args) -> int:
    registry = load_registry(args.models)
    for name, spec in registry.specs.items():
        ok, detail = weights_status(spec)
        print(f"{name:24s} {'offline' if ok else 'needs download':15s} {spec.source}  ({detail})")
    for name, message in registry.errors.items():
        print(f"{name:24s} {'invalid':15s} {message}")
    return 0


def _explain(args) -> int:
    params = {}
    if args.method == "secam":
        for key, value in (("n_segments", args.segments), ("compactness", args.compactness), ("threshold", args.threshold)):
            if value is not None:
                params[key] = value
    elif any(v is not None for v in (args.segments, args.compactness, args.threshold)):
        raise ExplainersError_("--segments, --compactness and --threshold apply to --method secam only")
    explainer = get_explainer(args.method, **params)
    targets = None
    if args.targets:
        try:
            targets = [int(t) for t in args.targets.split(",") if t.strip()]
        except ValueError:
            raise ExplainersError_(f"--targets must be comma-separated class indices, got '{args.targets}'") from None
    model = load_model(args.model, load_registry(args.models), device=args.device)
    args.out.mkdir(parents=True, exist_ok=True)

    results, failures = [], 0
    for path in args.images:
        try:
            record = _explain_one(Path(path), model, explainer, targets, args.topk, args.out)
        except ExplainersError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        results.append(record)
    run = {"model": model.name, "method": explainer.name, "params": dict(explainer.params),
           "device": str(model.device), "images": results}
    _atomic_write(args.out / "results.json", json.dumps(run, indent=2).encode())
    print(f"explained {len(results)} image(s) with {explainer.name} on {model.name}; wrote {args.out}")
    return 1 if failures else 0


def _explain_one(path: Path, model, explainer, targets, topk: int, out: Path) -> dict:
    image = load_image(path)
    explanations = explainer.explain(model, image, targets=targets, topk=topk)
    stem = path.stem
    files = {}
    for i, e in enumerate(explanations):  # render everything first, write only when all succeeded
        name = output_stem(explainer.name, stem, i, e.params)
        picture = cv2.imencode(".jpg", explanation_picture(image, e)[..., ::-1])[1].tobytes()
        files[f"{name}.jpg"] = picture
        files[f"{name}.npy"] = _npy_bytes(e.saliency)
    for filename, data in files.items():
        _atomic_write(out / filename, data)
    return {
        "image": str(path),
        "image_size": list(image.shape[:2]),
        "predictions": [{k: v for k, v in e.to_dict().items() if k not in ("method", "model", "params")}
                        | {"files": [f"{output_stem(explainer.name, stem, i, e.params)}.jpg",
                                     f"{output_stem(explainer.name, stem, i, e.params)}.npy"]}
                        for i, e in enumerate(explanations)],
    }


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array.astype(np.float32))
    return buf.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so no half-written file is ever left."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ExplainersError_(ExplainersError, ValueError):
    """A bad command-line option."""
