#!/usr/bin/env bash
# Refresh the README's screenshots (docs/screenshots/*.png) with the project's own code: the real-browser
# tests drive `streamlit run dashboard.py` in Chromium and save a picture of every page there (the Review page's
# trial and results views come from tests/test_review_browser.py).
# Needs Chromium at /usr/bin/chromium (apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
SCREENSHOT_DIR="$PWD/docs/screenshots" CI=true exec .venv/bin/python -m pytest tests/test_browser.py tests/test_review_browser.py -q "$@"
