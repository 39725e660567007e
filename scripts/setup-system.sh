#!/usr/bin/env bash
# The Debian packages this project needs, listed once. Used by .ci/run (install), by
# `npm test` (pretest: --check test) and by app/scripts/venv.sh (--check app).
#
#   bash scripts/setup-system.sh [app|test|bench]          install what the group lacks (apt-get; sudo unless root)
#   bash scripts/setup-system.sh --check [app|test|bench]  install nothing; if something is missing, print ONE
#                                                     line naming it and the command that installs it, exit 2
# Group `test` (the default) includes `app`; `bench` includes `test`.
set -euo pipefail

# `npm run app` and the image: app/scripts/venv.sh builds the app's venv from Debian's Python 3.11
# (python3-venv) with --system-site-packages, because the pip mirror lacks psycopg-pool and
# Debian's python3-psycopg-pool holds exactly the pinned 3.1.5 (its dist-info; the Debian version
# 3.1.7 is psycopg's source version). libpq5 is the C library psycopg's pure-Python implementation
# loads (the Dockerfile installs it too).
APP_PACKAGES=(python3-venv python3-psycopg-pool libpq5)
# `npm test`: the test and lint tools at the versions requirements-dev.txt names, the PostgreSQL
# server the app's tests start themselves, openssl for the TLS test's certificates, unzip (unzip, zipinfo) for the
# bundle tests.
TEST_PACKAGES=(python3-pytest python3-pytest-timeout python3-hypothesis python3-flake8 postgresql openssl unzip)
# `npm run bench` (app/scripts/bench.sh): the HTTP load generator, beside the test group's server.
BENCH_PACKAGES=(wrk)

check_only=0
group=test
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    app|test|bench) group="$arg" ;;
    *) echo "setup-system.sh: unknown argument '$arg' (use: [--check] [app|test|bench])" >&2; exit 64 ;;
  esac
done
wanted=("${APP_PACKAGES[@]}")
[ "$group" != app ] && wanted+=("${TEST_PACKAGES[@]}")
[ "$group" = bench ] && wanted+=("${BENCH_PACKAGES[@]}")

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian/Ubuntu: nothing to check against; the scripts' own checks still name what fails.
  [ "$check_only" = 1 ] && exit 0
  echo "setup-system.sh: no dpkg-query/apt-get here; install the equivalents of: ${wanted[*]}" >&2
  exit 2
fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo "
if [ "$check_only" = 1 ]; then
  echo "missing Debian packages: ${missing[*]} -- install them with: ${SUDO}apt-get install -y ${missing[*]}  (or: bash scripts/setup-system.sh $group)" >&2
  exit 2
fi
echo "setup-system: installing ${missing[*]}"
${SUDO}apt-get update -qq
DEBIAN_FRONTEND=noninteractive ${SUDO}apt-get install -y -qq --no-install-recommends "${missing[@]}"
