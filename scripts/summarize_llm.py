#!/usr/bin/env python3
"""Summarizes language-model runs (folders with metrics.jsonl) as Markdown: for each run the
final validation perplexity, tokens trained and bytes communicated (up + down), and against a
baseline run the perplexity gap and the byte reduction; with --links, the most bytes one client
moved in a round (client_bytes_peak: what its link must carry at a synchronization) and the
simulated time on the run's [system] links; with --curve, every evaluated round (perplexity
against tokens and bytes)."""
import argparse
import json
import pathlib


def load(folder):
    if not (folder / "metrics.jsonl").is_file():
        raise SystemExit(f"{folder}: not a run folder (no metrics.jsonl)")
    with open(folder / "metrics.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluated(rounds):
    return [r for r in rounds if r.get("test_perplexity") is not None]


def peak_bytes(r):
    # Runs from before the metric existed: a round's mean per client (clients are alike there).
    if "client_bytes_peak" in r:
        return r["client_bytes_peak"]
    return (r["bytes_up"] + r["bytes_down"]) / max(r["clients"], 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", type=pathlib.Path, nargs="+")
    parser.add_argument("--baseline", help="run folder name the others are compared with")
    parser.add_argument("--links", action="store_true")
    parser.add_argument("--curve", action="store_true")
    args = parser.parse_args()
    runs = {p.name: load(p) for p in args.runs}
    base = evaluated(runs[args.baseline])[-1] if args.baseline else None
    print("| run | rounds | tokens trained | bytes up+down | final perplexity |"
          + (" vs baseline | bytes reduction |" if base else "")
          + (" peak bytes per client and round | simulated time |" if args.links else ""))
    print("|---|---:|---:|---:|---:|" + ("---:|---:|" if base else "")
          + ("---:|---:|" if args.links else ""))
    for name, rounds in runs.items():
        last = evaluated(rounds)[-1]
        total = last["bytes_up_total"] + last["bytes_down_total"]
        row = (f"| {name} | {last['round']} | {last['tokens_trained_total']:,} | "
               f"{total / 1e9:.3f} GB | {last['test_perplexity']:.1f} |")
        if base:
            base_total = base["bytes_up_total"] + base["bytes_down_total"]
            gap = last["test_perplexity"] / base["test_perplexity"] - 1
            row += f" {gap * 100:+.1f}% | {base_total / max(total, 1):.0f}x |"
        if args.links:
            row += (f" {max(peak_bytes(r) for r in rounds) / 1e6:.3f} MB |"
                    f" {rounds[-1]['sim_time_seconds']:.1f} s |")
        print(row)
    if args.curve:
        for name, rounds in runs.items():
            print(f"\n{name}: round, tokens, bytes up+down, perplexity")
            for r in evaluated(rounds):
                total = r.get("bytes_up_total", 0) + r.get("bytes_down_total", 0)
                print(f"  {r['round']:4d}  {r['tokens_trained_total']:>10,}  "
                      f"{total / 1e9:8.3f} GB  {r['test_perplexity']:8.1f}")


if __name__ == "__main__":
    main()
