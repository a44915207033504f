"""Time a command: median wall time and peak resident memory over several runs.

Usage: python3 scripts/bench/measure.py RUNS STDERR_LOG CMD [ARG...]

Prints "MEDIAN_WALL_SECONDS PEAK_RSS_MIB".
* Wall time: RUNS runs, each measured around fork and wait with a monotonic clock
  (microseconds: the one-manifest case takes milliseconds, below the 10 ms resolution of
  GNU time).
* Peak RSS: one more run under GNU time (`/usr/bin/time -f %M`), the largest resident set
  of the command and the processes it waited for. Not measured from here: Linux carries
  the high-water mark of the process that forks (Python, ~15 MiB) across exec, so a child
  of this script never reports less than that; GNU time's own is ~2 MiB.
Standard output is discarded, standard error goes to STDERR_LOG. Exit 0 or 1 is success
(findings make linters exit 1); any other exit or a signal fails with the command's
stderr, so that no time is recorded for a failed run.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_once(cmd, stderr_path):
    with open(stderr_path, "wb") as err, open(os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, _ = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, proc.returncode


def fail(cmd, code, stderr_path):
    with open(stderr_path, errors="replace") as err:
        tail = err.readlines()[-20:]
    sys.stderr.write(f"failed (exit {code}): {' '.join(cmd)}\n{''.join(tail)}")
    sys.exit(2)


def peak_rss_kib(cmd, stderr_path):
    with tempfile.NamedTemporaryFile("r") as out:
        _, code = run_once(["/usr/bin/time", "-q", "-f", "%M", "-o", out.name, *cmd], stderr_path)
        if code not in (0, 1):
            fail(cmd, code, stderr_path)
        return int(out.read().split()[-1])


def main():
    runs, stderr_path, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    walls = []
    for _ in range(runs):
        wall, code = run_once(cmd, stderr_path)
        if code not in (0, 1):
            fail(cmd, code, stderr_path)
        walls.append(wall)
    peak = peak_rss_kib(cmd, stderr_path)
    print(f"{statistics.median(walls):.4f} {peak / 1024:.1f}")


main()
