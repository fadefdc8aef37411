"""Issue 18, findings B and G, in a real Chromium: user text is shown as typed, and nothing in it is fetched,
linked or run, on every page and in every HTML export.

A *beacon* (a loopback TCP listener that records every connection) stands for an outside host. Every field that
a person, a registry or a file on the server can fill holds payloads that would reach it if they were rendered:
a Markdown image, a raw ``<img src>``, a Markdown link, an ``<a href>`` and ``</script><script>fetch(...)``
(a file name cannot hold a ``/``, so its payloads point at ``https:127.0.0.1:PORT``, which a browser also
resolves to the beacon); the long fields start with ``=HYPERLINK(...)``.

The fields: the study's name, question and creator; two reviewers' names and comments; a workspace item's
title, note, tags, author, methods and class; a stored photo's file name and its uploader; a file's name in a
server folder (the Evaluate page); and, through a registry of its own (``EXPLAINERS_MODELS``, one entry with
``weights: none``), a model's name, title, description, class labels and its labels file's name.

Every page is opened with them (``/``, ``/compare``, ``/method``, ``/models``, ``/evaluate`` after a run,
``/workspace``, ``/review`` with its create form's list of stored photos and items, a study's trial view and its
results), then the HTML exports (Compare's report and a workspace item's report, served from loopback). After
each: no connection reached the beacon, no element of the page (any frame) links to it or loads from it, and the
payloads that page draws are on screen as typed, escapes not showing, so the test also fails when a text is not
drawn at all.

Finding G: a typed name ``a</script><script>window.__pwned=1</script>`` is written into the page's cookie
script; it is stored and shown as typed, and ``window.__pwned`` stays undefined in every frame.

Without Chromium the test skips with the reason (fails under ``CI=true``), like tests/test_browser.py.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import os
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from browser import TIMEOUT_MS, assert_no_error, launch_chromium, require_browser, running_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "beacon"
#: What each kind of payload is, for the failure messages.
KINDS = ("md", "img", "link", "a", "js")
#: The name a person types for finding G.
PWNED_NAME = "a</script><script>window.__pwned=1</script>"


# -- the beacon and the export server ----------------------------------------------------------------------------
class Beacon:
    """A loopback listener that records every connection it gets: the HTTP request line, or what else came."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.hits: list[str] = []  # since the last reset (one test)
        self.every: list[str] = []  # since the start
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                line = data.split(b"\r\n", 1)[0].decode("latin-1")
                hit = line if re.match(r"[A-Z]+ \S+ HTTP/", line) else \
                    f"a connection that is not HTTP ({len(data)} bytes: TLS, from an https: payload)"
                self.hits.append(hit)
                self.every.append(hit)
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\n"
                                 b"Connection: close\r\n\r\n")

    def reset(self) -> None:
        self.hits.clear()

    def close(self) -> None:
        self._socket.close()


