"""Privacy by default: keyed id hashes, direct-identifier columns found by their values, and a full
run whose tracker store, artifact store, text cache and run dir hold no raw id, e-mail address,
phone number or review text (segments.parquet alone keeps the ids, and stays local)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient

from seglab.privacy import describe_ids, find_identifier_columns, hash_id, luhn_ok, screen_attributes

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[1]


def test_hash_id_is_hmac_sha256_under_the_env_key(monkeypatch):
    monkeypatch.setenv("SEGLAB_ID_KEY", "s3cret")
    assert hash_id("C-17") == hmac.new(b"s3cret", b"C-17", hashlib.sha256).hexdigest()
    assert hash_id(17) == hash_id("17") != hash_id("C-17")
    text = describe_ids(["C-17", "C-18", "C-19", "C-20"])
    assert text == f"keyed hashes {hash_id('C-17')[:16]}, {hash_id('C-18')[:16]}, {hash_id('C-19')[:16]} ..."
    monkeypatch.delenv("SEGLAB_ID_KEY")
    assert hash_id("C-17") is None and "C-17" not in describe_ids(["C-17"])


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112")


def test_identifier_columns_found_by_value_whatever_the_row_count():
    frame = pd.DataFrame({
        "customer_id": ["a", "b"],
        "contact": ["ann.lee@example.com", None],               # one e-mail is enough
        "tel": ["+44 20 7946 0958", "(555) 010-4477"],
        "card": ["4111 1111 1111 1111", "5500-0000-0000-0004"],  # Luhn-valid test numbers
        "home": ["12 Baker Street", "Hauptstraße 5"],
        "card_as_number": pd.Series([4111111111111111, 5500000000000004], dtype="int64"),
        "Class Name": ["Dresses", "Knits"],                      # names that merely contain "name"
        "product_category_name": ["cama_mesa_banho", "beleza_saude"],
        "signup": ["2024-01-31", "2023-12-01"],                  # dates are not phone numbers
        "zip": ["10115", "75001"],
        "income": [58138.0, 46344.0],
        "ticket": ["4111111111111112", "5500000000000005"],      # 16 digits failing Luhn: not cards
    })
    assert find_identifier_columns(frame) == {
        "contact": "e-mail address", "tel": "phone number", "card": "card number", "home": "street address",
        "card_as_number": "card number"}
    assert find_identifier_columns(pd.DataFrame({"x": ["bob@mail.org"]})) == {"x": "e-mail address"}  # one row


def test_a_name_alone_only_warns_unless_the_values_are_per_customer(caplog):
    frame = pd.DataFrame({"customer_id": [1, 2, 3, 4], "first_name": ["Ann", "Bo", "Cy", "Di"],
                          "email": ["vip", "vip", "std", "vip"], "Class Name": ["A", "A", "B", "B"],
                          "mail": ["x@y.io", "z@y.io", None, None], "ok": [1, 2, 3, 4]})
    info: dict = {}
    with caplog.at_level(logging.WARNING, logger="seglab"):
        out = screen_attributes(frame, allow_columns=["mail"], info=info)
    assert list(out.columns) == ["customer_id", "email", "Class Name", "mail", "ok"]
    assert info["privacy_dropped_columns"] == {"first_name": "a distinct value per customer under an identifier's name"}
    assert info["privacy_name_warnings"] == ["email"]
    assert "dropped attribute column 'first_name'" in caplog.text
    assert "'mail' looks like an e-mail address but is kept (privacy.allow_columns)" in caplog.text
    assert "'email' has a name that suggests a direct identifier" in caplog.text
    assert not any(v in caplog.text for v in ("Ann", "x@y.io", "vip"))  # names and kinds, never values


def test_features_of_a_ten_row_table_carry_no_email(tmp_path):
    from seglab.data.schema import CustomerData
    from seglab.features import build_features

    customers = pd.DataFrame({"customer_id": range(10), "email": [f"user{i}@shop.example" for i in range(10)],
                              "Gender": ["F", "M"] * 5, "age": range(20, 30)})
    df = build_features(CustomerData(name="t", customers=customers))
    assert sorted(df.columns) == ["Gender=F", "Gender=M", "age"]
    assert df.attrs["features"]["privacy_dropped_columns"] == {"email": "e-mail address"}
    kept = build_features(CustomerData(name="t", customers=customers), allow_columns=["email"])
    assert any(c.startswith("email=") for c in kept.columns)


# --- a full run --------------------------------------------------------------------------------
SENTINEL = "quixotic-sentinel-review"


def _write_inputs(folder: Path) -> dict[str, str]:
    import numpy as np

    rng = np.random.default_rng(0)
    n = 9  # few enough customers for every distinct attribute value to become a one-hot column
    ids = [f"zq-cust-{i:05d}-x" for i in range(n)]
    tx = pd.DataFrame({"customer_id": ids * 12, "amount": rng.gamma(2, 30, 12 * n).round(2),
                       "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, 12 * n), "D")})
    tx.to_csv(folder / "tx.csv", index=False)
    customers = pd.DataFrame({"customer_id": ids, "email": [f"person{i}@mailhost.example" for i in range(n)],
                              "phone": [f"+1 (555) 01{i:02d}-{i % 97:04d}" for i in range(n)],
                              "Class Name": rng.choice(["Dresses", "Knits", "Jeans"], n), "age": rng.integers(20, 70, n)})
    customers.to_csv(folder / "customers.csv", index=False)
    texts = [f"{SENTINEL} number {i}: the {'lovely' if i % 2 else 'awful'} dress arrived late" for i in range(n)]
    reviews = pd.DataFrame({"customer_id": ids[:-1] + ["zq-ghost-99999-x"], "text": texts})
    reviews.to_csv(folder / "reviews.csv", index=False)
    return {"ids": ids, "ghost": "zq-ghost-99999-x"}


def _all_bytes(root: Path, skip_names: set[str]) -> list[tuple[Path, bytes]]:
    """Every file's bytes under ``root``, SQLite databases also as a dump (WAL content included)."""
    out = []
    for path in root.rglob("*"):
        if not path.is_file() or path.name in skip_names:
            continue
        out.append((path, path.read_bytes()))
        if path.suffix in (".db", ".sqlite"):
            with sqlite3.connect(path) as con:
                out.append((path, "\n".join(con.iterdump()).encode("utf-8", "replace")))
    return out


