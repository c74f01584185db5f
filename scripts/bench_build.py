#!/usr/bin/env python3
"""Benchmark of `tidings build` (DESIGN §2), reproducing the BENCHMARKS.md figures:

    python3 scripts/bench_build.py [--articles 100000] [--runs 3] [--corpus toy|newsroom]
                                   [--store DIR] [--all-feeds]

Generates the corpus once (examples/gencorpus; `--corpus newsroom` is the vocabulary of
DESIGN §2 "A real newsroom's vocabulary", `--store` reuses a store generated before),
then per run: a cold build (no state, no feeds) → articles/s, feeds written, peak RSS,
bytes written (feeds + state, against the store's size) and the listings' sizes; a second
build with nothing changed; and a build after changing one article → wall time and the
feeds rewritten. Prints medians.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/tidings"


def run(cmd, **kw):
    """Runs a command; returns (wall seconds, peak RSS in MiB, stdout)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd} failed:\n{out}\n{err}")
    return wall, usage.ru_maxrss / 1024, out


def pick_utf8_article(store):
    """The newest page export in plain UTF-8 — it heads its feeds, so editing it
    changes them."""
    files = sorted(store.rglob("*.txt"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in files:
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if not data.startswith(b"\xef\xbb\xbf"):
            return path, data
    sys.exit("no plain UTF-8 article in the store")


def tree_bytes(path):
    """Bytes in the files below `path` (apparent sizes, as `du -b`)."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def listing_sizes(feeds):
    """Sizes of what a person or a reader opens, and of the lists that grow with the
    vocabulary."""
    sizes = {name: (feeds / name).stat().st_size
             for name in ("index.html", "opml.xml", "index.json", "opml-keywords.xml")
             if (feeds / name).exists()}
    pages = [p.stat().st_size for p in (feeds / "index").glob("*.json")]
    sizes["manifest_pages"] = len(pages)
    sizes["largest_manifest_page"] = max(pages, default=0)
    return sizes


def feeds_written(summary):
    return int(re.search(r"feeds: (\d+) written", summary).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/tidings-bench")
    ap.add_argument("--corpus", choices=("toy", "newsroom"), default="toy")
    ap.add_argument("--store", help="an article store generated before (its size is --articles)")
    ap.add_argument("--all-feeds", action="store_true", help="build --all-feeds")
    args = ap.parse_args()
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.corpus == "toy" else f"-{args.corpus}"
    store = Path(args.store) if args.store else work / f"store-{args.articles}{suffix}"
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "tidings", "--example", "gencorpus"],
                   cwd=ROOT, check=True)
    if not store.exists():
        mode = ["--newsroom"] if args.corpus == "newsroom" else []
        subprocess.run([ROOT / "target/release/examples/gencorpus", "--articles", str(args.articles),
                        "--out", str(store)] + mode, check=True)
    config = work / "bench.toml"
    config.write_text(
        f'[store]\npath = "{store}"\n[state]\npath = "{work / "state"}"\n'
        f'[feeds]\noutput = "{work / "feeds"}"\n')
    build = [str(BIN), "--config", str(config), "build"] + (["--all-feeds"] if args.all_feeds else [])
    store_bytes = tree_bytes(store)
    victim, original = pick_utf8_article(store)
    trash = work / "set-aside"
    trash.mkdir(exist_ok=True)
    cold, rss, written, noop, one, one_written = [], [], [], [], [], []
    feeds_bytes, state_bytes, listings = [], [], {}
    try:
        for _ in range(args.runs):
            # Set the last run's output aside instead of deleting it: on an ext4 without
            # a journal (this machine's /tmp) every new inode is checked against those
            # deleted in the last 30 s, and deleting ~1,400 files just before a build
            # made its file creation several times slower — a cost of this script, not
            # of tidings. The set-aside copies are deleted when the script ends.
            for name in ("state", "feeds"):
                if (work / name).exists():
                    (work / name).rename(trash / f"{name}-{time.monotonic_ns()}")
            subprocess.run(["sync"])
            wall, peak, out = run(build)
            cold.append(wall); rss.append(peak); written.append(feeds_written(out))
            feeds_bytes.append(tree_bytes(work / "feeds"))
            state_bytes.append(tree_bytes(work / "state"))
            listings = listing_sizes(work / "feeds")
            wall, _, out = run(build)
            noop.append(wall)
            assert feeds_written(out) == 0, out
            # Change one article: its title gains a suffix.
            lines = original.decode().split("\n")
            lines[1] = lines[1].rstrip("\r") + "（更新）" + ("\r" if lines[1].endswith("\r") else "")
            mtime = victim.stat().st_mtime
            victim.write_bytes("\n".join(lines).encode())
            os.utime(victim, (mtime + 60, mtime + 60))
            wall, _, out = run(build)
            one.append(wall); one_written.append(feeds_written(out))
            victim.write_bytes(original)
            run(build)
    finally:
        victim.write_bytes(original)
        shutil.rmtree(trash, ignore_errors=True)
    med = statistics.median
    result = {
        "articles": args.articles,
        "cold_build_s": round(med(cold), 3),
        "articles_per_s": round(args.articles / med(cold)),
        "feeds_written_cold": written[0],
        "peak_rss_mib": round(med(rss), 1),
        "corpus": args.corpus,
        "all_feeds": args.all_feeds,
        "store_mb": round(store_bytes / 1e6, 1),
        "feeds_written_mb": round(med(feeds_bytes) / 1e6, 1),
        "state_written_mb": round(med(state_bytes) / 1e6, 1),
        "written_over_store": round((med(feeds_bytes) + med(state_bytes)) / store_bytes, 2),
        "listing_bytes": listings,
        "noop_build_s": round(med(noop), 3),
        "one_article_rebuild_s": round(med(one), 3),
        "feeds_rewritten_after_one_change": one_written[0],
        "runs": args.runs,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
