"""Mutation testing and planted bugs, in a throw-away copy of the project -> experiments/mutation.md.

Two checks that the tests would catch a wrong number:

1. **Planted bugs** (``--planted``): each bug of ``PLANTED`` (the ones issue 11 found no test for)
   is written into a fresh copy of the committed tree, the given pytest selection runs there, and
   the failing tests are recorded. A bug that no test catches is listed as such.
2. **Mutation testing** (``--modules``) with mutmut 3: for each module of ``MODULES`` a fresh
   copy gets a ``[tool.mutmut]`` section that mutates that module only and runs only the fast
   tests that cover it (mutmut then runs, per mutant, just the tests that execute the mutated
   function). Killed / survived / timed-out counts and every survivor's diff are recorded.

The working tree is never touched: copies are made from ``git archive HEAD`` (``--worktree`` copies
the tracked files as they are on disk instead, to try uncommitted tests). Raw results go to
``experiments/mutation_runs.jsonl`` (keyed by commit, so a re-run at the same commit resumes);
the Markdown is regenerated from them. Run outside CI (it takes tens of minutes on one core):

    pip install -e ".[mutation]"
    nice -n 10 python scripts/mutation.py --planted --modules all
    python scripts/mutation.py --report-only       # the tables from the raw records
    python scripts/mutation.py --list              # what a run would use, checked against the tree (runs nothing)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, RawRecords, git_commit, load_average, provenance_header  # noqa: E402

E2E = "tests/test_e2e_values.py"
DEC_TESTS = ["tests/test_dec_behaviour.py", "tests/test_models_deep.py", E2E]
FEATURE_TESTS = ["tests/test_features.py", "tests/test_boundaries_features.py"]
VALIDATION_TESTS = ["tests/test_data_validation.py", "tests/test_boundaries_validation.py",
                    "tests/test_boundaries_validation_more.py"]
TEXT_TESTS = ["tests/test_text_aggregate.py", "tests/test_boundaries_text.py"]
#: the data-source boundary, split by concern (seglab.data.validate is the policy and re-exports them)
DATA_MODULES = ("convert", "dates", "read", "tables", "repairs", "checks", "lines", "matching")
EVALUATE_TESTS = ["tests/test_evaluate.py", "tests/test_boundaries_metrics.py", "tests/test_evaluate_registry.py"]

#: module -> the fast tests that cover it (pytest arguments; mutmut picks, per mutant, those that
#: execute the mutated function). ``--list`` checks every path against the tree as it is.
MODULES: dict[str, list[str]] = {
    "src/seglab/models/losses.py": [
        *(f"tests/test_models_deep.py::{t}" for t in (
            "test_soft_assignment_matches_hand_computation", "test_target_distribution_matches_hand_computation",
            "test_kl_divergence_matches_hand_computation", "test_idec_loss_is_mse_plus_gamma_kl")),
        "tests/test_dec_behaviour.py::test_target_distribution_discounts_frequent_clusters",
        "tests/test_dec_behaviour.py::test_target_distribution_sharpens_when_clusters_are_equally_frequent",
        "tests/test_boundaries_losses.py",
    ],
    "src/seglab/models/settings.py": ["tests/test_models_deep.py", "tests/test_config_check.py",
                                      "tests/test_config_check_models.py", "tests/test_sklearn_conformance.py"],
    "src/seglab/models/deep.py": ["tests/test_models_deep.py", "tests/test_dec_behaviour.py",
                                  "tests/test_labels_fingerprint.py"],
    "src/seglab/evaluate/metrics.py": EVALUATE_TESTS,
    "src/seglab/evaluate/inputs.py": EVALUATE_TESTS,
    "src/seglab/evaluate/registry.py": [*EVALUATE_TESTS, "tests/test_report.py"],
    "src/seglab/features/build.py": ["tests/test_features.py", "tests/test_boundaries_features.py",
                                     "tests/test_features_engines.py::test_duckdb_matches_pandas_on_edge_cases"],
    **{f"src/seglab/data/{name}.py": [*VALIDATION_TESTS, "tests/test_ingest.py"] for name in DATA_MODULES},
    "src/seglab/text/aggregate.py": TEXT_TESTS,
    "src/seglab/config/check.py": ["tests/test_config_check.py", "tests/test_config_check_models.py",
                                   "tests/test_config.py"],
}

#: name -> (file, exact text, replacement, what it breaks, the default-suite test files run on it)
PLANTED: dict[str, tuple[str, str, str, str, list[str]]] = {
    "truth shifted by one row in train.run": (
        "src/seglab/train.py",
        "truth = None if data.truth is None else np.asarray(data.truth)",
        "truth = None if data.truth is None else np.roll(np.asarray(data.truth), 1)",
        "ground truth misaligned with customers by one row inside the run",
        [E2E, "tests/test_train_e2e.py"],
    ),
    "target distribution normalised over the wrong axis": (
        "src/seglab/models/losses.py",
        "return weight / weight.sum(dim=1, keepdim=True)",
        "return weight / weight.sum(dim=0, keepdim=True)",
        "DEC's p normalised over customers instead of clusters",
        DEC_TESTS,
    ),
    "cluster frequency not counted (no frequency balance)": (
        "src/seglab/models/clustering_phase.py",
        "frequency += q.sum(dim=0)",
        "frequency += q.shape[0] / q.shape[1]",
        "every cluster counted as equally frequent: p = q^2 renormalised, large clusters not discounted",
        DEC_TESTS,
    ),
    "spend_trend window boundary (recent window closed at W)": (
        "src/seglab/features/build.py",
        "recent = orders[\"amount\"].where(age < window, 0.0)",
        "recent = orders[\"amount\"].where(age <= window, 0.0)",
        "a purchase exactly W days old counted in both windows",
        FEATURE_TESTS,
    ),
    "spend_trend window boundary (past window open at W)": (
        "src/seglab/features/build.py",
        "past = orders[\"amount\"].where((age >= window) & (age < 2 * window), 0.0)",
        "past = orders[\"amount\"].where((age > window) & (age < 2 * window), 0.0)",
        "a purchase exactly W days old counted in neither window",
        FEATURE_TESTS,
    ),
    "infinity check removed from numeric validation": (
        "src/seglab/data/convert.py",
        "if np.isinf(out.to_numpy()).any():",
        "if False:",
        "inf amounts pass validation",
        VALIDATION_TESTS,
    ),
    "negative-share threshold inclusive": (
        "src/seglab/text/aggregate.py",
        "df[\"neg\"] = (df[\"s\"] < negative_threshold).astype(float)",
        "df[\"neg\"] = (df[\"s\"] <= negative_threshold).astype(float)",
        "a review scored exactly at the threshold counted as negative",
        TEXT_TESTS,
    ),
    "negative-share threshold ignored": (
        "src/seglab/text/aggregate.py",
        "df[\"neg\"] = (df[\"s\"] < negative_threshold).astype(float)",
        "df[\"neg\"] = (df[\"s\"] < 0.0).astype(float)",
        "text.negative_threshold has no effect",
        TEXT_TESTS,
    ),
    "category-share block dropped from the features": (
        "src/seglab/features/build.py",
        "if shares is not None:",
        "if False:",
        "the cat_share_* columns never reach the model",
        [E2E, *FEATURE_TESTS],
    ),
}
PYTEST_OPTS = ["-p", "no:cacheprovider", "-q"]


def make_copy(dest: Path, worktree: bool) -> None:
    """The committed tree (or the tracked files as on disk) in ``dest``; never the original."""
    dest.mkdir(parents=True)
    if worktree:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        for name in filter(None, files.decode().split("\0")):
            src = ROOT / name
            if src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
        return
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    with tempfile.TemporaryFile() as fh:
        fh.write(archive)
        fh.seek(0)
        with tarfile.open(fileobj=fh) as tar:
            tar.extractall(dest, filter="data")


def child_env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy / "src")  # before the editable install of the original
    env.setdefault("SEGLAB_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return env


def stale_names() -> list[str]:
    """What ``MODULES`` and ``PLANTED`` name that the tree no longer has: a module or test file
    that is gone, or a planted bug whose text does not occur exactly once in its file."""
    problems = [f"module {m}: no such file" for m in MODULES if not (ROOT / m).is_file()]
    tests = {t for ts in [*MODULES.values(), *(b[4] for b in PLANTED.values())] for t in ts}
    problems += [f"test {t}: no such file" for t in sorted(tests) if not (ROOT / t.split("::")[0]).is_file()]
    for name, (file, old, *_rest) in PLANTED.items():
        n = (ROOT / file).read_text().count(old) if (ROOT / file).is_file() else 0
        if n != 1:
            problems.append(f"planted bug {name!r}: its text occurs {n} times in {file}")
    return problems


def list_plan() -> int:
    """``--list``: the modules and planted bugs a run would use, and anything stale (exit 1)."""
    for module, tests in MODULES.items():
        print(f"{module}\n    {' '.join(tests)}")
    for name, (file, *_rest) in PLANTED.items():
        print(f"planted: {name} ({file})")
    problems = stale_names()
    for problem in problems:
        print(f"STALE: {problem}")
    print(f"{len(MODULES)} modules, {len(PLANTED)} planted bugs, {len(problems)} stale name(s)")
    return 1 if problems else 0


# --- planted bugs ---------------------------------------------------------------------------------
CONTROL = "(none: control run on the unchanged copy)"


def run_planted(records: RawRecords, override: list[str] | None, worktree: bool, names: list[str],
                control: bool) -> None:
    every = list(dict.fromkeys(f for n in names for f in PLANTED[n][4]))
    for name in [CONTROL, *names] if control else names:
        file, old, new, _, files = PLANTED[name] if name != CONTROL else ("", "", "", "", every)
        tests = override or [*files, *PYTEST_OPTS]
        key = {"kind": "planted", "bug": name, "tests": tests}
        if records.done(key):
            continue
        with tempfile.TemporaryDirectory(prefix="seglab-planted-") as tmp:
            copy = Path(tmp) / "tree"
            make_copy(copy, worktree)
            if name != CONTROL:
                path = copy / file
                text = path.read_text()
                if text.count(old) != 1:
                    records.add(key, {"error": f"the text to replace occurs {text.count(old)} times in {file}"})
                    continue
                path.write_text(text.replace(old, new))
            t0, load = time.perf_counter(), load_average()[0]
            proc = subprocess.run([sys.executable, "-m", "pytest", *tests, "-rfE"], cwd=copy, env=child_env(copy),
                                  capture_output=True, text=True)
            failed = sorted({line.split(" ")[1] for line in proc.stdout.splitlines()
                             if line.startswith(("FAILED ", "ERROR "))})
            records.add(key, {"returncode": proc.returncode, "failed": failed, "wall_s": time.perf_counter() - t0,
                              "load1": load, "tail": proc.stdout[-1500:]})
        print(f"[planted] {name}: {len(failed)} failing test(s) {failed[:3]}", flush=True)


# --- mutation testing -----------------------------------------------------------------------------
MUTMUT_SECTION = """
[tool.mutmut]
source_paths = ["src"]
only_mutate = [{module!r}]
pytest_add_cli_args_test_selection = {tests}
pytest_add_cli_args = ["-p", "no:cacheprovider"]
also_copy = ["conf", "train.py"]
"""


def run_module(records: RawRecords, module: str, worktree: bool, max_children: int) -> None:
    tests = MODULES[module]
    key = {"kind": "mutmut", "module": module, "tests": tests}
    if records.done(key):
        return
    with tempfile.TemporaryDirectory(prefix="seglab-mutmut-") as tmp:
        copy = Path(tmp) / "tree"
        make_copy(copy, worktree)
        tests = [t for t in tests if t.startswith("-") or (copy / t.split("::")[0]).exists()]
        with (copy / "pyproject.toml").open("a") as fh:
            fh.write(MUTMUT_SECTION.format(module=module, tests=json.dumps(tests)))
        env = child_env(copy)
        # no PYTHONPATH: mutmut puts mutants/src first itself, and a PYTHONPATH entry naming it
        # before it exists is cached by the import system as "nothing here"
        env.pop("PYTHONPATH", None)
        mutmut = [sys.executable, "-c", "import sys; from mutmut.__main__ import cli; sys.exit(cli())"]
        t0, c0, load = time.perf_counter(), _children_cpu(), load_average()[0]
        proc = subprocess.run([*mutmut, "run", "--max-children", str(max_children)], cwd=copy, env=env,
                              capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
        statuses = _statuses(copy, mutmut, env)
        checked = any(s != "not checked" for s in statuses.values())
        survivors = _diffs(copy, env, [n for n, s in statuses.items() if s != "killed"]) if checked else {}
        counts: dict[str, int] = {}
        for s in statuses.values():
            counts[s] = counts.get(s, 0) + 1
        records.add(key, {"returncode": proc.returncode, "counts": counts, "survivors": survivors,
                          "wall_s": wall, "cpu_s": cpu, "load1": load, "max_children": max_children,
                          "tail": (proc.stdout + proc.stderr)[-1500:]})
    print(f"[mutmut] {module}: {counts} in {wall:.0f} s", flush=True)


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _statuses(copy: Path, mutmut: list[str], env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run([*mutmut, "results", "--all", "true"], cwd=copy, env=env, capture_output=True,
                         text=True).stdout
    statuses = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            statuses[name] = status.strip()
    return statuses


DIFFS = """
import json, sys
from mutmut.__main__ import find_mutant
from mutmut.mutation.diff_apply import get_diff_for_mutant
out = {}
for name in json.load(sys.stdin):
    try:
        out[name] = get_diff_for_mutant(name, path=find_mutant(name).path)[-2000:]
    except Exception as err:  # noqa: BLE001 - a diff that cannot be shown is reported as such
        out[name] = f"(no diff: {err})"
