"""Ingest benchmark (issue 15): row accounting for Olist and the generated retail log, and how far
the English MiniLM's review sentiment is from the star ratings on Olist's Portuguese reviews.

Writes ``experiments/ingest.md`` (with ``scripts/benchlib.py``'s provenance header) from raw
records in ``experiments/ingest_runs.jsonl``; records at the current commit are reused, so an
interrupted run resumes (``--redo`` measures again).

    python scripts/bench_ingest.py [--seeds 0 1 2] [--threads 1]

Sections:

1. Olist: rows in each file, what the source read, dropped or kept by reason (the ``data/*``
   counters every run reports), customers kept; ``python train.py data=olist`` run end to end
   with text (wall and CPU seconds, load).
2. The 40,000-line generated retail log (``seglab.data.retail_log``, seed 0) read with
   ``conf/data/retail.yaml`` from CSV and from its ``.xlsx`` copy: planted vs counted per reason.
3. Olist reviews: each review's sentiment score vs its stars, for the shipped head on the
   English MiniLM (what ``text=minilm`` does by default), the LoRA adapter (English product and
   film reviews), and ``text.head=ratings`` fitted on the stars, cross-fitted (5 folds; the
   score of a review comes from a head that never saw it; split seeds as given) and in-sample (what
   a run does). Spearman's rho with the stars, AUC of the score for 4-5 stars vs 1-2 stars, sign
   accuracy on those, and the mean score per star.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, RawRecords, mean_std, provenance_header, run_timed  # noqa: E402

OUT = ROOT / "experiments" / "ingest.md"
RAW = ROOT / "experiments" / "ingest_runs.jsonl"
SHARED = Path(os.environ.get("SEGLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))


def cpu_time() -> float:
    t = os.times()
    return t.user + t.system


def olist_accounting() -> dict:
    from seglab.data.counts import data_report
    from seglab.data.olist import FILES, OlistSource

    folder = SHARED / "olist_sample_4k"
    raw_rows = {role: int(len(pd.read_csv(folder / name))) for role, name in FILES.items()}
    t0, c0 = time.perf_counter(), cpu_time()
    data = OlistSource(path=str(folder)).load()
    metrics, warnings = data_report(data.meta)
    repeat = int((data.transactions.groupby("customer_id")["timestamp"].nunique() > 1).sum())
    return {"raw_rows": raw_rows, "metrics": metrics, "warnings": warnings, "n_customers": data.n_customers,
            "n_transactions": len(data.transactions), "n_reviews": len(data.reviews), "repeat_buyers": repeat,
            "wall_s": time.perf_counter() - t0, "cpu_s": cpu_time() - c0}


def olist_run(threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "train.py", "data=olist", "logger=none", f"num_threads={threads}", f"log_dir={tmp}"]
        out = run_timed(cmd, env={**os.environ, "SEGLAB_SHARED_DATA": str(SHARED)})
    summary = [line for line in out["stdout"].splitlines() if line.startswith(("seglab |", "  metrics:"))]
    return {"command": "python train.py data=olist", "returncode": out["returncode"], "wall_s": out["wall_s"],
            "cpu_s": out["cpu_s"], "load1_before": out["load1_before"], "summary": summary}


def retail_accounting(suffix: str) -> dict:
    from seglab.data.counts import COUNTERS, data_report
    from seglab.data.retail_log import write_retail_log
    from seglab.data.transactions import TransactionsSource

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"retail{suffix}"
        planted = write_retail_log(path, n_lines=40_000, seed=0)
        options = dict(customer_id="CustomerID", timestamp="InvoiceDate", quantity="Quantity", unit_price="UnitPrice",
                       invoice="InvoiceNo", item="StockCode", missing_customer="drop", returns="net",
                       nonpositive_price="drop", date_format="%m/%d/%Y %H:%M" if suffix == ".csv" else None)
        t0, c0 = time.perf_counter(), cpu_time()
        data = TransactionsSource(path=str(path), **options).load()
        wall, cpu = time.perf_counter() - t0, cpu_time() - c0
    metrics, _ = data_report(data.meta)
    counted = {k: metrics.get(f"data/{COUNTERS[k].metric}") for k in planted}
    return {"planted": planted, "counted": counted, "metrics": metrics, "n_customers": data.n_customers,
            "n_transactions": len(data.transactions), "n_returns": len(data.returns), "wall_s": wall, "cpu_s": cpu}


def review_scores() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Stars, MiniLM embeddings and the shipped and adapter heads' scores of every Olist review."""
    from seglab.data.olist import OlistSource
    from seglab.text.features import score_texts

    reviews = OlistSource(path=str(SHARED / "olist_sample_4k")).load().reviews
    stars = reviews["rating"].to_numpy(float)
    cache = str(Path(tempfile.gettempdir()) / "seglab_bench_ingest_cache")
    base = {"name": "minilm", "cache_dir": cache, "progress": False}
    shipped = score_texts(reviews["text"].tolist(), {**base, "head": "shipped"})
    adapter = score_texts(reviews["text"].tolist(), {**base, "head": "adapter"})
    return stars, shipped.embedding, {"shipped": shipped.score, f"adapter ({adapter.provenance['text.head']})": adapter.score}


