"""Files the project writes: atomically (never half written), and CSV that a spreadsheet cannot run.

Every CSV the project writes (``results.csv``, the workspace and review exports) goes through
:func:`csv_text`, which neutralises cells that a spreadsheet would read as a formula (OWASP's rule
for CSV injection: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets
a leading ``'``). Numbers are written as they are, so ``-0.25`` stays a number: give a numeric
column numbers, not text (the text ``"-0.25"`` would get the ``'``). :func:`read_cell` takes the ``'``
off again when the project reads its own CSV back.

Examples
--------
>>> csv_text([{"name": "=HYPERLINK(\\"http://x\\")", "score": -0.5}], ["name", "score"])
'name,score\\n"\\'=HYPERLINK(""http://x"")",-0.5\\n'
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` made inert for a spreadsheet: a text cell starting like a formula gets a leading ``'``.

    Numbers (``int``, ``float``, numpy scalars) and ``None`` are returned as they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def read_cell(text: str) -> str:
    """A text cell read back from a CSV that :func:`csv_text` wrote: the ``'`` put before a formula is taken off.

    ``read_cell("'=1+2")`` is ``"=1+2"``; any other text is returned as it is.
    """
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text with a header ``columns`` and one line per row, every text cell passed through :func:`safe_cell`.

    Parameters
    ----------
    rows : iterable of mapping
        Keys not in ``columns`` are ignored; missing keys are empty cells; ``None`` is an empty cell.
    columns : sequence of str

    Returns
    -------
    str
        Lines end with ``\\n``.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: safe_cell(row.get(c)) for c in columns})
    return buffer.getvalue()


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so no half-written file is ever left."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
