"""Benchmark every classical baseline and DEC on the same features -> experiments/baselines.md.

For each dataset (synthetic default with 5,000 customers and planted truth, CDNOW, and the
messy `marketing_campaign` table) this script

1. builds the features exactly as `seglab.train.run` does and runs `choose_k` on them
   (k = 2..10, every criterion), listing the k each criterion picks and saving the plot to
   `experiments/figures/k_selection_<dataset>.png`;
2. runs `seglab.train.run` (the same code path as `python train.py model=<name>`) for every
   model and seed at the same k (`n_clusters`, default 5: the synthetic planted k), with the
   same features, and tabulates the same metrics, mean ± std over seeds.

    python scripts/bench_baselines.py                       # everything (long: about an hour on 2 busy cores)
    python scripts/bench_baselines.py --datasets synthetic --models kmeans gmm --seeds 0
    python scripts/bench_baselines.py --quick               # 600 synthetic customers, smoke test

Runs are cached in a JSON-lines file (`--cache`) so an interrupted benchmark resumes; a cached run
is reused only at the commit it was made at (`--reuse-any-commit` to reuse older ones, which the
table then says). BLAS and
torch use `--threads` threads (default 1: the benchmark machine is shared, and tiny k-means
fits are slower with OpenMP threads there); times are for comparison on this machine only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))
from benchlib import git_commit, provenance_header  # noqa: E402

DATASETS = {
    "synthetic": ["data=synthetic"],
    "cdnow": ["data=cdnow"],
    "marketing_campaign": ["data=marketing_campaign"],
}
MODELS = [
    "kmeans",
    "minibatch_kmeans",
    "gmm",
    "hierarchical",
    "spectral",
    "pca_kmeans",
    "consensus",
    "dbscan",
    "hdbscan",
    "dec",
]
SIZE_COLUMNS = ("eval/n_clusters", "eval/noise_share", "eval/min_cluster_share")


def columns():
    """The table's metrics, from the metric registry: sizes, the report's ranked metrics, fit time."""
    from seglab.evaluate import get_spec, report_specs

    return [get_spec(k) for k in SIZE_COLUMNS] + report_specs("rank") + report_specs("info")


def compose(overrides: list[str]):
    from hydra import compose as hcompose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return hcompose(config_name="config", overrides=overrides)


def features_matrix(cfg):
    """Data -> features -> preprocessed matrix, exactly as seglab.train.run builds them."""
    from hydra.utils import instantiate

    from seglab.train import customer_features, make_preprocessor

    data = instantiate(cfg.data, _convert_="all").load()
    X = make_preprocessor(cfg).fit_transform(customer_features(cfg, data))
    return data, X


def model_overrides(spec: str) -> list[str]:
    """``"gmm"`` -> ``["model=gmm"]``; ``"gmm:model.reg_covar=0.1,model.x=1"`` adds those overrides."""
    name, _, rest = spec.partition(":")
    return [f"model={name}", *[o for o in rest.split(",") if o]]


def fmt(values: list[float], digits: int) -> str:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return "–"
    mean = statistics.mean(vals)
    if len(vals) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(vals):.{digits}f}"


def cache_key(row: dict, any_commit: bool) -> tuple:
    """What makes two runs the same run: dataset, model, seed, k, overrides and (unless
    ``any_commit``) the commit; rows written before commits were recorded count as "unknown"."""
    commit = "*" if any_commit else row.get("commit", "unknown")
    return (row["dataset"], row["model"], row["seed"], row["k"], tuple(row["extra"]), commit)


def load_cache(path: Path, any_commit: bool) -> dict[tuple, dict]:
    rows = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows[cache_key(row, any_commit)] = row
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument(
        "--models",
        nargs="+",
        default=MODELS,
        help="config names, optionally with overrides: gmm:model.covariance_type=diag,model.reg_covar=0.1",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--k", type=int, default=5, help="n_clusters for every model (default 5)")
    parser.add_argument("--k-max", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="600 synthetic customers: a smoke test")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "baselines.md")
    parser.add_argument("--cache", type=Path, default=ROOT / "experiments" / "baselines_runs.jsonl")
    parser.add_argument("--note", action="append", default=[], help="a paragraph added under the command")
    parser.add_argument("--reuse-any-commit", action="store_true",
                        help="reuse cached runs made at other commits (the table lists their commits)")
    parser.add_argument("extra", nargs="*", help="extra Hydra overrides for every run")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    from seglab import plots
    from seglab.diagnostics.choose_k import choose_k
    from seglab.evaluate.registry import decimals_for
    from seglab.train import run

    extra = list(args.extra)
    fig_dir = args.out.parent / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    commit = git_commit()
    cache = load_cache(args.cache, args.reuse_any_commit)
    available = {p.stem for p in (ROOT / "conf" / "model").glob("*.yaml")}
    missing_models = [m for m in args.models if m.split(":")[0] not in available]
    models = [m for m in args.models if m.split(":")[0] in available]
    started = time.time()
    sections: list[str] = []
    k_rows: list[str] = []
    failures: list[str] = []
    used_rows: list[dict] = []

    with tempfile.TemporaryDirectory() as tmp:
        for ds in args.datasets:
            quick = ["data.n_customers=600"] if args.quick and ds == "synthetic" else []
            base = [
                *DATASETS[ds],
                *quick,
                f"n_clusters={args.k}",
                "logger.mlflow=false",
                "logger.csv=false",
                f"num_threads={args.threads}",
                f"log_dir={tmp}",
                *extra,
            ]
            cfg = compose([*base, "model=kmeans", "seed=0"])
            t0 = time.perf_counter()
            data, X = features_matrix(cfg)
            sel = choose_k(X, k_min=2, k_max=args.k_max, random_state=0)
            plots.save(plots.k_selection(sel, title=f"{ds}: criteria vs k (k-means, seed 0)"),
                       fig_dir / f"k_selection_{ds}.png")
            picks = " | ".join(
                str(sel.picks[c])
                for c in ("elbow", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "bic")
            )
            k_rows.append(f"| {ds} | {X.shape[0]:,} | {X.shape[1]} | {picks} | {sel.k} |")
            print(
                f"[{ds}] n={X.shape[0]} d={X.shape[1]} k picks {sel.picks} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
            has_truth = data.truth is not None

            results: dict[str, list[dict]] = {}
            for model in models:
                for seed in args.seeds:
                    key = cache_key({"dataset": ds, "model": model, "seed": seed, "k": args.k,
                                     "extra": extra + quick, "commit": commit}, args.reuse_any_commit)
                    if key not in cache:
                        t1 = time.perf_counter()
                        try:
                            res = run(
                                compose([*base, *model_overrides(model), f"seed={seed}"]),
                                run_dir=Path(tmp)
                                / f"{ds}_{model.replace(':', '_').replace(',', '_')}_{seed}",
                            )
                            metrics = {
                                k: (None if isinstance(v, float) and math.isnan(v) else v)
                                for k, v in res.metrics.items()
                            }
                            row = {
                                "dataset": ds,
                                "model": model,
                                "seed": seed,
                                "k": args.k,
                                "extra": extra + quick,
                                "metrics": metrics,
                                "warnings": res.warnings,
                                "wall_s": time.perf_counter() - t1,
                                "commit": commit,
                                "load1": os.getloadavg()[0],
                            }
                        except Exception as err:  # a failing model is reported, not hidden
                            row = {
                                "dataset": ds,
                                "model": model,
                                "seed": seed,
                                "k": args.k,
                                "extra": extra + quick,
                                "error": f"{type(err).__name__}: {err}",
                                "wall_s": time.perf_counter() - t1,
                                "commit": commit,
                            }
                            traceback.print_exc()
                        cache[key] = row
                        with args.cache.open("a") as fh:
                            fh.write(json.dumps(row, default=float) + "\n")
                    row = cache[key]
                    if "error" in row:
                        failures.append(f"{ds} / {model} / seed {seed}: {row['error'][:300]}")
                        print(f"  {model} seed {seed}: FAILED {row['error'][:200]}", flush=True)
                        continue
                    results.setdefault(model, []).append(row)
                    used_rows.append(row)
                    m = row["metrics"]
                    print(
                        f"  {model} seed {seed}: ari={m.get('eval/ari')} sil={m.get('eval/silhouette')} "
                        f"fit={m.get('time/fit_s', 0):.1f}s",
                        flush=True,
                    )

            cols = [s for s in columns() if has_truth or s.needs != "truth"]
            lines = [
                f"### {ds} ({X.shape[0]:,} customers, {X.shape[1]} features, k = {args.k}"
                f"{', truth: planted segments' if has_truth else ', no ground truth'})",
                "",
                "| model | " + " | ".join(f"{s.label} {s.arrow}".rstrip() for s in cols) + " |",
                "|---|" + "---|" * len(cols),
            ]
            for model in models:
                rows = results.get(model, [])
                if not rows:
                    lines.append(f"| {model} | " + " | ".join("failed" for _ in cols) + " |")
                    continue
                values = {s.key: [r["metrics"].get(s.key) for r in rows] for s in cols}
                cells = [fmt(values[s.key], decimals_for(s, [v for v in values[s.key] if v is not None]))
                         for s in cols]
                lines.append(f"| {model} | " + " | ".join(cells) + " |")
            sections.append("\n".join(lines))

    total = time.time() - started
    runs_wall = sum(r.get("wall_s", 0.0) for r in used_rows)
    cmd = "python scripts/bench_baselines.py " + shlex.join(sys.argv[1:])
    used = sorted({r.get("commit", "unknown") for r in used_rows})
    out = [
        provenance_header("Classical baselines and DEC on the same features", command=cmd.strip()).rstrip("\n"),
        f"Seeds {args.seeds}; {args.threads} BLAS/torch thread(s); the runs took {runs_wall / 60:.0f} min of wall "
        f"time in all; this invocation {total / 60:.0f} min. Runs in the table were made at commit(s) "
        f"{', '.join(used)}" + (" (older runs reused by --reuse-any-commit)" if args.reuse_any_commit else "") + ".",
        "",
        "Every model runs through `seglab.train.run` (what `python train.py model=<name>` does) on the same",
        "features and preprocessing (`features=default`), and is scored by `seglab.evaluate.evaluate_clustering`.",
        "Cells are mean ± std over seeds. Internal metrics (silhouette, CH, DB) are on the preprocessed",
        "features; for DBSCAN/HDBSCAN they exclude the noise points (column *noise* gives their share), while",
        "ACC/NMI/ARI count noise as one more label. DBSCAN and HDBSCAN choose their own number of segments",
        "(column *segments*); every other model is asked for k. *fit s* is the model's fit time only.",
        *[line for note in args.note for line in (note, "")],
        "Rows named `config:overrides` are variants of that config with the overrides shown.",
        "",
        "## Number of segments chosen by each criterion",
        "",
        f"k-means for k = 2..{args.k_max} on the same features (`seglab.diagnostics.choose_k`, seed 0); plots in",
        "`experiments/figures/k_selection_<dataset>.png`. The last column is the default rule (silhouette).",
        "",
        "| dataset | customers | features | elbow | silhouette | CH | DB | gap | BIC (GMM) | chosen (silhouette) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *k_rows,
        "",
        "## Metrics",
        "",
        *[s + "\n" for s in sections],
    ]
    if missing_models:
        out += [f"Not run (no `conf/model/<name>.yaml` yet): {', '.join(missing_models)}.", ""]
    if failures:
        out += ["## Failures", "", *[f"- {f}" for f in failures], ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out))
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
