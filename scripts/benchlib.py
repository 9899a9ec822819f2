"""What every benchmark script shares: provenance, raw records that resume, mean ± std.

A figure in ``experiments/`` is only as good as what says where it came from. Every table a
script writes starts with ``provenance_header`` (the exact command, commit, CPU model, load
average, date) and sits beside a JSONL file of raw records, one per measured run, so that

- a table can be regenerated from the raw records without re-running anything;
- an interrupted benchmark resumes (``RawRecords.done(key)`` skips what is recorded);
- a record made at another commit is not silently reused: keys include the commit unless a
  script says otherwise (``--reuse-any-commit``), and the record stores it either way.

Usage (from a script in ``scripts/``, which is on ``sys.path`` when run as ``python scripts/x.py``)::

    from benchlib import RawRecords, provenance_header, mean_std
    records = RawRecords(Path("experiments/x_runs.jsonl"))
    for seed in seeds:
        key = {"model": "dec", "seed": seed, "n": n}
        if records.done(key):
            continue
        records.add(key, {"ari": ..., "wall_s": ..., "cpu_s": ...})
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def git_commit(short: bool = True) -> str:
    """HEAD's commit, with ``+dirty`` when tracked files differ from it (the figure may not be
    reproducible from the commit alone, and the table says so)."""
    try:
        args = ["git", "rev-parse", "--short", "HEAD"] if short else ["git", "rev-parse", "HEAD"]
        rev = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo``), or what ``platform`` knows elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> tuple[float, float, float]:
    return os.getloadavg() if hasattr(os, "getloadavg") else (math.nan, math.nan, math.nan)


def machine() -> dict[str, Any]:
    """What a timing depends on: cores, CPU model, memory, load, library versions."""
    info: dict[str, Any] = {"cpu_model": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
                            "load1": round(load_average()[0], 2)}
    try:
        info["mem_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    for mod in ("torch", "sklearn", "lightning"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            pass
    return info


def command_line() -> str:
    """The command that is running, as a user would type it from the repository root."""
    argv = list(sys.argv)
    try:
        argv[0] = str(Path(argv[0]).resolve().relative_to(ROOT))
    except ValueError:
        pass
    return "python " + " ".join(shlex.quote(a) for a in argv)


def provenance_header(title: str, command: str | None = None, extra: Iterable[str] = ()) -> str:
    """The first lines of every generated table: title, command, commit, machine, date."""
    m = machine()
    lines = [
        f"# {title}",
        "",
        f"Command: `{command or command_line()}`  ",
        f"Commit: `{git_commit()}`; date {time.strftime('%Y-%m-%d %H:%M %Z')}  ",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, {m.get('mem_gib', '?')} GiB; Python {m['python']}"
        + "".join(f", {k} {m[k]}" for k in ("torch", "sklearn", "lightning") if k in m) + "  ",
        f"Load average when the table was written: {m['load1']} (per-run loads are in the raw records)  ",
        *extra,
        "",
    ]
    return "\n".join(lines)


class RawRecords:
    """An append-only JSONL file of measured runs, keyed so an interrupted benchmark resumes.

    Each line is ``{"key": {...}, "commit": ..., "machine": {...}, "time": ..., "result": {...}}``.
    ``done(key)`` is true when a record with that key exists at the current commit (or at any
    commit with ``any_commit=True``, for scripts whose caller asked to reuse older runs).
    """

    def __init__(self, path: Path, any_commit: bool = False):
        self.path = Path(path)
        self.any_commit = any_commit
        self.commit = git_commit()
        self.records: list[dict[str, Any]] = []
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    self.records.append(json.loads(line))

    @staticmethod
    def _norm(key: dict[str, Any]) -> str:
        return json.dumps(key, sort_keys=True, default=str)

    def find(self, key: dict[str, Any]) -> dict[str, Any] | None:
        wanted = self._norm(key)
        for rec in reversed(self.records):
            if self._norm(rec["key"]) == wanted and (self.any_commit or rec.get("commit") == self.commit):
                return rec
        return None

    def done(self, key: dict[str, Any]) -> bool:
        return self.find(key) is not None

    def add(self, key: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        rec = {"key": key, "commit": self.commit, "machine": machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "result": result}
        self.records.append(rec)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(rec, default=_json_default) + "\n")
        return rec

    def latest(self, **match: Any) -> list[dict[str, Any]]:
        """The newest record per key among those whose key matches ``match`` (any commit)."""
        newest: dict[str, dict[str, Any]] = {}
        for rec in self.records:
            if all(rec["key"].get(k) == v for k, v in match.items()):
                newest[self._norm(rec["key"])] = rec
        return list(newest.values())


def write_section(path: Path, name: str, section: str, title: str) -> None:
    """Replace (or append) the block between ``<!-- name:start -->`` and ``<!-- name:end -->``.

    Lets several benchmarks share one table file (each owns its marked block).
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else f"# {title}\n\n"
    block = f"{start}\n{section.strip()}\n{end}\n"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end) + 1:]
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def mean_std(values: Iterable[float], digits: int = 3) -> str:
    """``mean ± std`` (sample std, ddof=1) of the finite values, with n when some are missing."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return "n/a"
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{mean:.{digits}f} (n=1)"
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def run_timed(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None,
              timeout: float | None = None) -> dict[str, Any]:
    """Run ``cmd`` as a child process; wall seconds, CPU seconds (user+system of the whole child
    tree, as ``wait4`` reports it) and peak RSS of the largest child, plus its output."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"returncode": proc.returncode, "wall_s": wall,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "max_rss_gib_any_child": after.ru_maxrss / 2**20, "stdout": proc.stdout, "stderr": proc.stderr,
            "load1_before": load_average()[0]}
