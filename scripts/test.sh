#!/usr/bin/env bash
# Set up (venv, requirements, Chromium for the browser test, PostgreSQL for the store's tests), check the code
# (ruff: lint everywhere, formatting of the library and the team layer; mypy on the library), then run the whole
# test suite. Extra arguments go to pytest, e.g. `bash scripts/test.sh -k cam`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test: installing Chromium for the browser test" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "test: could not install Chromium; the browser test will skip (it fails under CI=true)" >&2
fi
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test: installing PostgreSQL for the store's tests" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
    || echo "test: could not install PostgreSQL; its store tests will skip (they fail under CI=true)" >&2
fi
# The real OpenID Connect provider of the login browser test (tests/oidc, pinned by package-lock.json).
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test: installing Node.js and npm for the login browser test" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null) \
    || echo "test: could not install Node.js" >&2
fi
if command -v npm >/dev/null 2>&1; then
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error) \
    || echo "test: npm ci in tests/oidc failed; the login browser test will skip (it fails under CI=true)" >&2
else
  echo "test: npm not found; the login browser test will skip (it fails under CI=true)" >&2
fi
echo "test: ruff check, ruff format --check, mypy" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check explainers explainers_team
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
