#!/usr/bin/env bash
# Fuzzes the article parser, the config parser, the cron parser and the token verifier
# with libFuzzer (cargo fuzz), one target at a time. Like the benchmarks, this is not part
# of CI's test run: it takes minutes per target and its findings are for people to read.
#
#   scripts/fuzz.sh                      every target, FUZZ_SECONDS (240) each
#   scripts/fuzz.sh cron token           only these
#   scripts/fuzz.sh replay [TARGET…]     run each reproducer of fuzz/regressions/ once
#   scripts/fuzz.sh scale                parse time and memory as one article grows
#
# Targets live in fuzz/ (a crate of its own, outside the root workspace). New inputs go
# to fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET), failures to
# fuzz/artifacts/TARGET; neither is committed. A run goes on past crashes, timeouts and
# out-of-memory (-fork=1 -ignore_*), so one finding does not hide the next; the summary
# lists what it saved. Findings already known and not yet fixed are asserted only with
# FUZZ_KNOWN=1 (which `replay` sets).
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(article article_structured config cron token)
SECONDS_PER_TARGET=${FUZZ_SECONDS:-240}
# A unit slower than this, or a process larger than this, is a finding: one article of
# at most store.max_bytes should cost well under both.
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}

# cargo fuzz passes nightly-only flags (-Z…); the toolchain here is stable.
export RUSTC_BOOTSTRAP=1
# No sanitizer: the code under test is safe Rust, so AddressSanitizer would only slow it
# down; panics, overflow checks and debug assertions stay on.
FUZZ=(cargo fuzz)
SANITIZER=(--sanitizer none)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

binary() {
    echo "fuzz/target/x86_64-unknown-linux-gnu/release/$1"
}

dict_for() {
    case $1 in
    article | article_structured) echo "-dict=fuzz/dicts/article.dict" ;;
    config) echo "-dict=fuzz/dicts/config.dict" ;;
    cron) echo "-dict=fuzz/dicts/cron.dict" ;;
    *) ;;
    esac
}

fuzz_one() {
    local target=$1 log="fuzz/artifacts/$1.log"
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    echo "== $target: ${SECONDS_PER_TARGET} s"
    # shellcheck disable=SC2046
    "${FUZZ[@]}" run "${SANITIZER[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_LIMIT_MB" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -report_slow_units=2 -print_final_stats=1 $(dict_for "$target") \
        >"$log" 2>&1 || true
    # Fork mode's status lines start with "#EXECUTIONS:"; the last one is the total.
    local last
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    echo "   ${last:-no status line; see $log}"
    local found
    found=$(find "fuzz/artifacts/$target" -type f | sort)
    if [ -n "$found" ]; then
        echo "   saved (crash-/timeout-/oom-/slow-unit-):"
        echo "$found" | sed 's/^/     /'
    fi
}

replay() {
    local targets=("$@") status=0
    [ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
    "${FUZZ[@]}" build "${SANITIZER[@]}"
    for target in "${targets[@]}"; do
        for input in fuzz/regressions/"$target"/*; do
            case $input in *.md | *'*') continue ;; esac
            if FUZZ_KNOWN=1 "$(binary "$target")" -timeout="$TIMEOUT" \
                -rss_limit_mb="$RSS_LIMIT_MB" "$input" >/dev/null 2>&1; then
                echo "fixed:    $input"
            else
                echo "fails:    $input"
                status=1
            fi
        done
    done
    return $status
}

# Parse (and topic) cost of one page export as one dimension doubles, by running the
# article target on generated files: time should double with the size, not quadruple.
scale() {
    "${FUZZ[@]}" build "${SANITIZER[@]}" article
    local dir
    dir=$(mktemp -d)
    python3 - "$dir" <<'EOF'
import sys
out = sys.argv[1]
def page(crumbs="首頁>黨派·聲音>統一戰線", keywords="重慶市", last_crumb=""):
    return (f"{crumbs}{last_crumb}\n標題\n正文第一段。\n關鍵詞：{keywords}\n").encode()
for n in (1000, 2000, 4000):
    open(f"{out}/crumbs-{n:06d}.txt", "wb").write(page(crumbs="首頁>" + ">".join(f"欄目{i}" for i in range(n))))
for n in (2_500, 5_000, 10_000):
    open(f"{out}/keywords-{n:06d}.txt", "wb").write(page(keywords=" ".join(f"詞{i}" for i in range(n))))
for n in (5_000, 10_000, 20_000):
    open(f"{out}/blank-run-{n:06d}.txt", "wb").write(page(last_crumb=">甲" + " " * n + "乙"))
EOF
    printf '%-28s %10s %10s %12s\n' input bytes cpu_seconds max_rss_kb
    for f in "$dir"/*.txt; do
        local stats
        /usr/bin/time -o "$dir/time" -f '%U %M' "$(binary article)" -rss_limit_mb=0 -timeout=0 \
            "$f" >/dev/null 2>&1 || true
        stats=$(tail -n 1 "$dir/time")
        # shellcheck disable=SC2086
        printf '%-28s %10s %10s %12s\n' "$(basename "$f")" "$(stat -c %s "$f")" $stats
    done
    rm -rf "$dir"
}

case ${1:-} in
replay)
    shift
    replay "$@"
    ;;
scale)
    scale
    ;;
*)
    targets=("$@")
    [ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
    "${FUZZ[@]}" build "${SANITIZER[@]}"
    for target in "${targets[@]}"; do
        fuzz_one "$target"
    done
    ;;
esac
