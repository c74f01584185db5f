#!/usr/bin/env bash
# The Debian package under a real systemd 252 (docs/operating.md, "Testing the package"):
# builds the .deb with `cargo deb`, checks it with lintian, boots Debian 12 in a
# container (systemd-nspawn, its own network namespace: only its loopback exists there),
# installs the package with apt and drives the service as an operator would — enable
# --now, READY, a feed over HTTP, a new article published, the control socket from a root
# shell, reload with a good and with a broken config.toml, the journal at warning, the
# watchdog, stop, a reboot, an upgrade, purge. Each step prints PASS or FAIL with the
# reason; the last line counts them.
#
# Needs root and namespaces (it fails with the reason otherwise, never skips). Installs
# what it needs: debootstrap, systemd-container, lintian (apt) and cargo-deb (crates.io).
# The debootstrapped base is cached in $TIDINGS_CI_CACHE (/var/cache/tidings-ci); the
# only address outside loopback it ever reaches is the Debian mirror debootstrap uses,
# and only to build that cache.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
cache_dir=${TIDINGS_CI_CACHE:-/var/cache/tidings-ci}
mirror=http://deb.debian.org/debian
# What the base needs beyond minbase: an init, and the bus systemctl and logind use.
include=systemd,systemd-sysv,dbus
cargo_deb_version=3.8.0

die() { echo "systemd-test: $*" >&2; exit 1; }

# --- what the machine must offer --------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root: debootstrap, systemd-nspawn and nsenter need it (sudo bash scripts/systemd-test.sh)"
unshare --mount --pid --uts --ipc --net --fork true 2>/dev/null \
  || die "cannot create mount, PID, UTS, IPC and network namespaces (unshare failed): systemd-nspawn needs them"

missing=()
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing: cargo-deb $cargo_deb_version (crates.io)" >&2
  cargo install cargo-deb --locked --version "$cargo_deb_version"
fi

work=$(mktemp -d /var/tmp/tidings-systemd-test.XXXXXX)
root=$work/root
debs=$work/debs
mkdir -p "$root" "$debs" "$work/steps"
# Steps run in subshells, so what they start is noted in files.
nspawn_pid() { cat "$work/nspawn.pid" 2>/dev/null; }
cleanup() {
  local pid
  pid=$(nspawn_pid) || true
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.25; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- steps ------------------------------------------------------------------------------
passed=0
failed=0
failures=()

# step NAME FUNCTION: runs FUNCTION in a subshell with `set -e`, its output kept; prints
# PASS, or FAIL with the end of that output.
step() {
  local name=$1 log
  log=$work/steps/$(printf '%02d' $((passed + failed + 1))).log
  local t0=$SECONDS rc
  set +e
  (set -e; "$2") >"$log" 2>&1
  rc=$?
  set -e
  if [ $rc = 0 ]; then
    passed=$((passed + 1))
    echo "PASS  $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL  $name ($((SECONDS - t0)) s):"
    tail -n 25 "$log" | sed 's/^/      /'
  fi
  return $rc
}

# The end of the run: the counts, then the exit code.
finish() {
  echo "systemd-test: $((SECONDS - started)) s"
  if [ $failed -gt 0 ]; then
    printf 'failed: %s\n' "${failures[@]}"
  fi
  echo "systemd: $passed passed, $failed failed"
  [ $failed = 0 ]
  exit
}

# Every step after a fatal failure would only fail for the same reason.
fatal_step() {
  if ! step "$@"; then
    echo "(stopping: the steps after '$1' need it)"
    finish
  fi
}

fail() { echo "FAILED: $*"; exit 1; }

# wait_for SECONDS WHAT COMMAND…: polls COMMAND until it succeeds. The bound only keeps a
# broken service from hanging the run; the step asserts what COMMAND checks.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local tries=$((seconds * 4))
  while ! "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || fail "$what: not after ${seconds} s"
    sleep 0.25
  done
}

