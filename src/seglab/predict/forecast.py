"""Holdout forecasts per customer and per segment, scored against what happened: one run's report.

``write_forecasts(run_dir, split, features=..., labels=..., ...)`` (called by ``train.run``
when ``predict=on``) fits on the calibration period of ``split`` and writes

- ``forecast_customers.parquet``: per customer, the BG/NBD + Gamma-Gamma forecast for the
  holdout (``p_alive`` at the cut, ``p_purchase``, ``expected_purchases``,
  ``expected_spend``, ``churn_prob`` = P(no purchase in the ``churn_days`` after the cut),
  ``clv`` over ``horizon_days`` discounted at ``discount_rate`` a year times ``margin``), the
  other models' forecasts and the actual holdout purchases and spend;
- ``forecast_segments.csv``: the same aggregated per segment (means of probabilities, sums of
  counts and money) beside the actuals, and the per-segment BG/NBD parameters;
- ``forecast_scores.csv``: AUC (buys again in the holdout) and RMSE (holdout purchase count)
  per model and segment with bootstrap 95% intervals, and each "+ segment" model's paired
  difference from its base (``seglab.predict.scores``);
- ``forecast_calibration.{csv,png}``, ``forecast_gains.{csv,png}`` (``seglab.predict.plots``),
  ``forecast.json`` (the split, the fitted parameters);

and returns ``predict/*`` metrics for the tracker. Models: ``bgnbd`` (one BG/NBD for the
cohort), ``bgnbd_seg`` (one BG/NBD per segment: the segment added to the purchase model;
segments smaller than ``min_segment_size`` use the pooled fit), and gradient boosting on the
input sets of ``seglab.predict.discriminative``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from seglab.predict.btyd import BetaGeoModel, GammaGammaModel, discounted_value
from seglab.predict.discriminative import cross_fitted, input_sets
from seglab.predict.plots import calibration_frame, gains_frame, plot_calibration, plot_gains
from seglab.predict.scores import ALL, Forecast, bootstrap_scores
from seglab.predict.split import TimeSplit, rfm_summary
from seglab.progress import stage

UNIT_DAYS = 7.0  # BTYD models work in weeks, the unit of the published CDNOW parameters
DAYS_PER_YEAR = 365.25


def customer_forecasts(summary: pd.DataFrame, bgnbd: BetaGeoModel, gg: GammaGammaModel, *, holdout_days: float,
                       churn_days: float, horizon_days: float, discount_rate: float, margin: float) -> pd.DataFrame:
    """Per-customer BG/NBD + Gamma-Gamma forecasts (columns as in the module docstring)."""
    x, t_x, T = summary["x"].to_numpy(), summary["t_x"].to_numpy(), summary["T"].to_numpy()
    out = pd.DataFrame(index=summary.index)
    out["p_alive"] = bgnbd.p_alive(x, t_x, T)
    out["p_purchase"] = bgnbd.p_purchase(holdout_days / UNIT_DAYS, x, t_x, T)
    out["expected_purchases"] = bgnbd.expected_purchases(holdout_days / UNIT_DAYS, x, t_x, T)
    out["spend_per_purchase"] = gg.expected_spend(x, summary["m"].to_numpy())
    out["expected_spend"] = out["expected_purchases"] * out["spend_per_purchase"]
    out["churn_prob"] = 1.0 - bgnbd.p_purchase(churn_days / UNIT_DAYS, x, t_x, T)
    out["clv"] = discounted_value(bgnbd, out["spend_per_purchase"].to_numpy(), x, t_x, T,
                                  horizon=horizon_days / UNIT_DAYS, step=DAYS_PER_YEAR / 12 / UNIT_DAYS,
                                  yearly_discount=discount_rate, unit_per_year=DAYS_PER_YEAR / UNIT_DAYS,
                                  margin=margin)
    return out


def per_segment_bgnbd(summary: pd.DataFrame, segments: np.ndarray, pooled: BetaGeoModel, holdout_days: float,
                      min_segment_size: int) -> tuple[Forecast, pd.DataFrame]:
    """One BG/NBD per segment (pooled parameters for segments too small or without a repeat
    buyer); the forecast and a table of each segment's parameters."""
    t = holdout_days / UNIT_DAYS
    x, t_x, T = (summary[c].to_numpy() for c in ("x", "t_x", "T"))
    p, e = np.empty(len(x)), np.empty(len(x))
    rows = []
    for s in np.unique(segments):
        mask = segments == s
        own = mask.sum() >= min_segment_size and (x[mask] > 0).sum() >= 2
        model = BetaGeoModel().fit(x[mask], t_x[mask], T[mask]) if own else pooled
        p[mask] = model.p_purchase(t, x[mask], t_x[mask], T[mask])
        e[mask] = model.expected_purchases(t, x[mask], t_x[mask], T[mask])
        ll = float(model.log_likelihood(x[mask], t_x[mask], T[mask]).sum())
        rows.append({"segment": str(s), "bgnbd_fit": "own" if own else "pooled", "bgnbd_r": model.r_,
                     "bgnbd_alpha": model.alpha_, "bgnbd_a": model.a_, "bgnbd_b": model.b_, "bgnbd_loglik": ll})
    return Forecast(p, e, base="bgnbd"), pd.DataFrame(rows).set_index("segment")


