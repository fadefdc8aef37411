"""The team workspace in the dashboard: the store, who is using it, stored uploads, "Save to workspace".

The data itself lives in :mod:`explainers_team.store` (SQLite in ``EXPLAINERS_DATA_DIR`` by
default, PostgreSQL with ``EXPLAINERS_DATABASE_URL``); this module is the dashboard's
side of it:

* :func:`store` opens it once per server process (per data folder and database URL);
* :func:`identity` is who saves: the logged-in user when login is configured
  (``ui.auth.current_identity``), else the name typed once per browser (a cookie);
* :func:`store_upload` keeps an uploaded photo in the store, so a link reopens it;
* :func:`share` draws, at the top of the page, "Copy link", the link, and "Save to workspace".

Every store failure (database unreachable, disk full, quota) becomes an ``st.error`` or
``st.warning`` that says what to do; the rest of the page keeps working.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote

import cv2
import numpy as np
import streamlit as st
from PIL import Image

from explainers import ExplainersError, Explanation
from explainers_team.settings import data_dir, database_url
from explainers_team.store import (NotFoundError, PermissionDeniedError, QuotaExceededError, Store, StoreError, User)

from . import auth, comparison, gallery, permalink, session
from .comparison import Side
from .session import Selection

log = logging.getLogger(__name__)

#: Cookie that remembers, per browser, the name a user gave (when no login is configured).
AUTHOR_COOKIE = "explainers_author"
#: Long side of a saved item's thumbnails, px (JPEG).
THUMBNAIL_SIDE = 240
#: Who uploads when nobody gave a name (counts against one shared quota).
ANONYMOUS = User("anonymous", "anonymous")


# -- the store ----------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Opening the workspace database...")
def _open(url: str, folder: str) -> Store:
    return Store(url, folder)


def store() -> Store:
    """The store of ``EXPLAINERS_DATABASE_URL`` / ``EXPLAINERS_DATA_DIR``, opened once per server process.

    Raises
    ------
    StoreError
        If the data folder cannot be created or the database cannot be reached (not
        cached: the next call tries again).
    """
    folder = data_dir()
    return _open(database_url(folder), str(folder))


def stored_photo(sha256: str) -> tuple[str, bytes] | str:
    """``(file name, bytes)`` of a stored photo, or a one-line message saying why it cannot be had."""
    try:
        found = store()
        info = found.photo_info(sha256)
        return info.original_name, found.get_photo(sha256)
    except NotFoundError:
        return (f"The photo in this link ({sha256[:12]}...) is not stored on this server: it was deleted, "
                "or the link comes from another server.")
    except ExplainersError as exc:
        return f"The photo in this link cannot be read: {exc}."
    except OSError as exc:
        return f"The photo in this link cannot be read from the data folder ({exc.strerror})."


# -- who is using it -------------------------------------------------------------------------------
def login_identity() -> User | None:
    """The signed-in user (``ui.auth.current_identity()``: e-mail, name, admin) when login is configured, else None."""
    who = auth.current_identity()
    return who


def typed_name() -> str | None:
    """The name this browser gave (this session's, else the cookie's), or None."""
    name = st.session_state.get("_author_name")
    if name:
        return name
    try:
        cookie = st.context.cookies.get(AUTHOR_COOKIE)
    except Exception:  # noqa: BLE001 - no browser context (tests, scripts)
        cookie = None
    name = unquote(cookie).strip() if isinstance(cookie, str) else ""
    if name:
        st.session_state["_author_name"] = name[:200]
    return name[:200] or None


def identity() -> User | None:
    """Who is saving: the logged-in user when login is configured, else the name this browser gave."""
    user = login_identity()
    if user is not None:
        return user
    name = typed_name()
    return User(name) if name else None


def remember_name(name: str) -> None:
    """Use ``name`` as this browser's author name from now on (kept in a cookie for a year)."""
    st.session_state["_author_name"] = name.strip()[:200]
    st.session_state["_author_cookie"] = st.session_state["_author_name"]


