"""Benchmark: every number of issue 6 as a ratio measured in one run, on the same photos and model.

Run from the repository root::

    .venv/bin/python bench/benchmark.py --photos 24 --out out/bench.json
    .venv/bin/python bench/benchmark.py --quick                      # smoke run, about a minute
    bash bench/gpu.sh                                                # on a CUDA machine

Timings on a shared machine are noisy, so every comparison is measured by
interleaving the variants (A, B, C, A, B, C, ...) on the same photo and taking
medians; the ratios, not the absolute times, are what the targets are about.
Benchmark-only packages (``lime``, ``torchcam``, ``grad-cam``) are listed in
``bench/requirements.txt``; a missing one is reported as "not available".
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import gc
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # lime's progress bar would flood the log

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402

import explainers  # noqa: E402
from explainers.batched import iter_explain_batch  # noqa: E402
from explainers.evaluate import collect_photos  # noqa: E402
from explainers.methods.secam import SeCAM, with_threshold  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from photos import sample_dir, sample_reason  # noqa: E402

SAMPLE_DIR = sample_dir()  # $EXPLAINERS_SAMPLE_DIR (e.g. on a GPU machine) or ../shared/imagenet-sample
TARGETS = {
    "cam_top1_vs_forward": ("<=", 1.10),
    "cam_top5_vs_forward": ("<=", 1.15),
    "secam_vs_forward_plus_slic": ("<=", 1.10),
    "secam_12mp_seconds": ("<=", 0.60),
    "lime_over_secam": (">=", 300.0),
    "threshold_change_ms": ("<=", 150.0),
    "batch_cam_vs_forward_throughput": (">=", 0.85),
}


# -- helpers -------------------------------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(variants: dict[str, Callable[[], object]], reps: int, device: torch.device,
                cpu: dict[str, float] | None = None) -> dict[str, float]:
    """Median wall seconds of each variant, run round-robin ``reps`` times after one warm-up round.

    If ``cpu`` is given it receives each variant's median process CPU seconds (all threads), which a
    busy shared machine disturbs far less than wall time.
    """
    times: dict[str, list[float]] = {k: [] for k in variants}
    cpus: dict[str, list[float]] = {k: [] for k in variants}
    for rep in range(reps + 1):
        order = list(variants.items())
        order = order[rep % len(order):] + order[:rep % len(order)]  # rotate: no variant always runs first
        for name, fn in order:
            sync(device)
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            sync(device)
            if rep:
                times[name].append(time.perf_counter() - t0)
                cpus[name].append(time.process_time() - c0)
    if cpu is not None:
        cpu.update({k: float(np.median(v)) for k, v in cpus.items()})
    return {k: float(np.median(v)) for k, v in times.items()}


def rss_mb() -> float:
    try:
        import psutil
        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # Linux fallback
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def machine() -> dict[str, object]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    info = {"nproc": os.cpu_count(), "cpu": cpu, "ram": ram, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "loadavg_start": open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def bare_forward(model: explainers.LoadedModel) -> Callable[[np.ndarray], torch.Tensor]:
    """What a plain classifier does: the same preprocessing and network, no hook, no map."""
    def run(image: np.ndarray) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast(model.device.type, dtype=torch.bfloat16,
                                                    enabled=model.autocast_bf16):
            x = model.preprocess(image)[None].to(model.device)
            if model.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            return model.network(x)
    return run


def photos(n: int) -> tuple[list[Path], list[tuple[str, np.ndarray]]]:
    """The first ``n`` ImageNet sample files, and decoded photos: those plus a few from skimage.data."""
    paths = collect_photos(SAMPLE_DIR)[:n]
    decoded = [(p.name, explainers.load_image(p)) for p in paths]
    from skimage import data
    for name in ("astronaut", "coffee", "chelsea")[: max(1, min(3, n // 8))]:
        decoded.append((f"skimage.data.{name}", np.ascontiguousarray(getattr(data, name)())))
    return paths, decoded


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


# -- the measurements ----------------------------------------------------------------------------------
def per_photo(model, decoded, reps: int, device) -> dict:
    section(f"per photo: bare forward, CAM, SeCAM ({len(decoded)} photos, {reps} interleaved reps, medians)")
    cam, secam = explainers.get_explainer("cam"), explainers.get_explainer("secam")
    seq = explainers.get_explainer("secam")
    seq.overlap_slic = False
    par = explainers.get_explainer("secam")
    par.overlap_slic = True
    bare = bare_forward(model)
    rows = []
    cpu: dict[str, float] = {}
    for name, image in decoded:
        fp = model.forward(image)
        segments = explainers.slic_segments(image, 50, 10.0)
        t = interleaved({
            "bare": lambda: bare(image),
            "forward": lambda: model.forward(image),
            "cam1": lambda: cam.explain(model, image, topk=1),
            "cam5": lambda: cam.explain(model, image, topk=5),
            "slic": lambda: explainers.slic_segments(image, 50, 10.0),
            "secam": lambda: secam.explain(model, image),
            "secam_seq": lambda: seq.explain(model, image),
            "secam_overlap": lambda: par.explain(model, image),
            "scoring": lambda: secam.explain(model, image, forward=fp, segments=segments),
        }, reps, device, cpu)
        t["cpu"] = dict(cpu)
        t["name"], t["size"] = name, list(image.shape[:2])
        rows.append(t)
        print(f"  {name[:28]:28s} {image.shape[1]}x{image.shape[0]}  bare {t['bare']*1e3:6.1f} ms  "
              f"cam1 {t['cam1'] / t['bare']:.3f}x  cam5 {t['cam5'] / t['bare']:.3f}x  slic {t['slic']*1e3:6.1f} ms  "
              f"secam {t['secam'] / (t['bare'] + t['slic']):.3f}x (seq {t['secam_seq'] / (t['bare'] + t['slic']):.3f}x,"
              f" overlap {t['secam_overlap'] / (t['bare'] + t['slic']):.3f}x)", flush=True)
    med = lambda f: float(np.median([f(r) for r in rows]))  # noqa: E731
    out = {
        "rows": rows,
        "bare_forward_ms": med(lambda r: r["bare"]) * 1e3,
        "cam_top1_vs_forward": med(lambda r: r["cam1"] / r["bare"]),
        "cam_top5_vs_forward": med(lambda r: r["cam5"] / r["bare"]),
        "secam_forward_ms": med(lambda r: r["forward"]) * 1e3,
        "secam_slic_ms": med(lambda r: r["slic"]) * 1e3,
        "secam_scoring_ms": med(lambda r: r["scoring"]) * 1e3,
        "secam_vs_forward_plus_slic": med(lambda r: r["secam"] / (r["bare"] + r["slic"])),
        "secam_sequential_vs_forward_plus_slic": med(lambda r: r["secam_seq"] / (r["bare"] + r["slic"])),
        "secam_overlapped_vs_forward_plus_slic": med(lambda r: r["secam_overlap"] / (r["bare"] + r["slic"])),
        "secam_default_overlaps": SeCAM()._overlap(),
        "cpu_time_ratios": {
            "cam_top1_vs_forward": med(lambda r: r["cpu"]["cam1"] / r["cpu"]["bare"]),
            "cam_top5_vs_forward": med(lambda r: r["cpu"]["cam5"] / r["cpu"]["bare"]),
            "secam_vs_forward_plus_slic": med(lambda r: r["cpu"]["secam"] / (r["cpu"]["bare"] + r["cpu"]["slic"])),
        },
    }
    print(f"  median: CAM top-1 {out['cam_top1_vs_forward']:.3f}x, top-5 {out['cam_top5_vs_forward']:.3f}x bare forward "
          f"({out['bare_forward_ms']:.1f} ms); SeCAM = forward {out['secam_forward_ms']:.1f} + SLIC "
          f"{out['secam_slic_ms']:.1f} + scoring {out['secam_scoring_ms']:.1f} ms, "
          f"{out['secam_vs_forward_plus_slic']:.3f}x (forward + SLIC) [default overlaps: {out['secam_default_overlaps']}]"
          f"; CPU-time ratios {({k: round(v, 3) for k, v in out['cpu_time_ratios'].items()})}")
    return out


def twelve_mp(model, image: np.ndarray, reps: int, device, full_slic: bool) -> dict:
    section("12 MP photo (4000x3000 upscaled from a real photo; decoding excluded)")
    big = cv2.resize(image, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    secam, cam = explainers.get_explainer("secam"), explainers.get_explainer("cam")
    bare = bare_forward(model)
    cpu: dict[str, float] = {}
    t = interleaved({"secam": lambda: secam.explain(model, big), "cam": lambda: cam.explain(model, big),
                     "bare": lambda: bare(big)}, reps, device, cpu)
    [e] = secam.explain(model, big)
    thr = interleaved({"threshold": lambda: with_threshold(e, 0.5)}, max(5, reps * 3), device)["threshold"]
    out = {"secam_12mp_seconds": t["secam"], "cam_12mp_seconds": t["cam"], "bare_12mp_seconds": t["bare"],
           "secam_12mp_timings": {k: round(v, 4) for k, v in e.timings.items()},
           "threshold_change_ms": thr * 1e3, "slic_max_side": secam.params["slic_max_side"],
           "secam_12mp_cpu_seconds": cpu["secam"], "cam_12mp_cpu_seconds": cpu["cam"]}
    if full_slic:
        t0 = time.perf_counter()
        explainers.slic_segments(big, 50, 10.0)
        out["slic_full_resolution_12mp_seconds"] = time.perf_counter() - t0
    print(f"  SeCAM {t['secam']:.3f} s wall, {cpu['secam']:.3f} s CPU (one run's split: {out['secam_12mp_timings']}); CAM {t['cam']:.3f} s; "
          f"bare forward {t['bare']:.3f} s; threshold change {thr * 1e3:.1f} ms"
          + (f"; SLIC at full resolution alone {out['slic_full_resolution_12mp_seconds']:.2f} s" if full_slic else ""))
    return out


def lime_vs_secam(model, image: np.ndarray, samples: int, device) -> dict:
    section(f"LIME (lime package, {samples} samples, same SLIC segments, batched classifier_fn) vs SeCAM")
    try:
        from lime import lime_image
    except ImportError:
        print("  not available (pip install -r bench/requirements.txt)")
        return {"lime": "not available"}
    def classifier_fn(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.stack([model.preprocess(np.ascontiguousarray(im, dtype=np.uint8)) for im in batch]).to(model.device)
            if model.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=model.autocast_bf16):
                return torch.softmax(model.network(x).float(), dim=1).cpu().numpy()

    secam = explainers.get_explainer("secam")
    t_secam = interleaved({"secam": lambda: secam.explain(model, image)}, 5, device)["secam"]
    explainer = lime_image.LimeImageExplainer(random_state=0)
    t0 = time.perf_counter()
    explainer.explain_instance(image, classifier_fn, top_labels=1, hide_color=0, num_samples=samples,
                               batch_size=8 if device.type == "cpu" else 64,  # LIME's best batch here, like ours
                               segmentation_fn=lambda im: explainers.slic_segments(im, 50, 10.0), random_seed=0)
    t_lime = time.perf_counter() - t0
    t_secam2 = interleaved({"secam": lambda: secam.explain(model, image)}, 5, device)["secam"]
    t_secam = float(np.median([t_secam, t_secam2]))  # before and after LIME, against drift in machine load
    # opt-in: SLIC on a 256-px working copy even for ordinary photos (approximate edges, see BENCHMARKS.md)
    small = explainers.get_explainer("secam", slic_max_side=256)
    t_small = interleaved({"secam256": lambda: small.explain(model, image)}, 5, device)["secam256"]
    out = {"lime_seconds": t_lime, "lime_samples": samples, "secam_seconds": t_secam, "lime_over_secam": t_lime / t_secam,
           "secam_slic_max_side_256_seconds": t_small, "lime_over_secam_slic_max_side_256": t_lime / t_small}
    print(f"  LIME {t_lime:.2f} s, SeCAM {t_secam * 1e3:.1f} ms: SeCAM is {out['lime_over_secam']:.0f}x faster; "
          f"with slic_max_side=256 (opt-in, approximate) {t_small * 1e3:.1f} ms: {t_lime / t_small:.0f}x")
    return out


def peers(model, decoded, reps: int, device) -> dict:
    section("Grad-CAM and peers (ours/theirs: below 1 means ours is faster)")
    out: dict[str, object] = {}
    name, image = decoded[0]
    cam = explainers.get_explainer("cam")
    bare = bare_forward(model)
    size = image.shape[:2]
    variants: dict[str, Callable[[], object]] = {"bare": lambda: bare(image), "ours_cam": lambda: cam.explain(model, image)}
    has_gradcam = "gradcam" in explainers.list_explainers()
    if has_gradcam:
        gradcam = explainers.get_explainer("gradcam")
        variants["ours_gradcam"] = lambda: gradcam.explain(model, image)
    else:
        print("  Grad-CAM (ours): not available (no 'gradcam' in explainers.list_explainers())")
    # the peers hook the network; each gets its own copy so no hook of theirs touches our model
    import torch.nn.functional as F
    try:
        from torchcam.methods import CAM as TorchCamCAM
        tc_net = copy.deepcopy(model.network)
        tc = TorchCamCAM(tc_net, target_layer=model.feature_layer, fc_layer=model.classifier,
                         input_shape=(3, model.input_size, model.input_size))

        def torchcam_cam():
            with torch.no_grad():
                x = model.preprocess(image)[None].to(model.device)
                scores = tc_net(x)
                [m] = tc(int(scores[0].argmax()), scores)
                return F.interpolate(m[None].float(), size=size, mode="bilinear", align_corners=False)[0, 0].cpu()
        variants["torchcam_cam"] = torchcam_cam
        ours_map = cam.explain(model, image)[0].saliency
        theirs = torchcam_cam().numpy()
        out["torchcam_cam_max_abs_diff"] = float(np.abs(ours_map - theirs).max())
    except ImportError:
        print("  torch-cam: not available")
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        pg_net = copy.deepcopy(model.network)
        pg = GradCAM(model=pg_net, target_layers=[pg_net.get_submodule(model.feature_layer)])

        def pytorch_grad_cam():
            x = model.preprocess(image)[None].to(model.device)
            with torch.no_grad():
                top = int(pg_net(x)[0].argmax())
            [m] = pg(input_tensor=x, targets=[ClassifierOutputTarget(top)])
            return cv2.resize(m.astype(np.float32), size[::-1], interpolation=cv2.INTER_LINEAR)
        variants["pytorch_grad_cam"] = pytorch_grad_cam
    except ImportError:
        print("  pytorch-grad-cam: not available")
    t = interleaved(variants, reps, device)
    out["times_ms"] = {k: v * 1e3 for k, v in t.items()}
    if "torchcam_cam" in t:
        out["ours_cam_over_torchcam_cam"] = t["ours_cam"] / t["torchcam_cam"]
        print(f"  CAM: ours {t['ours_cam']*1e3:.1f} ms / torch-cam {t['torchcam_cam']*1e3:.1f} ms = "
              f"{out['ours_cam_over_torchcam_cam']:.3f} (maps differ by at most {out['torchcam_cam_max_abs_diff']:.2g})")
    if has_gradcam:
        out["gradcam_vs_forward"] = t["ours_gradcam"] / t["bare"]
        print(f"  Grad-CAM (ours): {t['ours_gradcam']*1e3:.1f} ms = {out['gradcam_vs_forward']:.2f}x bare forward")
    else:
        out["gradcam"] = "not available"
    if "pytorch_grad_cam" in t:
        out["pytorch_grad_cam_vs_forward"] = t["pytorch_grad_cam"] / t["bare"]
        line = f"  GradCAM: pytorch-grad-cam {t['pytorch_grad_cam']*1e3:.1f} ms"
        if has_gradcam:
            out["ours_gradcam_over_pytorch_grad_cam"] = t["ours_gradcam"] / t["pytorch_grad_cam"]
            line += f", ours/theirs = {out['ours_gradcam_over_pytorch_grad_cam']:.3f}"
        print(line)
    with contextlib.suppress(Exception):
        pg.activations_and_grads.release()
    return out


def throughput(model, paths: list[Path], batch_size: int | None, workers: int, reps: int, device) -> dict:
    batch_size = batch_size or (4 if device.type == "cpu" else 64)
    section(f"batch throughput over {len(paths)} sample files (decode in {workers} threads, batch {batch_size})")
    cam = explainers.get_explainer("cam")

    def load(p):
        return model.preprocess(explainers.load_image(p))

    def bare_pipeline():
        with ThreadPoolExecutor(workers) as pool, torch.inference_mode():
            futures = [pool.submit(load, p) for p in paths]  # the same decode-ahead as explain_batch
            for i in range(0, len(paths), batch_size):
                x = torch.stack([f.result() for f in futures[i:i + batch_size]]).to(model.device)
                if model.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=model.autocast_bf16):
                    model.network(x).float().cpu()

    def cam_pipeline():
        for _ in iter_explain_batch(cam, model, paths, topk=1, batch_size=batch_size, workers=workers):
            pass

    def per_image():
        for p in paths:
            cam.explain(model, explainers.load_image(p))

    t = interleaved({"bare": bare_pipeline, "cam_batch": cam_pipeline, "cam_per_image": per_image}, reps, device)
    n = len(paths)
    out = {"photos": n, "bare_photos_per_s": n / t["bare"], "cam_batch_photos_per_s": n / t["cam_batch"],
           "cam_per_image_photos_per_s": n / t["cam_per_image"],
           "batch_cam_vs_forward_throughput": t["bare"] / t["cam_batch"]}
    print(f"  bare forward {out['bare_photos_per_s']:.1f} photos/s; batched CAM {out['cam_batch_photos_per_s']:.1f} "
          f"photos/s = {out['batch_cam_vs_forward_throughput']:.3f}x; per-image CAM {out['cam_per_image_photos_per_s']:.1f} photos/s")
    return out


def synthetic(model, batch: int, reps: int, device) -> dict:
    section(f"synthetic tensors already on the device, batch {batch}: network alone vs forward + CAM of every image")
    from explainers.methods.cam import cam_maps
    x = torch.randn(batch, 3, model.input_size, model.input_size, device=device)
    weight, _ = model.classifier_weights()

    def bare():
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=model.autocast_bf16):
            model.network(x.contiguous(memory_format=torch.channels_last) if model.channels_last else x)

    def with_cam():
        logits, features = model.forward_batch(x)
        cam_maps(weight, features, logits.argmax(1, keepdim=True))

    t = interleaved({"bare": bare, "cam": with_cam}, reps, device)
    out = {"batch": batch, "bare_images_per_s": batch / t["bare"], "cam_images_per_s": batch / t["cam"],
           "cam_vs_forward_throughput": t["bare"] / t["cam"]}
    print(f"  network {out['bare_images_per_s']:.0f} images/s, forward + CAM {out['cam_images_per_s']:.0f} images/s "
          f"= {out['cam_vs_forward_throughput']:.3f}x")
    return out


def memory(model, decoded, count: int) -> dict:
    section(f"memory: {count} explanations (CAM and SeCAM alternating) in this process")
    cam, secam = explainers.get_explainer("cam"), explainers.get_explainer("secam")
    images = [im for _, im in decoded]
    warm = max(10, count // 10)
    samples = []
    for i in range(count):
        (cam if i % 2 else secam).explain(model, images[i % len(images)], topk=2)
        if i + 1 == warm or (i + 1) % max(1, count // 5) == 0:
            gc.collect()
            samples.append((i + 1, rss_mb()))
    hooks = sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.network.modules())
    growth = samples[-1][1] - samples[0][1]
    out = {"explanations": count, "rss_mb_after": samples, "growth_mb_after_warmup": growth, "hooks_left": hooks,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available() and model.device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print(f"  RSS after {warm}: {samples[0][1]:.0f} MB, after {count}: {samples[-1][1]:.0f} MB (growth {growth:+.1f} MB); "
          f"hooks left {hooks}; peak RSS of the whole run {out['peak_rss_mb']:.0f} MB")
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--photos", type=int, default=24, help="ImageNet sample photos for per-photo timings")
    parser.add_argument("--batch-photos", type=int, default=None, help="files for the throughput run (default: all 200)")
    parser.add_argument("--reps", type=int, default=7, help="interleaved repetitions per measurement")
    parser.add_argument("--batch-size", type=int, default=None, help="default: explain_batch's (4 on CPU, 64 on GPU)")
    parser.add_argument("--workers", type=int, default=None, help="decoding threads (default: CPU count, at most 8)")
    parser.add_argument("--lime-samples", type=int, default=1000)
    parser.add_argument("--memory-count", type=int, default=300, help="explanations in the memory run")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (LoadedModel.set_fast_math)")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--synthetic-batch", type=int, default=None, help="default 256 on cuda, 32 on cpu")
    parser.add_argument("--no-full-slic", action="store_true", help="skip the naive full-resolution SLIC on 12 MP")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--sections", default="per_photo,twelve_mp,lime,peers,throughput,synthetic,memory",
                        help="comma-separated subset of sections to run")
    parser.add_argument("--quick", action="store_true", help="few photos and reps: a smoke run")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if SAMPLE_DIR is None:
        parser.error(sample_reason())
    if args.quick:
        args.photos, args.reps, args.lime_samples, args.memory_count = 2, 2, 100, 40
        args.batch_photos = args.batch_photos or 32
        args.no_full_slic = True
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    workers = args.workers or max(1, min(8, os.cpu_count() or 1))
    started = dt.datetime.now(dt.timezone.utc)
    results: dict[str, object] = {"date": started.isoformat(timespec="seconds"), "command": " ".join(sys.argv),
                                  "machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}
    print(f"benchmark {results['date']}  {results['machine']}")
    model = explainers.load_model(args.model, device=device)
    model.set_fast_math(bf16=args.bf16, channels_last=args.channels_last)
    results["model"], results["device"] = model.name, str(device)
    paths, decoded = photos(args.photos)
    wanted = set(args.sections.split(","))
    batch_paths = collect_photos(SAMPLE_DIR)[: args.batch_photos]
    runs = {
        "per_photo": lambda: per_photo(model, decoded, args.reps, device),
        "twelve_mp": lambda: twelve_mp(model, decoded[0][1], max(3, args.reps // 2), device, not args.no_full_slic),
        "lime": lambda: lime_vs_secam(model, decoded[0][1], args.lime_samples, device),
        "peers": lambda: peers(model, decoded, args.reps, device),
        "throughput": lambda: throughput(model, batch_paths, args.batch_size, workers, max(2, args.reps // 3), device),
        "synthetic": lambda: synthetic(model, args.synthetic_batch or (256 if device.type == "cuda" else 32),
                                       args.reps, device),
        "memory": lambda: memory(model, decoded, args.memory_count),
    }
    unknown = wanted - set(runs)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(runs)}")
    for name, run in runs.items():
        if name in wanted:
            results[name] = run()

    flat = {k: v for part in ("per_photo", "twelve_mp", "lime", "throughput") for k, v in results.get(part, {}).items()}
    section("targets")
    summary = {}
    for key, (op, bound) in TARGETS.items():
        value = flat.get(key)
        if value is None:
            continue
        met = None if not isinstance(value, float) else (value <= bound if op == "<=" else value >= bound)
        summary[key] = {"value": value, "target": f"{op} {bound}", "met": met}
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {key:36s} {shown:>10s}  target {op} {bound:<6}  {'met' if met else 'NOT met' if met is False else '-'}")
    if "memory" in results:
        growth = results["memory"]["growth_mb_after_warmup"]
        summary["memory_growth_mb"] = {"value": growth, "target": "flat (< 20 MB over the run)", "met": growth < 20}
        print(f"  {'memory_growth_mb':36s} {growth:10.1f}  target flat      {'met' if growth < 20 else 'NOT met'}")
    results["targets"] = summary
    results["seconds"] = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=float))
        print(f"\nwrote {args.out}")
    return results


if __name__ == "__main__":
    main()
