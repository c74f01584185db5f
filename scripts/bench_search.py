#!/usr/bin/env python3
"""Benchmark of search (DESIGN §5 `/search`), reproducing the BENCHMARKS.md figures:

    python3 scripts/bench_search.py [--store DIR] [--articles 100000] [--reps 20]

On a newsroom store (`--store` reuses one generated before; otherwise it is generated with
`gencorpus --newsroom`, as scripts/bench_build.py does) with the release binary:
`tidings build` once (not timed here: bench_build.py measures it), then `tidings run`,
and from its log the time the search index took to build in the background after READY,
the size of `state/search.index`, and the daemon's RSS once it is built. Then, over
HTTP on 127.0.0.1, one-term and two-term searches (`/search/rss.xml?q=…`) over four sets
of terms — frequent words, rare words (4 characters picked from random articles), one
character, and Simplified terms on the Traditional text — each query first once (nothing
cached: the real cost of a query) and then `--reps` times more (its result cached).
Prints p50/p99 per set and the RSS after all queries. Last, a restart: the time until the
index is read back and ready.
"""
import argparse, os, queue, random, re, shutil, statistics, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/tidings"

FREQUENT = ["經濟", "发展", "市場", "会议", "政府", "企業", "工作", "城市", "建設", "服务",
            "社會", "文化", "科技", "改革", "統戰", "項目", "黨派", "安全", "教育", "重慶"]
ONE_CHAR = ["的", "市", "慶", "龍", "鐵", "海", "新", "電", "學", "车", "书", "水", "山", "銀",
            "醫", "農", "網", "港", "黨", "國"]
SIMPLIFIED = ["重庆", "经济", "会议", "发展", "环境", "资金", "产业", "统一战线", "党派", "创新",
              "干部", "乡村振兴", "项目", "记者", "传统", "国际", "医疗", "网络", "交通", "历史"]


def decode(data):
    for enc in ("utf-8-sig", "utf-16", "gb18030", "big5"):
        try:
            text = data.decode(enc)
            if enc != "utf-16" or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
                return text
        except UnicodeDecodeError:
            continue
    return ""


def rare_terms(store, n, rng):
    """4-character runs of Han characters from the bodies of random articles."""
    files = [p for p in store.rglob("*.txt")]
    rng.shuffle(files)
    out = []
    for path in files:
        lines = decode(path.read_bytes()).splitlines()[3:-2]
        runs = [m.group(0) for line in lines for m in re.finditer(r"[\u4e00-\u9fff]{8,}", line)]
        if runs:
            run = rng.choice(runs)
            at = rng.randrange(0, len(run) - 4)
            out.append(run[at:at + 4])
        if len(out) == n:
            return out
    return out


def rss_mib(pid):
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def get(base, query):
    url = f"{base}/search/rss.xml?{urllib.parse.urlencode(query)}"
    start = time.perf_counter()
    with urllib.request.urlopen(url) as res:
        body = res.read()
    return (time.perf_counter() - start) * 1000, body


