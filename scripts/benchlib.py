"""What the benchmark scripts share: postfix's smtp-sink on loopback and running a
release example with its peak RSS. Imported by bench_mail.py and bench_round.py."""
import json, os, socket, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL_POSTFIX = (
    "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections"
    " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix")


def smtp_sink():
    for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/usr/local/sbin", "/sbin"]:
        p = Path(d) / "smtp-sink"
        if p.is_file():
            return p
    sys.exit(f"smtp-sink is not installed; install it with:\n  {INSTALL_POSTFIX}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink():
    """smtp-sink on a free loopback port; returns (process, port)."""
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


def build_example(name):
    """`cargo build --release --example NAME`; returns the binary's path."""
    subprocess.run(["cargo", "build", "--release", "--example", name], cwd=ROOT, check=True)
    return ROOT / "target/release/examples" / name


def run_example(example, args, echo=False):
    """Runs a release example whose last stdout line is a JSON report; returns the report
    with the process's peak RSS (`peak_rss_mib`, from wait4's ru_maxrss) added."""
    proc = subprocess.Popen([str(example)] + args, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{example.name} {' '.join(args)} failed ({code}): {out.decode()}")
    line = out.decode().strip().splitlines()[-1]
    if echo:
        print(line, flush=True)
    report = json.loads(line)
    report.setdefault("peak_rss_mib", round(usage.ru_maxrss / 1024, 1))  # KiB on Linux
    return report
