"""Benchmark for issue 14: input paths, CAM top-1 vs a plain classifier, local vs Ray, and files -> CAM maps on a GPU.

Run from the repository root::

    .venv/bin/python bench/inputs.py --threads 2 --out bench/results/inputs-cpu.json        # this 2-core machine
    .venv/bin/python bench/inputs.py --sections engines --engine-photos 16                  # local vs Ray only
    bash bench/gpu_scale.sh                                                                 # on a CUDA machine

Sections (``--sections``, comma-separated):

- ``input_path``: photos/s of plain Pillow decode + resize, of :func:`explainers.inputs.prepare_input`
  and of ``load_image`` + ``LoadedModel.preprocess``, over the sample files, in a thread pool of each
  ``--threads`` count (interleaved rounds, medians); and the same on 4x-upscaled JPEGs (draft decoding).
- ``cam_vs_classifier``: per photo (decoded), interleaved medians of a plain classifier call
  (torchvision's ``resize``/``to_tensor``/``normalize`` on the PIL image, then the network), CAM top-1,
  CAM top-5, ours bare forward, and the preprocessing before issue 14's fix (channels-last strides).
- ``engines``: ``evaluate`` (CAM, deletion/insertion) on ``--engine-photos`` photos with the local
  engine and with Ray on a local instance; photos/s and the overhead.
- ``one_photo``: CAM top-1/top-5 on one decoded photo vs the bare forward, and the same through the base
  class's one-class-at-a-time loop (what CAM did before issue 14).
- ``gpu``: nvJPEG decode + resize alone, files -> CAM maps (fp32 and bf16 + channels_last; maps at
  each photo's size copied back, left on the GPU, or at feature resolution), files -> bare forward,
  the network alone on tensors, and CAM top-1/top-5 on one photo vs the bare forward.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import explainers  # noqa: E402
from explainers.inputs import InputFailure, decode_resize, iter_cam_maps, prepare_input, to_batch  # noqa: E402

from benchmark import SAMPLE_DIR, interleaved, machine, sync  # noqa: E402


def sample_paths(n: int | None) -> list[Path]:
    paths = sorted(SAMPLE_DIR.glob("*.JPEG"))
    if not paths:
        sys.exit(f"no sample photos in {SAMPLE_DIR}; set EXPLAINERS_SAMPLE_DIR")
    return paths[:n] if n else paths


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


# -- input path ----------------------------------------------------------------------------------------
def input_path(model, paths: list[Path], threads: list[int], reps: int) -> dict:
    size, mean, std = model.input_size, model.spec.mean, model.spec.std
    large = []
    for p in paths[:16]:
        im = Image.open(p).convert("RGB")
        buf = io.BytesIO()
        im.resize((im.width * 4, im.height * 4), Image.BICUBIC).save(buf, "JPEG", quality=90)
        large.append((p.name, buf.getvalue()))

    def pillow(source):
        src = io.BytesIO(source[1]) if isinstance(source, tuple) else source
        with Image.open(src) as im:
            return np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR))

    def ours(source):  # the same output as pillow(): the S x S RGB bytes (normalising happens per batch)
        return prepare_input(source, size).pixels

    def project(source):
        return model.preprocess(explainers.load_image(source[1] if isinstance(source, tuple) else source))

    out = {}
    for label, sources in (("sample", paths), ("upscaled_4x", large)):
        for t in threads:
            section(f"input path, {label} ({len(sources)} photos), {t} threads: photos/s (median of {reps})")
            torch.set_num_threads(1)  # the pool's threads are the parallelism; torch ops here are tiny
            with ThreadPoolExecutor(max_workers=t) as pool:
                run = {name: (lambda f=f: list(pool.map(f, sources)))
                       for name, f in (("pillow_decode_resize", pillow), ("prepare_input", ours),
                                       ("load_image_preprocess", project))}
                # with the normalisation of the whole list as one batch (what iter_cam_maps does per batch)
                run["prepare_input_to_batch"] = lambda: to_batch(
                    list(pool.map(lambda s: prepare_input(s, size), sources)), mean, std)
                times = interleaved(run, reps, torch.device("cpu"))
            rates = {k: len(sources) / v for k, v in times.items()}
            rates["prepare_input_vs_pillow"] = rates["prepare_input"] / rates["pillow_decode_resize"]
            rates["load_image_preprocess_vs_pillow"] = rates["load_image_preprocess"] / rates["pillow_decode_resize"]
            rates["prepare_input_to_batch_vs_pillow"] = rates["prepare_input_to_batch"] / rates["pillow_decode_resize"]
            for k, v in rates.items():
                print(f"  {k:34s} {v:10.3f}")
            out[f"{label}_threads{t}"] = rates
    return out


# -- CAM top-1 vs a plain classifier -------------------------------------------------------------------
def cam_vs_classifier(model, paths: list[Path], reps: int, device) -> dict:
    from torchvision.transforms import functional as TF

    section(f"CAM vs a plain classifier ({len(paths)} photos, {reps} interleaved reps, medians; "
            f"torch threads {torch.get_num_threads()})")
    cam = explainers.get_explainer("cam")
    net, size = model.network, model.input_size
    mean, std = list(model.spec.mean), list(model.spec.std)
    rows, cpu_rows = [], []
    for p in paths:
        image = explainers.load_image(p)
        pil = Image.fromarray(image)

        def plain():
            x = TF.normalize(TF.to_tensor(TF.resize(pil, [size, size])), mean, std)
            with torch.inference_mode():
                return net(x[None].to(device)).softmax(1).topk(1)

        def bare():
            with torch.inference_mode():
                return net(model.preprocess(image)[None].to(device))

        def old_preprocess():  # before issue 14: the permuted (channels-last strided) tensor went to the network
            resized = np.array(Image.fromarray(image).resize((size, size), Image.BILINEAR))
            x = torch.from_numpy(resized).permute(2, 0, 1).float().div_(255.0)
            x = (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
            with torch.inference_mode():
                return net(x[None].to(device))

        cpu: dict[str, float] = {}
        times = interleaved({"plain_classifier": plain, "bare_forward": bare, "old_preprocess_forward": old_preprocess,
                             "cam_top1": lambda: cam.explain(model, image),
                             "cam_top5": lambda: cam.explain(model, image, topk=5)}, reps, device, cpu)
        rows.append(times)
        cpu_rows.append(cpu)
    med = {k: float(np.median([r[k] for r in rows])) for k in rows[0]}
    ratios = {"cam_top1_vs_plain": float(np.median([r["cam_top1"] / r["plain_classifier"] for r in rows])),
              "cam_top5_vs_plain": float(np.median([r["cam_top5"] / r["plain_classifier"] for r in rows])),
              "cam_top1_vs_bare": float(np.median([r["cam_top1"] / r["bare_forward"] for r in rows])),
              "cam_top5_vs_bare": float(np.median([r["cam_top5"] / r["bare_forward"] for r in rows])),
              "old_preprocess_forward_vs_plain": float(np.median([r["old_preprocess_forward"] / r["plain_classifier"]
                                                                  for r in rows])),
              "bare_vs_plain": float(np.median([r["bare_forward"] / r["plain_classifier"] for r in rows]))}
    # process CPU time (all threads): far less disturbed than wall time when other jobs hold the cores
    for a, b in (("cam_top1", "plain_classifier"), ("cam_top5", "plain_classifier"),
                 ("old_preprocess_forward", "plain_classifier"), ("bare_forward", "plain_classifier")):
        ratios[f"cpu_time_{a}_vs_{b}"] = float(np.median([r[a] / r[b] for r in cpu_rows]))
    for k, v in med.items():
        print(f"  {k:34s} {v * 1000:8.2f} ms")
    for k, v in ratios.items():
        print(f"  {k:34s} {v:8.3f}x")
    return {"ms": {k: v * 1000 for k, v in med.items()}, **ratios}


# -- engines -------------------------------------------------------------------------------------------
def engines(paths: list[Path], steps: int, ray_cpus: int) -> dict:
    from explainers.evaluate import evaluate_dataset

    section(f"evaluate (cam, {steps} steps) on {len(paths)} photos: local engine vs Ray (local instance, "
            f"{ray_cpus} CPUs)")
    t0 = time.perf_counter()
    local, _ = evaluate_dataset(paths, methods=["cam"], engine="local", steps=steps, device="cpu")
    local_s = time.perf_counter() - t0
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=ray_cpus, include_dashboard=False, logging_level="ERROR")
    init_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        remote, failures = evaluate_dataset(paths, methods=["cam"], engine="ray", steps=steps, device="cpu")
        ray_s = time.perf_counter() - t0
    finally:
        ray.shutdown()
    same = all(a.predicted_class == b.predicted_class and abs(a.deletion_auc - b.deletion_auc) <= 1e-6
               for a, b in zip(local, remote)) and len(local) == len(remote)
    out = {"photos": len(paths), "local_s": local_s, "ray_init_s": init_s, "ray_s": ray_s,
           "local_photos_per_s": len(paths) / local_s, "ray_photos_per_s": len(paths) / ray_s,
           "ray_photos_per_s_with_init": len(paths) / (ray_s + init_s),
           "ray_overhead_s": ray_s - local_s, "same_results": same, "ray_failures": len(failures)}
    for k, v in out.items():
        print(f"  {k:30s} {v}")
    return out


# -- GPU ------------------------------------------------------------------------------------------------
def rate(fn: Callable[[], int], device, reps: int) -> float:
    """Median photos/s of ``fn`` (which returns how many photos it did) over ``reps`` runs after a warm-up."""
    fn()
    rates = []
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        n = fn()
        sync(device)
        rates.append(n / (time.perf_counter() - t0))
    return float(np.median(rates))


def gpu(model, paths: list[Path], repeat: int, batch: int, workers: int, reps: int, device) -> dict:
    section(f"files -> maps on {device}: {len(paths)} photos x {repeat}, batch {batch}, {workers} reading threads")
    sources = [p for _ in range(repeat) for p in paths]
    size, mean, std = model.input_size, model.spec.mean, model.spec.std
    out: dict = {}
    pool = ThreadPoolExecutor(max_workers=workers)

    def decode_only() -> int:
        n = 0
        for start in range(0, len(sources), batch):
            n += sum(1 for r in decode_resize(sources[start:start + batch], size, device=device, pool=pool)
                     if not isinstance(r, InputFailure))
        return n

    from explainers.inputs import _header, _name_and_data

    def read_headers_only() -> int:  # the CPU side of decode_resize: read each file, parse its header
        return sum(1 for _ in pool.map(lambda src: _header(*_name_and_data(src)), sources))

    encoded = [torch.frombuffer(bytearray(_name_and_data(p)[1]), dtype=torch.uint8) for p in paths]
    encoded = [e for _ in range(repeat) for e in encoded]

    def nvjpeg_call_only() -> int:  # torchvision's batched decode_jpeg alone, bytes already in memory
        from torchvision.io import ImageReadMode, decode_jpeg
        n = 0
        for start in range(0, len(encoded), batch):
            n += len(decode_jpeg(encoded[start:start + batch], mode=ImageReadMode.RGB, device=device))
        return n

    def maps(**kw) -> Callable[[], int]:
        def run() -> int:
            return sum(1 for r in iter_cam_maps(model, sources, batch_size=batch, workers=workers, **kw)
                       if not isinstance(r, InputFailure))
        return run

    def bare_from_files() -> int:  # same decoding, the network alone (no hook, no maps)
        n = 0
        for start in range(0, len(sources), batch):
            inputs = [r for r in decode_resize(sources[start:start + batch], size, device=device, pool=pool)
                      if not isinstance(r, InputFailure)]
            with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16,
                                                        enabled=model.autocast_bf16):
                x = to_batch(inputs, mean, std)
                if model.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                model.network(x).float().cpu()
            n += len(inputs)
        return n

    def cpu_decode_maps() -> int:
        return maps(decoder="cpu")()

    def synthetic(with_cam: bool) -> Callable[[], int]:
        x = torch.randn(batch, 3, size, size, device=device)
        weight, _ = model.classifier_weights()

        def run() -> int:
            from explainers.methods.cam import cam_maps
            for _ in range(4):
                if with_cam:
                    logits, features = model.forward_batch(x)
                    cam_maps(weight, features, logits.topk(1, dim=1).indices)
                else:
                    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16,
                                                                enabled=model.autocast_bf16):
                        xx = x.contiguous(memory_format=torch.channels_last) if model.channels_last else x
                        model.network(xx)
            return 4 * batch
        return run

    for precision in ("fp32", "bf16_channels_last"):
        model.set_fast_math(bf16=precision != "fp32", channels_last=precision != "fp32")
        r = {}
        r["network_alone_tensors"] = rate(synthetic(False), device, reps)
        r["forward_cam_tensors"] = rate(synthetic(True), device, reps)
        if precision == "fp32":
            r["read_and_headers_only"] = rate(read_headers_only, device, reps)
            r["nvjpeg_call_only"] = rate(nvjpeg_call_only, device, reps)
            r["nvjpeg_decode_resize"] = rate(decode_only, device, reps)
            r["files_maps_cpu_decoder"] = rate(cpu_decode_maps, device, max(1, reps // 2))
        r["files_bare_forward"] = rate(bare_from_files, device, reps)
        r["files_maps_photo_size_to_cpu"] = rate(maps(), device, reps)
        r["files_maps_photo_size_on_gpu"] = rate(maps(to_cpu=False), device, reps)
        r["files_maps_feature_res_on_gpu"] = rate(maps(upsample=False, to_cpu=False), device, reps)
        r["files_maps_top5_photo_size_on_gpu"] = rate(maps(topk=5, to_cpu=False), device, reps)
        section(f"{precision}: photos/s (median of {reps})")
        for k, v in r.items():
            print(f"  {k:40s} {v:10.1f}")
        out[precision] = r
    model.set_fast_math(False, False)
    pool.shutdown()

    out["one_photo"] = one_photo(model, paths, reps, device)
    return out


def one_photo(model, paths: list[Path], reps: int, device) -> dict:
    """CAM top-1 / top-5 on one decoded photo vs the bare forward; the batched K maps vs one class at a time."""
    from explainers.methods.base import Explainer

    section("one photo at a time: CAM top-1 / top-5 vs bare forward (preprocess + network), interleaved medians")
    cam = explainers.get_explainer("cam")
    rows = []
    for p in paths[:12]:
        image = explainers.load_image(p)

        def bare():
            with torch.inference_mode():
                return model.network(model.preprocess(image)[None].to(device)).cpu()

        rows.append(interleaved({"bare": bare, "top1": lambda: cam.explain(model, image),
                                 "top5": lambda: cam.explain(model, image, topk=5),
                                 "loop_top1": lambda: Explainer.explain(cam, model, image),
                                 "loop_top5": lambda: Explainer.explain(cam, model, image, topk=5)}, reps * 3, device))
    out = {"bare_ms": float(np.median([r["bare"] for r in rows])) * 1000}
    for k in ("top1", "top5", "loop_top1", "loop_top5"):
        out[f"{k}_vs_bare"] = float(np.median([r[k] / r["bare"] for r in rows]))
    for k, v in out.items():
        print(f"  {k:20s} {v:8.3f}")
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", default="input_path,cam_vs_classifier,engines")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", default="2", help="comma-separated thread counts for input_path")
    parser.add_argument("--torch-threads", type=int, default=None, help="torch threads for cam_vs_classifier")
    parser.add_argument("--photos", type=int, default=None, help="sample photos to use (default all 200)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--cam-photos", type=int, default=12)
    parser.add_argument("--engine-photos", type=int, default=16)
    parser.add_argument("--engine-steps", type=int, default=20)
    parser.add_argument("--ray-cpus", type=int, default=2)
    parser.add_argument("--gpu-repeat", type=int, default=10, help="the photo list repeated this many times")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    model = explainers.load_model("efficientnet_lite0", device=device)
    paths = sample_paths(args.photos)
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "command": " ".join([sys.executable.split("/")[-1], *sys.argv]), "device": str(device)}
    print(json.dumps(result, indent=1))
    wanted = args.sections.split(",")
    torch_threads = torch.get_num_threads() if args.torch_threads is None else args.torch_threads
    if "input_path" in wanted:
        result["input_path"] = input_path(model, paths, [int(t) for t in args.threads.split(",")], args.reps)
    torch.set_num_threads(torch_threads)
    if "cam_vs_classifier" in wanted:
        result["cam_vs_classifier"] = cam_vs_classifier(model, paths[:args.cam_photos], args.reps, device)
    if "engines" in wanted:
        result["engines"] = engines(paths[:args.engine_photos], args.engine_steps, args.ray_cpus)
    if "one_photo" in wanted:
        result["one_photo"] = one_photo(model, paths, args.reps, device)
    if "gpu" in wanted:
        result["gpu"] = gpu(model, paths, args.gpu_repeat, args.batch, args.workers, args.reps, device)
    result["loadavg_end"] = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
        print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
