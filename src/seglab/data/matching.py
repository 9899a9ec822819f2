"""Joining files on customer ids: a mismatch that drops most rows is an error, not a warning.

A customers file written by one tool (``1.0``, ``00042``) and a transaction log written by
another (``1``, ``42``) share no id, and every transaction would be dropped as "of an unknown
customer". ``check_overlap`` stops the run when no row matches, or when more than
``MAX_UNMATCHED_SHARE`` of a table's rows have ids outside the population and those ids are
written differently (a type mismatch), and says how the ids of each side are written (their
shapes, never the ids themselves: ids are personal data). Otherwise (a customers file that
selects some customers) the rows are dropped and counted (``restrict_to_customers`` in
``seglab.data.validate``).
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from seglab.errors import DataValidationError

#: share of a table's rows with unknown ids above which the join is an error
MAX_UNMATCHED_SHARE = 0.5

_SHAPES = (
    (re.compile(r"^-?\d+\.0+$"), "integers written with '.0'"),
    (re.compile(r"^0\d+$"), "integers with leading zeros"),
    (re.compile(r"^-?\d+$"), "integers"),
    (re.compile(r"^-?\d*\.\d+$"), "decimal numbers"),
    (re.compile(r"^[0-9a-fA-F]{32}$"), "32-character hex codes"),
    (re.compile(r"^[0-9a-fA-F-]{36}$"), "UUIDs"),
    (re.compile(r"^\S+@\S+$"), "e-mail addresses"),
)


def id_shape(ids: pd.Series | pd.Index, sample: int = 2000) -> str:
    """How most ids are written (``integers``, ``integers written with '.0'``, ``text``...)."""
    values = pd.Series(ids).astype(str).head(sample)
    counts: Counter = Counter()
    for v in values:
        counts[next((name for rx, name in _SHAPES if rx.match(v)), "text")] += 1
    if not counts:
        return "none"
    (shape, n), *rest = counts.most_common()
    return shape if not rest else f"{shape} ({n / len(values):.0%})"


def check_overlap(ids: pd.Series, population: pd.Index, *, what: str, file: str, population_file: str) -> None:
    """``judge_overlap`` for one id per row of a table in memory."""
    from seglab.data.repairs import member_of

    if not len(ids):
        return
    unknown = ~member_of(ids, pd.Index(population))
    judge_overlap(int(unknown.sum()), len(ids), ids[unknown].head(2000), population, what=what, file=file,
                  population_file=population_file)


def judge_overlap(n_unknown: int, n_rows: int, unknown_sample: pd.Series, population: pd.Index, *, what: str,
                  file: str, population_file: str) -> None:
    """Raise when no row matches, or when more than ``MAX_UNMATCHED_SHARE`` of the rows do not
    and their ids are written differently from the population's (a type mismatch); a customers
    file that selects a subset of customers written the same way is not an error."""
    if not n_rows or not n_unknown:
        return
    share = n_unknown / n_rows
    mine, theirs = id_shape(unknown_sample), id_shape(pd.Series(population))
    if share < 1.0 and (share <= MAX_UNMATCHED_SHARE or mine == theirs):
        return
    why = (f"the ids are written differently ({what}: {mine}; {population_file}: {theirs})" if mine != theirs
           else f"both write {mine}, but none is the same customer")
    raise DataValidationError(
        f"{share:.1%} of {what} rows ({n_unknown} of {n_rows}) have customer ids absent from "
        f"{population_file}: {why}", file=file, column="customer_id",
        hint="write the ids the same way in both files (1 and 1.0 or 0042 and 42 are different ids)")
