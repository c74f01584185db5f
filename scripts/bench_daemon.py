#!/usr/bin/env python3
"""Benchmarks of `tidings run` (DESIGN §5), reproducing the BENCHMARKS.md figures:

    python3 scripts/bench_daemon.py [--sizes 1000 100000] [--events 200]
                                    [--corpus toy|newsroom] [--store DIR]
                                    [--after-search]

For each store size (`--corpus newsroom`: the vocabulary of DESIGN §2 "A real newsroom's
vocabulary"; `--store`: a store generated before, of the one size given): starts the
release daemon on the store, waits 2 s (`--after-search`: until the search index it
builds in the background after READY is done, and 2 s), then
(a) 200 times renames a new article into the store and measures the time until every
    affected feed (all and its section chain as files, its keyword over HTTP, which
    renders keyword feeds on request; RSS, Atom and JSON) holds it — debounce
    included — and reports p50/p99, and the daemon's peak resident memory meanwhile;
(c) reads the daemon's resident memory once idle;
(d) the first GET of 1,000 keyword feeds of the long tail (one article each, as the
    manifest lists them), each rendered on request: p50/p99; and the sizes of `/`,
    `/opml.xml` and `/index.json` as served.
At the largest size also (b) loads a 50-item feed over loopback with wrk (Debian's wrk):
requests/s as 200 (identity and gzip) and as 304.
"""
import argparse, json, os, re, shutil, signal, statistics, subprocess, sys, time
import urllib.error, urllib.parse, urllib.request
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


def http_get(addr, rel):
    """GET of `/feeds/REL` (or of a path starting with `/`): the body."""
    path = rel if rel.startswith("/") else "/feeds/" + urllib.parse.quote(rel)
    with urllib.request.urlopen(f"http://{addr}{path}", timeout=10) as res:
        return res.read()


def latency(work, store, events, addr, pid):
    feeds = work / "feeds"
    outside = work / "incoming"
    outside.mkdir(exist_ok=True)
    samples = []
    peak_rss = 0
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
                rel = str(t.relative_to(feeds))
                try:
                    text = (http_get(addr, rel).decode() if rel.startswith("keyword/")
                            else t.read_text())
                    if title in text:
                        pending.discard(t)
                except (FileNotFoundError, urllib.error.HTTPError):
                    pass
            if time.monotonic() - start > 10:
                sys.exit(f"event {i}: not published in 10 s: {pending}")
            if pending:
                time.sleep(0.001)
        samples.append(time.monotonic() - start)
        peak_rss = max(peak_rss, rss_kib(pid))
        time.sleep(0.1)
    cleanup(store, events)
    samples.sort()
    return {"p50_ms": round(1000 * statistics.median(samples), 1),
            "p99_ms": round(1000 * samples[int(len(samples) * 0.99) - 1], 1),
            "max_ms": round(1000 * samples[-1], 1),
            "peak_rss_mib_during": round(peak_rss / 1024, 1)}


def tail_first_get(work, addr, count=1000):
    """First GETs of keyword feeds holding one article (rendered on request)."""
    feeds = work / "feeds"
    tail = []
    for page in sorted((feeds / "index").glob("*.json")):
        for f in json.loads(page.read_text())["feeds"]:
            if f["items"] == 1:
                tail.append(f["files"]["rss"])
    tail = tail[:: max(1, len(tail) // count)][:count]
    samples = []
    for rel in tail:
        start = time.monotonic()
        body = http_get(addr, rel)
        samples.append(time.monotonic() - start)
        assert body.startswith(b"<?xml"), rel
    samples.sort()
    if not samples:
        return None  # the toy corpus has no one-article keyword feed
    return {"feeds": len(samples), "p50_ms": round(1000 * statistics.median(samples), 2),
            "p99_ms": round(1000 * samples[int(len(samples) * 0.99) - 1], 2),
            "max_ms": round(1000 * samples[-1], 2)}


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
    ap.add_argument("--corpus", choices=("toy", "newsroom"), default="toy")
    ap.add_argument("--store", help="an article store generated before (one --sizes value)")
    ap.add_argument("--no-wrk", action="store_true", help="skip (b)")
    ap.add_argument("--after-search", action="store_true",
                    help="start the events once the search index is built in the background "
                         "(the daemon's steady state), not 2 s after READY")
    args = ap.parse_args()
    if not args.no_wrk and not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tidings", "--example", "gencorpus"],
                   cwd=ROOT, check=True)
    results = {}
    for size in args.sizes:
        suffix = "" if args.corpus == "toy" else f"-{args.corpus}"
        work = Path(args.dir) / f"daemon-{size}{suffix}"
        store = Path(args.store) if args.store else Path(args.dir) / f"store-{size}{suffix}"
        if not store.exists():
            mode = ["--newsroom"] if args.corpus == "newsroom" else []
            subprocess.run([ROOT / "target/release/examples/gencorpus", "--articles", str(size),
                            "--out", str(store)] + mode, check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        t = time.monotonic()
        proc, addr = start(work, store)
        startup = time.monotonic() - t
        try:
            r = {"startup_s_cold_index": round(startup, 2)}
            if args.after_search:
                t = time.monotonic()
                while "search index ready" not in (work / "daemon.log").read_text():
                    if proc.poll() is not None or time.monotonic() - t > 600:
                        sys.exit(f"no search index: {(work / 'daemon.log').read_text()[-2000:]}")
                    time.sleep(0.5)
                r["search_built_s_after_ready"] = round(time.monotonic() - t, 1)
            time.sleep(2)
            r["idle_rss_mib"] = round(rss_kib(proc.pid) / 1024, 1)
            r["rename_to_published"] = latency(work, store, args.events, addr, proc.pid)
            time.sleep(2)
            r["idle_rss_mib_after_events"] = round(rss_kib(proc.pid) / 1024, 1)
            r["tail_feed_first_get"] = tail_first_get(work, addr)
            r["served_listing_bytes"] = {p: len(http_get(addr, p)) for p in ("/", "/opml.xml", "/index.json")}
            r["rss_mib_after_tail_gets"] = round(rss_kib(proc.pid) / 1024, 1)
            if size == max(args.sizes) and not args.no_wrk:
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
