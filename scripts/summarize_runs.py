#!/usr/bin/env python3
"""Summarizes runs (folders with metrics.jsonl) as a Markdown table: final accuracy, the first
round reaching a target accuracy, the uplink and uplink+downlink bytes spent up to that round,
and those bytes as a reduction factor against a baseline run. With --time, the simulated time
(virtual clock) to the target instead of bytes, and the speed-up against the baseline."""
import argparse
import json
import pathlib


def load(folder):
    with open(folder / "metrics.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def first_reaching(rounds, target):
    for r in rounds:
        if r["test_accuracy"] is not None and r["test_accuracy"] >= target:
            return r
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=pathlib.Path)
    parser.add_argument("--target", type=float, default=0.85)
    parser.add_argument("--baseline", default="fp32")
    parser.add_argument("--time", action="store_true", help="report simulated time to target")
    args = parser.parse_args()

    runs = {p.name: load(p) for p in sorted(args.root.iterdir()) if (p / "metrics.jsonl").exists()}
    base = first_reaching(runs.get(args.baseline, []), args.target)
    pct = f"{args.target:.0%}"
    if args.time:
        header = [f"round to {pct}", f"sim time to {pct}", "speed-up", "mean round (s)"]
    else:
        header = [f"round to {pct}", f"uplink to {pct}", f"up+down to {pct}", "uplink reduction",
                  "up+down reduction"]
    print("| run | rounds | final acc | best acc | " + " | ".join(header) + " |")
    print("| --- |" + " ---: |" * (3 + len(header)))
    for name, rounds in runs.items():
        last = rounds[-1]
        best = max(r["test_accuracy"] or 0 for r in rounds)
        hit = first_reaching(rounds, args.target)
        cells = (time_cells if args.time else byte_cells)(rounds, hit, base)
        print(f"| {name} | {last['round']} | {last['test_accuracy']:.2%} | {best:.2%} | " +
              " | ".join(cells) + " |")


def byte_cells(rounds, hit, base):
    if hit is None:
        return ["not reached", "-", "-", "-", "-"]
    up = hit["bytes_up_total"]
    both = up + hit["bytes_down_total"]
    cells = [str(hit["round"]), f"{up / 1e6:.2f} MB", f"{both / 1e6:.2f} MB"]
    if base is None:
        return cells + ["-", "-"]
    return cells + [f"{base['bytes_up_total'] / up:.1f}x",
                    f"{(base['bytes_up_total'] + base['bytes_down_total']) / both:.1f}x"]


def time_cells(rounds, hit, base):
    last = rounds[-1]
    mean_round = f"{last['sim_time_seconds'] / last['round']:.2f}"
    if hit is None:
        return ["not reached", "-", "-", mean_round]
    t = hit["sim_time_seconds"]
    speedup = f"{base['sim_time_seconds'] / t:.2f}x" if base is not None else "-"
    return [str(hit["round"]), f"{t:.1f} s", speedup, mean_round]

if __name__ == "__main__":
    main()
