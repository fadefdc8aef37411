"""Command line: ``python -m explainers explain|evaluate|methods|models ...``.

``evaluate --metrics deletion,insertion,road_morf,...`` measures any registered metrics (plug-ins
included; ``--metrics list`` lists them), prints which method wins on which metric, and with
``--sanity`` runs the model-parameter randomisation check of each method.

Errors print one line on stderr and the exit status is non-zero; one bad image
does not stop the others, and leaves no partial output of its own.

Every method's options are built from what it declares (:class:`~explainers.parameters.Param`),
plug-ins included: ``explain --method M`` takes ``--PARAM`` (``--n-segments 30``), ``evaluate``
takes ``--METHOD-PARAM`` (``--lime-num-samples 100``) for each method it runs. No method is named here.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from tqdm import tqdm

from .errors import ExplainersError, ParameterError
from .evaluate import (
    DEFAULT_METRICS,
    PhotoFailure,
    ResultsWriter,
    collect_photos,
    comparisons,
    iter_evaluate,
    make_explainers,
    make_metrics,
    photo_keys,
    read_labels_csv,
    sanity_text,
    true_class,
    summary_document,
    summary_table,
    verdict_text,
    write_summary,
)
from .evaluate.outputs import write_parquet
from .files import atomic_write
from .batched import default_workers, failure_message, iter_explain_photos
from .images import IMAGE_SUFFIXES, image_files, load_image
from .metrics import DEFAULT_STEPS, METRICS, randomisation_check
from .plugins import metric_plugin_errors
from .methods.base import EXPLAINERS, builtin_explainers, get_explainer, list_explainers
from .models.build import load_model, weights_status
from .models.loaded import check_classes
from .models.registry import load_registry
from .overlays import explanation_picture
from .parameters import Param
from .plugins import plugin_errors

#: ``explain``'s own options: a method parameter with one of these names gets ``--METHOD-PARAM`` instead.
_EXPLAIN_OPTIONS = {"images", "model", "method", "topk", "targets", "models", "device", "out", "help"}


def _param_help(param: Param, methods: list[str]) -> str:
    text = f"{param.help}; {param.type.__name__} {param.range_text()}, default {param.default!r}"
    return f"{text} ({', '.join(methods)})"


def _add_explain_params(parser: argparse.ArgumentParser) -> None:
    """One ``--PARAM`` per parameter name of any method (values are checked against the chosen method)."""
    group = parser.add_argument_group("method parameters (each applies to the methods named after it)")
    by_name: dict[str, list[tuple[str, Param]]] = {}
    for method, cls in EXPLAINERS.items():
        for param in cls.parameters:
            by_name.setdefault(param.name, []).append((method, param))
    for name, owners in by_name.items():
        if name in _EXPLAIN_OPTIONS:  # a plug-in parameter called like an option: prefix it with its method
            for method, param in owners:
                group.add_argument(
                    f"--{method}-{name.replace('_', '-')}",
                    dest=f"param:{method}:{name}",
                    metavar="VALUE",
                    help=_param_help(param, [method]),
                )
            continue
        param = owners[0][1]
        group.add_argument(
            param.flag, dest=f"param::{name}", metavar="VALUE", help=_param_help(param, [m for m, _ in owners])
        )
        for alias in dict.fromkeys(a for _, p in owners for a in p.aliases):  # old spellings, not in --help
            group.add_argument(f"--{alias.replace('_', '-')}", dest=f"param::{name}", help=argparse.SUPPRESS)


def _add_evaluate_params(parser: argparse.ArgumentParser) -> None:
    """``--METHOD-PARAM`` for every parameter of every method, one group per method."""
    for method, cls in EXPLAINERS.items():
        if not cls.parameters:
            continue
        group = parser.add_argument_group(f"{cls.title} parameters (with --methods ...{method}...)")
        for param in cls.parameters:
            dest = f"param:{method}:{param.name}"
            group.add_argument(
                f"--{method}-{param.name.replace('_', '-')}",
                dest=dest,
                metavar="VALUE",
                help=f"{param.help}; {param.type.__name__} {param.range_text()}, default {param.default!r}",
            )
            for alias in param.aliases:
                group.add_argument(f"--{method}-{alias.replace('_', '-')}", dest=dest, help=argparse.SUPPRESS)


def _given_params(args: argparse.Namespace) -> dict[tuple[str, str], tuple[str, str]]:
    """``(method or "", param) -> (flag as typed, text)`` for every method flag given on the command line."""
    given = {}
    for dest, text in vars(args).items():
        if dest.startswith("param:") and text is not None:
            _, method, name = dest.split(":", 2)
            flag = f"--{method}-{name}" if method else f"--{name}"
            given[(method, name)] = (flag.replace("_", "-"), text)
    return given


def _parse_param(cls, name: str, flag: str, text: str):
    """The value of ``flag`` for method ``cls``, checked by its Param; a ParameterError naming the flag."""
    param = next(p for p in cls.parameters if p.name == name)
    try:
        return param.parse(text)
    except (ParameterError, TypeError) as exc:
        raise ParameterError(f"{flag}: {exc}") from None


def explain_params(args: argparse.Namespace) -> dict:
    """``explain``'s method parameters for ``--method``; a flag of another method is an error that says whose."""
    cls = EXPLAINERS[args.method]
    own = {p.name for p in cls.parameters}
    params = {}
    for (method, name), (flag, text) in _given_params(args).items():
        if (method and method != args.method) or name not in own:
            owners = [m for m, c in EXPLAINERS.items() if name in {p.name for p in c.parameters}]
            raise ParameterError(
                f"{flag} does not apply to --method {args.method} (its parameters: "
                f"{', '.join(p.flag for p in cls.parameters) or 'none'}); "
                f"it is a parameter of {', '.join(owners)}"
            )
        params[name] = _parse_param(cls, name, flag, text)
    return params


