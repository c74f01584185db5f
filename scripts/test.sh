#!/usr/bin/env bash
# The test command (README.md): installs the programs the tests drive — Debian's
# libxml2-utils (xmllint), systemd (systemd-analyze), newsboat (a real feed reader),
# postfix (for its smtp-sink), openssl and chromium (headless, for the subscription
# pages), and PyPI's feedparser and aiosmtpd — then runs
# formatting, lints and every test, and last scripts/systemd-test.sh: the Debian package
# under a real systemd (docs/operating.md, "Testing the package"; it installs what it
# needs itself). Non-interactive; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v newsboat >/dev/null 2>&1 || missing+=(newsboat)
command -v smtp-sink >/dev/null 2>&1 || [ -x /usr/sbin/smtp-sink ] || missing+=(postfix)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# CJK glyphs for Chromium's screenshots of the pages in each language.
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # postfix only for its smtp-sink test server: no mail system is configured or started.
  echo 'postfix postfix/main_mailer_type select No configuration' | as_root debconf-set-selections
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for module in feedparser aiosmtpd; do
  if ! python3 -c "import $module" >/dev/null 2>&1; then
    echo "installing: $module (PyPI)" >&2
    python3 -m pip install --quiet --disable-pip-version-check "$module"
  fi
done

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
bash scripts/systemd-test.sh
