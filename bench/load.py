"""Load on one dashboard server: N simulated users in real Chromium browser contexts (Playwright).

Usage (from the project root; loopback only, every loop bounded)::

    .venv/bin/python bench/load.py --users 10                      # 10 users at the same time
    .venv/bin/python bench/load.py --users 1 --sessions 100        # 100 sessions one after another
    .venv/bin/python bench/load.py --users 10 --json out.json      # also write the figures as JSON

It starts ``streamlit run dashboard.py`` on a free loopback port (its own process, so its memory
is measured alone), warms it up with one session on the default sample photo, then runs the
sessions. Each session is a fresh browser context (no cookies: a new Streamlit session) that

1. opens ``/`` (Explain) and uploads its own photo through the sidebar: a different photo for every
   session (scikit-image's photos, each flipped, cropped or rotated differently, so no session hits
   another's cache);
2. waits for the maps of that photo (**upload -> maps**: from handing the file to the uploader to
   the end of the run that drew CAM and SeCAM);
3. opens Compare from the sidebar and waits for its maps (**compare**);
4. moves the SeCAM threshold with the keyboard and waits for the re-masked figure (**threshold**);
5. (optional, off) saves to the workspace: see :data:`SAVE_BUTTON`.

A session's error is any exception, time-out, error box or exception box on the page. The report
gives p50/p95/max of each step, the errors (with their first lines), and the server's resident
memory (RSS, from /proc) after the warm-up and after the last session, and the peak.

Why real browsers rather than Streamlit websocket clients: the time a person waits for the maps
includes the upload over HTTP, the script runs, the websocket deltas and drawing the Plotly figures;
a browser measures exactly that, and drives the same widgets a person does (no private protocol
to re-implement). The cost: Chromium runs on the same 2 cores as the server, so the figures are an
upper bound of what users on their own machines would see.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
#: One step may take at most this long before it counts as an error (a busy 2-core machine).
STEP_TIMEOUT_S = 300
#: INTEGRATOR: the workspace's save button label (e.g. "Save to the workspace") once it exists; the
#: session then clicks it after the threshold step and waits for SAVE_CONFIRMATION. Off while None.
SAVE_BUTTON: str | None = None
SAVE_CONFIRMATION = "Saved"
BUSY = '[data-testid="stStatusWidget"], [data-testid="stSpinner"], [data-testid="stSkeleton"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera", "hubble_deep_field", "immunohistochemistry",
          "retina", "coins", "logo")


def distinct_photo(i: int, folder: Path) -> Path:
    """Photo number ``i``: a scikit-image photo with its own flip, crop and rotation (all distinct)."""
    from skimage import data

    name = PHOTOS[i % len(PHOTOS)]
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    variant = i // len(PHOTOS)
    if variant % 2:
        image = image[:, ::-1]
    image = np.rot90(image, k=(variant // 2) % 4)
    h, w = image.shape[:2]
    crop = 0.02 * (variant // 8 + 1) + 0.001 * i  # a few per cent off each side, never the same twice
    top, left = int(h * crop), int(w * crop)
    image = np.ascontiguousarray(image[top:h - top, left:w - left])
    path = folder / f"user{i:03d}_{name}.jpg"
    Image.fromarray(image).save(path, quality=90)
    return path


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dashboard(log_path: Path):
    """`streamlit run dashboard.py` on a free loopback port; yields (url, pid)."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 120
            while True:
                with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
                if proc.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"streamlit did not start:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.5)
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@dataclass
class Session:
    """One simulated user's timings (seconds) and error."""

    index: int
    photo: str
    upload_to_maps: float | None = None
    compare: float | None = None
    threshold: float | None = None
    threshold_page: str = "Compare"
    save: float | None = None
    error: str | None = None
    started: float = field(default=0.0, repr=False)


