"""Benchmark for issue 20 on the CPU: the batched engine against a plain classifier loop and against the code before it.

Run from the repository root (the ImageNet sample in ``$EXPLAINERS_SAMPLE_DIR`` or ``../shared/imagenet-sample``)::

    .venv/bin/python bench/engine.py --out bench/results/engine-cpu.json               # every section
    .venv/bin/python bench/engine.py --sections explain --explain-photos 48 --reps 5    # one section
    .venv/bin/python bench/engine.py --before /tmp/engine-before                         # "before" from a tree

Sections (``--sections``, comma-separated):

- ``explain``: ``explain FILES --method cam`` (the CLI's own code, the model loaded once beforehand) against
  a plain classifier loop over the same photos (Pillow decode + bilinear resize + normalise + the network,
  one photo at a time; and the same with batches of 4, the engine's CPU batch), interleaved in one process; run for the code
  before (``--before``) and after, each in its own process.
- ``evaluate``: ``iter_evaluate`` (what ``evaluate --methods cam,secam`` runs per photo; the CLI adds the
  CSV writer) over ``--evaluate-photos`` photos, photos/s, before and after, alternating processes.
- ``batch_page``: the Evaluate (Batch) page's run (``ui.views.evaluate.run_evaluation``) on 10 uploads with
  CAM + SeCAM, the page's defaults (quick parameters, 10 curve steps, server limits), before and after.
- ``slic``: ``slic_segments`` (OpenCV's Lab + scikit-image's clustering) against ``slic_reference``
  (scikit-image alone) on SLIC's working copy of the sample photos: per-photo time ratio (interleaved,
  one thread) and agreement (boundary recall at 2 px, segment counts, SeCAM map correlation with the
  top-1 CAM).

"Before" is the tree of the commit before issue 20 (``git archive 74ece73 | tar -x -C DIR``; this
script makes it when ``--before`` names a missing folder). Every process uses ``--threads`` torch
threads (default 2). Timings on a shared machine are noisy: ratios come from variants interleaved in
one run, medians over ``--reps``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_COMMIT = "74ece73"


def sample_dir() -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from photos import sample_dir as find, sample_reason

    folder = find()
    if folder is None:
        sys.exit(sample_reason())
    return folder


def sample_paths(n: int) -> list[Path]:
    return sorted(sample_dir().glob("*.JPEG"))[:n]


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"{platform.node()} {platform.machine()} nproc={os.cpu_count()} python {platform.python_version()} "
            f"load {load[0]:.1f}")


# -- children: one measurement in a process that imports the library from a given tree ---------------
def child(task: str, tree: Path, args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(tree))
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    import explainers
    from explainers.evaluate import iter_evaluate, make_explainers

    assert Path(explainers.__file__).resolve().is_relative_to(tree.resolve()), explainers.__file__
    model = explainers.load_model("efficientnet_lite0", device="cpu")
    if task == "evaluate":
        paths = sample_paths(args.evaluate_photos)
        made = make_explainers(["cam", "secam"], model)
        list(iter_evaluate(model, paths[:1], made, steps=args.steps))  # warm-up: first-call costs
        t0 = time.perf_counter()
        out = list(iter_evaluate(model, paths, made, steps=args.steps))
        seconds = time.perf_counter() - t0
        assert all(o.failure is None for o in out), [o.failure for o in out if o.failure]
        return {"seconds": seconds, "photos": len(paths), "photos_per_s": len(paths) / seconds}
    if task == "batch_page":
        sys.path.insert(1, str(tree))
        from ui.views import evaluate as page

        methods = ["cam", "secam"]
        made = make_explainers(methods, model, {m: page.initial_params(m) for m in methods}, server=True)
        uploads = [(p.name, p.read_bytes()) for p in sample_paths(10)]
        page.run_evaluation(model, uploads[:1], made, None, page.STEPS_RANGE[2])  # warm-up
        t0 = time.perf_counter()
        result = page.run_evaluation(model, uploads, made, None, page.STEPS_RANGE[2])
        seconds = time.perf_counter() - t0
        assert not result["failures"], result["failures"]
        return {"seconds": seconds, "photos": len(uploads), "steps": page.STEPS_RANGE[2],
                "params": {m: dict(e.params) for m, e in made.items()}}
    if task == "explain":
        return explain_vs_plain(model, sample_paths(args.explain_photos), args.reps, np, torch)
    raise SystemExit(f"unknown task {task}")


def explain_vs_plain(model, paths: list[Path], reps: int, np, torch) -> dict:
    """The CLI's explain (model preloaded) vs plain classifier loops, interleaved, in this process."""
    from PIL import Image

    from explainers import cli

    cli.load_model = lambda *a, **k: model  # the same model object: no load inside the timed call
    size = model.input_size
    mean = torch.tensor(model.spec.mean).view(3, 1, 1)
    std = torch.tensor(model.spec.std).view(3, 1, 1)

    def tensor(path):
        with Image.open(path) as im:
            small = im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        x = torch.from_numpy(np.asarray(small)).permute(2, 0, 1).contiguous().float().div_(255.0)
        return x.sub_(mean).div_(std)

    def plain():
        with torch.inference_mode():
            for p in paths:
                model.network(tensor(p)[None]).argmax(1)

    def plain_batched():
        with torch.inference_mode():
            for i in range(0, len(paths), 4):
                model.network(torch.stack([tensor(p) for p in paths[i:i + 4]])).argmax(1)

    out_dir = Path(tempfile.mkdtemp(prefix="bench-explain-"))

    def explain():
        code = cli.main(["explain", *map(str, paths), "--method", "cam", "--out", str(out_dir), "--device", "cpu"])
        assert code == 0

    variants = {"plain": plain, "plain_batched": plain_batched, "explain": explain}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for rep in range(reps + 1):
        order = list(variants.items())
        order = order[rep % len(order):] + order[:rep % len(order)]
        for name, fn in order:
            t0 = time.perf_counter()
            fn()
            if rep:  # the first round warms up
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(paths)
    return {"photos": n, "seconds": med, "photos_per_s": {k: n / v for k, v in med.items()},
            "explain_vs_plain": med["plain"] / med["explain"],
            "explain_vs_plain_batched": med["plain_batched"] / med["explain"],
            "outputs": sorted(p.name for p in out_dir.iterdir())[:3]}


