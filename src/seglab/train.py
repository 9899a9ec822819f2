"""`seglab.train.run(cfg)`: the one place that wires data -> features -> model -> evaluation.

`train.py` at the repository root is a thin Hydra entry point around `main_entry`. Everything a
run produces lands in its run dir (metrics.json, segments.parquet, profiles.csv, config.yaml,
the fitted pipeline's ``bundle/``, ``embedding.parquet``, csv logs) and, unless `logger.mlflow=false`, in one MLflow run.
`metrics.json` is written last: a run dir without it did not succeed.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from seglab.console import print_config_tree, print_summary, segment_lines  # noqa: F401 (also seglab.train's API)
from seglab.errors import SeglabError
from seglab.job import hydra_tags, in_multirun, is_rank_zero, limit_threads  # noqa: F401 (also seglab.train's API)

log = logging.getLogger("seglab")


@dataclass
class RunResult:
    """What a run returns to Python callers (tests, sweeps, benchmarks)."""

    run_dir: Path
    metrics: dict[str, float]
    warnings: list[str]
    labels: np.ndarray
    tracking_uri: str | None = None
    mlflow_run_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def model_class(cfg: DictConfig) -> type:
    """The class ``cfg.model._target_`` names."""
    return get_class(cfg.model._target_)


def model_parameters(cfg: DictConfig) -> set[str]:
    """The config keys ``cfg.model``'s class accepts (what optional wiring it takes)."""
    cls = model_class(cfg)
    return cls.config_keys() if hasattr(cls, "config_keys") else set(inspect.signature(cls).parameters)


def build_model(cfg: DictConfig, trainer_kwargs: dict[str, Any], feature_names: list[str] | None = None):
    """The model of ``cfg.model``, built from its flat keys (``from_config``: a deep model files them
    under its settings objects); models trained by Lightning (``uses_lightning``) get the trainer,
    and models that split inputs by name (the multimodal autoencoder) get the feature names."""
    cls = model_class(cfg)
    keys = {k: v for k, v in OmegaConf.to_container(cfg.model, resolve=True).items() if not k.startswith("_")}
    if getattr(cls, "uses_lightning", False):
        keys["trainer_kwargs"] = trainer_kwargs
    if "feature_names" in model_parameters(cfg) and feature_names is not None:
        keys["feature_names"] = list(feature_names)
    return cls.from_config(**keys) if hasattr(cls, "from_config") else instantiate(cfg.model, **keys, _convert_="all")


def lightning_loggers(cfg: DictConfig, run_dir: Path, tracker) -> list:
    from lightning.pytorch.loggers import CSVLogger

    loggers = []
    if tracker is not None:  # Lightning's MLflow logger, minus ending the run at each fit's end
        loggers.append(tracker.lightning_logger())
    if cfg.logger.csv:
        loggers.append(CSVLogger(save_dir=str(run_dir), name="csv_logs", version=""))
    return loggers


def segments_frame(customer_ids: pd.Index, labels: np.ndarray, proba: np.ndarray | None) -> pd.DataFrame:
    frame = pd.DataFrame({"customer_id": customer_ids.to_numpy(), "segment": labels.astype(int)})
    if proba is not None:
        for j in range(proba.shape[1]):
            frame[f"prob_{j}"] = proba[:, j].astype(np.float32)
    return frame