def write_cookie(container=st) -> None:
    """Set (or clear) the author cookie in the browser when the name was just changed (a tiny script)."""
    if "_author_cookie" not in st.session_state:
        return
    name = st.session_state.pop("_author_cookie")
    value = quote(name, safe="")
    age = 365 * 24 * 3600 if name else 0
    container.html(f"<script>document.cookie = '{AUTHOR_COOKIE}={value}; path=/; max-age={age}; SameSite=Lax';"
                   "</script>", unsafe_allow_javascript=True)


def name_form(container=st, key: str = "author") -> User | None:
    """The author line: the logged-in user, or the typed name with "Change", or a field to type it."""
    user = login_identity()
    if user is not None:
        container.caption(f"Saving as **{user.name}** ({user.id}), signed in.")
        return user
    name = typed_name()
    if name and not st.session_state.get(f"_{key}_editing"):
        line, change = container.columns([3, 1], vertical_alignment="center")
        line.caption(f"Saving as **{name}** (remembered in this browser).")
        if change.button("Change", key=f"{key}_change"):
            st.session_state[f"_{key}_editing"] = True
            st.rerun()
        return User(name)
    with container.form(f"{key}_form", border=False):
        typed = st.text_input("Your name (asked once; this browser remembers it)", value=name or "",
                              max_chars=200, help="Shown as the author of what you save. With login configured, "
                                                  "your signed-in identity is used instead.")
        remember = st.form_submit_button("Remember my name")
    if remember:
        if typed.strip():
            remember_name(typed)
            st.session_state.pop(f"_{key}_editing", None)
            st.rerun()
        container.warning("Type a name first.")
    return None


# -- stored uploads -----------------------------------------------------------------------------------
def store_upload(upload, container=st) -> str:
    """Keep an uploaded photo in the store (once per upload) and say so; returns its SHA-256.

    The photo is decoded by the store first (same decoder and limits as everywhere); an
    undecodable file raises :class:`explainers.ImageError` and nothing is written. When
    the store cannot keep it (database down, disk full, quota), the photo is still used
    in this browser tab, and a warning says that links to it will not open elsewhere.
    """
    memo = st.session_state.setdefault("_stored_uploads", {})
    if upload.file_id not in memo:
        data = upload.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        problem = None
        try:
            store().put_photo(data, upload.name, identity() or ANONYMOUS)
        except (StoreError, QuotaExceededError) as exc:
            problem = str(exc)
        except OSError as exc:
            problem = f"the data folder cannot be written ({exc.strerror})"
        memo.clear()
        memo[upload.file_id] = (sha, problem)
    sha, problem = memo[upload.file_id]
    if problem:
        container.warning(f"The photo is not stored: {problem}. It is explained in this tab, but a link to this "
                          "view will not reopen it elsewhere.")
    else:
        container.caption(f"Stored as `{sha[:12]}`: a link to this view reopens it, also after a restart.")
    return sha


def stored_sha(image_key: str | None) -> str | None:
    """The stored photo's SHA-256 of an image key ``upload:<sha256>``; None for a sample."""
    if image_key and image_key.startswith("upload:") and len(image_key) == len("upload:") + 64:
        return image_key[len("upload:"):]
    return None


