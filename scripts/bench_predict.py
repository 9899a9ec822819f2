"""Benchmark of the time-split forecasts (``predict=on``): writes ``experiments/predict.md``.

Stages (``--stages``; each measured run is a raw record in ``experiments/predict_runs.jsonl``,
so an interrupted benchmark resumes and the table can be rebuilt with ``--stages`` empty):

- ``params``: BG/NBD and Gamma-Gamma on the CDNOW 1/10 sample (39-week calibration) beside the
  published parameters, and its 39-week holdout;
- ``runs``: ``python train.py ... predict=on`` on the CDNOW sample (39/39 weeks) and the synthetic
  default (180-day holdout), seeds 0-2, every input set, 1,000 bootstrap resamples;
- ``timing``: the default run with and without ``predict=on``, wall and CPU seconds;
- ``libraries`` (not default: installs packages into throw-away venvs): install size and time,
  import and fit time of ``lifetimes`` and ``pymc-marketing`` on the same CDNOW summary.

    python scripts/bench_predict.py                      # params runs timing
    python scripts/bench_predict.py --stages libraries   # then rebuilds the table from all records
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchlib import ROOT, RawRecords, mean_std, provenance_header, run_timed
from seglab.predict.btyd import BetaGeoModel, GammaGammaModel
from seglab.predict.cdnow_sample import CDNOWSampleSource
from seglab.predict.plots import calibration_frame
from seglab.predict.scores import Forecast
from seglab.predict.split import rfm_summary, time_split

RECORDS = ROOT / "experiments" / "predict_runs.jsonl"
OUT = ROOT / "experiments" / "predict.md"
CDNOW = ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
ALL_INPUTS = "predict.inputs=[rfm,rfm_seg,rfm_soft,rfm_latent,features,features_seg]"
DATASETS = {
    "cdnow_sample": ["data=cdnow", "data._target_=seglab.predict.cdnow_sample.CDNOWSampleSource", "predict=on",
                     "predict.calibration_end=1997-09-30", "predict.holdout_days=273"],
    "synthetic": ["predict=on"],
}


def cdnow_split():
    data = CDNOWSampleSource(path=str(CDNOW)).load()
    split = time_split(data, "1997-09-30", 39 * 7)
    return split, rfm_summary(split.calibration.transactions, split.calibration.customer_ids, split.calibration_end)


def stage_params(records: RawRecords) -> None:
    key = {"stage": "params"}
    if records.done(key):
        return
    split, s = cdnow_split()
    t0, c0 = time.perf_counter(), time.process_time()
    bg = BetaGeoModel().fit(s["x"], s["t_x"], s["T"])
    gg = GammaGammaModel().fit(s["x"], s["m"])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    expected = bg.expected_purchases(39.0, s["x"], s["t_x"], s["T"])
    calib = calibration_frame(s["x"].to_numpy(), split.holdout["purchases"].to_numpy(),
                              {"bgnbd": Forecast(np.zeros(len(s)), expected)})
    records.add(key, {"calibration": calib.reset_index().to_dict("records"), "bgnbd": dict(zip(("r", "alpha", "a", "b"), bg.params_, strict=True)),
                      "loglik": bg.log_likelihood_, "gg": {"p": gg.p_, "q": gg.q_, "gamma": gg.gamma_},
                      "gg_customers": gg.n_customers_, "fit_wall_s": wall, "fit_cpu_s": cpu,
                      "n_customers": len(s), "calibration_repeat": float(s["x"].sum()),
                      "holdout_expected": float(expected.sum()),
                      "holdout_actual": float(split.holdout["purchases"].sum())})


def train_command(args: list[str], log_dir: Path, name: str) -> tuple[dict, Path]:
    """Run ``python train.py args`` in its own run dir (Hydra's default name, made of every
    override, is too long for the file system with these overrides)."""
    run_dir = log_dir / "runs" / f"{name}_{time.strftime('%H%M%S')}"
    cmd = [sys.executable, "train.py", *args, f"log_dir={log_dir}", f"hydra.run.dir={run_dir}"]
    res = run_timed(cmd)
    if res["returncode"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res['stderr'][-3000:]}")
    run_dir = Path(re.search(r"run dir: (\S+)", res["stdout"]).group(1))
    return res, run_dir


def stage_runs(records: RawRecords, seeds: list[int], log_dir: Path) -> None:
    for dataset, overrides in DATASETS.items():
        for seed in seeds:
            key = {"stage": "run", "dataset": dataset, "seed": seed}
            if records.done(key):
                continue
            args = [*overrides, ALL_INPUTS, "predict.n_bootstrap=1000", f"seed={seed}", "logger=none"]
            res, run_dir = train_command(args, log_dir, f"{dataset}_{seed}")
            metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
            records.add(key, {
                "command": "python train.py " + " ".join(args), "wall_s": res["wall_s"], "cpu_s": res["cpu_s"],
                "load1_before": res["load1_before"],
                "metrics": {k: v for k, v in metrics.items() if k.startswith(("predict/", "eval/", "time/"))},
                "scores": pd.read_csv(run_dir / "forecast_scores.csv").to_dict("records"),
                "segments": pd.read_csv(run_dir / "forecast_segments.csv").to_dict("records"),
                "segment_names": json.loads((run_dir / "segment_names.json").read_text())
                if (run_dir / "segment_names.json").exists() else {}})
            print(f"{dataset} seed={seed}: bgnbd auc={metrics['predict/bgnbd_auc']:.3f} "
                  f"wall={res['wall_s']:.0f}s", flush=True)


def stage_timing(records: RawRecords, reps: int, log_dir: Path) -> None:
    for rep in range(reps):
        for predict in ("off", "on"):  # alternate, so a load change hits both alike
            key = {"stage": "timing", "predict": predict, "rep": rep}
            if records.done(key):
                continue
            res, run_dir = train_command([f"predict={predict}", "seed=0"], log_dir, f"timing_{predict}_{rep}")
            metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
            records.add(key, {"wall_s": res["wall_s"], "cpu_s": res["cpu_s"], "load1_before": res["load1_before"],
                              "predict_time_s": metrics.get("predict/time_s"),
                              "predict_cpu_s": metrics.get("predict/cpu_s"), "fit_s": metrics.get("time/fit_s")})
            print(f"timing predict={predict} rep={rep}: wall={res['wall_s']:.1f}s cpu={res['cpu_s']:.1f}s", flush=True)


LIBRARIES = {
    "lifetimes": ("lifetimes==0.11.3", """
