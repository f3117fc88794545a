#!/usr/bin/env bash
# What the benchmarks need beyond npm packages: Debian's wrk (the HTTP rows of
# bench:rpc). Installs it when missing.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "bench-prereqs: need root to run: $*" >&2; return 1; fi
}

if ! command -v wrk >/dev/null; then
  echo "bench-prereqs: installing Debian's wrk for the HTTP benchmarks" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
