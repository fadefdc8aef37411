"""Issue 20 on a GPU: files -> CAM maps with DataLoader worker processes vs NVIDIA DALI vs threads + nvJPEG,
top-5 CAM vs the forward pass, and ``evaluate --methods cam,secam`` photos/s on the batched engine.

One prepared run (``bench/gpu_engine.sh`` wraps it)::

    EXPLAINERS_SAMPLE_DIR=/path/to/imagenet-sample .venv/bin/python bench/gpu_engine.py --out out/gpu-engine.json
    .venv/bin/python bench/gpu_engine.py --device cpu --quick        # smoke run on a CPU-only machine

Sections (``--sections``):

- ``files_to_maps``: photos/s from JPEG files to the top-1 CAM map of every photo at the photo's own size,
  copied back to the CPU (the issue's measure: lite0, fp32, the sample photos x ``--repeat``), three ways:
  ``dataloader`` (a ``torch.utils.data.DataLoader`` whose ``--workers`` worker processes decode with
  :func:`explainers.inputs.prepare_input`, draft mode, pinned memory: file reading leaves the GIL of the
  process that drives the GPU), ``dali`` (NVIDIA DALI's file reader + nvJPEG "mixed" decoder + resize +
  normalise on the GPU; ``pip install nvidia-dali-cuda130``, skipped with the reason when missing) and
  ``threads`` (:func:`explainers.inputs.iter_cam_maps`: reading in threads, nvJPEG, the code of issue 14).
  Variants interleaved, medians of ``--reps``; the top-1 classes of the three are compared.
- ``top5``: CAM top-1 / top-5 on one decoded photo vs the bare forward pass (``bench/inputs.py one_photo``).
- ``evaluate``: the batched engine (:func:`explainers.evaluate.iter_evaluate`) on ``--evaluate-photos``
  photos with CAM + SeCAM and 20 curve steps, photos/s; and the same without the curves (maps only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.utils.data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import explainers  # noqa: E402
from explainers.inputs import _mean_std, _to_host, _upsample_groups, iter_cam_maps, prepare_input  # noqa: E402
from explainers.methods.cam import cam_maps  # noqa: E402

from benchmark import SAMPLE_DIR, machine  # noqa: E402


class SampleFiles(torch.utils.data.Dataset):
    """The files, decoded in the DataLoader's worker processes: ``(S, S, 3)`` uint8 pixels and ``(H, W)``."""

    def __init__(self, files: list[Path], size: int) -> None:
        self.files, self.size = files, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        x = prepare_input(self.files[i], self.size, draft=True)
        return x.pixels, torch.tensor(x.image_size)


def maps_of_batch(model, weight, x: torch.Tensor, sizes: list[tuple[int, int]]) -> tuple[torch.Tensor, list]:
    """The network on a normalised batch, the top-1 CAM of each photo upsampled to its size, copied to the CPU."""
    logits, features = model.forward_batch(x)
    classes = logits.argmax(1, keepdim=True)
    _, normalised = cam_maps(weight, features, classes)
    maps = _to_host(_upsample_groups(normalised, sizes))
    return classes[:, 0].cpu(), maps


def run_dataloader(model, files, batch, workers, device) -> tuple[int, list[int]]:
    weight, _ = model.classifier_weights()
    loader = torch.utils.data.DataLoader(SampleFiles(files, model.input_size), batch_size=batch, num_workers=workers,
                                         pin_memory=device.type == "cuda", prefetch_factor=4 if workers else None,
                                         persistent_workers=False)
    done, top = 0, []
    for pixels, sizes in loader:
        x = pixels.to(device, non_blocking=True).permute(0, 3, 1, 2)  # what to_batch does, on the whole tensor
        x = x.to(torch.float32, memory_format=torch.contiguous_format).div_(255.0)
        mean, std = _mean_std(tuple(model.spec.mean), tuple(model.spec.std), device)
        x = x.sub_(mean).div_(std)
        classes, maps = maps_of_batch(model, weight, x, [tuple(s.tolist()) for s in sizes])
        done += len(maps)
        top.extend(classes.tolist())
    return done, top


def dali_pipeline(files, batch, threads, device_id, size, mean, std):
    from nvidia.dali import fn, pipeline_def, types

    @pipeline_def(batch_size=batch, num_threads=threads, device_id=device_id, prefetch_queue_depth=2)
    def pipe():
        jpegs, _ = fn.readers.file(files=[str(f) for f in files], name="Reader", random_shuffle=False)
        shapes = fn.peek_image_shape(jpegs)
        images = fn.decoders.image(jpegs, device="mixed", output_type=types.RGB)
        images = fn.resize(images, resize_x=size, resize_y=size, interp_type=types.INTERP_LINEAR, antialias=True)
        images = fn.crop_mirror_normalize(images, dtype=types.FLOAT, output_layout="CHW",
                                          mean=[m * 255 for m in mean], std=[s * 255 for s in std])
        return images, shapes

    return pipe()


