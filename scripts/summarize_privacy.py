#!/usr/bin/env python3
"""Summarizes differentially private runs (folders with metrics.jsonl) as a Markdown table:
epsilon spent (at the run's delta), final and best test accuracy, and the clip norm at the start
and at the end."""
import argparse
import json
import pathlib


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=pathlib.Path)
    args = parser.parse_args()
    print("| run | epsilon | final accuracy | best accuracy | clip norm first / last |")
    print("| --- | --- | --- | --- | --- |")
    for folder in sorted(p for p in args.root.iterdir() if (p / "metrics.jsonl").exists()):
        with open(folder / "metrics.jsonl") as f:
            rounds = [json.loads(line) for line in f if line.strip()]
        evaluated = [r for r in rounds if r.get("test_accuracy") is not None]
        if not evaluated:
            continue
        last = rounds[-1]
        epsilon = f"{last['dp_epsilon']:.2f}" if "dp_epsilon" in last else "no DP"
        clip = (f"{rounds[0]['dp_clip_norm']:.3g} / {last['dp_clip_norm']:.3g}"
                if "dp_clip_norm" in last else "-")
        best = max(r["test_accuracy"] for r in evaluated)
        print(f"| {folder.name} | {epsilon} | {100 * evaluated[-1]['test_accuracy']:.2f}% "
              f"| {100 * best:.2f}% | {clip} |")


if __name__ == "__main__":
    main()
