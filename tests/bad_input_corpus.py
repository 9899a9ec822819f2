"""The bad-input corpus: every kind of broken or awkward input a user brings, generated here.

Each ``Case`` writes its files into a fresh folder and gives the ``train.py`` overrides that
point at them; ``run_case`` runs it through ``seglab.train.run`` (k-means, no text, no tracker,
unless the case says otherwise) and reports what happened: the one-line ``seglab error`` (and
that no ``metrics.json`` was written, so no run looks successful), or the ``data/*`` counters
and warnings of a documented repair. ``tests/test_bad_inputs.py`` asserts each outcome;
``scripts/bench_bad_inputs.py`` writes them to ``experiments/reliability.md``.
"""

from __future__ import annotations

import gzip  # noqa: F401 (cases may compress)
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BASE = ["model=kmeans", "text=none", "logger=none", "explain.enabled=false", "n_clusters=2"]


def transactions(n_customers: int = 30, per_customer: int = 4, seed: int = 0) -> pd.DataFrame:
    """A small valid log: ids 1..n, ISO dates in 2024, positive amounts and quantities."""
    rng = np.random.default_rng(seed)
    n = n_customers * per_customer
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360 * 24, n), unit="h")
    return pd.DataFrame({"customer_id": np.repeat(np.arange(1, n_customers + 1), per_customer),
                         "timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"),
                         "amount": np.round(rng.gamma(2.0, 20.0, n), 2), "quantity": rng.integers(1, 5, n)})


def tx_case(edit: Callable[[pd.DataFrame], pd.DataFrame] = lambda d: d, *extra: str, name: str = "tx.csv",
            writer: Callable[[pd.DataFrame, Path], None] | None = None) -> Callable[[Path], list[str]]:
    """A case writer: the valid log changed by ``edit``, written as ``name``, data=transactions."""
    def write(folder: Path) -> list[str]:
        frame = edit(transactions())
        path = folder / name
        (writer or (lambda f, p: f.to_csv(p, index=False)))(frame, path)
        return ["data=transactions", f"data.path={path}", "data.quantity=quantity", *extra]
    return write


def with_file(text: str | bytes, name: str, *extra: str, source: str = "transactions") -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        path = folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return [f"data={source}", f"data.path={path}", *extra]
    return write


def with_reviews(edit: Callable[[pd.DataFrame], pd.DataFrame], *extra: str, encoding: str = "utf-8",
                 ) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        tx = transactions()
        tx.to_csv(folder / "tx.csv", index=False)
        reviews = pd.DataFrame({"customer_id": np.arange(1, 21), "text": [f"review {i} was fine" for i in range(20)]})
        edit(reviews).to_csv(folder / "reviews.csv", index=False, encoding=encoding)
        return ["data=transactions", f"data.path={folder / 'tx.csv'}", f"data.reviews_path={folder / 'reviews.csv'}",
                *extra]
    return write


def with_customers(ids: list, *extra: str) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        transactions().to_csv(folder / "tx.csv", index=False)
        pd.DataFrame({"customer_id": ids, "age": np.arange(len(ids)) % 50 + 20}).to_csv(folder / "customers.csv",
                                                                                          index=False)
        return ["data=transactions", f"data.path={folder / 'tx.csv'}", f"data.customers_path={folder / 'customers.csv'}",
                *extra]
    return write


def table_case(frame: pd.DataFrame, *extra: str) -> Callable[[Path], list[str]]:
    def write(folder: Path) -> list[str]:
        frame.to_csv(folder / "table.csv", index=False)
        return ["data=table", f"data.path={folder / 'table.csv'}", *extra]
    return write


def _set(col: str, rows: list[int], value) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(d: pd.DataFrame) -> pd.DataFrame:
        d = d.astype({col: object})
        d.loc[rows, col] = value
        return d
    return edit


def _truncated_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _semicolons(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, sep=";", decimal=",")


