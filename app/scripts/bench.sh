#!/usr/bin/env bash
# Benchmark the app beside a minimal Flask app, a bare WSGI callable and a connect-per-request
# app under the same gunicorn settings, on loopback (see bench.py).  Needs wrk and the app's
# venv (app/scripts/venv.sh).  BENCH_SECONDS (5), BENCH_RUNS (3), BENCH_CONNECTIONS (64),
# WEB_CONCURRENCY / GUNICORN_THREADS as for the app.
set -euo pipefail
APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
cd "$APP_DIR"
# wrk and the PostgreSQL server come from Debian (scripts/setup-system.sh, group bench): one line
# naming what is missing. The interpreter is the app's venv from the one recipe (venv.sh).
bash "$APP_DIR/../scripts/setup-system.sh" --check bench
PY="${BENCH_PYTHON:-$(bash "$APP_DIR/scripts/venv.sh")}"
export PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
exec "$PY" "$APP_DIR/scripts/bench.py"
