#!/usr/bin/env python3
"""Benchmarks of `tidings run` (issue 3), reproducing the BENCHMARKS.md figures:

    python3 scripts/bench_daemon.py [--sizes 1000 100000] [--events 200]

For each store size: starts the release daemon on a generated store, then
(a) 200 times renames a new article into the store and measures the time until every
    affected feed file (all, its section chain, its keyword; RSS, Atom and JSON) holds it
    — debounce included — and reports p50/p99;
(c) reads the daemon's resident memory once idle.
At the largest size also (b) loads a 50-item feed over loopback with wrk (Debian's wrk):
requests/s as 200 (identity and gzip) and as 304.
"""
import argparse, json, os, re, shutil, signal, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/tidings"


def start(work, store):
    config = work / "daemon.toml"
    config.write_text(
        f'[store]\npath = "{store}"\n[state]\npath = "{work / "state"}"\n'
        f'[feeds]\noutput = "{work / "feeds"}"\n[server]\nlisten = "127.0.0.1:0"\n')
    log = open(work / "daemon.log", "w")
    proc = subprocess.Popen([str(BIN), "--config", str(config), "run"], stderr=log)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        m = re.search(r"listening on http://([0-9.:]+)", (work / "daemon.log").read_text())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit(f"daemon did not start: {(work / 'daemon.log').read_text()[-2000:]}")


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def latency(work, store, events):
    feeds = work / "feeds"
    outside = work / "incoming"
    outside.mkdir(exist_ok=True)
    samples = []
    files = ["all/{}", "section/时政/{}", "section/时政/高层动态/{}", "keyword/北京市/{}"]
    for i in range(events):
        title = f"延遲測試文章第{i}號"
        text = f"首頁>時政>高層動態 高層動態\n{title}\n正文第一段。\n正文第二段。\n關鍵詞:北京市\n"
        tmp = outside / f"bench{i}.txt"
        tmp.write_text(text)
        targets = [feeds / f.format(n) for f in files for n in ("rss.xml", "atom.xml", "feed.json")]
        start = time.monotonic()
        os.rename(tmp, store / f"bench{i}.txt")
        pending = set(targets)
        while pending:
            for t in list(pending):
                try:
                    if title in t.read_text():
                        pending.discard(t)
                except FileNotFoundError:
                    pass
            if time.monotonic() - start > 10:
                sys.exit(f"event {i}: not published in 10 s: {pending}")
            if pending:
                time.sleep(0.001)
        samples.append(time.monotonic() - start)
        time.sleep(0.1)
    cleanup(store, events)
    samples.sort()
    return {"p50_ms": round(1000 * statistics.median(samples), 1),
            "p99_ms": round(1000 * samples[int(len(samples) * 0.99) - 1], 1),
            "max_ms": round(1000 * samples[-1], 1)}


def cleanup(store, events):
    for i in range(events):
        try:
            os.remove(store / f"bench{i}.txt")
        except FileNotFoundError:
            pass


def wrk(url, headers=()):
    cmd = ["wrk", "-t2", "-c32", "-d10s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"req_per_s": round(rps), "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--dir", default="/tmp/tidings-bench")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tidings", "--example", "gencorpus"],
                   cwd=ROOT, check=True)
    results = {}
    for size in args.sizes:
        work = Path(args.dir) / f"daemon-{size}"
        store = Path(args.dir) / f"store-{size}"
        if not store.exists():
            subprocess.run([ROOT / "target/release/examples/gencorpus", "--articles", str(size),
                            "--out", str(store)], check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        t = time.monotonic()
        proc, addr = start(work, store)
        startup = time.monotonic() - t
        try:
            time.sleep(2)
            r = {"startup_s_cold_index": round(startup, 2), "idle_rss_mib": round(rss_kib(proc.pid) / 1024, 1)}
            r["rename_to_published"] = latency(work, store, args.events)
            time.sleep(2)
            r["idle_rss_mib_after_events"] = round(rss_kib(proc.pid) / 1024, 1)
            if size == max(args.sizes):
                url = f"http://{addr}/feeds/all/rss.xml"
                etag = subprocess.run(["curl", "-sI", url], capture_output=True, text=True).stdout
                etag = re.search(r"(?i)etag: (\S+)", etag).group(1)
                r["http_200_identity"] = wrk(url)
                r["http_200_gzip"] = wrk(url, ["Accept-Encoding: gzip"])
                r["http_304"] = wrk(url, [f"If-None-Match: {etag}"])
                r["feed_bytes"] = len(subprocess.run(["curl", "-s", url], capture_output=True).stdout)
            results[size] = r
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
            cleanup(store, args.events)
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
