"""User text stays text: the escapers every page, figure and report uses for what people typed or uploaded.

Names, titles, notes, tags, questions, comments, file names and class labels reach Streamlit's
Markdown only through :func:`md`, so no formatting, link, image or badge can come from them: a study
named ``![i](http://host/x.gif)`` shows those characters, and no browser fetches anything. In Plotly's
labels (which read a few HTML tags, links among them) and in the HTML reports they go through
:func:`html`; data written into an inline ``<script>`` goes through :func:`script_json`. Pure: no
Streamlit, so the figure builders use it too.

Examples
--------
>>> md("![i](http://host/x.gif) **bold**")
'\\\\!\\\\[i\\\\]\\\\(http\\\\://host/x\\\\.gif\\\\) \\\\*\\\\*bold\\\\*\\\\*'
"""

from __future__ import annotations

import html as _html
import json
import re
from typing import Any

#: What a table shows in a cell that does not apply (a CAM row's kept %, a photo without a true class): never
#: "None" or "nan". ``st.dataframe(..., placeholder=MISSING)``; :func:`cell` for tables drawn from text.
MISSING = "\u2014"

#: Markdown's special characters, and Streamlit's own: ``$`` (LaTeX), ``:`` (emoji and badge codes, and the
#: ``://`` of a bare link), ``.`` (a bare ``www.`` link), ``~`` (strike-through), ``|`` (tables), ``<>`` (HTML).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$:&\"'=])")


def cell(value: Any) -> Any:
    """A table cell as shown: :data:`MISSING` for ``None`` and NaN, else ``value`` unchanged."""
    if value is None or (isinstance(value, float) and value != value):
        return MISSING
    return value


def md(text: Any) -> str:
    """``text`` for ``st.markdown``/``st.caption``/``st.title``: every character shown as typed, nothing rendered.

    Line breaks are kept as Markdown line breaks.
    """
    escaped = _SPECIAL.sub(r"\\\1", str(text))
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")


def html(text: Any) -> str:
    """``text`` for HTML and Plotly's labels: ``<``, ``>``, ``&`` and quotes as entities (no tag, no link).

    Quotes become numeric entities (``&#34;``, ``&#x27;``): Plotly decodes numeric entities but shows a named
    ``&quot;`` as typed.
    """
    return _html.escape(str(text), quote=True).replace("&quot;", "&#34;")


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside an inline ``<script>``: ``</script>``, ``<!--``, U+2028 and U+2029
    cannot end or break the script."""
    text = json.dumps(value)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                       ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text
