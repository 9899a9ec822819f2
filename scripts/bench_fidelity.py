"""Fidelity benchmark: k-means (raw), AE+k-means, DEC, IDEC and N2D on USPS and sklearn digits.

Usage (results are appended, one JSON line per dataset x method x seed with the commit, machine and
load it ran at, so a long run can be watched and resumed: a seed whose requested methods are all
recorded at the current commit is skipped; ``--report`` turns a results file into the Markdown
tables of experiments/fidelity.md, ``--report-out`` writes them with their provenance header):

    python scripts/bench_fidelity.py --datasets usps digits --seeds 0 1 2 3 4 \
        --out experiments/fidelity_results.jsonl
    python scripts/bench_fidelity.py --report experiments/fidelity_results.jsonl

Per seed, ONE autoencoder is pretrained (d-500-500-2000-10, the papers' architecture) and shared
by AE+k-means, DEC, IDEC and N2D (``fit(X, init_from=ae)`` deep-copies it), as the reference
implementations do with their saved ``ae_weights``. Each deep method's reported time is its own
stage plus that shared pretraining ("total_s"), i.e. what one model would cost alone.

Recipe (see experiments/fidelity.md): Adam end-to-end pretraining (lr 1e-3, batch 256,
``--pretrain-epochs``, early stopping on a 10% validation split, best weights kept), optional
denoising (``--noise``, dropout corruption), lr schedule (``--lr-schedule``), image
augmentation (``--augment affine`` for pretraining; methods ``dec_da``/``idec_da`` also augment
the clustering phase: DEC-DA's random rotation and shift, targets from the clean images); DEC: SGD lr 0.01 momentum 0.9 (DEC-keras), IDEC:
SGD lr 0.1 momentum 0.99 (the IDEC authors' USPS setting), both update interval 30, tol 0.001.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from seglab.evaluate.metrics import clustering_accuracy
from seglab.models.ae_kmeans import AEKMeans
from seglab.models.dec import DEC, IDEC

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import git_commit, load_average, machine, provenance_header  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_USPS = ROOT.parent / "shared" / "data" / "usps" / "usps.h5"

#: Published ACC on USPS (issue 4; DEC/IDEC papers and their reimplementations).
PUBLISHED_USPS_ACC = {
    "kmeans": "≈0.67",
    "ae_kmeans": "0.69–0.71",
    "dec": "0.74–0.76",
    "idec": "0.76",
    "dec_da": "0.987 (DEC-DA README, its best variant)",
    "idec_da": "0.987 (DEC-DA README, its best variant)",
    "n2d": "0.948 (N2D paper, 1,000-epoch AE)",
}
METHODS = ["kmeans", "ae_kmeans", "dec", "idec", "dec_da", "idec_da", "n2d"]
#: Each dataset's rows are flattened grey images of this shape (for ``--augment affine``).
IMAGE_SHAPES = {"usps": (16, 16), "digits": (8, 8)}


def load_usps(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import h5py

    if not path.exists():
        sys.exit(f"USPS not found at {path}: the benchmark needs ../shared/data/usps/usps.h5 (see shared/data/README.md)")
    with h5py.File(path, "r") as f:
        X = np.concatenate([f["train/data"][:], f["test/data"][:]]).astype(np.float32)
        y = np.concatenate([f["train/target"][:], f["test/target"][:]]).astype(int)
    return X.reshape(len(X), -1), y


def load_dataset(name: str, usps_path: Path) -> tuple[np.ndarray, np.ndarray]:
    if name == "usps":
        return load_usps(usps_path)
    if name == "digits":
        d = load_digits()
        return (d.data / 16.0).astype(np.float32), d.target.astype(int)  # pixels in [0, 1] like USPS
    raise ValueError(name)


def scores(y: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {
        "acc": clustering_accuracy(y, labels),
        "nmi": float(normalized_mutual_info_score(y, labels)),
        "ari": float(adjusted_rand_score(y, labels)),
    }


def run_seed(name: str, X: np.ndarray, y: np.ndarray, seed: int, args: argparse.Namespace, emit) -> None:
    k = int(len(np.unique(y)))
    base = dict(variant=args.variant, dataset=name, seed=seed, n=len(X), d=X.shape[1], k=k)

    def record(method: str, labels: np.ndarray, seconds: float, total: float, report: dict | None = None,
               cpu: float | None = None):
        row = {**base, "method": method, **scores(y, labels), "seconds": round(seconds, 2), "total_s": round(total, 2)}
        if cpu is not None:
            row["cpu_s"] = round(cpu, 2)
        if report:
            row["fit"] = {k_: (round(v, 5) if isinstance(v, float) else v) for k_, v in report.items()}
        emit(row)

    if "kmeans" in args.methods:
        t, c = time.perf_counter(), time.process_time()
        km = KMeans(n_clusters=k, n_init=20, random_state=seed).fit(X)
        dt = time.perf_counter() - t
        record("kmeans", km.labels_, dt, dt, cpu=time.process_time() - c)

    common = dict(
        n_clusters=k, preset="paper", lr=1e-3, batch_size=256, max_epochs=args.pretrain_epochs, patience=10,
        val_fraction=0.1, pretrain=args.pretrain, noise=args.noise, layerwise_epochs=args.layerwise_epochs,
        n_init=20, num_threads=args.threads, random_state=seed, trainer_kwargs={"accelerator": args.accelerator},
        lr_schedule=args.lr_schedule, augment=args.augment, image_shape=IMAGE_SHAPES[name],
    )
    t, c = time.perf_counter(), time.process_time()
    ae = AEKMeans(**common).fit(X)
    t_ae, c_ae = time.perf_counter() - t, time.process_time() - c
    pre = ae.fit_report()["fit/pretrain_seconds"]
    record("ae_kmeans", ae.labels_, t_ae, t_ae, ae.fit_report(), cpu=c_ae)

    cluster = dict(update_interval=args.update_interval, tol=0.001, cluster_max_epochs=args.cluster_max_epochs,
                   cluster_optimizer="sgd")
    # dec_da / idec_da: the same models with DEC-DA's augmented clustering phase (cluster_augment)
    for method in ("dec", "idec", "dec_da", "idec_da"):
        if method not in args.methods:
            continue
        t, c = time.perf_counter(), time.process_time()
        kw = dict(common, **cluster, cluster_augment=method.endswith("_da"))
        if method.startswith("dec"):
            model = DEC(**kw, cluster_lr=0.01, cluster_momentum=0.9)
        else:
            model = IDEC(**kw, cluster_lr=args.idec_lr, cluster_momentum=args.idec_momentum, gamma=0.1)
        model.fit(X, init_from=ae)
        dt = time.perf_counter() - t
        record(method, model.labels_, dt, dt + pre, model.fit_report(), cpu=time.process_time() - c)
    if "n2d" in args.methods:
        from seglab.models.n2d import N2D

        n2d_kw = {k_: v for k_, v in common.items() if k_ not in ("n_init", "lr_schedule", "augment", "image_shape")}
        t, c = time.perf_counter(), time.process_time()
        n2d = N2D(**n2d_kw, umap_neighbors=20, umap_min_dist=0.0).fit(X, init_from=ae)
        dt = time.perf_counter() - t
        record("n2d", n2d.labels_, dt, dt + pre, n2d.fit_report(), cpu=time.process_time() - c)


# --- report -------------------------------------------------------------------------------------
def _ms(values: list[float], digits: int = 3) -> str:
    a = np.asarray(values, dtype=float)
    if len(a) == 1:  # one seed: no spread to show
        return f"{a[0]:.{digits}f}"
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1):.{digits}f}"


def report(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    groups: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[(r["dataset"], r["variant"])][r["method"]].append(r)
    out: list[str] = []
    for (dataset, variant), by_method in groups.items():
        out.append(f"### {dataset} — variant `{variant}`\n")
        pub = "published ACC (USPS) |" if dataset == "usps" else ""
        out.append("| method | seeds | ACC | NMI | ARI | CPU s per seed | wall s per seed (shared box) | " + pub)
        out.append("|---|---|---|---|---|---|---|" + ("---|" if pub else ""))
        ae_cpu = {r["seed"]: r.get("cpu_s", float("nan")) for r in by_method.get("ae_kmeans", [])}
        for m in METHODS:
            rs = sorted(by_method.get(m, []), key=lambda r: r["seed"])
            if not rs:
                continue
            # deep methods other than AE+k-means: own stage + the shared pretraining they reuse
            cpu = [r.get("cpu_s", float("nan")) + (ae_cpu.get(r["seed"], float("nan"))
                   if m in ("dec", "idec", "dec_da", "idec_da", "n2d") else 0.0) for r in rs]
            cells = [m, str(len(rs)), _ms([r["acc"] for r in rs]), _ms([r["nmi"] for r in rs]),
                     _ms([r["ari"] for r in rs]), _ms(cpu, 0), _ms([r["total_s"] for r in rs], 0)]
            if pub:
                cells.append(PUBLISHED_USPS_ACC.get(m, ""))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        out.append("Per seed (ACC / wall seconds incl. shared pretraining / CPU seconds of the method's own stage):\n")
        seeds = sorted({r["seed"] for rs in by_method.values() for r in rs})
        out.append("| method | " + " | ".join(f"seed {s}" for s in seeds) + " |")
        out.append("|---|" + "---|" * len(seeds))
        for m in METHODS:
            by_seed = {r["seed"]: r for r in by_method.get(m, [])}
            if not by_seed:
                continue
            cells = [f"{by_seed[s]['acc']:.3f} / {by_seed[s]['total_s']:.0f} / {by_seed[s].get('cpu_s', float('nan')):.0f}"
                     if s in by_seed else "" for s in seeds]
            out.append(f"| {m} | " + " | ".join(cells) + " |")
        out.append("")
        pairs = [(a, b) for a, b in (("dec_da", "dec"), ("idec_da", "idec"), ("dec", "ae_kmeans"),
                                     ("idec", "ae_kmeans")) if a in by_method and b in by_method]
        if pairs:
            out.append("Paired differences of ACC on the same seed (same shared autoencoder):\n")
            out.append("| difference | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |")
            out.append("|---|" + "---|" * (len(seeds) + 1))
            for a, b in pairs:
                acc_a = {r["seed"]: r["acc"] for r in by_method[a]}
                acc_b = {r["seed"]: r["acc"] for r in by_method[b]}
                diffs = {s: acc_a[s] - acc_b[s] for s in seeds if s in acc_a and s in acc_b}
                cells = [f"{diffs[s]:+.3f}" if s in diffs else "" for s in seeds]
                mean = f"{np.mean(list(diffs.values())):+.3f}" if diffs else ""
                out.append(f"| {a} − {b} | " + " | ".join(cells) + f" | {mean} |")
            out.append("")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["usps", "digits"], choices=["usps", "digits"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    p.add_argument("--out", type=Path, default=ROOT / "experiments" / "fidelity_results.jsonl")
    p.add_argument("--usps", type=Path, default=DEFAULT_USPS)
    p.add_argument("--variant", default="adam50", help="a name for this recipe in the tables")
    p.add_argument("--pretrain", default="end_to_end", choices=["end_to_end", "layerwise"])
    p.add_argument("--pretrain-epochs", type=int, default=50)
    p.add_argument("--layerwise-epochs", type=int, default=20)
    p.add_argument("--noise", type=float, default=0.0)
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine", "step"],
                   help="Adam lr schedule of the end-to-end pretraining, over --pretrain-epochs")
    p.add_argument("--augment", default="none", choices=["none", "affine"],
                   help="affine: random rotation (±10°) and shift (±10%%) of each pretraining batch (DEC-DA)")

    p.add_argument("--update-interval", type=int, default=30)
    p.add_argument("--cluster-max-epochs", type=int, default=60)
    p.add_argument("--idec-lr", type=float, default=0.1)
    p.add_argument("--idec-momentum", type=float, default=0.99)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    p.add_argument("--accelerator", default="cpu")
    p.add_argument("--report", type=Path, help="print the Markdown tables for a results file and exit")
    p.add_argument("--report-out", type=Path, help="with --report: write the tables there, with provenance")
    args = p.parse_args()
    if args.report:
        tables = report(args.report)
        if args.report_out:
            header = provenance_header(f"Fidelity tables from `{args.report.name}`", extra=[
                "Tables regenerated from the raw results file; each row there names the commit, machine and "
                "load it ran at (rows older than that field do not).  "])
            args.report_out.write_text(header + "\n" + tables.replace("### ", "## ") + "\n")
            print(f"wrote {args.report_out}")
        else:
            print(tables)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, threads={args.threads}, "
          f"variant={args.variant}", flush=True)

    commit = git_commit()
    done: set[tuple] = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("commit") == commit:
                    done.add((r["dataset"], r["variant"], r["seed"], r["method"]))

    def emit(row: dict) -> None:
        row.update(commit=commit, machine=machine(), load1=round(load_average()[0], 2),
                   time=time.strftime("%Y-%m-%dT%H:%M:%S"), command=" ".join(sys.argv))
        with args.out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{row['dataset']} seed={row['seed']} {row['method']:9s} acc={row['acc']:.4f} nmi={row['nmi']:.4f} "
              f"ari={row['ari']:.4f} own={row['seconds']:.0f}s total={row['total_s']:.0f}s cpu={row.get('cpu_s', 0):.0f}s",
              flush=True)

    for name in args.datasets:
        X, y = load_dataset(name, args.usps)
        for seed in args.seeds:
            if all((name, args.variant, seed, m) in done for m in args.methods):
                print(f"{name} seed={seed}: recorded at {commit}, skipped", flush=True)
                continue
            run_seed(name, X, y, seed, args, emit)


if __name__ == "__main__":
    main()
