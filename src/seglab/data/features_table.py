"""A precomputed per-customer feature table: the clustering inputs, computed elsewhere.

For customer bases whose logs live in a cluster: compute the features there (e.g. with
``seglab.features.spark_job`` on Spark, the same SQL definition seglab runs locally), write them
as Parquet, and cluster them here::

    python train.py data=features data.path=/data/features/ data.id_column=customer_id

Every column but the id (and the optional truth and dropped columns) is a clustering feature,
taken as it is: numeric (booleans become 0/1), missing values left for the preprocessor's
imputer. Unlike the ``table`` source, the columns are not customer attributes (no one-hot
encoding, no profile-only rule): they are ``CustomerData.features``. ``path`` may be one file,
a folder (as Spark writes it) or a glob; each file is checked on its own, so an error names
the file and the row within it.
"""

from __future__ import annotations

import pandas as pd

from seglab.data.base import DataSource, as_list
from seglab.data.paths import resolve_files
from seglab.data.schema import CustomerData
from seglab.data.validate import (
    customer_ids,
    fail_rows,
    numeric,
    read_frame,
    require_columns,
    unique_ids,
    validate_customer_data,
)
from seglab.errors import ConfigError


class FeaturesSource(DataSource):
    """Load a per-customer feature table (see the module docstring).

    Args:
        name: dataset name for the tracker.
        path: file (``.parquet``, ``.csv``, ``.tsv``), folder or glob.
        sep: field separator of text files (``None`` = tab for ``.tsv``, comma otherwise).
        id_column: the customer id column.
        truth_column: optional known segment per customer (benchmarks only; not a feature).
        columns: the feature columns to use (``None`` = every other column).
        drop_columns: columns to ignore.
    """

    def __init__(self, name: str = "features", path: str | None = None, sep: str | None = None,
                 id_column: str = "customer_id", truth_column: str | None = None,
                 columns: list[str] | None = None, drop_columns: list[str] | None = None) -> None:
        self.name = name
        self.path = path
        self.sep = sep
        self.id_column = id_column
        self.truth_column = truth_column
        self.columns = None if columns is None else as_list(columns)
        self.drop_columns = as_list(drop_columns)

    def _read(self, file: str) -> tuple[pd.Series, pd.DataFrame, pd.Series | None]:
        raw = read_frame(file, sep=self.sep, str_columns=[self.id_column], what="feature table")
        require_columns(raw, [self.id_column, self.truth_column, *self.drop_columns, *(self.columns or [])], file)
        ids = customer_ids(raw[self.id_column], file, self.id_column)
        skip = {self.id_column, self.truth_column, *self.drop_columns}
        names = self.columns or [c for c in raw.columns if c not in skip]
        if not names:
            raise ConfigError(f"{file}: no feature columns besides the id/truth/dropped columns")
        feats = pd.DataFrame({c: numeric(raw[c], file, c, allow_missing=True) for c in names})
        truth = None
        if self.truth_column:
            missing = raw[self.truth_column].isna()
            if missing.any():
                fail_rows("missing truth label", file, self.truth_column, missing, raw[self.truth_column])
            truth = raw[self.truth_column]
        return ids, feats, truth

    def load(self) -> CustomerData:
        if not self.path:
            raise ConfigError("data.path is required for the features source (data.path=/path/to/features.parquet)")
        files = resolve_files(self.path, "feature table")
        parts = [self._read(str(f)) for f in files]
        names = list(parts[0][1].columns)
        for f, (_, feats, _) in zip(files, parts, strict=True):
            if list(feats.columns) != names:
                raise ConfigError(f"{f}: feature columns {list(feats.columns)} differ from the first file's {names}")
        ids = pd.concat([p[0] for p in parts], ignore_index=True)
        unique_ids(ids, str(self.path), self.id_column)
        features = pd.concat([p[1] for p in parts], ignore_index=True)
        truth = None if not self.truth_column else pd.concat([p[2] for p in parts], ignore_index=True).rename("truth")
        data = CustomerData(
            name=self.name,
            customers=pd.DataFrame({"customer_id": ids}),
            truth=truth,
            features=features,
            meta={"path": str(self.path), "n_features": features.shape[1], "precomputed_features": True},
        )
        return validate_customer_data(data)
