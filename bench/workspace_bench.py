"""Time the workspace as a user meets it: a Save click on Compare, and the Workspace page with many items.

    OMP_NUM_THREADS=1 .venv/bin/python bench/workspace_bench.py [--items 200] [--repeats 5] [--out FILE.json]

Runs the real pages through ``streamlit.testing.v1.AppTest`` (no browser: the server-side time of
a rerun) on SQLite in a temporary ``EXPLAINERS_DATA_DIR``. Prints p50/p95 in milliseconds of:

* ``compare_rerun``: a rerun of Compare with nothing changed (the baseline of ``save``);
* ``save``: the rerun after clicking "Save" on Compare (thumbnails painted, the item written),
  with the model, the photo and both maps already cached, as they are when a user saves;
* ``workspace_page``: a rerun of the Workspace page holding ``--items`` saved items (the first
  24 cards drawn with their thumbnails, the filters' values, the counts), models already loaded;
* ``workspace_filter``: a rerun after changing the text filter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 1),
            "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="explainers-workspace-bench-")
    os.environ["EXPLAINERS_DATA_DIR"] = folder
    os.environ.pop("EXPLAINERS_DATABASE_URL", None)

    from streamlit.testing.v1 import AppTest

    from ui.app import store as app_store

    def app() -> AppTest:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
        at.session_state["_identity_name"] = "bench"
        return at

    at = app()
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    baseline, saves = [], []
    for _ in range(args.repeats):  # the same page's rerun without saving: what the save adds is the difference
        t0 = time.perf_counter()
        at.run()
        baseline.append(time.perf_counter() - t0)
    for i in range(args.repeats):
        next(t for t in at.text_input if t.label == "Title").input(f"bench {i}")
        button = next(b for b in at.button if b.label == "Save")
        t0 = time.perf_counter()
        button.click().run()
        saves.append(time.perf_counter() - t0)
        assert not at.error, [e.value for e in at.error]
    # fill the workspace up to --items by copying a saved item (same size as a real one)
    store = app_store.store()
    model = store.list_items(limit=1)[0]
    for i in range(args.items - args.repeats):
        store.save_item(title=f"item {i}", author="bench", view=model.view, models=model.models,
                        methods=model.methods, class_index=model.class_index, class_label=model.class_label,
                        note=f"note {i}", tags=["bench", f"t{i % 7}"], predictions=model.predictions,
                        scores=model.scores, thumbnails=list(store.get_item(model.id).thumbnails))
    page = app()
    page.run()
    page.switch_page("pages/workspace.py").run()
    assert not page.exception and not page.error, [e.value for e in (*page.exception, *page.error)]
    renders, filters = [], []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        page.run()
        renders.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        page.text_input(key="ws_text").input(f"item {i}").run()
        filters.append(time.perf_counter() - t0)
        page.text_input(key="ws_text").input("").run()
    result = {"compare_rerun": _ms(baseline), "save": _ms(saves), "workspace_page": _ms(renders), "workspace_filter": _ms(filters),
              "items": args.items, "database": "sqlite", "python": platform.python_version(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                                 time.gmtime())}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
