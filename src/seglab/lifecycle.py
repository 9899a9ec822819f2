"""How a run starts and ends, so that what the run dir and the tracker say is always true.

``ActiveRun`` is created before any data is read:

1. the run dir is claimed (``seglab.rundir.open_run_dir``: new, refused when it holds another run,
   or continued with ``resume=RUN_DIR``, whose saved ``config.yaml`` then replaces the composed
   config) and the resolved config written to it;
2. the tracker run is opened (or, on resume, the interrupted one re-opened), after marking runs
   of the same experiment whose process died as KILLED, and their run dirs as ``killed``;
3. ``stage(name)`` records where the run is (``run.json`` and the ``seglab.stage`` tag), so an
   interruption says where it happened;
4. ``end(error)`` sets the final status: FINISHED only when the run returned (``metrics.json`` is
   written last; the resume points in ``checkpoints/`` are then deleted), KILLED for SIGINT/SIGTERM
   (``seglab.guards.Interrupted``), FAILED otherwise.

What reaches the tracker about a failure is the error's type and, for seglab's own errors, its
message without example values (``DataValidationError`` lists example values, which may be
customer ids); the full message stays on stderr and in the run dir's ``run.json``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seglab import rundir
from seglab.errors import ConfigError, SeglabError

log = logging.getLogger("seglab")


def _resume_overrides() -> list[str]:
    """Command-line overrides other than ``resume=`` (a resumed run takes none)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return [o for o in HydraConfig.get().overrides.task if not o.lstrip("+~").startswith("resume=")]


def resumed_config(run_dir: Path) -> DictConfig:
    """The config a resumed run continues with: the one saved in its run dir."""
    extra = _resume_overrides()
    if extra:
        raise ConfigError(f"resume={run_dir} continues that run with the config saved in it ({rundir.CONFIG}); "
                          f"drop the other overrides: {' '.join(extra)}")
    path = run_dir / rundir.CONFIG
    if not path.is_file():
        raise rundir.RunDirError(f"resume={run_dir}: no {rundir.CONFIG} there; it is not a resumable seglab run")
    cfg = OmegaConf.load(path)
    OmegaConf.set_struct(cfg, False)
    cfg.resume = str(run_dir)
    return cfg


def failure_status(err: BaseException) -> tuple[str, str]:
    """(tracker status, run-dir status) for a run that raised ``err``."""
    from seglab.guards import Interrupted

    if isinstance(err, (Interrupted, KeyboardInterrupt)) or type(err).__name__ == "SIGTERMException":
        return "KILLED", "interrupted"
    return "FAILED", "failed"


def public_reason(err: BaseException) -> str:
    """What the tracker may keep about a failure: type, plus seglab's own message minus example values."""
    from seglab.guards import Interrupted

    if isinstance(err, Interrupted):
        return str(err)
    if isinstance(err, SeglabError):
        return f"{type(err).__name__}: {str(err).split(' | values: ')[0]}"
    return f"{type(err).__name__} (message kept out of the tracker; see the run's stderr)"


class ActiveRun:
    """The run dir and tracker run of one ``seglab.train.run`` call (see the module docstring).

    ``tags``: a function of the (possibly resumed) config giving the tracker run's tags.
    ``rank_zero``: False in the extra processes of a DDP job, which claim and track nothing.
    """

    def __init__(self, cfg: DictConfig, run_dir: Path, tags: Callable[[DictConfig], Mapping[str, str]],
                 rank_zero: bool = True) -> None:
        self.run_dir = run_dir
        self.rank_zero = rank_zero
        self.stage_name = "start"
        resume = cfg.get("resume")
        self.cfg = resumed_config(run_dir) if resume else cfg
        self.tracker = None
        if not rank_zero:
            return
        self.marker = rundir.open_run_dir(run_dir, resume=bool(resume))
        if not resume:
            (run_dir / rundir.CONFIG).write_text(OmegaConf.to_yaml(self.cfg, resolve=True))
        if self.cfg.logger.mlflow:
            self.tracker = self._open_tracker(tags(self.cfg), self.marker.get("tracker") if resume else None)

    def _open_tracker(self, tags: Mapping[str, str], previous: dict | None):
        from seglab.tracking import Tracker, default_tracking_uri, flatten

        cfg = self.cfg
        uri = (previous or {}).get("uri") or cfg.logger.tracking_uri or default_tracking_uri(cfg.log_dir)
        tracker = Tracker(uri, cfg.logger.experiment_name, Path(cfg.log_dir) / "mlartifacts",
                          run_name=f"{cfg.data.name}:{cfg.model._target_.rsplit('.', 1)[-1]}", tags=tags,
                          run_id=(previous or {}).get("run_id"))
        for dead in tracker.dead_runs:
            rundir.mark_killed(dead.run_dir, f"killed: {dead.reason}", dead.host, dead.pid)
        rundir.update_marker(self.run_dir, tracker={"uri": uri, "run_id": tracker.run_id})
        if previous is None:  # a resumed run logged its (identical) params already
            tracker.log_params(flatten(OmegaConf.to_container(cfg, resolve=True)))
        return tracker

    def stage(self, name: str) -> None:
        """Record that the run entered stage ``name`` (data, features, fit, evaluate, reports, save)."""
        self.stage_name = name
        if not self.rank_zero:
            return
        rundir.update_marker(self.run_dir, stage=name)
        if self.tracker is not None:
            self.tracker.set_tags({"seglab.stage": name})

    def end(self, err: BaseException | None) -> None:
        """Set the final status of the run dir and the tracker run (see the module docstring)."""
        if not self.rank_zero:
            return
        if err is None:
            status, dir_status, reason, full = "FINISHED", "finished", None, None
            shutil.rmtree(self.run_dir / rundir.CHECKPOINTS, ignore_errors=True)  # model.ckpt holds the fit
        else:
            status, dir_status = failure_status(err)
            reason = f"{public_reason(err)} (during {self.stage_name})"
            full = f"{err if dir_status == 'interrupted' else f'{type(err).__name__}: {err}'} (during {self.stage_name})"
        try:
            rundir.update_marker(self.run_dir, status=dir_status, reason=full)
        finally:
            if self.tracker is not None:
                self.tracker.finish(status, reason)
        if err is not None:
            log.info("run %s: %s", self.run_dir, full)


def interrupted_note(cfg: DictConfig) -> str:
    """Where an interrupted run's files are and how to continue it."""
    from hydra.core.hydra_config import HydraConfig

    run_dir = cfg.get("resume") or (HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else None)
    if not run_dir:
        return "the run is marked interrupted"
    return f"run dir {run_dir} kept (status interrupted); continue it with: python train.py resume={run_dir}"
