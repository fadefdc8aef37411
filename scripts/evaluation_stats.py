"""Paired statistics of an evaluation run: what docs/EVALUATION.md quotes.

Usage: .venv/bin/python scripts/evaluation_stats.py RESULTS_CSV [--reference cam]

Reads the ``results.csv`` written by ``python -m explainers evaluate`` and prints, per method,
the mean deletion and insertion AUC and explain time with 95% Student-t intervals, then for each
method against the reference (same photos): the mean per-photo difference with its 95% interval,
the Wilcoxon signed-rank p-value, and on how many photos the method is better.
"""

import argparse
import csv
import math
import sys
from collections import defaultdict

import numpy as np
from scipy import stats


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval of the mean."""
    mean = float(values.mean())
    if values.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return mean, mean - half, mean + half


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="results.csv of an evaluate run")
    parser.add_argument("--reference", default="cam", help="method the others are compared with (default: cam)")
    args = parser.parse_args()
    rows: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    with open(args.results, newline="") as fh:
        for row in csv.DictReader(fh):
            rows[row["method"]][row["file"]] = {
                "deletion_auc": float(row["deletion_auc"]),
                "insertion_auc": float(row["insertion_auc"]),
                "explain_s": float(row["explain_s"]) if row["explain_s"] else math.nan,
            }
    n_photos = len({f for per in rows.values() for f in per})
    print(f"{args.results}: {n_photos} photos, methods {', '.join(rows)}\n")
    print("| method | n | deletion AUC | insertion AUC | seconds (mean) | seconds (median) |")
    print("|---|---|---|---|---|---|")
    for method, per in rows.items():
        cells = []
        for key in ("deletion_auc", "insertion_auc"):
            m, lo, hi = interval(np.array([v[key] for v in per.values()]))
            cells.append(f"{m:.3f} ({lo:.3f} to {hi:.3f})")
        times = np.array([v["explain_s"] for v in per.values()])
        times = times[np.isfinite(times)]
        t = f"{times.mean():.2f}" if times.size else "-"
        med = f"{np.median(times):.2f}" if times.size else "-"
        print(f"| {method} | {len(per)} | {cells[0]} | {cells[1]} | {t} | {med} |")
    if args.reference not in rows:
        return 0
    print(f"\nPer-photo differences, method minus {args.reference} (same photos):\n")
    print("| method | n | deletion: mean difference (95%) | p | better on | insertion: mean difference (95%) | p | better on |")
    print("|---|---|---|---|---|---|---|---|")
    ref = rows[args.reference]
    for method, per in rows.items():
        if method == args.reference:
            continue
        common = sorted(set(per) & set(ref))
        if len(common) < 2:
            continue
        cells = []
        for key, better in (("deletion_auc", np.less), ("insertion_auc", np.greater)):
            a = np.array([per[f][key] for f in common])
            b = np.array([ref[f][key] for f in common])
            d = a - b
            m, lo, hi = interval(d)
            p = stats.wilcoxon(a, b).pvalue if np.any(d != 0) else 1.0
            cells.append(f"{m:+.3f} ({lo:+.3f} to {hi:+.3f}) | {p:.3g} | {int(better(a, b).sum())}/{len(common)}")
        print(f"| {method} | {len(common)} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
