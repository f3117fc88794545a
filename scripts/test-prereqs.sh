#!/usr/bin/env bash
# What `npm test` needs beyond npm packages: Debian's chromium for the browser tests,
# promtool (Debian's prometheus) for the Prometheus export tests, and a running
# PostgreSQL for the store tests. Installs/starts them when missing.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "test-prereqs: need root to run: $*" >&2; return 1; fi
}

if [ ! -x /usr/bin/chromium ]; then
  echo "test-prereqs: installing Debian's chromium for the browser tests" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x /usr/bin/promtool ]; then
  echo "test-prereqs: installing Debian's prometheus for promtool (the /api/v1/prometheus tests)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi

# Only the default local server is ours to start; a MSEC_TEST_PG_URL elsewhere is the caller's.
if [ -z "${MSEC_TEST_PG_URL:-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "test-prereqs: starting PostgreSQL" >&2
    for v in /etc/postgresql/*; do
      as_root pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "test-prereqs: PostgreSQL is not running on 127.0.0.1:5432 (set MSEC_TEST_PG_URL to use another)" >&2; exit 1; }
fi
