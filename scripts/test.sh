#!/usr/bin/env bash
# The test command (README.md): installs the programs the tests drive — Debian's
# libxml2-utils (xmllint) systemd (systemd-analyze) and newsboat (a real feed reader), and PyPI's feedparser — then runs formatting, lints and every
# test. Non-interactive; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v newsboat >/dev/null 2>&1 || missing+=(newsboat)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import feedparser' >/dev/null 2>&1; then
  echo "installing: feedparser (PyPI)" >&2
  python3 -m pip install --quiet --disable-pip-version-check feedparser
fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
