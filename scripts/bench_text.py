"""Benchmark the default text scorer (text=minilm, shipped head) and write experiments/text.md.

    python scripts/bench_text.py                       # accuracy + throughput, 2 torch threads
    python scripts/bench_text.py --skip-throughput     # accuracy only (uses the embedding cache)
    python scripts/bench_text.py --threads 2 --naive-n 400 --womens-n 3000 --backends auto,torch

1. Accuracy, positive vs negative, on labelled sets the shipped head was NOT trained on
   (its metadata lists its training corpora; this script refuses to run if they overlap):
   airline tweets (neutral dropped) and Amazon Alexa reviews (feedback 0/1). seglab predicts
   positive when its score >= 0 (P(positive) >= 0.5, no threshold tuned on these sets);
   VADER (vaderSentiment, compound score) predicts positive when compound >= 0.05, its
   documented convention. Accuracy and balanced accuracy for both.
2. Throughput of the scorer as `build_text_features` runs it (tokenize, length-sorted batches,
   dynamic padding, encoder, head), cache off, on ``--threads`` threads, per backend (the
   default ``auto`` = CTranslate2 int8 on CPU, and torch fp32): all airline
   tweets (neutral included), a seeded sample of Women's clothing reviews, and a naive loop
   (one review per forward pass, tokenizer called per text) on the first ``--naive-n`` tweets.
   Load average is recorded before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seglab.text import score_texts  # noqa: E402
from seglab.text.corpora import load_corpus, womens_frame  # noqa: E402
from seglab.text.encoder import TransformerRunner, mean_pool  # noqa: E402
from seglab.text.sentiment import load_shipped_head  # noqa: E402

EVAL_SETS = ("airline", "alexa")


def metrics(y, pred) -> dict:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    return {"acc": float(accuracy_score(y, pred)), "bal_acc": float(balanced_accuracy_score(y, pred))}


def accuracy_section(data_dir: str, cache_dir: str | None, backends: list[str]) -> dict:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    head = load_shipped_head()
    trained_on = set(head.meta.get("train_corpora", {}))
    if trained_on & set(EVAL_SETS):
        raise SystemExit(f"the shipped head was trained on {sorted(trained_on & set(EVAL_SETS))}: not a fair benchmark")
    vader = SentimentIntensityAnalyzer()
    out = {}
    for name in EVAL_SETS:
        df = load_corpus(name, data_dir)
        y = df["label"].to_numpy()
        compound = np.array([vader.polarity_scores(t)["compound"] for t in df["text"]])
        vad = metrics(y, (compound >= 0.05).astype(int))
        out[name] = {"n": int(len(y)), "positive_share": float(y.mean()), "vader": vad, "seglab": {}}
        for backend in backends:
            cfg = {"name": "minilm", "head": "shipped", "cache_dir": cache_dir, "progress": True, "backend": backend}
            rs = score_texts(df["text"].tolist(), cfg, skip_empty=False)
            out[name]["seglab"][backend_label(backend)] = metrics(y, (rs.score >= 0).astype(int))
        print(name, json.dumps(out[name]), flush=True)
    out["trained_on"] = head.meta.get("train_corpora", {})
    return out


def backend_label(backend: str) -> str:
    """'auto' is what text=minilm runs by default: CTranslate2 int8 on CPU when installed."""
    from seglab.text import ct2_backend

    if backend == "auto":
        backend = "ctranslate2" if ct2_backend.available() else "torch"
    return "ctranslate2 int8" if backend == "ctranslate2" else "torch fp32"


def naive_loop(texts: list[str], runner: TransformerRunner) -> float:
    """One review per forward pass: tokenizer on the single text, model, mean pool, head."""
    import torch

    head = load_shipped_head()
    t0 = time.perf_counter()
    with torch.no_grad():
        for t in texts:
            enc = runner.tokenizer(t, return_tensors="pt", truncation=True, max_length=runner.max_length)
            hidden = runner.model(**enc).last_hidden_state
            emb = torch.nn.functional.normalize(mean_pool(hidden, enc["attention_mask"]), dim=1)
            head.score(emb.numpy())
    return len(texts) / (time.perf_counter() - t0)


def throughput_section(data_dir: str, threads: int, naive_n: int, womens_n: int, seed: int,
                       airline_n: int | None, backends: list[str]) -> dict:
    """Reviews/s of `score_texts` (tokenize, batches, encoder, head) per backend, cache off."""
    import pandas as pd
    import torch

    torch.set_num_threads(threads)
    tweets = pd.read_csv(Path(data_dir) / "airline_tweets" / "Tweets.csv")["text"].astype(str).tolist()
    if airline_n:
        tweets = pd.Series(tweets).sample(n=min(airline_n, len(tweets)), random_state=seed).tolist()
    w = womens_frame(data_dir)
    reviews = w["Review Text"].dropna().astype(str)
    reviews = reviews.sample(n=min(womens_n, len(reviews)), random_state=seed).tolist()
    res = {"threads": threads, "loadavg_before": os.getloadavg(), "backends": {}}
    minilm_cfg = {k: v for k, v in _minilm_defaults().items() if k in ("batch_size", "compute_type")}
    torch_runner = None
    for backend in backends:
        batch_size = int(minilm_cfg["batch_size"]) if backend != "torch" else 64
        runner = TransformerRunner(None, batch_size=batch_size, max_length=256, progress=False, backend=backend,
                                   compute_type=minilm_cfg["compute_type"], num_threads=threads,
                                   convert_dir=ROOT / ".cache" / "ct2")
        torch_runner = runner if runner.backend == "torch" else torch_runner
        cfg = {"name": "minilm", "head": "shipped", "cache_dir": None, "batch_size": batch_size}
        score_texts(tweets[:256], cfg, runner=runner)  # warm-up (allocator, kernels)

        def timed(texts, runner=runner, cfg=cfg):
            t0 = time.perf_counter()
            score_texts(texts, cfg, runner=runner)
            return len(texts) / (time.perf_counter() - t0)

        r = {"batch_size": batch_size}
        r["airline"] = {"n": len(tweets), "mean_tokens": float(np.mean([len(x) for x in runner.tokenize(tweets)])),
                        "reviews_per_s": timed(tweets)}
        r["batched_same_texts"] = {"n": naive_n, "reviews_per_s": timed(tweets[:naive_n])}
        r["womens"] = {"n": len(reviews), "mean_tokens": float(np.mean([len(x) for x in runner.tokenize(reviews)])),
                       "reviews_per_s": timed(reviews)}
        res["backends"][backend_label(backend)] = r
        print(backend_label(backend), r, flush=True)
    if torch_runner is None:
        torch_runner = TransformerRunner(None, max_length=256, progress=False, backend="torch", num_threads=threads)
    res["naive_airline"] = {"n": naive_n, "reviews_per_s": naive_loop(tweets[:naive_n], torch_runner)}
    res["default"] = backend_label(backends[0])
    res["speedup_vs_naive"] = (res["backends"][res["default"]]["batched_same_texts"]["reviews_per_s"]
                               / res["naive_airline"]["reviews_per_s"])
    print("naive", res["naive_airline"], "speedup", res["speedup_vs_naive"], flush=True)
    res["loadavg_after"] = os.getloadavg()
    return res


def _minilm_defaults() -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "text" / "minilm.yaml"))


PROFILE_COLUMNS = ("Rating", "Recommended IND", "Age", "text_has_reviews", "text_sent_mean", "text_share_negative")


#: (label, model, text, extra overrides) compared on data=womens_reviews
WOMENS_VARIANTS = {
    "kmeans, text=none": ("kmeans", "none", []),
    "kmeans, text=minilm": ("kmeans", "minilm", []),
    "kmeans, text=minilm, unweighted": ("kmeans", "minilm", ["features.preprocess.block_weights=null"]),
    "dec, text=none": ("dec", "none", []),
    "dec, text=minilm": ("dec", "minilm", []),
    "multimodal (idec), text=minilm": ("multimodal", "minilm", []),
}
DEEP_MODELS = ("dec", "idec", "multimodal")


def womens_section(data_dir: str, log_dir: str, seeds: list[int], deep_seeds: list[int], n_clusters: int,
                   threads: int, max_rows: int | None = None) -> dict:
    """data=womens_reviews: tabular-only vs tabular+text, every variant through `seglab.train.run`
    (what `python train.py data=womens_reviews model=... text=...` does). Labels are also scored on
    the tabular-only matrix, which is the same for every row, so those columns compare across rows."""
    import pandas as pd
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from sklearn.metrics import adjusted_rand_score

    from seglab.evaluate import evaluate_clustering
    from seglab.train import customer_features, make_preprocessor, run

    os.environ["SEGLAB_SHARED_DATA"] = str(Path(data_dir).resolve())

    def cfg_for(text: str, model: str, seed: int, extra: list[str] = ()):
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            return compose("config", overrides=[
                f"log_dir={log_dir}", "data=womens_reviews", f"text={text}", f"model={model}", "logger=none",
                f"seed={seed}", f"n_clusters={n_clusters}", f"num_threads={threads}",
                *([f"data.max_rows={max_rows}"] if max_rows else []), *extra])

    base = cfg_for("minilm", "kmeans", seeds[0])
    data = instantiate(base.data, _convert_="all").load()
    joined = customer_features(base, data)
    tab_cfg = cfg_for("none", "kmeans", seeds[0])
    X_tab = make_preprocessor(tab_cfg).fit_transform(customer_features(tab_cfg, data))
    pre_all = make_preprocessor(base).fit(joined)
    profile_frame = joined.join(data.customers.set_index("customer_id")[["Rating", "Recommended IND", "Age"]],
                                rsuffix="_attr") if "Rating" not in joined.columns else joined

    def internal(X, labels, seed):
        m, _ = evaluate_clustering(X, labels, random_state=seed)
        return {k: m[f"eval/{k}"] for k in ("silhouette", "calinski_harabasz", "davies_bouldin")}

    def profile(labels):
        df = pd.DataFrame({c: pd.to_numeric(profile_frame[c], errors="coerce").to_numpy() for c in PROFILE_COLUMNS
                           if c in profile_frame.columns})
        df["segment"] = labels
        out = df.groupby("segment").mean()
        out.insert(0, "share", df.groupby("segment").size() / len(df))
        return out.round(3).reset_index().to_dict(orient="records")

    rows, profiles, tabular_labels = [], {}, {}
    for name, (model, txt, extra) in WOMENS_VARIANTS.items():
        for seed in deep_seeds if model in DEEP_MODELS else seeds:
            t0 = time.perf_counter()
            res = run(cfg_for(txt, model, seed, extra), run_dir=Path(log_dir) / "bench" / f"{name}_{seed}".replace(" ", ""))
            row = {"variant": name, "model": model, "text": txt, "seed": seed, "overrides": extra,
                   "n_features": int(res.metrics["data/n_features"]),
                   "own": {k.split("/")[1]: res.metrics[k] for k in ("eval/silhouette", "eval/calinski_harabasz", "eval/davies_bouldin")},
                   "on_tabular": internal(X_tab, res.labels, seed), "seconds": time.perf_counter() - t0}
            if txt == "none":
                tabular_labels[(model, seed)] = res.labels
            elif (model, seed) in tabular_labels:
                row["ari_vs_tabular_only"] = float(adjusted_rand_score(tabular_labels[(model, seed)], res.labels))
            rows.append(row)
            if seed == (deep_seeds if model in DEEP_MODELS else seeds)[0]:
                profiles[name] = profile(res.labels)
            print(json.dumps(row), flush=True)
    return {"rows": rows, "profiles": profiles, "n_customers": int(data.n_customers),
            "n_with_reviews": int(joined["text_has_reviews"].sum()), "n_clusters": n_clusters,
            "text_columns_kept": [c for c in pre_all.feature_names_out_ if c.startswith("text_")]}


def write_markdown(acc: dict | None, thr: dict | None, path: Path, command: str, womens: dict | None = None) -> None:
    lines = ["# Text path: sentiment accuracy and throughput", "",
             f"Written by `{command}` on {platform.node() or 'this machine'} ({os.cpu_count()} CPUs, "
             "torch CPU) from the raw numbers in `experiments/text_bench.json`; each section names the command "
             "that measured it.", ""]
    if acc:
        trained = ", ".join(f"{k} ({v})" for k, v in acc["trained_on"].items())
        lines += [
            "## Sentiment accuracy (positive vs negative) on sets the head was not trained on", "",
            f"The shipped head (`src/seglab/assets/sentiment_head_minilm.npz`) was trained on {trained} only; "
            "airline tweets and Alexa reviews were never seen, not even for model selection. "
            "seglab: positive if score >= 0. VADER: positive if compound >= 0.05.", "",
        ]
        if acc.get("command"):
            lines += [f"Command: `{acc['command']}`", ""]
        labels = list(acc[EVAL_SETS[0]]["seglab"])
        lines += ["| set | n | positive share | VADER acc | VADER bal. acc | "
                  + " | ".join(f"{b} acc | {b} bal. acc" for b in labels)
                  + f" | gain of {labels[0]} (headline metric) |",
                  "|---|---|---|---|---|" + "---|---|" * len(labels) + "---|"]
        for name, headline in (("airline", "acc"), ("alexa", "bal_acc")):
            r = acc[name]
            ours = r["seglab"]
            gain = 100 * (ours[labels[0]][headline] - r["vader"][headline])
            lines.append(
                f"| {name} | {r['n']} | {r['positive_share']:.3f} | {r['vader']['acc']:.3f} | {r['vader']['bal_acc']:.3f} | "
                + " | ".join(f"{ours[b]['acc']:.3f} | {ours[b]['bal_acc']:.3f}" for b in labels)
                + f" | {gain:+.1f} points ({'accuracy' if headline == 'acc' else 'balanced accuracy'}) |")
        lines += ["", f"`{labels[0]}` is what `text=minilm` runs by default on CPU (`text.backend=auto`).", ""]
    if thr and "backends" in thr:
        lines += [
            f"## Throughput ({thr['threads']} threads, cache off)", "",
            f"Load average before/after: {tuple(round(x, 2) for x in thr['loadavg_before'])} / "
            f"{tuple(round(x, 2) for x in thr['loadavg_after'])} (the machine has {os.cpu_count()} cores; "
            "other jobs sharing it lower these numbers). Reviews/s of the whole scorer (tokenize, "
            "length-sorted batches, encoder, head)." + (f" Command: `{thr['command']}`." if thr.get("command") else ""), "",
            "| backend | batch | airline tweets (all) | first "
            f"{thr['naive_airline']['n']} tweets | Women's reviews (seeded sample) |", "|---|---|---|---|---|",
        ]
        for b, r in thr["backends"].items():
            default = " (default)" if b == thr["default"] else ""
            lines.append(f"| {b}{default} | {r['batch_size']} | {r['airline']['reviews_per_s']:.0f} | "
                         f"{r['batched_same_texts']['reviews_per_s']:.0f} | {r['womens']['reviews_per_s']:.0f} |")
        first = next(iter(thr["backends"].values()))
        lines += [
            f"| naive loop: torch fp32, one review per forward pass | 1 | | {thr['naive_airline']['reviews_per_s']:.0f} | |",
            "", f"Texts: {first['airline']['n']} tweets, mean {first['airline']['mean_tokens']:.1f} tokens; "
            f"{first['womens']['n']} Women's reviews, mean {first['womens']['mean_tokens']:.1f} tokens. "
            f"Speed-up of the default over the naive loop on the same texts: **{thr['speedup_vs_naive']:.1f}x**.", "",
        ]
    if womens:
        lines += [
            f"## data=womens_reviews: tabular-only vs tabular + text (k = {womens['n_clusters']})", "",
            f"{womens['n_customers']} customers, {womens['n_with_reviews']} with a review text. Text columns the "
            f"preprocessor kept: {', '.join(womens['text_columns_kept'])}. 'own space' = the metrics of the run "
            "itself (tabular+text runs are scored on their larger feature space, so those numbers are not "
            "comparable across rows); 'on tabular' = the same labels scored on the tabular-only matrix "
            "(comparable across rows). Silhouette/CH higher and DB lower is better.", "",
            *([f"Command: `{womens['command']}`. Unweighted = `features.preprocess.block_weights=null` (every text "
               "column counts as a full feature; the default weighs the whole text block as one feature). "
               "The multimodal model balances its two branches itself, so it never gets block weights.", ""]
              if womens.get("command") else []),
            "Mean ± std over the seeds listed (one value when one seed):", "",
            "| variant | seeds | features | silhouette (own) | CH (own) | DB (own) | silhouette (on tabular) | "
            "CH (on tabular) | DB (on tabular) | ARI vs same model, text=none | s per run |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        by_variant: dict[str, list] = {}
        for r in womens["rows"]:
            by_variant.setdefault(r.get("variant", f"{r['model']}, text={r['text']}"), []).append(r)

        def cell(values, fmt):
            v = np.asarray(values, dtype=float)
            return f"{v.mean():{fmt}}" + (f" ± {v.std(ddof=1):{fmt}}" if len(v) > 1 else "") if len(v) else ""

        for name, rs in by_variant.items():
            seeds = ",".join(str(r["seed"]) for r in rs)
            metrics = [cell([r[space][m] for r in rs], fmt) for space in ("own", "on_tabular")
                       for m, fmt in (("silhouette", ".3f"), ("calinski_harabasz", ".0f"), ("davies_bouldin", ".3f"))]
            ari = cell([r["ari_vs_tabular_only"] for r in rs if "ari_vs_tabular_only" in r], ".3f")
            lines.append(f"| {name} | {seeds} | {rs[0]['n_features']} | " + " | ".join(metrics)
                         + f" | {ari} | {cell([r['seconds'] for r in rs], '.0f')} |")
        lines += ["", "### Segment profiles (first seed; means per segment, sentiment in [-1, 1])", ""]
        for name, prof in womens["profiles"].items():
            cols = list(prof[0].keys())
            lines += [f"**{name}**", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            lines += ["| " + " | ".join(str(row[c]) for c in cols) + " |" for row in prof]
            lines.append("")
    keep = path.read_text().split("<!-- bench_text.py ends here -->", 1)[1] if path.exists() and "<!-- bench_text.py ends here -->" in path.read_text() else ""
    path.write_text("\n".join(lines) + "\n<!-- bench_text.py ends here -->" + (keep or "\n"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--cache-dir", default=str(ROOT / ".cache" / "text"), help="embedding cache for the accuracy part")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backends", default="auto,torch", help="first = the default text=minilm runs (auto)")
    ap.add_argument("--naive-n", type=int, default=400)
    ap.add_argument("--womens-n", type=int, default=3000)
    ap.add_argument("--airline-n", type=int, default=None, help="seeded sample of the tweets (default: all 14,640)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--womens", action="store_true", help="also run the womens_reviews tabular vs tabular+text comparison")
    ap.add_argument("--womens-log-dir", default=str(ROOT / "logs" / "womens"), help="log_dir of those runs (its text_cache is reused)")
    ap.add_argument("--womens-seeds", default="0")
    ap.add_argument("--womens-deep-seeds", default="0", help="seeds of the deep variants (dec, multimodal)")
    ap.add_argument("--womens-max-rows", type=int, default=None, help="first N rows only (a quick check)")
    ap.add_argument("--n-clusters", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "experiments" / "text.md"))
    args = ap.parse_args(argv)
    command = "python scripts/bench_text.py " + " ".join(argv if argv is not None else sys.argv[1:])
    raw_path = ROOT / "experiments" / "text_bench.json"
    raw = json.loads(raw_path.read_text()) if raw_path.exists() else {}
    if not args.skip_accuracy:
        raw["accuracy"] = accuracy_section(args.data_dir, args.cache_dir, args.backends.split(","))
        raw["accuracy"]["command"] = command.strip()
    if not args.skip_throughput:
        raw["throughput"] = throughput_section(args.data_dir, args.threads, args.naive_n, args.womens_n, args.seed,
                                               args.airline_n, args.backends.split(","))
        raw["throughput"]["command"] = command.strip()
    if args.womens:
        raw["womens"] = womens_section(args.data_dir, args.womens_log_dir, [int(x) for x in args.womens_seeds.split(",")],
                                       [int(x) for x in args.womens_deep_seeds.split(",")], args.n_clusters,
                                       args.threads, args.womens_max_rows)
        raw["womens"]["command"] = command.strip()
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.write_text(json.dumps(raw, indent=1) + "\n")
    write_markdown(raw.get("accuracy"), raw.get("throughput"), Path(args.out), command.strip(), raw.get("womens"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
