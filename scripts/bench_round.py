#!/usr/bin/env python3
"""A whole digest round at scale (issue 4 item 8):

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
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "target/release/examples/bench_round"
INSTALL = ("echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections"
           " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix")


def smtp_sink():
    for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/usr/local/sbin", "/sbin"]:
        p = Path(d) / "smtp-sink"
        if p.is_file():
            return p
    sys.exit(f"smtp-sink is not installed; install it with:\n  {INSTALL}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink():
    port = free_port()
    cmd = [str(smtp_sink())]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]  # smtp-sink refuses to run as root otherwise
    # No dump: disk writes would measure the sink, not the sender.
    proc = subprocess.Popen(cmd + [f"127.0.0.1:{port}", "256"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"smtp-sink exited: {proc.stderr.read().decode()}")
            time.sleep(0.05)
    sys.exit("smtp-sink did not start")


def run(args):
    out = subprocess.run([str(EXAMPLE)] + args, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit(f"bench_round {' '.join(args)} failed ({out.returncode})")
    line = out.stdout.strip().splitlines()[-1]
    print(line, flush=True)
    return json.loads(line)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subscribers", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--articles", type=int, default=300)
    p.add_argument("--new", type=int, default=30)
    p.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    a = p.parse_args()

    subprocess.run(["cargo", "build", "--release", "--example", "bench_round"], cwd=ROOT, check=True)
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench_round."))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    try:
        base = work / "base"
        run(["prepare", "--dir", str(base), "--subscribers", str(a.subscribers),
             "--articles", str(a.articles), "--new", str(a.new)])
        for name in ("smtp", "outbox", "compose"):
            shutil.copytree(base, work / name)
        sink, port = start_sink()
        try:
            smtp = run(["round", "--dir", str(work / "smtp"), "--smtp", f"127.0.0.1:{port}",
                        "--connections", str(a.connections)])
        finally:
            sink.kill()
            sink.wait()
        outbox = run(["round", "--dir", str(work / "outbox"), "--outbox",
                      "--connections", str(a.connections)])
        compose = run(["compose", "--dir", str(work / "compose")])
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
