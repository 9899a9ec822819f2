"""Fit DEC on small blobs and save the result: run by tests/test_ddp.py as its own process.

    python tests/ddp_fit.py OUT.npz DEVICES [MODEL]

``DEVICES`` > 1 fits with Lightning's DDP strategy on CPU processes (gloo). Lightning starts the
other ranks by running this script again, so everything here runs on every rank; only rank 0
writes ``OUT.npz`` (labels, centres, the fit report) and prints.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from sklearn.datasets import make_blobs

from seglab.models.dec import DEC, IDEC
from seglab.train import is_rank_zero


def main() -> None:
    out, devices = sys.argv[1], int(sys.argv[2])
    model = sys.argv[3] if len(sys.argv) > 3 else "dec"
    X, _ = make_blobs(n_samples=1200, n_features=6, centers=4, cluster_std=1.5, random_state=5)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    trainer = {"accelerator": "cpu", "devices": devices, "deterministic": True}
    if devices > 1:
        trainer["strategy"] = "ddp"
    cls = IDEC if model == "idec" else DEC
    # noise 0: no input corruption, whose random masks would differ between one process drawing
    # a batch's masks and two processes drawing half each; what remains is the mechanism
    m = cls.from_config(n_clusters=4, hidden_dims=[16, 8], latent_dim=3, batch_size=64, max_epochs=15, patience=5, n_init=5,
            noise=0.0, update_interval=10, cluster_max_epochs=5, num_threads=1, random_state=3,
            trainer_kwargs=trainer).fit(X)
    if is_rank_zero():
        np.savez(out, labels=m.labels_, centres=m.cluster_centers_, latent=m.transform(X),
                 report=json.dumps(m.fit_report()))
        print(f"rank 0 wrote {out}", flush=True)


if __name__ == "__main__":
    main()
