"""Run a command and sample its memory from /proc/PID/status, for the bench scripts.

usage: peak-rss.py [--interval SECONDS] [--out FILE] -- COMMAND [ARGS...]

Every INTERVAL seconds (default 0.05) the command's VmRSS and RssAnon are read; RssAnon is the
anonymous part (heap and stacks), without the file-backed pages of mapped packs, which the
kernel can drop at any time. When the command exits, one line is printed on stdout:

    wall=<seconds> peak_rss_mb=<MB> peak_anon_mb=<MB> samples=<n> status=<exit code>

(MB = 10^6 bytes). The command's stdout goes to FILE (default: discarded), its stderr passes
through. The exit status is the command's.
"""
import argparse
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--interval", type=float, default=0.05)
ap.add_argument("--out")
ap.add_argument("cmd", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
if not cmd:
    ap.error("no command given")


def sample(pid):
    """(VmRSS, RssAnon) in kB, or None once the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    if "VmRSS" not in fields:
        return None
    kb = lambda k: int(fields.get(k, "0 kB").split()[0])
    return kb("VmRSS"), kb("RssAnon")


out = open(a.out, "wb") if a.out else subprocess.DEVNULL
t0 = time.monotonic()
proc = subprocess.Popen(cmd, stdout=out)
peak_rss = peak_anon = samples = 0
while proc.poll() is None:
    s = sample(proc.pid)
    if s:
        samples += 1
        peak_rss, peak_anon = max(peak_rss, s[0]), max(peak_anon, s[1])
    time.sleep(a.interval)
wall = time.monotonic() - t0
print(
    f"wall={wall:.2f} peak_rss_mb={peak_rss * 1024 / 1e6:.0f} "
    f"peak_anon_mb={peak_anon * 1024 / 1e6:.0f} samples={samples} status={proc.returncode}"
)
sys.exit(proc.returncode)
