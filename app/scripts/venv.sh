#!/usr/bin/env bash
# The one recipe for the app's Python environment, used by `npm run app` (run_local.sh) and by the
# tests (scripts/test.sh). Prints the venv's python on stdout; progress and errors go to stderr.
#
#   bash app/scripts/venv.sh          the app's venv: exactly the pins in requirements.txt
#   bash app/scripts/venv.sh --dev    the same venv, plus the test tools (Debian's, or requirements-dev.txt)
#
# It matches what ships: the Dockerfile (`FROM python:3.11-slim`, `pip install -r requirements.txt`)
# and the Elastic Beanstalk platform (Amazon Linux 2023 "running Python 3.11", which pip-installs
# requirements.txt from the bundle): same interpreter minor (APP_PYTHON, checked against both by
# test/appenv.test.ts), same pins. The venv is built with --system-site-packages so Debian's
# python3-psycopg-pool can supply psycopg-pool (the pip mirror here lacks it); the pin check at
# the end makes sure every pinned distribution is the one actually imported, so a Debian package
# never shadows a pin silently.
#
# BASE_PYTHON picks the interpreter (default: the first Python 3.11 with venv among
# /usr/bin/python3.11, python3.11, python3). APP_VENV (or TEST_VENV) overrides the venv's location;
# by default it is cached under ${TMPDIR:-/tmp}, keyed by the interpreter, the requirements files
# and this script, and rebuilt when any of them changes.
set -euo pipefail
APP_PYTHON=3.11
APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
ROOT_DIR="$(cd "$APP_DIR/.." && pwd)"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo "
dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "venv.sh: unknown argument '$arg' (use: [--dev])" >&2; exit 64 ;;
  esac
done

# System prerequisites first, so a missing one is one line, not a pip error dump.
if [ -f "$ROOT_DIR/scripts/setup-system.sh" ]; then
  bash "$ROOT_DIR/scripts/setup-system.sh" --check app
fi

is_app_python() {
  "$1" -c "import sys, venv, ensurepip; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$APP_PYTHON' else 1)" \
    >/dev/null 2>&1
}
BASE_PY=""
if [ -n "${BASE_PYTHON:-}" ]; then
  if ! is_app_python "$BASE_PYTHON"; then
    echo "venv.sh: BASE_PYTHON=$BASE_PYTHON is not a Python $APP_PYTHON that can create a virtualenv (the image and the Beanstalk platform run Python $APP_PYTHON)" >&2
    exit 2
  fi
  BASE_PY="$BASE_PYTHON"
else
  for candidate in /usr/bin/python$APP_PYTHON python$APP_PYTHON python3; do
    if is_app_python "$candidate"; then
      BASE_PY="$candidate"
      break
    fi
  done
fi
if [ -z "$BASE_PY" ]; then
  echo "venv.sh: no Python $APP_PYTHON with venv found (the image and the Beanstalk platform run Python $APP_PYTHON) -- install it with: ${SUDO}apt-get install -y python3-venv  (or set BASE_PYTHON)" >&2
  exit 2
fi

venv_key="$(
  { "$BASE_PY" -c 'import sys; print(sys.executable, sys.version)'
    cat "$APP_DIR"/requirements*.txt "$0"; } | sha256sum | cut -c1-16
)"
VENV="${APP_VENV:-${TEST_VENV:-${TMPDIR:-/tmp}/flask-platform-venv-$venv_key}}"
PY="$VENV/bin/python"
LOG="$VENV.pip.log"

pip_install() {
  local args=(--disable-pip-version-check --no-input -q)
  if [ -d /opt/pypi/simple ]; then
    # Offline mirror on this machine: use it only (no waiting on an unreachable pypi.org).
    args+=(--index-url file:///opt/pypi/simple)
    [ -d /opt/wheels ] && args+=(--find-links /opt/wheels)
    PIP_CONFIG_FILE=/dev/null "$PY" -m pip install "${args[@]}" "$@" >>"$LOG" 2>&1
  else
    "$PY" -m pip install "${args[@]}" "$@" >>"$LOG" 2>&1
  fi
}

# One line for a failed pip run: pip's own last error, the fix when we know it, the full log.
pip_failed() {
  local what="$1" err hint=""
  err="$(grep -E '^ERROR:' "$LOG" | tail -n1 || true)"
  if grep -qiE 'no matching distribution found for psycopg[-_]pool' "$LOG"; then
    hint=" -- Debian supplies it: ${SUDO}apt-get install -y python3-psycopg-pool  (or: bash scripts/setup-system.sh app)"
  fi
  echo "venv.sh: pip could not install $what: ${err:-see the log}${hint} (full log: $LOG)" >&2
  exit 2
}

build_venv() {
  if [ ! -f "$VENV/.complete" ] || [ ! -x "$PY" ]; then
    echo "== building the app venv $VENV (from $BASE_PY)" >&2
    if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
      echo "venv.sh: $VENV exists and is not a virtualenv; not touching it" >&2
      exit 2
    fi
    rm -rf "$VENV"
    : >"$LOG"
    "$BASE_PY" -m venv --system-site-packages "$VENV" >>"$LOG" 2>&1 || {
      echo "venv.sh: $BASE_PY could not create a virtualenv (full log: $LOG)" >&2
      exit 2
    }
    pip_install -r "$APP_DIR/requirements.txt" || pip_failed "app/requirements.txt"
    touch "$VENV/.complete"
  fi
  if [ "$dev" = 1 ] && [ ! -f "$VENV/.complete-dev" ]; then
    if ! "$PY" -c 'import pytest, pytest_timeout, hypothesis, flake8' >/dev/null 2>&1; then
      # No Debian test tools: take them from requirements-dev.txt instead.
      pip_install -r "$APP_DIR/requirements-dev.txt" || pip_failed "app/requirements-dev.txt"
    fi
    touch "$VENV/.complete-dev"
  fi
}

mkdir -p "$(dirname "$VENV")"
if command -v flock >/dev/null 2>&1; then
  # Concurrent runs (the tests start run_local.sh) share the venv: build it under a lock.
  exec 9>"$VENV.lock"
  flock 9
  build_venv
  flock -u 9
  exec 9>&-
else
  build_venv
fi

# Fail unless every pin in requirements.txt is what the venv imports.
"$PY" - "$APP_DIR/requirements.txt" <<'PYEOF' >&2
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
            sys.exit("venv.sh: requirements.txt line is not an exact pin: %r" % line)
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
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            errors.append("%s: module %s does not import (%s)" % (name, module, exc))
            continue
        where = os.path.realpath(getattr(mod, "__file__", None) or "")
        if not where.startswith(root + os.sep):
            errors.append("%s: module %s imported from %s, not from %s %s at %s"
                          % (name, module, where, name, dist.version, root))
    report.append("%s %s" % (name, dist.version))
if errors:
    sys.exit("venv.sh: the venv does not match requirements.txt: " + "; ".join(errors))
print("== app venv (Python %d.%d): %s" % (sys.version_info[:2] + (", ".join(report),)))
PYEOF
echo "$PY"
