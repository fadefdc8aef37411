"""The Explain and Compare views in the URL: open a link in a fresh browser and see the same view.

The URL's query (``st.query_params``) holds every choice that shapes the view: the
page, the model, the two conditions (model and method of A and B, with the methods' own
parameters), the photo (``sample:<name>`` or ``upload:<sha256>`` of a photo kept in the
store), the class, top-K, SLIC's parameters, the threshold, the colour scale, the scale,
the opacity, the boundaries and Compare's view. :data:`PARAMS` lists them declaratively,
one :class:`LinkField` per session key of :data:`ui.app.session.SESSION_KEYS`, so a new choice is
one line there (a test fails while a session key has none).

How it runs, on every page (``ui.page.setup``):

1. :func:`restore` before any widget is drawn: when the URL's query is not the one
   this session wrote last (a fresh browser, or the Workspace page opening an item),
   its values go into the session's choices. A value that cannot be used (an unknown
   model, a deleted photo, a class the model does not have, a malformed number) is
   named in an ``st.warning`` and the default is kept; nothing raises.
2. The page draws its widgets from the session's choices.
3. :func:`sync` at the end of the Explain and Compare pages writes the choices back to
   the URL; :func:`url` makes the full link and :func:`copy_button` the "Copy link" button
   (``ui.views.workspace.share`` draws them in the row :func:`reserve_share_box` kept at the top).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from ..compute import models, photos
from ..figures.scales import COLORSCALES, SCALES
from . import session, store
from ..text import md, script_json

log = logging.getLogger(__name__)

#: Pages whose whole view lives in the URL: URL name -> (script, title).
PAGES = {"explain": ("dashboard.py", "Explain"), "compare": ("pages/compare.py", "Compare")}
#: URL names of the photo and of the page (handled by :func:`restore` itself, not by a Param).
PHOTO, PAGE = "photo", "page"
#: The sidebar's file uploader's key.
UPLOADER = "upload"
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Session keys of this module (what it last wrote, warnings to show, checks to make at the end).
_WRITTEN, _NOTES, _ASKED = "_permalink_written", "_permalink_notes", "_permalink_asked"
#: How many of the queries this session wrote are remembered (see :func:`_ours`).
_HISTORY = 64


def _ours(query: dict[str, str]) -> bool:
    """Whether this session wrote ``query`` itself at some point.

    A widget's rerun carries the address the browser shows *when the widget changed*;
    while an earlier run is still writing the new address, that is an older one this
    session wrote. Restoring it would undo the user's own change (a swipe slider dragged
    in steps went back to the side-by-side view), so only a query this session never
    wrote (a link opened, the Workspace's Open) is restored.
    """
    return tuple(sorted(query.items())) in (st.session_state.get(_WRITTEN) or ())


def open_view(script: str, query: dict[str, str]) -> None:
    """Open ``script`` showing the view ``query`` (a saved item's link), even one this session showed before."""
    st.session_state.pop(_WRITTEN, None)
    st.switch_page(script, query_params=query)


def _remember(query: dict[str, str]) -> None:
    history = [q for q in (st.session_state.get(_WRITTEN) or ()) if q != tuple(sorted(query.items()))]
    st.session_state[_WRITTEN] = tuple([*history, tuple(sorted(query.items()))][-_HISTORY:])


class LinkValueError(ValueError):
    """A URL value that cannot be used; the message says what was wrong (shown in a warning)."""


@dataclasses.dataclass(frozen=True)
class LinkField:
    """One choice kept in the URL.

    Parameters
    ----------
    key : str
        The session key (one of ``ui.app.session.SESSION_KEYS``).
    name : str
        Its name in the URL (short, stable: links outlive the code).
    parse : callable
        URL text -> value; raises :class:`LinkValueError` (or ``ValueError``) with a message.
    text : callable, optional
        Value -> URL text; must round-trip through ``parse`` exactly (default ``str``).
    pages : tuple of str, optional
        The pages (keys of :data:`PAGES`) whose links carry it (default: all).
    widget : str, optional
        Prefix of the page widget's key that mirrors ``key`` (``w_<key>`` in ``ui.widgets.controls``);
        dropped on restore so the widget starts from the restored value.
    """

    key: str
    name: str
    parse: Callable[[str], Any]
    text: Callable[[Any], str] = str
    pages: tuple[str, ...] = tuple(PAGES)
    widget: str | None = None


# -- parsers (each one: URL text -> value, or LinkValueError saying what was wrong) ------------
def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """Parser of an int in ``[low, high]``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise LinkValueError(f"'{text[:40]}' is not a whole number") from None
        if value < low or (high is not None and value > high):
            raise LinkValueError(f"{value} is outside [{low}, {high if high is not None else '...'}]")
        return value
    return parse


def number(low: float, high: float) -> Callable[[str], float]:
    """Parser of a finite float in ``[low, high]``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise LinkValueError(f"'{text[:40]}' is not a number") from None
        if not low <= value <= high:  # also refuses nan
            raise LinkValueError(f"{text[:40]} is outside [{low:g}, {high:g}]")
        return value
    return parse


def choice(options: Callable[[], Any] | tuple) -> Callable[[str], str]:
    """Parser of one of ``options`` (a tuple, or a function returning the current options)."""
    def parse(text: str) -> str:
        allowed = list(options() if callable(options) else options)
        if text not in allowed:
            raise LinkValueError(f"'{text[:40]}' is not one of {', '.join(map(str, allowed))}")
        return text
    return parse


def boolean(text: str) -> bool:
    """Parser of ``1``/``0`` (also ``true``/``false``)."""
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise LinkValueError(f"'{text[:40]}' is not 1 or 0")


def flag(value: Any) -> str:
    return "1" if value else "0"


def exact(value: Any) -> str:
    """A float's shortest text that reads back as the same float (0.35000000000000003 stays so)."""
    return repr(float(value))


def usable_model(text: str) -> str:
    """A model of the registry whose weights are available here."""
    available = models.availability()
    if text not in available:
        raise LinkValueError(f"there is no model '{text[:60]}' on this server (models: {', '.join(available)})")
    if not available[text][0]:
        raise LinkValueError(f"model '{text}' cannot be loaded here: {available[text][1]}")
    return text


def side_model(text: str) -> str | None:
    """Compare's model of one side: empty means "the sidebar's model"."""
    return usable_model(text) if text else None


def method(text: str) -> str:
    """A registered explainer."""
    import explainers

    if text not in explainers.EXPLAINERS:
        raise LinkValueError(f"there is no method '{text[:60]}' here (methods: {', '.join(explainers.list_explainers())})")
    return text


def method_params(text: str) -> dict:
    """``{method: {parameter: value}}`` as compact JSON; each value checked by the method's declaration."""
    import explainers

    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise LinkValueError("it is not valid JSON") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise LinkValueError("it must be {method: {parameter: value}}")
    for name, params in value.items():
        method(name)
        try:
            explainers.EXPLAINERS[name].check_params(params, server=True)
        except (explainers.ExplainersError, TypeError, ValueError) as exc:
            raise LinkValueError(f"{name}: {exc}") from None
    return value


def compact_json(value: Any) -> str:
    """Compact JSON of a non-empty dict; empty for none."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True) if value else ""


#: Every choice in the URL, in the URL's order. To add one: one line here (its session key must
#: be in ``ui.app.session.SESSION_KEYS``). ``pages`` limits a choice to the views that draw it.
PARAMS: list[LinkField] = [
    LinkField("model_name", "model", usable_model),
    LinkField("left_model", "a_model", side_model, lambda v: v or "", pages=("compare",), widget="w_left_model"),
    LinkField("left_method", "a_method", method, widget="w_left_method"),
    LinkField("right_model", "b_model", side_model, lambda v: v or "", pages=("compare",), widget="w_right_model"),
    LinkField("right_method", "b_method", method, widget="w_right_method"),
    LinkField("method_params", "params", method_params, compact_json, widget="w_param_"),
    LinkField("target_class", "class", integer(0), widget="w_target_class"),
    LinkField("topk", "topk", integer(1, session.TOPK_MAX)),
    LinkField("n_segments", "segments", integer(*session.N_SEGMENTS_RANGE)),
    LinkField("compactness", "compactness", number(*session.COMPACTNESS_RANGE), exact),
    LinkField("slic_full", "slic_full", boolean, flag),
    LinkField("threshold", "threshold", number(0.0, 1.0), exact, widget="w_threshold"),
    LinkField("colorscale", "colors", choice(COLORSCALES), widget="w_colorscale"),
    LinkField("scale", "scale", choice(SCALES), widget="w_scale"),
    LinkField("opacity", "opacity", number(0.0, 1.0), exact, widget="w_opacity"),
    LinkField("boundaries", "boundaries", boolean, flag, widget="w_boundaries"),
    LinkField("region_numbers", "numbers", boolean, flag, widget="w_region_numbers"),
    LinkField("view", "view", choice(session.VIEWS), pages=("compare",), widget="w_view"),
    LinkField("swipe", "swipe", integer(0, 100), pages=("compare",), widget="w_swipe"),
    LinkField("topk_rows", "rows", boolean, flag, pages=("compare",), widget="w_topk_rows"),
    LinkField("refined", "refined", boolean, flag),
]


# -- reading the URL ----------------------------------------------------------------------------
def _query() -> dict[str, str]:
    return {name: st.query_params.get(name) for name in st.query_params.keys()}


def _note(message: str) -> None:
    st.session_state.setdefault(_NOTES, []).append(message)


def restore(script: str) -> str | None:
    """Put the URL's choices into the session (call before any widget is drawn); returns the view's name.

    Does nothing when the URL's query is the one this session wrote last, so the
    widgets' own changes win; otherwise every value present is checked, and one that
    cannot be used is named in a warning while the rest still apply.

    Parameters
    ----------
    script : str
        This page's script (``pages/compare.py``). Only the views in :data:`PAGES` are
        restored; a link whose ``page`` names the other view switches to it.

    Returns
    -------
    str or None
        This page's key in :data:`PAGES` (``"compare"``), or None for a page without a view in the URL.
    """
    page = next((name for name, (path, _) in PAGES.items() if path == script), None)
    if page is None:
        return None
    query = _query()
    if not query or _ours(query):
        return page
    wanted = query.get(PAGE)
    if wanted and wanted != page:
        if wanted in PAGES:  # the other view's link: open that page with the same query
            st.switch_page(PAGES[wanted][0], query_params=query)
        _note(f"The link names an unknown page '{wanted[:40]}'; showing {PAGES[page][1]}.")
    _remember(query)
    asked: dict[str, Any] = {}
    for param in PARAMS:
        if param.name not in query or page not in param.pages:
            continue
        try:
            value = param.parse(query[param.name])
        except (LinkValueError, ValueError) as exc:
            _note(f"The link's {param.name} cannot be used: {exc}. Showing the default instead.")
            continue
        except Exception as exc:  # noqa: BLE001 - a bad link must never show a traceback
            log.exception("permalink: reading %s", param.name)
            _note(f"The link's {param.name} cannot be used ({type(exc).__name__}: {exc}). Showing the default.")
            continue
        st.session_state[param.key] = value
        asked[param.key] = value
        if param.widget:  # the widget must start from the restored value, not from its own old one
            for key in [k for k in st.session_state if str(k).startswith(param.widget)]:
                del st.session_state[key]
    if PHOTO in query:
        _restore_photo(query[PHOTO])
    if "target_class" in asked or PHOTO in query or "model_name" in asked:
        # ``ui.widgets.controls.target_class`` keeps a class it did not choose itself only with no owner
        st.session_state.pop("_target_owner", None)
        st.session_state.pop("_target_label", None)
        if "target_class" not in asked:
            st.session_state["target_class"] = None  # a new photo or model from the link: its top-1
    st.session_state[_ASKED] = asked
    return page


def _current_image_key() -> str | None:
    if st.session_state.get("image_source", session.SOURCE_SAMPLE) == session.SOURCE_SAMPLE:
        return f"sample:{st.session_state.get('sample', session.DEFAULT_SAMPLE)}"
    upload = session.current_upload()
    return f"upload:{upload[0]}" if upload else None


def _restore_photo(text: str) -> str:
    """Choose the link's photo; returns its image key (the default sample's, with a warning, when it cannot be had)."""
    if text.startswith("sample:"):
        name = text[len("sample:"):]
        if name not in photos.SAMPLES:
            _note(f"The link's photo, sample '{name[:40]}', does not exist here (samples: {', '.join(photos.SAMPLES)}); "
                  f"showing '{session.DEFAULT_SAMPLE}' instead.")
            name = session.DEFAULT_SAMPLE
        st.session_state["image_source"], st.session_state["sample"] = session.SOURCE_SAMPLE, name
        return f"sample:{name}"
    sha = text[len("upload:"):] if text.startswith("upload:") else text
    sha = sha.strip().lower()
    if not _SHA256.fullmatch(sha):
        _note(f"The link's photo '{text[:40]}' is neither sample:<name> nor a stored photo's hash; "
              f"showing '{session.DEFAULT_SAMPLE}' instead.")
        return _default_photo()
    found = store.stored_photo(sha)
    if isinstance(found, str):
        _note(f"{found} Showing '{session.DEFAULT_SAMPLE}' instead.")
        return _default_photo()
    name, data = found
    session.remember_upload(sha, name, data)
    st.session_state["image_source"] = session.SOURCE_UPLOAD
    if UPLOADER in st.session_state:  # a file still in the uploader would win over the link's photo
        del st.session_state[UPLOADER]
    return f"upload:{sha}"


def _default_photo() -> str:
    st.session_state["image_source"], st.session_state["sample"] = session.SOURCE_SAMPLE, session.DEFAULT_SAMPLE
    return f"sample:{session.DEFAULT_SAMPLE}"


def reserve_share_box() -> None:
    """Reserve the page's top row for "Copy link" and "Save to workspace" (filled at the page's end)."""
    st.session_state["_share_box"] = st.container(horizontal=True, width="content", gap="small",
                                                  vertical_alignment="center", key="share_row")


def share_box():
    """The container reserved by :func:`reserve_share_box` (a new one at the page's end if none)."""
    return st.session_state.pop("_share_box", None) or st.container()


def show_notes() -> None:
    """Show the warnings of the last :func:`restore` (once), e.g. on the page that was opened."""
    for message in st.session_state.pop(_NOTES, []):
        st.warning(md(message), icon=":material/link:")  # it quotes the link's text


# -- writing the URL -----------------------------------------------------------------------------
def current(page: str) -> dict[str, str]:
    """The query that reproduces this session's view of ``page``: ``{"page": ..., "photo": ..., ...}``."""
    query = {PAGE: page}
    photo = _current_image_key()
    if photo:
        query[PHOTO] = photo
    for param in PARAMS:
        if page in param.pages:
            value = session.value(param.key)
            if value is None and param.text in (str, exact, flag):
                continue  # not chosen yet (the class before the page resolved it)
            query[param.name] = param.text(value)
    return query


def sync(page: str) -> dict[str, str]:
    """Write this session's view to the URL (call at the end of the page); returns the query.

    Also warns when the page did not show what the link asked for (e.g. a class the
    model does not have: the page fell back to the top prediction).
    """
    query = current(page)
    asked = st.session_state.pop(_ASKED, {})
    if asked.get("target_class") is not None and asked["target_class"] != session.value("target_class"):
        st.warning(f"The link's class {asked['target_class']} does not exist for {md(session.value('model_name'))}; "
                   "showing its top prediction instead.", icon=":material/link:")
    if _query() != query:
        st.query_params.from_dict(query)
    _remember(query)
    return query


def url(query: Mapping[str, str], page: str | None = None) -> str:
    """The full link of ``query``: this server's address (as the browser sees it), the page's path, the query.

    Without a browser context (tests), the link is relative to the server: ``/compare?...``.
    """
    page = page or query.get(PAGE, "explain")
    path = "" if page == "explain" else page
    base = None
    try:
        base = st.context.url
    except Exception:  # noqa: BLE001 - no context outside a browser session
        base = None
    if base:
        root = base.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        for name in PAGES:  # st.context.url ends with the current page's path
            if name != "explain" and root.endswith("/" + name):
                root = root[: -len(name) - 1]
        address = f"{root}/{path}" if path else f"{root}/"
    else:
        address = f"/{path}"
    return f"{address}?{urlencode(dict(query))}"


def copy_button(link: str, container=st) -> None:
    """The "Copy link" button: copies ``link`` to the clipboard (a few lines of JavaScript in the page)."""
    button_id = f"copy-link-{abs(hash(link)) % 10**8}"
    text = script_json(link)  # cannot close the script element
    container.html(
        width="content",
        body=f'<button id="{button_id}" type="button" aria-label="Copy link" title="Copy the link to this view" '
        'style="padding:0.4rem 0.75rem;border-radius:0.5rem;border:1px solid rgba(49,51,63,0.2);'
        'background:transparent;color:inherit;cursor:pointer;font:inherit;white-space:nowrap">Copy link</button>'
        f'<span id="{button_id}-done" role="status" style="font-size:0.8rem;margin-left:0.4rem"></span>'
        "<script>(() => {"
        f"const b = document.getElementById({script_json(button_id)}); if (!b || b.dataset.ready) return;"
        f"b.dataset.ready = '1'; const link = {text};"
        f"const done = document.getElementById({script_json(button_id + '-done')});"
        "const fallback = () => { const t = document.createElement('textarea'); t.value = link;"
        " document.body.appendChild(t); t.select(); document.execCommand('copy'); t.remove(); };"
        "b.addEventListener('click', async () => {"
        " try { await navigator.clipboard.writeText(link); } catch (e) { fallback(); }"
        " done.textContent = 'Copied'; setTimeout(() => done.textContent = '', 2500); });"
        "})();</script>",
        unsafe_allow_javascript=True,
    )
