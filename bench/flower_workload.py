#!/usr/bin/env python3
"""The Flower-style workload of issue 22 / docs/performance.md, deployed and simulated.

Deployed: `tributary server` and 4 `tributary client` processes on loopback (plain text),
launched together; then `tributary simulate` on the same config. Prints, for each: whole run
(launch to the last exit), mean round (metrics.jsonl's wall_seconds), launch -> round 1 start
(when round 1's metrics line appeared, less that round's wall_seconds, and less its
eval_seconds when the evaluation ran alongside the next round), evaluation seconds
(metrics.jsonl's eval_seconds where the build reports it), peak RSS, user and system CPU of every
process (from wait4, so exact per process), and the accuracy after the last round. Mean round:
from round 1's start to the last round's line (its evaluation included), over the rounds.

    bench/flower_workload.py [--build build/release] [--repeat N] [--skip-simulate] [--keep DIR]
                             [--set KEY=VALUE ...] [--variant KEY=VALUE ...]

--set changes the config of every run (server and simulate); with --variant each repeat runs
the config as it is, then with the variant's settings, and prints the ratios of the two.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "configs/deploy/flower_workload.toml")
CLIENTS = 4
LOG_NAMES = {"server": "server.log", "simulate": "simulate.log"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MetricsWatcher(threading.Thread):
    """Records when each round's line first appears in metrics.jsonl."""

    def __init__(self, path, start):
        super().__init__(daemon=True)
        self.path, self.start_time, self.seen, self.stop = path, start, {}, False

    def run(self):
        while not self.stop:
            self.poll()
            time.sleep(0.02)

    def poll(self):
        try:
            with open(self.path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line still being written
            self.seen.setdefault(record["round"], (time.monotonic() - self.start_time, record))


def wait_all(procs):
    """wait4 on every child: exit status, peak RSS (MiB), user and system seconds."""
    results = {}
    for name, proc in procs.items():
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        results[name] = (proc.returncode, usage.ru_maxrss / 1024.0, usage.ru_utime, usage.ru_stime,
                         time.monotonic())
    return results


def summarize(label, start, watcher, results, log_dir, alongside):
    """Prints the run's figures; returns (ok, whole run seconds, mean round seconds)."""
    watcher.stop = True
    watcher.poll()
    end = max(r[4] for r in results.values())
    failed = [n for n, r in results.items() if r[0] != 0]
    print(f"== {label}")
    for name in failed:
        log = os.path.join(log_dir, LOG_NAMES.get(name, name.replace(" ", "") + ".log"))
        with open(log) as f:
            tail = f.read().splitlines()[-5:]
        print(f"   FAILED: {name} exited with {results[name][0]}; last lines of its log:")
        for line in tail:
            print(f"     {line}")
    rounds = [watcher.seen[k][1] for k in sorted(watcher.seen) if k > 0]
    print(f"   whole run, launch to exit: {end - start:.1f} s")
    mean_round = None
    if rounds:
        walls = [r["wall_seconds"] for r in rounds]
        first_at, first = watcher.seen[rounds[0]["round"]]
        last_at, _ = watcher.seen[rounds[-1]["round"]]
        first_start = first_at - first["wall_seconds"] - (first["eval_seconds"] if alongside else 0)
        mean_round = (last_at - first_start) / len(rounds)
        print(f"   mean round: {mean_round:.2f} s over {len(rounds)} rounds (wall_seconds: min "
              f"{min(walls):.2f}, max {max(walls):.2f})")
        print(f"   launch -> round 1 start: {first_start:.1f} s")
        evals = [r["eval_seconds"] for r in rounds if "eval_seconds" in r]
        print("   evaluation: " + (f"{sum(evals):.1f} s in all" if evals
                                    else "not reported by this build's metrics.jsonl"))
        print(f"   accuracy after round {rounds[-1]['round']}: {100 * rounds[-1]['test_accuracy']:.2f}%")
    for name, (code, rss, user, system, _) in results.items():
        print(f"   {name:9s} peak RSS {rss:7.1f} MiB  user {user:6.1f} s  system {system:5.1f} s"
              f" ({100 * system / max(user, 1e-9):.0f}% of user)")
    return not failed, end - start, mean_round


def set_args(settings):
    return [arg for setting in settings for arg in ("--set", setting)]


def evaluates_alongside(settings):
    return any(s.startswith("compute.eval_threads=") and s.split("=", 1)[1].strip() != "0"
               for s in settings)


def deployed(binary, work, settings):
    port = free_port()
    tokens = os.path.join(work, "tokens.txt")
    with open(tokens, "w") as f:
        for i in range(CLIENTS):
            f.write(f"{i} token-of-client-{i}-0123456789\n")
    out = os.path.join(work, "deployed")
    logs = {}
    start = time.monotonic()
    watcher = MetricsWatcher(os.path.join(out, "metrics.jsonl"), start)
    procs = {}
    logs["server"] = open(os.path.join(work, "server.log"), "w")
    procs["server"] = subprocess.Popen(
        [binary, "server", CONFIG, "--tokens", tokens, "--insecure", "--listen",
         f"127.0.0.1:{port}", "--out", out, "--overwrite"] + set_args(settings),
        stdout=logs["server"], stderr=subprocess.STDOUT)
    for i in range(CLIENTS):
        name = f"client {i}"
        logs[name] = open(os.path.join(work, f"client{i}.log"), "w")
        procs[name] = subprocess.Popen(
            [binary, "client", "--server", f"127.0.0.1:{port}", "--client-id", str(i), "--token",
             f"token-of-client-{i}-0123456789", "--data-config", CONFIG, "--insecure"],
            stdout=logs[name], stderr=subprocess.STDOUT)
    watcher.start()
    results = wait_all(procs)
    return summarize(f"deployed: server + {CLIENTS} clients on loopback", start, watcher, results,
                     work, evaluates_alongside(settings))


def simulated(binary, work, settings):
    out = os.path.join(work, "simulated")
    start = time.monotonic()
    watcher = MetricsWatcher(os.path.join(out, "metrics.jsonl"), start)
    with open(os.path.join(work, "simulate.log"), "w") as log:
        proc = subprocess.Popen(
            [binary, "simulate", CONFIG, "--out", out, "--overwrite"] + set_args(settings),
            stdout=log, stderr=subprocess.STDOUT)
        watcher.start()
        results = wait_all({"simulate": proc})
    return summarize("simulate, same config", start, watcher, results, work,
                     evaluates_alongside(settings))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build/release"))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, one after the other")
    parser.add_argument("--skip-simulate", action="store_true")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the logs and run folders under DIR/run-N instead of a "
                             "temporary folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for every run (repeatable)")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE",
                        help="also run each repeat with these overrides and print the ratios")
    args = parser.parse_args()
    binary = os.path.join(args.build, "tributary")
    if not os.access(binary, os.X_OK):
        sys.exit(f"flower_workload: no {binary}; run `make build` first")
    ok = True
    setups = [("as configured", args.set)]
    if args.variant:
        setups.append(("with " + " ".join(args.variant), args.set + args.variant))
    for i in range(args.repeat):
        figures = []
        for label, settings in setups:
            with tempfile.TemporaryDirectory(prefix="flower_workload.") as temporary:
                work = os.path.join(args.keep, f"run-{i + 1}-{len(figures)}") if args.keep \
                    else temporary
                os.makedirs(work, exist_ok=True)
                print(f"-- run {i + 1} of {args.repeat}, {label}")
                run_ok, whole, mean_round = deployed(binary, work, settings)
                ok &= run_ok
                figures.append((whole, mean_round))
                if not args.skip_simulate:
                    ok &= simulated(binary, work, settings)[0]
        if len(figures) == 2 and None not in (figures[0][1], figures[1][1]):
            print(f"-- run {i + 1}, deployed, variant against as configured: whole run "
                  f"{figures[0][0] / figures[1][0]:.2f}x, mean round "
                  f"{figures[0][1] / figures[1][1]:.2f}x faster")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
