#!/usr/bin/env python3
"""Server CPU time per call at one fixed rate, servers taking turns, a few rounds.

    cpu.py --rate 5000 --secs 10 --reps 3 --scenario register.xml \
        --server centrala=127.0.0.1:5060=PID --server kamailio=127.0.0.1:5062=PID -- SIPP ARGS

Each run is one bounded sipp client run (`-r RATE -m RATE*SECS`); the server's CPU time is
user+system over its whole process tree (search.cpu_seconds), divided by the calls that
succeeded. Turns alternate so that whatever else the machine does falls on both servers.
Prints each run and a final `CPU name=... median_us=... runs=...` line per server.
"""

import argparse
import csv
import ipaddress
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search import cpu_seconds  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rate", type=int, default=5000)
    p.add_argument("--secs", type=int, default=10)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--scenario", required=True)
    p.add_argument("--server", action="append", required=True, help="name=host:port=pid")
    p.add_argument("--local-port", type=int, default=8000)
    p.add_argument("--preload")
    p.add_argument("--workdir", default=".")
    p.add_argument("sipp_arg", nargs="*")
    a = p.parse_args()
    servers = []
    for s in a.server:
        name, target, pid = s.split("=")
        if not ipaddress.ip_address(target.rsplit(":", 1)[0]).is_loopback:
            sys.exit("benchmark traffic stays on 127.0.0.0/8")
        servers.append((name, target, int(pid)))
    env = dict(os.environ)
    if a.preload:
        env["LD_PRELOAD"] = a.preload
    results = {name: [] for name, _, _ in servers}
    port = a.local_port
    for rep in range(a.reps):
        for name, target, pid in servers:
            port += 1
            stat = os.path.join(a.workdir, f"cpu-{name}-{rep}-stat.csv")
            if os.path.exists(stat):
                os.remove(stat)
            cmd = ["sipp", target, "-sf", a.scenario, "-i", "127.0.0.1", "-p", str(port),
                   "-r", str(a.rate), "-rp", "1000", "-m", str(a.rate * a.secs),
                   "-timeout", f"{a.secs * 2 + 20}s", "-recv_timeout", "5000", "-nostdin",
                   "-trace_stat", "-stf", stat, "-fd", "1"] + a.sipp_arg
            before = cpu_seconds(pid)
            with open(os.path.join(a.workdir, f"cpu-{name}-{rep}.out"), "w") as out:
                subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                               timeout=a.secs * 2 + 60)
            used = cpu_seconds(pid) - before
            with open(stat, newline="") as fh:
                rows = list(csv.reader(fh, delimiter=";"))
            row = dict(zip(rows[0], rows[-1]))
            ok = float(row.get("SuccessfulCall(C)") or 0)
            failed = float(row.get("FailedCall(C)") or 0)
            us = used / ok * 1e6 if ok else float("nan")
            if ok and not failed:
                results[name].append(us)
            print(f"  {name}: {a.rate}/s x {a.secs}s: ok {ok:.0f} failed {failed:.0f} "
                  f"server-cpu {used:.2f}s = {us:.1f} us/call", flush=True)
    for name, runs in results.items():
        med = statistics.median(runs) if runs else float("nan")
        print(f"CPU name={name} median_us={med:.1f} runs={','.join(f'{r:.1f}' for r in runs)}", flush=True)


if __name__ == "__main__":
    main()
