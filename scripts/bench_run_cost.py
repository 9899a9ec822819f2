"""What per-run figures and tracking cost the default run (`python train.py`): wall and CPU
seconds before (a commit without them), after (this checkout) and after with figures off.

    python scripts/bench_run_cost.py [--before 61bd18a] [--seeds 0,1] [--table-only]

The "before" commit runs from a temporary git worktree (removed at the end). Records go to
experiments/run_cost_runs.jsonl (resumable: a recorded variant and seed is not re-run at the same
commit); the table to experiments/run_cost.md. Timings on a shared machine are inflated by the
others' load: the table gives CPU seconds and the load average beside the wall time, and the
lead can re-run it at a quiet moment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import ROOT, RawRecords, mean_std, provenance_header, run_timed

RAW = ROOT / "experiments" / "run_cost_runs.jsonl"
TABLE = ROOT / "experiments" / "run_cost.md"
VARIANTS = {"before": [], "after": [], "after, figures off": ["figures.enabled=false"]}


def measure(variant: str, seed: int, before_tree: Path | None, log_dir: Path) -> dict:
    tree = before_tree if variant == "before" else ROOT
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "SEGLAB_LOG_DIR": str(log_dir / variant.replace(" ", "_"))}
    cmd = [sys.executable, "train.py", f"seed={seed}", *VARIANTS[variant]]
    if variant != "before":
        cmd.append("print_config=false")
    res = run_timed(cmd, cwd=tree, env=env, timeout=1800)
    if res["returncode"] != 0:
        raise RuntimeError(f"{variant} seed {seed} failed:\n{res['stderr'][-2000:]}")
    run_dir = next(line.split("run dir:", 1)[1].strip() for line in res["stdout"].splitlines() if "run dir:" in line)
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())["metrics"]
    return {"wall_s": res["wall_s"], "cpu_s": res["cpu_s"], "load1_before": res["load1_before"],
            "figures_s": metrics.get("time/figures_s"), "figures_cpu_s": metrics.get("time/figures_cpu_s"),
            "reports_s": metrics.get("time/reports_s"),
            "ari": metrics.get("eval/ari")}


def tracking_additions_cpu(n_customers: int = 5000, n_columns: int = 50, repeats: int = 5) -> dict:
    """CPU seconds of what the tracking gained after ``before``, timed in this process (the first
    call, as a run makes it, with its imports; and the median of ``repeats``): MLflow's system
    tags (``resolve_tags``: git commit, source, user) and the dataset input (``dataset_summary`` +
    ``Tracker.log_dataset``) for a default-sized feature table. Call it in a fresh process."""
    import statistics
    import time

    import numpy as np
    import pandas as pd
    from mlflow.tracking.context.registry import resolve_tags

    from seglab.tracking import Tracker, dataset_summary

    features = pd.DataFrame(np.random.default_rng(0).normal(size=(n_customers, n_columns)),
                            columns=[f"f{j}" for j in range(n_columns)])
    argv0, sys.argv[0] = sys.argv[0], str(ROOT / "train.py")  # the git tags are looked up from the entry point
    try:
        tags, inputs = [], []
        for _ in range(repeats):  # before the Tracker, which resolves them once itself
            c0 = time.process_time()
            resolve_tags({})
            tags.append(time.process_time() - c0)
        with tempfile.TemporaryDirectory(prefix="seglab-cost-track-") as tmp:
            tracker = Tracker(f"sqlite:///{tmp}/mlflow.db", "cost", Path(tmp) / "artifacts")
            for _ in range(repeats):
                c1 = time.process_time()
                summary, digest = dataset_summary(features)
                tracker.log_dataset(summary, name="synthetic", source="synthetic", digest=digest)
                inputs.append(time.process_time() - c1)
            tracker.finish(True)
    finally:
        sys.argv[0] = argv0
    return {"system_tags_cpu_s": tags[0], "dataset_input_cpu_s": inputs[0],
            "system_tags_median_cpu_s": statistics.median(tags), "dataset_input_median_cpu_s": statistics.median(inputs)}


def write_table(records: RawRecords, before: str) -> None:
    lines = [provenance_header("Cost of per-run figures and tracking on the default run", extra=[
        f"before = commit {before} (no per-run figures, no MLflow dataset input or system tags); after = this "
        "commit; `python train.py seed=S` (model=dec, 5,000 customers, text on, MLflow on). Before and after also "
        "differ by every other change made between the two commits, and CPU seconds on a loaded 2-core machine "
        "vary by several seconds from run to run: the figures' own CPU, timed inside the run, is the attribution."])]
    commits = sorted({r["commit"] for v in VARIANTS for r in records.latest(variant=v)})
    lines += [f"Rows from records made at commit {', '.join(commits)} (the commit line above is the table's).", ""]
    lines += ["| variant | n | wall s | CPU s | figures s | figures CPU s | reports s | ARI | load (1 min) before |",
              "|---|---|---|---|---|---|---|---|---|"]
    for variant in VARIANTS:
        recs = [r["result"] for r in records.latest(variant=variant)]
        if not recs:
            continue
        lines.append(f"| {variant} | {len(recs)} | {mean_std([r['wall_s'] for r in recs], 1)} | "
                     f"{mean_std([r['cpu_s'] for r in recs], 1)} | {mean_std([r['figures_s'] for r in recs], 2)} | "
                     f"{mean_std([r.get('figures_cpu_s') for r in recs], 2)} | "
                     f"{mean_std([r['reports_s'] for r in recs], 2)} | {mean_std([r['ari'] for r in recs], 3)} | "
                     f"{mean_std([r['load1_before'] for r in recs], 1)} |")
    after = [r["result"] for r in records.latest(variant="after") if r["result"].get("figures_cpu_s") is not None]
    if after:  # the figures' own CPU (timed inside the run) against the rest of the same run: no load in it
        shares = [r["figures_cpu_s"] / (r["cpu_s"] - r["figures_cpu_s"]) * 100 for r in after]
        lines += ["", f"Per-run figures' own CPU (`time/figures_cpu_s`, timed inside the run) add "
                  f"{mean_std(shares, 1)} % to the rest of the same run's CPU (n = {len(after)})."]
    track = records.latest(variant="tracking additions")
    if track:
        t = track[0]["result"]
        lines += ["", f"Tracking added after {before}, timed in-process on a 5,000 x 50 feature table (first call, "
                  f"as a run makes it): MLflow system tags {t['system_tags_cpu_s']:.3f} s CPU, dataset input "
                  f"(summary + `log_inputs`) {t['dataset_input_cpu_s']:.3f} s CPU."]
    TABLE.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description="Cost of per-run figures and tracking on the default run.")
    parser.add_argument("--before", default="61bd18a", help="commit without per-run figures")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    records = RawRecords(RAW, any_commit=False)
    if not args.table_only and not records.done({"variant": "tracking additions"}):
        sys.path.insert(0, str(ROOT / "src"))
        records.add({"variant": "tracking additions"}, tracking_additions_cpu())
    if not args.table_only:
        with tempfile.TemporaryDirectory(prefix="seglab-cost-") as tmp:
            tmp = Path(tmp)
            before_tree = tmp / "before"
            subprocess.run(["git", "worktree", "add", "-q", "--detach", str(before_tree), args.before], cwd=ROOT,
                           check=True)
            try:
                for seed in [int(s) for s in args.seeds.split(",")]:
                    for variant in VARIANTS:
                        key = {"variant": variant, "seed": seed}
                        if records.done(key):
                            continue
                        records.add(key, measure(variant, seed, before_tree, tmp / "logs"))
                        write_table(records, args.before)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)], cwd=ROOT, check=False)
    write_table(records, args.before)
    print(TABLE.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
