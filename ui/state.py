"""Compatibility facade: the dashboard's state, split by concern since issue 9.

New code imports the module that owns the thing:

* :mod:`ui.session`: session keys (the single list ``SESSION_KEYS``), defaults, the selection, ``guard``;
* :mod:`ui.gallery`: sample photos, uploads, display copies;
* :mod:`ui.cache`: models, forward passes, superpixels and explanations of any registered method;
* :mod:`ui.faithfulness`: deletion and insertion curves on demand.

This module re-exports their public names for pages written against the old ``ui.state``
(``pages/batch.py``, ``pages/models.py``).
"""

from __future__ import annotations

from .cache import (  # noqa: F401
    SLIC_MAX_SIDE,
    availability,
    clear_caches,
    device_label,
    forward_pass,
    get_model,
    model_facts,
    registry,
)
from .gallery import (  # noqa: F401
    SAMPLES,
    THUMBNAIL_SIDE,
    UPLOAD_TYPES,
    display_image,
    display_thumbnail,
    sample_image,
    thumbnail_superpixels,
    upload_digest,
    uploaded_image,
)
from .session import (  # noqa: F401
    DEFAULT_METHODS,
    DEFAULT_MODEL,
    DEFAULTS,
    PAGE_KEYS,
    SESSION_KEYS,
    SIDEBAR_KEYS,
    SOURCE_SAMPLE,
    SOURCE_UPLOAD,
    Selection,
    current_upload,
    guard,
    init_session,
    keep_sidebar_choices,
    remember_upload,
    require,
    set_selection,
    value,
)

TOPK_MAX = 10


def forward(selection: Selection):
    """The cached forward pass of the sidebar's model on the sidebar's photo."""
    return forward_pass(selection.model_name, selection.image_key, selection.model, selection.image)


def display(selection: Selection):
    """The selected photo's display copy (cached)."""
    return display_image(selection.image_key, selection.image)


def segments(selection: Selection):
    """The cached superpixels of the selected photo with the sidebar's SLIC setting (``.full``, ``.seconds``...)."""
    from . import cache, widgets

    condition = cache.make_condition(selection.model_name, DEFAULT_METHODS[1], widgets.shared_params(selection))
    return cache.superpixels_of(condition, selection.image_key, selection.image)
