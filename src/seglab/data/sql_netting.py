"""``returns=net`` as SQL (DuckDB, Spark): the netting of ``seglab.data.lines.settle_returns``.

The same rule, step for step, so that transactions on disk give the pandas path's features:
duplicate lines dropped (keeping the first position), return rows classified as item-matched,
spend-matched or unmatched; item-matched value taken from the customer's lines of the item,
latest first (ties: later position first), each down to zero at most; the excess plus the
spend-matched value taken from the customer's remaining lines, latest first; lines netted to
zero dropped; each matched return row's netted value is its share of its group's takes.
``netting_ctes`` is the shared body; ``netted_purchases_sql`` and ``netted_returns_sql`` select
from it, ``netting_counts_sql`` gives the counters.
"""

from __future__ import annotations

from seglab.data.sql_dialect import Dialect

_LINE_COLS = "customer_id, ts_us, amount, quantity, category, item, invoice, kind"
_LATEST_FIRST = "ORDER BY ts_us DESC, pos DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"


def netting_ctes(spec, d: Dialect, raw: str) -> str:
    """``WITH ...`` defining ``lines``, ``retm`` (returns with their match), ``netted`` (purchase
    lines with ``take1``, ``take2``, ``new_amount``, ``full``), ``r_item``, ``pool``."""
    from seglab.data.sql_input import lines_select

    lines = lines_select(spec, d, raw)
    if spec.drop_duplicates:
        lines = f"SELECT {_LINE_COLS}, MIN(pos) AS pos FROM ({lines}) l GROUP BY {_LINE_COLS}"
    item_match = "bi.customer_id IS NOT NULL" if spec.item is not None else "FALSE"
    return f"""WITH lines AS ({lines}),
buy AS (SELECT * FROM lines WHERE kind = 'purchase'),
ret AS (SELECT *, abs(amount) AS value, abs(quantity) AS qty FROM lines WHERE kind <> 'purchase'),
bought_items AS (SELECT DISTINCT customer_id, item FROM buy),
buyers AS (SELECT DISTINCT customer_id FROM buy),
retm AS (
  SELECT ret.*, CASE WHEN {item_match} THEN 'item' WHEN b.customer_id IS NOT NULL THEN 'spend' ELSE 'none' END AS m
  FROM ret LEFT JOIN bought_items bi ON ret.customer_id = bi.customer_id AND ret.item = bi.item
  LEFT JOIN buyers b ON ret.customer_id = b.customer_id
),
r_item AS (SELECT customer_id, item, SUM(value) AS r FROM retm WHERE m = 'item' GROUP BY customer_id, item),
b1 AS (
  SELECT buy.*, COALESCE(r_item.r, 0) AS r_item,
         SUM(buy.amount) OVER (PARTITION BY buy.customer_id, buy.item {_LATEST_FIRST}) AS cum1,
         SUM(buy.amount) OVER (PARTITION BY buy.customer_id, buy.item) AS bought
  FROM buy LEFT JOIN r_item ON buy.customer_id = r_item.customer_id AND buy.item = r_item.item
),
b1t AS (SELECT *, LEAST(GREATEST(r_item - (cum1 - amount), 0), amount) AS take1, amount - LEAST(GREATEST(r_item - (cum1 - amount), 0), amount) AS left_ FROM b1),
excess AS (
  SELECT customer_id, SUM(GREATEST(r_item - bought, 0)) AS e
  FROM (SELECT DISTINCT customer_id, item, r_item, bought FROM b1 WHERE r_item > 0) x GROUP BY customer_id
),
spend AS (SELECT customer_id, SUM(value) AS s FROM retm WHERE m = 'spend' GROUP BY customer_id),
pool AS (
  SELECT customer_id, SUM(v) AS pool
  FROM (SELECT customer_id, e AS v FROM excess UNION ALL SELECT customer_id, s AS v FROM spend) u GROUP BY customer_id
),
b2 AS (
  SELECT b1t.*, COALESCE(pool.pool, 0) AS pool,
         SUM(b1t.left_) OVER (PARTITION BY b1t.customer_id {_LATEST_FIRST}) AS cum2
  FROM b1t LEFT JOIN pool ON b1t.customer_id = pool.customer_id
),
b2t AS (SELECT *, LEAST(GREATEST(pool - (cum2 - left_), 0), left_) AS take2 FROM b2),
netted AS (
  SELECT *, amount - take1 - take2 AS new_amount,
         (take1 + take2 > 0 AND abs(amount - take1 - take2) <= 1e-9 * GREATEST(abs(amount), 1)) AS full_
  FROM b2t
)"""