class Daemon:
    """`tidings run` on the bench's config; its log read all the time (a full pipe would
    block it), kept in daemon.log."""

    def __init__(self, work):
        self.started = time.monotonic()
        self.proc = subprocess.Popen([str(BIN), "--config", str(work / "config.toml"), "run"],
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     env={**os.environ, "RUST_LOG": "info"})
        self.lines = queue.Queue()
        log = open(work / "daemon.log", "ab")

        def read():
            for raw in self.proc.stderr:
                log.write(raw)
                self.lines.put(raw.decode(errors="replace"))
            self.lines.put(None)

        threading.Thread(target=read, daemon=True).start()

    def wait(self, needle):
        seen = []
        while (line := self.lines.get()) is not None:
            seen.append(line)
            if needle in line:
                return time.monotonic() - self.started, line
        sys.exit(f"daemon ended before {needle!r}:\n{''.join(seen[-20:])}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path)
    ap.add_argument("--articles", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not BIN.exists():
        sys.exit("build first: cargo build --release")
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    daemons = []
    try:
        store = args.store
        if store is None:
            store = work / "articles"
            subprocess.run(["cargo", "run", "-p", "tidings-corpus", "--release", "--bin", "gencorpus",
                            "--", "--newsroom", "--articles", str(args.articles), "--out", str(store)],
                           cwd=ROOT, check=True)
        (work / "config.toml").write_text(
            f'[site]\nbase_url = "http://127.0.0.1"\n[store]\npath = "{store}"\n'
            f'[state]\npath = "{work / "state"}"\n[feeds]\noutput = "{work / "feeds"}"\n'
            f'[server]\nlisten = "127.0.0.1:0"\n[mail]\noutbox = "{work / "outbox"}"\n'
            f'[digest]\nsecret_file = "{work / "secret"}"\n')
        print("tidings build (not timed) …", flush=True)
        subprocess.run([str(BIN), "--config", str(work / "config.toml"), "build"], check=True,
                       stdout=subprocess.DEVNULL)
        rng = random.Random(args.seed)
        rare = rare_terms(store, 20, rng)

        d = Daemon(work)
        daemons.append(d)
        ready_at, line = d.wait("listening on http://")
        at_ready, _ = rss_mib(d.proc.pid)
        base = "http://" + line.split("listening on http://")[1].split(";")[0]
        built_at, built = d.wait("search index ready")
        print(f"READY after {ready_at:.2f} s; search index ready {built_at - ready_at:.1f} s later")
        print("  " + built.strip().split("search index ready: ", 1)[1])
        index_file = work / "state/search.index"
        while not index_file.exists():  # saved right after the log line
            time.sleep(0.1)
        time.sleep(1)
        size = index_file.stat().st_size
        rss, hwm = rss_mib(d.proc.pid)
        print(f"search.index {size / 2**20:.1f} MiB; daemon RSS at READY {at_ready:.0f} MiB, "
              f"with the search index built {rss:.0f} MiB (peak {hwm:.0f} MiB)")

        # Simplified first: 重庆 after 重慶 would be the same query, answered from the cache.
        sets = {
            "Simplified on Traditional": [[("q", t)] for t in SIMPLIFIED],
            "frequent": [[("q", t)] for t in FREQUENT],
            "rare (4 chars)": [[("q", t)] for t in rare],
            "one character": [[("q", t)] for t in ONE_CHAR],
            "two terms (frequent + frequent)": [[("q", a), ("q", b)] for a, b in
                                                zip(FREQUENT, FREQUENT[1:] + FREQUENT[:1])],
            "two terms (frequent + rare)": [[("q", a), ("q", b[:2])] for a, b in zip(FREQUENT, rare)],
        }
        print(f"\n| terms | queries | first request p50 / p99 (ms) | repeated ×{args.reps} p50 / p99 (ms) | items (median) |")
        print("|---|---|---|---|---|")
        for name, queries in sets.items():
            first, again, items = [], [], []
            for q in queries:
                ms, body = get(base, q)
                first.append(ms)
                items.append(body.count(b"<item>"))
            for _ in range(args.reps):
                for q in queries:
                    again.append(get(base, q)[0])
            print(f"| {name} | {len(queries)} | {percentile(first, 50):.1f} / {percentile(first, 99):.1f} "
                  f"| {percentile(again, 50):.2f} / {percentile(again, 99):.2f} | {statistics.median(items):.0f} |",
                  flush=True)
        rss, hwm = rss_mib(d.proc.pid)
        print(f"\ndaemon RSS after the queries {rss:.0f} MiB (peak {hwm:.0f} MiB)")
        stop = time.monotonic()
        d.stop()
        print(f"stop (saves the index if changed) {time.monotonic() - stop:.1f} s")

        d = Daemon(work)
        daemons.append(d)
        ready_at, _ = d.wait("listening on http://")
        built_at, built = d.wait("search index ready")
        rss, hwm = rss_mib(d.proc.pid)
        print(f"restart: search index read back and ready {built_at - ready_at:.1f} s after READY; "
              f"RSS {rss:.0f} MiB (peak {hwm:.0f} MiB)")
        d.stop()
    finally:
        for d in daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
