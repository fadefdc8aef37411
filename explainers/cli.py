"""Command line: ``python -m explainers explain|evaluate|models ...``.

Errors print one line on stderr and the exit status is non-zero; one bad image
does not stop the others, and leaves no partial output of its own.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np

from .base import get_explainer, list_explainers
from .errors import ExplainersError
from .images import load_image
from .models.build import load_model, weights_status
from .models.loaded import check_classes
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

    ev = sub.add_parser("evaluate", help="explain many photos with several methods and measure faithfulness")
    ev.add_argument("photos", help="folder, glob pattern (quote it) or image file")
    ev.add_argument("--model", default="efficientnet_lite0", help="registry name (default: efficientnet_lite0)")
    ev.add_argument("--methods", default="cam,secam,gradcam,lime",
                    help=f"comma-separated explainers from {', '.join(list_explainers())} (default: cam,secam,gradcam,lime); "
                         "a random-map baseline row is always added")
    ev.add_argument("--out", type=Path, required=True, help="output folder for results.csv and summary.json")
    ev.add_argument("--labels", type=Path, default=None,
                    help="CSV with file,class_index columns: explain the true class and report accuracy")
    ev.add_argument("--limit", type=int, default=None, help="only the first N photos (sorted by name)")
    ev.add_argument("--lime-samples", type=int, default=None, help="LIME's perturbed copies (default 1000)")
    ev.add_argument("--steps", type=int, default=20, help="deletion/insertion steps (default 20)")
    ev.add_argument("--overlays", action="store_true", help="also write each method's picture to OUT/overlays/")
    ev.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    ev.add_argument("--models", type=Path, default=None, help="registry file (default: models.yaml or $EXPLAINERS_MODELS)")
    ev.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ev.add_argument("--engine", default="local", choices=("local", "ray"),
                    help="local: this process (default); ray: a Ray cluster (pip install 'ray[data]'), "
                         "also writes results.parquet")
    ev.add_argument("--address", default=None,
                    help="Ray: cluster address (auto, HEAD:6379 or ray://HEAD:10001; default: $RAY_ADDRESS or a new "
                         "local instance)")
    ev.add_argument("--workers", type=int, default=None,
                    help="Ray: model replicas (default: GPUs / --num-gpus-per-worker, or CPUs - 1)")
    ev.add_argument("--num-gpus-per-worker", type=float, default=0.0,
                    help="Ray: GPUs per replica (default 0: CPU workers; 0.5 puts two on a GPU)")

    ls = sub.add_parser("models", help="list the registry and whether each model's weights are available offline")
    ls.add_argument("--models", type=Path, default=None, help="registry file")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            return _models(args)
        if args.command == "evaluate":
            return _evaluate(args)
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
    check_classes(model.num_classes, targets, args.topk)  # once, before any image
    args.out.mkdir(parents=True, exist_ok=True)

    results, failures, stems = [], 0, set()
    for path in args.images:
        path = Path(path)
        stem = path.stem
        for n in range(2, len(args.images) + 2):  # same file name in two folders: keep both outputs
            if stem not in stems:
                break
            stem = f"{path.stem}_{n}"
        try:
            record = _explain_one(path, stem, model, explainer, targets, args.topk, args.out)
        except ExplainersError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # a bug or an odd environment: still one line, and the other images go on
            failures += 1
            print(f"error: {path}: unexpected {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
            continue
        stems.add(stem)
        results.append(record)
    run = {"model": model.name, "method": explainer.name, "params": dict(explainer.params),
           "device": str(model.device), "images": results}
    _atomic_write(args.out / "results.json", json.dumps(run, indent=2).encode())
    print(f"explained {len(results)} image(s) with {explainer.name} on {model.name}; wrote {args.out}")
    return 1 if failures else 0


def _explain_one(path: Path, stem: str, model, explainer, targets, topk: int, out: Path) -> dict:
    image = load_image(path)
    explanations = explainer.explain(model, image, targets=targets, topk=topk)
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


def _evaluate(args) -> int:
    import csv

    from tqdm import tqdm

    from .evaluate import COLUMNS, collect_photos, make_explainers, read_labels_csv, summarize

    photos = collect_photos(args.photos)
    if args.limit is not None:
        if args.limit < 1:
            raise ExplainersError_(f"--limit must be >= 1, got {args.limit}")
        photos = photos[:args.limit]
    if not 1 <= args.steps <= 1000:
        raise ExplainersError_(f"--steps must be in [1, 1000], got {args.steps}")
    labels = read_labels_csv(args.labels) if args.labels is not None else None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.engine == "ray":
        from .engines.ray_engine import evaluate_cli

        return evaluate_cli(args, photos, labels, methods)
    if args.address is not None or args.workers is not None or args.num_gpus_per_worker:
        raise ExplainersError_("--address, --workers and --num-gpus-per-worker apply to --engine ray only")
    model = load_model(args.model, load_registry(args.models), device=args.device)
    explainers = make_explainers(methods, model, args.lime_samples)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.overlays:
        (args.out / "overlays").mkdir(exist_ok=True)

    results, failures, interrupted = [], 0, False
    # Ctrl-C or SIGTERM stops after the photo in hand and still writes the summary of the finished ones
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main_thread else None
    # rows are appended photo by photo, so an interrupted run keeps what it measured
    with (args.out / "results.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        bar = tqdm(photos, unit="photo", file=sys.stderr, disable=args.no_progress, dynamic_ncols=True)
        try:
            _evaluate_loop(args, bar, model, explainers, labels, writer, fh, results)
        except KeyboardInterrupt:
            interrupted = True
            bar.write("interrupted: summarising the photos finished so far", file=sys.stderr)
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
        bar.close()
    failures = sum(1 for r in results if r is None)
    results = [r for r in results if r is not None]
    summary = summarize(results)
    summary.update({"model": model.name, "device": str(model.device), "failed": failures,
                    "interrupted": interrupted,
                    "params": {name: dict(e.params) for name, e in explainers.items()},
                    "steps": args.steps, "labels": str(args.labels) if args.labels else None})
    _atomic_write(args.out / "summary.json", json.dumps(summary, indent=2).encode())
    print(_summary_table(summary))
    print(f"evaluated {summary['photos']} photo(s) with {', '.join(explainers)} on {model.name}; "
          f"{failures} failed; wrote {args.out}")
    if interrupted:
        return 130
    return 1 if failures else 0


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _evaluate_loop(args, bar, model, explainers, labels, writer, fh, results: list) -> None:
    """Evaluate each photo of ``bar``; append its rows to ``results`` (None for a failed photo)."""
    from .evaluate import evaluate_photo

    for index, path in enumerate(bar):
        bar.set_postfix_str(path.name[:40])
        try:
            true_class = None
            if labels is not None:
                if path.name not in labels:
                    raise ExplainersError_(f"{path.name}: not in labels file {args.labels}")
                true_class = labels[path.name]
                if not 0 <= true_class < model.num_classes:
                    raise ExplainersError_(f"{path.name}: class_index {true_class} is outside 0..{model.num_classes - 1}")
            image = load_image(path)
            rows, explanations = evaluate_photo(model, image, explainers, file=path.name, true_class=true_class,
                                                seed=index, steps=args.steps)
        except ExplainersError as exc:
            results.append(None)
            bar.write(f"error: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # one line, and the other photos and the summary still come
            results.append(None)
            bar.write(f"error: {path}: unexpected {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
            continue
        for row in rows:
            writer.writerow(row.row())
        fh.flush()
        results.extend(rows)
        if args.overlays:
            for name, e in explanations.items():
                picture = cv2.imencode(".jpg", explanation_picture(image, e)[..., ::-1])[1].tobytes()
                _atomic_write(args.out / "overlays" / f"{path.stem}_{name}.jpg", picture)


def _summary_table(summary: dict) -> str:
    """A plain-text table: mean deletion/insertion AUC and explain time per method."""
    lines = [f"{'method':10s} {'deletion AUC':>14s} {'insertion AUC':>14s} {'explain s':>10s}"]
    for name, entry in summary["methods"].items():
        fmt = lambda key, spec: "-" if entry[key]["mean"] is None else format(entry[key]["mean"], spec)  # noqa: E731
        lines.append(f"{name:10s} {fmt('deletion_auc', '.3f'):>14s} {fmt('insertion_auc', '.3f'):>14s} "
                     f"{fmt('explain_s', '.3f'):>10s}")
    if summary.get("accuracy"):
        lines.append(f"top-1 accuracy: {summary['accuracy']['top1']:.3f} on {summary['accuracy']['n']} photo(s)")
    return "\n".join(lines)


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
