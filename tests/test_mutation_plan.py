"""scripts/mutation.py names the modules, tests and planted-bug lines as the tree has them now
(a refactor that moves code must move the mutation plan with it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("mutation_script", ROOT / "scripts" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_mutation_plan_names_the_tree_as_it_is():
    script = _script()
    assert script.stale_names() == []
    assert {"src/seglab/models/deep.py", "src/seglab/config/check.py", "src/seglab/data/convert.py"} <= set(script.MODULES)


def test_a_stale_name_is_reported(monkeypatch):
    script = _script()
    monkeypatch.setitem(script.MODULES, "src/seglab/data/validate_old.py", ["tests/test_gone.py"])
    file, old, *rest = script.PLANTED["infinity check removed from numeric validation"]
    monkeypatch.setitem(script.PLANTED, "moved", ("src/seglab/data/validate.py", old, *rest))
    problems = script.stale_names()
    assert "module src/seglab/data/validate_old.py: no such file" in problems
    assert "test tests/test_gone.py: no such file" in problems
    assert any(p.startswith("planted bug 'moved': its text occurs 0 times") for p in problems)
