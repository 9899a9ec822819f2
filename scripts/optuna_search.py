"""Hyper-parameter search with Optuna, driven directly (not through hydra-optuna-sweeper).

Why not the Hydra plugin: hydra-optuna-sweeper only resolves with optuna 2.10 and fails with
SQLAlchemy 2 storage. Here current Optuna samples values, each trial composes the
same Hydra config ``python train.py`` would (``conf/`` + base overrides + sampled overrides) and
calls ``seglab.train.run``; every trial is one MLflow run like any other, tagged
``seglab.optuna_study`` / ``seglab.optuna_trial`` and ``seglab.overrides`` (so
``scripts/compare.py --tag seglab.optuna_study=NAME`` reports the study, with the exact
``python train.py ...`` command of every trial). The study itself lives in
``sqlite:///<log_dir>/optuna.db``: re-running the command resumes it.

    python scripts/optuna_search.py --study dec-synthetic --trials 20 --metric eval/silhouette \\
        --space model.latent_dim=int:4:20 --space model.lr=float:1e-4:1e-2:log \\
        --space model.alpha=cat:0.5,1.0 -- model=dec data.n_customers=2000 log_dir=logs

Spaces: ``int:LOW:HIGH[:log]``, ``float:LOW:HIGH[:log]``, ``cat:A,B,C``. A trial that raises
(bad value, divergence) or gives NaN is recorded as failed in Optuna and MLflow; the search goes on.
Optimising an internal criterion (silhouette) is model selection without labels; optimising
``eval/acc`` uses the ground truth and is only honest on a held-out dataset.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lower_is_better(metric: str) -> bool:
    """The metric's direction in the metric registry (unregistered metrics are maximised)."""
    from seglab.evaluate import metric_specs

    return any(s.key == metric and s.higher_is_better is False for s in metric_specs())


def parse_space(text: str):
    """``key=int:1:10`` -> (key, sampler(trial))."""
    if "=" not in text or ":" not in text.split("=", 1)[1]:
        raise argparse.ArgumentTypeError(f"--space wants key=int:LOW:HIGH[:log] | float:... | cat:A,B; got {text!r}")
    key, spec = text.split("=", 1)
    kind, _, rest = spec.partition(":")
    parts = rest.split(":")
    if kind in ("int", "float"):
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise argparse.ArgumentTypeError(f"bad range in {text!r}")
        low, high, log = parts[0], parts[1], len(parts) == 3
        if kind == "int":
            return key, lambda t: t.suggest_int(key, int(low), int(high), log=log)
        return key, lambda t: t.suggest_float(key, float(low), float(high), log=log)
    if kind == "cat":
        choices = rest.split(",")
        return key, lambda t: t.suggest_categorical(key, choices)
    raise argparse.ArgumentTypeError(f"unknown space kind {kind!r} in {text!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", required=True, help="study name (resumed if it exists)")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--metric", default="eval/silhouette", help="metric of seglab.train.run to optimise")
    parser.add_argument("--direction", choices=["maximize", "minimize"], default=None,
                        help="default: minimize for Davies-Bouldin, else maximize")
    parser.add_argument("--space", action="append", type=parse_space, default=[], required=True)
    parser.add_argument("--sampler-seed", type=int, default=0)
    parser.add_argument("overrides", nargs="*", help="base Hydra overrides (after --)")
    args = parser.parse_args(argv)

    import optuna
    from hydra import compose, initialize_config_dir
    from mlflow.tracking import MlflowClient

    from seglab.train import run

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        base_cfg = compose("config", overrides=list(args.overrides))
    log_dir = Path(base_cfg.log_dir).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    direction = args.direction or ("minimize" if lower_is_better(args.metric) else "maximize")
    study = optuna.create_study(study_name=args.study, storage=f"sqlite:///{log_dir / 'optuna.db'}",
                                load_if_exists=True, direction=direction,
                                sampler=optuna.samplers.TPESampler(seed=args.sampler_seed))
    command = "python scripts/optuna_search.py " + shlex.join(argv if argv is not None else sys.argv[1:])

    def objective(trial) -> float:
        sampled = [f"{key}={sample(trial)}" for key, sample in args.space]
        overrides = list(args.overrides) + sampled
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("config", overrides=overrides)
        run_dir = log_dir / "optuna" / args.study / f"trial_{trial.number:04d}"
        tags = {"seglab.optuna_study": args.study, "seglab.optuna_trial": str(trial.number),
                "seglab.overrides": ",".join(overrides), "seglab.command": command}
        try:
            result = run(cfg, run_dir=run_dir)
        finally:
            _tag_latest_run(MlflowClient, cfg, run_dir, tags)
        value = result.metrics.get(args.metric, float("nan"))
        trial.set_user_attr("mlflow_run_id", result.mlflow_run_id)
        trial.set_user_attr("command", "python train.py " + shlex.join(overrides))
        if value is None or not math.isfinite(value):
            raise ValueError(f"{args.metric} is NaN or missing for trial {trial.number}")
        return float(value)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=args.trials, catch=(Exception,))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    print(f"study {args.study}: {len(study.trials)} trials, {len(done)} complete "
          f"(storage sqlite:///{log_dir / 'optuna.db'})")
    if done:
        best = study.best_trial
        print(f"best {args.metric} = {best.value:.4g} (trial {best.number}): {best.params}")
        print(f"  reproduce: {best.user_attrs.get('command')}")
    return 0 if done else 1


def _tag_latest_run(client_cls, cfg, run_dir: Path, tags: dict[str, str]) -> None:
    """Tag the MLflow run this trial created (found by its run dir: also after a failure)."""
    if not cfg.logger.mlflow:
        return
    from seglab.tracking import default_tracking_uri

    client = client_cls(tracking_uri=cfg.logger.tracking_uri or default_tracking_uri(cfg.log_dir))
    exp = client.get_experiment_by_name(cfg.logger.experiment_name)
    if exp is None:
        return
    found = client.search_runs([exp.experiment_id], filter_string=f"tags.`seglab.run_dir` = '{run_dir.resolve()}'",
                               max_results=1, order_by=["attributes.start_time DESC"])
    for r in found:
        for key, value in tags.items():
            client.set_tag(r.info.run_id, key, value)


if __name__ == "__main__":
    sys.exit(main())
