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
        print(f"| run | rounds | final acc | best acc | round to {pct} | sim time to {pct} | "
              f"speed-up | mean round (s) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, rounds in runs.items():
            last = rounds[-1]
            best = max(r["test_accuracy"] or 0 for r in rounds)
            hit = first_reaching(rounds, args.target)
            mean_round = last["sim_time_seconds"] / last["round"]
            if hit is None:
                cells = ["not reached", "-", "-"]
            else:
                t = hit["sim_time_seconds"]
                speedup = f"{base['sim_time_seconds'] / t:.2f}x" if base is not None else "-"
                cells = [str(hit["round"]), f"{t:.1f} s", speedup]
            print(f"| {name} | {last['round']} | {last['test_accuracy']:.2%} | {best:.2%} | " +
                  " | ".join(cells) + f" | {mean_round:.2f} |")
        return
    print(f"| run | rounds | final acc | best acc | round to {pct} | uplink to {pct} | "
          f"up+down to {pct} | uplink reduction | up+down reduction |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, rounds in runs.items():
        last = rounds[-1]
        best = max(r["test_accuracy"] or 0 for r in rounds)
        hit = first_reaching(rounds, args.target)
        if hit is None:
            cells = ["not reached", "-", "-", "-", "-"]
        else:
            up = hit["bytes_up_total"]
            both = up + hit["bytes_down_total"]
            cells = [str(hit["round"]), f"{up / 1e6:.2f} MB", f"{both / 1e6:.2f} MB"]
            if base is not None:
                cells.append(f"{base['bytes_up_total'] / up:.1f}x")
                cells.append(f"{(base['bytes_up_total'] + base['bytes_down_total']) / both:.1f}x")
            else:
                cells += ["-", "-"]
        print(f"| {name} | {last['round']} | {last['test_accuracy']:.2%} | {best:.2%} | " +
              " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