def test_full_run_keeps_ids_local_and_leaks_nothing(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SEGLAB_ID_KEY", "test-key")
    inputs = tmp_path / "in"
    inputs.mkdir()
    made = _write_inputs(inputs)
    out = tmp_path / "out"
    from seglab.train import run

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[
            f"log_dir={out / 'logs'}", "data=transactions", f"data.path={inputs / 'tx.csv'}",
            f"data.customers_path={inputs / 'customers.csv'}", f"data.reviews_path={inputs / 'reviews.csv'}",
            "model=kmeans", "n_clusters=3", "text=minilm", "text.backend=torch",
            f"text.cache_dir={out / 'text_cache'}", "logger.experiment_name=privacy"])
    with caplog.at_level(logging.WARNING, logger="seglab"):
        result = run(cfg, run_dir=out / "run")

    segments = pd.read_parquet(result.run_dir / "segments.parquet")
    assert segments["customer_id"].tolist() == made["ids"]  # the user's ids, to join back
    assert "text_sent_mean" in (result.run_dir / "profiles.csv").read_text()  # the reviews were scored
    assert any((out / "text_cache").rglob("*.sqlite"))
    artifacts = {a.path for a in MlflowClient(result.tracking_uri).list_artifacts(result.mlflow_run_id)}
    assert "profiles.csv" in artifacts and "segments.parquet" not in artifacts
    # the unknown reviewer's warning names a keyed hash, not the id
    assert f"keyed hashes {hash_id(made['ghost'])[:16]}" in caplog.text and made["ghost"] not in caplog.text
    assert "dropped attribute column 'email'" in caplog.text and "dropped attribute column 'phone'" in caplog.text

    needles = [SENTINEL, "mailhost.example", "(555) 01", made["ghost"], *made["ids"]]
    per_customer = {"segments.parquet", "embedding.parquet"}  # the run dir's files keyed by the user's ids
    leaks = [(str(p.relative_to(out)), n) for p, blob in _all_bytes(out, per_customer)
             for n in needles if n.encode() in blob]
    assert not leaks, leaks

    # privacy.upload_segments=true uploads the per-customer file, on request only
    cfg.privacy.upload_segments = True
    second = run(cfg, run_dir=out / "run2")
    assert "segments.parquet" in {a.path for a in MlflowClient(second.tracking_uri).list_artifacts(second.mlflow_run_id)}