def run_dali(model, files, batch, workers, device) -> tuple[int, list[int]]:
    from nvidia.dali.plugin.pytorch import DALIGenericIterator, LastBatchPolicy

    weight, _ = model.classifier_weights()
    pipe = dali_pipeline(files, batch, workers, device.index or 0, model.input_size, model.spec.mean, model.spec.std)
    pipe.build()
    iterator = DALIGenericIterator([pipe], ["x", "shape"], reader_name="Reader",
                                   last_batch_policy=LastBatchPolicy.PARTIAL, auto_reset=False)
    done, top = 0, []
    for [data] in iterator:
        shapes = data["shape"].cpu().tolist()
        classes, maps = maps_of_batch(model, weight, data["x"], [(int(s[0]), int(s[1])) for s in shapes])
        done += len(maps)
        top.extend(classes.tolist())
    return done, top


def run_threads(model, files, batch, workers, device) -> tuple[int, list[int]]:
    done, top = 0, []
    for m in iter_cam_maps(model, files, batch_size=batch, workers=workers):
        done += 1
        top.append(int(m.classes[0]))
    return done, top


def files_to_maps(model, files, batch, workers, reps, device) -> dict:
    print(f"\n== files -> top-1 CAM maps at each photo's size, to the CPU: {len(files)} files, batch {batch}, "
          f"{workers} workers", flush=True)
    variants = {"dataloader": run_dataloader, "threads": run_threads}
    out: dict = {"files": len(files), "batch": batch, "workers": workers}
    try:
        import nvidia.dali  # noqa: F401

        if device.type == "cuda":
            variants["dali"] = run_dali
        else:
            out["dali"] = "not measured: DALI's mixed decoder needs a GPU"
    except ImportError as exc:
        out["dali"] = f"not measured: nvidia-dali not installed ({exc}); pip install nvidia-dali-cuda130"
    times: dict[str, list[float]] = {k: [] for k in variants}
    tops: dict[str, list[int]] = {}
    for rep in range(reps + 1):
        order = list(variants.items())
        order = order[rep % len(order):] + order[:rep % len(order)]
        for name, fn in order:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            done, top = fn(model, files, batch, workers, device)
            seconds = time.perf_counter() - t0
            assert done == len(files), (name, done)
            tops[name] = top
            if rep:  # the first round warms up (worker start, cuDNN autotuning, DALI's pipeline build)
                times[name].append(seconds)
            print(f"  {name:10s} rep {rep}: {len(files) / seconds:8.0f} photos/s", flush=True)
    for name, t in times.items():
        out[f"{name}_photos_per_s"] = len(files) / statistics.median(t)
    reference = tops["threads"]
    for name, top in tops.items():
        out[f"{name}_top1_agrees_with_threads"] = float(np.mean(np.array(top) == np.array(reference)))
    out["target_photos_per_s"] = 5000
    for k, v in out.items():
        print(f"  {k:36s} {v}")
    return out


def evaluate_section(model, paths, steps, device) -> dict:
    from explainers.evaluate import iter_evaluate, make_explainers
    from explainers.evaluate.loop import evaluate_stream

    print(f"\n== evaluate --methods cam,secam on the batched engine: {len(paths)} photos, {steps} steps", flush=True)
    made = make_explainers(["cam", "secam"], model)
    list(iter_evaluate(model, paths[:8], made, steps=steps))  # warm-up
    t0 = time.perf_counter()
    out = list(iter_evaluate(model, paths, made, steps=steps))
    with_curves = time.perf_counter() - t0
    assert all(o.failure is None for o in out)
    t0 = time.perf_counter()
    list(evaluate_stream(model, [(p.name, p) for p in paths], made, measure=False))
    maps_only = time.perf_counter() - t0
    result = {"photos": len(paths), "steps": steps, "photos_per_s": len(paths) / with_curves,
              "maps_only_photos_per_s": len(paths) / maps_only, "target_photos_per_s": 100}
    for k, v in result.items():
        print(f"  {k:28s} {v}")
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sections", default="files_to_maps,top5,evaluate")
    parser.add_argument("--repeat", type=int, default=10, help="the sample's files repeated (200 x 10 = 2,000)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--evaluate-photos", type=int, default=200)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few files, small batches")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if SAMPLE_DIR is None:
        parser.error("no ImageNet sample: set EXPLAINERS_SAMPLE_DIR")
    if args.quick:
        args.repeat, args.batch, args.reps, args.evaluate_photos, args.steps = 1, 8, 1, 4, 4
        args.workers = min(args.workers, 2)
    device = torch.device(args.device)
    paths = sorted(SAMPLE_DIR.glob("*.JPEG"))
    if args.quick:
        paths = paths[:16]
    results: dict = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "command": " ".join(sys.argv), "machine": machine(), "device": str(device),
                     "torch": torch.__version__}
    if device.type == "cuda":
        results["gpu"] = torch.cuda.get_device_name(device)
    print(f"bench/gpu_engine.py {results['date']} {results['machine']} {results.get('gpu', 'cpu')}", flush=True)
    model = explainers.load_model("efficientnet_lite0", device=device)
    wanted = args.sections.split(",")
    if "files_to_maps" in wanted:
        results["files_to_maps"] = files_to_maps(model, paths * args.repeat, args.batch, args.workers, args.reps,
                                                 device)
    if "top5" in wanted:
        from inputs import one_photo

        results["top5"] = one_photo(model, paths[:12], max(1, args.reps), device)
        results["top5"]["target_top5_vs_bare"] = 1.15
    if "evaluate" in wanted:
        results["evaluate"] = evaluate_section(model, paths[: args.evaluate_photos], args.steps, device)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, default=str))
        print(f"\nwrote {args.out}")
    return results


if __name__ == "__main__":
    main()