from lifetimes import BetaGeoFitter, GammaGammaFitter
bg = BetaGeoFitter().fit(d.x, d.t_x, d["T"]); r = d[d.x > 0]
gg = GammaGammaFitter().fit(r.x, r.m)
params = {**bg.params_.to_dict(), **gg.params_.to_dict()}
"""),
    "pymc-marketing": ("pymc-marketing", """
from pymc_marketing import clv
data = pd.DataFrame({"customer_id": range(len(d)), "frequency": d.x, "recency": d.t_x, "T": d["T"]})
bg = clv.BetaGeoModel(data=data); bg.fit(method="map")
r = data[d.x.to_numpy() > 0].assign(monetary_value=d.m[d.x > 0].to_numpy())
gg = clv.GammaGammaModel(data=r); gg.fit(method="map")
params = {**bg.fit_summary().to_dict(), **gg.fit_summary().to_dict()}
"""),
}
FIT_SCRIPT = """
import json, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
import pandas as pd
d = pd.read_csv(sys.argv[1])
{body}
print(json.dumps({{"fit_wall_s": time.perf_counter() - t0, "fit_cpu_s": time.process_time() - c0,
                  "params": {{k: float(v) for k, v in params.items()}}}}))
"""


def stage_libraries(records: RawRecords) -> None:
    """Each library in a fresh venv that sees seglab's packages (a .pth file), so pip installs
    only what the library adds; fit = import + both fits, in a fresh process (twice: the second
    shows the cost without first-time compilation caches)."""
    _, s = cdnow_split()
    for name, (spec, body) in LIBRARIES.items():
        key = {"stage": "library", "name": name}
        if records.done(key):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            s.to_csv(tmp / "summary.csv", index=False)
            subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True)
            py = tmp / "venv" / "bin" / "python"
            site = Path(subprocess.run([py, "-c", "import site; print(site.getsitepackages()[0])"], check=True,
                                       capture_output=True, text=True).stdout.strip())
            ours = subprocess.run([sys.executable, "-c", "import site; print(site.getsitepackages()[0])"],
                                  check=True, capture_output=True, text=True).stdout.strip()
            before = {p.name for p in site.iterdir()}
            (site / "zz_seglab.pth").write_text(ours + "\n")
            install = run_timed([str(py), "-m", "pip", "install", "--quiet", spec])
            added = [p for p in site.iterdir() if p.name not in before and p.name != "zz_seglab.pth"]
            size = sum(f.stat().st_size for p in added for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
            version = subprocess.run([py, "-m", "pip", "show", spec.split("=")[0]], capture_output=True,
                                     text=True).stdout
            (tmp / "fit.py").write_text(FIT_SCRIPT.format(body=body))
            fits = []
            for _ in range(2):
                fit = run_timed([str(py), str(tmp / "fit.py"), str(tmp / "summary.csv")])
                fits.append(json.loads(fit["stdout"].strip().splitlines()[-1]) | {"process_wall_s": fit["wall_s"]}
                            if fit["returncode"] == 0 else {"error": fit["stderr"][-1500:]})
        records.add(key, {"spec": spec, "version": re.search(r"Version: (\S+)", version).group(1) if version else None,
                          "install_ok": install["returncode"] == 0, "install_wall_s": install["wall_s"],
                          "install_error": install["stderr"][-1500:] if install["returncode"] else "",
                          "added_dists": sorted(p.name for p in added if p.name.endswith(".dist-info")),
                          "added_mb": size / 2**20, "fits": fits})


PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "gamma": 15.44}
MODELS = ["bgnbd", "bgnbd_seg", "gbm_rfm", "gbm_rfm_seg", "gbm_rfm_soft", "gbm_rfm_latent", "gbm_features",
          "gbm_features_seg"]
BETTER = {"auc": 1.0, "rmse": -1.0}  # sign of an improvement


def _ci(v, lo, hi, d=3) -> str:
    return f"{v:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _verdict(deltas: list[tuple[float, float]], sign: float) -> str:
    helps = sum(1 for lo, hi in deltas if sign * lo > 0 and sign * hi > 0)
    hurts = sum(1 for lo, hi in deltas if sign * lo < 0 and sign * hi < 0)
    n = len(deltas)
    if n in (helps, hurts):
        return f"**{'helps' if helps == n else 'hurts'}** ({n}/{n} seeds)"
    return f"no consistent difference (helps {helps}, hurts {hurts}, neither {n - helps - hurts} of {n} seeds)"


def render_params(records: RawRecords) -> str:
    rec = records.latest(stage="params")
    if not rec:
        return ""
    r = rec[0]["result"]
    libs = {x["key"]["name"]: x["result"] for x in records.latest(stage="library")}
    fitted = {**r["bgnbd"], **r["gg"]}
    cols = ["parameter", "published", "seglab (scipy MLE)"] + [f"{n} {lib.get('version') or ''}".strip()
                                                              for n, lib in libs.items()]
    rows = []
    for k, pub in PUBLISHED.items():
        row = [k, pub, f"{fitted[k]:.4f}"]
        for lib in libs.values():
            par = next((f.get("params", {}) for f in lib["fits"] if "params" in f), {})
            alias = {"gamma": "v"}.get(k, k) if "v" in par else k
            row.append(f"{par[alias]:.4f}" if alias in par else "n/a")
        rows.append(row)
    rows.append(["BG/NBD log-likelihood", "-9582.4", f"{r['loglik']:.2f}"] + [""] * len(libs))
    text = ("## CDNOW 1/10 sample: fitted parameters beside the published ones\n\n"
            f"{r['n_customers']} customers, 39-week calibration ({r['calibration_repeat']:.0f} repeat purchases), "
            f"Gamma-Gamma on the {r['gg_customers']} customers with a repeat purchase; BG/NBD in weeks. Published: "
            "Fader, Hardie & Lee (2005); Fader & Hardie (2013). Both fits together: "
            f"{r['fit_wall_s']:.2f} s wall, {r['fit_cpu_s']:.2f} s CPU.\n\n" + _table(cols, rows))
    text += (f"\nWeeks 40-78 (holdout): BG/NBD expects **{r['holdout_expected']:.0f}** repeat purchases, "
             f"**{r['holdout_actual']:.0f}** happened (purchases = distinct customer-days; "
             f"{100 * (r['holdout_expected'] / r['holdout_actual'] - 1):+.1f}%).\n")
    if r.get("calibration"):
        rows = [[c["repeat_purchases_in_calibration"], c["n_customers"], f"{c['actual']:.2f}", f"{c['bgnbd']:.2f}"]
                for c in r["calibration"]]
        text += ("\nConditional expectations (the table behind FHL 2005's Figure 4): mean purchases in weeks 40-78 "
                 "by repeat purchases in weeks 1-39.\n\n"
                 + _table(["repeat purchases, weeks 1-39", "customers", "actual", "BG/NBD"], rows))
    if libs:
        rows = []
        for n, lib in libs.items():
            f1, f2 = (lib["fits"] + [{}, {}])[:2]
            rows.append([n, lib.get("version"), "yes" if lib["install_ok"] else "**no**", len(lib["added_dists"]),
                         f"{lib['added_mb']:.0f}", f"{lib['install_wall_s']:.0f}",
                         f"{f1.get('process_wall_s', float('nan')):.1f} / {f2.get('process_wall_s', float('nan')):.1f}",
                         f"{f2.get('fit_cpu_s', float('nan')):.1f}"])
        text += ("\n### Libraries measured (fresh venv over seglab's packages)\n\nNot installed: `btyd` (archived); "
                 "`pip install --dry-run btyd` here resolves btyd 0.1a1 with pymc 4.4 and aesara 2.8.7 and pins "
                 "`autograd==1.4`, `dill==0.3.5.1`. pymc-marketing's releases from 0.19.3 on need Python >= 3.12, "
                 "so pip picks 0.19.2 on seglab's Python 3.11; its default fit is a MAP estimate under its priors, "
                 "not the MLE the published parameters are.\n\n" + _table(
            ["library", "version pip chose", "installs", "packages added", "MB added", "install s",
             "import+fit s, 1st / 2nd process", "CPU s (2nd)"], rows))
    return text


def render_dataset(records: RawRecords, dataset: str) -> str:
    runs = sorted(records.latest(stage="run", dataset=dataset), key=lambda x: x["key"]["seed"])
    if not runs:
        return ""
    seeds = [x["key"]["seed"] for x in runs]
    first = runs[0]["result"]
    sc = {x["key"]["seed"]: pd.DataFrame(x["result"]["scores"]) for x in runs}
    models = [m for m in MODELS if m in set(sc[seeds[0]]["model"])]
    out = [f"## `{dataset}`: holdout forecasts (seeds {', '.join(map(str, seeds))})\n",
           f"Command (seed {seeds[0]}): `{first['command']}`; segments by the default model.\n"]
    allrows = {s: d[d["segment"] == "all"].set_index(["model", "metric"]) for s, d in sc.items()}
    rows = []
    for m in models:
        row = [m]
        for metric in ("auc", "rmse"):
            r0 = allrows[seeds[0]].loc[(m, metric)]
            row += [_ci(r0["value"], r0["lo"], r0["hi"]),
                    mean_std([allrows[s].loc[(m, metric), "value"] for s in seeds])]
        rows.append(row)
    out.append("### AUC (buys again in the holdout) and RMSE (holdout purchases), all customers\n\n" + _table(
        ["model", f"AUC seed {seeds[0]} [95% CI]", "AUC mean ± std over seeds",
         f"RMSE seed {seeds[0]} [95% CI]", "RMSE mean ± std"], rows))
    rows = []
    for m in models:
        if pd.isna(allrows[seeds[0]].loc[(m, "auc"), "delta"]):
            continue
        row = [m]
        for metric in ("auc", "rmse"):
            ds = [allrows[s].loc[(m, metric)] for s in seeds]
            row.append("; ".join(_ci(d["delta"], d["delta_lo"], d["delta_hi"]) for d in ds))
            row.append(_verdict([(d["delta_lo"], d["delta_hi"]) for d in ds], BETTER[metric]))
        rows.append(row)
    out.append("\n### Does the segment help? Paired difference from the model without it, per seed [95% CI]\n\n"
               + _table(["model (vs its base)", "Δ AUC", "AUC verdict", "Δ RMSE", "RMSE verdict"], rows))
    seg = pd.DataFrame(first["segments"]).set_index("segment")
    names = first.get("segment_names", {})
    rows = [[i, names.get(str(i), ""), int(r["n_customers"]), f"{r['actual_purchases']:.0f}",
             f"{r['expected_purchases']:.0f}", f"{r['actual_buyer_share']:.2f}", f"{r['p_purchase']:.2f}",
             f"{r['actual_churn_share']:.2f}", f"{r['churn_prob']:.2f}", f"{r['actual_spend']:.0f}",
             f"{r['expected_spend']:.0f}", f"{r['clv_mean']:.1f}"] for i, r in seg.iterrows()]
    out.append(f"\n### Per segment, seed {seeds[0]}: holdout actual vs BG/NBD + Gamma-Gamma forecast\n\n" + _table(
        ["segment", "name", "customers", "purchases", "forecast", "buyer share", "mean P(buy)", "churned share",
         "mean P(churn)", "spend", "forecast spend", "mean CLV"], rows))
    d0 = sc[seeds[0]]
    for metric in ("auc", "rmse"):
        sub = d0[d0["metric"] == metric]
        rows = []
        for segment in [s for s in seg.index.astype(str) if s != "all"]:
            cells = sub[sub["segment"] == segment].set_index("model")
            rows.append([segment] + [_ci(cells.loc[m, "value"], cells.loc[m, "lo"], cells.loc[m, "hi"], 2)
                                     if m in cells.index else "" for m in models])
        out.append(f"\n### {metric.upper()} per segment, seed {seeds[0]} [95% CI]\n\n" + _table(["segment", *models], rows))
    return "\n".join(out) + "\n"


def render_timing(records: RawRecords) -> str:
    recs = records.latest(stage="timing")
    if not recs:
        return ""
    rows, by = [], {"off": [], "on": []}
    for x in sorted(recs, key=lambda x: (x["key"]["rep"], x["key"]["predict"] == "on")):
        r = x["result"]
        by[x["key"]["predict"]].append(r)
        rows.append([x["key"]["predict"], x["key"]["rep"], f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
                     f"{r['load1_before']:.1f}", "" if r["predict_time_s"] is None else f"{r['predict_time_s']:.1f}",
                     "" if r["predict_cpu_s"] is None else f"{r['predict_cpu_s']:.1f}"])
    text = "## Cost: the default run (5,000 customers) with and without predict=on\n\n" + _table(
        ["predict", "rep", "wall s", "CPU s", "load before", "forecast stage wall s", "forecast stage CPU s"], rows)
    if by["off"] and by["on"]:
        med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731  (robust to a load spike)
        off_w, off_c = med(by["off"], "wall_s"), med(by["off"], "cpu_s")
        text += (f"\nMedians: wall {off_w:.1f} s off, {med(by['on'], 'wall_s'):.1f} s on "
                 f"({100 * (med(by['on'], 'wall_s') / off_w - 1):+.0f}%); CPU {off_c:.1f} s off, "
                 f"{med(by['on'], 'cpu_s'):.1f} s on ({100 * (med(by['on'], 'cpu_s') / off_c - 1):+.0f}%). The forecast "
                 f"stage itself: {med(by['on'], 'predict_time_s'):.1f} s wall "
                 f"({100 * med(by['on'], 'predict_time_s') / off_w:.0f}% of the default run's wall time), "
                 f"{med(by['on'], 'predict_cpu_s'):.1f} s CPU "
                 f"({100 * med(by['on'], 'predict_cpu_s') / off_c:.0f}% of its CPU time). Bar: under 20%.\n")
    return text


def render(records: RawRecords) -> str:
    parts = [NOTES, render_params(records), render_dataset(records, "cdnow_sample"),
             render_dataset(records, "synthetic"), render_timing(records)]
    return "\n".join(p for p in parts if p)


NOTES = """
How to read this. Every forecast is for the holdout period and scored on it; nothing from the holdout
is used by BG/NBD or by the segmentation (features, segments and models see the calibration period
only). The gradient-boosting models (`gbm_*`) do learn from holdout outcomes, of *other* customers:
each customer's forecast comes from models fitted on the other 4 of 5 folds. Input sets: `rfm`
(frequency, recency, tenure, monetary value), `+seg` hard segment (one-hot), `+soft` soft assignment,
`+latent` the deep model's embedding, `features` all clustering features. `bgnbd_seg` fits one BG/NBD
per segment. Intervals: 1,000 bootstrap resamples of the customers within segments, the models not
refitted (they cover which customers were scored); the "does it help" differences are paired (same
resample for both models). Seeds re-draw the data (synthetic), the segmentation and the folds.
Purchases are distinct customer-days. BG/NBD and Gamma-Gamma are seglab's scipy maximum-likelihood
implementation (`seglab.predict.btyd`; why not a library: its module docstring and the table below).

