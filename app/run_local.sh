#!/usr/bin/env bash
# Run the app locally with gunicorn on port ${PORT:-8000}.  With no DATABASE_URL / DB_HOST /
# DB_SECRET set it uses the embedded SQLite default (${SQLITE_PATH:-/tmp/clients_service.sqlite3}).
# The interpreter and packages come from scripts/venv.sh, the recipe the tests use (Python 3.11,
# exactly requirements.txt, as in the image and on Beanstalk); the first run builds the venv.
set -euo pipefail
cd "$(dirname "$0")"
PY="$(bash scripts/venv.sh)"
export PORT="${PORT:-8000}"
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
exec "$PY" -m gunicorn --config gunicorn.conf.py