def agreement(score: np.ndarray, stars: np.ndarray) -> dict:
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    polar = stars != 3
    positive = stars[polar] >= 4
    return {"spearman": float(spearmanr(score, stars).statistic),
            "auc_pos_vs_neg": float(roc_auc_score(positive, score[polar])),
            "sign_accuracy": float(((score[polar] > 0) == positive).mean()),
            "mean_by_star": {str(int(s)): float(score[stars == s].mean()) for s in np.unique(stars)}}


def crossfit_ratings(emb: np.ndarray, stars: np.ndarray, seed: int, folds: int = 5) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    from seglab.text.sentiment import fit_ratings_head

    out = np.full(len(stars), np.nan)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(emb, stars):
        out[test] = fit_ratings_head(emb[train], stars[train], seed=seed).score(emb[test])[0]
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fold-split seeds of the cross-fit")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--redo", action="store_true", help="measure again even if records exist at this commit")
    args = p.parse_args(argv)
    os.environ.setdefault("SEGLAB_PROGRESS", "off")
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    records = RawRecords(RAW)

    def get(key: dict, fn):
        if not args.redo and records.done(key):
            return records.find(key)["result"]
        return records.add(key, fn())["result"]

    olist = get({"part": "olist_accounting"}, olist_accounting)
    run = get({"part": "olist_run", "threads": args.threads}, lambda: olist_run(args.threads))
    retail = {s: get({"part": "retail", "suffix": s}, lambda s=s: retail_accounting(s)) for s in (".csv", ".xlsx")}

    def sentiment() -> dict:
        stars, emb, heads = review_scores()
        out = {name: agreement(score, stars) for name, score in heads.items()}
        for seed in args.seeds:
            out[f"ratings cross-fit seed {seed}"] = agreement(crossfit_ratings(emb, stars, seed), stars)
        from seglab.text.sentiment import fit_ratings_head

        out["ratings in-sample"] = agreement(fit_ratings_head(emb, stars, seed=0).score(emb)[0], stars)
        out["n_reviews"] = len(stars)
        out["stars"] = {str(int(s)): int((stars == s).sum()) for s in np.unique(stars)}
        return out

    senti = get({"part": "sentiment", "seeds": args.seeds}, sentiment)
    OUT.write_text(render(olist, run, retail, senti, args.seeds))
    print(f"wrote {OUT}")