async def until_idle(page, settle_s: float = 0.6) -> float:
    """Wait until the app's run is over (no running indicator for ``settle_s``); the time it went quiet."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    quiet_since = None
    while time.monotonic() < deadline:
        if await page.locator(BUSY).count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle_s:
                return quiet_since
        else:
            quiet_since = None
        await page.wait_for_timeout(100)
    raise TimeoutError(f"the app was still running after {STEP_TIMEOUT_S} s")


async def figures_at_least(page, n: int) -> None:
    await page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=n, timeout=STEP_TIMEOUT_S * 1000)


async def check_no_error(page, where: str) -> None:
    found = page.locator(ERRORS)
    if await found.count():
        raise RuntimeError(f"{where}: error shown: {(await found.first.inner_text())[:300]}")


async def run_session(browser, url: str, session: Session, photo: Path) -> Session:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    # Loopback only: anything else (fonts, telemetry) is refused.
    await context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else route.abort())
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_S * 1000)
    try:
        await page.goto(f"{url}/")
        sidebar = page.locator('[data-testid="stSidebar"]')
        await sidebar.locator('label', has_text="Upload a photo").first.click()
        await sidebar.locator('input[type="file"]').first.wait_for(state="attached")
        await until_idle(page)
        # 1-2. Upload -> maps (Explain: predictions, CAM, SeCAM, masked photo).
        t0 = time.monotonic()
        await sidebar.locator('input[type="file"]').set_input_files(str(photo))
        await sidebar.get_by_text(f"{photo.name}:").first.wait_for()
        await figures_at_least(page, 3)
        session.upload_to_maps = await until_idle(page) - t0
        await check_no_error(page, "Explain after the upload")
        # 3. Compare.
        t0 = time.monotonic()
        await sidebar.locator('[data-testid="stPageLink-NavLink"]', has_text="Compare").first.click()
        await page.get_by_role("heading", name="CAM vs SeCAM").first.wait_for()
        await figures_at_least(page, 2)
        session.compare = await until_idle(page) - t0
        await check_no_error(page, "Compare")
        if await sidebar.get_by_text(f"{photo.name}:").count() == 0:
            raise RuntimeError("Compare does not show the uploaded photo")
        # 4. Move the SeCAM threshold (keyboard on the slider's thumb: what a person can do too). Today's
        # Compare shows the threshold set on Explain, so the slider is looked for there when Compare has none.
        thumb = page.locator('[data-testid="stSlider"]', has_text="SeCAM threshold").locator('input[type="range"], [role="slider"]')
        if await thumb.count() == 0:
            session.threshold_page = "Explain"
            await sidebar.locator('[data-testid="stPageLink-NavLink"]', has_text="Explain").first.click()
            await page.get_by_role("heading", name="Explain a prediction").first.wait_for()
            await until_idle(page)
        thumb = thumb.first
        await thumb.wait_for(state="attached", timeout=30_000)
        slider = page.locator('[data-testid="stSlider"]', has_text="SeCAM threshold").first
        before = float((await slider.locator('[data-testid="stSliderThumbValue"]').first.inner_text()).strip())
        after = round(max(0.0, before - 0.10), 2)  # two steps of 0.05 to the left
        t0 = time.monotonic()
        await thumb.focus()
        await thumb.press("ArrowLeft")
        await thumb.press("ArrowLeft")
        # Done when the page's own text shows the new threshold (the rerun drew the re-masked result).
        await page.locator('[data-testid="stMain"]').get_by_text(
            re.compile(rf"{after:.2f} x the best score|threshold {after:.2f}")).first.wait_for()
        session.threshold = await until_idle(page) - t0
        await check_no_error(page, "Compare after the threshold")
        # 5. Save (optional, see SAVE_BUTTON).
        if SAVE_BUTTON:
            t0 = time.monotonic()
            await page.get_by_role("button", name=SAVE_BUTTON).first.click()
            await page.get_by_text(SAVE_CONFIRMATION).first.wait_for()
            session.save = await until_idle(page) - t0
            await check_no_error(page, "after saving")
    except Exception as error:  # noqa: BLE001 - every failure is a counted error, with its message
        session.error = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
    finally:
        await context.close()
    return session


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(np.ceil(0.95 * len(ordered))) - 1)]
    return {"n": len(values), "p50": round(statistics.median(ordered), 2), "p95": round(p95, 2),
            "max": round(ordered[-1], 2)}


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    workdir = Path(tempfile.mkdtemp(prefix="explainers-load-"))
    total = args.users * args.sessions
    photos = [distinct_photo(i, workdir) for i in range(total + 1)]
    peak = 0.0
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with dashboard(workdir / "server.log") as (url, pid):
            start_rss = rss_mb(pid)
            warm = await run_session(browser, url, Session(-1, photos[-1].name), photos[-1])  # loads the model
            if warm.error:
                raise SystemExit(f"the warm-up session failed: {warm.error}")
            warm_rss = rss_mb(pid)
            sessions: list[Session] = []
            stop = asyncio.Event()

            async def sample_rss():
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, rss_mb(pid))
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample_rss())
            t_start = time.monotonic()
            rss_trace = [(0, round(warm_rss))]
            stopped_by_budget = False
            for round_ in range(args.sessions):  # bounded: --sessions rounds of --users concurrent sessions
                if args.max_minutes and time.monotonic() - t_start > args.max_minutes * 60:
                    stopped_by_budget = True
                    break
                batch = [Session(round_ * args.users + u, photos[round_ * args.users + u].name)
                         for u in range(args.users)]
                done = await asyncio.gather(*(run_session(browser, url, s, photos[s.index]) for s in batch))
                sessions.extend(done)
                rss_trace.append((len(sessions), round(rss_mb(pid))))
                if args.sessions > 1 and (round_ + 1) % 10 == 0:
                    print(f"  {round_ + 1}/{args.sessions} rounds, RSS {rss_mb(pid):.0f} MB "
                          f"({time.monotonic() - t_start:.0f} s)", flush=True)
            wall = time.monotonic() - t_start
            stop.set()
            await sampler
            end_rss = rss_mb(pid)
            log_text = (workdir / "server.log").read_text()
        await browser.close()
    errors = [f"session {s.index} ({s.photo}): {s.error}" for s in sessions if s.error]
    return {
        "users": args.users, "sessions": len(sessions), "rounds_asked": args.sessions,
        "stopped_by_time_budget": stopped_by_budget, "wall_s": round(wall, 1),
        "upload_to_maps_s": percentiles([s.upload_to_maps for s in sessions if s.upload_to_maps is not None]),
        "compare_s": percentiles([s.compare for s in sessions if s.compare is not None]),
        "threshold_s": percentiles([s.threshold for s in sessions if s.threshold is not None]),
        "save_s": percentiles([s.save for s in sessions if s.save is not None]) if SAVE_BUTTON else "off",
        "errors": len(errors), "error_messages": errors[:20],
        "server_tracebacks": log_text.count("Traceback"),
        "rss_mb": {"start": round(start_rss), "warm": round(warm_rss), "end": round(end_rss), "peak": round(peak),
                   "end_minus_warm": round(end_rss - warm_rss), "after_each_round": rss_trace},
        "sessions_detail": [asdict(s) for s in sessions],
        "machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10, help="concurrent sessions per round (1..50)")
    parser.add_argument("--sessions", type=int, default=1, help="rounds, one after another (1..500)")
    parser.add_argument("--max-minutes", type=float, default=0,
                        help="stop starting new rounds after this many minutes (0: no budget); the report says so")
    parser.add_argument("--json", type=Path, help="also write the report to this JSON file")
    parser.add_argument("--p95-goal", type=float, default=8.0, help="goal for p95 upload -> maps, seconds")
    parser.add_argument("--rss-goal", type=float, default=300.0, help="goal for RSS end - warm, MB")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 50 or not 1 <= args.sessions <= 500:
        parser.error("--users must be in [1, 50] and --sessions in [1, 500]")
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} not found: install Chromium (apt-get install -y chromium)")
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    report = asyncio.run(main_async(args))
    detail = report.pop("sessions_detail")
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**report, "sessions_detail": detail}, indent=2))
    p95 = report["upload_to_maps_s"]["p95"]
    met = (report["errors"] == 0 and p95 is not None and p95 < args.p95_goal
           and report["rss_mb"]["end_minus_warm"] <= args.rss_goal)
    print(f"goals ({'met' if met else 'NOT met'}): 0 errors (got {report['errors']}), p95 upload->maps < "
          f"{args.p95_goal} s (got {p95}), RSS end - warm <= {args.rss_goal} MB (got "
          f"{report['rss_mb']['end_minus_warm']})")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
