"""The CDNOW 1/10 sample of Fader, Hardie & Lee (2005), rebuilt from the full CDNOW log.

The published BG/NBD (r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, log-likelihood -9,582.4)
and Gamma-Gamma (p = 6.25, q = 3.74, gamma = 15.44) parameters are for a 1/10 sample of
2,357 customers, shipped as ``CDNOW_sample.txt`` in the PyPI wheel of ``lifetimes``. Its rows
are exactly the rows of ``CDNOW_master.txt`` for those customers (checked row for row), so
seglab ships only the list of the 2,357 ids (``cdnow_sample_ids.txt``, 16 KB, no purchases)
and selects them from the full log that ``data=cdnow`` reads.

Usage: ``python train.py data=cdnow data._target_=seglab.predict.cdnow_sample.CDNOWSampleSource``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from seglab.data.cdnow import CDNOWSource
from seglab.data.schema import CustomerData

IDS_FILE = Path(__file__).with_name("cdnow_sample_ids.txt")


def sample_ids() -> list[str]:
    """The 2,357 customer ids of the 1/10 sample, as strings like ``"00004"``."""
    lines = IDS_FILE.read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.startswith("#")]


class CDNOWSampleSource(CDNOWSource):
    """``CDNOWSource`` restricted to the 1/10 sample's customers (same arguments)."""

    def load(self) -> CustomerData:
        data = super().load()
        keep = set(sample_ids())
        customers = data.customers[data.customers["customer_id"].isin(keep)].reset_index(drop=True)
        tx = data.transactions[data.transactions["customer_id"].isin(keep)].reset_index(drop=True)
        return replace(data, customers=customers, transactions=tx,
                       meta={**data.meta, "sample": "CDNOW 1/10 sample (2,357 customers)"})
