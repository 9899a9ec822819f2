"""experiments/text.md from the raw records of scripts/bench_text.py (nothing is measured here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench_text import SCORERS, SETS, paired_bootstrap, unpack
from benchlib import RawRecords, mean_std, provenance_header

END = "<!-- bench_text.py ends here -->"
NAMES = {"airline": "airline tweets (never trained on)", "alexa": "Alexa reviews (never trained on)",
         "rotten_tomatoes_test": "Rotten Tomatoes, test split", "womens_test": "Women's reviews, test split",
         "womens_test_unseen": "Women's test split, minus the shipped head's training texts",
         "beauty_test": "Amazon Beauty, test split"}
BAR_GAIN, BAR_INT8 = 3.0, 1.5
FROZEN = "frozen head on train split, int8"
FROZEN_CMD = "python scripts/train_sentiment_head.py --split train --out .cache/head_train_split.npz"


def accuracy_lines(records: RawRecords) -> list[str]:
    recs = {(r["key"]["set"], r["key"]["scorer"]): r for r in records.latest(section="accuracy")}
    if not recs:
        return []
    any_rec = next(iter(recs.values()))
    lines = [
        "## Sentiment accuracy on held-out sets", "",
        f"Commit of the records: `{any_rec['commit']}`; CPU: {any_rec['machine']['cpu_model']}, ISA flags "
        f"{', '.join(any_rec['result'].get('isa', [])) or 'unknown'}. **int8 figures depend on the CPU**: with and "
        "without AVX-512 VNNI the int8 kernels round differently (the shipped head's Alexa int8 figure is above its "
        "fp32 one on this VNNI CPU and was below it on the AVX2-only VM of this file's previous version); compare "
        "int8 with fp32 on the same CPU only.", "",
        "Headline metric per set (accuracy on airline, balanced accuracy elsewhere); positive when score >= 0 "
        "(VADER: compound >= 0.05). Gain = adapter int8 - shipped head int8 (the default backend of each) in "
        "points, with a 95% paired-bootstrap interval over the texts of the set; bar = gain >= 3 and |adapter int8 - "
        "fp32| <= 1.5. The shipped head was trained on every Rotten Tomatoes and Beauty text (its figures there are "
        "in-sample); the last gain column compares with the frozen head refit on the train splits only "
        f"(`{FROZEN_CMD}`), which is out-of-sample everywhere.", "",
        "| set | n | positive share | VADER | " + " | ".join(SCORERS)
        + " | gain (points) | adapter int8 - fp32 | bar | gain vs frozen head on train split |",
        "|---|---|---|---|" + "---|" * len(SCORERS) + "---|---|---|---|",
    ]
    for name, metric in SETS.items():
        if (name, "adapter, int8") not in recs or (name, "shipped head, int8") not in recs:
            continue
        base = recs[(name, "shipped head, int8")]["result"]
        new = recs[(name, "adapter, int8")]["result"]
        n = base["n"]
        y = unpack(base["labels"], n)
        cells = [f"{recs[(name, s)]['result'][metric]:.3f}" if (name, s) in recs else "" for s in ["VADER", *SCORERS]]
        gain = 100 * (new[metric] - base[metric])
        lo, hi = paired_bootstrap(y, unpack(base["pred"], n), unpack(new["pred"], n), metric)
        gap = 100 * (new[metric] - recs[(name, "adapter, fp32")]["result"][metric]) if (name, "adapter, fp32") in recs else float("nan")
        ok = gain >= BAR_GAIN and abs(gap) <= BAR_INT8
        fair = ""
        if (name, FROZEN) in recs:
            ref = recs[(name, FROZEN)]["result"]
            flo, fhi = paired_bootstrap(y, unpack(ref["pred"], n), unpack(new["pred"], n), metric)
            fair = f"{100 * (new[metric] - ref[metric]):+.1f} [{100 * flo:+.1f}, {100 * fhi:+.1f}]"
        lines.append(f"| {NAMES[name]} | {n} | {base['positive_share']:.3f} | " + " | ".join(cells)
                     + f" | {gain:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] | {gap:+.1f} | {'met' if ok else 'NOT met'} | {fair} |")
    lines += ["", "Calibration: expected calibration error (15 bins) of the predicted class's probability.", "",
              "| set | shipped head int8 | adapter int8, before temperature | adapter int8, calibrated |",
              "|---|---|---|---|"]
    for name in SETS:
        if (name, "adapter, int8") in recs:
            a = recs[(name, "adapter, int8")]["result"]
            s = recs.get((name, "shipped head, int8"), {}).get("result", {})
            lines.append(f"| {NAMES[name]} | {s.get('ece', float('nan')):.3f} | {a.get('ece_uncalibrated', float('nan')):.3f} "
                         f"| {a['ece']:.3f} |")
    lines.append("")
    return lines


def adapter_lines() -> list[str]:
    from seglab.text.adapter import shipped_adapter_path

    path = shipped_adapter_path()
    if not path.exists():
        return []
    meta = json.loads(path.with_suffix(".json").read_text())
    cal = meta["calibration"]
    return ["## The adapter", "",
            f"`{path.relative_to(Path(path).parents[3])}` ({path.stat().st_size / 1024:.0f} KiB, "
            f"{meta['n_lora_parameters']:,} LoRA parameters in fp16 + a 384x2 head), made by `{meta['made_by']}` "
            f"in {meta['train_wall_s'] / 60:.0f} min wall / {meta['train_cpu_s'] / 60:.0f} min CPU (shared machine); "
            f"base sha256 `{meta['base_sha256'][:16]}...`; trained on {meta['train_corpora']}.", "",
            f"Temperature {cal['temperature']:.3f} fitted on the {cal['fitted_on']}: expected calibration error "
            f"{cal['ece_before']:.3f} before, {cal['ece_after']:.3f} after. Validation balanced accuracy: "
            + ", ".join(f"{k} {v:.3f}" for k, v in meta["val_balanced_accuracy"].items()) + ".", ""]


def throughput_lines(records: RawRecords) -> list[str]:
    recs = records.latest(section="throughput")
    if not recs:
        return []
    lines = ["## Throughput of the default backend (cache off)", "",
             "Reviews/s of `score_texts` (tokenize, length-sorted batches, CTranslate2 int8 encoder, head). Timings "
             "need a quiet machine: the load average is in each row; re-run with `python scripts/bench_text.py "
             "--skip-accuracy --throughput` when the machine is idle.", "",
             "| head | set | threads | n | reviews/s | wall s | CPU s | load before / after | commit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in recs:
        k, v = r["key"], r["result"]
        lines.append(f"| {k['head']} | {k['set']} | {k['threads']} | {k['n']} | {v['reviews_per_s']:.0f} | "
                     f"{v['wall_s']:.1f} | {v['cpu_s']:.1f} | {v['load_before'][0]:.2f} / {v['load_after'][0]:.2f} | "
                     f"`{r['commit']}` |")
    return lines + [""]


def ari_lines(records: RawRecords) -> list[str]:
    recs = records.latest(section="default_ari")
    if not recs:
        return []
    lines = ["## The default synthetic run with each head", "",
             "`python train.py seed=S text.head=H logger=none` (DEC, 5,000 customers), ARI against the planted "
             "segments, mean ± std over the seeds listed.", "",
             "| head | seeds | ARI | per seed | wall s | CPU s | load | commit |", "|---|---|---|---|---|---|---|---|"]
    for head in ("shipped", "adapter"):
        rs = sorted((r for r in recs if r["key"]["head"] == head), key=lambda r: r["key"]["seed"])
        if rs:
            lines.append(f"| {head} | {','.join(str(r['key']['seed']) for r in rs)} | "
                         f"{mean_std([r['result']['ari'] for r in rs])} | "
                         + ", ".join(f"{r['result']['ari']:.3f}" for r in rs) + " | "
                         + f"{mean_std([r['result']['wall_s'] for r in rs], 0)} | {mean_std([r['result']['cpu_s'] for r in rs], 0)}"
                         + f" | {np.mean([r['result']['load1'] for r in rs]):.1f} | "
                         + ", ".join(sorted({f"`{r['commit']}`" for r in rs})) + " |")
    scores = {r["key"]["head"]: r["result"] for r in records.latest(section="synthetic_scores")}
    if scores:
        segs = sorted(next(iter(scores.values()))["per_segment"])
        lines += ["", "Customers' mean review score per planted segment of the default synthetic data (seed "
                  f"{records.latest(section='synthetic_scores')[0]['key']['seed']}), mean ± std over the customers "
                  "with reviews:", "", "| head | " + " | ".join(segs) + " |", "|---|" + "---|" * len(segs)]
        for head, res in scores.items():
            lines.append(f"| {head} | " + " | ".join(f"{res['per_segment'][g]['mean']:+.3f} ± {res['per_segment'][g]['std']:.3f}"
                                                   for g in segs) + " |")
    return lines + [""]


def write_markdown(records: RawRecords, out: Path, womens_path: Path, args) -> None:
    lines = [provenance_header("Text path: review sentiment accuracy, calibration, throughput").rstrip(), "",
             f"Raw records: `{records.path.relative_to(out.parent.parent) if records.path.is_absolute() else records.path}`"
             " (one JSON line per measured item, with commit, machine and load).", ""]
    lines += adapter_lines() + accuracy_lines(records) + throughput_lines(records) + ari_lines(records)
    if womens_path.exists():
        from bench_text_womens import womens_markdown

        lines += womens_markdown(json.loads(womens_path.read_text()))
    keep = ""
    if out.exists() and END in out.read_text():
        keep = out.read_text().split(END, 1)[1]
    out.write_text("\n".join(lines) + f"\n{END}" + (keep or "\n"))
