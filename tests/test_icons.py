"""No emoji in the dashboard: a browser without an emoji font shows them as empty boxes. Icons are Material
icons (``:material/name:``), which Streamlit ships as a font of its own."""

from __future__ import annotations

import re
from pathlib import Path

from ui.app import page

ROOT = Path(__file__).resolve().parents[1]
#: Pictographs, dingbats and symbols that are drawn from an emoji font, and the emoji variation selector.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


def test_navigation_icons_are_material_icons():
    assert page.NAV and all(icon.startswith(":material/") and icon.endswith(":") for _, _, icon in page.NAV)
    assert all(not EMOJI.search(label) for _, label, _ in page.NAV)
    assert page.ICON.endswith(".png") and Path(page.ICON).is_file()  # the tab's icon is a bundled picture


def test_no_emoji_in_the_dashboard_code():
    found = []
    for path in [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").rglob("*.py"))]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if EMOJI.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "use a Material icon (:material/name:) instead of an emoji:\n" + "\n".join(found)
