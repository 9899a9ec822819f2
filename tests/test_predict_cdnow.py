"""BG/NBD and Gamma-Gamma on the CDNOW 1/10 sample reproduce the published parameters.

Fader, Hardie & Lee (2005), 39-week calibration: r = 0.243, alpha = 4.414, a = 0.793,
b = 2.426, log-likelihood -9,582.4. Fader & Hardie (2013): p = 6.25, q = 3.74, gamma = 15.44.
Tolerance: 0.5% on each parameter (the published values are rounded to 3-4 significant
digits) and 0.1 on the log-likelihood.
"""

from __future__ import annotations

import pytest

from seglab.predict.btyd import BetaGeoModel, GammaGammaModel
from seglab.predict.cdnow_sample import CDNOWSampleSource
from seglab.predict.split import rfm_summary, time_split

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.mark.shared_data
def test_cdnow_sample_fits_match_the_published_parameters(shared_data_dir):
    data = CDNOWSampleSource(path=str(shared_data_dir / "cdnow" / "CDNOW_master.txt")).load()
    split = time_split(data, "1997-09-30", holdout_days=39 * 7)
    summary = rfm_summary(split.calibration.transactions, split.calibration.customer_ids, split.calibration_end)
    assert len(summary) == 2357 and summary["x"].sum() == 2457  # repeat purchases in weeks 1-39
    bgnbd = BetaGeoModel().fit(summary["x"], summary["t_x"], summary["T"])
    fitted = dict(zip(("r", "alpha", "a", "b"), bgnbd.params_, strict=True))
    for key, value in PUBLISHED_BGNBD.items():
        assert fitted[key] == pytest.approx(value, rel=0.005), key
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    gg = GammaGammaModel().fit(summary["x"], summary["m"])
    assert gg.n_customers_ == 946
    for key, value in PUBLISHED_GG.items():
        assert getattr(gg, f"{key}_") == pytest.approx(value, rel=0.005), key
