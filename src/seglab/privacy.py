"""Privacy by default: customer ids only where the user needs them, no direct identifiers as features.

**Ids.** The run dir's per-customer files (``segments.parquet``, ``forecast_customers.parquet``)
keep the ids the user supplied: they exist to be joined back to a CRM, and they are uploaded to
the tracker only with ``privacy.upload_segments=true``. Everywhere else (tracker, logs, warnings,
reports) an id appears only as ``hash_id(id)``: HMAC-SHA256 of ``str(id)`` under the key in the
environment variable ``SEGLAB_ID_KEY`` (hex digest), so whoever holds the key can join them and
nobody else can reverse them. The key never comes from the config, so it is never logged with
it. Without a key, ids are left out (``describe_ids`` then gives a count only).

**Direct identifiers among the attributes.** ``find_identifier_columns`` looks at the values of
each attribute column, whatever the number of rows (a 10-row table one-hot encodes every
distinct value, and would put raw e-mail addresses into column names, profiles and the saved
preprocessor):

- an e-mail address flags a column when any value holds one;
- the other patterns flag it when at least half of its values match: card numbers (13-19
  digits passing the Luhn check; a tenth of random numbers pass it, so one match proves
  nothing, most matching does), phone numbers (7-15 digits with the usual separators, not
  dates), street addresses (a house number and a street word: "12 Baker Street",
  "Hauptstraße 5", "rue de Rivoli 12");
- a name that suggests an identifier (``email``, ``phone``, ``first_name``, ``address`` ...) is
  only a warning: ``Class Name`` or ``product_category_name`` are descriptive. With such a name
  *and* a distinct value for nearly every customer (person names cannot be told by pattern)
  the column is flagged too.

``screen_attributes`` drops flagged columns with a warning naming the column and the kind of
value (never a value), unless the column is listed in ``privacy.allow_columns``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable, Sequence

import pandas as pd
from pandas.api import types as ptypes

log = logging.getLogger("seglab")

ID_KEY_ENV = "SEGLAB_ID_KEY"

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CARD_CANDIDATE = re.compile(r"(?<![\w.])(?:\d[ -]?){12,18}\d(?![\w.])")
PHONE = re.compile(r"^\s*\+?(?:\(\d{1,4}\)[\s.-]?)?\d[\d\s().-]{5,20}\d\s*$")
DATE_LIKE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T].*)?$")
_STREET_WORDS = (r"street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|terrace|"
                 r"circle|cir|highway|hwy|square|sq|parkway|pkwy")
ADDRESS = re.compile(
    rf"^\s*\d{{1,5}}[a-z]?,?\s+(?:[\w'.-]+\s+){{0,4}}(?:{_STREET_WORDS})\b\.?"  # 12 Baker Street
    r"|\b[\w'-]*(?:straße|strasse|str\.|weg|gasse|allee|platz|straat|laan|gade|vej|vägen|gatan)\s*\d{1,4}[a-z]?\b"
    r"|^\s*(?:rue|via|viale|calle|avenida|rua|carrer|piazza|plaza)\s+[\w' -]+\d{1,4}"
    r"|^\s*\d{1,4},?\s+(?:rue|via|calle|avenida|rua)\s",
    re.IGNORECASE)
NAME_HINTS = re.compile(
    r"(^|_)(e_?mail|mail_?address)(_|$)|(^|_)(phone|telephone|tel|mobile|cell_?phone|fax)(_|$)"
    r"|(^|_)(address|street|addr)(_|$)"
    r"|^(first|last|given|family|full|middle|nick|customer|client|user|contact|person)?_?name$|^(sur|last)name$"
    r"|(^|_)(ssn|social_security|passport|iban|credit_card|card_number|card_no|cc_number|tax_id|national_id"
    r"|ip_address|birth_?date|date_of_birth|dob)(_|$)")

#: Share of a column's non-null values a weak pattern must match to flag it.
WEAK_PATTERN_SHARE = 0.5
#: Distinct share above which a hinted name plus its values flag a column.
NAME_AND_UNIQUE_SHARE = 0.9


# --- ids ---------------------------------------------------------------------------------------
def id_key() -> bytes | None:
    """The HMAC key from ``SEGLAB_ID_KEY`` (None when unset or empty)."""
    key = os.environ.get(ID_KEY_ENV, "")
    return key.encode("utf-8") if key else None


def hash_id(value: object, key: bytes | None = None) -> str | None:
    """HMAC-SHA256 (hex) of ``str(value)`` under ``key`` (default: ``SEGLAB_ID_KEY``); None without a key."""
    key = id_key() if key is None else key
    if not key:
        return None
    return hmac.new(key, str(value).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def describe_ids(values: Iterable[object], shown: int = 3) -> str:
    """Customer ids for a log line or a warning: keyed hashes of the first ``shown`` when a key
    is set, else a note that they are withheld. Never the ids themselves."""
    values = list(values)
    key = id_key()
    if key is None:
        return f"ids withheld; set {ID_KEY_ENV} to log keyed hashes"
    hashes = [hash_id(v, key)[:16] for v in values[:shown]]  # type: ignore[index]
    return "keyed hashes " + ", ".join(hashes) + (" ..." if len(values) > shown else "")


# --- direct identifiers among attribute columns -------------------------------------------------
def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _has_card(text: str) -> bool:
    for match in CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return True
    return False


def _is_phone(text: str) -> bool:
    if not PHONE.match(text) or DATE_LIKE.match(text):
        return False
    n_digits = sum(ch.isdigit() for ch in text)
    if not 7 <= n_digits <= 15:
        return False
    try:  # a plain number ("1234567.5", "1e7") is a quantity, not a phone number
        float(text)
        return bool(re.search(r"[\s()+-]", text.strip())) or text.strip().startswith("0")
    except ValueError:
        return True


def identifier_kind(values: pd.Series) -> str | None:
    """What kind of direct identifier a column's values are (``e-mail``, ``card number``,
    ``phone number``, ``street address``), or None."""
    if ptypes.is_bool_dtype(values) or ptypes.is_datetime64_any_dtype(values) or ptypes.is_float_dtype(values):
        return None
    present = values.dropna()
    if not len(present):
        return None
    texts = present.astype(str)
    if ptypes.is_integer_dtype(present):  # card numbers stored as numbers
        return "card number" if texts.map(_has_card).mean() >= WEAK_PATTERN_SHARE else None
    if texts.drop_duplicates().map(lambda t: bool(EMAIL.search(t))).any():
        return "e-mail address"
    for kind, test in (("card number", _has_card), ("phone number", _is_phone),
                       ("street address", lambda t: bool(ADDRESS.search(t)))):
        if texts.map(test).mean() >= WEAK_PATTERN_SHARE:
            return kind
    return None


def name_hint(column: object) -> bool:
    """Whether a column's name suggests a direct identifier (``Customer Email`` -> ``customer_email``)."""
    norm = re.sub(r"[^0-9a-z]+", "_", str(column).lower()).strip("_")
    return bool(NAME_HINTS.search(norm))


