"""Methods, means with t-based 95% intervals over seeds, ranks per metric family, and
comparisons against the best classical baseline.

Definitions (the report repeats them so a reader need not look here):

- A *method* is a model (``model._target_``'s class name) plus every config value that differs
  between that model's finished (and failed) runs on a dataset, other than the seed and values that follow it
  (``model.random_state=${seed}``), bookkeeping (``log_dir``, ``logger.*``, ``num_threads``,
  device placement) and values that only repeat another swept one (``model.n_clusters`` =
  ``n_clusters``). So ``DEC(latent_dim=10)`` is every finished DEC run with latent_dim 10,
  whatever its seed. A model whose runs differ in nothing but the seed is just ``DEC``.
- A cell is the mean over a method's finished runs that logged the metric ± the half-width of
  its two-sided 95% confidence interval from Student's t with n − 1 degrees of freedom (the
  seeds are the replicates; no interval for one run). The sample standard deviation
  (``ddof=1``) and the interval's ends are in ``summary.csv``. Runs that logged no value (a
  metric that was NaN, e.g. ACC without ground truth) are left out of that cell, and a cell
  computed from fewer runs than the row's ``n`` says so.
- A method's ``n`` also counts its failed runs (tracker status FAILED or KILLED: a crash, a
  diverged loss, a collapsed clustering, an interruption) with the same config values: they have
  no metric values, so every cell of such a method says from how many runs it was computed
  (``n=...``). A failure is never silently left out of a mean. Failed runs whose config matches
  no method with a finished run are listed apart ("Runs left out").
- Ranks order the methods of a dataset by mean (1 = best; higher is better for silhouette,
  Calinski-Harabasz, ACC, NMI, ARI; lower for Davies-Bouldin; ties share the average rank), and
  a mean rank is taken only within one metric *family* of the registry (internal criteria,
  agreement with the ground truth...): families measure different things and are never
  averaged together. Internal criteria (silhouette, Calinski-Harabasz, Davies-Bouldin) are not
  comparable across k, so they are ranked and bolded only among the methods at the dataset's
  reference k (the deep methods' k, else the most common one). Which metrics are ranked, their
  families and which way each is better come from the metric registry (``seglab.evaluate.registry``).
- A method is *deep* when its model is a neural network trained by Lightning (its class says so,
  ``uses_lightning``; its config takes the trainer settings, ``model.trainer_kwargs``): AE+k-means, DEC, IDEC...; every other
  model (k-means, GMM, Ward, PCA+k-means...) is *classical*. For each dataset and metric, each deep method is compared with
  the classical method with the best mean among those with the same k (number of segments
  asked for; criteria such as silhouette are not comparable across k) by Welch's t-test on the
  two methods' seeds: a **win** or **loss** when p < 0.05, else a **tie** (no significant
  difference); with fewer than 5 seeds on either side no claim is made ("n too small"). This is
  a statement about one dataset and its seed-to-seed variation. Across datasets only the
  Friedman + Nemenyi test over datasets (a critical-difference comparison) is used, and only
  with at least 5 datasets; below that the report says that no claim can be made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab.evaluate.registry import MetricSpec, report_specs
from seglab.evaluate.registry import decimals_for as spec_decimals
from seglab.report.runs import METRIC, PARAM, TAG
from seglab.report.stats import t_interval, welch


def ranked_metrics() -> list[MetricSpec]:
    """The metrics the comparison table ranks, in column order (the registry's ``report="rank"``)."""
    return report_specs("rank")


def info_metrics() -> list[MetricSpec]:
    """Shown beside the ranked ones, never ranked (the registry's ``report="info"``)."""
    return report_specs("info")

IGNORED_KEYS = {"seed", "log_dir", "num_threads", "trainer.accelerator", "trainer.devices",
                "trainer.strategy", "trainer.num_nodes", "trainer.precision", "trainer.enable_progress_bar",
                "trainer.enable_model_summary", "trainer.log_every_n_steps", "data.cache_dir"}
IGNORED_PREFIXES = ("logger.", "hydra.")
DISPLAY_NAMES = {"KMeans": "k-means", "AEKMeans": "AE+k-means", "GaussianMixture": "GMM", "PCAKMeans": "PCA+k-means",
                 "MiniBatchKMeans": "mini-batch k-means"}
PARAM_DISPLAY = {"n_clusters": "k"}


def short_model_name(target: str) -> str:
    """``seglab.models.kmeans.KMeansModel`` -> ``k-means``; ``seglab.models.dec.DEC`` -> ``DEC``."""
    name = str(target).rsplit(".", 1)[-1]
    if name.endswith("Model") and len(name) > 5:
        name = name[: -len("Model")]
    return DISPLAY_NAMES.get(name, name)


def is_deep_model(target: str, runs: pd.DataFrame | None = None) -> bool:
    """Whether a model is a deep (neural, Lightning-trained) one, decided without importing it:

    1. the tag ``seglab.model_kind`` (``deep`` or ``classical``) that ``seglab.train.run`` writes;
    2. the flattened config: deep models take the Lightning trainer settings
       (``model.trainer_kwargs: ${trainer}``), so their params include ``model.trainer_kwargs.*``;
    3. otherwise the class's own flag ``uses_lightning`` (imports it; what ``seglab.train.build_model``
       reads to hand it a trainer).

    Not the models' ``has_embedding`` flag: PCA+k-means learns an embedding too, and is a classical
    baseline.
    """
    if runs is not None and TAG + "seglab.model_kind" in runs:
        values = runs[TAG + "seglab.model_kind"].dropna().astype(str).str.lower()
        if len(values):
            return values.iloc[0] == "deep"
    if runs is not None:
        if any(c.startswith(PARAM + "model.trainer_kwargs") for c in runs.columns
               if runs[c].notna().any()):
            return True
        if any(c.startswith(PARAM + "model.") for c in runs.columns):
            return False
    try:
        from hydra.utils import get_class

        return bool(getattr(get_class(target), "uses_lightning", False))
    except Exception:
        return False


def _ignored(key: str) -> bool:
    return key in IGNORED_KEYS or key.startswith(IGNORED_PREFIXES)


def display_key(key: str, all_keys: list[str]) -> str:
    """How a swept config key is printed: ``model.latent_dim`` -> ``latent_dim``, ``n_clusters`` -> ``k``."""
    short = key[len("model."):] if key.startswith("model.") else key
    if short != key and short in all_keys:  # would collide with a top-level key of that name
        short = key
    return PARAM_DISPLAY.get(short, short)


def as_number(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def sort_key(value: object) -> tuple:
    """Numbers in numeric order first, then everything else as text."""
    num = as_number(value)
    return (0, num, "") if num is not None else (1, 0.0, str(value))


def swept_params(runs: pd.DataFrame) -> list[str]:
    """Param keys (without ``param.``) whose value differs between these runs, minus the seed,
    values equal to the seed in every run, bookkeeping keys and keys repeating another one."""
    seed = runs.get(PARAM + "seed")
    candidates = []
    # Shallow keys first, so a top-level knob (n_clusters) wins over a key that follows it
    # (model.n_clusters=${n_clusters}).
    for col in sorted((c for c in runs.columns if c.startswith(PARAM)), key=lambda c: (c.count("."), c)):
        key = col[len(PARAM):]
        values = runs[col].astype(object).where(runs[col].notna(), "<unset>")
        if _ignored(key) or values.nunique() <= 1:
            continue
        if seed is not None and (values.astype(str) == seed.astype(str)).all():
            continue
        candidates.append((key, values))
    kept: list[tuple[str, np.ndarray]] = []
    for key, values in candidates:
        codes = pd.factorize(values.astype(str))[0]
        if any(len(set(zip(codes, other, strict=True))) == len(set(codes)) == len(set(other))
               for _, other in kept):
            continue  # the same partition of the runs as a key already kept
        kept.append((key, codes))
    # Model hyper-parameters first, then the rest, each alphabetically.
    return sorted((k for k, _ in kept), key=lambda k: (not k.startswith("model."), k))


@dataclass
class Method:
    dataset: str
    label: str
    model: str  # _target_
    is_deep: bool
    params: dict[str, str]  # the swept values that define it
    runs: pd.DataFrame  # its finished runs
    stats: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # key -> (mean, std, n)
    ci: dict[str, float] = field(default_factory=dict)  # key -> half-width of the t-based 95% interval
    failed: pd.DataFrame = field(default_factory=pd.DataFrame)  # its FAILED/KILLED runs

    @property
    def n_runs(self) -> int:
        """Finished plus failed runs (a failure counts against the method)."""
        return len(self.runs) + len(self.failed)

    @property
    def n_failed(self) -> int:
        return len(self.failed)

    @property
    def k(self) -> str | None:
        """The number of segments its runs asked for (``n_clusters``), when they agree."""
        col = PARAM + "n_clusters"
        values = self.runs[col].dropna().astype(str).unique() if col in self.runs else []
        return values[0] if len(values) == 1 else None

    @property
    def seeds(self) -> list[str]:
        col = PARAM + "seed"
        if col not in self.runs:
            return []
        return sorted(self.runs[col].dropna().astype(str).unique().tolist(), key=sort_key)


def metric_stats(values: pd.Series) -> tuple[float, float, int]:
    """(mean, sample std with ddof=1 or NaN for fewer than two values, count) of finite values."""
    v = pd.to_numeric(values, errors="coerce").astype(float)
    v = v[np.isfinite(v)]
    n = int(len(v))
    mean = float(v.mean()) if n else float("nan")
    std = float(v.std(ddof=1)) if n > 1 else float("nan")
    return mean, std, n


def attach_failed(methods: list[Method], failed: pd.DataFrame) -> None:
    """Give each failed run to the method of its dataset and model whose defining values it shares."""
    for _, run in failed.iterrows():
        for m in methods:
            if m.dataset != str(run["dataset"]) or m.model != str(run["model"]):
                continue
            values = {k: run.get(PARAM + k) for k in m.params}
            if all(str(v if pd.notna(v) else "<unset>") == m.params[k] for k, v in values.items()):
                m.failed = pd.concat([m.failed, run.to_frame().T])
                break


def build_methods(finished: pd.DataFrame, metrics: list[MetricSpec],
                  failed: pd.DataFrame | None = None) -> list[Method]:
    """Group finished runs into methods per dataset; methods of a dataset sorted classical first.
    ``failed`` runs (``FAILED_STATUSES``) join the ``n`` of their method (``attach_failed``)."""
    methods: list[Method] = []
    failed = finished.iloc[:0] if failed is None else failed
    for dataset, ds_runs in finished.groupby("dataset", sort=True):
        for model, m_runs in ds_runs.groupby("model", sort=True):
            m_failed = failed[(failed["dataset"] == dataset) & (failed["model"] == model)]
            keys = swept_params(m_runs)
            if len(m_failed):  # values that set failed runs apart define methods too (a diverging lr is not "DEC")
                keys += [k for k in swept_params(pd.concat([m_runs, m_failed]))
                         if k not in keys and PARAM + k in m_failed and m_failed[PARAM + k].notna().all()]
            deep = is_deep_model(str(model), m_runs)
            all_keys = [c[len(PARAM):] for c in m_runs.columns if c.startswith(PARAM)]
            if keys:
                group_cols = [PARAM + k for k in keys]
                filled = m_runs[group_cols].astype(object).where(m_runs[group_cols].notna(), "<unset>")
                keys_per_run = filled.astype(str).apply(tuple, axis=1)
                groups = {v: keys_per_run.index[keys_per_run == v] for v in dict.fromkeys(keys_per_run)}
            else:
                groups = {(): m_runs.index}
            for values, index in groups.items():
                values = values if isinstance(values, tuple) else (values,)
                params = dict(zip(keys, values, strict=True))
                name = short_model_name(str(model))
                if params:
                    name += "(" + ", ".join(f"{display_key(k, all_keys)}={v}" for k, v in params.items()) + ")"
                method = Method(str(dataset), name, str(model), deep, params, m_runs.loc[index])
                for spec in metrics:
                    col = METRIC + spec.key
                    method.stats[spec.key] = (metric_stats(method.runs[col]) if col in method.runs
                                              else (float("nan"), float("nan"), 0))
                    method.ci[spec.key] = t_interval(method.runs[col])[1] if col in method.runs else float("nan")
                methods.append(method)
    methods.sort(key=lambda m: (m.dataset, m.is_deep, short_model_name(m.model),
                                tuple(sort_key(v) for v in m.params.values())))
    if len(failed):
        attach_failed(methods, failed)
    return methods


def available_metrics(finished: pd.DataFrame, specs: list[MetricSpec] | None = None) -> list[MetricSpec]:
    """``specs`` (default: the ranked metrics) that some of these runs logged."""
    specs = ranked_metrics() if specs is None else specs
    return [s for s in specs if METRIC + s.key in finished and finished[METRIC + s.key].notna().any()]


def ranks(methods: list[Method], spec: MetricSpec) -> dict[str, int]:
    """Method label -> rank (1 = best) on one metric among methods of one dataset; NaN unranked."""
    scored = [(m.label, m.stats[spec.key][0]) for m in methods if np.isfinite(m.stats[spec.key][0])]
    out = {}
    for label, mean in scored:
        better = sum(1 for _, other in scored if spec.better(other, mean))
        out[label] = better + 1
    return out


def best_classical(methods: list[Method], spec: MetricSpec, k: str | None = None) -> Method | None:
    """The classical method with the best mean; with ``k``, among those asking for the same
    number of segments when there are any (criteria are not comparable across k)."""
    best = None
    pool = [m for m in methods if not m.is_deep]
    if k is not None and any(m.k == k for m in pool):
        pool = [m for m in pool if m.k == k]
    for m in pool:
        if not np.isfinite(m.stats[spec.key][0]):
            continue
        if best is None or spec.better(m.stats[spec.key][0], best.stats[spec.key][0]):
            best = m
    return best


@dataclass
class Outcome:
    result: str  # "win", "loss", "tie", "n too small" or "n/a"
    delta: float  # deep mean - classical mean (signed as measured)
    baseline: str  # label of the best classical method
    p_value: float = float("nan")  # Welch's t-test on the two methods' seeds


def compare_to_classical(method: Method, methods: list[Method], spec: MetricSpec) -> Outcome:
    """Win/loss/tie (Welch's t-test, ``seglab.report.stats.welch``) of a deep method against the
    best classical method of its dataset; "n too small" below the seeds a claim needs."""
    base = best_classical(methods, spec, method.k)
    mean = method.stats[spec.key][0]
    if base is None or not np.isfinite(mean):
        return Outcome("n/a", float("nan"), base.label if base else "-")
    col = METRIC + spec.key
    test = welch(method.runs[col].astype(float).to_numpy(), base.runs[col].astype(float).to_numpy(),
                 bool(spec.higher_is_better))
    result = {"better": "win", "worse": "loss", "no significant difference": "tie"}.get(test.result, "n too small")
    return Outcome(result, mean - base.stats[spec.key][0], base.label, test.p_value)


def representative_run(method: Method, spec: MetricSpec) -> pd.Series:
    """The run with the median value of ``spec`` (the lower median for an even count), so
    figures show a typical seed, not the luckiest one. Runs without the metric come last."""
    col = METRIC + spec.key
    runs = method.runs
    if col not in runs:
        return runs.iloc[0]
    order = runs[col].astype(float).sort_values(na_position="last")
    n = int(runs[col].notna().sum())
    return runs.loc[order.index[(n - 1) // 2 if n else 0]]


def primary_metric(metrics: list[MetricSpec]) -> MetricSpec:
    """ACC when ground truth exists, else silhouette, else the first available metric."""
    by_key = {s.key: s for s in metrics}
    return by_key.get("eval/acc") or by_key.get("eval/silhouette") or metrics[0]


def decimals_for(methods: list[Method], spec: MetricSpec) -> int:
    """The spec's decimals, else 3, or 1 for metrics in the hundreds and above (Calinski-Harabasz)."""
    return spec_decimals(spec, [m.stats[spec.key][0] for m in methods])


def format_cell(stats: tuple[float, float, int], n_runs: int, decimals: int, half: float | None = None) -> str:
    """``mean ± half`` (the 95% interval's half-width; the std when ``half`` is not given)."""
    mean, std, n = stats
    if not np.isfinite(mean):
        return "–"
    spread = std if half is None else half
    text = f"{mean:.{decimals}f}"
    text += f" ± {spread:.{decimals}f}" if np.isfinite(spread) else " ± –"
    if n < n_runs:
        text += f" (n={n})"
    return text