# --- the container ----------------------------------------------------------------------
# PID 1 of the container booted from $root, as the host sees it: a PID 1 of a PID
# namespace whose root holds this run's marker (other containers may run beside it).
find_pid1() {
  local status pid
  for status in /proc/[0-9]*/status; do
    pid=${status#/proc/}
    pid=${pid%/status}
    grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "$status" 2>/dev/null || continue
    [ "$(cat "/proc/$pid/root/etc/tidings-test-run" 2>/dev/null)" = "$work" ] || continue
    echo "$pid"
    return 0
  done
  return 1
}

pid1() { cat "$work/pid1"; }

# A command inside the container, as root, with a clean environment.
ct() {
  nsenter -t "$(pid1)" -a -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    SYSTEMD_PAGER= SYSTEMD_COLORS=0 DEBIAN_FRONTEND=noninteractive "$@"
}

# HTTP to the service: the host's curl in the container's network namespace, where only
# the container's own loopback exists.
http() {
  nsenter -t "$(pid1)" -n -- curl --noproxy '*' -fsS --max-time 10 "$@"
}

boot() {
  systemd-nspawn -D "$root" -b --register=no --keep-unit --private-network \
    --console=read-only --link-journal=no --resolv-conf=off --timezone=off \
    --machine="tidings-test-${work##*.}" --bind-ro="$debs:/debs" >>"$work/console.log" 2>&1 &
  echo $! >"$work/nspawn.pid"
  local tries=240
  until find_pid1 >"$work/pid1"; do
    kill -0 "$(nspawn_pid)" 2>/dev/null || { tail -n 30 "$work/console.log"; fail "systemd-nspawn exited"; }
    tries=$((tries - 1))
    [ $tries -gt 0 ] || fail "no PID 1 in the container after 60 s"
    sleep 0.25
  done
  local state
  state=$(ct timeout 120 systemctl is-system-running --wait || true)
  case $state in
    running) ;;
    degraded) echo "degraded; failed units:"; ct systemctl --failed --no-legend || true ;;
    *) tail -n 30 "$work/console.log"; fail "system state after boot: '$state'" ;;
  esac
}

# Shuts the container down (or reboots it: its systemd-nspawn exits either way) and waits.
halt() {
  ct systemctl "$1" || true
  local tries=240
  while kill -0 "$(nspawn_pid)" 2>/dev/null; do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || fail "the container did not $1 within 60 s"
    sleep 0.25
  done
  rm "$work/nspawn.pid"
}

# --- what the steps look at -------------------------------------------------------------
config=/etc/tidings/config.toml
state=$root/var/lib/private/tidings
store=$root/var/lib/tidings-articles
seed_id=000_8c7ef1c8e8c43d29