# -- saving -----------------------------------------------------------------------------------------------
def jpeg(picture: np.ndarray, max_side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG of an ``(h, w, 3)`` uint8 picture (long side at most ``max_side``)."""
    h, w = picture.shape[:2]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        picture = cv2.resize(np.ascontiguousarray(picture), (max(1, round(w * scale)), max(1, round(h * scale))),
                             interpolation=cv2.INTER_AREA)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def thumbnails(selection: Selection, sides: Sequence[Side], style: dict[str, Any]) -> list[bytes]:
    """The two maps as the page paints them (colour scale, scale, opacity, boundaries), small, as JPEGs."""
    pictures, _ = comparison.panels(sides, gallery.display_image(selection.image_key, selection.image),
                                    "Side by side", style, max_side=THUMBNAIL_SIDE)
    return [jpeg(p.picture) for p in pictures]


def top_predictions(sides: Sequence[Side], k: int) -> dict[str, list[dict[str, Any]]]:
    """Each side's model's top-``k`` classes: ``{model: [{"class_index", "label", "probability"}]}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for side in sides:
        name = side.condition.model_name
        if name not in out and side.forward is not None and side.model is not None:
            out[name] = [{"class_index": int(c), "label": side.model.labels[c],
                          "probability": float(side.forward.probabilities[c])} for c in side.forward.top(k)]
    return out


def scores_of(explanation: Explanation) -> dict[str, Any]:
    """What the workspace keeps of one map: its method, class, and SeCAM's per-superpixel scores."""
    out: dict[str, Any] = {"model": explanation.model, "method": explanation.method,
                           "class_index": int(explanation.class_index), "label": explanation.label,
                           "probability": float(explanation.probability), "rank": int(explanation.rank),
                           "params": {k: v for k, v in explanation.params.items()
                                      if isinstance(v, (int, float, str, bool)) or v is None}}
    if explanation.segment_scores is not None:
        kept = explanation.kept_segments
        out["superpixels"] = {"ids": explanation.segment_ids, "scores": explanation.segment_scores,
                              "areas": explanation.segment_areas,
                              "kept": kept.astype(bool) if kept is not None else None}
    return out


def save(page: str, selection: Selection, sides: Sequence[Side], style: dict[str, Any], *, title: str,
         note: str, tags: str, author: User, query: dict[str, str]) -> int:
    """Save the current view as a workspace item; returns its id.

    Parameters
    ----------
    page : {"explain", "compare"}
    selection : Selection
    sides : sequence of Side
        The two computed conditions (A, B), as the page shows them.
    style : dict
        The page's display choices (``ui.widgets.display_controls``): the thumbnails are painted with them.
    title, note, tags : str
        Tags comma-separated.
    author : User
    query : dict
        The view's permalink query (:func:`ui.permalink.current`).

    Raises
    ------
    StoreError, InvalidRecordError, NotFoundError
        From the store; nothing is saved.
    """
    first = sides[0].explanation
    return store().save_item(
        title=title, author=author, view=dict(query),
        models=list(dict.fromkeys(s.condition.model_name for s in sides)),
        methods=[s.condition.method for s in sides], class_index=int(first.class_index), class_label=first.label,
        photo_sha256=stored_sha(selection.image_key), note=note, tags=tags,
        predictions={"page": page, "photo": selection.image_name, "top": top_predictions(sides, selection.topk)},
        scores=[{"side": s.name, **scores_of(s.explanation)} for s in sides],
        thumbnails=thumbnails(selection, sides, style))


def share(page: str, selection: Selection, sides: Sequence[Side], style: dict[str, Any]) -> None:
    """End of the Explain and Compare pages: the view goes into the URL; "Copy link" and "Save to workspace".

    Drawn in the row reserved at the top of the page by ``ui.page.setup``, so both are at
    hand without scrolling. Never raises: a store failure is an ``st.error`` there.

    Parameters
    ----------
    page : {"explain", "compare"}
    selection : Selection
    sides : sequence of Side
        The two computed conditions, as shown (what a saved item keeps).
    style : dict
        The page's display choices (``ui.widgets.display_controls``).
    """
    query = permalink.sync(page)
    link = permalink.url(query, page)
    with permalink.share_box(), session.guard("the share row"):
        _, copy, show, save_col = st.columns([5, 1.3, 1.1, 2], vertical_alignment="top")
        permalink.copy_button(link, copy)
        with show.popover("Link", icon="🔗", width="stretch", help="The address of this exact view"):
            st.code(link, language=None, wrap_lines=True)
            st.caption("Anyone who can reach this server sees this exact view: photo, models, methods, class and "
                       "display settings." + (" The photo is not stored, so it opens elsewhere only after it is "
                                              "uploaded again." if selection.image_key
                                              and selection.image_key.startswith("upload:")
                                              and stored_sha(selection.image_key) is None else ""))
        with save_col.popover("Save to workspace", icon="💾", width="stretch"):
            saved = _save_form(page, selection, sides, style, query)
        if saved:
            st.success(f"Saved '{_md(saved[1])}' to the workspace (item {saved[0]}).")
            st.page_link("pages/workspace.py", label="Open the Workspace", icon="🗃️")
        write_cookie()


def _save_form(page, selection, sides, style, query) -> tuple[int, str] | None:
    """The save form; returns ``(item id, title)`` on the run that saved, else None."""
    author = name_form(key="save_author")
    first = sides[0].explanation
    default_title = f"{first.label}: {sides[0].condition.label()} vs {sides[1].condition.label()}"
    with st.form("save_to_workspace", clear_on_submit=False, border=False):
        title = st.text_input("Title", value=default_title[:200], max_chars=200)
        note = st.text_area("Note", placeholder="What do you conclude from this view?", max_chars=20_000)
        tags = st.text_input("Tags (comma-separated)", placeholder="e.g. failure case, texture")
        submitted = st.form_submit_button("Save", type="primary", disabled=author is None, width="stretch")
    if author is None:
        st.caption("Give your name above first, so your team knows who saved it.")
    if not submitted or author is None:
        return None
    try:
        item_id = save(page, selection, sides, style, title=title, note=note, tags=tags, author=author,
                       query=query)
    except ExplainersError as exc:  # store down, disk full, a malformed title or tag: the message says which
        st.error(f"Not saved: {exc}")
        return None
    except (TypeError, ValueError, OSError) as exc:
        log.exception("workspace: saving")
        st.error(f"Not saved ({type(exc).__name__}: {exc}); nothing was written. Try again, or report it with "
                 "the server log.")
        return None
    return item_id, title.strip()


# -- the Workspace page -----------------------------------------------------------------------------------
#: Items drawn at first (then "Show more" adds as many), and cards per row.
PAGE_SIZE = 24
GRID_COLUMNS = 3
#: Characters of a note shown on a card (the whole note is one click away).
NOTE_PREVIEW = 240


def open_store() -> Store:
    """The store for the Workspace page; when it cannot be opened, says why and stops this page only."""
    message = st.session_state.pop("ws_flash", None)
    if message:
        st.success(message)
    try:
        return store()
    except ExplainersError as exc:
        st.error(f"The workspace is not available: {exc}. The other pages keep working; fix the setting and "
                 "reload this page.")
    except OSError as exc:
        st.error(f"The workspace's data folder cannot be used ({exc.strerror}). Set EXPLAINERS_DATA_DIR to a "
                 "writable folder and restart; the other pages keep working.")
    st.stop()


def item_filters(*, model: str | None = None, method: str | None = None, class_: tuple[int, str] | None = None,
                 author: tuple[str, str] | None = None, tag: str | None = None,
                 text: str | None = None) -> dict[str, Any]:
    """Keyword arguments of ``Store.list_items`` for the filters chosen (only those set)."""
    filters = {"model": model, "method": method, "class_index": class_[0] if class_ else None,
               "author": author[0] if author else None, "tag": tag, "text": (text or "").strip() or None}
    return {k: v for k, v in filters.items() if v is not None}


def item_page(item) -> str:
    """The script that shows a saved item's view (its permalink's ``page``)."""
    return permalink.PAGES.get(item.view.get(permalink.PAGE), permalink.PAGES["explain"])[0]


def item_photo(item) -> np.ndarray | None:
    """The display copy of a saved item's photo (a sample, or the stored upload), or None when it is gone."""
    key = str(item.view.get(permalink.PHOTO, ""))
    try:
        if key.startswith("sample:") and key[len("sample:"):] in gallery.SAMPLES:
            return gallery.display_image(key, gallery.sample_image(key[len("sample:"):]))
        if item.photo_sha256:
            found = stored_photo(item.photo_sha256)
            if isinstance(found, tuple):
                name, data = found
                image = gallery.uploaded_image(item.photo_sha256, name, data)
                return gallery.display_image(f"upload:{item.photo_sha256}", image)
    except (ExplainersError, OSError):
        log.exception("workspace: reading the photo of item %s", item.id)
    return None


def item_card(item) -> None:
    """A saved item's thumbnail pair, title, author, model, class, date, tags and note."""
    scores = item.scores if isinstance(item.scores, list) else []
    if item.thumbnails:
        pictures = st.columns(len(item.thumbnails[:2]))
        for i, (column, data) in enumerate(zip(pictures, item.thumbnails[:2])):
            s = scores[i] if i < len(scores) and isinstance(scores[i], dict) else {}
            caption = f"{s.get('side', '')}: {_method_title(s.get('method', ''))}".strip(": ")
            column.image(data, caption=caption or None, width="stretch")
    st.markdown(f"**{_md(item.title)}**")
    methods = " vs ".join(_method_title(m) for m in item.methods)
    st.caption(f"{_md(item.author_name)} | {_md(methods)} on {_md(', '.join(item.models))} | "
               f"{_md(item.class_label)} | {item.created_at:%Y-%m-%d %H:%M} UTC")
    if item.tags:
        st.markdown(" ".join(f":blue-badge[{_md(t)}]" for t in item.tags))
    if item.note and len(item.note) <= NOTE_PREVIEW:
        st.caption(_md(item.note))
    elif item.note:
        st.caption(_md(item.note[:NOTE_PREVIEW] + "..."))
        with st.expander("Whole note"):
            st.markdown(_md(item.note).replace("\n", "  \n"))


def _method_title(name: str) -> str:
    """``SeCAM`` for ``secam`` (the registered title; the name itself for a method no longer registered)."""
    import explainers

    found = explainers.EXPLAINERS.get(name)
    return found.title if found is not None else name


def _md(text: str) -> str:
    """Plain text shown through markdown: no formatting, no links, no badges injected by a title or note."""
    for char in "\\`*_[]<>#|:$~":
        text = text.replace(char, "\\" + char)
    return text


def edit_form(found: Store, item, user: User | None) -> None:
    """Edit an item's title, note and tags (author or admin; the store checks it again)."""
    with st.form(f"edit_{item.id}", border=False):
        title = st.text_input("Title", value=item.title, max_chars=200)
        note = st.text_area("Note", value=item.note, max_chars=20_000)
        tags = st.text_input("Tags (comma-separated)", value=", ".join(item.tags))
        submitted = st.form_submit_button("Save changes", type="primary")
    if not submitted or user is None:
        return
    try:
        found.update_item(item.id, by=user, title=title, note=note, tags=tags)
    except NotFoundError:
        st.error("This item no longer exists (someone deleted it); reload the page.")
        return
    except ExplainersError as exc:
        st.error(f"Not changed: {exc}")
        return
    st.session_state["ws_flash"] = f"Saved your changes to '{_md(title.strip())}'."
    st.rerun()


def confirm_delete(found: Store, item, user: User | None) -> None:
    """Ask before deleting an item for everyone; deletes it when confirmed."""
    st.warning(f"Delete '{_md(item.title)}' for everyone? This cannot be undone.")
    yes, no = st.columns(2)
    if no.button("Cancel", key=f"cancel_delete_{item.id}", width="stretch"):
        st.session_state.pop("ws_confirm_delete", None)
        st.rerun()
    if not yes.button("Yes, delete", key=f"confirm_delete_{item.id}", type="primary", width="stretch"):
        return
    st.session_state.pop("ws_confirm_delete", None)
    try:
        if user is None:
            raise PermissionDeniedError("give your name first (Who you are)")
        found.delete_item(item.id, by=user)
    except NotFoundError:
        st.session_state["ws_flash"] = f"'{_md(item.title)}' was already deleted."
    except ExplainersError as exc:
        st.error(f"Not deleted: {exc}")
        return
    else:
        st.session_state["ws_flash"] = f"Deleted '{_md(item.title)}'."
    st.rerun()
