"""How much the sentiment adapter's gains depend on its training seed (experiments/adapter_seeds.md).

    python scripts/bench_adapter_seeds.py --seeds 0,1,2

The shipped adapter is one training run (seed 0). This script trains the same recipe with other
seeds (``scripts/train_sentiment_adapter.py --seed S``, into ``.cache/adapter_seeds/``; seed 0 is
the shipped file itself), scores every held-out set of ``scripts/bench_text.py`` with each
(CTranslate2 int8, the default backend; positive when score >= 0, nothing tuned), and writes the
balanced accuracy / accuracy per seed, mean ± std over seeds, and the gain over the shipped
frozen head (int8) per seed. Nothing is selected here: the shipped file stays seed 0 whatever
this table says. Raw records: ``experiments/adapter_seeds_runs.jsonl`` (keyed by commit unless
``--reuse-any-commit``); training runs are recorded with wall and CPU seconds and the load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_text import SETS, TRAIN_SPLIT_HEAD, load_set, metrics, pack  # noqa: E402
from benchlib import RawRecords, load_average, mean_std, provenance_header, run_timed  # noqa: E402
from seglab.text import score_texts  # noqa: E402

SHIPPED = ROOT / "src" / "seglab" / "assets" / "sentiment_adapter_minilm.npz"
LABELS = {"airline": "airline tweets (never trained on)", "alexa": "Alexa reviews (never trained on)",
          "rotten_tomatoes_test": "Rotten Tomatoes, test split", "womens_test": "Women's reviews, test split",
          "womens_test_unseen": "Women's test split, minus the shipped head's training texts",
          "beauty_test": "Amazon Beauty, test split (in-sample for the shipped head)"}


def adapter_file(seed: int, work: Path) -> Path:
    return SHIPPED if seed == 0 else work / f"adapter_seed{seed}.npz"


def train(records: RawRecords, seed: int, work: Path, data_dir: str) -> None:
    out = adapter_file(seed, work)
    if seed == 0 or out.exists():
        return
    cmd = [sys.executable, "scripts/train_sentiment_adapter.py", "--epochs", "1", "--seed", str(seed),
           "--data-dir", data_dir, "--out", str(out), "--work-dir", str(work / f"work_seed{seed}")]
    print("training:", " ".join(cmd), flush=True)
    r = run_timed(cmd)
    if r["returncode"] != 0:
        raise SystemExit(f"training seed {seed} failed:\n{r['stderr'][-3000:]}")
    records.add({"section": "train", "seed": seed},
                {k: r[k] for k in ("wall_s", "cpu_s", "load1_before")} | {"load1_after": load_average()[0]})


def score(records: RawRecords, seeds: list[int], work: Path, data_dir: str, cache_dir: str) -> None:
    for name in SETS:
        df = None
        for scorer in ["shipped", "train-split head"] + [f"adapter seed {s}" for s in seeds]:
            key = {"section": "accuracy", "set": name, "scorer": scorer}
            if records.done(key):
                continue
            df = load_set(name, data_dir) if df is None else df
            y = df["label"].to_numpy()
            cfg = {"name": "minilm", "backend": "ctranslate2", "cache_dir": cache_dir, "num_threads": 2}
            if scorer == "shipped":
                cfg["head"] = "shipped"
            elif scorer == "train-split head":
                cfg["head"] = str(TRAIN_SPLIT_HEAD)
            else:
                cfg |= {"head": "adapter", "adapter": str(adapter_file(int(scorer.rsplit(" ", 1)[1]), work))}
            rs = score_texts(df["text"].tolist(), cfg, skip_empty=False)
            if scorer.startswith("adapter") and rs.provenance.get("text.head") != "adapter":
                raise SystemExit(f"{scorer}: the adapter was refused ({rs.provenance})")
            pred = (rs.score >= 0).astype(int)
            records.add(key, {"n": int(len(y)), "labels": pack(y), "pred": pack(pred), **metrics(y, pred),
                              "adapter_sha256": rs.provenance.get("text.adapter_sha256", "")})
            print(name, scorer, round(metrics(y, pred)[SETS[name]], 4), flush=True)


def table(records: RawRecords, seeds: list[int]) -> str:
    head = ["set", "n", "shipped head, int8"] + [f"adapter seed {s}" for s in seeds] + [
        "adapter, mean ± std over seeds", "gain per seed (points)", "gain, mean ± std", "seeds with gain >= 3",
        "frozen head on train split, int8", "gain over it, mean ± std"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, metric in SETS.items():
        base = records.find({"section": "accuracy", "set": name, "scorer": "shipped"})
        refit = records.find({"section": "accuracy", "set": name, "scorer": "train-split head"})
        runs = [records.find({"section": "accuracy", "set": name, "scorer": f"adapter seed {s}"}) for s in seeds]
        if base is None or refit is None or any(r is None for r in runs):
            continue
        b = base["result"][metric]
        vals = [r["result"][metric] for r in runs]
        gains = [100 * (v - b) for v in vals]
        rows.append("| " + " | ".join([LABELS[name], str(base["result"]["n"]), f"{b:.3f}", *(f"{v:.3f}" for v in vals),
                                       mean_std(vals), ", ".join(f"{g:+.1f}" for g in gains), mean_std(gains, 1),
                                       f"{sum(g >= 3 for g in gains)} of {len(gains)}", f"{refit['result'][metric]:.3f}",
                                       mean_std([100 * (v - refit["result"][metric]) for v in vals], 1)]) + " |")
    trained = {r["key"]["seed"]: r for r in records.latest(section="train")}  # made once, at any commit
    trains = {s: trained.get(s) for s in seeds if s != 0}
    cost = [f"seed {s}: {t['result']['wall_s']:.0f} s wall / {t['result']['cpu_s']:.0f} s CPU (load "
            f"{t['result']['load1_before']:.1f} -> {t['result']['load1_after']:.1f})"
            for s, t in trains.items() if t]
    return "\n".join([
        "Headline metric per set: accuracy on airline tweets, balanced accuracy elsewhere; CTranslate2 int8; "
        "positive when score >= 0. Seed 0 is the shipped adapter; the others are the same command with "
        "`--seed S` (what the seed changes: LoRA and head initialisation, dropout, the order of the training texts). "
        "The frozen head on the train split is the shipped head's recipe refit on the train splits only "
        "(`python scripts/train_sentiment_head.py --split train --out .cache/head_train_split.npz`): the "
        "out-of-sample comparator on the Rotten Tomatoes and Beauty test splits, which the shipped head was trained on.",
        "", *rows, "", "Training time per extra seed (one thread): " + ("; ".join(cost) or "n/a") + ".", ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--cache-dir", default=str(ROOT / ".cache" / "text"))
    ap.add_argument("--work-dir", default=str(ROOT / ".cache" / "adapter_seeds"))
    ap.add_argument("--reuse-any-commit", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "experiments" / "adapter_seeds.md"))
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    records = RawRecords(out.with_name(out.stem + "_runs.jsonl"), any_commit=args.reuse_any_commit)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    for s in seeds:
        train(records, s, work, args.data_dir)
    score(records, seeds, work, args.data_dir, args.cache_dir)
    out.write_text(provenance_header("Sentiment adapter: spread over training seeds") + "\n" + table(records, seeds))
    print(f"wrote {out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
