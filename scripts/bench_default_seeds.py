"""How often the default DEC run ends in a wrong partition: `python train.py seed=S` over many seeds.

Runs the user's command (DEC, 5,000 synthetic customers) for each seed and each text variant
(``shipped``: the default review-sentiment head, ``adapter``: ``text.head=adapter``, ``none``:
``text=none``) as a real subprocess, and writes `experiments/default_seeds.md`: ARI against the
planted segments (mean ± std and per seed), the number of failures (ARI < 0.9: a wrong partition,
typically two planted segments merged and another split), and, for each failure, the confusion of
the found segments with the planted ones. Each run is a raw record in
`experiments/default_seeds_runs.jsonl` (metrics, wall and CPU seconds of the process tree, load
average before the run, share of labels the clustering phase changed from its k-means start),
keyed by variant, seed and commit, so an interrupted benchmark resumes and ``--rerun`` re-times
at a quiet moment. Wall times on a shared machine are inflated: compare CPU seconds and the load.

    python scripts/bench_default_seeds.py --seeds 0 1 2 3 4 5 6 7 8 9
    python scripts/bench_default_seeds.py --seeds 0 1 2 3 4 5 6 7 8 9 --report-only

``--in-process`` is the diagnosis on tuning seeds (100+; never the reported ones): the same model
(`seglab.train.build_model` on the composed config) fitted on the matrix `python train.py` clusters
(cached per seed and variant in ``--cache``), once with the shipped start (``init: input``) and
once with the papers' (``init=latent``), recording the ARI of the k-means start, the final ARI and
both confusions (planted x found). Records in `experiments/default_seeds_tuning_runs.jsonl`, a
section of the same report:

    python scripts/bench_default_seeds.py --in-process --tuning-seeds 100 101 ... 119 --inits input latent
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, RawRecords, mean_std, provenance_header, run_timed  # noqa: E402

RECORDS = ROOT / "experiments" / "default_seeds_runs.jsonl"
TUNING_RECORDS = ROOT / "experiments" / "default_seeds_tuning_runs.jsonl"
REPORT = ROOT / "experiments" / "default_seeds.md"
FINDINGS = Path(__file__).with_name("default_seeds_findings.md")  # written by hand from the tables
VARIANTS = {"shipped": ["text.head=shipped"], "adapter": ["text.head=adapter"], "none": ["text=none"]}
FAIL_ARI = 0.9


def planted_segments(seed: int, run_dir: Path) -> tuple[list[str], list[list[int]]]:
    """The planted segment names and the (planted x found) confusion counts of a run."""
    import numpy as np
    import pandas as pd
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"seed={seed}"])
    data = instantiate(cfg.data, _convert_="all").load()
    truth = pd.Series(np.asarray(data.truth), index=data.customers["customer_id"].to_numpy())
    found = pd.read_parquet(run_dir / "segments.parquet").set_index("customer_id")["segment"]
    table = pd.crosstab(truth.reindex(found.index), found)
    return [str(n) for n in table.index], table.to_numpy().tolist()


def run_once(variant: str, seed: int, log_dir: Path, text_cache: Path) -> dict:
    cmd = [sys.executable, "train.py", f"seed={seed}", "logger=none", f"log_dir={log_dir}", *VARIANTS[variant]]
    res = run_timed(cmd, env=dict(os.environ, SEGLAB_TEXT_CACHE=str(text_cache)))
    if res["returncode"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res['stderr'][-3000:]}")
    run_dir = Path(next(line.split("run dir:", 1)[1].strip() for line in res["stdout"].splitlines()
                        if "run dir:" in line))
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    names, confusion = planted_segments(seed, run_dir)
    return {"metrics": metrics, "wall_s": res["wall_s"], "cpu_s": res["cpu_s"], "load1": res["load1_before"],
            "max_rss_gib": res["max_rss_gib_any_child"], "planted": names, "confusion": confusion}


def bench(args: argparse.Namespace, records: RawRecords) -> None:
    # one text cache for the whole invocation: only the first run of each head pays the encoding
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants:
            for seed in args.seeds:
                key = {"variant": variant, "seed": seed}
                if records.done(key) and not args.rerun:
                    continue
                rec = records.add(key, run_once(variant, seed, Path(tmp) / "logs", Path(tmp) / "text_cache"))
                r = rec["result"]
                print(f"{variant} seed={seed}: ari={r['metrics']['eval/ari']:.3f} wall={r['wall_s']:.0f}s "
                      f"cpu={r['cpu_s']:.0f}s load={r['load1']:.1f}", flush=True)


def _compose(seed: int, variant: str, extra: list[str] = ()):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=[f"seed={seed}", *VARIANTS[variant], *extra])


def cached_matrix(cache: Path, seed: int, variant: str):
    """``(X, truth)``: the preprocessed matrix `python train.py seed=S` clusters, cached as .npz."""
    import numpy as np
    import pandas as pd
    from hydra.utils import instantiate

    from seglab.train import customer_features, make_preprocessor

    path = cache / f"X_s{seed}_{variant}.npz"
    if not path.exists():
        cfg = _compose(seed, variant)
        data = instantiate(cfg.data, _convert_="all").load()
        X = make_preprocessor(cfg).fit_transform(customer_features(cfg, data))
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, X=np.asarray(X, dtype=np.float32), truth=pd.factorize(np.asarray(data.truth))[0])
    d = np.load(path)
    return d["X"], d["truth"]


def fit_in_process(cache: Path, seed: int, variant: str, init: str) -> dict:
    """One DEC fit as the run builds it, with the start ``init``: start and final ARI, confusions."""
    import time

    import numpy as np
    import torch
    from omegaconf import OmegaConf
    from sklearn.metrics import adjusted_rand_score

    from seglab.train import build_model

    X, y = cached_matrix(cache, seed, variant)
    cfg = _compose(seed, variant, [f"model.init={init}"])
    trainer = dict(OmegaConf.to_container(cfg.trainer, resolve=True), logger=False, enable_progress_bar=False)
    torch.set_num_threads(1)
    model = build_model(cfg, trainer, None)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(X)
    k = int(cfg.n_clusters)

    def confusion(labels):
        return (np.eye(k, dtype=int)[y].T @ np.eye(k, dtype=int)[labels]).tolist()

    report = model.fit_report()
    return {"ari": float(adjusted_rand_score(y, model.labels_)), "init_ari": float(adjusted_rand_score(y, model.init_labels_)),
            "changed": report.get("fit/labels_changed_from_init"), "iters": report.get("fit/cluster_iterations"),
            "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "confusion": confusion(model.labels_), "confusion_init": confusion(model.init_labels_)}


def bench_in_process(args: argparse.Namespace, records: RawRecords) -> None:
    for variant in args.variants:
        for init in args.inits:
            for seed in args.seeds:
                key = {"variant": variant, "seed": seed, "init": init}
                if records.done(key):
                    continue
                r = records.add(key, fit_in_process(args.cache, seed, variant, init))["result"]
                print(f"{variant} init={init} seed={seed}: start {r['init_ari']:.3f} -> {r['ari']:.3f}", flush=True)


def tuning_section(args: argparse.Namespace, records: RawRecords) -> list[str]:
    """The in-process diagnosis: failures per start on the tuning seeds, and where they happen."""
    args = argparse.Namespace(**{**vars(args), "seeds": args.tuning_seeds})
    lines = ["", "## Tuning seeds: which start, and where a failure happens (`--in-process`)", "",
             f"Raw records: `{TUNING_RECORDS.relative_to(ROOT)}`. `start` = ARI of the k-means start of the "
             "clustering phase, `final` = DEC's; a failure is a final ARI < 0.9.", "",
             "| variant | init | seeds | start ARI | final ARI | failures | failed starts (start -> final) | "
             "starts < 0.8 repaired |", "|---|---|---|---|---|---|---|---|"]
    for variant in args.variants:
        for init in args.inits:
            rs = [(s, records.find({"variant": variant, "seed": s, "init": init})) for s in args.seeds]
            rs = [(s, r["result"]) for s, r in rs if r is not None]
            if not rs:
                continue
            fails = [(s, r) for s, r in rs if r["ari"] < FAIL_ARI]
            repaired = [(s, r) for s, r in rs if r["init_ari"] < 0.8 and r["ari"] >= FAIL_ARI]
            lines.append(
                f"| {variant} | {init} | {min(s for s, _ in rs)}-{max(s for s, _ in rs)} ({len(rs)}) | "
                f"{mean_std([r['init_ari'] for _, r in rs])} | {mean_std([r['ari'] for _, r in rs])} | "
                f"{len(fails)} of {len(rs)} | "
                + (", ".join(f"{s}: {r['init_ari']:.2f} -> {r['ari']:.2f}" for s, r in fails) or "none") + " | "
                + (", ".join(f"{s}: {r['init_ari']:.2f} -> {r['ari']:.2f}" for s, r in repaired) or "none") + " |")
    return lines


def write_report(args: argparse.Namespace, records: RawRecords) -> None:
    rows = {v: [(s, records.find({"variant": v, "seed": s})) for s in args.seeds] for v in args.variants}
    rows = {v: [(s, r) for s, r in rs if r is not None] for v, rs in rows.items()}
    runs = [r for rs in rows.values() for _, r in rs]
    if not runs:
        raise SystemExit(f"no records for these variants/seeds in {RECORDS}")
    loads = [r["result"]["load1"] for r in runs]
    command = "python scripts/bench_default_seeds.py --seeds " + " ".join(map(str, args.seeds))
    if args.variants != list(VARIANTS):
        command += " --variants " + " ".join(args.variants)
    lines = [
        provenance_header("Default DEC run over seeds: how often it ends in a wrong partition", command=command).rstrip(),
        f"Raw records: `{RECORDS.relative_to(ROOT)}` (commit(s) {', '.join(sorted({r['commit'] for r in runs}))}).  ",
        "Each run is `python train.py seed=S logger=none` plus the variant's override (`shipped`: "
        "`text.head=shipped`, the default head; `adapter`: `text.head=adapter`; `none`: `text=none`): DEC, "
        "5,000 synthetic customers, 5 planted segments. ARI against the planted segments; a failure is "
        f"ARI < {FAIL_ARI}. `changed` = share of labels the clustering phase moved from its k-means start. "
        "Wall and CPU seconds are of the whole process tree (start-up, data, text, fit, evaluation, reports); "
        f"1-minute load average {min(loads):.1f}-{max(loads):.1f} before the runs on {os.cpu_count()} cores, "
        "so compare CPU seconds.",
        "",
        "| variant | seeds | ARI | failures | per seed | changed | wall s | CPU s | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for variant, rs in rows.items():
        res = [r["result"] for _, r in rs]
        aris = [x["metrics"]["eval/ari"] for x in res]
        lines.append(
            f"| {variant} | {','.join(str(s) for s, _ in rs)} | {mean_std(aris)} | "
            f"{sum(a < FAIL_ARI for a in aris)} of {len(aris)} | {', '.join(f'{a:.3f}' for a in aris)} | "
            f"{mean_std([x['metrics'].get('fit/labels_changed_from_init') for x in res])} | "
            f"{mean_std([x['wall_s'] for x in res], 0)} | {mean_std([x['cpu_s'] for x in res], 0)} | "
            f"{mean_std([x['load1'] for x in res], 1)} |")
    failures = [(v, s, r["result"]) for v, rs in rows.items() for s, r in rs
                if r["result"]["metrics"]["eval/ari"] < FAIL_ARI]
    lines += ["", "Failures: planted segments (rows) against found segments (columns)." if failures
              else "No run failed."]
    for variant, seed, res in failures:
        lines += ["", f"`{variant}`, seed {seed}, ARI {res['metrics']['eval/ari']:.3f}:", "",
                  "| planted | " + " | ".join(str(j) for j in range(len(res["confusion"][0]))) + " |",
                  "|---" * (len(res["confusion"][0]) + 1) + "|"]
        lines += [f"| {n} | " + " | ".join(map(str, row)) + " |" for n, row in zip(res["planted"], res["confusion"],
                                                                                    strict=True)]
    if args.note:
        lines += ["", *args.note]
    if FINDINGS.exists():
        lines += ["", FINDINGS.read_text().strip()]
    lines += tuning_section(args, RawRecords(TUNING_RECORDS, any_commit=True))
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--rerun", action="store_true", help="run again even where a record exists (timings)")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--any-commit", action="store_true", help="reuse records made at other commits")
    ap.add_argument("--note", nargs="*", default=[], help="paragraphs appended to the report")
    ap.add_argument("--in-process", action="store_true", help="the start diagnosis on --tuning-seeds")
    ap.add_argument("--tuning-seeds", type=int, nargs="+", default=list(range(100, 120)))
    ap.add_argument("--inits", nargs="+", choices=["input", "latent"], default=["input", "latent"])
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "seglab_default_seeds")
    args = ap.parse_args()
    if min(args.tuning_seeds) < 100:
        raise SystemExit("--tuning-seeds are 100 and above: seeds 0-99 are for reporting")
    records = RawRecords(RECORDS, any_commit=args.any_commit or args.report_only)
    if args.in_process:
        bench_in_process(argparse.Namespace(**{**vars(args), "seeds": args.tuning_seeds}),
                         RawRecords(TUNING_RECORDS, any_commit=args.any_commit))
    elif not args.report_only:
        bench(args, records)
    write_report(args, records)


if __name__ == "__main__":
    main()
