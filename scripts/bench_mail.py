#!/usr/bin/env python3
"""Throughput of the mail transports (DESIGN §6; BENCHMARKS.md):

    python3 scripts/bench_mail.py [--messages 100000] [--connections 8] [--size 10000]
                                  [--skip-outbox] [--skip-smtp]

Builds examples/bench_mail.rs in release mode, then
(a) sends --messages digest-shaped messages of about --size bytes into postfix's
    smtp-sink on loopback over --connections SMTP connections;
(b) writes the same number to an outbox folder (one fsynced .eml per message);
and prints messages/s and the sender's peak RSS for each. The target is >= 1,000
messages/s over SMTP on a 2-core machine.

Needs smtp-sink (Debian's postfix):
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix
"""
import argparse, shutil, sys, tempfile
from pathlib import Path

from benchlib import ROOT, build_example, run_example, start_sink

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--skip-smtp", action="store_true")
    ap.add_argument("--skip-outbox", action="store_true")
    a = ap.parse_args()

    example = build_example("bench_mail")
    common = ["--messages", str(a.messages), "--size", str(a.size)]
    reports = []
    if not a.skip_smtp:
        sink, port = start_sink()
        try:
            reports.append(run_example(example, ["--smtp", f"127.0.0.1:{port}", "--connections",
                                                 str(a.connections)] + common))
        finally:
            sink.kill()
            sink.wait()
    if not a.skip_outbox:
        work = Path(tempfile.mkdtemp(prefix="bench-mail-", dir=ROOT / "target"))
        try:
            reports.append(run_example(example, ["--outbox", str(work / "outbox")] + common))
            files = sum(1 for _ in (work / "outbox").glob("*.eml"))
            if files != a.messages:
                sys.exit(f"outbox holds {files} files for {a.messages} messages")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    for r in reports:
        conns = f", {r['connections']} connections" if r.get("connections") else ""
        print(f"{r['transport']:>6}: {r['messages']} messages of {r['bytes_per_message']} B"
              f"{conns} in {r['seconds']} s = {r['messages_per_second']:.0f} msg/s,"
              f" peak RSS {r['peak_rss_mib']} MiB")
    smtp = [r for r in reports if r["transport"] == "smtp"]
    if smtp and smtp[0]["messages_per_second"] < 1000:
        print("below the 1,000 msg/s target", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