def segment_table(customers: pd.DataFrame, churn_observed: bool) -> pd.DataFrame:
    """Forecasts and actuals aggregated per segment, plus the population row ``all``."""
    def agg(frame: pd.DataFrame) -> dict:
        row = {"n_customers": len(frame)}
        for col in ("p_alive", "p_purchase", "churn_prob"):
            row[col] = frame[col].mean()
        row["actual_buyer_share"] = frame["actual_purchased"].mean()
        row["actual_churn_share"] = frame["actual_churned"].mean() if churn_observed else np.nan
        for col in ("expected_purchases", "actual_purchases", "expected_spend", "actual_spend", "clv"):
            row[col] = frame[col].sum()
        row["clv_mean"] = frame["clv"].mean()
        return row

    rows = {str(s): agg(g) for s, g in customers.groupby("segment", sort=True)}
    rows[ALL] = agg(customers)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "segment"
    return out


def write_forecasts(run_dir: str | Path, split: TimeSplit, *, features: pd.DataFrame | None, labels: np.ndarray,
                    proba: np.ndarray | None = None, latent: np.ndarray | None = None,
                    options: dict | None = None, profiles: dict | None = None,
                    random_state: int = 0) -> dict[str, float]:
    """Fit, forecast, score and write (see the module docstring). ``options``: ``horizon_days``,
    ``inputs``, ``n_folds``, ``n_bootstrap``, ``segment_bgnbd``, ``min_segment_size``, ``n_threads`` (other
    ``predict.*`` keys are ignored); ``profiles``: ``churn_days``, ``margin``,
    ``discount_rate``."""
    opts = {"horizon_days": 365.0, "inputs": ["rfm", "rfm_seg"], "n_folds": 5, "n_bootstrap": 200,
            "segment_bgnbd": True, "min_segment_size": 30, "n_threads": 1, **(options or {})}
    prof = {"churn_days": 180.0, "margin": 1.0, "discount_rate": 0.1, **(profiles or {})}
    run_dir = Path(run_dir)
    t0, c0 = time.perf_counter(), time.process_time()
    # one BLAS/OpenMP thread (n_threads): on a busy 2-core machine scipy's L-BFGS-B spent 6x the CPU
    # time with two BLAS threads spinning than with one (BG/NBD fits of 1,000 customers: 0.15 s vs 0.02 s)
    with stage("predict: BG/NBD + Gamma-Gamma, gradient boosting, bootstrap scores"), \
            threadpool_limits(int(opts["n_threads"])):
        cal, hold = split.calibration, split.holdout
        summary = rfm_summary(cal.transactions, cal.customer_ids, split.calibration_end, UNIT_DAYS)
        segments = np.asarray(labels).astype(int)
        bgnbd = BetaGeoModel().fit(summary["x"], summary["t_x"], summary["T"])
        gg = GammaGammaModel().fit(summary["x"], summary["m"])
        per_customer = customer_forecasts(summary, bgnbd, gg, holdout_days=split.holdout_days,
                                          churn_days=float(prof["churn_days"]), horizon_days=float(opts["horizon_days"]),
                                          discount_rate=float(prof["discount_rate"]), margin=float(prof["margin"]))
        purchases = hold["purchases"].to_numpy()
        forecasts = {"bgnbd": Forecast(per_customer["p_purchase"].to_numpy(),
                                       per_customer["expected_purchases"].to_numpy())}
        seg_params = None
        if opts["segment_bgnbd"]:
            forecasts["bgnbd_seg"], seg_params = per_segment_bgnbd(summary, segments, bgnbd, split.holdout_days,
                                                                   int(opts["min_segment_size"]))
        inputs = input_sets(list(opts["inputs"]), summary=summary, features=features, labels=segments,
                            proba=proba, latent=latent)
        forecasts.update(cross_fitted(inputs, purchases, n_folds=int(opts["n_folds"]), random_state=random_state,
                                      n_threads=int(opts["n_threads"])))
        scores = bootstrap_scores(purchases, forecasts, segments, n_boot=int(opts["n_bootstrap"]),
                                  random_state=random_state)

        churn_observed = float(prof["churn_days"]) <= split.holdout_days
        customers = per_customer.assign(segment=segments, actual_purchases=purchases,
                                        actual_spend=hold["spend"].to_numpy(),
                                        actual_purchased=hold["purchased"].to_numpy(),
                                        actual_churned=~(hold["days_to_first"] <= float(prof["churn_days"])).to_numpy())
        for name, fc in forecasts.items():
            if name != "bgnbd":
                customers[f"{name}_p_purchase"] = fc.p_purchase
                customers[f"{name}_expected_purchases"] = fc.expected_purchases
        customers = pd.concat([summary[["x", "t_x", "T"]], customers], axis=1)
        customers.reset_index().to_parquet(run_dir / "forecast_customers.parquet", index=False)
        table = segment_table(customers, churn_observed)
        if seg_params is not None:
            table = table.join(seg_params)
        table.to_csv(run_dir / "forecast_segments.csv")
        scores.to_csv(run_dir / "forecast_scores.csv", index=False)

        shown = {k: v for k, v in forecasts.items() if k in ("bgnbd", "bgnbd_seg") or k == next(
            (n for n in forecasts if n.startswith("gbm_")), None)}
        calib = calibration_frame(summary["x"].to_numpy(), purchases, shown)
        calib.to_csv(run_dir / "forecast_calibration.csv")
        seg_totals = pd.DataFrame({"actual": customers.groupby("segment")["actual_purchases"].sum()})
        for name, fc in shown.items():
            seg_totals[name] = pd.Series(fc.expected_purchases).groupby(segments).sum()
        plot_calibration(calib, seg_totals, run_dir / "forecast_calibration.png", f"{split.holdout_days:g} days")
        gains = gains_frame(purchases, forecasts)
        gains.to_csv(run_dir / "forecast_gains.csv", index=False)
        plot_gains(gains, run_dir / "forecast_gains.png")

        facts = {**split.describe(), "time_unit": "week",
                 "bgnbd": dict(zip(("r", "alpha", "a", "b"), bgnbd.params_, strict=True)),
                 "bgnbd_loglik": bgnbd.log_likelihood_, "bgnbd_converged": bgnbd.converged_,
                 "gamma_gamma": {"p": gg.p_, "q": gg.q_, "gamma": gg.gamma_},
                 "churn_days": float(prof["churn_days"]), "horizon_days": float(opts["horizon_days"]),
                 "models": {k: v.base for k, v in forecasts.items()}}
        (run_dir / "forecast.json").write_text(json.dumps(facts, indent=2, default=float))
    metrics = forecast_metrics(bgnbd, gg, table, scores, seg_params)
    metrics["predict/holdout_days"] = float(split.holdout_days)
    metrics["predict/time_s"] = time.perf_counter() - t0
    metrics["predict/cpu_s"] = time.process_time() - c0
    return metrics


