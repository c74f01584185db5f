#!/usr/bin/env python3
"""A whole digest round at scale (DESIGN §6; BENCHMARKS.md):

    python3 scripts/bench_round.py [--subscribers 100000] [--connections 8]
                                   [--articles 300] [--new 30] [--keep DIR]

Builds examples/bench_round.rs in release mode, prepares one store (generated corpus,
--subscribers active subscribers with random topics, the last --new arrivals new to
them), copies it three times, and runs in separate processes:
(a) one round (`digest send --now` semantics) into postfix's smtp-sink on loopback over
    --connections SMTP connections;
(b) the same round into an outbox folder (one fsynced .eml per message);
(c) composition alone, nothing sent (where the time goes).
Prints each mode's JSON line and a summary: messages/s and peak RSS (ru_maxrss) of the
process that ran the round. Targets: >= 1,000 messages/s over SMTP on a 2-core machine,
peak RSS <= 300 MB.

Needs smtp-sink (Debian's postfix):
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
"""
import argparse, shutil, sys, tempfile
from pathlib import Path

from benchlib import build_example, run_example, start_sink

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subscribers", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--articles", type=int, default=300)
    p.add_argument("--new", type=int, default=30)
    p.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    a = p.parse_args()

    example = build_example("bench_round")
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench_round."))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    try:
        base = work / "base"
        run_example(example, ["prepare", "--dir", str(base), "--subscribers", str(a.subscribers),
                              "--articles", str(a.articles), "--new", str(a.new)], echo=True)
        for name in ("smtp", "outbox", "compose"):
            shutil.copytree(base, work / name)
        sink, port = start_sink()
        try:
            smtp = run_example(example, ["round", "--dir", str(work / "smtp"),
                                         "--smtp", f"127.0.0.1:{port}",
                                         "--connections", str(a.connections)], echo=True)
        finally:
            sink.kill()
            sink.wait()
        outbox = run_example(example, ["round", "--dir", str(work / "outbox"), "--outbox",
                                       "--connections", str(a.connections)], echo=True)
        compose = run_example(example, ["compose", "--dir", str(work / "compose")], echo=True)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{a.subscribers} subscribers, {smtp['sent']} digests sent "
          f"({smtp['empty']} with nothing new), {a.connections} connections")
    for name, r in (("smtp", smtp), ("outbox", outbox)):
        ok = r["messages_per_second"] >= 1000 if name == "smtp" else True
        print(f"  {name:7} {r['messages_per_second']:8.0f} messages/s  {r['seconds']:7.1f} s  "
              f"peak RSS {r['peak_rss_mib']:6.1f} MiB"
              + ("" if name != "smtp" else f"  (target >= 1000/s: {'met' if ok else 'MISSED'})"))
    print(f"  compose {compose['messages_per_second']:8.0f} messages/s  {compose['seconds']:7.1f} s  "
          f"peak RSS {compose['peak_rss_mib']:6.1f} MiB  (composition alone, nothing sent)")
    worst = max(smtp["peak_rss_mib"], outbox["peak_rss_mib"])
    print(f"  peak RSS target <= 300 MB: {'met' if worst * 1.048576 <= 300 else 'MISSED'}")


if __name__ == "__main__":
    main()