@contextlib.contextmanager
def static_server(folder: Path):
    """``folder`` over HTTP on loopback (the exports are opened from there, like a file a person opens)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- the payloads --------------------------------------------------------------------------------------------------
def payload(host: str, field: str, kinds: tuple[str, ...] = KINDS, file: bool = False) -> str:
    """Text that reaches ``host`` when rendered as Markdown or HTML; ``field`` names it in the beacon's log.

    ``file``: without ``/`` (a file name), through ``https:HOST?...`` (a browser reads it as ``https://HOST/``).
    """
    base = f"https:{host}?" if file else f"//{host}/"
    parts = {"md": f"![b]({base}m-{field})", "img": f'<img src="{base}i-{field}">', "link": f"[x]({base}l-{field})",
             "a": f'<a href="{base}a-{field}">x' + ("" if file else "</a>"),
             "js": f'</script><script>fetch("{base}j-{field}")</script>'}
    return " ".join(parts[k] for k in kinds)


def formula(host: str, field: str) -> str:
    """A spreadsheet formula (a long field starts with it)."""
    return f'=HYPERLINK("//{host}/x-{field}")'


def fits(text: str, limit: int) -> str:
    assert len(text) <= limit, f"a payload of {len(text)} characters does not fit the field's {limit}: {text}"
    return text


@dataclass(frozen=True)
class Planted:
    """Every payload, by field, and the ids the pages need."""

    model: str
    model_title: str
    model_description: str
    labels_file: str
    labels: tuple[str, ...]
    photo_name: str
    uploader: str
    folder_file: str
    folder: Path
    title: str
    author: str
    note: str
    tags: tuple[str, ...]
    method: str
    study: int
    study_name: str
    question: str
    creator: str
    reviewers: tuple[str, str]
    comments: tuple[str, str]
    photo_sha: str


def png(seed: int, size: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def npy(seed: int) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.random.default_rng(seed).random((8, 8), dtype=np.float32))
    return buffer.getvalue()


def plant(host: str, root: Path) -> Planted:
    """The registry (``root/registry``), the store (``root/data``) and the server folder (``root/photos``)."""
    from skimage import data as gallery

    from explainers_team.store import NewTrial, Store, TrialMap

    p = functools.partial(payload, host)
    model = fits(p("mn", ("md", "link", "a")), 100)  # a model's name is kept in records of at most 100 characters
    labels = tuple(fits(p(f"c{i}"), 200) for i in range(3))
    registry = root / "registry"
    registry.mkdir()
    labels_file = fits(p("lf", ("md", "img", "link", "a"), file=True) + ".txt", 255)
    (registry / labels_file).write_text("\n".join(labels) + "\n", encoding="utf-8")
    entry = {"title": p("mt"), "architecture": "torchvision:resnet18", "weights": "none", "num_classes": 3,
             "labels": labels_file, "input_size": 64, "description": p("md")}
    (registry / "models.yaml").write_text(yaml.safe_dump({"models": {model: entry}}, allow_unicode=True),
                                          encoding="utf-8")

    folder = root / "photos"
    folder.mkdir()
    folder_file = fits(p("ff", ("md", "img", "link", "a"), file=True) + ".jpg", 255)
    Image.fromarray(gallery.coffee()).save(folder / folder_file, quality=90)

    store = Store(f"sqlite:///{root / 'data' / 'explainers.db'}", data_dir=root / "data")  # what the server opens
    try:
        photo_name = fits(p("ph", ("md", "img", "link", "a"), file=True) + ".jpg", 255)
        uploader = fits(p("up"), 200)
        buffer = io.BytesIO()
        Image.fromarray(gallery.chelsea()).save(buffer, "JPEG", quality=90)
        sha = store.put_photo(buffer.getvalue(), photo_name, uploader)

        title, author = fits(p("ti"), 200), fits(p("au"), 200)
        note = formula(host, "no") + "\n" + p("no") + "\nsecond line"
        tags = tuple(fits(p(f"g{k[0]}", (k,)), 64) for k in KINDS)
        method = fits(p("me", ("md", "link", "a")), 100)
        store.save_item(
            title=title, author=author, view={"page": "compare", "photo": f"upload:{sha}", "model": model},
            models=[model], methods=["cam", method], class_index=0, class_label=labels[0], photo_sha256=sha,
            note=note, tags=list(tags),
            predictions={"page": "compare", "photo": photo_name,
                         "top": {model: [{"class_index": i, "label": labels[i], "probability": 0.3}
                                         for i in range(3)]}},
            scores=[{"side": "A", "model": model, "method": "cam", "class_index": 0, "label": labels[0],
                     "probability": 0.3},
                    {"side": "B", "model": model, "method": method, "class_index": 0, "label": labels[0],
                     "probability": 0.3}],
            thumbnails=[png(1), png(2)])

        study_name, creator = fits(p("sn"), 200), fits(p("sc"), 200)
        question = formula(host, "sq") + " " + p("sq") + " {label}?"
        study = store.create_study(
            name=study_name, creator=creator, question=question,
            conditions=[{"model": model, "method": "cam", "params": {}},
                        {"model": model, "method": "secam", "params": {}}],
            trials=[NewTrial(photo_sha256=sha, class_index=0, class_label=labels[0],
                             maps=(TrialMap(picture=png(3), saliency=npy(3)),
                                   TrialMap(picture=png(4), saliency=npy(4))))])
        # a typed name is at most 100 characters (ui.app.identity.MAX_NAME): the reviewers share the kinds
        reviewers = (fits(p("r1", ("md", "img", "link")), 100), fits(p("r2", ("a", "js")), 100))
        comments = (formula(host, "k1") + " " + p("k1"), formula(host, "k2") + " " + p("k2"))
        [trial] = store.trials_for(study)
        for reviewer, comment, choice in zip(reviewers, comments, ("left", "right")):
            store.record_answer(trial.id, reviewer=reviewer, choice=choice, left_condition=0, comment=comment,
                                seconds=4.0)
    finally:
        store.close()
    return Planted(model=model, model_title=entry["title"], model_description=entry["description"],
                   labels_file=labels_file, labels=labels, photo_name=photo_name, uploader=uploader,
                   folder_file=folder_file, folder=folder, title=title, author=author, note=note, tags=tags,
                   method=method, study=study, study_name=study_name, question=question, creator=creator,
                   reviewers=reviewers, comments=comments, photo_sha=sha)


# -- fixtures ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def beacon():
    found = Beacon()
    yield found
    found.close()


@pytest.fixture(scope="module")
def planted(beacon, tmp_path_factory) -> Planted:
    return plant(beacon.host, tmp_path_factory.mktemp("beacon"))


@pytest.fixture(scope="module")
def server(planted, tmp_path_factory):
    """The dashboard on the planted registry and store (no login, SQLite)."""
    require_browser("the beacon browser test")
    root = planted.folder.parent
    env = {**os.environ, "EXPLAINERS_DATA_DIR": str(root / "data"),
           "EXPLAINERS_MODELS": str(root / "registry" / "models.yaml"), "OMP_NUM_THREADS": "1"}
    for name in ("EXPLAINERS_DATABASE_URL", "EXPLAINERS_ADMINS", "EXPLAINERS_SAMPLE_DIR"):
        env.pop(name, None)
    with running_server(root / "server.log", env=env) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    require_browser("the beacon browser test")
    with launch_chromium() as browser:
        yield browser


@pytest.fixture(autouse=True)
def _each_test_on_its_own(beacon):
    beacon.reset()  # so a failure names the page that reached the beacon


@pytest.fixture
def visit(chromium, server, planted, request):
    """A fresh browser context whose typed name (the cookie) is the first reviewer's; yields ``(page, url)``."""
    context = chromium.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    context.add_cookies([{"name": "explainers_name", "value": urllib.parse.quote(planted.reviewers[0]),
                          "url": server}])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    failed_before = request.session.testsfailed
    yield page, server
    if request.session.testsfailed > failed_before:
        SHOTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


# -- what every visit checks ---------------------------------------------------------------------------------------
_URL_ATTRIBUTES = ("href", "src", "srcset", "action", "formaction", "poster", "data", "xlink:href", "background")


def pointers(page, host: str) -> list[str]:
    """Attributes in any frame that would load or link ``host`` (href, src, event handlers, style urls)."""
    found = []
    for frame in page.frames:
        found += frame.evaluate(
            r"""([host, names]) => {
                const reaches = (value) => value.split(/[\s,]+/).some((part) => {
                    try { return part !== '' && new URL(part, document.baseURI).host === host; }
                    catch (e) { return false; }
                });
                const out = [];
                for (const el of document.querySelectorAll('*')) {
                    for (const at of el.attributes) {
                        const risky = names.includes(at.name) ? reaches(at.value)
                            : (at.name.startsWith('on') || at.name === 'style') && at.value.includes(host);
                        if (risky) out.push(`<${el.tagName} ${at.name}="${at.value}">`);
                    }
                }
                return out;
            }""", [host, list(_URL_ATTRIBUTES)])
    return found


def on_screen(page) -> str:
    """The text a person sees in every frame, Plotly's SVG text included."""
    texts = []
    for frame in page.frames:
        texts.append(frame.evaluate(
            "() => document.body ? document.body.innerText + '\\n' + Array.from(document.querySelectorAll("
            "'svg text')).map(t => t.textContent).join('\\n') : ''"))
    return "\n".join(texts)


def check(page, beacon: Beacon, where: str, shown: dict[str, str | tuple[str, ...]]) -> None:
    """No connection to the beacon, nothing in the page pointing at it, and each of ``shown`` on screen as typed
    (a tuple: one of them)."""
    page.wait_for_timeout(1500)  # an image or a script the page would load has had time to ask
    assert not beacon.hits, f"{where}: the beacon was reached: {beacon.hits}"
    found = pointers(page, beacon.host)
    assert not found, f"{where}: the page links or loads the beacon: {found}"
    text = on_screen(page)
    for field, wanted in shown.items():
        options = wanted if isinstance(wanted, tuple) else (wanted,)
        assert any(w in text for w in options), (
            f"{where}: the {field} is not on screen as typed: {options[0]!r} (and {len(options) - 1} others); "
            f"the page shows:\n{text[:4000]}")
    assert_no_error(page, where)


def open_page(page, url: str, ready: str | None = None) -> None:
    page.goto(url)
    wait_idle(page)
    if ready:
        page.get_by_text(ready).first.wait_for()
        wait_idle(page)


def download(page, button: str, to: Path) -> Path:
    with page.expect_download() as done:
        page.get_by_role("button", name=button).first.click()
    done.value.save_as(str(to))
    wait_idle(page)
    return to


# -- the pages -----------------------------------------------------------------------------------------------------
def test_explain_draws_the_photo_name_model_and_labels_as_text(visit, planted, beacon):
    page, url = visit
    open_page(page, f"{url}/?photo=upload:{planted.photo_sha}", ready="Why '")
    page.locator(".main-svg").first.wait_for()
    check(page, beacon, "Explain", {"photo name": planted.photo_name, "model name": planted.model,
                                    **{f"label {i}": lb for i, lb in enumerate(planted.labels)}})
    assert any(f"Why '{label}'?" in on_screen(page) for label in planted.labels)


def test_compare_and_its_report(visit, planted, beacon, tmp_path_factory):
    page, url = visit
    open_page(page, f"{url}/compare?photo=upload:{planted.photo_sha}", ready="Faithfulness")
    page.get_by_text(re.compile(r"Show a row per top-\d+ class")).first.click()
    wait_idle(page)
    page.get_by_role("button", name=re.compile("^Measure faithfulness")).click()
    page.get_by_text("Faithfulness for").first.wait_for()
    wait_idle(page)
    check(page, beacon, "Compare", {"model name": planted.model, **{f"label {i}": lb for i, lb in
                                                                     enumerate(planted.labels)}})
    report = download(page, "Report (HTML, opens offline)", tmp_path_factory.mktemp("exports") / "compare.html")
    check(page, beacon, "Compare after the report's download", {})
    with static_server(report.parent) as files:
        open_page(page, f"{files}/{report.name}")
        page.locator(".main-svg").first.wait_for()
        check(page, beacon, "Compare's HTML report", {"model name": planted.model, "photo name": planted.photo_name,
                                                       "class label": planted.labels})


def test_a_links_and_an_uploads_text_stay_text(visit, planted, beacon):
    """What a link says (an unknown page, a photo that is no photo) and a refused upload's name and first bytes
    come back in messages."""
    page, url = visit
    unknown_page, odd_photo = payload(beacon.host, "pg", ("md",)), payload(beacon.host, "pp", ("link",))
    query = urllib.parse.urlencode({"page": unknown_page, "photo": odd_photo})
    open_page(page, f"{url}/?{query}", ready="The link names an unknown page")
    check(page, beacon, "a link with odd values", {"the link's page": unknown_page, "the link's photo": odd_photo})

    page.locator('[data-testid="stSidebar"] label', has_text="Upload a photo").first.click()
    wait_idle(page)
    name = payload(beacon.host, "un", ("md", "img", "link", "a"), file=True) + ".jpg"
    text = f"![](//127.1:{beacon.port})"  # the message quotes a text file's first 20 characters
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": "image/jpeg", "buffer": text.encode()}])
    page.get_by_text("contains text, not an image").first.wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 1  # the message, on the page
    shown_ = on_screen(page)
    sent = name.replace('"', "%22")  # as Chromium sends a file name with quotes in it
    assert sent in shown_ and repr(text) in shown_, shown_[:3000]
    page.wait_for_timeout(1500)
    assert not beacon.hits and not pointers(page, beacon.host), (beacon.hits, pointers(page, beacon.host))


def test_method(visit, planted, beacon):
    page, url = visit
    open_page(page, f"{url}/method", ready="The channels behind")
    check(page, beacon, "Method", {"model name": planted.model, "class label": planted.labels})
    assert any(f"The channels behind '{label}'" in on_screen(page) for label in planted.labels)


def test_models(visit, planted, beacon):
    page, url = visit
    open_page(page, f"{url}/models", ready="Methods")
    page.get_by_text(f"{planted.model}: {planted.model_title}").first.click()
    wait_idle(page)
    check(page, beacon, "Models", {"model name": planted.model, "model title": planted.model_title,
                                   "description": planted.model_description, "labels file": planted.labels_file})


def test_evaluate_after_a_run(visit, planted, beacon):
    page, url = visit
    open_page(page, f"{url}/evaluate", ready="Run the evaluation")
    page.locator("label", has_text="Folder on the server").first.click()
    wait_idle(page)
    page.get_by_role("textbox", name="Folder (or glob) on the server").fill(str(planted.folder))
    page.keyboard.press("Tab")
    wait_idle(page)
    page.get_by_role("button", name="Run the evaluation").click()
    page.get_by_text("Each photo's maps").first.wait_for()
    wait_idle(page)
    check(page, beacon, "Evaluate", {"file name and label": tuple(f"{planted.folder_file}: {label}"
                                                                  for label in planted.labels)})


def test_workspace_and_its_item_report(visit, planted, beacon, tmp_path_factory):
    page, url = visit
    open_page(page, f"{url}/workspace", ready="Report (HTML)")
    check(page, beacon, "Workspace", {"title": planted.title, "author": planted.author, "note": "second line",
                                      "class": planted.labels[0], "model": planted.model, "method": planted.method,
                                      **{f"tag {i}": tag for i, tag in enumerate(planted.tags)}})
    assert planted.note.splitlines()[1] in on_screen(page)
    report = download(page, "Report (HTML)", tmp_path_factory.mktemp("exports") / "item.html")
    with static_server(report.parent) as files:
        open_page(page, f"{files}/{report.name}")
        check(page, beacon, "the workspace item's HTML report",
              {"title": planted.title, "author": planted.author, "note": planted.note.splitlines()[1],
               "class": planted.labels[0], "model": planted.model, "method": planted.method,
               **{f"tag {i}": tag for i, tag in enumerate(planted.tags)}})


def test_review_list(visit, planted, beacon):
    page, url = visit
    open_page(page, f"{url}/review", ready="Create a study")
    check(page, beacon, "Review's list", {"study name": planted.study_name, "creator": planted.creator,
                                          "reviewer": planted.reviewers[0], "model (the new study's conditions)":
                                          planted.model})
    # the create form's list of stored photos and saved items: a photo's name and uploader, an item's title and class
    page.get_by_text("Photos stored in the workspace, or a folder on the server").first.click()
    wait_idle(page)
    page.locator('[data-testid="stMultiSelect"]', has_text="Saved workspace items and stored photos").first \
        .locator("input").first.click()
    page.get_by_role("option").first.wait_for()
    check(page, beacon, "Review's list of stored photos and items", {
        "photo name and uploader": f"photo: {planted.photo_name} (", "uploader": f", by {planted.uploader})",
        "item title and class": f"item: {planted.title} ({planted.labels[0]})"})


def test_review_trial(visit, planted, beacon):
    page, url = visit
    open_page(page, f"{url}/review?study={planted.study}", ready="Go through my answers")
    page.get_by_role("button", name="Go through my answers").click()
    page.get_by_text("Trial 1 of 1").first.wait_for()
    wait_idle(page)
    check(page, beacon, "a study's trial", {"study name": planted.study_name, "reviewer": planted.reviewers[0],
                                            "question": planted.question.replace("{label}", planted.labels[0])})
    comment = page.get_by_role("textbox", name="Comment (optional)")
    assert comment.input_value() == planted.comments[0]


def test_review_results(visit, planted, beacon):
    page, url = visit
    open_page(page, f"{url}/review?study={planted.study}&view=results", ready="Reviewers' progress")
    page.get_by_text("Comments (2)").first.click()
    wait_idle(page)
    check(page, beacon, "a study's results", {
        "study name": planted.study_name, "creator": planted.creator, "question": planted.question,
        "model": planted.model, "class": planted.labels[0], "photo name": planted.photo_name,
        **{f"reviewer {i}": r for i, r in enumerate(planted.reviewers)},
        **{f"comment {i}": c for i, c in enumerate(planted.comments)}})


# -- finding G -----------------------------------------------------------------------------------------------------
def test_a_typed_name_never_runs(chromium, server, beacon):
    """The name cookie's script (ui.app.identity.sync_cookie) writes the name with script_json: it is stored and
    shown as typed, and its ``</script><script>`` runs nothing, neither when typed nor when read back."""
    context = chromium.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        open_page(page, f"{server}/review", ready="Your name")
        page.get_by_role("textbox", name=re.compile("^Your name")).fill(PWNED_NAME)
        page.get_by_role("button", name="Continue").click()
        for attempt in ("after typing it", "after a reload (the cookie)"):
            if attempt.startswith("after a reload"):
                page.goto(f"{server}/review")
            page.get_by_text("(remembered in this browser)").first.wait_for()
            wait_idle(page)
            pwned = [frame.evaluate("() => typeof window.__pwned") for frame in page.frames]
            assert pwned and set(pwned) == {"undefined"}, f"the typed name ran as a script {attempt}: {pwned}"
            assert [c for c in context.cookies() if c["name"] == "explainers_name"
                    and urllib.parse.unquote(c["value"]) == PWNED_NAME], f"the name cookie was not written {attempt}"
            check(page, beacon, f"the typed name {attempt}", {"typed name": f"Reviewing as {PWNED_NAME}"})
    finally:
        context.close()


def test_nothing_reached_the_beacon(beacon, planted):
    """Last: a late request (from a page already closed) would show here."""
    assert not beacon.every, beacon.every
