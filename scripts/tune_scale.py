"""Why DEC/IDEC lost quality with the number of customers, and the budgets that fixed it.

Each hypothesis (``EXPERIMENTS``) is a set of model variants fitted on cached, preprocessed
default synthetic data (text on) at several sizes and tuning seeds (100, 101, 102; the benchmark
seeds 0-2 are not used here). Every fit runs in its own child process, so its wall and CPU
seconds and peak RSS are its own; each is a raw record in ``experiments/scale_tuning_runs.jsonl``
(ARI, ARI of the k-means start, the fit report, the clustering phase's target-update history,
load average) and ``experiments/scale_tuning.md`` is written from those records, after the
findings in ``scripts/tune_scale_findings.md`` (written by hand from the tables). Variants spell
out every parameter they depend on, so records stay valid across commits (each records its own);
``RUNS`` lists the invocations behind the committed records.

    python scripts/tune_scale.py --build-cache --n 1e5 --seeds 100 101 102   # X, truth -> --cache
    python scripts/tune_scale.py --build-cache --n 1e7 --seeds 100 --bootstrap-from 1e6   # resampled rows
    python scripts/tune_scale.py --experiments H1 H2 --n 1e5 --seeds 100 101 102
    python scripts/tune_scale.py --report-only

The cache (default ``/tmp/seglab_scale``) holds ``X`` and the planted segments per (size, seed),
built with ``seglab.train.customer_features`` + ``make_preprocessor`` on the default config
(``data.n_customers=N seed=S``), i.e. the matrix ``python train.py`` clusters.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, RawRecords, mean_std, provenance_header, run_timed  # noqa: E402

RECORDS = ROOT / "experiments" / "scale_tuning_runs.jsonl"
REPORT = ROOT / "experiments" / "scale_tuning.md"

# Every parameter the variants depend on, as the configs had them before this investigation.
BEFORE = dict(n_clusters=5, hidden_dims=[64, 32], latent_dim=10, noise=0.2, lr=1e-3, batch_size=256, max_epochs=100,
              patience=10, n_init=20, alpha=1.0, update_interval=30, tol=0.001, cluster_max_epochs=100,
              cluster_lr=0.01, cluster_optimizer="sgd", cluster_momentum=0.9, num_threads=1,
              kmeans_sample_size=100_000, init="latent", pretrain_steps=None, cluster_sample_size=None)
IDEC_OPT = dict(cluster_lr=1e-3, cluster_optimizer="adam")


def v(name: str, model: str = "dec", model_seed_offset: int = 0, per_update_tol: bool = False, **params) -> dict:
    """A variant: model (dec | idec | ae_kmeans | kmeans), parameters over BEFORE."""
    return {"name": name, "model": model, "params": params, "model_seed_offset": model_seed_offset,
            "per_update_tol": per_update_tol}


#: hypothesis -> (question, variants). ``per_update_tol``: the stopping test of the code before
#: this investigation (labels compared between consecutive updates, 30 steps apart at any size).
EXPERIMENTS: dict[str, tuple[str, list[dict]]] = {
    "H0": ("The defaults before this work, at each size (what users measured), beside k-means on the features. "
           "DEC's start ARI is AE+k-means' result (same pretraining, same k-means).",
           [v("DEC before", per_update_tol=True), v("k-means (n_init 10)", model="kmeans")]),
    "H1": ("Pretraining budget counted in epochs: 100 epochs are 1,800 Adam steps at 5,000 customers and 35,000 "
           "at 10^5. Does a step budget give the large-N autoencoder the small-N latent (start ARI = AE+k-means, "
           "DEC ARI)? The 100-epoch rows are H0's.",
           [v("pretrain 1,800 steps", pretrain_steps=1800, per_update_tol=True),
            v("pretrain 600 steps", pretrain_steps=600, per_update_tol=True),
            v("pretrain 5,000 steps", pretrain_steps=5000, per_update_tol=True)]),
    "H2": ("The k-means start in the latent: is it the same lottery at every size? Three pretraining seeds per "
           "data seed (model seed = data seed + 0, 1, 2), 1,800 pretraining steps; latent vs input-space start.",
           [v(f"{init} start, model seed +{o}", init=init, pretrain_steps=1800, model_seed_offset=o)
            for init in ("latent", "input") for o in (0, 1, 2)]),
    "H3": ("Target update interval counted in batches (30 = 1.5 passes at 5,000, 0.08 at 10^5): does refreshing "
           "the target relative to a full pass matter once the start is good?",
           [v(f"update every {ui} steps", init="input", pretrain_steps=1800, update_interval=ui)
            for ui in (30, 140, 391)]),
    "H4": ("tol checked between updates 30 steps apart (a few % of a pass at 10^5) vs over a full pass.",
           [v("tol between consecutive updates", init="input", pretrain_steps=1800, per_update_tol=True),
            v("tol over a full pass", init="input", pretrain_steps=1800)]),
    "H5": ("Learning rate of the clustering phase (SGD 0.01 momentum 0.9, the paper's) with the latent start.",
           [v(f"latent start, SGD lr {lr}", pretrain_steps=1800, cluster_lr=lr) for lr in (0.01, 0.001)]),
    "H6": ("Clustering phase on a seeded sample of the customers (bounded time at any N) vs all of them.",
           [v(f"cluster on {'all rows' if m is None else f'{m:,} rows'}", init="input", pretrain_steps=1800,
              cluster_sample_size=m) for m in (None, 100_000, 30_000)]),
    "FINAL": ("The chosen defaults (conf/model/dec.yaml, idec.yaml, ae_kmeans.yaml) at each size.",
              [v("DEC", init="input", pretrain_steps=1800, cluster_sample_size=100_000),
               v("IDEC", model="idec", init="input", pretrain_steps=1800, cluster_sample_size=100_000, **IDEC_OPT),
               v("AE+k-means", model="ae_kmeans", pretrain_steps=1800)]),
}


#: The invocations that made the committed raw records (the report's command is --report-only).
RUNS = [
    "python scripts/tune_scale.py --build-cache --n 5000 10000 1e5 1e6 --seeds 100 101 102",
    "python scripts/tune_scale.py --build-cache --n 1e7 --seeds 100 --bootstrap-from 1e6",
    "python scripts/tune_scale.py --experiments H0 --n 5000 10000 100000",
    "python scripts/tune_scale.py --experiments H1 --n 100000",
    "python scripts/tune_scale.py --experiments H2 --n 5000 100000",
    "python scripts/tune_scale.py --experiments H3 H4 H5 --n 100000",
    "python scripts/tune_scale.py --experiments H6 --n 100000 1000000",
    "python scripts/tune_scale.py --experiments FINAL --n 5000 10000 100000 1000000",
    "python scripts/tune_scale.py --experiments FINAL --n 1e7 --seeds 100",
]


# --------------------------------------------------------------------------------------------
# The cache of preprocessed matrices
# --------------------------------------------------------------------------------------------
def cache_path(cache: Path, n: int, seed: int) -> Path:
    return cache / f"X_n{n}_s{seed}.npz"


def build_cache(cache: Path, n: int, seed: int) -> None:
    import numpy as np
    import pandas as pd
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from seglab.train import customer_features, make_preprocessor

    path = cache_path(cache, n, seed)
    if path.exists():
        return
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"data.n_customers={n}", f"seed={seed}", f"log_dir={cache / 'logs'}"])
    t0 = time.perf_counter()
    data = instantiate(cfg.data, _convert_="all").load()
    X = make_preprocessor(cfg).fit_transform(customer_features(cfg, data))
    truth = pd.factorize(np.asarray(data.truth))[0]
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=np.asarray(X, dtype=np.float32), truth=truth)
    print(f"cached n={n} seed={seed} {X.shape} in {time.perf_counter() - t0:.0f} s", flush=True)


def bootstrap_cache(cache: Path, n: int, seed: int, source_n: int, jitter: float = 0.01) -> None:
    """A size beyond what the pandas feature path can build here (10^7): rows of the ``source_n``
    matrix of the same seed drawn with replacement plus N(0, jitter²) noise, truth carried along.
    Tests the fit's time and memory at that size; its ARI says how the model handles the size, not
    new data (the rows are copies of 10^6 customers)."""
    import numpy as np

    path = cache_path(cache, n, seed)
    if path.exists():
        return
    src = np.load(cache_path(cache, source_n, seed))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(src["X"]), size=n)
    X = src["X"][rows]
    for i in range(0, n, 1_000_000):  # in place, chunk by chunk: no second n x d array
        X[i:i + 1_000_000] += rng.normal(0.0, jitter, size=X[i:i + 1_000_000].shape).astype(np.float32)
    np.savez(path, X=X, truth=src["truth"][rows])
    print(f"bootstrapped n={n} seed={seed} from n={source_n}", flush=True)


# --------------------------------------------------------------------------------------------
# One fit (child process)
# --------------------------------------------------------------------------------------------
def fit_one(spec: dict) -> dict:
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    d = np.load(spec["cache_file"])
    X, y = d["X"], d["truth"]
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    var, seed = spec["variant"], spec["seed"] + spec["variant"]["model_seed_offset"]
    t0, c0 = time.perf_counter(), time.process_time()
    out: dict = {}
    if var["model"] == "kmeans":
        from seglab.models.kmeans import KMeansModel

        m = KMeansModel(n_clusters=5, n_init=10, random_state=seed).fit(X)
    else:
        from seglab.models.ae_kmeans import AEKMeans
        from seglab.models.clustering_phase import ClusteringModule
        from seglab.models.dec import DEC, IDEC

        params = {**BEFORE, **var["params"], "random_state": seed,
                  "trainer_kwargs": {"accelerator": "cpu", "devices": 1, "deterministic": True}}
        if var["model"] == "ae_kmeans":
            for k in ("init", "update_interval", "tol", "cluster_max_epochs", "cluster_lr", "cluster_optimizer",
                      "cluster_momentum", "cluster_sample_size"):
                params.pop(k)
            m = AEKMeans(**params)
        else:
            cls = IDEC if var["model"] == "idec" else DEC
            if var["per_update_tol"]:
                class PerUpdateTol(ClusteringModule):
                    def __init__(self, *a, **kw):
                        super().__init__(*a, **kw)
                        self.steps_per_pass = 1  # every update is a stopping test, as before

                cls = type(f"{cls.__name__}PerUpdateTol", (cls,), {"clustering_module_class": PerUpdateTol})
            m = cls(**params)
        m.fit(X)
        out["init_ari"] = float(adjusted_rand_score(y, m.init_labels_))
        out["history"] = [[r["step"], r["changed_since_update"], r["delta_label"]]
                          for r in getattr(m, "cluster_history_", [])]
    out.update({"ari": float(adjusted_rand_score(y, m.labels_)), "fit_wall_s": time.perf_counter() - t0,
                "fit_cpu_s": time.process_time() - c0, "rss_after_load_gib": rss_loaded,
                "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                "report": m.fit_report(), "n_rows": int(len(X)), "model_seed": seed})
    return out


# --------------------------------------------------------------------------------------------
# Driver and report
# --------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> None:
    records = RawRecords(RECORDS, any_commit=True)
    for exp in args.experiments:
        for n in args.n:
            for seed in args.seeds:
                for var in EXPERIMENTS[exp][1]:
                    key = {"exp": exp, "variant": var["name"], "n": n, "seed": seed}
                    if records.done(key) and not args.rerun:
                        continue
                    if not cache_path(args.cache, n, seed).exists():
                        raise SystemExit(f"no cached matrix for n={n} seed={seed}: run --build-cache first")
                    spec = {"cache_file": str(cache_path(args.cache, n, seed)), "variant": var, "seed": seed}
                    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", SEGLAB_PROGRESS="off")
                    res = run_timed([sys.executable, __file__, "--one", json.dumps(spec)], env=env)
                    if res["returncode"] != 0:
                        raise SystemExit(f"{key} failed:\n{res['stderr'][-3000:]}")
                    result = json.loads(res["stdout"].strip().splitlines()[-1])
                    result.update(wall_s=res["wall_s"], cpu_s=res["cpu_s"], load1=res["load1_before"])
                    records.add(key, result)
                    print(f"{exp} {var['name']} n={n} seed={seed}: ARI {result['ari']:.3f} "
                          f"(start {result.get('init_ari', float('nan')):.3f}) fit {result['fit_wall_s']:.0f} s wall "
                          f"{result['fit_cpu_s']:.0f} s cpu, load {res['load1_before']:.1f}", flush=True)
    write_report(records)


def _cell(recs: list[dict], field: str, digits: int = 3, report: bool = False) -> str:
    vals = [(r["result"]["report"] if report else r["result"]).get(field) for r in recs]
    return mean_std([x for x in vals if x is not None], digits)


def write_report(records: RawRecords) -> None:
    notes_file = Path(__file__).with_name("tune_scale_findings.md")
    lines = [provenance_header(
        "DEC/IDEC at scale: what made quality fall with N, and the fix (tuning seeds 100-102)",
        extra=["Rows: mean ± std over the tuning seeds listed (model seed = data seed unless the variant says), "
               "default synthetic data with review text, preprocessed as `python train.py` does. `start` = ARI of "
               "the k-means start of the clustering phase (AE+k-means: its result). Times are of the model fit alone "
               "(1 torch thread), in a child process per fit, on a shared 2-core machine: compare CPU seconds and "
               "the load in the raw records. Peak RSS is the whole child process's (Python, torch and the "
               "loaded float32 matrix included).  ",
               "Raw records (`experiments/scale_tuning_runs.jsonl`) made by: "
               + "; ".join(f"`{c}`" for c in RUNS) + ".  "])]
    if notes_file.exists():
        lines += [notes_file.read_text().strip(), ""]
    for exp, (question, variants) in EXPERIMENTS.items():
        recs_exp = [r for r in records.latest(exp=exp)]
        if not recs_exp:
            continue
        lines += [f"## {exp}", "", question, "",
                  "| variant | customers | seeds | ARI | start ARI | pretrain steps | pretrain val loss | cluster steps "
                  "| labels changed from start | stopped by tol | fit wall s | fit CPU s | peak RSS GiB | commits |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for var in variants:
            for n in sorted({r["key"]["n"] for r in recs_exp}):
                recs = [r for r in recs_exp if r["key"]["variant"] == var["name"] and r["key"]["n"] == n]
                if not recs:
                    continue
                seeds = ",".join(str(r["key"]["seed"]) for r in sorted(recs, key=lambda r: r["key"]["seed"]))
                commits = ",".join(sorted({r["commit"] for r in recs}))
                lines.append(
                    f"| {var['name']} | {n:,} | {seeds} | {_cell(recs, 'ari')} | {_cell(recs, 'init_ari')} "
                    f"| {_cell(recs, 'fit/pretrain_steps', 0, True)} | {_cell(recs, 'fit/pretrain_val_loss', 4, True)} "
                    f"| {_cell(recs, 'fit/cluster_iterations', 0, True)} "
                    f"| {_cell(recs, 'fit/labels_changed_from_init', 3, True)} "
                    f"| {_cell(recs, 'fit/stopped_by_tol', 2, True)} | {_cell(recs, 'fit_wall_s', 1)} "
                    f"| {_cell(recs, 'fit_cpu_s', 1)} | {_cell(recs, 'peak_rss_gib', 2)} | {commits} |")
        traj = [r for r in recs_exp if r["result"].get("history")]
        if traj:
            lines += ["", "Stopping tests (share of labels changed since the previous test, at step) for the "
                      "first seed of each variant and size:", ""]
            for var in variants:
                for n in sorted({r["key"]["n"] for r in traj}):
                    rs = sorted((r for r in traj if r["key"]["variant"] == var["name"] and r["key"]["n"] == n),
                                key=lambda r: r["key"]["seed"])
                    if rs:
                        tests = [f"{h[2]:.4f}@{int(h[0])}" for h in rs[0]["result"]["history"] if h[2] == h[2]]
                        shown = tests if len(tests) <= 8 else tests[:4] + ["..."] + tests[-3:]
                        lines.append(f"- {var['name']}, {n:,}, seed {rs[0]['key']['seed']}: {' '.join(shown)}")
        lines.append("")
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT.relative_to(ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiments", nargs="+", default=[], choices=sorted(EXPERIMENTS))
    ap.add_argument("--n", nargs="+", type=lambda s: int(float(s)), default=[100_000])
    ap.add_argument("--seeds", nargs="+", type=int, default=[100, 101, 102])
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("SEGLAB_SCALE_CACHE", "/tmp/seglab_scale")))
    ap.add_argument("--build-cache", action="store_true")
    ap.add_argument("--bootstrap-from", type=lambda s: int(float(s)), default=None,
                    help="with --build-cache: resample this size's cached matrix up to --n (10^7)")
    ap.add_argument("--rerun", action="store_true", help="fit again even when a record exists")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(fit_one(json.loads(args.one)), default=float))
        return
    if args.build_cache:
        for n in args.n:
            for seed in args.seeds:
                if args.bootstrap_from:
                    bootstrap_cache(args.cache, n, seed, args.bootstrap_from)
                else:
                    build_cache(args.cache, n, seed)
        return
    if args.report_only:
        write_report(RawRecords(RECORDS, any_commit=True))
        return
    run(args)


if __name__ == "__main__":
    main()