def forecast_metrics(bgnbd: BetaGeoModel, gg: GammaGammaModel, table: pd.DataFrame, scores: pd.DataFrame,
                     seg_params: pd.DataFrame | None) -> dict[str, float]:
    """``predict/*`` floats for the tracker (per-segment detail stays in the CSV files)."""
    pop = table.loc[ALL]
    m = {"predict/n_customers": float(pop["n_customers"]),
         "predict/bgnbd_r": bgnbd.r_, "predict/bgnbd_alpha": bgnbd.alpha_, "predict/bgnbd_a": bgnbd.a_,
         "predict/bgnbd_b": bgnbd.b_, "predict/bgnbd_loglik": bgnbd.log_likelihood_,
         "predict/gg_p": gg.p_, "predict/gg_q": gg.q_, "predict/gg_gamma": gg.gamma_}
    for col in ("expected_purchases", "actual_purchases", "expected_spend", "actual_spend", "clv", "clv_mean",
                "p_alive", "churn_prob", "actual_churn_share"):
        m[f"predict/{col}"] = float(pop[col])
    if seg_params is not None:
        m["predict/bgnbd_seg_loglik"] = float(seg_params["bgnbd_loglik"].sum())
    for row in scores[scores["segment"] == ALL].itertuples():
        key = f"predict/{row.model}_{row.metric}"
        m[key], m[f"{key}_lo"], m[f"{key}_hi"] = float(row.value), float(row.lo), float(row.hi)
        if np.isfinite(row.delta):
            m[f"{key}_delta"], m[f"{key}_delta_lo"], m[f"{key}_delta_hi"] = (
                float(row.delta), float(row.delta_lo), float(row.delta_hi))
    return m