def netted_purchases_sql(spec, d: Dialect, raw: str) -> str:
    """The netted purchase lines as the canonical columns."""
    return f"""{netting_ctes(spec, d, raw)}
SELECT customer_id, ts_us, GREATEST(new_amount, 0) AS amount,
       quantity * CASE WHEN amount > 0 THEN GREATEST(new_amount, 0) / amount ELSE 1 END AS quantity, category
FROM netted WHERE NOT full_"""


def netted_returns_sql(spec, d: Dialect, raw: str) -> str:
    """Matched return rows: ``customer_id, ts_us, amount`` (value netted), ``quantity``, ``kind``."""
    return f"""{netting_ctes(spec, d, raw)},
t_item AS (SELECT customer_id, item, SUM(take1) AS t FROM netted GROUP BY customer_id, item),
t_pool AS (SELECT customer_id, SUM(take2) AS t FROM netted GROUP BY customer_id),
shares AS (
  SELECT retm.customer_id, retm.ts_us, retm.value, retm.qty, retm.kind,
         CASE WHEN retm.m = 'item' THEN t_item.t / r_item.r ELSE 0 END AS f1,
         COALESCE(t_pool.t / CASE WHEN pool.pool > 0 THEN pool.pool END, 0) AS f2
  FROM retm
  LEFT JOIN r_item ON retm.customer_id = r_item.customer_id AND retm.item = r_item.item
  LEFT JOIN t_item ON retm.customer_id = t_item.customer_id AND retm.item = t_item.item
  LEFT JOIN t_pool ON retm.customer_id = t_pool.customer_id
  LEFT JOIN pool ON retm.customer_id = pool.customer_id
  WHERE retm.m <> 'none'
),
valued AS (SELECT *, value * f1 + value * (1 - f1) * f2 AS netted_value FROM shares)
SELECT customer_id, ts_us, netted_value AS amount,
       qty * CASE WHEN value > 0 THEN netted_value / value ELSE 0 END AS quantity, kind
FROM valued"""


def netting_counts_sql(spec, d: Dialect, raw: str) -> str:
    """One row: item-, spend- and un-matched return rows, purchase lines fully returned, value
    not netted, distinct lines, and the time range of the netted purchases."""
    return f"""{netting_ctes(spec, d, raw)},
left_per AS (SELECT customer_id, SUM(left_) AS remaining FROM netted GROUP BY customer_id),
over AS (
  SELECT SUM(GREATEST(pool.pool - COALESCE(left_per.remaining, 0), 0)) AS v
  FROM pool LEFT JOIN left_per ON pool.customer_id = left_per.customer_id
)
SELECT (SELECT SUM(CASE WHEN m = 'item' THEN 1 ELSE 0 END) FROM retm),
       (SELECT SUM(CASE WHEN m = 'spend' THEN 1 ELSE 0 END) FROM retm),
       (SELECT SUM(CASE WHEN m = 'none' THEN 1 ELSE 0 END) FROM retm),
       (SELECT SUM(CASE WHEN full_ THEN 1 ELSE 0 END) FROM netted),
       (SELECT v FROM over),
       (SELECT COUNT(*) FROM lines),
       (SELECT MIN(ts_us) FROM netted WHERE NOT full_),
       (SELECT MAX(ts_us) FROM netted WHERE NOT full_)"""
