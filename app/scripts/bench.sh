#!/usr/bin/env bash
# Benchmark the app beside a minimal Flask app, a bare WSGI callable and a connect-per-request
# app under the same gunicorn settings, on loopback (see bench.py).  Needs wrk and the test
# venv (built by scripts/test.sh).  BENCH_SECONDS (5), BENCH_RUNS (3), BENCH_CONNECTIONS (64),
# WEB_CONCURRENCY / GUNICORN_THREADS as for the app.
set -euo pipefail
APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
cd "$APP_DIR"
if ! command -v wrk >/dev/null 2>&1; then
  echo "bench.sh: wrk not found (apt-get install wrk)" >&2
  exit 2
fi
PY="${BENCH_PYTHON:-}"
if [ -z "$PY" ]; then
  # The venv scripts/test.sh builds (same key: interpreter + requirements*.txt).
  BASE_PY="${BASE_PYTHON:-/usr/bin/python3}"
  venv_key="$(
    { "$BASE_PY" -c 'import sys; print(sys.executable, sys.version)'
      cat "$APP_DIR"/requirements*.txt; } | sha256sum | cut -c1-16
  )"
  VENV="${TEST_VENV:-${TMPDIR:-/tmp}/flask-platform-venv-$venv_key}"
  if [ ! -f "$VENV/.complete" ]; then
    echo "== building the venv: bash scripts/test.sh -k nothing" >&2
    bash "$APP_DIR/scripts/test.sh" -k __build_venv_only__ >/dev/null || true
  fi
  PY="$VENV/bin/python"
fi
export PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
exec "$PY" "$APP_DIR/scripts/bench.py"