print(json.dumps(out))
"""


def _diffs(copy: Path, env: dict[str, str], names: list[str]) -> dict[str, str]:
    """Every survivor's diff, from one process (``mutmut show`` per mutant costs seconds each)."""
    if not names:
        return {}
    proc = subprocess.run([sys.executable, "-c", DIFFS], cwd=copy, env=env, input=json.dumps(names),
                          capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {n: f"(no diff: {proc.stderr[-300:]})" for n in names}


# --- report ---------------------------------------------------------------------------------------
def write_report(records: RawRecords, out: Path, notes: Path | None) -> None:
    planted = [r for r in records.latest(kind="planted") if r["key"]["bug"] in (CONTROL, *PLANTED)]
    newest: dict[str, dict] = {}
    for r in records.records:  # the newest run of each module, whatever its test selection
        if r["key"].get("kind") == "mutmut":
            newest[r["key"]["module"]] = r
    mut = list(newest.values())
    lines = [provenance_header(
        "Mutation testing and planted bugs",
        extra=["Raw records (one per planted bug / module, with each survivor's diff): "
               "`experiments/mutation_runs.jsonl`. Each row names the commit it ran at.  "])]
    if planted:
        lines += ["## Planted bugs (issue 11)", "",
                  "Each bug is written into a fresh copy of the committed tree and the default-suite test files "
                  "shown run there; every test that failed is listed.", "",
                  "| bug | what it breaks | tests run | failing test(s) | commit |", "|---|---|---|---|---|"]
        order = [CONTROL, *PLANTED]
        for r in sorted(planted, key=lambda r: order.index(r["key"]["bug"]) if r["key"]["bug"] in order else 99):
            res = r["result"]
            failed = ", ".join(f"`{t}`" for t in res.get("failed", [])) or (
                f"**none** ({res['error']})" if "error" in res else
                "none (as it should)" if r["key"]["bug"] == CONTROL else "**none: not caught**")
            what = PLANTED[r["key"]["bug"]][3] if r["key"]["bug"] in PLANTED else ""
            tests = " ".join(t for t in r["key"]["tests"] if t not in PYTEST_OPTS)
            lines.append(f"| {r['key']['bug']} | {what} | `{tests}` | {failed} | {r['commit']} |")
        lines.append("")
    if mut:
        lines += ["## Mutation testing (mutmut)", "",
                  "Settings: mutmut " + _mutmut_version() + ", one module per run, `source_paths = [\"src\"]`, "
                  "`only_mutate = [<module>]`, the tests below as `pytest_add_cli_args_test_selection` (mutmut "
                  "runs, per mutant, only those of them that execute the mutated function; a mutant no selected "
                  "test executes counts as survived: *no tests*). Score = killed / all mutants "
                  "(timeouts and suspicious counted as not killed).", "",
                  "| module | tests | mutants | killed | survived | no tests | other | score | wall s | CPU s | load | commit |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        total = killed_all = 0
        for r in sorted(mut, key=lambda r: r["key"]["module"]):
            c = r["result"]["counts"]
            n = sum(c.values())
            killed = c.get("killed", 0)
            other = n - killed - c.get("survived", 0) - c.get("no tests", 0)
            total, killed_all = total + n, killed_all + killed
            tests = " ".join(r["key"]["tests"])
            lines.append(f"| `{r['key']['module']}` | `{tests}` | {n} | {killed} | {c.get('survived', 0)} | "
                         f"{c.get('no tests', 0)} | {other} | {killed / max(n, 1):.1%} | "
                         f"{r['result']['wall_s']:.0f} | {r['result']['cpu_s']:.0f} | {r['result']['load1']:.1f} | "
                         f"{r['commit']} |")
        lines += ["", f"The {len(mut)} module(s) above together: {killed_all} of {total} mutants killed "
                      f"({killed_all / max(total, 1):.1%}).", ""]
        lines += ["### Survivors", ""]
        for r in sorted(mut, key=lambda r: r["key"]["module"]):
            surv = r["result"]["survivors"]
            lines.append(f"- `{r['key']['module']}`: {len(surv)} not killed" + (":" if surv else "."))
            for name, diff in sorted(surv.items()):
                body = "\n".join("      " + d for d in diff.strip().splitlines() if d.startswith(("+", "-"))
                                 and not d.startswith(("+++", "---")))
                lines.append(f"  - `{name}`\n\n{body}\n")
        lines.append("")
    if notes and notes.exists():
        lines += [notes.read_text().strip(), ""]
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


def _mutmut_version() -> str:
    try:
        from importlib.metadata import version

        return version("mutmut")
    except Exception:  # noqa: BLE001 - a missing tool shows as "?" in the table
        return "?"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--planted", nargs="*", default=None, metavar="BUG",
                   help="run the planted bugs (all when no name is given)")
    p.add_argument("--planted-tests", nargs="+", default=None,
                   help="pytest arguments for every planted-bug run (default: each bug's own test files, "
                        "all of them in the default suite, e.g. 'tests -x' for the whole suite)")
    p.add_argument("--control", action="store_true",
                   help="also run every planted bug's tests on the unchanged copy (they must pass)")
    p.add_argument("--modules", nargs="*", default=None, help="modules to mutate ('all' = every one of MODULES)")
    p.add_argument("--list", action="store_true",
                   help="list the modules, their tests and the planted bugs, check them against the tree, run nothing")
    p.add_argument("--max-children", type=int, default=1, help="mutmut workers (1 on a shared 2-core machine)")
    p.add_argument("--worktree", action="store_true", help="copy the tracked files as on disk, not HEAD")
    p.add_argument("--records", type=Path, default=ROOT / "experiments" / "mutation_runs.jsonl")
    p.add_argument("--out", type=Path, default=ROOT / "experiments" / "mutation.md")
    p.add_argument("--notes", type=Path, default=ROOT / "experiments" / "mutation_notes.md",
                   help="hand-written explanations of survivors, appended to the report")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    if args.list:
        sys.exit(list_plan())
    records = RawRecords(args.records)
    # copies are made from HEAD, so other files being edited in the working tree do not matter
    records.commit = git_commit().removesuffix("+dirty") + ("+worktree" if args.worktree else "")
    if not args.report_only:
        if args.planted is not None:
            run_planted(records, args.planted_tests, args.worktree, args.planted or list(PLANTED), args.control)
        if args.modules is not None:
            modules = list(MODULES) if not args.modules or args.modules == ["all"] else args.modules
            for module in modules:
                run_module(records, module, args.worktree, args.max_children)
    write_report(records, args.out, args.notes)


if __name__ == "__main__":
    main()
