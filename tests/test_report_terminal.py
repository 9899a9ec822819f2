"""Terminal output of a run: the config tree at start and the segments in the summary."""

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from seglab.train import RunResult, print_config_tree, segment_lines


def test_config_tree_prints_nested_keys(capsys):
    print_config_tree(OmegaConf.create({"seed": 3, "model": {"_target_": "x.KMeans", "n_clusters": 5},
                                        "hydra": {"run": {"dir": "hidden"}}}))
    out = capsys.readouterr().out
    assert "model" in out and "n_clusters: 5" in out and "seed: 3" in out
    assert "hidden" not in out  # Hydra's own settings are not the run's config


def test_summary_lists_each_segment_with_size_share_and_the_k_rule(tmp_path: Path):
    pd.DataFrame({"segment": ["0", "1", "all"], "name": ["lapsed · negative reviews", "frequent", "all customers"],
                  "size": [300, 700, 1000], "share": [0.3, 0.7, 1.0]}).to_csv(tmp_path / "profiles.csv", index=False)
    result = RunResult(tmp_path, {}, [], np.zeros(3, int),
                       extra={"n_clusters": 2, "k_rule": "chosen by the silhouette rule among k = 2..10"})
    lines = segment_lines(result)
    assert "silhouette rule" in lines[0] and "k=2" in lines[0]
    assert len(lines) == 3 and "lapsed · negative reviews" in lines[1] and "30.0%" in lines[1] and "700" in lines[2]


def test_compare_help_is_plain_text(capsys):
    import pytest

    from seglab.report.compare import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--runs-dir" in out and "--interactive" in out
    assert "``" not in out and "\\\\" not in out  # no RST markup, no escaped line breaks