def _json_number(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def trainer_kwargs_quiet(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Trainer settings for extra refits: no loggers, so they do not mix into the run's curves."""
    kwargs = dict(OmegaConf.to_container(cfg.trainer, resolve=True))
    kwargs.update(logger=False, default_root_dir=str(run_dir))
    return kwargs


def customer_features(cfg: DictConfig, data, timings: dict[str, float] | None = None) -> pd.DataFrame:
    """Per-customer features of ``data`` as ``cfg`` asks (`seglab.pipeline.training_features`:
    behaviour and attributes, plus review-text aggregates unless ``text=none``). Benchmarks call
    this too, so they see exactly the features a run clusters. ``timings`` (if given) receives
    ``time/features_s`` and ``time/text_s``."""
    from seglab.pipeline import training_features

    return training_features(data, **pipeline_options(cfg), timings=timings)


def pipeline_options(cfg: DictConfig) -> dict[str, Any]:
    """The feature-building and text options of ``cfg``, as `seglab.pipeline.SegmentationPipeline` takes them."""
    return {"build": OmegaConf.to_container(cfg.features.build, resolve=True),
            "engine": cfg.features.get("engine", "auto"),
            "engine_options": OmegaConf.to_container(cfg.features.get("engine_options", {}), resolve=True),
            "allow_columns": list(cfg.get("privacy", {}).get("allow_columns", [])),
            "text": OmegaConf.to_container(cfg.text, resolve=True) if cfg.text.name != "none" else None}


def make_preprocessor(cfg: DictConfig):
    """The (unfitted) `Preprocessor` of ``cfg.features.preprocess`` for ``cfg.model``."""
    from seglab.features import Preprocessor

    preprocess_cfg = OmegaConf.to_container(cfg.features.preprocess, resolve=True)
    if "feature_names" in model_parameters(cfg):
        # a modality-aware model (multimodal) balances the text block in its own loss: weighting
        # the inputs as well would count it twice
        preprocess_cfg["block_weights"] = {}
    return Preprocessor(**preprocess_cfg)


def fit_model(model, X: np.ndarray, run_dir: Path) -> None:
    """Fit ``model``; deep models that can resume keep their resume points in the run dir
    (``checkpoints/``), so ``resume=RUN_DIR`` continues a killed fit where it stopped."""
    from seglab.rundir import CHECKPOINTS

    if "checkpoint_dir" in inspect.signature(model.fit).parameters:
        model.fit(X, checkpoint_dir=run_dir / CHECKPOINTS)
    else:
        model.fit(X)


def save_pipeline(cfg: DictConfig, run_dir: Path, data, features: pd.DataFrame, preprocessor, model,
                  labels: np.ndarray, embedding: np.ndarray) -> None:
    """Save the run's fitted `SegmentationPipeline` as its bundle (no pickle, no per-customer
    rows) and the embedding it clustered (a per-customer file, for the reports' 2-D views)."""
    from seglab.pipeline import SegmentationPipeline
    from seglab.rundir import BUNDLE, EMBEDDING

    pipe = SegmentationPipeline.from_fitted(data, features, preprocessor, model, labels, **pipeline_options(cfg),
                                            config=OmegaConf.to_container(cfg, resolve=True))
    pipe.save(run_dir / BUNDLE)
    emb = pd.DataFrame(np.asarray(embedding, dtype=np.float32), columns=[f"z_{j}" for j in range(embedding.shape[1])])
    emb.insert(0, "segment", labels.astype(int))
    emb.insert(0, "customer_id", data.customer_ids.to_numpy())
    kind = "latent space" if getattr(model, "has_embedding", False) else "preprocessed features"
    emb.attrs["space"] = f"{kind} (d={embedding.shape[1]})"
    emb.to_parquet(run_dir / EMBEDDING, index=False)


def run_tags(cfg: DictConfig, run_dir: Path) -> dict[str, str]:
    """The tracker run's tags: where its files are, what it ran, the command and sweep."""
    return {"seglab.run_dir": str(run_dir), "seglab.dataset": cfg.data.name,
            "seglab.model": cfg.model._target_, "seglab.command": " ".join(sys.argv),
            "seglab.model_kind": "deep" if getattr(model_class(cfg), "uses_lightning", False) else "classical",
            **hydra_tags()}


def log_dataset(tracker, cfg: DictConfig, features: pd.DataFrame) -> None:
    """The per-customer features as the run's MLflow dataset input: a column summary and a digest."""
    from seglab.tracking import dataset_summary

    summary, digest = dataset_summary(features)
    source = str(cfg.data.get("path") or f"{cfg.data._target_}(seed={cfg.data.get('seed', cfg.seed)})")
    tracker.log_dataset(summary, name=str(cfg.data.name), source=source, digest=digest)


def run(cfg: DictConfig, run_dir: str | Path | None = None) -> RunResult:
    """Train and evaluate one configuration; see the module docstring for what it writes.

    The config is checked first (`seglab.config.check_config`: every bad value in one
    `ConfigError`). The run dir is claimed (new; refused when it holds another run; ``resume=RUN_DIR`` continues
    an interrupted run with its saved config) and the tracker run opened before the data is read,
    so every ending leaves a true status (`seglab.lifecycle`). SIGINT/SIGTERM raise
    `seglab.guards.Interrupted` meanwhile.
    """
    from seglab.config import check_config
    from seglab.guards import interruptible
    from seglab.lifecycle import ActiveRun
    from seglab.rundir import resolve_run_dir

    check_config(cfg)  # every bad value, before a run dir, a tracker run or any data
    run_dir = resolve_run_dir(cfg, run_dir)
    with interruptible():
        active = ActiveRun(cfg, run_dir, tags=lambda c: run_tags(c, run_dir), rank_zero=is_rank_zero())
        try:
            result = _run(active.cfg, run_dir, active)
        except BaseException as err:
            active.end(err)
            raise
        active.end(None)
    return result


def _run(cfg: DictConfig, run_dir: Path, active) -> RunResult:
    import lightning as L

    from seglab.data.checks import check_cluster_count
    from seglab.data.counts import data_report
    from seglab.diagnostics.run_reports import write_segment_reports, write_stability_reports
    from seglab.evaluate import evaluate_clustering
    from seglab.guards import check_not_collapsed
    from seglab.rundir import NOT_UPLOADED, PER_CUSTOMER_FILES

    tracker = active.tracker
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    limit_threads(cfg.get("num_threads"))
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    active.stage("data")
    data = instantiate(cfg.data, _convert_="all").load()
    check_cluster_count(data.n_customers, cfg.model.get("n_clusters"), cfg.get("choose_k", {}).get("k_min", 2))
    split = None
    if cfg.get("predict") is not None and cfg.predict.enabled:  # segments see the calibration period only
        from seglab.predict import time_split

        split = time_split(data, cfg.predict.calibration_end, cfg.predict.holdout_days)
        data = split.calibration
        log.info(split.note())
    timings["time/data_s"] = time.perf_counter() - t0  # generate or read (+ check) the data
    active.stage("features")
    features = customer_features(cfg, data, timings)
    t1 = time.perf_counter()
    preprocessor = make_preprocessor(cfg)
    X = preprocessor.fit_transform(features)
    timings["time/preprocess_s"] = time.perf_counter() - t1
    timings["time/data_features_s"] = time.perf_counter() - t0

    rank_zero = is_rank_zero()
    if tracker is not None:  # which text model and head scored the reviews (known once they are scored)
        tracker.set_tags(features.attrs.get("seglab.text", {}))
        log_dataset(tracker, cfg, features)
    metrics_pre: dict[str, float] = {}
    trainer_kwargs = dict(OmegaConf.to_container(cfg.trainer, resolve=True))
    trainer_kwargs["logger"] = lightning_loggers(cfg, run_dir, tracker) or False
    trainer_kwargs["default_root_dir"] = str(run_dir)
    k_rule = "set in the config (n_clusters)"
    if str(cfg.model.get("n_clusters")) == "auto":
        from seglab.diagnostics.run_reports import select_k

        k, k_metrics = select_k(X, run_dir, random_state=cfg.seed,
                                **OmegaConf.to_container(cfg.choose_k, resolve=True))
        metrics_pre.update(k_metrics)
        cfg = cfg.copy()
        OmegaConf.set_struct(cfg, False)
        cfg.model.n_clusters = k
        log.info("model.n_clusters=auto: chose k=%d by %s", k, cfg.choose_k.rule)
        k_rule = (f"chosen by the {cfg.choose_k.rule} rule among k = {cfg.choose_k.k_min}..{cfg.choose_k.k_max} "
                  "(k_selection.csv)")
    model = build_model(cfg, trainer_kwargs, list(preprocessor.feature_names_out_))

    t0 = time.perf_counter()
    active.stage("fit")
    fit_model(model, X, run_dir)
    timings["time/fit_s"] = time.perf_counter() - t0
    labels = np.asarray(model.labels_, dtype=int)
    check_not_collapsed(labels, cfg.model._target_.rsplit(".", 1)[-1])
    proba = np.asarray(model.predict_proba(X)) if hasattr(model, "predict_proba") else None
    latent = model.transform(X) if getattr(model, "has_embedding", False) else None
    k = getattr(model, "n_clusters", None)
    if getattr(model, "finds_own_k", False):  # density models ignore n_clusters: k is what they found
        k, k_rule = int(model.n_clusters_), "found by the model (noise, if any, is segment -1)"

    t0 = time.perf_counter()
    active.stage("evaluate")
    truth = None if data.truth is None else np.asarray(data.truth)
    metrics, warnings = evaluate_clustering(
        X, labels, truth=truth, latent=latent, n_clusters=k,
        silhouette_sample_size=cfg.eval.silhouette_sample_size,
        small_cluster_share=cfg.eval.small_cluster_share, random_state=cfg.seed)
    timings["time/evaluate_s"] = time.perf_counter() - t0
    metrics.update(model.fit_report())
    metrics.update(metrics_pre)
    metrics.update(timings)
    metrics["data/n_customers"] = float(data.n_customers)
    metrics["data/n_features"] = float(X.shape[1])
    # rows dropped, netted or repaired by reason (seglab.data.counts): metrics, and a warning each
    data_metrics, data_warnings = data_report(data.meta, features.attrs.get("features", {}), preprocessor.report_)
    metrics.update(data_metrics)
    warnings = [*data_warnings, *warnings]

    if not rank_zero:
        return RunResult(run_dir=run_dir, metrics=metrics, warnings=warnings, labels=labels)
    segments_frame(data.customer_ids, labels, proba).to_parquet(run_dir / "segments.parquet", index=False)
    t0 = time.perf_counter()
    active.stage("reports")
    profiles = OmegaConf.to_container(cfg.profiles, resolve=True)
    profiles["feature_labels"] = {**data.feature_labels, **(profiles.get("feature_labels") or {})}
    metrics.update(write_segment_reports(
        run_dir, features=features, X=X, labels=labels, model=model, proba=proba,
        feature_names=preprocessor.feature_names_out_, profiles=profiles,
        explain=OmegaConf.to_container(cfg.explain, resolve=True), random_state=cfg.seed))
    if cfg.get("figures") is not None and cfg.figures.enabled:  # embedding, silhouette, segments
        from seglab.run_figures import write_run_figures

        metrics.update(write_run_figures(run_dir, X, labels, pd.read_csv(run_dir / "profiles.csv"), latent=latent,
                                         formats=list(cfg.figures.formats), umap=bool(cfg.figures.umap),
                                         max_points=int(cfg.figures.max_points), random_state=cfg.seed))
    # refits for stability: the same model with other seeds, trained without the run's loggers
    quiet = {"trainer_kwargs": trainer_kwargs_quiet(cfg, run_dir)} if getattr(model, "uses_lightning", False) else {}
    metrics.update(write_stability_reports(
        run_dir, model, X, labels, data=data, preprocessor=preprocessor, features=features,
        build_features=partial(customer_features, cfg), refit_params=quiet, random_state=cfg.seed,
        **OmegaConf.to_container(cfg.stability, resolve=True)))
    metrics["time/reports_s"] = time.perf_counter() - t0
    if split is not None:
        from seglab.predict import write_forecasts

        metrics.update(write_forecasts(
            run_dir, split, features=features, labels=labels, proba=proba, latent=latent,
            options=OmegaConf.to_container(cfg.predict, resolve=True),
            profiles=profiles, random_state=cfg.seed))
    active.stage("save")
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (run_dir / "preprocess_report.json").write_text(json.dumps(preprocessor.report_, indent=2, default=str))
    save_pipeline(cfg, run_dir, data, features, preprocessor, model, labels, latent if latent is not None else X)
    n_clusters = int(k if k is not None else len(set(labels.tolist()) - {-1}))
    summary = {"dataset": cfg.data.name, "model": cfg.model._target_, "n_customers": data.n_customers,
               "n_clusters": n_clusters, "seed": int(cfg.seed), "warnings": warnings,
               "text": features.attrs.get("seglab.text", {}),
               "metrics": {k: _json_number(v) for k, v in sorted(metrics.items())}}
    if split is not None:
        summary["predict"] = split.describe()
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
    if tracker is not None:
        tracker.log_metrics(metrics)
        tracker.set_tags({"seglab.warnings": "; ".join(warnings)[:5000]})
        private = () if cfg.get("privacy", {}).get("upload_segments", False) else PER_CUSTOMER_FILES
        tracker.log_artifacts(run_dir, skip={*NOT_UPLOADED, *private})  # customer ids stay in the run dir
        from seglab.serve.mlflow_model import log_run_model

        log_run_model(tracker.client, tracker.run_id, run_dir)  # the pipeline as an MLflow pyfunc model (from code)
    return RunResult(run_dir=run_dir, metrics=metrics, warnings=warnings, labels=labels,
                     tracking_uri=tracker.tracking_uri if tracker else None,
                     mlflow_run_id=tracker.run_id if tracker else None,
                     extra={"n_clusters": n_clusters, "config": cfg, "k_rule": k_rule,
                            **({"predict": split.note()} if split is not None else {})})


def main_entry(cfg: DictConfig) -> float | None:
    """Run from Hydra; seglab errors become one clear line on stderr and exit code 2.

    In a multirun, a failing job (bad value, divergence) is reported, left FAILED in MLflow,
    marked by a FAILED file in its run dir, and does not stop the other jobs.
    Returns the silhouette so Hydra sweepers can optimise it.
    """
    from seglab.guards import Interrupted
    from seglab.lifecycle import interrupted_note

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    if cfg.get("print_config", True) and is_rank_zero() and not in_multirun():
        print_config_tree(cfg)
    try:
        result = run(cfg)
    except Interrupted as err:  # Ctrl+C (exit 130) or SIGTERM (143): the run is KILLED, its dir kept
        print(f"seglab: {err}; {interrupted_note(cfg)}", file=sys.stderr, flush=True)
        sys.exit(err.exit_code)
    except Exception as err:
        if in_multirun():
            from hydra.core.hydra_config import HydraConfig

            failed = Path(HydraConfig.get().runtime.output_dir) / "FAILED"
            failed.write_text(f"{type(err).__name__}: {err}\n")
            log.error("job failed (%s): %s; the sweep goes on", ",".join(HydraConfig.get().overrides.task), err)
            return None
        if isinstance(err, SeglabError):
            print(f"seglab error: {err}", file=sys.stderr, flush=True)
            sys.exit(2)
        raise
    if is_rank_zero():  # the other DDP ranks ran the same fit; one summary is enough
        print_summary(result.extra.get("config", cfg), result)
    value = result.metrics.get("eval/silhouette")
    return None if value is None or math.isnan(value) else float(value)