def render(olist: dict, run: dict, retail: dict, senti: dict, seeds: list[int]) -> str:
    lines = [provenance_header("Ingest: row accounting and review sentiment on real commerce exports"),
             "Raw records: `experiments/ingest_runs.jsonl`. Timings were taken on a shared, loaded machine "
             "(wall and CPU seconds, load average in the records); the counts are exact.", "",
             "## Olist (`data=olist`, `../shared/data/olist_sample_4k`)", "",
             "| file | rows |", "|---|---|"]
    lines += [f"| {role} | {n:,} |" for role, n in olist["raw_rows"].items()]
    lines += ["", "| what the source did | rows |", "|---|---|"]
    lines += [f"| `{k}` | {v:,.0f} |" for k, v in olist["metrics"].items()]
    lines += [f"| customers kept (`customer_unique_id` with a purchase) | {olist['n_customers']:,} |",
              f"| transactions (item lines) kept | {olist['n_transactions']:,} |",
              f"| reviews kept (with text, of kept customers) | {olist['n_reviews']:,} |",
              f"| customers with more than one purchase | {olist['repeat_buyers']} |", "",
              f"Loading took {olist['wall_s']:.1f} s wall, {olist['cpu_s']:.1f} s CPU. "
              "With 2 repeat buyers among the customers kept, `frequency` is 1 and `tenure_days` equals "
              "`recency_days` for nearly everyone and the gaps are missing: Olist's behaviour features can show "
              "when, how much, how many items and which categories a customer bought, and the reviews what they "
              "thought; they cannot show loyalty, purchase rhythm or churn.", "",
              f"`{run['command']}` (DEC, text=minilm with the shipped English head): exit code {run['returncode']}, "
              f"{run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, load {run['load1_before']:.1f} before.", "",
              *[f"    {s}" for s in run["summary"]], "",
              "## The generated retail log (40,000 lines, `seglab.data.retail_log`, seed 0, `data=retail`)", "",
              "| reason | planted | counted (CSV) | counted (.xlsx) |", "|---|---|---|---|"]
    csv, xlsx = retail[".csv"], retail[".xlsx"]
    for key, n in csv["planted"].items():
        lines.append(f"| `{key}` | {n:,} | {csv['counted'][key]:,.0f} | {xlsx['counted'][key]:,.0f} |")
    lines += ["", f"Customers kept: {csv['n_customers']:,}; transactions after netting: {csv['n_transactions']:,}; "
              f"netted return rows kept for the return features: {csv['n_returns']:,}; purchase lines netted to zero "
              f"and dropped: {csv['metrics']['data/n_purchase_rows_fully_returned']:,.0f}. Reading took "
              f"{csv['wall_s']:.1f} s wall / {csv['cpu_s']:.1f} s CPU from CSV and {xlsx['wall_s']:.1f} s / "
              f"{xlsx['cpu_s']:.1f} s from .xlsx.", "",
              "## Review sentiment vs stars on Olist's Portuguese reviews", "",
              f"{senti['n_reviews']:,} reviews with text; stars: "
              + ", ".join(f"{s}: {n}" for s, n in senti["stars"].items()) + ". AUC and sign accuracy compare "
              "4-5 stars with 1-2 stars (3 left out).", "",
              "| scorer | Spearman rho | AUC | sign accuracy | mean score at 1 / 2 / 3 / 4 / 5 stars |",
              "|---|---|---|---|---|"]
    for name, a in senti.items():
        if not isinstance(a, dict) or "spearman" not in a or name.startswith("ratings cross-fit"):
            continue
        by = " / ".join(f"{a['mean_by_star'].get(str(s), float('nan')):+.2f}" for s in (1, 2, 3, 4, 5))
        lines.append(f"| {name} | {a['spearman']:.3f} | {a['auc_pos_vs_neg']:.3f} | {a['sign_accuracy']:.3f} | {by} |")
    cross = [senti[f"ratings cross-fit seed {s}"] for s in seeds]
    lines.append(f"| ratings head, cross-fitted (split seeds {', '.join(map(str, seeds))}) | "
                 f"{mean_std([c['spearman'] for c in cross])} | {mean_std([c['auc_pos_vs_neg'] for c in cross])} | "
                 f"{mean_std([c['sign_accuracy'] for c in cross])} | |")
    lines += ["", "The in-sample row is what `text.head=ratings` does in a run (the head is fitted on the "
              "reviews it scores); the cross-fitted rows are the honest estimate of how well MiniLM embeddings "
              "plus the stars rank unseen Portuguese reviews. What to use for Portuguese: `docs/data.md`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