def find_identifier_columns(frame: pd.DataFrame, skip: Sequence[str] = ("customer_id",)) -> dict[str, str]:
    """Columns of ``frame`` whose values are direct identifiers: column -> what they look like."""
    found: dict[str, str] = {}
    for col in frame.columns:
        if col in skip:
            continue
        kind = identifier_kind(frame[col])
        if kind is None and name_hint(col) and not ptypes.is_numeric_dtype(frame[col]):
            present = frame[col].dropna().astype(str)
            if len(present) >= 2 and present.nunique() >= NAME_AND_UNIQUE_SHARE * len(present):
                kind = "a distinct value per customer under an identifier's name"
        if kind is not None:
            found[str(col)] = kind
    return found


def screen_attributes(customers: pd.DataFrame, allow_columns: Sequence[str] = (), info: dict | None = None,
                      skip: Sequence[str] = ("customer_id",)) -> pd.DataFrame:
    """``customers`` without the columns that hold direct identifiers (``find_identifier_columns``),
    except those in ``allow_columns``. Warns naming each column and the kind of value, never a
    value; ``info`` (if given) receives ``privacy_dropped_columns`` and ``privacy_name_warnings``."""
    allowed = {str(c) for c in allow_columns or ()}
    found = find_identifier_columns(customers, skip=skip)
    dropped = {c: k for c, k in found.items() if c not in allowed}
    for col, kind in found.items():
        if col in allowed:
            log.warning("privacy: attribute column %r looks like %s but is kept (privacy.allow_columns)",
                        col, _article(kind))
        else:
            log.warning("privacy: dropped attribute column %r: its values look like %s (direct identifiers); "
                        "keep it with privacy.allow_columns=[%s]", col, _article(kind), col)
    hinted = [str(c) for c in customers.columns if c not in skip and str(c) not in found and name_hint(c)]
    for col in hinted:
        log.warning("privacy: attribute column %r has a name that suggests a direct identifier; its values "
                    "look like none, so it is kept (drop it with the source's drop_columns if it is one)", col)
    if info is not None:
        info["privacy_dropped_columns"] = dict(dropped)
        info["privacy_name_warnings"] = hinted
    return customers.drop(columns=list(dropped)) if dropped else customers


def _article(kind: str) -> str:
    return kind if kind.startswith("a ") else ("an " if kind[0] in "aeiou" else "a ") + kind