def _bom(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _trailing(frame: pd.DataFrame, path: Path) -> None:
    path.write_text("\n".join(line + "," for line in frame.to_csv(index=False).splitlines()) + "\n")


def _quoted_newline(frame: pd.DataFrame, path: Path) -> None:
    frame = frame.assign(note="plain").astype({"amount": object})
    frame.loc[2, "note"] = "two\nlines"
    frame.loc[5, "amount"] = -3.0
    frame.to_csv(path, index=False)


@dataclass
class Case:
    name: str
    what: str  # the class of bad input, in words
    write: Callable[[Path], list[str]]
    error: str | None = None  # regex the seglab error must match (None: the run succeeds)
    counts: dict[str, float] = field(default_factory=dict)  # data/* metrics a repair must report
    overrides: list[str] = field(default_factory=list)  # replace BASE entries (e.g. text=minilm)


CASES = [
    # silent nonsense
    Case("dates_2099", "transaction dates in 2099/2150 (would become the reference date)",
         tx_case(_set("timestamp", [3, 7], "2099-05-01 10:00:00")), r"date after .* \(in the future: .*data\.future_dates=drop"),
    Case("dates_2099_dropped", "the same with data.future_dates=drop", tx_case(
        _set("timestamp", [3, 7], "2150-05-01 10:00:00"), "data.future_dates=drop"), counts={"data/n_future_dates_dropped": 2}),
    Case("date_2300", "a date in 2300 (was an OutOfBoundsDatetime traceback)",
         tx_case(_set("timestamp", [4], "2300-01-01 00:00:00")), r"date after .* in column 'timestamp'"),
    Case("date_2300_reference", "a date in 2300 with data.reference_date=2400-01-01", tx_case(
        _set("timestamp", [4], "2300-01-01 00:00:00"), "data.reference_date=2400-01-01"), r"date out of range"),
    Case("all_zero_amounts", "every amount 0 (spend features silently dropped)",
         tx_case(lambda d: d.assign(amount=0.0)), r"every amount is 0 .*data\.amount"),
    Case("duplicates", "exact duplicate rows", tx_case(lambda d: pd.concat([d, d.iloc[[1, 5, 9]]])),
         counts={"data/n_duplicates_dropped": 3}),
    Case("ids_float_vs_int", "ids 1.0 in the customers file, 1 in the transactions",
         with_customers([f"{i}.0" for i in range(1, 31)]), r"written differently \(transactions: integers; .*'\.0'"),
    # tracebacks
    Case("n_clusters_above_customers", "n_clusters above the number of customers", tx_case(lambda d: d, "n_clusters=50"),
         r"n_clusters=50, but the data has 30 customer"),
    Case("single_customer", "a single customer", tx_case(lambda d: d[d["customer_id"] == 1]),
         r"n_clusters=2, but the data has 1 customer"),
    Case("amount_1e308", "amounts of 1e308", tx_case(_set("amount", [2], 1e308)), r"value above 1e\+15 in column 'amount'"),
    Case("table_constant", "a table whose columns are all constant or NaN",
         table_case(pd.DataFrame({"id": range(10), "a": 1.0, "b": np.nan, "c": "x"}), "data.id_column=id"),
         r"every attribute column is constant or missing"),
    Case("table_without_path", "no data.path for data=table", lambda folder: ["data=table"], r"data\.path is required"),
    Case("non_utf8_reviews", "non-UTF-8 review text", with_reviews(_set("text", [4, 11], "caf\xe9 cr\xe8me"),
                                                                   encoding="latin-1"),
         r"reviews file is not valid utf-8 text .*rows \(0-based, first 2\): 4, 11 .*data\.encoding=latin-1"),
    Case("non_utf8_reviews_encoding", "the same with data.encoding=latin-1", with_reviews(
        _set("text", [4, 11], "caf\xe9 cr\xe8me"), "data.encoding=latin-1", encoding="latin-1")),
    # repairs and awkward data
    Case("customers_without_transactions", "customers with no transactions",
         with_customers(list(range(1, 36))), counts={"data/n_customers_without_transactions": 5}),
    Case("reviews_unknown_customers", "reviews of unknown customers (a few)",
         with_reviews(_set("customer_id", [3, 8], 999)), counts={"data/n_unmatched_reviews": 2}),
    Case("reviews_unknown_ids_mismatch", "reviews whose ids are written differently (most)",
         with_reviews(lambda r: r.assign(customer_id=r["customer_id"].map(lambda i: f"{i}.0"))), r"written differently"),
    Case("empty_reviews", "empty, whitespace-only and 100 kB review texts",
         with_reviews(lambda r: _set("text", [0, 1, 2], "   ")(r.assign(text=r["text"].where(r.index != 5, "great " * 17_000)))),
         counts={"data/n_reviews_without_text_dropped": 3}),
    Case("long_review_scored", "a 100 kB review scored by the text model (truncated to text.max_length tokens)",
         with_reviews(lambda r: r.assign(text=r["text"].where(r.index != 5, "great value " * 9_000))),
         overrides=["text=minilm"], counts={"data/n_reviews_without_text_dropped": 0}),
    Case("constant_features", "features constant for every customer (4 purchases of 1 item each)",
         tx_case(lambda d: d.assign(quantity=1)), counts={"data/n_constant_features_dropped": 2}),  # frequency, basket
    Case("mixed_type_ids", "ids of mixed types (1, A2, 003, 4.5)",
         tx_case(lambda d: d.assign(customer_id=d["customer_id"].map(lambda i: ["1", "A2", "003", "4.5"][i % 4] + str(i))))),
    Case("zero_byte_file", "a 0-byte file", with_file(b"", "tx.csv"), r"transactions file is empty \(0 bytes\)"),
    Case("header_only", "a header without rows", with_file("customer_id,timestamp,amount\n", "tx.csv"),
         r"has no data rows"),
    Case("truncated_parquet", "a truncated Parquet file", tx_case(name="tx.parquet", writer=_truncated_parquet),
         r"could not be parsed \(truncated or not Parquet\?\)"),
    Case("truncated_parquet_on_disk", "a truncated Parquet file kept on disk (DuckDB path)",
         tx_case(lambda d: d, "data.in_memory=false", name="tx.parquet", writer=_truncated_parquet),
         r"could not be parsed \(truncated or not Parquet\?\)"),
    Case("semicolon_decimal_comma", "semicolon separators with decimal commas",
         tx_case(name="tx.csv", writer=_semicolons), r"column 'amount' must be numeric .*data\.decimal=','"),
    Case("semicolon_decimal_comma_fixed", "the same with data.decimal=','",
         tx_case(lambda d: d, "data.decimal=','", name="tx.csv", writer=_semicolons)),
    Case("utf8_bom", "a UTF-8 byte-order mark", tx_case(name="tx.csv", writer=_bom)),
    Case("trailing_empty_columns", "trailing empty columns (a,b,c,)", tx_case(name="tx.csv", writer=_trailing),
         counts={"data/n_empty_columns_dropped": 1}),
    Case("quoted_newlines", "quoted newlines (row numbers stay data rows)", tx_case(name="tx.csv", writer=_quoted_newline),
         r"negative value in column 'amount' .*rows \(0-based, first 1\): 5 "),
    Case("tz_mixed", "time-zone-aware and naive timestamps mixed",
         tx_case(_set("timestamp", [1, 2], "2024-03-01T10:00:00+02:00")), r"mixes times with a UTC offset and times without"),
    Case("tz_aware", "every timestamp with a UTC offset",
         tx_case(lambda d: d.assign(timestamp=d["timestamp"] + "+01:00")), counts={"data/n_timestamps_converted_to_utc": 120}),
    Case("guest_rows", "rows without a customer id (guest checkouts)", tx_case(_set("customer_id", [0, 6], None)),
         r"missing customer id \(2 row\(s\)\).*data\.missing_customer=drop"),
    Case("guest_rows_dropped", "the same with data.missing_customer=drop",
         tx_case(_set("customer_id", [0, 6], None), "data.missing_customer=drop"),
         counts={"data/n_rows_without_customer_dropped": 2}),
    Case("negative_amounts", "negative amounts (returns)", tx_case(_set("amount", [3], -12.5)),
         r"negative value in column 'amount'.*data\.returns=net"),
    Case("missing_column", "a required column missing", tx_case(lambda d: d.drop(columns=["amount"])),
         r"missing column\(s\) \['amount'\]"),
]


def compose(overrides: list[str], log_dir: Path):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose("config", overrides=[f"log_dir={log_dir}", *overrides])


def run_case(case: Case, folder: Path) -> dict:
    """Write the case's files under ``folder``, run it, and say what happened."""
    from seglab.errors import SeglabError
    from seglab.train import run

    folder.mkdir(parents=True, exist_ok=True)
    overrides = case.write(folder)
    base = [b for b in BASE if b.split("=")[0] not in {o.split("=")[0] for o in case.overrides}]
    cfg = compose([*base, *case.overrides, *overrides], folder / "logs")
    run_dir = folder / "run"
    try:
        result = run(cfg, run_dir=run_dir)
    except SeglabError as err:
        return {"outcome": "error", "message": str(err), "metrics_json": (run_dir / "metrics.json").exists()}
    data = {k: v for k, v in result.metrics.items() if k.startswith("data/")}
    return {"outcome": "ran", "metrics": data, "warnings": [w for w in result.warnings if w.startswith("data:")],
            "metrics_json": (run_dir / "metrics.json").exists(), "n_customers": result.metrics["data/n_customers"]}
