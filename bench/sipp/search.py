#!/usr/bin/env python3
"""Finds the highest sipp rate a server sustains with no failed call and no retransmission.

Each step runs one bounded sipp client run (`-r RATE -m RATE*STEP`, a global -timeout) and
reads sipp's own statistics file. A step passes when every call succeeded, sipp retransmitted
nothing (client side, and the callee side when --uas-stat names the callee's statistics
file), and sipp reached at least 95% of the asked rate. The rate doubles until a step fails,
then a few bisection steps narrow it down. Prints one line per step and a final
`RESULT name=... rate=... cpu=RATE:US,...` line (the highest passing rate, calls/s as sipp
counts them; with --server-pid, the server's CPU time per call, user+system over all its
processes and threads, at each passing rate).

On a 2-core machine sipp shares the cores with the server, so the highest rate says as much
about sipp as about the server; CPU time per call is the server's own cost.
Everything goes to the address given (127.0.0.0/8 only) and stops by itself.
"""

import argparse
import csv
import ipaddress
import os
import subprocess
import sys
import time


def last_row(path):
    if not os.path.exists(path):
        return None
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    if len(rows) < 2:
        return None
    head, row = rows[0], rows[-1]
    return dict(zip(head, row))


def num(row, key):
    try:
        return float(row.get(key, "0") or 0)
    except (TypeError, ValueError):
        return 0.0


def cpu_seconds(root):
    """User+system CPU seconds of a process, its threads and all its descendants."""
    total, todo, seen = 0.0, [root], set()
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


CPU = {}


def run_step(a, rate, n):
    stat = os.path.join(a.workdir, f"{a.name}-r{rate}-stat.csv")
    errlog = os.path.join(a.workdir, f"{a.name}-r{rate}.out")
    for f in (stat,):
        if os.path.exists(f):
            os.remove(f)
    calls = max(1, int(rate * a.step_secs))
    uas_before = last_row(a.uas_stat) if a.uas_stat else None
    cmd = ["sipp", a.target, "-sf", a.scenario, "-i", a.local_ip, "-p", str(a.local_port + n),
           "-r", str(rate), "-rp", "1000", "-m", str(calls),
           "-timeout", f"{int(a.step_secs * 2 + 20)}s", "-recv_timeout", "5000",
           "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1",
           "-trace_err", "-error_file", os.path.join(a.workdir, f"{a.name}-r{rate}-errors.log")]
    cmd += a.sipp_arg
    env = dict(os.environ)
    if a.preload:
        env["LD_PRELOAD"] = a.preload
    t0 = time.monotonic()
    cpu0 = cpu_seconds(a.server_pid) if a.server_pid else 0.0
    with open(errlog, "w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                            timeout=a.step_secs * 2 + 60).returncode
    took = time.monotonic() - t0
    cpu = cpu_seconds(a.server_pid) - cpu0 if a.server_pid else 0.0
    row = last_row(stat) or {}
    ok = num(row, "SuccessfulCall(C)")
    failed = num(row, "FailedCall(C)")
    retrans = num(row, "Retransmissions(C)")
    achieved = num(row, "CallRate(C)")
    rtd = row.get("ResponseTime1(C)", "?")
    uas_failed = uas_retrans = 0.0
    if a.uas_stat:
        time.sleep(1.5)  # let the callee's statistics file catch up (-fd 1)
        uas_after = last_row(a.uas_stat) or {}
        uas_failed = num(uas_after, "FailedCall(C)") - num(uas_before or {}, "FailedCall(C)")
        uas_retrans = num(uas_after, "Retransmissions(C)") - num(uas_before or {}, "Retransmissions(C)")
    passed = (rc == 0 and ok >= calls and failed == 0 and retrans == 0 and uas_failed == 0
              and uas_retrans == 0 and achieved >= 0.95 * rate)
    print(f"  {a.name}: rate {rate:>6}/s x {a.step_secs}s: ok {ok:.0f}/{calls} failed {failed:.0f} "
          f"retrans {retrans:.0f} callee-failed {uas_failed:.0f} callee-retrans {uas_retrans:.0f} "
          f"achieved {achieved:.1f}/s rtd {rtd} sipp-rc {rc} ({took:.1f}s)"
          + (f" server-cpu {cpu:.2f}s = {cpu / ok * 1e6:.1f} us/call" if a.server_pid and ok else "")
          + f" -> {'PASS' if passed else 'FAIL'}",
          flush=True)
    if passed and a.server_pid and ok:
        CPU[rate] = cpu / ok * 1e6
    return passed


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", required=True)
    p.add_argument("--target", required=True, help="host:port (127.0.0.0/8)")
    p.add_argument("--scenario", required=True)
    p.add_argument("--local-ip", default="127.0.0.1")
    p.add_argument("--local-port", type=int, default=6000, help="each step uses the next port")
    p.add_argument("--start", type=int, default=100)
    p.add_argument("--max", type=int, default=20000)
    p.add_argument("--step-secs", type=int, default=10)
    p.add_argument("--bisect", type=int, default=3)
    p.add_argument("--pause", type=float, default=3.0, help="seconds between steps")
    p.add_argument("--uas-stat", help="the callee sipp's -stf file, to count its failures and retransmissions")
    p.add_argument("--preload", help="LD_PRELOAD for sipp (bench/sipp/md5only.so)")
    p.add_argument("--workdir", default=".")
    p.add_argument("--server-pid", type=int, help="measure this process tree's CPU time per call")
    p.add_argument("sipp_arg", nargs="*", help="more sipp arguments (after --)")
    a = p.parse_args()
    host = a.target.rsplit(":", 1)[0]
    if not ipaddress.ip_address(host).is_loopback or not ipaddress.ip_address(a.local_ip).is_loopback:
        sys.exit("benchmark traffic stays on 127.0.0.0/8")
    good, bad, n = 0, None, 0
    rate = a.start
    while rate <= a.max:
        if run_step(a, rate, n):
            good = rate
            rate *= 2
        else:
            bad = rate
            break
        n += 1
        time.sleep(a.pause)
    if bad is not None:
        for _ in range(a.bisect):
            time.sleep(a.pause)
            n += 1
            mid = (good + bad) // 2
            if mid <= good or mid >= bad:
                break
            if run_step(a, mid, n):
                good = mid
            else:
                bad = mid
    cpu = ",".join(f"{r}:{us:.1f}" for r, us in sorted(CPU.items()))
    print(f"RESULT name={a.name} rate={good} first_failing={bad if bad is not None else 'none'} cpu={cpu}",
          flush=True)


if __name__ == "__main__":
    main()
