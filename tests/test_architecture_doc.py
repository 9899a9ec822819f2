"""docs/architecture.md stays true to the code: its worked example runs, the files it names exist."""

from __future__ import annotations

import re
import sys
import types
import warnings
from pathlib import Path

import pytest
from sklearn.datasets import make_blobs

from seglab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()


def _example_module() -> types.ModuleType:
    """The doc's ``balanced_dec.py`` block, imported as a module."""
    code = next(b for b in re.findall(r"```python\n(.*?)```", DOC, re.S) if "class BalancedDEC" in b)
    module = types.ModuleType("balanced_dec_example")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(code, "docs/architecture.md", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module


def test_the_worked_example_model_fits_and_checks_its_new_setting():
    from seglab.config.check import flat_constraints

    BalancedDEC = _example_module().BalancedDEC
    trainer = {"accelerator": "cpu", "logger": False, "enable_checkpointing": False,
               "enable_progress_bar": False, "enable_model_summary": False}
    X, _ = make_blobs(200, 5, centers=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BalancedDEC.from_config(n_clusters=3, latent_dim=3, max_epochs=2, cluster_max_epochs=1,
                                        balance=0.5, num_threads=1, trainer_kwargs=trainer).fit(X)
    assert model.clustering.balance == 0.5 and model.fit_report()["fit/cluster_iterations"] > 0
    assert "balance" in flat_constraints(BalancedDEC)  # what the config check reads
    with pytest.raises(ConfigError, match="balance"):
        BalancedDEC.from_config(balance=-1).fit(X)


def test_every_repository_path_the_doc_names_exists():
    """Paths from the root (``src/seglab/plots.py``) and module files named inside a package's
    paragraph (``models/deep.py``, ``clustering_phase.py``) alike."""
    sources = [str(f.relative_to(ROOT)) for f in (ROOT / "src" / "seglab").rglob("*.py")]
    rooted = set(re.findall(r"`((?:src|conf|tests|docs|scripts)/[\w./-]+?)`", DOC))
    relative = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", DOC)) - rooted
    missing = sorted(p for p in rooted if not (ROOT / p).exists())
    missing += sorted(p for p in relative if p != "balanced_dec.py" and not any(f.endswith("/" + p) for f in sources))
    assert len(rooted) > 10 and len(relative) > 20
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_the_doc_cites_only_files_users_have():
    assert "DESIGN.md" not in DOC
    assert "[adding_a_metric.md](adding_a_metric.md)" in DOC and (ROOT / "docs" / "adding_a_metric.md").exists()


def test_the_readme_links_the_doc():
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text()
