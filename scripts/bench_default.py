"""Benchmark of the default run: `python train.py` (synthetic, 5,000 customers, DEC) vs k-means.

Runs each configuration as a real subprocess (the user's command, wall time included start-up,
data generation, features, training, evaluation and tracking) for several seeds and writes
`experiments/default.md`.

    python scripts/bench_default.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS = ["eval/ari", "eval/acc", "eval/nmi", "eval/silhouette", "eval/calinski_harabasz", "eval/davies_bouldin",
           "eval/latent_silhouette", "time/fit_s"]


def run_once(model: str, seed: int, log_dir: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "train.py", f"model={model}", f"seed={seed}", f"log_dir={log_dir}", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    run_dir = next(line.split("run dir:", 1)[1].strip() for line in proc.stdout.splitlines() if "run dir:" in line)
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())["metrics"]
    metrics["wall_s"] = wall
    return metrics


def mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {std:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["dec", "kmeans", "ae_kmeans"])
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "default.md")
    parser.add_argument("extra", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()

    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            for seed in args.seeds:
                metrics = run_once(model, seed, Path(tmp) / "logs", args.extra)
                print(f"{model} seed={seed}: ari={metrics.get('eval/ari'):.3f} wall={metrics['wall_s']:.1f}s", flush=True)
                results.setdefault(model, []).append(metrics)

    command = "python scripts/bench_default.py --seeds " + " ".join(map(str, args.seeds))
    if args.models != parser.get_default("models"):
        command += " --models " + " ".join(args.models)
    if args.extra:
        command += " " + " ".join(args.extra)
    lines = [
        "# Default run: synthetic data (5,000 customers, 5 planted segments), DEC vs baselines",
        "",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}; date {time.strftime('%Y-%m-%d')}.  ",
        "Each cell is mean ± std over seeds " + ", ".join(map(str, args.seeds)) + ". `wall_s` is the wall time of "
        "the whole `python train.py` process (start-up, data generation, features, training, evaluation, "
        "MLflow logging); `fit_s` is the model fit alone. Metrics on the preprocessed features; ACC/NMI/ARI "
        "against the planted segments.",
        "",
        "| model | " + " | ".join(m.split("/")[-1] for m in METRICS) + " | wall_s |",
        "|---" * (len(METRICS) + 2) + "|",
    ]
    for model, runs in results.items():
        cells = [mean_std([r.get(m) for r in runs]) for m in METRICS] + [mean_std([r["wall_s"] for r in runs])]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    lines += ["", "Per seed:", "", "| model | seed | ari | wall_s |", "|---|---|---|---|"]
    for model, runs in results.items():
        for seed, r in zip(args.seeds, runs):
            lines.append(f"| {model} | {seed} | {r.get('eval/ari'):.4f} | {r['wall_s']:.1f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
