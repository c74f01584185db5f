#!/usr/bin/env python3
"""Throughput of the mail transports (issue 4 item 8):

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
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "target/release/examples/bench_mail"
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
    # No dump: disk writes would measure the sink, not the client.
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
    """Runs the example; returns its JSON report plus the process's peak RSS."""
    proc = subprocess.Popen([str(EXAMPLE)] + args, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench_mail {' '.join(args)} failed ({proc.returncode}): {out.decode()}")
    report = json.loads(out.decode().strip().splitlines()[-1])
    report["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)  # ru_maxrss is KiB on Linux
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--skip-smtp", action="store_true")
    ap.add_argument("--skip-outbox", action="store_true")
    a = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "bench_mail"],
                   cwd=ROOT, check=True)
    common = ["--messages", str(a.messages), "--size", str(a.size)]
    reports = []
    if not a.skip_smtp:
        sink, port = start_sink()
        try:
            reports.append(run(["--smtp", f"127.0.0.1:{port}", "--connections",
                                str(a.connections)] + common))
        finally:
            sink.kill()
            sink.wait()
    if not a.skip_outbox:
        work = Path(tempfile.mkdtemp(prefix="bench-mail-", dir=ROOT / "target"))
        try:
            reports.append(run(["--outbox", str(work / "outbox")] + common))
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