def evaluate_params(args: argparse.Namespace, methods: list[str]) -> dict[str, dict]:
    """``evaluate``'s ``--METHOD-PARAM`` values, per method; a flag of a method not run is an error."""
    params: dict[str, dict] = {}
    for (method, name), (flag, text) in _given_params(args).items():
        if method not in methods:
            raise ParameterError(
                f"{flag} is given but {method} is not in --methods ({', '.join(methods)}); add it or drop the flag"
            )
        params.setdefault(method, {})[name] = _parse_param(EXPLAINERS[method], name, flag, text)
    return params


def default_methods() -> str:
    """``evaluate``'s default ``--methods``: every built-in method (plug-ins are chosen by name)."""
    return ",".join(builtin_explainers())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="explainers", description="Explain image classifiers with CAM and SeCAM.")
    sub = parser.add_subparsers(dest="command", required=True)

    ex = sub.add_parser("explain", help="explain images and write overlays, maps and results.json")
    ex.add_argument("images", nargs="+", help="image files, or folders (their image files)")
    ex.add_argument("--model", default="efficientnet_lite0", help="registry name (default: efficientnet_lite0)")
    ex.add_argument(
        "--method",
        default=list_explainers()[0],
        choices=list_explainers(),
        help=f"explainer (default: {list_explainers()[0]}); `python -m explainers methods` lists them",
    )
    ex.add_argument("--topk", type=int, default=1, help="explain the top K classes (default: 1)")
    ex.add_argument("--targets", type=str, default=None, help="comma-separated class indices instead of the top K")
    ex.add_argument(
        "--models", type=Path, default=None, help="registry file (default: models.yaml or $EXPLAINERS_MODELS)"
    )
    ex.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ex.add_argument("--out", type=Path, required=True, help="output folder")
    _add_explain_params(ex)

    ev = sub.add_parser("evaluate", help="explain many photos with several methods and measure faithfulness")
    ev.add_argument("photos", nargs="?", help="folder, glob pattern (quote it) or image file")
    ev.add_argument("--model", default="efficientnet_lite0", help="registry name (default: efficientnet_lite0)")
    ev.add_argument(
        "--methods",
        default=default_methods(),
        help=f"comma-separated explainers from {', '.join(list_explainers())} (default: {default_methods()}); "
        "a random-map baseline row is always added",
    )
    ev.add_argument("--out", type=Path, default=None, help="output folder for results.csv and summary.json (required)")
    ev.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="CSV with file,class_index columns: explain the true class and report accuracy",
    )
    ev.add_argument("--limit", type=int, default=None, help="only the first N photos (sorted by name)")
    ev.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help=f"deletion/insertion steps (default {DEFAULT_STEPS})"
    )
    ev.add_argument(
        "--metrics",
        default=",".join(DEFAULT_METRICS),
        help=f"comma-separated metrics from {', '.join(METRICS)} (default: {','.join(DEFAULT_METRICS)}); "
        "`--metrics list` lists them with what each measures",
    )
    ev.add_argument(
        "--sanity",
        action="store_true",
        help="also run the model-parameter randomisation check of each method and print pass/fail",
    )
    ev.add_argument(
        "--sanity-photos",
        type=int,
        default=5,
        help="photos the sanity check explains after each randomisation step (the first ones; default 5)",
    )
    ev.add_argument(
        "--sanity-layers",
        type=int,
        default=0,
        help="randomise only the top N layer groups in the sanity check (default 0: all of them)",
    )
    ev.add_argument("--overlays", action="store_true", help="also write each method's picture to OUT/overlays/")
    ev.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    ev.add_argument(
        "--models", type=Path, default=None, help="registry file (default: models.yaml or $EXPLAINERS_MODELS)"
    )
    ev.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    _add_evaluate_params(ev)
    ev.add_argument(
        "--engine",
        default="local",
        choices=("local", "ray"),
        help="local: this process (default); ray: a Ray cluster (pip install 'ray[data]'), also writes results.parquet",
    )
    ev.add_argument(
        "--address",
        default=None,
        help="Ray: cluster address (auto, HEAD:6379 or ray://HEAD:10001; default: $RAY_ADDRESS or a new "
        "local instance)",
    )
    ev.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray: model replicas (default: GPUs / --num-gpus-per-worker, or CPUs - 1)",
    )
    ev.add_argument(
        "--num-gpus-per-worker",
        type=float,
        default=0.0,
        help="Ray: GPUs per replica (default 0: CPU workers; 0.5 puts two on a GPU)",
    )

    sa = sub.add_parser(
        "sanity", help="the model-parameter randomisation check of each method on a few photos: pass or fail"
    )
    sa.add_argument("photos", help="folder, glob pattern (quote it) or image file")
    sa.add_argument("--model", default="efficientnet_lite0", help="registry name (default: efficientnet_lite0)")
    sa.add_argument(
        "--methods", default=default_methods(), help=f"comma-separated explainers (default: {default_methods()})"
    )
    sa.add_argument("--labels", type=Path, default=None, help="CSV with file,class_index: check the true classes")
    sa.add_argument("--limit", type=int, default=5, help="the first N photos, sorted by name (default 5)")
    sa.add_argument("--layers", type=int, default=0, help="randomise only the top N layer groups (default 0: all)")
    sa.add_argument("--threshold", type=float, default=0.5, help="the rule's Spearman threshold (default 0.5)")
    sa.add_argument("--json", type=Path, default=None, help="also write every similarity to this JSON file")
    sa.add_argument(
        "--models", type=Path, default=None, help="registry file (default: models.yaml or $EXPLAINERS_MODELS)"
    )
    sa.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    _add_evaluate_params(sa)

    me = sub.add_parser("methods", help="list the explainers (built-in and plug-ins) with their parameters")
    me.add_argument("--json", action="store_true", help="as JSON")

    ls = sub.add_parser("models", help="list the registry and whether each model's weights are available offline")
    ls.add_argument("--models", type=Path, default=None, help="registry file")

    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            return _models(args)
        if args.command == "methods":
            return _methods(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "sanity":
            return _sanity_command(args)
        return _explain(args)
    except ExplainersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _models(args) -> int:
    from .models.weights import weights_size

    registry = load_registry(args.models)
    for name, spec in registry.specs.items():
        ok, detail = weights_status(spec)
        size, _ = weights_size(spec)
        size_text = "?" if size is None else f"{size / 1e6:.0f} MB"
        print(f"{name:24s} {'offline' if ok else 'needs download':15s} {size_text:>7s}  {spec.source}  ({detail})")
    for name, message in registry.errors.items():
        print(f"{name:24s} {'invalid':15s} {message}")
    return 0


def method_facts() -> list[dict]:
    """What ``methods`` prints: each method's name, title, source package, abilities and parameters."""
    return [
        {
            "name": name,
            "title": cls.title,
            "source": cls.source,
            "head": "GAP + linear" if cls.requires_exact_cam else "any",
            "superpixels": cls.uses_superpixels,
            "batch": cls.supports_batch,
            "parameters": [
                {
                    "name": p.name,
                    "flag": p.flag,
                    "type": p.type.__name__,
                    "default": p.default,
                    "range": p.range_text(),
                    "server_max": p.server_high,
                    "help": p.help,
                }
                for p in cls.parameters
            ],
        }
        for name, cls in EXPLAINERS.items()
    ]


def _methods(args) -> int:
    facts, errors = method_facts(), plugin_errors()
    if args.json:
        print(json.dumps({"methods": facts, "plugin_errors": errors}, indent=2, default=str))
        return 0
    for m in facts:
        print(
            f"{m['name']:10s} {m['title']}  [from {m['source']}]  head: {m['head']}; "
            f"superpixels: {'yes' if m['superpixels'] else 'no'}; batch: {'vectorised' if m['batch'] else 'per image'}"
        )
        for p in m["parameters"]:
            server = "" if p["server_max"] is None else f" (at most {p['server_max']} on the dashboard)"
            print(f"    {p['flag']:18s} {p['type']} {p['range']}{server}, default {p['default']!r}: {p['help']}")
        if not m["parameters"]:
            print("    (no parameters)")
    for name, message in errors.items():
        print(f"{name:10s} FAILED  {message}")
    return 0


def _explain(args) -> int:
    explainer = get_explainer(args.method, **explain_params(args))
    targets = None
    if args.targets:
        try:
            targets = [int(t) for t in args.targets.split(",") if t.strip()]
        except ValueError:
            raise OptionError(f"--targets must be comma-separated class indices, got '{args.targets}'") from None
    model = load_model(args.model, load_registry(args.models), device=args.device)
    check_classes(model.num_classes, targets, args.topk)  # once, before any image
    paths, failures = [], 0
    for given in args.images:  # a folder stands for its image files
        path = Path(given)
        if path.is_dir():
            found = image_files(path)
            if not found:
                failures += 1
                print(
                    f"error: {given}: is a folder with no image files in it ({', '.join(IMAGE_SUFFIXES)}); "
                    "give image files or a folder that holds some",
                    file=sys.stderr,
                )
            paths.extend(found)
        else:
            paths.append(path)
    args.out.mkdir(parents=True, exist_ok=True)

    stems: list[str] = []
    for path in paths:  # same file name in two folders: keep both outputs
        stem = path.stem
        for n in range(2, len(paths) + 2):
            if stem not in stems:
                break
            stem = f"{path.stem}_{n}"
        stems.append(stem)
    results: list[dict | None] = [None] * len(paths)
    # pictures are rendered, encoded and written beside the network (OpenCV and file writes release the GIL),
    # in a thread when a core is free of torch's threads, else here between photos
    writers = min(4, default_workers(model.device))
    with ThreadPoolExecutor(max_workers=max(1, writers), thread_name_prefix="explainers-write") as writer:
        pending: deque = deque()

        def collect(wait_for: int) -> int:
            failed = 0
            while len(pending) > wait_for:
                index, path, future = pending.popleft()
                try:
                    results[index] = future.result()
                except Exception as exc:  # noqa: BLE001 (one image's files; the others go on)
                    failed += 1
                    print(f"error: {failure_message(str(path), exc)}", file=sys.stderr)
            return failed

        for item in iter_explain_photos(explainer, model, [str(p) for p in paths], targets=targets, topk=args.topk):
            if item.error is not None:
                failures += 1
                print(f"error: {failure_message(item.name, item.error)}", file=sys.stderr)
                continue
            path = paths[item.index]
            assert item.image is not None  # an image without an error was decoded
            job = (path, stems[item.index], item.image, item.explanations, explainer, args.out)
            future: Future = Future()
            if writers:
                future = writer.submit(_write_explained, *job)
            else:
                try:
                    future.set_result(_write_explained(*job))
                except Exception as exc:  # noqa: BLE001 (reported by collect, as from a thread)
                    future.set_exception(exc)
            pending.append((item.index, path, future))
            failures += collect(wait_for=8)  # bounded: a few photos' pictures in memory
        failures += collect(wait_for=0)
    run = {
        "model": model.name,
        "method": explainer.name,
        "params": dict(explainer.params),
        "device": str(model.device),
        "images": [r for r in results if r is not None],
    }
    atomic_write(args.out / "results.json", json.dumps(run, indent=2).encode())
    print(f"explained {len(run['images'])} image(s) with {explainer.name} on {model.name}; wrote {args.out}")
    return 1 if failures else 0


def _write_explained(path: Path, stem: str, image: np.ndarray, explanations: list, explainer, out: Path) -> dict:
    """One image's pictures and maps (all rendered before any is written) and its ``results.json`` record."""
    files = {}
    for i, e in enumerate(explanations):
        name = explainer.output_stem(stem, i)
        picture = cv2.imencode(".jpg", explanation_picture(image, e)[..., ::-1])[1].tobytes()
        files[f"{name}.jpg"] = picture
        files[f"{name}.npy"] = _npy_bytes(e.saliency)
    for filename, data in files.items():
        atomic_write(out / filename, data)
    return {
        "image": str(path),
        "image_size": list(image.shape[:2]),
        "predictions": [
            {k: v for k, v in e.to_dict().items() if k not in ("method", "model", "params")}
            | {"files": [f"{explainer.output_stem(stem, i)}.jpg", f"{explainer.output_stem(stem, i)}.npy"]}
            for i, e in enumerate(explanations)
        ],
    }


def metric_names(text: str) -> list[str]:
    """``--metrics``' names, each registered; an unknown one is an error that lists the registered metrics."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise OptionError(
            f"--metrics: unknown metric '{unknown[0] if unknown else text}'; registered metrics (plug-ins "
            f"included): {', '.join(METRICS)}; `--metrics list` says what each measures"
        )
    return names


def list_metric_facts() -> str:
    """What ``evaluate --metrics list`` prints: each metric's name, direction, source and summary."""
    lines = []
    for name, cls in METRICS.items():
        params = ", ".join(f"{p.name}={p.default!r}" for p in cls.parameters) or "none"
        lines.append(f"{name:20s} {cls.title} ({cls.direction} is better) [from {cls.source}]")
        lines.append(f"    {cls.summary}; parameters: {params}")
    for name, message in metric_plugin_errors().items():
        lines.append(f"{name:20s} FAILED  {message}")
    return "\n".join(lines)


def _evaluate(args) -> int:
    if args.metrics.strip() == "list":
        print(list_metric_facts())
        return 0
    if args.photos is None or args.out is None:
        raise OptionError("evaluate needs the photos and --out DIR (or `--metrics list` alone)")
    names = metric_names(args.metrics)
    if args.steps != DEFAULT_STEPS and not {"deletion", "insertion"} & set(names):
        raise OptionError("--steps sets the deletion and insertion curves; add them to --metrics or drop --steps")
    if args.sanity_photos < 1 or args.sanity_layers < 0:
        raise OptionError("--sanity-photos must be >= 1 and --sanity-layers >= 0")
    photos = collect_photos(args.photos)
    if args.limit is not None:
        if args.limit < 1:
            raise OptionError(f"--limit must be >= 1, got {args.limit}")
        photos = photos[: args.limit]
    if not 1 <= args.steps <= 1000:
        raise OptionError(f"--steps must be in [1, 1000], got {args.steps}")
    labels = read_labels_csv(args.labels) if args.labels is not None else None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    params = evaluate_params(args, methods)
    curve_params = {"steps": args.steps}
    metrics = make_metrics(names, {m: curve_params for m in names if m in ("deletion", "insertion")})
    if args.engine == "ray":
        if args.overlays:
            raise OptionError(
                "--overlays is not available with --engine ray (the photos stay on the workers); "
                "run the photos you want pictures of with --engine local"
            )
    elif args.address is not None or args.workers is not None or args.num_gpus_per_worker:
        raise OptionError("--address, --workers and --num-gpus-per-worker apply to --engine ray only")
    registry = load_registry(args.models)
    model_name = registry.get(args.model).name  # an unknown model fails here, before anything starts
    args.out.mkdir(parents=True, exist_ok=True)
    if args.overlays:
        (args.out / "overlays").mkdir(exist_ok=True)
    bar = tqdm(total=len(photos), unit="photo", file=sys.stderr, disable=args.no_progress, dynamic_ncols=True)
    results, failures, interrupted = [], [], False
    # Ctrl-C or SIGTERM stops after the photo in hand and still writes the summary of the finished ones
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main_thread else None
    with ResultsWriter(args.out / "results.csv", names) as writer:

        def on_photo(key: str, rows: list, error: str | None) -> None:
            bar.update(1)
            bar.set_postfix_str(key[:40])
            if error is not None:
                failures.append(PhotoFailure(key, error))
                bar.write(f"error: {error}", file=sys.stderr)
                return
            writer.write(rows)
            results.extend(rows)

        try:
            if args.engine == "ray":
                explainers, device = _evaluate_ray(args, photos, labels, methods, params, metrics, on_photo)
            else:
                explainers, device = _evaluate_local(args, registry, photos, labels, methods, params, metrics, on_photo)
        except KeyboardInterrupt:
            interrupted = True
            bar.write("interrupted: summarising the photos finished so far", file=sys.stderr)
            explainers, device = make_explainers(methods, registry.get(args.model), params), args.device or "auto"
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
            bar.close()
    if args.engine == "ray":
        write_parquet(results, args.out / "results.parquet")
    checks = None
    if args.sanity and not interrupted:
        checks = _sanity(args, registry, explainers, results, photos)
    compared = comparisons(results)
    document = summary_document(
        results,
        failures,
        model=model_name,
        device=device,
        explainers=explainers,
        steps=args.steps,
        labels=str(args.labels) if args.labels else None,
        interrupted=interrupted,
        engine="ray" if args.engine == "ray" else None,
        metrics=metrics,
        sanity=checks,
        compared=compared,
    )
    write_summary(args.out, document)
    print(summary_table(document))
    if compared:
        print(verdict_text(compared))
    if checks:
        print(sanity_text(checks))
    on = f"{model_name} (Ray)" if args.engine == "ray" else model_name
    print(
        f"evaluated {document['photos']} photo(s) with {', '.join(explainers)} on {on}; "
        f"{len(failures)} failed; wrote {args.out}"
    )
    if interrupted:
        return 130
    return 1 if failures else 0


def _sanity(args, registry, explainers, results, photos) -> dict:
    """The randomisation check of each method on the first ``--sanity-photos`` photos evaluated, for their class."""
    model = load_model(args.model, registry, device=args.device)
    classes = {r.file: r.class_index for r in results}
    keys = list(classes)[: args.sanity_photos]
    if not keys:
        raise OptionError("--sanity: no photo was evaluated, so there is nothing to check the methods on")
    by_key = dict(zip(photo_keys(photos), photos))
    images = [load_image(by_key[k]) for k in keys]
    print(
        f"sanity check: {', '.join(explainers)} on {len(images)} photo(s), randomising "
        f"{args.sanity_layers or 'all'} layer group(s) of {model.name} from the top...",
        file=sys.stderr,
    )
    return randomisation_check(
        model, list(explainers.values()), images, [classes[k] for k in keys], layers=args.sanity_layers
    )


def _sanity_command(args) -> int:
    """``sanity``: each method's randomisation check on the first ``--limit`` photos; pass/fail printed."""
    if args.limit < 1 or args.layers < 0:
        raise OptionError(f"--limit must be >= 1 and --layers >= 0, got {args.limit} and {args.layers}")
    photos = collect_photos(args.photos)[: args.limit]
    labels = read_labels_csv(args.labels) if args.labels is not None else None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    params = evaluate_params(args, methods)
    model = load_model(args.model, load_registry(args.models), device=args.device)
    explainers = make_explainers(methods, model, params)
    keys = photo_keys(photos)
    classes = None if labels is None else [true_class(labels, k) for k in keys]
    images = [load_image(p) for p in photos]
    checks = randomisation_check(
        model, list(explainers.values()), images, classes, threshold=args.threshold, layers=args.layers
    )
    if args.json is not None:
        document = {"model": model.name, "photos": keys, "checks": {n: c.to_dict() for n, c in checks.items()}}
        atomic_write(args.json, json.dumps(document, indent=2).encode())
    print(sanity_text(checks))
    return 0


def _evaluate_local(args, registry, photos, labels, methods, params, metrics, on_photo) -> tuple[dict, str]:
    """The local engine, photo by photo; ``on_photo`` gets each photo's rows (and writes its overlays)."""
    model = load_model(args.model, registry, device=args.device)
    explainers = make_explainers(methods, model, params)
    for outcome in iter_evaluate(model, photos, explainers, labels, metrics=metrics):
        on_photo(outcome.file, outcome.results, None if outcome.failure is None else outcome.failure.message)
        if args.overlays and outcome.failure is None:
            _write_overlays(args.out / "overlays", outcome)
    return explainers, str(model.device)


def _evaluate_ray(args, photos, labels, methods, params, metrics, on_photo) -> tuple[dict, str]:
    """The Ray engine; ``on_photo`` gets each photo's rows as they arrive."""
    from .evaluate.ray import evaluate_with_ray, quiet_ray_data, require_ray

    quiet_ray_data(require_ray())
    evaluate_with_ray(
        photos,
        model=args.model,
        methods=methods,
        labels=labels,
        address=args.address,
        workers=args.workers,
        num_gpus_per_worker=args.num_gpus_per_worker,
        registry=args.models,
        device=args.device,
        params=params,
        on_photo=on_photo,
        metrics=metrics,
    )
    return make_explainers(
        methods, load_registry(args.models).get(args.model), params
    ), args.device or "auto (each worker)"


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _write_overlays(folder: Path, outcome) -> None:
    """Each method's picture of one photo, as ``{key with / as __}_{method}.jpg``."""
    stem = str(Path(outcome.file).with_suffix("")).replace("/", "__").replace("\\", "__")
    for name, e in outcome.explanations.items():
        picture = cv2.imencode(".jpg", explanation_picture(outcome.image, e)[..., ::-1])[1].tobytes()
        atomic_write(folder / f"{stem}_{name}.jpg", picture)


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array.astype(np.float32))
    return buf.getvalue()


class OptionError(ExplainersError, ValueError):
    """A bad command-line option."""