Two things to know when reading the verdicts. (1) The segments are fitted on the same calibration
behaviour (recency, frequency, spend...) that BG/NBD summarises, so a segment is a selection on
BG/NBD's own data: fitted alone, each segment's heterogeneity (Gamma, Beta) is that of a truncated
population, and the per-segment forecasts are levelled differently from segment to segment, which
can cost ranking across segments even where the fit improves within them. (2) The synthetic holdout
(`seglab.data.synthetic_holdout`) is not generated by BG/NBD: in the window, customers who lapse are
the `lapsing` archetype, while after the cut active customers start to leave after purchases (2-10%
each) and 8-25% of them (by archetype) are already gone. BG/NBD learns only the window's dropout, so it
over-forecasts the frequent segments; the supervised models learn the holdout's behaviour from other
customers' outcomes.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", nargs="*", default=["params", "runs", "timing"],
                        choices=["params", "runs", "timing", "libraries"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--timing-reps", type=int, default=2)
    parser.add_argument("--reuse-any-commit", action="store_true", help="reuse records made at other commits")
    args = parser.parse_args(argv)
    records = RawRecords(RECORDS, any_commit=args.reuse_any_commit)
    with tempfile.TemporaryDirectory() as tmp:
        stages = {"params": lambda: stage_params(records), "libraries": lambda: stage_libraries(records),
                  "runs": lambda: stage_runs(records, args.seeds, Path(tmp) / "logs"),
                  "timing": lambda: stage_timing(records, args.timing_reps, Path(tmp) / "logs")}
        for name in [n for n in stages if n in args.stages]:
            stages[name]()
    records = RawRecords(RECORDS, any_commit=True)
    text = provenance_header("Forecasts per segment: BG/NBD, Gamma-Gamma, gradient boosting (predict=on)",
                             extra=[f"Raw records: `{RECORDS.relative_to(ROOT)}` (newest record per key is shown)  "])
    OUT.write_text(text + render(records))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
