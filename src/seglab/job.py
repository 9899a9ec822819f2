"""The process a run lives in: its Hydra job (sweep id, overrides, multirun or not), its DDP rank,
and its thread limits."""

from __future__ import annotations

import os
from pathlib import Path


def hydra_tags() -> dict[str, str]:
    """Sweep id and overrides of the current Hydra job (empty outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return {}
    hc = HydraConfig.get()
    tags = {"seglab.overrides": ",".join(hc.overrides.task) or "(defaults)"}
    if hc.mode == RunMode.MULTIRUN:
        tags["seglab.sweep_id"] = str(Path(hc.sweep.dir).resolve())
        tags["seglab.job_num"] = str(hc.job.num)
    return tags


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-GPU (DDP) job, which must not write or track."""
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if int(os.environ.get(var, "0") or 0) != 0:
            return False
    return True


def limit_threads(num_threads: int | None) -> None:
    """Cap torch and BLAS threads (parallel sweep jobs must not oversubscribe the cores)."""
    if not num_threads:
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(int(num_threads))
    threadpool_limits(int(num_threads))


def in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
