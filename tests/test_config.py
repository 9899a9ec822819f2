"""Every option of every config group composes and resolves, and names an importable target."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import get_class
from omegaconf import OmegaConf

CONF = Path(__file__).resolve().parents[1] / "conf"
GROUPS = ["data", "features", "text", "model", "trainer", "logger"]
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]


@pytest.mark.parametrize("group,option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_group_option_composes(group, option, tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"{group}={option}", f"log_dir={tmp_path}"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved[group] is not None
    node = resolved[group]
    if isinstance(node, dict) and "_target_" in node:
        assert get_class(node["_target_"]) is not None
    if group == "model" and "n_clusters" in node:  # density models (DBSCAN/HDBSCAN) have no k
        assert node["n_clusters"] in (cfg.n_clusters, "auto")


def test_experiments_compose(tmp_path):
    experiments = sorted((CONF / "experiment").glob("*.yaml"))
    for path in experiments:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("config", overrides=[f"+experiment={path.stem}", f"log_dir={tmp_path}"])
        OmegaConf.to_container(cfg, resolve=True)


def test_defaults_are_the_documented_ones(tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"log_dir={tmp_path}"])
    assert cfg.data.name == "synthetic"
    assert cfg.model._target_.endswith("DEC")
    assert cfg.trainer.accelerator == "cpu"
