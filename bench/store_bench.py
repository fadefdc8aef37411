"""Time the store's calls that pages make on every save and every grid render.

    .venv/bin/python bench/store_bench.py [--url postgresql+psycopg://...] [--items 200] [--out FILE.json]

Without ``--url`` it uses SQLite in a temporary data folder. Prints p50/p95 in milliseconds per call:
``put_photo`` (a 12 MP JPEG: decode, hash, write), ``save_item`` (two 256 px PNG thumbnails, tags,
scores of 50 superpixels) from one thread and from two threads at once (two stores, as two server
processes), ``list_items`` of 100 items with thumbnails, ``record_answer``.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as gallery

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explainers_team.review.studies import plan  # noqa: E402
from explainers_team.store import TrialMap, NewTrial, Store  # noqa: E402
from explainers_team.store.engine import safe_url  # noqa: E402


def _encode(image: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt, **kw)
    return buf.getvalue()


def _stats(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2)}


def _item(i: int, author: str, thumbs: list[bytes]) -> dict:
    rng = np.random.default_rng(i)
    return dict(title=f"item {i}", author=author, view={"page": "compare", "photo": "sample:chelsea", "class": "285"},
                models=["efficientnet_lite0"], methods=["cam", "secam"], class_index=285, class_label="Egyptian cat",
                tags=["bench", f"t{i % 5}"], note="n" * 200, thumbnails=thumbs,
                predictions=[{"class_index": 285, "label": "Egyptian cat", "probability": 0.8}],
                scores={"ids": np.arange(1, 51), "scores": rng.random(50).round(4), "areas": rng.integers(100, 9000, 50)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="store-bench-"))
    store = Store(args.url, folder, quota_user_bytes=0, quota_total_bytes=0)
    thumbs = [_encode(np.asarray(Image.fromarray(gallery.chelsea()).resize((256, 170))), "PNG"),
              _encode(np.asarray(Image.fromarray(gallery.coffee()).resize((256, 170))), "PNG")]
    big = np.asarray(Image.fromarray(gallery.astronaut()).resize((4000, 3000)))
    results = {"url": safe_url(store.url), "python": platform.python_version(), "machine": platform.machine(),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}

    samples = []
    for i in range(5):  # five different 12 MP photos (a changed pixel, a new hash)
        photo = big.copy()
        photo[0, 0] = i
        data = _encode(photo, "JPEG", quality=90)
        t = time.perf_counter()
        store.put_photo(data, f"big{i}.jpg", "bench")
        samples.append(time.perf_counter() - t)
    results["put_photo_12mp"] = _stats(samples) | {"bytes": len(data)}

    samples = []
    for i in range(args.items):
        t = time.perf_counter()
        store.save_item(**_item(i, "one", thumbs))
        samples.append(time.perf_counter() - t)
    results["save_item_1_thread"] = _stats(samples)

    two = [Store(store.url, folder, migrate=False) for _ in range(2)]
    per_thread: list[list[float]] = [[], []]
    barrier = threading.Barrier(2)

    def saver(k: int) -> None:
        barrier.wait()
        for i in range(args.items // 2):
            t = time.perf_counter()
            two[k].save_item(**_item(i, f"thread{k}", thumbs))
            per_thread[k].append(time.perf_counter() - t)

    threads = [threading.Thread(target=saver, args=(k,)) for k in range(2)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    results["save_item_2_threads"] = _stats(per_thread[0] + per_thread[1]) | {
        "saves_per_s": round(args.items / wall, 1)}
    for s in two:
        s.close()

    samples = []
    for _ in range(20):
        t = time.perf_counter()
        listed = store.list_items(limit=100)
        samples.append(time.perf_counter() - t)
    results["list_items_100_with_thumbnails"] = _stats(samples) | {"items": len(listed)}

    sha = store.list_photos()[0].sha256
    picture = thumbs[0]
    study = store.create_study(name="bench", creator="bench", trials=[
        NewTrial(sha, 1, "x", (TrialMap(picture), TrialMap(picture))) for _ in range(20)],
        conditions=[{"model": "m", "method": "cam"}, {"model": "m", "method": "secam"}])
    samples = []
    for k, a in enumerate(plan(store, study, "r") * 5):
        t = time.perf_counter()
        store.record_answer(a.trial_id, reviewer=f"r{k % 3}", choice="left", left_condition=a.left_index, seconds=1.0)
        samples.append(time.perf_counter() - t)
    results["record_answer"] = _stats(samples)
    store.close()
    shutil.rmtree(folder, ignore_errors=True)

    print(json.dumps(results, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
