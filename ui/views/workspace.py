"""The team workspace in the dashboard: "Save to workspace" on Explain and Compare, and the Workspace page's cards.

The data lives in :mod:`explainers_team.store` (opened by :mod:`ui.app.store`); who saves is
:func:`ui.app.identity.current_user`. Every store failure (database unreachable, disk full, quota)
becomes an ``st.error`` that says what to do; the rest of the page keeps working.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import streamlit as st
from PIL import Image

from explainers import ExplainersError, Explanation
from explainers_team.access import may_change
from explainers_team.store import ItemRecord, NotFoundError, PermissionDeniedError, Store, User

from ..app import identity, permalink, session
from ..app.session import Selection
from ..app.store import store, stored_photo
from ..text import md
from ..compute import comparison, photos
from ..compute.comparison import Side
from ..compute.photos import THUMBNAIL_SIDE
from ..exports.item_report import item_html

log = logging.getLogger(__name__)

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
    pictures, _ = comparison.panels(sides, photos.display_image(selection.image_key, selection.image),
                                    "Side by side", style, max_side=THUMBNAIL_SIDE)
    return [jpeg(p.picture) for p in pictures]


def top_predictions(sides: Sequence[Side], k: int) -> dict[str, list[dict[str, Any]]]:
    """Each side's model's top-``k`` classes: ``{model: [{"class_index", "label", "probability"}]}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for side in sides:
        name = side.condition.model
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
        The page's display choices (``ui.widgets.controls.display_controls``): the thumbnails are painted with them.
    title, note, tags : str
        Tags comma-separated.
    author : User
    query : dict
        The view's permalink query (:func:`ui.app.permalink.current`).

    Raises
    ------
    StoreError, InvalidRecordError, NotFoundError
        From the store; nothing is saved.
    """
    first = sides[0].explanation
    return store().save_item(
        title=title, author=author, view=dict(query),
        models=list(dict.fromkeys(s.condition.model for s in sides)),
        methods=[s.condition.method for s in sides], class_index=int(first.class_index), class_label=first.label,
        photo_sha256=stored_sha(selection.image_key), note=note, tags=tags,
        predictions={"page": page, "photo": selection.image_name, "top": top_predictions(sides, selection.topk)},
        scores=[{"side": s.name, **scores_of(s.explanation)} for s in sides],
        thumbnails=thumbnails(selection, sides, style))


def share(page: str, selection: Selection, sides: Sequence[Side], style: dict[str, Any]) -> None:
    """End of the Explain and Compare pages: the view goes into the URL; "Copy link" and "Save to workspace".

    Drawn in the row reserved at the top of the page by ``ui.app.page.setup``, so both are at
    hand without scrolling. Never raises: a store failure is an ``st.error`` there.

    Parameters
    ----------
    page : {"explain", "compare"}
    selection : Selection
    sides : sequence of Side
        The two computed conditions, as shown (what a saved item keeps).
    style : dict
        The page's display choices (``ui.widgets.controls.display_controls``).
    """
    query = permalink.sync(page)
    link = permalink.url(query, page)
    with permalink.share_box(), session.guard("the share row"):
        permalink.copy_button(link)
        with st.popover("Link", icon=":material/link:", help="The address of this exact view", key="link_popover"):
            st.code(link, language=None, wrap_lines=True)
            st.caption("Anyone who can reach this server sees this exact view: photo, models, methods, class and "
                       "display settings." + (" The photo is not stored, so it opens elsewhere only after it is "
                                              "uploaded again." if selection.image_key
                                              and selection.image_key.startswith("upload:")
                                              and stored_sha(selection.image_key) is None else ""))
        with st.popover("Save", icon=":material/bookmark_add:", key="save_popover",
                        help="Save this view to the team's workspace, with a title and a note"):
            saved = _save_form(page, selection, sides, style, query)
            if saved:
                st.success(f"Saved '{md(saved[1])}' to the workspace (item {saved[0]}).")
                st.page_link("pages/workspace.py", label="Open the Workspace", icon=":material/bookmarks:")


def _save_form(page, selection, sides, style, query) -> tuple[int, str] | None:
    """The save form; returns ``(item id, title)`` on the run that saved, else None."""
    author = identity.name_form(key="save_author")
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
        st.error(md(f"Not saved: {exc}"))
        return None
    except (TypeError, ValueError, OSError) as exc:
        log.exception("workspace: saving")
        st.error(md(f"Not saved ({type(exc).__name__}: {exc}); nothing was written. Try again, or report it with "
                    "the server log."))
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
        st.error(md(f"The workspace is not available: {exc}. The other pages keep working; fix the setting and "
                    "reload this page."))
    except OSError as exc:
        st.error(md(f"The workspace's data folder cannot be used ({exc.strerror}). Set EXPLAINERS_DATA_DIR to a "
                    "writable folder and restart; the other pages keep working."))
    st.stop()


def filters_row(found: Store) -> dict[str, Any]:
    """The filters above the grid (model, method, class, author, tag, text); returns ``Store.list_items`` keywords."""
    facets = found.item_facets()
    cols = st.columns([1, 1, 1.4, 1, 1, 1.6])
    model = cols[0].selectbox("Model", [None, *facets["models"]], format_func=lambda v: v or "Any", key="ws_model")
    method = cols[1].selectbox("Method", [None, *facets["methods"]], format_func=lambda v: v or "Any",
                               key="ws_method")
    chosen_class = cols[2].selectbox("Class", [None, *facets["classes"]], key="ws_class",
                                     format_func=lambda v: f"{v[1]} ({v[0]})" if v else "Any")
    author = cols[3].selectbox("Author", [None, *facets["authors"]], key="ws_author",
                               format_func=lambda v: v[1] if v else "Anyone")
    tag = cols[4].selectbox("Tag", [None, *facets["tags"]], format_func=lambda v: v or "Any", key="ws_tag")
    text = cols[5].text_input("Search", key="ws_text", placeholder="title, note or class")
    return item_filters(model=model, method=method, class_=chosen_class, author=author, tag=tag, text=text)


def listing_row(found: Store, filters: dict[str, Any]) -> tuple[list[ItemRecord], bool]:
    """The items shown (newest first, a page at a time), the count and the exports; returns ``(items, more)``."""
    shown = st.session_state.setdefault("ws_shown", PAGE_SIZE)
    items = found.list_items(limit=shown + 1, **filters)
    more = len(items) > shown
    items = items[:shown]
    head, csv_col, json_col = st.columns([3, 1, 1], vertical_alignment="bottom")
    head.markdown(f"**{len(items)}{'+' if more else ''} item(s)**"
                  + (" match the filters" if filters else " saved") + ("; newest first" if items else ""))
    csv_col.download_button("Export as CSV", lambda: found.export_items_csv(**filters), file_name="workspace.csv",
                            mime="text/csv", width="stretch", on_click="ignore",
                            help="Every item that matches the filters (all items without filters).")
    json_col.download_button("Export as JSON", lambda: found.export_items_json(**filters),
                             file_name="workspace.json", mime="application/json", width="stretch",
                             on_click="ignore", help="Every item that matches the filters, with scores.")
    return items, more


def grid(found: Store, items: Sequence[ItemRecord], user: User | None) -> None:
    """The saved items as cards, :data:`GRID_COLUMNS` per row, each with Open, Report, Edit and Delete."""
    for row in range(0, len(items), GRID_COLUMNS):
        for column, item in zip(st.columns(GRID_COLUMNS), items[row:row + GRID_COLUMNS]):
            with column.container(border=True):
                item_card(item)
                link = permalink.url(item.view)
                allowed = may_change(user, item.author_id)
                a, b = st.columns(2)
                if a.button("Open", key=f"open_{item.id}", type="primary", width="stretch",
                            help="Reopen this exact view"):
                    permalink.open_view(item_page(item), item.view)
                b.download_button("Report (HTML)", lambda item=item, link=link: item_html(item, link, item_photo(item)),
                                  file_name=f"workspace_item_{item.id}.html", mime="text/html",
                                  key=f"report_{item.id}", width="stretch", on_click="ignore",
                                  help="This item as a standalone HTML page")
                c, d = st.columns(2)
                refused = f"Only {md(item.author_name)} or an admin can change it"
                with c.popover("Edit", width="stretch", disabled=not allowed, key=f"edit_popover_{item.id}",
                               help=None if allowed else refused):
                    edit_form(found, item, user)
                if d.button("Delete", key=f"delete_{item.id}", width="stretch", disabled=not allowed,
                            help=None if allowed else refused):
                    st.session_state["ws_confirm_delete"] = item.id
                if st.session_state.get("ws_confirm_delete") == item.id:
                    confirm_delete(found, item, user)
                st.page_link(item_page(item), label="Link to this view", icon=":material/link:",
                             query_params=item.view)


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
        if key.startswith("sample:") and key[len("sample:"):] in photos.SAMPLES:
            return photos.display_image(key, photos.sample_image(key[len("sample:"):]))
        if item.photo_sha256:
            found = stored_photo(item.photo_sha256)
            if isinstance(found, tuple):
                name, data = found
                image = photos.uploaded_image(item.photo_sha256, name, data)
                return photos.display_image(f"upload:{item.photo_sha256}", image)
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
            column.image(data, caption=md(caption) if caption else None, width="stretch")
    st.markdown(f"**{md(item.title)}**")
    methods = " vs ".join(_method_title(m) for m in item.methods)
    st.caption(f"{md(item.author_name)} | {md(methods)} on {md(', '.join(item.models))} | "
               f"{md(item.class_label)} | {item.created_at:%Y-%m-%d %H:%M} UTC")
    if item.tags:
        st.markdown(" ".join(f":blue-badge[{md(t)}]" for t in item.tags))
    if item.note and len(item.note) <= NOTE_PREVIEW:
        st.caption(md(item.note))
    elif item.note:
        st.caption(md(item.note[:NOTE_PREVIEW] + "..."))
        with st.expander("Whole note"):
            st.markdown(md(item.note).replace("\n", "  \n"))


def _method_title(name: str) -> str:
    """``SeCAM`` for ``secam`` (the registered title; the name itself for a method no longer registered)."""
    import explainers

    found = explainers.EXPLAINERS.get(name)
    return found.title if found is not None else name


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
        st.error(md(f"Not changed: {exc}"))
        return
    st.session_state["ws_flash"] = f"Saved your changes to '{md(title.strip())}'."
    st.rerun()


def confirm_delete(found: Store, item, user: User | None) -> None:
    """Ask before deleting an item for everyone; deletes it when confirmed."""
    st.warning(f"Delete '{md(item.title)}' for everyone? This cannot be undone.")
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
        st.session_state["ws_flash"] = f"'{md(item.title)}' was already deleted."
    except ExplainersError as exc:
        st.error(md(f"Not deleted: {exc}"))
        return
    else:
        st.session_state["ws_flash"] = f"Deleted '{md(item.title)}'."
    st.rerun()
