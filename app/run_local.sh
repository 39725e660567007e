#!/usr/bin/env bash
# Run the app locally with gunicorn on port ${PORT:-8000}.  With no DATABASE_URL / DB_HOST /
# DB_SECRET set it uses the embedded SQLite default (${SQLITE_PATH:-/tmp/clients_service.sqlite3}).
set -euo pipefail
cd "$(dirname "$0")"
PY=python3
if /usr/bin/python3 -c 'import flask, gunicorn' >/dev/null 2>&1; then
  PY=/usr/bin/python3
fi
export PORT="${PORT:-8000}"
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
exec "$PY" -m gunicorn --config gunicorn.conf.py
