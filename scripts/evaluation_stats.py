"""Paired statistics of an evaluation run, as Markdown: what docs/EVALUATION.md quotes.

Usage: .venv/bin/python scripts/evaluation_stats.py OUT_DIR_OR_RESULTS_CSV [--reference cam] [--sanity JSON]

Reads the ``results.csv`` written by ``python -m explainers evaluate`` (every metric column it has) and
the ``summary.json`` beside it, and prints

- per method, the mean of each metric with its 95% bootstrap interval (as ``summary.json``) and the
  explain time;
- for each method against the reference, on the same photos, each metric's paired comparison
  (:func:`explainers.metrics.paired_comparison`: mean difference with its paired BCa bootstrap interval,
  Wilcoxon signed-rank p, rank-biserial r, photos where the method is better) and the verdict in words;
- the agreement between the metrics (:func:`explainers.metrics.compare_methods`: Kendall's tau of the
  per-photo differences) for each method against the reference;
- the sanity check, when the run had ``--sanity`` (or from ``--sanity JSON``, what
  ``python -m explainers sanity ... --json JSON`` wrote).

The statistics are the library's; nothing is computed here that the CLI and the Evaluate page do not.
"""

import argparse
import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from explainers.evaluate import COLUMNS, mean_interval, metric_column, verdict
from explainers.evaluate.verdicts import metric_title, sanity_verdict
from explainers.metrics import METRICS, compare_methods
from explainers.metrics.sanity import RandomisationCheck


def metric_of_column(column: str) -> str:
    """The metric a ``results.csv`` column holds (the inverse of :func:`explainers.evaluate.metric_column`)."""
    for name in METRICS:
        if metric_column(name) == column:
            return name
    return column.removeprefix("metric_")


def read_results(path: Path) -> tuple[list[str], dict[str, dict[str, dict[str, float]]]]:
    """The metrics of a results.csv and ``method -> photo -> {metric or "explain_s": value}`` (NaN when empty)."""
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        columns = [c for c in header if c not in COLUMNS or c in ("deletion_auc", "insertion_auc")]
        rows: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
        for row in reader:
            values = {metric_of_column(c): float(row[c]) if row[c] else math.nan for c in columns}
            values["explain_s"] = float(row["explain_s"]) if row["explain_s"] else math.nan
            rows[row["method"]][row["file"]] = values
    metrics = [metric_of_column(c) for c in columns]
    measured = [m for m in metrics if any(not math.isnan(v[m]) for per in rows.values() for v in per.values())]
    return measured, rows


def interval_text(stat: dict) -> str:
    if stat["mean"] is None:
        return "-"
    if stat["ci95"] is None:
        return f"{stat['mean']:.3f}"
    return f"{stat['mean']:.3f} ({stat['ci95'][0]:.3f} to {stat['ci95'][1]:.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="the output folder of an evaluate run, or its results.csv")
    parser.add_argument("--reference", default="cam", help="method the others are compared with (default: cam)")
    parser.add_argument("--sanity", default=None, help="the JSON of `python -m explainers sanity ... --json`")
    args = parser.parse_args()
    path = Path(args.results)
    csv_path = path / "results.csv" if path.is_dir() else path
    summary_path = csv_path.with_name("summary.json")
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    if args.sanity:
        summary["sanity"] = json.loads(Path(args.sanity).read_text())["checks"]
    metrics, rows = read_results(csv_path)
    n_photos = len({f for per in rows.values() for f in per})
    print(f"{csv_path}: {n_photos} photos, methods {', '.join(rows)}, metrics {', '.join(metrics)}\n")
    print("| method | n | " + " | ".join(f"{metric_title(m)} ({METRICS[m].direction if m in METRICS else '?'} "
                                         "is better)" for m in metrics) + " | seconds (mean) |")
    print("|---" * (len(metrics) + 3) + "|")
    for method, per in rows.items():
        cells = [interval_text(mean_interval([v[m] for v in per.values()])) for m in metrics]
        times = np.array([v["explain_s"] for v in per.values()])
        times = times[np.isfinite(times)]
        seconds = f"{times.mean():.2f}" if times.size and method != "random" else "-"
        print(f"| {method} | {len(per)} | " + " | ".join(cells) + f" | {seconds} |")
    if args.reference not in rows:
        return 0
    ref = rows[args.reference]
    print(f"\nPaired, method minus {args.reference} on the same photos: mean difference (95% paired bootstrap "
          "interval), Wilcoxon p, rank-biserial r, photos where the method is better:\n")
    print("| method | " + " | ".join(metric_title(m) for m in metrics) + " |")
    print("|---" * (len(metrics) + 1) + "|")
    compared = {}
    for method, per in rows.items():
        if method == args.reference:
            continue
        common = sorted(set(per) & set(ref))
        if len(common) < 2:
            continue
        scores = {name: {m: np.array([table[f][m] for f in common]) for m in metrics if m in METRICS}
                  for name, table in ((method, per), (args.reference, ref))}
        comparison = compare_methods(scores, method, args.reference)
        compared[method] = comparison
        cells = [f"{c.mean_difference:+.3f} ({c.ci_low:+.3f} to {c.ci_high:+.3f}), p = {c.p_value:.2g}, "
                 f"r = {c.rank_biserial:+.2f}, {c.a_better_on}/{c.n}" for c in comparison.comparisons]
        print(f"| {method} | " + " | ".join(cells) + " |")
    print("\nIn words:\n")
    for comparison in compared.values():
        for c in comparison.comparisons:
            print(f"- {verdict(c)}")
    for method, comparison in compared.items():
        agreement = comparison.agreement
        names = [metric_title(m) for m in agreement.metrics]
        print(f"\nAgreement between the metrics, {method} against {args.reference} (Kendall's tau of the "
              "per-photo differences, oriented so that positive means the method is better):\n")
        print("| | " + " | ".join(names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for name, row in zip(names, agreement.tau):
            print(f"| {name} | " + " | ".join("n/a" if math.isnan(t) else f"{t:+.2f}" for t in row) + " |")
    if summary.get("sanity"):
        print("\nSanity check (cascading model-parameter randomisation):\n")
        for check in summary["sanity"].values():
            result = RandomisationCheck(**{k: (np.asarray(v) if k in ("classes", "spearman", "ssim", "scores") else
                                               tuple(v) if k == "layers" else v)
                                           for k, v in check.items() if k != "rule"})
            print(f"- {sanity_verdict(result)}; mean SSIM {float(np.mean(result.ssim)):.2f}")
        print(f"\nRule: a method {next(iter(summary['sanity'].values()))['rule']}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
