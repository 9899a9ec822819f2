"""Benchmark the review-sentiment scorers of text=minilm and write experiments/text.md.

    python scripts/bench_text.py                         # accuracy table (resumes from its raw records)
    python scripts/bench_text.py --throughput            # + reviews/s on --threads cores (needs a quiet machine)
    python scripts/bench_text.py --default-ari           # + the default synthetic run's ARI, seeds 0-2, per head
    python scripts/bench_text.py --womens --womens-variants "kmeans, text=minilm"   # + data=womens_reviews

1. Accuracy, positive vs negative, on sets no scorer was trained on: airline tweets (neutral
   dropped; accuracy) and Amazon Alexa reviews (balanced accuracy), and the ``test`` split
   (`seglab.text.corpora.split_of`) of each training corpus (balanced accuracy). Scorers: VADER
   (compound >= 0.05, its documented rule), the frozen shipped head and the LoRA adapter, each
   with the exact fp32 encoder and CTranslate2 int8. Positive when score >= 0; no threshold is
   tuned on any of these sets. Every record carries the CPU model and its ISA flags: int8
   results differ between CPUs (VNNI or not). The adapter's calibration error (before/after
   its temperature) is reported on every set too.
2. Throughput (``--throughput``): reviews/s of `score_texts` with the default backend, cache off,
   before (shipped head) and after (adapter), with wall and CPU seconds and the load average.
3. ``--default-ari``: ``python train.py seed=S text.head=H`` as child processes (the default run).

Raw records (one per measured item, keyed by commit; an interrupted run resumes) go to the JSONL
file beside ``--out``; the table is rebuilt from them every time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import RawRecords, load_average, machine, run_timed  # noqa: E402
from seglab.text import score_texts  # noqa: E402
from seglab.text.corpora import load_corpus, split_of  # noqa: E402

#: set -> headline metric; airline/alexa were never trained on, the others are test splits.
SETS = {"airline": "acc", "alexa": "bal_acc", "rotten_tomatoes_test": "bal_acc", "womens_test": "bal_acc",
        "womens_test_unseen": "bal_acc", "beauty_test": "bal_acc"}
#: scorer -> (head, backend); "VADER" is separate
#: a frozen head made with the shipped head's recipe on the train splits only (out-of-sample on every
#: test split): python scripts/train_sentiment_head.py --split train --out .cache/head_train_split.npz
TRAIN_SPLIT_HEAD = ROOT / ".cache" / "head_train_split.npz"
SCORERS = {"shipped head, fp32": ("shipped", "torch"), "shipped head, int8": ("shipped", "ctranslate2"),
           "frozen head on train split, int8": (str(TRAIN_SPLIT_HEAD), "ctranslate2"),
           "adapter, fp32": ("adapter", "torch"), "adapter, int8": ("adapter", "ctranslate2")}
ISA = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")


def isa_flags() -> list[str]:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    have = set(flags.split(":", 1)[1].split())
    return [f for f in ISA if f in have]


def shipped_head_womens(data_dir: str) -> set[str]:
    """The 4,000 Women's texts the frozen shipped head was trained on (its script's seeded draw)."""
    df = load_corpus("womens", data_dir)
    rng = np.random.default_rng(0)  # scripts/train_sentiment_head.py, seed 0, corpora in its default order
    seen = set()
    for k in (0, 1):
        sub = df[df["label"] == k]
        seen |= set(sub["text"].iloc[np.sort(rng.choice(len(sub), 2000, replace=False))])
    return seen


def load_set(name: str, data_dir: str):
    if name in ("airline", "alexa"):
        return load_corpus(name, data_dir)
    corpus = name.replace("_test_unseen", "").replace("_test", "")
    df = load_corpus(corpus, data_dir)
    df = df[split_of(df["text"]) == "test"]
    if name.endswith("_unseen"):
        df = df[~df["text"].isin(shipped_head_womens(data_dir))]
    return df.reset_index(drop=True)


def metrics(y, pred) -> dict:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    return {"acc": float(accuracy_score(y, pred)), "bal_acc": float(balanced_accuracy_score(y, pred))}


def pack(bits) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def unpack(hexed: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hexed), dtype=np.uint8))[:n].astype(int)


def accuracy_records(records: RawRecords, data_dir: str, cache_dir: str, threads: int, scorers: list[str]) -> None:
    from seglab.text.calibration import expected_calibration_error

    isa = isa_flags()
    for name in SETS:
        df = None
        for scorer in scorers:
            key = {"section": "accuracy", "set": name, "scorer": scorer}
            if records.done(key) or (scorer != "VADER" and SCORERS[scorer][0].endswith(".npz")
                                     and not Path(SCORERS[scorer][0]).exists()):
                continue
            df = load_set(name, data_dir) if df is None else df
            y = df["label"].to_numpy()
            t0, c0 = time.perf_counter(), time.process_time()
            result = {"n": int(len(y)), "positive_share": float(y.mean()), "labels": pack(y), "isa": isa}
            if scorer == "VADER":
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                vader = SentimentIntensityAnalyzer()
                pred = (np.array([vader.polarity_scores(t)["compound"] for t in df["text"]]) >= 0.05).astype(int)
            else:
                head, backend = SCORERS[scorer]
                cfg = {"name": "minilm", "head": head, "backend": backend, "cache_dir": cache_dir,
                       "num_threads": threads}
                rs = score_texts(df["text"].tolist(), cfg, skip_empty=False)
                pred = (rs.score >= 0).astype(int)
                logp = np.log(np.clip(rs.proba, 1e-12, 1.0))
                result["ece"] = expected_calibration_error(logp, y)
                result["provenance"] = rs.provenance
                if rs.provenance["text.head"] == "adapter":
                    from seglab.text.adapter import load_adapter

                    t = load_adapter().temperature  # logits before scaling = T * calibrated logits
                    result["ece_uncalibrated"] = expected_calibration_error(t * logp, y)
            result.update(metrics(y, pred), pred=pack(pred), wall_s=time.perf_counter() - t0,
                          cpu_s=time.process_time() - c0, load1=load_average()[0])
            records.add(key, result)
            print(name, scorer, {k: round(v, 4) for k, v in result.items() if isinstance(v, float)}, flush=True)


def paired_bootstrap(y, a, b, metric: str, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% interval of metric(b) - metric(a) over resamples of the texts (same resample for both)."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if len(set(y[i])) < 2:
            continue
        diffs.append(metrics(y[i], b[i])[metric] - metrics(y[i], a[i])[metric])
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def throughput_records(records: RawRecords, data_dir: str, threads: int, womens_n: int, seed: int) -> None:
    import pandas as pd

    from seglab.text.corpora import womens_frame
    from seglab.text.features import make_runner

    tweets = pd.read_csv(Path(data_dir) / "airline_tweets" / "Tweets.csv")["text"].astype(str).tolist()
    reviews = womens_frame(data_dir)["Review Text"].dropna().astype(str)
    reviews = reviews.sample(n=min(womens_n, len(reviews)), random_state=seed).tolist()
    for head in ("shipped", "adapter"):
        cfg = {"name": "minilm", "head": head, "cache_dir": None, "num_threads": threads, "batch_size": 32,
               "progress": False}
        runner = make_runner(cfg)
        score_texts(tweets[:256], cfg, runner=runner)  # warm-up
        for set_name, texts in (("airline tweets", tweets), ("Women's reviews", reviews)):
            key = {"section": "throughput", "head": head, "set": set_name, "threads": threads, "n": len(texts)}
            if records.done(key):
                continue
            load0 = load_average()
            t0, c0 = time.perf_counter(), time.process_time()
            score_texts(texts, cfg, runner=runner)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            records.add(key, {"reviews_per_s": len(texts) / wall, "wall_s": wall, "cpu_s": cpu, "load_before": load0,
                              "load_after": load_average(), "backend": runner.backend})
            print(key, len(texts) / wall, flush=True)


def default_ari_records(records: RawRecords, seeds: list[int], log_dir: Path) -> None:
    for head in ("shipped", "adapter"):
        for seed in seeds:
            key = {"section": "default_ari", "head": head, "seed": seed}
            if records.done(key):
                continue
            cmd = [sys.executable, "train.py", f"seed={seed}", f"text.head={head}", f"log_dir={log_dir}", "logger=none"]
            res = run_timed(cmd)
            if res["returncode"] != 0:
                raise SystemExit(f"{' '.join(cmd)} failed:\n{res['stderr'][-3000:]}")
            run_dir = next(ln.split("run dir:", 1)[1].strip() for ln in res["stdout"].splitlines() if "run dir:" in ln)
            summary = json.loads((Path(run_dir) / "metrics.json").read_text())
            records.add(key, {"ari": summary["metrics"]["eval/ari"], "wall_s": res["wall_s"], "cpu_s": res["cpu_s"],
                              "load1": res["load1_before"], "text": summary.get("text", {}),
                              "command": "python " + " ".join(cmd[1:])})
            print(key, summary["metrics"]["eval/ari"], flush=True)


def synthetic_score_records(records: RawRecords, seed: int, cache_dir: str) -> None:
    """Per planted segment of the default synthetic data: mean and std of customers' mean review
    score, per head (what the text block brings to the default run's clustering)."""
    import pandas as pd
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"seed={seed}"])
    data = instantiate(cfg.data, _convert_="all").load()
    truth = pd.Series(np.asarray(data.truth), index=data.customer_ids)
    for head in ("shipped", "adapter"):
        key = {"section": "synthetic_scores", "head": head, "seed": seed}
        if records.done(key):
            continue
        rs = score_texts(data.reviews["text"].tolist(), {"name": "minilm", "head": head, "cache_dir": cache_dir})
        per_customer = pd.Series(rs.score).groupby(data.reviews["customer_id"].to_numpy()).mean()
        stats = per_customer.groupby(truth.reindex(per_customer.index).to_numpy()).agg(["mean", "std", "count"])
        records.add(key, {"n_reviews": int(np.isfinite(rs.score).sum()), "per_segment": stats.round(4).to_dict("index")})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--cache-dir", default=str(ROOT / ".cache" / "text"), help="text cache of the accuracy part")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--scorers", default="VADER;" + ";".join(SCORERS), help="';'-separated subset of the accuracy scorers")
    ap.add_argument("--reuse-any-commit", action="store_true", help="keep raw records made at other commits")
    ap.add_argument("--throughput", action="store_true", help="measure reviews/s (run it on a quiet machine)")
    ap.add_argument("--womens-n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--default-ari", action="store_true")
    ap.add_argument("--ari-seeds", default="0,1,2")
    ap.add_argument("--womens", action="store_true", help="data=womens_reviews, tabular vs tabular + text")
    ap.add_argument("--womens-log-dir", default=str(ROOT / "logs" / "womens"))
    ap.add_argument("--womens-seeds", default="0")
    ap.add_argument("--womens-deep-seeds", default="0")
    ap.add_argument("--womens-variants", default=None, help="';'-separated variant names (default: all)")
    ap.add_argument("--n-clusters", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "experiments" / "text.md"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    records = RawRecords(out.with_name(out.stem + "_runs.jsonl"), any_commit=args.reuse_any_commit)
    if not args.skip_accuracy:
        accuracy_records(records, args.data_dir, args.cache_dir, args.threads, args.scorers.split(";"))
    if args.throughput:
        throughput_records(records, args.data_dir, args.threads, args.womens_n, args.seed)
    if args.default_ari:
        default_ari_records(records, [int(s) for s in args.ari_seeds.split(",")], Path(tempfile.mkdtemp(prefix="ari_")))
        synthetic_score_records(records, int(args.ari_seeds.split(",")[0]), args.cache_dir)
    womens_path = out.with_name(out.stem + "_womens.json")
    if args.womens:
        from bench_text_womens import womens_section

        womens = womens_section(args.data_dir, args.womens_log_dir, [int(x) for x in args.womens_seeds.split(",")],
                                [int(x) for x in args.womens_deep_seeds.split(",")], args.n_clusters, 1,
                                variants=args.womens_variants.split(";") if args.womens_variants else None)
        womens["command"] = "python scripts/bench_text.py " + " ".join(argv if argv is not None else sys.argv[1:])
        womens["machine"] = machine()
        womens_path.write_text(json.dumps(womens, indent=1) + "\n")
    from bench_text_report import write_markdown

    write_markdown(records, out, womens_path, args)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
