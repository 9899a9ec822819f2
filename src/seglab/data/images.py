"""Image benchmarks as customer-level tables with ground truth, for the DEC fidelity benchmark.

Each image is one "customer" whose attributes are its pixels (``p000`` ... as float32 in
[0, 1]); the digit is the truth. There are no transactions or reviews. These are the standard
deep-clustering benchmarks that the published DEC/IDEC tables report (ACC, NMI).

- ``usps``: USPS handwritten digits, HDF5 with ``train/data``, ``train/target``,
  ``test/data``, ``test/target`` (16x16 in [0, 1]); ``split: all`` concatenates train then
  test (9,298 x 256), as the DEC/IDEC papers do. Reading HDF5 needs the ``images`` extra
  (``pip install "seglab[images]"``, h5py).
- ``digits``: scikit-learn's bundled 8x8 digits (1,797 x 64, pixel values 0-16 divided by 16
  when ``normalize``); needs no files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seglab.data.base import DataSource
from seglab.data.schema import CustomerData
from seglab.data.validate import check_file, validate_customer_data
from seglab.errors import ConfigError, DataValidationError, require_extra


def _pixel_data(name: str, X: np.ndarray, y: np.ndarray, meta: dict) -> CustomerData:
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    width = max(3, len(str(X.shape[1] - 1)))
    customers = pd.DataFrame(X, columns=[f"p{j:0{width}d}" for j in range(X.shape[1])])
    customers.insert(0, "customer_id", np.arange(len(X), dtype=np.int64))
    truth = pd.Series(np.asarray(y).astype(np.int64), index=customers.index, name="digit")
    return validate_customer_data(CustomerData(name=name, customers=customers, truth=truth, meta=meta))


class USPSSource(DataSource):
    """Load ``usps.h5`` (see the module docstring).

    Args:
        name: dataset name for the tracker.
        path: the HDF5 file.
        split: ``all`` (train + test, 9,298 images), ``train`` (7,291) or ``test`` (2,007).
    """

    def __init__(
        self, name: str = "usps", path: str = "../shared/data/usps/usps.h5", split: str = "all"
    ) -> None:
        self.name = name
        self.path = path
        self.split = split

    def load(self) -> CustomerData:
        if self.split not in ("all", "train", "test"):
            raise ConfigError(f"data.split must be all, train or test; got {self.split!r}")
        h5py = require_extra("h5py", "images", "data=usps (an HDF5 file)")

        p = check_file(self.path, "USPS file")
        parts = ["train", "test"] if self.split == "all" else [self.split]
        Xs, ys = [], []
        try:
            with h5py.File(p, "r") as f:
                for part in parts:
                    for key in (f"{part}/data", f"{part}/target"):
                        if key not in f:
                            raise DataValidationError(
                                f"dataset {key!r} missing from the HDF5 file", file=str(p)
                            )
                    Xs.append(np.asarray(f[f"{part}/data"]))
                    ys.append(np.asarray(f[f"{part}/target"]))
        except OSError as e:
            raise DataValidationError(f"could not read the HDF5 file: {e}", file=str(p)) from None
        X, y = np.concatenate(Xs), np.concatenate(ys)
        if len(X) != len(y):
            raise DataValidationError(f"{len(X)} images but {len(y)} targets", file=str(p))
        return _pixel_data(self.name, X, y, {"path": str(p), "split": self.split})


class DigitsSource(DataSource):
    """scikit-learn's 8x8 digits (1,797 images, 10 classes); ``normalize`` divides by 16."""

    def __init__(self, name: str = "digits", normalize: bool = True) -> None:
        self.name = name
        self.normalize = bool(normalize)

    def load(self) -> CustomerData:
        from sklearn.datasets import load_digits

        d = load_digits()
        X = d.data / 16.0 if self.normalize else d.data
        return _pixel_data(
            self.name, X, d.target, {"source": "sklearn.datasets.load_digits", "normalize": self.normalize}
        )
