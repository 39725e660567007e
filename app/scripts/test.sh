#!/usr/bin/env bash
# Lint and test the Flask app: flake8, then pytest (SQLite + a throw-away PostgreSQL server).
# Needs the Debian packages scripts/setup-system.sh lists (`bash scripts/setup-system.sh` installs
#   them), and the packages in requirements.txt from PyPI (or the local mirror under /opt/pypi).
# Works as root (PostgreSQL is run as the 'postgres' user via runuser).
set -euo pipefail
APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
cd "$APP_DIR"

# The suite runs against exactly the versions in requirements.txt, in the venv `npm run app` uses
# (scripts/venv.sh: the one recipe, Python 3.11 like the image and the Beanstalk platform), with
# the test tools added (--dev). A missing Debian package stops here with one line saying what to
# install (the list lives in scripts/setup-system.sh at the repository root).
if [ -f "$APP_DIR/../scripts/setup-system.sh" ]; then
  bash "$APP_DIR/../scripts/setup-system.sh" --check test
fi
PY="$(bash "$APP_DIR/scripts/venv.sh" --dev)"

export PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
if [ ! -x "$PG_BIN/initdb" ]; then
  echo "test.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 2
fi

# The test session starts its own PostgreSQL in a pgtest-* temp dir and stops it at teardown.
# Its temp dir is private to this run (TMPDIR for pytest only): a cleanup that matched
# pgtest-* in the shared /tmp stopped the servers of other runs started meanwhile (other
# test runs, the benchmark) and failed them.  If pytest is killed hard, stop what it left.
RUN_TMP="$(mktemp -d "${TMPDIR:-/tmp}/apptest-XXXXXX")"
chmod 711 "$RUN_TMP"  # the server runs as user postgres when we are root
cleanup() {
  for dir in "$RUN_TMP"/pgtest-*; do
    [ -d "$dir" ] || continue
    if [ -f "$dir/data/postmaster.pid" ]; then
      if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
          >/dev/null 2>&1 || true
      else
        "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
      fi
    fi
  done
  rm -rf "$RUN_TMP"
}
HYPOTHESIS_STORAGE_DIRECTORY="$(mktemp -d)"
export HYPOTHESIS_STORAGE_DIRECTORY
trap 'cleanup; rm -rf "$HYPOTHESIS_STORAGE_DIRECTORY"' EXIT INT TERM

echo "== flake8 ($PY)"
"$PY" -m flake8 "$APP_DIR"

echo "== pytest"
timeout_args=()
if "$PY" -c 'import pytest_timeout' >/dev/null 2>&1; then
  timeout_args=(--timeout=120)
fi
TMPDIR="$RUN_TMP" PYTHONDONTWRITEBYTECODE=1 "$PY" -m pytest -q -p no:cacheprovider "${timeout_args[@]}" \
  "$APP_DIR/tests" "$@"
