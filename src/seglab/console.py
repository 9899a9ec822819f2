"""What a run prints on the terminal: the resolved config as a tree at start, and the summary
(metrics from the registry, each segment's name, size and share, how k was set, where things went)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    from seglab.train import RunResult


def segment_lines(result: RunResult) -> list[str]:
    """Each segment's name, size and share (from the run's ``profiles.csv``) and how k was set."""
    path = Path(result.run_dir) / "profiles.csv"
    if not path.exists():
        return []
    prof = pd.read_csv(path)
    prof = prof[prof["segment"].astype(str) != "all"]
    lines = [f"  segments: k={result.extra.get('n_clusters')} {result.extra.get('k_rule', '')}".rstrip()]
    for _, row in prof.iterrows():
        lines.append(f"    {str(row['segment']):>5}  {int(row['size']):>8,}  {float(row['share']):6.1%}  {row.get('name', '')}")
    return lines


def print_config_tree(cfg: DictConfig) -> None:
    """The resolved config as a tree (as lightning-hydra-template prints it); ``print_config=false`` skips it."""
    from rich.console import Console
    from rich.tree import Tree

    def add(node, value) -> None:
        for key, child in value.items():
            if isinstance(child, dict):
                add(node.add(f"[bold]{key}[/bold]"), child)
            else:
                node.add(f"{key}: [cyan]{child!r}[/cyan]" if isinstance(child, str) else f"{key}: [cyan]{child}[/cyan]")

    tree = Tree("[bold]config[/bold]")
    try:
        container = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an unresolvable value: the config check reports it
        container = OmegaConf.to_container(cfg, resolve=False)
    add(tree, {k: v for k, v in container.items() if k != "hydra"})
    Console(soft_wrap=True, highlight=False).print(tree)


def print_summary(cfg: DictConfig, result: RunResult) -> None:
    """A short human summary: dataset, size, k, the metric registry's summary metrics
    (``seglab.evaluate.registry``), where things went."""
    from seglab.evaluate import summary_specs

    m = result.metrics
    lines = [f"seglab | data={cfg.data.name} customers={int(m['data/n_customers'])} "
             f"features={int(m['data/n_features'])} model={cfg.model._target_.rsplit('.', 1)[-1]} k={result.extra.get('n_clusters')}"]
    shown = [f"{s.name}={m[s.key]:.4g}" for s in summary_specs() if s.key in m and not math.isnan(m[s.key])]
    lines.append("  metrics: " + " ".join(shown))
    lines += segment_lines(result)
    if "predict" in result.extra:
        lines.append(f"  {result.extra['predict']}")
    for warning in result.warnings:
        lines.append(f"  warning: {warning}")
    lines.append(f"  run dir: {result.run_dir}")
    if result.tracking_uri:
        lines.append(f"  tracking: {result.tracking_uri} (run {result.mlflow_run_id}); "
                     f"view with: mlflow ui --backend-store-uri {result.tracking_uri}")
    print("\n".join(lines), flush=True)
