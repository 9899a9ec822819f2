"""Scale benchmark: time per stage and peak memory from 10^4 to 10^7 customers -> experiments/scale.md.

Every measurement is a child process (the user's commands), timed for wall and CPU seconds, with
the peak RSS of its whole process tree (a JVM or worker processes included) sampled every 0.2 s
with psutil. Raw records go to ``experiments/scale_runs.jsonl`` (``benchlib``): an interrupted
run resumes where it stopped, and ``--table-only`` rewrites the table from the records.

For each size N (``--sizes``) and data seed (the run seed, as in the default config):

1. **generate**: ``python -m seglab.data.synthetic_parquet --n-customers N --seed S`` writes the
   synthetic data as partitioned Parquet (reused from ``--data-dir`` when already complete);
2. **text** (``--text minilm``): the reviews scored once with an empty text cache (first scoring:
   reviews/s, distinct texts) and again (cache hits), so that model runs exclude first scoring;
3. **run**: ``python train.py data=synthetic_parquet data.path=... model=M seed=S`` per model,
   with the stage times the run records itself in metrics.json (``time/data_s`` read and check,
   ``time/features_s``, ``time/text_s``, ``time/fit_s``, ``time/evaluate_s``) and its ARI.

``--features-bar N`` measures the features bar on its own: transactions from Parquet on disk to
the in-memory feature table, DuckDB (on disk) vs the pandas path (read into memory), in the same
invocation, and checks that both give the same table.

    python scripts/bench_scale.py --sizes 1e4 1e5 --models kmeans dec --seeds 0
    python scripts/bench_scale.py --sizes 1e4 1e5 --models kmeans dec --seeds 0 --review-corpus   # diverse text
    python scripts/bench_scale.py --features-bar 1e6 --sizes
    python scripts/bench_scale.py --sizes 1e6 1e7 --models kmeans dec idec --seeds 0 1 2   # long

Quality (ARI) is measured on the default synthetic data (templated review text); the text stage's
throughput means something only with ``--review-corpus`` (real sentences, distinct texts growing
with N). Rows and records say which.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, RawRecords, load_average, mean_std, provenance_header  # noqa: E402

OUT = ROOT / "experiments" / "scale.md"
DEFAULT_CORPUS = Path(os.environ.get("SEGLAB_SHARED_DATA", ROOT.parent / "shared" / "data")) / \
    "womens_clothing_reviews" / "Womens_Clothing_E-Commerce_Reviews.csv.zip"
STAGES = ("data_s", "features_s", "text_s", "fit_s", "evaluate_s")


def measure(cmd: list[str], env: dict | None = None, timeout: float | None = None) -> dict:
    """Run ``cmd``; wall and CPU seconds of the child tree and the peak of its summed RSS."""
    import psutil

    t0, c0 = time.perf_counter(), os.times()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak, stop = [0], threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
            while not stop.is_set():
                rss = 0
                for p in [root, *root.children(recursive=True)]:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak[0] = max(peak[0], rss)
                stop.wait(0.2)
        except psutil.Error:
            pass

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    load = load_average()[0]
    out, err = proc.communicate(timeout=timeout)
    stop.set()
    thread.join()
    c1 = os.times()
    return {"returncode": proc.returncode, "wall_s": time.perf_counter() - t0,
            "cpu_s": (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system),
            "peak_rss_gib": peak[0] / 2**30, "load1_before": load, "load1_after": load_average()[0],
            "stdout": out[-4000:], "stderr": err[-4000:]}


def _check(result: dict, what: str) -> dict:
    if result["returncode"] != 0:
        raise SystemExit(f"{what} failed (exit {result['returncode']}):\n{result['stderr'][-3000:]}")
    return result


def dataset_dir(args, n: int, seed: int) -> Path:
    corpus = "corpus" if args.review_corpus else "templated"
    return Path(args.data_dir) / f"syn_n{n}_seed{seed}_{corpus}"


def generate(args, records: RawRecords, n: int, seed: int) -> Path:
    out = dataset_dir(args, n, seed)
    key = {"stage": "generate", "n": n, "seed": seed, "corpus": bool(args.review_corpus)}
    if records.done(key) and (out / "dataset.json").exists():
        return out
    cmd = [sys.executable, "-m", "seglab.data.synthetic_parquet", "--n-customers", str(n), "--seed", str(seed),
           "--out", str(out), "--overwrite"]
    if args.review_corpus:
        cmd += ["--review-corpus", str(args.review_corpus)]
    r = _check(measure(cmd), "generate")
    info = json.loads((out / "dataset.json").read_text())
    records.add(key, {**_public(r), "n_transactions": info["n_transactions"], "n_reviews": info["n_reviews"]})
    print(f"generate n={n} seed={seed}: {r['wall_s']:.1f} s wall, {r['peak_rss_gib']:.2f} GiB", flush=True)
    return out


def _public(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("stdout", "stderr")}


def text_throughput(args, records: RawRecords, n: int, seed: int, data: Path) -> None:
    key = {"stage": "text", "n": n, "seed": seed, "corpus": bool(args.review_corpus)}
    if records.done(key):
        return
    cache = Path(args.data_dir) / f"text_cache_n{n}_seed{seed}"
    result = {}
    for attempt in ("first", "cached"):
        r = _check(measure([sys.executable, __file__, "_text", str(data), str(cache)]), f"text ({attempt})")
        info = json.loads(r["stdout"].strip().splitlines()[-1])
        result[attempt] = {**_public(r), **info}
        print(f"text n={n} {attempt}: {info['n_reviews']} reviews ({info['n_distinct']} distinct) in "
              f"{info['score_s']:.1f} s = {info['n_reviews'] / info['score_s']:.0f} reviews/s", flush=True)
    records.add(key, result)


def run_model(args, records: RawRecords, n: int, seed: int, model: str, data: Path) -> None:
    key = {"stage": "run", "n": n, "seed": seed, "model": model, "text": args.text, "corpus": bool(args.review_corpus)}
    if records.done(key):
        return
    with tempfile.TemporaryDirectory(prefix="seglab-scale-") as tmp:
        cmd = [sys.executable, "train.py", "data=synthetic_parquet", f"data.path={data}", f"model={model}",
               f"seed={seed}", f"text={args.text}", f"log_dir={tmp}", "logger.mlflow=false", *args.extra]
        env = {"SEGLAB_TEXT_CACHE": str(Path(args.data_dir) / f"text_cache_n{n}_seed{seed}")}
        r = _check(measure(cmd, env=env), f"train.py {model} n={n}")
        run_dir = next(line.split("run dir:", 1)[1].strip() for line in r["stdout"].splitlines() if "run dir:" in line)
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())["metrics"]
    result = {**_public(r), "ari": metrics.get("eval/ari"),
              **{s: metrics.get(f"time/{s}") for s in STAGES}, "reports_s": metrics.get("time/reports_s")}
    records.add(key, result)
    print(f"run n={n} seed={seed} {model}: ARI {result['ari']:.3f}, {r['wall_s']:.1f} s wall, "
          f"{r['cpu_s']:.1f} s CPU, {r['peak_rss_gib']:.2f} GiB", flush=True)


def features_bar(args, records: RawRecords, n: int) -> None:
    data = generate(args, records, n, 0)
    key = {"stage": "features_bar", "n": n}
    if records.done(key):
        return
    result = {}
    with tempfile.TemporaryDirectory(prefix="seglab-bar-") as tmp:
        for engine in ("duckdb", "pandas"):
            out = Path(tmp) / f"{engine}.parquet"
            r = _check(measure([sys.executable, __file__, "_features", str(data), engine, str(out)]), f"features {engine}")
            result[engine] = {**_public(r), **json.loads(r["stdout"].strip().splitlines()[-1])}
            print(f"features bar n={n} {engine}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, "
                  f"{r['peak_rss_gib']:.2f} GiB", flush=True)
        import numpy as np
        import pandas as pd

        a, b = pd.read_parquet(Path(tmp) / "pandas.parquet"), pd.read_parquet(Path(tmp) / "duckdb.parquet")
        same_cols = list(a.columns) == list(b.columns) and (a.index.astype(str) == b.index.astype(str)).all()
        diff = max(float(np.nanmax(np.abs(a[c].to_numpy() - b[c].to_numpy()) / np.maximum(1.0, np.abs(a[c].to_numpy()))))
                   for c in a.columns) if same_cols else float("nan")
        result["same_table"] = bool(same_cols and diff <= 1e-9)
        result["max_rel_diff"] = diff
    records.add(key, result)


# --- child processes -------------------------------------------------------------------------------------------
def _child_features(data: str, engine: str, out: str) -> None:
    import pandas as pd

    from seglab.data import TransactionsSource
    from seglab.features import build_features

    t0 = time.perf_counter()
    info = json.loads((Path(data) / "dataset.json").read_text())
    source = TransactionsSource(path=str(Path(data) / "transactions"), quantity="quantity", category="category",
                                reference_date=info["reference_date"], in_memory=engine == "pandas")
    loaded = source.load()
    t1 = time.perf_counter()
    feats = build_features(loaded, engine=engine, attributes="none")
    t2 = time.perf_counter()
    feats.index = feats.index.astype(str)
    pd.DataFrame(feats).to_parquet(out)
    print(json.dumps({"rows": info["n_transactions"], "customers": len(feats), "load_s": t1 - t0,
                      "features_s": t2 - t1, "table_s": t2 - t0}))


def _child_text(data: str, cache: str) -> None:
    import pandas as pd
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from seglab.text.features import score_texts

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"text.cache_dir={cache}", "text.progress=false"])
    texts = pd.read_parquet(Path(data) / "reviews.parquet", columns=["text"])["text"].tolist()
    t0 = time.perf_counter()
    score_texts(texts, OmegaConf.to_container(cfg.text, resolve=True))
    print(json.dumps({"n_reviews": len(texts), "n_distinct": len(set(texts)), "score_s": time.perf_counter() - t0}))


# --- table -----------------------------------------------------------------------------------------------------
def growth_exponent(sizes: list[float], times: list[float]) -> float:
    """b of time = a·N^b by least squares on log-log (NaN with fewer than two sizes)."""
    pts = [(math.log(n), math.log(t)) for n, t in zip(sizes, times, strict=True) if t and t > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def _mean(values) -> float:
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return sum(vals) / len(vals) if vals else float("nan")


def _f(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def write_table(records: RawRecords, args) -> None:
    recs = records.records if args.reuse_any_commit else [r for r in records.records if r["commit"] == records.commit]
    latest: dict[str, dict] = {}
    for r in recs:
        latest[json.dumps(r["key"], sort_keys=True)] = r
    runs = [r for r in latest.values() if r["key"]["stage"] == "run"]
    gens = {(r["key"]["n"], r["key"]["seed"], r["key"]["corpus"]): r["result"] for r in latest.values()
            if r["key"]["stage"] == "generate"}
    lines = [provenance_header(
        "Scale: time per stage and peak memory from 10^4 to 10^7 customers",
        extra=["Wall seconds measured on a shared 2-core machine are inflated by other engineers' jobs: CPU seconds "
               "and the load averages are in the raw records (`experiments/scale_runs.jsonl`); quality (ARI) is what "
               "the load does not change. Each cell is the mean over the seeds listed.  "]),
        "## Stage times (seconds, wall) and peak memory of the run's process tree", "",
        "| N | model | text | seeds | generate | read+check | features | text | fit | evaluate | run wall | run CPU | "
        "total wall | peak RSS GiB | ARI |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        k = r["key"]
        groups.setdefault((k["n"], k["model"], k["text"], k["corpus"]), []).append(r)
    growth: dict[tuple, dict[int, dict[str, float]]] = {}
    for (n, model, text, corpus), rs in sorted(groups.items()):
        res = [r["result"] for r in rs]
        seeds = sorted(r["key"]["seed"] for r in rs)
        gen = _mean(gens.get((n, s, corpus), {}).get("wall_s") for s in seeds)
        cells = {s: _mean(x.get(s) for x in res) for s in STAGES}
        wall, cpu = _mean(x["wall_s"] for x in res), _mean(x["cpu_s"] for x in res)
        growth.setdefault((model, text, corpus), {})[n] = {"generate": gen, **cells, "run wall": wall}
        lines.append(f"| {n:,} | {model} | {text}{' (corpus)' if corpus else ''} | {','.join(map(str, seeds))} | "
                     f"{_f(gen)} | {_f(cells['data_s'])} | {_f(cells['features_s'])} | {_f(cells['text_s'])} | "
                     f"{_f(cells['fit_s'])} | {_f(cells['evaluate_s'])} | {_f(wall)} | {_f(cpu)} | {_f(gen + wall)} | "
                     f"{_f(max(x['peak_rss_gib'] for x in res), 2)} | {mean_std(x['ari'] for x in res)} |")
    lines += ["", "## Growth exponent b (time ∝ N^b), least squares on the sizes measured", "",
              "| model | text | sizes | generate | read+check | features | text | fit | evaluate | run wall |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for (model, text, corpus), by_n in sorted(growth.items()):
        sizes = sorted(by_n)
        cols = ["generate", *STAGES, "run wall"]
        bs = [growth_exponent(sizes, [by_n[n][c] for n in sizes]) for c in cols]
        lines.append(f"| {model} | {text}{' (corpus)' if corpus else ''} | {', '.join(f'{n:,}' for n in sizes)} | "
                     + " | ".join(_f(b, 2) for b in bs) + " |")
    texts = sorted((r for r in latest.values() if r["key"]["stage"] == "text"), key=lambda r: r["key"]["n"])
    if texts:
        lines += ["", "## Text stage: first scoring vs a rerun on the cache", "",
                  "| N | seed | review text | reviews | distinct texts | first: s (reviews/s) | CPU s | "
                  "cached: s (reviews/s) | load |", "|---|---|---|---|---|---|---|---|---|"]
        for r in texts:
            a, b = r["result"]["first"], r["result"]["cached"]
            source = "real sentences (corpus)" if r["key"]["corpus"] else "templated"
            lines.append(f"| {r['key']['n']:,} | {r['key']['seed']} | {source} | {a['n_reviews']:,} | {a['n_distinct']:,} | "
                         f"{a['score_s']:.1f} ({a['n_reviews'] / a['score_s']:.0f}) | {a['cpu_s']:.1f} | "
                         f"{b['score_s']:.1f} ({b['n_reviews'] / b['score_s']:.0f}) | {a['load1_before']:.1f} |")
    bars = [r for r in latest.values() if r["key"]["stage"] == "features_bar"]
    if bars:
        lines += ["", "## Features bar: Parquet on disk -> in-memory feature table", "",
                  "Transactions only (read, check, features; no attributes, no text), same invocation for both engines. "
                  "Bar: under 60 s wall, under 4 GiB, at least 3x faster than pandas.", "",
                  "| N | rows | engine | read+check s | features s | wall s | CPU s | peak RSS GiB | speed-up (wall) | "
                  "same table | load |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in sorted(bars, key=lambda r: r["key"]["n"]):
            res = r["result"]
            for engine in ("duckdb", "pandas"):
                e = res[engine]
                speed = res["pandas"]["wall_s"] / e["wall_s"]
                lines.append(f"| {r['key']['n']:,} | {e['rows']:,} | {engine} | {e['load_s']:.1f} | "
                             f"{e['features_s']:.1f} | {e['wall_s']:.1f} | {e['cpu_s']:.1f} | {e['peak_rss_gib']:.2f} | "
                             f"{speed:.1f}x | {res['same_table']} (max rel. diff {res['max_rel_diff']:.1e}) | "
                             f"{e['load1_before']:.1f} |")
    ibis = ROOT / "experiments" / "scale_sql_vs_ibis.jsonl"
    if ibis.exists():
        lines += ["", "## How the feature definition is written: SQL vs Ibis (both on DuckDB)", "",
                  "`scripts/bench_sql_vs_ibis.py`: the same core features written as SQL text and as Ibis 12 "
                  "expressions, on the same Parquet transactions, 2 DuckDB threads.", "",
                  "| approach | rows | wall s | CPU s | peak RSS GiB | load | date |", "|---|---|---|---|---|---|---|"]
        for r in RawRecords(ibis, any_commit=True).records:
            x = r["result"]
            lines.append(f"| {r['key']['approach']}{' ' + x['ibis'] if 'ibis' in x else ''} | {x['rows']:,} | "
                         f"{x['wall_s']:.1f} | {x['cpu_s']:.1f} | {x['peak_rss_gib']:.2f} | {x['load1_before']:.1f} | "
                         f"{r['time'][:16]} |")
    notes = ROOT / "experiments" / "scale_notes.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


def main() -> None:
    global OUT
    if len(sys.argv) > 1 and sys.argv[1] == "_features":
        return _child_features(*sys.argv[2:5])
    if len(sys.argv) > 1 and sys.argv[1] == "_text":
        return _child_text(*sys.argv[2:4])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="*", type=float, default=[1e4, 1e5], help="numbers of customers")
    p.add_argument("--models", nargs="+", default=["kmeans", "dec"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--text", default="minilm", help="text config of the runs (minilm or none)")
    p.add_argument("--review-corpus", nargs="?", const=str(DEFAULT_CORPUS), default=None,
                   help="draw review text from a real corpus (default file: the women's clothing reviews) instead "
                        "of the templated default; quality bars are on the default data, text timings on the corpus")
    p.add_argument("--features-bar", nargs="*", type=float, default=[], help="sizes for the features bar")
    p.add_argument("--data-dir", default=os.environ.get("SEGLAB_SCALE_DATA", "/tmp/seglab_bench_scale"),
                   help="where datasets and text caches are kept between invocations")
    p.add_argument("--extra", nargs="*", default=[], help="more train.py overrides")
    p.add_argument("--out", default=str(ROOT / "experiments" / "scale.md"), help="the table (raw records beside it, *_runs.jsonl)")
    p.add_argument("--table-only", action="store_true")
    p.add_argument("--reuse-any-commit", action="store_true", help="use records made at other commits")
    args = p.parse_args()
    args.review_corpus = args.review_corpus or None
    OUT = Path(args.out)
    records = RawRecords(OUT.with_name(OUT.stem + "_runs.jsonl"), any_commit=args.reuse_any_commit)
    if not args.table_only:
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
        for n in [int(x) for x in args.features_bar]:
            features_bar(args, records, n)
        for n in [int(x) for x in args.sizes]:
            for seed in args.seeds:
                data = generate(args, records, n, seed)
                if args.text != "none":
                    text_throughput(args, records, n, seed, data)
                for model in args.models:
                    run_model(args, records, n, seed, model, data)
                    write_table(records, args)
    write_table(records, args)


if __name__ == "__main__":
    main()
