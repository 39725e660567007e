#!/usr/bin/env bash
# Lint and test the Flask app: flake8, then pytest (SQLite + a throw-away PostgreSQL server).
# Needs (Debian): python3-venv python3-psycopg-pool python3-pytest python3-hypothesis
#   python3-flake8 python3-pytest-timeout postgresql, and the packages in requirements.txt from
#   PyPI (or the local mirror under /opt/pypi when present).
# Works as root (PostgreSQL is run as the 'postgres' user via runuser).
set -euo pipefail
APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
cd "$APP_DIR"

# The suite runs against exactly the versions in requirements.txt: they are pip-installed into
# a virtualenv (reused while requirements*.txt and the interpreter stay the same) created with
# --system-site-packages, so the venv's pins shadow Debian's python3-flask & co. while the test
# tools (pytest, hypothesis, flake8, pytest-timeout) and psycopg-pool come from Debian.
# BASE_PYTHON picks the interpreter the venv is built from (default /usr/bin/python3);
# TEST_VENV overrides the venv's location.
BASE_PY="${BASE_PYTHON:-}"
if [ -z "$BASE_PY" ]; then
  for candidate in /usr/bin/python3 python3; do
    if "$candidate" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      BASE_PY="$candidate"
      break
    fi
  done
fi
if [ -z "$BASE_PY" ]; then
  echo "test.sh: no python3 that can create a virtualenv (apt-get install python3-venv)" >&2
  exit 2
fi
venv_key="$(
  { "$BASE_PY" -c 'import sys; print(sys.executable, sys.version)'
    cat "$APP_DIR"/requirements*.txt; } | sha256sum | cut -c1-16
)"
VENV="${TEST_VENV:-${TMPDIR:-/tmp}/flask-platform-venv-$venv_key}"
PY="$VENV/bin/python"

pip_install() {
  local args=(--disable-pip-version-check --no-input -q)
  if [ -d /opt/pypi/simple ]; then
    # Offline mirror on this machine: use it only (no waiting on an unreachable pypi.org).
    args+=(--index-url file:///opt/pypi/simple)
    [ -d /opt/wheels ] && args+=(--find-links /opt/wheels)
    PIP_CONFIG_FILE=/dev/null "$PY" -m pip install "${args[@]}" "$@"
  else
    "$PY" -m pip install "${args[@]}" "$@"
  fi
}

build_venv() {
  if [ -f "$VENV/.complete" ] && [ -x "$PY" ]; then
    return 0
  fi
  echo "== building test venv $VENV (from $BASE_PY)"
  if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
    echo "test.sh: $VENV exists and is not a virtualenv; not touching it" >&2
    exit 2
  fi
  rm -rf "$VENV"
  "$BASE_PY" -m venv --system-site-packages "$VENV"
  pip_install -r "$APP_DIR/requirements.txt"
  if ! "$PY" -c 'import pytest, hypothesis, flake8' >/dev/null 2>&1; then
    # No Debian test tools: take them from requirements-dev.txt instead.
    pip_install -r "$APP_DIR/requirements-dev.txt"
  fi
  touch "$VENV/.complete"
}
mkdir -p "$(dirname "$VENV")"
if command -v flock >/dev/null 2>&1; then
  # Concurrent runs share the venv: build it under a lock.
  exec 9>"$VENV.lock"
  flock 9
  build_venv
  flock -u 9
  exec 9>&-
else
  build_venv
fi

# Fail loudly unless every pin in requirements.txt is what the venv imports.
"$PY" - "$APP_DIR/requirements.txt" <<'PYEOF'
import importlib
import importlib.metadata as md
import os
import re
import sys

pins = {}
with open(sys.argv[1]) as f:
    for line in f:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", line)
        if not m:
            sys.exit("test.sh: requirements.txt line is not an exact pin: %r" % line)
        pins[m.group(1)] = m.group(2)

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

modules = {}
for module, dists in md.packages_distributions().items():
    for dist in dists:
        modules.setdefault(norm(dist), set()).add(module)

errors = []
report = []
for name, pinned in pins.items():
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        errors.append("%s: not installed (pinned %s)" % (name, pinned))
        continue
    if dist.version != pinned:
        errors.append("%s: found %s, pinned %s" % (name, dist.version, pinned))
    root = os.path.realpath(str(dist.locate_file("")))
    for module in sorted(modules.get(norm(name), ())):
        if module.startswith("_") or not module.isidentifier():
            continue
        mod = importlib.import_module(module)
        where = os.path.realpath(getattr(mod, "__file__", None) or "")
        if not where.startswith(root + os.sep):
            errors.append("%s: module %s imported from %s, not from %s %s at %s"
                          % (name, module, where, name, dist.version, root))
    report.append("%s %s" % (name, dist.version))
if errors:
    sys.exit("test.sh: the venv does not match requirements.txt:\n  " + "\n  ".join(errors))
print("== versions: " + ", ".join(report))
PYEOF

export PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
if [ ! -x "$PG_BIN/initdb" ]; then
  echo "test.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 2
fi

# The test session starts its own PostgreSQL in a pgtest-* temp dir and stops it at teardown.
# If pytest is killed hard, stop whatever it left behind.
TMP_ROOT="${TMPDIR:-/tmp}"
before="$(ls -d "$TMP_ROOT"/pgtest-* 2>/dev/null || true)"
cleanup() {
  for dir in "$TMP_ROOT"/pgtest-*; do
    [ -d "$dir" ] || continue
    case "$before" in *"$dir"*) continue ;; esac
    if [ -f "$dir/data/postmaster.pid" ]; then
      if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
          >/dev/null 2>&1 || true
      else
        "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
      fi
    fi
    rm -rf "$dir"
  done
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
PYTHONDONTWRITEBYTECODE=1 "$PY" -m pytest -q -p no:cacheprovider "${timeout_args[@]}" \
  "$APP_DIR/tests" "$@"
