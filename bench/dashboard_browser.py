"""Two times a user feels, measured in Chromium against a real server (issue 10's goals).

Usage: .venv/bin/python bench/dashboard_browser.py [--reps 5] [--plain] [--after-warm] [--lime]

1. **First visit after the server is up**: the server is started the way the README says
   (``python -m ui.app.launch``, which loads the default model as the server starts; ``--plain``: bare
   ``streamlit run dashboard.py``), and as soon as ``/_stcore/health`` answers, a fresh browser opens
   ``/compare``; timed until both maps are drawn (goal: under 5 s). ``--after-warm`` visits once the
   launcher's warm start has finished (a server started some seconds before its first visitor).
2. **Upload to both maps visible**, server warm: on Compare, a 500x375 JPEG the server has never seen is
   uploaded through the sidebar; timed from handing the file to the uploader until both maps of the new
   photo are drawn (their pictures changed and loaded). ``--reps`` different photos (crops of
   scikit-image's samples, so each is new to every cache); median and range (goal: under 1.5 s).

3. With ``--lime``: Compare opened from a link with LIME as B on chelsea; until its quick map (100 samples) is
   drawn, then from the Refine click until the full map (1000 samples) replaced it, and the button's estimate.

Prints one line per measurement and a summary; needs Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
MAPS = ("() => { const a = [...document.querySelectorAll('.js-plotly-plot .annotation-text')].map(e => e.textContent);"
        " return a.some(t => t.startsWith('A: ')) && a.some(t => t.startsWith('B: ')) &&"
        " document.querySelectorAll('.js-plotly-plot image').length >= 2; }")
PICTURES = ("() => [...document.querySelectorAll('.js-plotly-plot')].slice(0, 1).flatMap(p =>"
            " [...p.querySelectorAll('image')].map(i => i.getAttribute('href')))")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photos(n: int, folder: Path) -> list[Path]:
    """``n`` 500x375 JPEGs no cache has seen: crops of scikit-image samples at varying offsets."""
    from skimage import data

    sources = [data.coffee(), data.chelsea(), data.astronaut(), data.rocket()]
    out = []
    for i in range(n):
        source = sources[i % len(sources)]
        image = Image.fromarray(source).resize((max(520, source.shape[1]), max(395, source.shape[0])))
        x, y = 3 * i % 20, 5 * i % 20
        path = folder / f"bench_{i}.jpg"
        image.crop((x, y, x + 500, y + 375)).save(path, quality=90)
        out.append(path)
    return out


def lime_times(page, url: str) -> tuple[float, float, str]:
    """Open Compare with LIME as B on chelsea (a link, a new session); seconds until the quick map is drawn, then
    seconds from the Refine click until the full map replaced it, and the estimate its button showed."""
    quick_title = ("() => [...document.querySelectorAll('.js-plotly-plot .annotation-text')]"
                   ".some(e => e.textContent.startsWith('B: LIME') && e.textContent.includes('quick'))")
    full_title = ("() => [...document.querySelectorAll('.js-plotly-plot .annotation-text')]"
                  ".some(e => e.textContent.startsWith('B: LIME') && !e.textContent.includes('quick'))")
    t0 = time.perf_counter()
    page.goto(f"{url}/compare?photo=sample:chelsea&b_method=lime")
    page.wait_for_function(quick_title, timeout=600_000, polling=50)
    quick = time.perf_counter() - t0
    print(f"LIME quick map drawn {quick:.2f} s after opening the link")
    button = page.get_by_role("button", name=re.compile(r"^Refine"))
    estimate = button.inner_text().strip().splitlines()[-1]  # the label, without the icon's name
    t0 = time.perf_counter()
    button.click()
    page.wait_for_function(full_title, timeout=1_200_000, polling=100)
    full = time.perf_counter() - t0
    print(f"LIME refined (1000 samples) {full:.2f} s after the click; its button said '{estimate}'")
    return quick, full, estimate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--plain", action="store_true", help="bare `streamlit run` (no warm start) for comparison")
    parser.add_argument("--lime", action="store_true",
                        help="also time LIME on Compare: the quick map from a link, then Refine to the full setting")
    parser.add_argument("--after-warm", action="store_true",
                        help="visit only once the launcher logged that its warm start finished")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    command = ([sys.executable, "-m", "streamlit", "run", "dashboard.py"] if args.plain
               else [sys.executable, "-m", "ui.app.launch"])
    command += ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
                "--server.fileWatcherType", "none"]
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    t_start = time.perf_counter()
    server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                    if reply.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if server.poll() is not None:
                raise SystemExit(f"the server stopped: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.05)
        t_up = time.perf_counter()
        if args.after_warm and not args.plain:
            while "warm start" not in Path(log.name).read_text():
                time.sleep(0.1)
            print(f"warm start finished {time.perf_counter() - t_up:.1f} s after the server was up")
            t_up = time.perf_counter()
        print(f"server answered /_stcore/health after {t_up - t_start:.1f} s "
              f"({'plain streamlit run' if args.plain else 'python -m ui.app.launch'})")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"{url}/compare")
            page.get_by_role("heading", name="Compare two explanations").wait_for(timeout=300_000)
            heading = time.perf_counter() - t0
            page.wait_for_function(MAPS, timeout=300_000, polling=50)
            first = time.perf_counter() - t0
            print(f"first visit: the page's title appeared after {heading:.2f} s")
            print(f"first visit: /compare drawn (both maps) {first:.2f} s after "
                  f"{'the warm start finished' if args.after_warm and not args.plain else 'the server was up'} "
                  f"({time.perf_counter() - t_start:.1f} s after the server process started)")
            page.locator('[data-testid="stExpandSidebarButton"]').click()
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.locator("label", has_text="Upload a photo").first.click()
            sidebar.locator('input[type="file"]').wait_for(state="attached")
            page.wait_for_timeout(1500)
            times = []
            with tempfile.TemporaryDirectory() as folder:
                for path in photos(args.reps, Path(folder)):
                    before = page.evaluate(PICTURES)
                    t0 = time.perf_counter()
                    sidebar.locator('input[type="file"]').set_input_files(str(path))
                    page.wait_for_function(
                        "before => { const now = [...document.querySelectorAll('.js-plotly-plot')].slice(0, 1)"
                        ".flatMap(p => [...p.querySelectorAll('image')]); return now.length >= 2 &&"
                        " now.every(i => !before.includes(i.getAttribute('href'))); }",
                        arg=before, timeout=300_000, polling=20)
                    times.append(time.perf_counter() - t0)
                    print(f"upload {path.name} (500x375) -> both maps visible: {times[-1]:.2f} s")
                    page.wait_for_timeout(1000)
            lime = lime_times(page, url) if args.lime else None
            browser.close()
        print(f"summary: first visit {first:.2f} s; upload -> both maps median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}, {len(times)} photos)")
        if lime:
            print(f"summary: LIME on chelsea: quick map (100 samples) {lime[0]:.2f} s after opening the link; "
                  f"Refine to 1000 samples {lime[1]:.2f} s (estimate on the button: {lime[2]})")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} at the end (the machine is shared)")
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
