"""Every option of every config group composes and resolves, and names an importable target."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import get_class
from omegaconf import OmegaConf

CONF = Path(__file__).resolve().parents[1] / "conf"
GROUPS = ["data", "features", "text", "model", "trainer", "logger"]
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]


def _plain_values(node, prefix=""):
    """(dotted key, value) of every literal in a YAML node (interpolations and ??? skipped)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "defaults":
                continue
            yield from _plain_values(value, f"{prefix}{key}.")
    elif not (isinstance(node, str) and ("${" in node or node == "???")):
        yield prefix.rstrip("."), node


def _select(cfg, dotted: str):
    return OmegaConf.select(cfg, dotted, throw_on_missing=False)


@pytest.mark.parametrize("group,option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_group_option_composes(group, option, tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"{group}={option}", f"log_dir={tmp_path}"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    node = resolved[group]
    # the option's own file is what the composed group holds, value for value
    literal = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"), resolve=False)
    for key, value in _plain_values(literal):
        assert _select(cfg[group], key) == value, f"{group}={option}: {key}"
    if isinstance(node, dict) and "_target_" in node:
        cls = get_class(node["_target_"])
        assert inspect.isclass(cls)
        params = inspect.signature(cls).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        keys = cls.config_keys() if hasattr(cls, "config_keys") else params  # a model's flat keys (from_config)
        unknown = [k for k in node if not k.startswith("_") and k not in keys]
        assert takes_any or not unknown, f"{node['_target_']} does not take {unknown}"
    if group == "model" and "n_clusters" in node:  # density models (DBSCAN/HDBSCAN) have no k
        assert node["n_clusters"] in (cfg.n_clusters, "auto")
    if group == "model" and "random_state" in node:
        assert node["random_state"] == cfg.seed


@pytest.mark.parametrize("path", sorted((CONF / "experiment").glob("*.yaml")), ids=lambda p: p.stem)
def test_experiment_applies_its_overrides(path, tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"+experiment={path.stem}", f"log_dir={tmp_path}"])
    OmegaConf.to_container(cfg, resolve=True)
    literal = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    for key, value in _plain_values(literal):
        assert _select(cfg, key) == value, key
    for entry in literal.get("defaults", []):
        if isinstance(entry, dict):
            for group_key, option in entry.items():
                group = group_key.replace("override /", "").strip("/")
                chosen = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"), resolve=False)
                for key, value in _plain_values(chosen):
                    if _select(OmegaConf.create(literal), f"{group}.{key}") is None:  # not overridden below
                        assert _select(cfg[group], key) == value, f"{path.stem}: {group}.{key}"


def test_defaults_are_the_documented_ones(tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"log_dir={tmp_path}"])
    assert cfg.data.name == "synthetic" and cfg.data.n_customers == 5000
    assert cfg.model._target_ == "seglab.models.dec.DEC"
    assert cfg.text.name == "minilm" and cfg.logger.mlflow is True
    assert cfg.trainer.accelerator == "cpu"
    assert cfg.seed == 0 and cfg.n_clusters == 5 and cfg.model.n_clusters == 5 and cfg.data.n_segments == 5
