"""DBSCAN and HDBSCAN on the default synthetic data (`python train.py model=dbscan|hdbscan`),
clustering the UMAP embedding (their conf/model default) and the raw preprocessed features
(``model.embedding=null``): ARI, clusters found, noise share and the settings each chose.

    python scripts/bench_density.py [--seeds 0,1,2] [--variants umap,raw] [--table-only]

Records go to experiments/baselines_density_runs.jsonl (resumable: a recorded model, space and
seed is not re-run at the same commit), the table to experiments/baselines_density.md. A run
whose clustering collapsed to one segment exits with a seglab error: it is recorded as failed,
with that error. Tune on seeds 100+, report 0, 1, 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from benchlib import ROOT, RawRecords, mean_std, provenance_header, run_timed

RAW = ROOT / "experiments" / "baselines_density_runs.jsonl"
TABLE = ROOT / "experiments" / "baselines_density.md"
VARIANTS = {"umap": [], "raw": ["model.embedding=null"]}
MODELS = ("dbscan", "hdbscan")
FIT_KEYS = ("fit/space_dim", "fit/min_samples", "fit/eps", "fit/min_cluster_size", "fit/n_clusters_found",
            "fit/noise_share")


def measure(model: str, variant: str, seed: int, log_dir: Path) -> dict:
    cmd = [sys.executable, "train.py", f"model={model}", f"seed={seed}", "logger=none", "print_config=false",
           "num_threads=1", f"log_dir={log_dir}", *VARIANTS[variant]]
    res = run_timed(cmd, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=3600)
    out = {"wall_s": res["wall_s"], "cpu_s": res["cpu_s"], "load1_before": res["load1_before"]}
    if res["returncode"] != 0:
        error = [line for line in res["stderr"].splitlines() if line.startswith("seglab error:")]
        return {**out, "failed": error[-1] if error else res["stderr"][-500:]}
    run_dir = next(line.split("run dir:", 1)[1].strip() for line in res["stdout"].splitlines() if "run dir:" in line)
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())["metrics"]
    return {**out, "ari": metrics.get("eval/ari"), "fit_s": metrics.get("time/fit_s"),
            **{k: metrics.get(k) for k in FIT_KEYS}}


def _cell(recs: list[dict], key: str, digits: int) -> str:
    return mean_std([r.get(key) for r in recs if not r.get("failed")], digits)


def write_table(records: RawRecords, seeds: list[int]) -> None:
    lines = [provenance_header("DBSCAN and HDBSCAN on the default synthetic data", extra=[
        "`python train.py model=M seed=S logger=none` (5,000 customers, 5 planted segments, review text on); "
        "space `umap` = the conf/model default (UMAP to 5 dimensions, 30 neighbours, min_dist 0), `raw` = "
        "`model.embedding=null` (the preprocessed features). min_samples = 2 x the space's dimension, DBSCAN's eps "
        "by the k-distance knee, HDBSCAN's min_cluster_size = max(5, 1% of customers). Noise counts as its own "
        "segment in ARI. A failed run is one whose clustering collapsed to one segment."])]
    lines += ["| model | space | seeds | failed | ARI | clusters found | noise share | min_samples | eps | fit s | "
              "CPU s (run) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    per_seed = ["", "Per seed (ARI / clusters found / noise share, or the failure):", "",
                "| model | space | seed | result |", "|---|---|---|---|"]
    for model in MODELS:
        for variant in VARIANTS:
            recs = [r for r in records.latest(model=model, space=variant) if r["key"]["seed"] in seeds]
            if not recs:
                continue
            recs.sort(key=lambda r: r["key"]["seed"])
            res = [r["result"] for r in recs]
            failed = sum(bool(r.get("failed")) for r in res)
            lines.append(f"| {model} | {variant} | {','.join(str(r['key']['seed']) for r in recs)} | {failed} | "
                         f"{_cell(res, 'ari', 3)} | {_cell(res, 'fit/n_clusters_found', 1)} | "
                         f"{_cell(res, 'fit/noise_share', 3)} | {_cell(res, 'fit/min_samples', 0)} | "
                         f"{_cell(res, 'fit/eps', 3)} | {_cell(res, 'fit_s', 1)} | "
                         f"{mean_std([r['cpu_s'] for r in res], 1)} |")
            for rec, r in zip(recs, res, strict=True):
                text = r["failed"] if r.get("failed") else (
                    f"{r['ari']:.3f} / {r['fit/n_clusters_found']:.0f} / {r['fit/noise_share']:.3f}")
                per_seed.append(f"| {model} | {variant} | {rec['key']['seed']} | {text} |")
    TABLE.write_text("\n".join(lines + per_seed) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description="DBSCAN and HDBSCAN on the default synthetic data.")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default="umap,raw", help="comma list of: " + ",".join(VARIANTS))
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    records = RawRecords(RAW)
    if not args.table_only:
        with tempfile.TemporaryDirectory(prefix="seglab-density-") as tmp:
            for seed in seeds:
                for model in MODELS:
                    for variant in args.variants.split(","):
                        key = {"model": model, "space": variant, "seed": seed}
                        if records.done(key):
                            continue
                        records.add(key, measure(model, variant, seed, Path(tmp)))
                        write_table(records, seeds)
    write_table(records, seeds)
    print(TABLE.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
