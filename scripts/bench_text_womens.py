"""data=womens_reviews through `seglab.train.run`: tabular-only vs tabular + review text (used by
scripts/bench_text.py --womens), and its markdown section with the segment profiles."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

PROFILE_COLUMNS = ("Rating", "Recommended IND", "Age", "text_has_reviews", "text_sent_mean", "text_share_negative")


#: (label, model, text, extra overrides) compared on data=womens_reviews
WOMENS_VARIANTS = {
    "kmeans, text=none": ("kmeans", "none", []),
    "kmeans, text=minilm": ("kmeans", "minilm", []),
    "kmeans, text=minilm, unweighted": ("kmeans", "minilm", ["features.preprocess.block_weights=null"]),
    "dec, text=none": ("dec", "none", []),
    "dec, text=minilm": ("dec", "minilm", []),
    "multimodal (idec), text=minilm": ("multimodal", "minilm", []),
    "kmeans, text=minilm, head=adapter": ("kmeans", "minilm", ["text.head=adapter"]),
    "kmeans, text=minilm, head=shipped": ("kmeans", "minilm", ["text.head=shipped"]),
    "dec, text=minilm, head=adapter": ("dec", "minilm", ["text.head=adapter"]),
    "multimodal (idec), text=minilm, head=adapter": ("multimodal", "minilm", ["text.head=adapter"]),
    "multimodal (idec), text=minilm, head=shipped": ("multimodal", "minilm", ["text.head=shipped"]),
}
DEEP_MODELS = ("dec", "idec", "multimodal")


def womens_section(data_dir: str, log_dir: str, seeds: list[int], deep_seeds: list[int], n_clusters: int,
                   threads: int, max_rows: int | None = None, variants: list[str] | None = None) -> dict:
    """data=womens_reviews: tabular-only vs tabular+text, every variant through `seglab.train.run`
    (what `python train.py data=womens_reviews model=... text=...` does). Labels are also scored on
    the tabular-only matrix, which is the same for every row, so those columns compare across rows."""
    import pandas as pd
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from sklearn.metrics import adjusted_rand_score

    from seglab.evaluate import evaluate_clustering, report_specs
    from seglab.train import customer_features, make_preprocessor, run

    internal_specs = [s for s in report_specs("rank") if s.family == "internal"]  # silhouette, CH, DB

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
    frames = {}

    def profile_frame(extra) -> pd.DataFrame:
        """Customer features + attributes, the sentiment columns scored by the variant's own head."""
        head = [o for o in extra if o.startswith("text.head=")]
        if tuple(head) not in frames:
            j = customer_features(cfg_for("minilm", "kmeans", seeds[0], head), data) if head else joined
            frames[tuple(head)] = j.join(data.customers.set_index("customer_id")[["Rating", "Recommended IND", "Age"]],
                                         rsuffix="_attr") if "Rating" not in j.columns else j
        return frames[tuple(head)]

    def internal(X, labels, seed):
        m, _ = evaluate_clustering(X, labels, random_state=seed)
        return {s.name: m[s.key] for s in internal_specs}

    def profile(labels, extra):
        frame = profile_frame(extra)
        df = pd.DataFrame({c: pd.to_numeric(frame[c], errors="coerce").to_numpy() for c in PROFILE_COLUMNS
                           if c in frame.columns})
        df["segment"] = labels
        out = df.groupby("segment").mean()
        out.insert(0, "share", df.groupby("segment").size() / len(df))
        return out.round(3).reset_index().to_dict(orient="records")

    rows, profiles, tabular_labels = [], {}, {}
    for name, (model, txt, extra) in WOMENS_VARIANTS.items():
        if variants and name not in variants:
            continue
        for seed in deep_seeds if model in DEEP_MODELS else seeds:
            t0 = time.perf_counter()
            bench_dir = Path(log_dir) / "bench"  # a fresh run dir per measurement (an interrupted one is refused)
            bench_dir.mkdir(parents=True, exist_ok=True)
            run_dir = tempfile.mkdtemp(prefix=f"{name}_{seed}_".replace(" ", ""), dir=bench_dir)
            res = run(cfg_for(txt, model, seed, extra), run_dir=run_dir)
            row = {"variant": name, "model": model, "text": txt, "seed": seed, "overrides": extra,
                   "n_features": int(res.metrics["data/n_features"]),
                   "own": {s.name: res.metrics[s.key] for s in internal_specs},
                   "on_tabular": internal(X_tab, res.labels, seed), "seconds": time.perf_counter() - t0}
            if txt == "none":
                tabular_labels[(model, seed)] = res.labels
            elif (model, seed) in tabular_labels:
                row["ari_vs_tabular_only"] = float(adjusted_rand_score(tabular_labels[(model, seed)], res.labels))
            rows.append(row)
            if seed == (deep_seeds if model in DEEP_MODELS else seeds)[0]:
                profiles[name] = profile(res.labels, extra)
            print(json.dumps(row), flush=True)
    return {"rows": rows, "profiles": profiles, "n_customers": int(data.n_customers),
            "n_with_reviews": int(joined["text_has_reviews"].sum()), "n_clusters": n_clusters,
            "text_columns_kept": [c for c in pre_all.feature_names_out_ if c.startswith("text_")]}




def womens_markdown(womens: dict) -> list[str]:
    lines = [
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
    return lines