tidings() { ct /usr/bin/tidings --config "$config" "$@"; }
show() { ct systemctl show tidings -p "$1" --value; }
active() { [ "$(show ActiveState)" = active ] && [ "$(show SubState)" = running ]; }
restarted_once() { [ "$(show NRestarts)" = 1 ]; }
outbox_count() { find "$state/outbox" -name '*.eml' 2>/dev/null | wc -l; }
# Output is kept in files and searched there: `grep -q` in a pipe would close it early and
# fail the writer (pipefail).
feed_has() { http -o "$work/feed.xml" http://127.0.0.1:8080/feeds/all/rss.xml && grep -q "$1" "$work/feed.xml"; }
subscribed() { tidings subscriber list >"$work/subscribers" && grep -q reader@example.org "$work/subscribers"; }
# `max-age=N` from the feed's Cache-Control header (server.cache_max_age).
max_age() {
  http -I -o "$work/headers" http://127.0.0.1:8080/feeds/all/rss.xml
  grep -io '^cache-control:.*' "$work/headers" | grep -o 'max-age=[0-9]*'
}

# add_article ID KEYWORD: a page export (docs/articles.md), written beside the store and
# renamed in, as an exporter does.
add_article() {
  printf '%s\n' "首頁>國際>亞洲 亞洲" "測試文章 $1" "這是系統測試寫入的第一段。" "編輯:測試" \
    "關鍵詞:$2" >"$store/.$1.tmp"
  mv "$store/.$1.tmp" "$store/$1.txt"
}

# The config as installed (kept outside the container, where purge would find it),
# changed by a sed expression.
edit_config() {
  sed -e "$1" "$work/config.orig" >"$root$config"
}

# --- the steps --------------------------------------------------------------------------
build_packages() {
  # The documented command (docs/operating.md); --fast only lowers the compression level,
  # which saves about two minutes on 2 cores.
  cargo deb --locked --fast --output "$debs/"
  # The same build as a later version, for the upgrade.
  cargo deb --locked --fast --no-build --deb-revision 2 --output "$debs/"
  ls -l "$debs"
  first=$(ls "$debs"/tidings_*-1_amd64.deb)
  dpkg-deb --info "$first"
  dpkg-deb --contents "$first"
}

run_lintian() {
  # Exit 1 on any error; warnings and notes are printed for the report.
  lintian --fail-on error --display-info "$debs"/tidings_*-1_amd64.deb
}

make_base() {
  mkdir -p "$cache_dir"
  local key base
  key=$(printf '%s %s %s' bookworm "$mirror" "$include" | sha256sum | cut -c1-12)
  base=$cache_dir/bookworm-minbase-$key.tar
  if [ ! -s "$base" ]; then
    echo "debootstrap bookworm from $mirror (cached as $base)"
    local fresh=$work/bootstrap
    mkdir "$fresh"
    debootstrap --variant=minbase --include="$include" bookworm "$fresh" "$mirror"
    # mktemp-style folders are 0700; a root that is not 0755 locks every user but root
    # out of the whole container (dbus, the service's transient user).
    chmod 0755 "$fresh"
    rm -rf "$fresh"/var/cache/apt/archives/*.deb
    # Other checkouts may run this at the same time: each writes its own file, and the
    # rename makes one of them the cache.
    tar -C "$fresh" -cf "$base.$$.partial" .
    mv "$base.$$.partial" "$base"
    rm -rf "$fresh"
  fi
  tar -C "$root" -xf "$base"
  chmod 0755 "$root"
  echo tidings-test >"$root/etc/hostname"
  echo "$work" >"$root/etc/tidings-test-run"
}

boot_container() { boot; }

install_package() {
  ct apt-get install -y -q /debs/"$(basename "$debs"/tidings_*-1_amd64.deb)"
  ct test -x /usr/bin/tidings || fail "/usr/bin/tidings missing"
  ct test -f /lib/systemd/system/tidings.service || fail "the unit is not in /lib/systemd/system"
  ct grep -qx "$config" /var/lib/dpkg/info/tidings.conffiles || fail "$config is not a conffile"
  for doc in copyright changelog.Debian.gz README.md operating.md configuration.md; do
    ct test -f "/usr/share/doc/tidings/$doc" || fail "/usr/share/doc/tidings/$doc missing"
  done
  ct test -f /usr/share/man/man1/tidings.1.gz || fail "no manual page"
  ct test -d /var/lib/tidings-articles || fail "no article store"
  [ "$(ct systemctl is-enabled tidings)" = enabled ] || fail "not enabled on install"
  [ "$(show ActiveState)" = inactive ] || fail "started on install ($(show ActiveState)); it must only be enabled"
  cp "$root$config" "$work/config.orig"
  tidings check
}

enable_now() {
  cp "articles/$seed_id.txt" "$store/"
  # Type=notify: this returns once the daemon sent READY=1.
  ct systemctl enable --now tidings
  active || fail "ActiveState=$(show ActiveState) SubState=$(show SubState)"
  echo "StatusText=$(show StatusText)"
  [ -n "$(show StatusText)" ] || fail "no Status: line"
  # The first start's indexing ran in a child process under the unit's sandbox (seccomp,
  # /proc/self/exe), not in the daemon's own process as the fallback.
  ct journalctl -u tidings --no-pager -o cat | grep "first start" \
    || fail "the journal does not say that a child process indexed the store"
  ! ct journalctl -u tidings --no-pager -o cat | grep "in a child process failed" \
    || fail "the first indexing's child process failed"
  # The files are the transient user's, under the private directories.
  ct stat -c '%U %a %n' /var/lib/private/tidings /var/cache/private/tidings
  ct test -L /var/lib/tidings || fail "/var/lib/tidings is not systemd's symlink"
}

fetch_feed() {
  http http://127.0.0.1:8080/healthz
  feed_has "/articles/$seed_id" || fail "the seed article is not in /feeds/all/rss.xml"
  http -o /dev/null http://127.0.0.1:8080/index.json
  http -o /dev/null "http://127.0.0.1:8080/articles/$seed_id"
}

publish_new_article() {
  add_article added_0001 新聞
  wait_for 30 "added_0001 in the feed" feed_has /articles/added_0001
}

control_socket() {
  tidings subscriber add reader@example.org --keyword 測試 --schedule '0 8 * * *'
  subscribed || fail "reader@example.org not listed"
  cat "$work/subscribers"
  # Handed to the daemon: nothing in the state belongs to root.
  [ -z "$(find "$state" -uid 0)" ] || fail "root-owned files in the state: $(find "$state" -uid 0)"
  # The first digest covers what arrives after subscribing.
  add_article added_0002 測試
  wait_for 30 "added_0002 in the feed" feed_has /articles/added_0002
  tidings digest send --now
  [ "$(outbox_count)" = 1 ] || fail "outbox holds $(outbox_count) digests, not 1"
}

reload_good() {
  edit_config 's/^cache_max_age = .*/cache_max_age = 123/'
  ct systemctl reload tidings || fail "systemctl reload of a good config failed"
  active || fail "not active after reload"
  [ "$(max_age)" = max-age=123 ] || fail "new config not adopted: Cache-Control '$(max_age)'"
}

reload_broken() {
  local before
  before=$(max_age)
  [ -n "$before" ] || fail "no max-age in the feed's Cache-Control"
  edit_config 's/^cache_max_age = .*/cache_max_age = 123/; s|^timezone = "Asia/Shanghai"|timezone = "Mars/Olympus"|'
  if ct systemctl reload tidings; then fail "systemctl reload of a broken config succeeded"; fi
  active || fail "not active after a refused reload"
  [ "$(max_age)" = "$before" ] || fail "old config not serving: Cache-Control '$(max_age)', was '$before'"
  # The refusal, as `tidings reload` reports it: exit 1 and the reason.
  local out rc=0
  out=$(tidings reload 2>&1) || rc=$?
  echo "$out"
  [ $rc = 1 ] || fail "tidings reload exited $rc, not 1"
  grep -q timezone <<<"$out" || fail "tidings reload did not name site.timezone"
}

journal_warning() {
  ct journalctl -u tidings -p warning --no-pager -o cat >"$work/warnings"
  cat "$work/warnings"
  grep -q Mars/Olympus "$work/warnings" || fail "journalctl -u tidings -p warning does not show the broken config's error"
}

restore_config() {
  cp "$work/config.orig" "$root$config"
  ct systemctl reload tidings || true
  active
}

watchdog_restart() {
  local pid
  pid=$(show MainPID)
  [ "$(show NRestarts)" = 0 ] || fail "NRestarts=$(show NRestarts) before the test"
  ct bash -c "kill -STOP $pid"
  # WatchdogSec=30, then SIGABRT (which a stopped process cannot act on), SIGKILL after
  # TimeoutStopSec=15, and RestartSec=5.
  wait_for 90 "a restart after the watchdog" restarted_once
  wait_for 30 "active again" active
  [ "$(show MainPID)" != "$pid" ] || fail "same MainPID after the restart"
  ct journalctl -u tidings --no-pager >"$work/journal"
  grep -i watchdog "$work/journal" || fail "no watchdog line in the journal"
  feed_has /articles/added_0002 || fail "feeds lost after the restart"
}

stop_in_time() {
  local t0=$SECONDS
  ct systemctl stop tidings
  echo "stopped in $((SECONDS - t0)) s"
  [ "$(show ActiveState)" = inactive ] || fail "ActiveState=$(show ActiveState)"
  [ "$(show Result)" = success ] || fail "Result=$(show Result) (a timeout or a kill)"
  [ "$(show ExecMainStatus)" = 0 ] || fail "exit status $(show ExecMainStatus)"
  ct systemctl start tidings
  active
}

reboot_keeps_state() {
  local key digests
  key=$(sha256sum "$state/digest.key")
  digests=$(outbox_count)
  halt reboot
  boot
  wait_for 60 "active after the reboot" active
  [ "$(sha256sum "$state/digest.key")" = "$key" ] || fail "digest.key changed"
  subscribed || fail "subscriber lost"
  feed_has /articles/added_0002 || fail "article lost"
  # The start-up round has run once READY=1 came; a digest sent again would show here.
  tidings digest send --now
  [ "$(outbox_count)" = "$digests" ] || fail "outbox holds $(outbox_count) digests, was $digests: one was sent twice"
}

upgrade_keeps_state() {
  local key digests pid
  key=$(sha256sum "$state/digest.key")
  digests=$(outbox_count)
  pid=$(show MainPID)
  ct apt-get install -y -q -o Dpkg::Options::=--force-confold \
    /debs/"$(basename "$debs"/tidings_*-2_amd64.deb)"
  [[ $(ct dpkg-query -W -f '${Version}' tidings) == *-2 ]] || fail "not upgraded"
  active || fail "not active after the upgrade"
  [ "$(show MainPID)" != "$pid" ] || fail "the running service was not restarted on upgrade"
  [ "$(sha256sum "$state/digest.key")" = "$key" ] || fail "digest.key changed"
  subscribed || fail "subscriber lost"
  feed_has /articles/added_0002 || fail "article lost"
  [ "$(outbox_count)" = "$digests" ] || fail "outbox changed"
}

purge_removes_state() {
  ct apt-get purge -y -q tidings
  if ct systemctl is-active -q tidings; then fail "still running after purge"; fi
  for gone in /usr/bin/tidings /lib/systemd/system/tidings.service /etc/tidings \
    /var/lib/tidings /var/lib/private/tidings /var/cache/tidings /var/cache/private/tidings \
    /etc/systemd/system/multi-user.target.wants/tidings.service; do
    if ct test -e "$gone" || ct test -L "$gone"; then fail "$gone is left after purge"; fi
  done
  if http -o /dev/null http://127.0.0.1:8080/healthz 2>/dev/null; then fail "still serving"; fi
}

poweroff_container() { halt poweroff; }

fatal_step "package: cargo deb builds it" build_packages
fatal_step "package: lintian finds no error" run_lintian
fatal_step "container: a Debian 12 base" make_base
fatal_step "container: boots systemd" boot_container
fatal_step "apt install: files, conffile, enabled, not started" install_package
fatal_step "systemctl enable --now: READY, Status:" enable_now
step "HTTP: the seed's feed" fetch_feed || true
step "store: a new article is published" publish_new_article || true
step "control socket: subscriber add and digest send from a root shell" control_socket || true
step "systemctl reload: a good config is adopted" reload_good || true
step "systemctl reload: a broken config is refused, the old one serves" reload_broken || true
step "journalctl -p warning: the broken config's error" journal_warning || true
fatal_step "config restored" restore_config
step "watchdog: SIGSTOP → restart, NRestarts=1" watchdog_restart || true
step "systemctl stop: within TimeoutStopSec, exit 0" stop_in_time || true
step "reboot: state kept, no digest twice" reboot_keeps_state || true
step "upgrade: state, subscribers, key kept" upgrade_keeps_state || true
step "apt purge: service stopped, state, cache, key and subscribers gone" purge_removes_state || true
step "container: powers off" poweroff_container || true
finish
