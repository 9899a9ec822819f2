"""Choose the weight of the review-text block (`features.preprocess.block_weights.text_`) on tuning
seeds, then report the choice on the benchmark seeds -> experiments/text_weight.md.

The review-sentiment aggregates join the behaviour features as one block whose columns are scaled
so that together they weigh like `w` features. This script runs the default configuration
(synthetic, 5,000 customers, `text=minilm`) through `seglab.train.run` for each candidate weight,
each model (DEC and k-means) and each seed, and picks the weight with the best mean ARI of the
default model (DEC) on the tuning seeds only (ties: k-means' mean ARI). The benchmark seeds are run
afterwards for the chosen weight and the current default, to report them; they choose nothing.

    python scripts/bench_text_weight.py                      # tune on 100 101 102, report 0 1 2
    python scripts/bench_text_weight.py --report-only        # the table from the raw records

Raw records (`experiments/text_weight_runs.jsonl`) are keyed by variant, model, seed and commit,
so an interrupted run resumes. Quality is what this measures; times are recorded with the load.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, RawRecords, load_average, mean_std, provenance_header  # noqa: E402

#: variant -> Hydra overrides. "none" drops the text block; "unweighted" counts each column fully.
VARIANTS: dict[str, list[str]] = {
    "none": ["text=none"],
    "0.5": ["features.preprocess.block_weights.text_=0.5"],
    "1.0": ["features.preprocess.block_weights.text_=1.0"],
    "2.0": ["features.preprocess.block_weights.text_=2.0"],
    "unweighted": ["features.preprocess.block_weights=null"],
}
MODELS = ["dec", "kmeans"]


def run_one(variant: str, model: str, seed: int, log_dir: Path) -> dict:
    from hydra import compose, initialize_config_dir

    from seglab.train import run

    overrides = [f"model={model}", f"seed={seed}", f"log_dir={log_dir}", "logger=none", "explain.enabled=false",
                 *VARIANTS[variant]]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    load, t0, c0 = load_average()[0], time.perf_counter(), time.process_time()
    # a fresh dir per measurement: a run dir left by an interrupted invocation is refused, not reused
    log_dir.mkdir(parents=True, exist_ok=True)
    result = run(cfg, run_dir=tempfile.mkdtemp(prefix=f"{variant}_{model}_{seed}_", dir=log_dir))
    m = result.metrics
    return {"ari": m["eval/ari"], "acc": m["eval/acc"], "nmi": m["eval/nmi"], "n_features": m["data/n_features"],
            "fit_s": m.get("time/fit_s"), "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "load1": load}


def measure(records: RawRecords, variants: list[str], seeds: list[int], log_dir: Path) -> None:
    for variant in variants:
        for model in MODELS:
            for seed in seeds:
                key = {"variant": variant, "model": model, "seed": seed}
                if records.done(key):
                    continue
                res = records.add(key, run_one(variant, model, seed, log_dir))["result"]
                print(f"{variant:>10} {model:6} seed {seed}: ARI {res['ari']:.3f} ({res['wall_s']:.0f} s wall, "
                      f"{res['cpu_s']:.0f} s CPU, load {res['load1']:.1f})", flush=True)


def aris(records: RawRecords, variant: str, model: str, seeds: list[int]) -> list[float]:
    found = [records.find({"variant": variant, "model": model, "seed": s}) for s in seeds]
    return [r["result"]["ari"] for r in found if r is not None]


def choose(records: RawRecords, tune_seeds: list[int]) -> str | None:
    """The rule's choice, or None while some variant lacks a tuning run (no choice from partial data)."""
    scores = {}
    for variant in VARIANTS:
        dec, km = aris(records, variant, "dec", tune_seeds), aris(records, variant, "kmeans", tune_seeds)
        if len(dec) < len(tune_seeds) or len(km) < len(tune_seeds):
            return None
        scores[variant] = (statistics.mean(dec), statistics.mean(km))
    return max(scores, key=scores.get)


def report(records: RawRecords, args: argparse.Namespace, chosen: str | None) -> None:
    used = sorted({r["commit"] for r in records.records})
    lines = [
        provenance_header("Weight of the review-text block: chosen on tuning seeds, reported on benchmark seeds",
                          command="python scripts/bench_text_weight.py " + " ".join(sys.argv[1:])).rstrip("\n"),
        f"Raw records: `experiments/{args.records.name}` (commits {', '.join(used)}).  ",
        "Default run (`seglab.train.run`: synthetic data, 5,000 customers, 5 planted segments, `text=minilm`, "
        "explanations off) for each weight of the text block (`features.preprocess.block_weights.text_`: the "
        "block's columns together weigh like that many features; `none` = `text=none`; `unweighted` = "
        "`block_weights=null`, each text column a full feature). ARI against the planted segments, mean ± std "
        "over seeds.",
        "",
        f"Rule: the weight with the best mean DEC ARI on tuning seeds {args.tune_seeds} (ties: k-means) is the "
        f"default; benchmark seeds {args.seeds} choose nothing. "
        + (f"**Chosen: `{chosen}`**" if chosen else "**No choice yet: the tuning runs are incomplete**")
        + f" (the configured default in `conf/features/default.yaml` is `{args.current}`).",
        "",
        "| text block | DEC, tuning seeds | k-means, tuning seeds | DEC, benchmark seeds | k-means, benchmark seeds |",
        "|---|---|---|---|---|",
    ]
    for v in VARIANTS:
        cells = [mean_std(aris(records, v, m, s)) for s in (args.tune_seeds, args.seeds) for m in MODELS]
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    lines += ["", "Per run:", "", "| text block | model | seed | ARI | features | fit s | wall s | CPU s | load1 | commit |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for v in VARIANTS:
        for m in MODELS:
            for s in [*args.tune_seeds, *args.seeds]:
                rec = records.find({"variant": v, "model": m, "seed": s})
                if rec is None:
                    continue
                r = rec["result"]
                lines.append(f"| {v} | {m} | {s} | {r['ari']:.4f} | {r['n_features']:.0f} | {r['fit_s']:.1f} | "
                             f"{r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['load1']:.1f} | {rec['commit']} |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tune-seeds", type=int, nargs="+", default=[100, 101, 102])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="benchmark seeds (reported only)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--current", default="1.0", help="the configured default, also run on the benchmark seeds")
    p.add_argument("--out", type=Path, default=ROOT / "experiments" / "text_weight.md")
    p.add_argument("--records", type=Path, default=ROOT / "experiments" / "text_weight_runs.jsonl")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    records = RawRecords(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SEGLAB_TEXT_CACHE", str(Path(tmp) / "text_cache"))
        if not args.report_only:
            measure(records, args.variants, args.tune_seeds, Path(tmp))
        chosen = choose(records, args.tune_seeds)
        if not args.report_only and chosen is not None:
            measure(records, list(dict.fromkeys([chosen, args.current])), args.seeds, Path(tmp))
    report(records, args, chosen)


if __name__ == "__main__":
    main()
