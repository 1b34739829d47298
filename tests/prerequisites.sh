#!/usr/bin/env bash
# What the test suite starts for itself, besides Python packages: redis-server (rate limits,
# scale-out workers), Debian's Chromium (the browser tests; Playwright drives it, no browser is
# downloaded), espeak-ng (the offline speech of voice calls) and, on a PostgreSQL run,
# PostgreSQL 15's server programs (the scale-out tests start and restart clusters of their
# own). As root on Debian or Ubuntu, missing ones are installed with apt-get; anywhere else
# this says what is missing, and the tests that need it are skipped (the run ends with a list
# of them). HEARTH_TEST_NO_INSTALL=1: never install.
set -euo pipefail

chromium="${HEARTH_TEST_CHROMIUM:-/usr/lib/chromium/chromium}"
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x "$chromium" ] || missing+=(chromium)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
if [[ "${HEARTH_DATABASE_URL:-}" == postgresql* ]] && [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
    missing+=(postgresql-15)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null && [ -z "${HEARTH_TEST_NO_INSTALL:-}" ]; then
    echo "make test: installing ${missing[*]} (apt-get)"
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
        exit 0
    fi
    echo "make test: apt-get could not install ${missing[*]}" >&2
fi
echo "make test: missing ${missing[*]}: the tests that need them will be skipped" \
     "(README: Development lists what to install)" >&2