def run_child(task: str, tree: Path, args: argparse.Namespace) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(args.threads)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--tree", str(tree),
           "--threads", str(args.threads), "--steps", str(args.steps), "--reps", str(args.reps),
           "--evaluate-photos", str(args.evaluate_photos), "--explain-photos", str(args.explain_photos)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
    if proc.returncode != 0:
        raise RuntimeError(f"{task} in {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def before_tree(path: Path) -> Path:
    if not (path / "explainers").is_dir():
        path.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", BEFORE_COMMIT], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive.stdout, check=True)
    return path


def alternating(task: str, trees: dict[str, Path], args: argparse.Namespace, rounds: int) -> dict:
    """``task`` in a fresh process per tree, the trees alternating, ``rounds`` times; medians and the after/before ratio."""
    runs: dict[str, list[dict]] = {k: [] for k in trees}
    for r in range(rounds):
        order = list(trees.items())
        order = order[r % len(order):] + order[:r % len(order)]
        for name, tree in order:
            result = run_child(task, tree, args)
            runs[name].append(result)
            print(f"  {task} {name} round {r + 1}: {result.get('seconds')}", flush=True)
    return {"runs": runs}


def slic_section(n: int) -> dict:
    """slic_segments vs slic_reference on SLIC's working copy: time ratio (interleaved) and agreement."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    import cv2
    import numpy as np
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    import explainers
    from explainers.methods.secam import working_size
    from test_secam import boundary_recall, secam_map

    model = explainers.load_model("efficientnet_lite0", device="cpu")
    cam = explainers.get_explainer("cam")
    ratios, ours_ms, ref_ms, recall, precision, count_ok, r_values = [], [], [], [], [], [], []
    for i, path in enumerate(sample_paths(n)):
        image = explainers.load_image(path)
        h, w = working_size(image.shape[:2], 640)
        small = image if (h, w) == image.shape[:2] else cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        runs = {"ours": lambda: explainers.slic_segments(small), "reference": lambda: explainers.slic_reference(small)}
        order = list(runs.items()) if i % 2 == 0 else list(runs.items())[::-1]
        took, labels = {}, {}
        for name, fn in order:
            t0 = time.perf_counter()
            labels[name] = fn()
            took[name] = time.perf_counter() - t0
        ratios.append(took["ours"] / took["reference"])
        ours_ms.append(took["ours"] * 1e3)
        ref_ms.append(took["reference"] * 1e3)
        recall.append(boundary_recall(labels["reference"], labels["ours"]))
        precision.append(boundary_recall(labels["ours"], labels["reference"]))
        count_ok.append(abs(len(np.unique(labels["ours"])) - len(np.unique(labels["reference"]))) <= 3)
        [e] = cam.explain(model, small)
        a, b = secam_map(e.class_map, labels["ours"]), secam_map(e.class_map, labels["reference"])
        r_values.append(float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) if a.std() > 0 and b.std() > 0 else 1.0)
    r = np.array(r_values)
    out = {"photos": n, "median_time_ratio": float(np.median(ratios)), "speed_up": 1 / float(np.median(ratios)),
           "median_ms_ours": float(np.median(ours_ms)), "median_ms_reference": float(np.median(ref_ms)),
           "boundary_recall_mean": float(np.mean(recall)), "boundary_recall_p5": float(np.percentile(recall, 5)),
           "boundary_precision_mean": float(np.mean(precision)), "segments_within_3": float(np.mean(count_ok)),
           "secam_r_mean": float(r.mean()), "secam_r_p5": float(np.percentile(r, 5)),
           "secam_r_share_ge_0_9": float((r >= 0.9).mean())}
    for k, v in out.items():
        print(f"  {k:26s} {v:.4g}" if isinstance(v, float) else f"  {k:26s} {v}")
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="explain,evaluate,batch_page,slic")
    parser.add_argument("--before", type=Path, default=Path(tempfile.gettempdir()) / "engine-before",
                        help=f"tree of the code before issue 20 (made with git archive {BEFORE_COMMIT} if missing)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads in every process (default 2)")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions in the explain section")
    parser.add_argument("--rounds", type=int, default=2, help="alternating before/after processes per section")
    parser.add_argument("--explain-photos", type=int, default=48)
    parser.add_argument("--evaluate-photos", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="curve steps for the evaluate section (CLI default)")
    parser.add_argument("--slic-photos", type=int, default=200)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.tree, args)))
        return {}
    trees = {"before": before_tree(args.before), "after": ROOT}
    started = dt.datetime.now(dt.timezone.utc)
    results: dict = {"date": started.isoformat(timespec="seconds"), "command": " ".join(sys.argv),
                     "machine": machine(), "before": f"git archive {BEFORE_COMMIT}", "threads": args.threads}
    print(f"bench/engine.py {results['date']} {results['machine']}", flush=True)
    wanted = args.sections.split(",")
    if "explain" in wanted:
        print("\n== explain FILES --method cam vs a plain classifier loop (each tree in its own process)", flush=True)
        results["explain"] = {name: run_child("explain", tree, args) for name, tree in trees.items()}
        for name, r in results["explain"].items():
            print(f"  {name}: explain {r['photos_per_s']['explain']:.1f} photos/s, plain loop "
                  f"{r['photos_per_s']['plain']:.1f}, plain batched {r['photos_per_s']['plain_batched']:.1f}; "
                  f"explain/plain {r['explain_vs_plain']:.3f}, explain/plain batched {r['explain_vs_plain_batched']:.3f}")
    for task, title in (("evaluate", f"iter_evaluate cam,secam, {args.evaluate_photos} photos, {args.steps} steps"),
                        ("batch_page", "the Batch page's run_evaluation, 10 uploads, CAM + SeCAM")):
        if task not in wanted:
            continue
        print(f"\n== {title}: before and after, alternating processes", flush=True)
        section = alternating(task, trees, args, args.rounds)
        med = {k: statistics.median(r["seconds"] for r in v) for k, v in section["runs"].items()}
        section["median_seconds"] = med
        section["speed_up"] = med["before"] / med["after"]
        n = section["runs"]["after"][0]["photos"]
        section["photos_per_s"] = {k: n / v for k, v in med.items()}
        print(f"  before {med['before']:.1f} s, after {med['after']:.1f} s: {section['speed_up']:.2f}x "
              f"({section['photos_per_s']['before']:.3f} -> {section['photos_per_s']['after']:.3f} photos/s)")
        results[task] = section
    if "slic" in wanted:
        print(f"\n== SLIC: slic_segments vs slic_reference on {args.slic_photos} sample photos (one thread)", flush=True)
        results["slic"] = slic_section(args.slic_photos)
    results["load_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, default=str))
        print(f"\nwrote {args.out}")
    return results


if __name__ == "__main__":
    main()
