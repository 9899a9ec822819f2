"""Why the density baselines split the planted segments of the default data (experiments/text.md).

    python scripts/density_text_diagnosis.py --runs logs/reports/synthetic/multiruns --seed 0

Reads the DBSCAN/HDBSCAN runs of one seed from a sweep made by ``scripts/make_reports.sh synthetic``
and crosses their clusters with the planted segments and each customer's review sign (none /
positive / negative mean score, from the features of the k-means run of the same seed, since the
density models keep their training points and cannot be bundled). Then it scores the seed's
reviews with both heads (``shipped``, ``adapter``; the text cache makes this seconds) and prints
how decisive each is. Prints only; nothing is written.
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from seglab.pipeline import load_run
    from seglab.text import score_texts

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default=str(ROOT / "logs" / "reports" / "synthetic" / "multiruns"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=str(ROOT / ".cache" / "text"))
    args = ap.parse_args()
    runs = {}
    for path in glob.glob(f"{args.runs}/*/*/*/config.yaml"):
        cfg = OmegaConf.load(path)
        if cfg.seed == args.seed:
            runs.setdefault((cfg.model._target_.rsplit(".", 1)[1], cfg.model.get("n_clusters")), Path(path).parent)
    kmeans = runs[("KMeansModel", 5)]
    cfg = OmegaConf.load(kmeans / "config.yaml")
    data = instantiate(cfg.data, _convert_="all").load()
    feats = load_run(kmeans).features(data)
    truth = pd.Series(np.asarray(data.truth), index=data.customers["customer_id"].to_numpy(), name="planted")
    sign = np.where(feats["text_has_reviews"] == 0, "none", np.where(feats["text_sent_mean"] >= 0, "pos", "neg"))
    table = pd.DataFrame({"review": sign}, index=feats.index).join(truth)
    pd.set_option("display.width", 200)
    for (name, _), run in sorted(runs.items()):
        if "DBSCAN" in name:
            seg = pd.read_parquet(run / "segments.parquet").set_index("customer_id")["segment"]
            print(f"\n{name} (seed {args.seed}, text.head={cfg.text.head}): customers per cluster")
            print(pd.crosstab([table["planted"], table["review"]], seg))
    print(f"\nseed {args.seed}: {len(data.reviews):,} reviews of {data.reviews['customer_id'].nunique():,} customers")
    for head in ("shipped", "adapter"):
        rs = score_texts(data.reviews["text"].tolist(), {"name": "minilm", "head": head, "cache_dir": args.cache_dir})
        share = pd.Series(rs.score < 0).groupby(data.reviews["customer_id"].to_numpy()).mean()
        print(f"{head}: share of reviews beyond ±0.9 {np.mean(np.abs(rs.score) > 0.9):.3f}; mean score of negative "
              f"reviews {rs.score[rs.score < 0].mean():+.3f}; customers whose reviews are all negative {(share == 1).sum()}")


if __name__ == "__main__":
    main()
