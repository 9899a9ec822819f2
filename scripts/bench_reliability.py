"""Interrupt real runs at every stage with every signal; record what the tracker and the run dir say.

For each interruption point (data, features, pretraining, clustering, reports) and signal
(SIGINT, SIGTERM, SIGKILL), one `python train.py` run (a small DEC on synthetic data) is started,
watched until it is in that stage (the run dir's ``run.json`` stage; pretraining and clustering
by their resume points in ``checkpoints/``), and sent the signal. Recorded per cell:

- the exit code and the last line on stderr;
- the tracker status right after the exit, and after the next start (``resume=RUN_DIR``, which
  first marks runs of dead processes KILLED);
- the run dir's state: ``run.json`` status and stage, whether ``metrics.json`` exists, the
  resume points left;
- whether ``resume=RUN_DIR`` then finishes with the same ``segments.parquet`` (labels and
  probabilities) as an uninterrupted run with the same seed.

A cell whose signal landed outside the intended stage (a race) is re-tried (``--tries``). The
table goes between markers in ``experiments/reliability.md`` (the rest of that file is left
alone), the raw records to ``experiments/reliability_runs.jsonl``; recorded cells are skipped
on a re-run (``--force`` redoes them). Wall and CPU seconds and the load are in the records.

    python scripts/bench_reliability.py                  # all 15 cells (about 20 minutes on 2 busy cores)
    python scripts/bench_reliability.py --stages data --signals SIGKILL
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchlib import ROOT, RawRecords, load_average, provenance_header, write_section

STAGES = ("data", "features", "pretraining", "clustering", "reports")
SIGNALS = ("SIGINT", "SIGTERM", "SIGKILL")
ARGS = ["data.n_customers=10000", "text=none", "model=dec", "model.max_epochs=10", "model.patience=null",
        "model.cluster_max_epochs=8", "model.tol=0", "model.n_init=2", "logger.experiment_name=reliability"]


def in_stage(run_dir: Path, stage: str) -> bool:
    """Whether the run in ``run_dir`` is in ``stage`` now."""
    try:
        marker = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return False
    ckpt = run_dir / "checkpoints"
    if stage == "pretraining":
        return marker.get("stage") == "fit" and (ckpt / "pretrain.ckpt").exists() and not (ckpt / "pretrained.pt").exists()
    if stage == "clustering":
        return marker.get("stage") == "fit" and (ckpt / "dec.ckpt").exists()
    return marker.get("stage") == stage


def tracker_status(log_dir: Path, run_dir: Path) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{log_dir / 'mlflow.db'}")
    exp = client.get_experiment_by_name("reliability")
    runs = client.search_runs([exp.experiment_id], f"tags.`seglab.run_dir` = '{run_dir}'") if exp else []
    return runs[0].info.status if runs else "(no run)"


def run_dir_state(run_dir: Path) -> dict:
    from seglab import rundir

    marker = rundir.read_marker(run_dir) or {}
    ckpt = run_dir / "checkpoints"
    return {"marker_status": marker.get("status"), "status_now": rundir.status_of(run_dir),
            "stage": marker.get("stage"), "metrics_json": (run_dir / "metrics.json").exists(),
            "checkpoints": sorted(p.name for p in ckpt.iterdir()) if ckpt.is_dir() else []}


def wait_child(proc: subprocess.Popen) -> tuple[int, float]:
    """Exit code (negative: killed by that signal) and the child's CPU seconds."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def env() -> dict:
    return {**os.environ, "SEGLAB_PROGRESS": "off", "PYTHONUNBUFFERED": "1"}


def interrupt_once(log_dir: Path, run_dir: Path, stage: str, sig: str) -> dict:
    t0 = time.perf_counter()
    err = open(run_dir.parent / f"{run_dir.name}.err", "w")
    proc = subprocess.Popen([sys.executable, "train.py", f"log_dir={log_dir}", f"hydra.run.dir={run_dir}", *ARGS],
                            cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.time() + 900
    while not in_stage(run_dir, stage):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            return {"landed": False, "why": "the run ended or timed out before the stage"}
        time.sleep(0.01)
    proc.send_signal(getattr(signal, sig))
    code, cpu = wait_child(proc)
    err.close()
    state = run_dir_state(run_dir)
    landed = state["stage"] == {"pretraining": "fit", "clustering": "fit"}.get(stage, stage)
    if stage == "pretraining":  # pretraining had not ended when the signal came
        landed = landed and "pretrained.pt" not in state["checkpoints"]
    if stage == "clustering":
        landed = landed and "dec.ckpt" in state["checkpoints"]
    lines = (run_dir.parent / f"{run_dir.name}.err").read_text().strip().splitlines()
    return {"landed": landed, "exit_code": code, "run_dir_path": str(run_dir), "message": next((ln for ln in reversed(lines) if ln.startswith("seglab")), ""),
            "tracker_after_exit": tracker_status(log_dir, run_dir), "run_dir": state,
            "wall_s": time.perf_counter() - t0, "cpu_s": cpu, "load1": load_average()[0]}


def resume(log_dir: Path, run_dir: Path, reference: pd.DataFrame) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "train.py", f"resume={run_dir}"], cwd=ROOT, env=env(),
                          capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    same = None
    if proc.returncode == 0:
        same = bool(pd.read_parquet(run_dir / "segments.parquet").equals(reference))
    return {"exit_code": proc.returncode, "tracker_after": tracker_status(log_dir, run_dir),
            "run_dir_after": run_dir_state(run_dir)["marker_status"], "same_segments": same,
            "marked_killed_at_start": "was left RUNNING" in proc.stdout + proc.stderr,
            "wall_s": time.perf_counter() - t0,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


EXPECTED = {"SIGINT": (130, "KILLED", "interrupted"), "SIGTERM": (143, "KILLED", "interrupted"),
            "SIGKILL": (-9, "RUNNING", "running")}


def problems(sig: str, r: dict) -> list[str]:
    """What is wrong with one cell (empty when everything is as it must be)."""
    i, s = r["interrupt"], r["resume"]
    code, tracker, marker = EXPECTED[sig]
    out = []
    if i["exit_code"] != code:
        out.append(f"exit {i['exit_code']}")
    if i["tracker_after_exit"] != tracker:
        out.append(f"tracker {i['tracker_after_exit']}")
    if i["run_dir"]["marker_status"] != marker or (sig == "SIGKILL" and i["run_dir"]["status_now"] != "killed"):
        out.append(f"run.json {i['run_dir']['marker_status']}")
    if sig != "SIGKILL" and not i["message"].startswith(f"seglab: interrupted ({sig})"):
        out.append("no message")
    if sig == "SIGKILL" and not s["marked_killed_at_start"]:
        out.append("not marked KILLED at the next start")
    if i["run_dir"]["metrics_json"]:
        out.append("metrics.json exists")
    if (s["exit_code"], s["tracker_after"], s["same_segments"]) != (0, "FINISHED", True):
        out.append("resume")
    return out


def table(records: list[dict]) -> str:
    by_cell = {(r["key"]["stage"], r["key"]["signal"]): r["result"] for r in records}
    head = ("| stage | signal | exit | message | tracker after exit | after next start | run.json | metrics.json "
            "| resume points | resume: exit, tracker | same segments | correct |")
    rows = [head, "|" + "---|" * 12]
    for stage in STAGES:
        for sig in SIGNALS:
            r = by_cell.get((stage, sig))
            if r is None:
                rows.append(f"| {stage} | {sig} | not measured |" + " |" * 9)
                continue
            i, s = r["interrupt"], r["resume"]
            wrong = problems(sig, r)
            message = re.sub(r"/\S+/[a-z]+_SIG[A-Z]+_\d+", "RUN_DIR", i["message"])
            rd = i["run_dir"]
            status = rd["marker_status"] + (f" (reads {rd['status_now']})" if rd["status_now"] != rd["marker_status"] else "")
            rows.append(f"| {stage} | {sig} | {i['exit_code']} | {message or '–'} | {i['tracker_after_exit']} | "
                        f"{'KILLED' if s['marked_killed_at_start'] else i['tracker_after_exit']} | {status}, stage "
                        f"{rd['stage']} | {'yes' if rd['metrics_json'] else 'no'} | {', '.join(rd['checkpoints']) or '–'} | "
                        f"{s['exit_code']}, {s['tracker_after']} | {s['same_segments']} | "
                        f"{'yes' if not wrong else 'NO: ' + ', '.join(wrong)} |")
    n_ok = sum(1 for (st, sg), r in by_cell.items() if not problems(sg, r))
    rows.append("")
    rows.append(f"{n_ok} of {len(STAGES) * len(SIGNALS)} cells correct ({len(by_cell)} measured).")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--signals", nargs="+", default=list(SIGNALS), choices=SIGNALS)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--force", action="store_true", help="redo cells already recorded at this commit")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "reliability.md")
    parser.add_argument("--table-only", action="store_true", help="rewrite the table from the raw records")
    args = parser.parse_args(argv)
    records = RawRecords(args.out.with_name("reliability_runs.jsonl"))
    if not args.table_only and measure(args, records):
        return 1
    write_table(args.out, records)
    return 0


def measure(args: argparse.Namespace, records: RawRecords) -> int:
    """Measure the cells not recorded yet; 1 when the uninterrupted reference run failed."""
    work = Path(tempfile.mkdtemp(prefix="seglab-reliability-"))
    log_dir = work / "logs"
    ref = subprocess.run([sys.executable, "train.py", f"log_dir={log_dir}", f"hydra.run.dir={work / 'ref'}", *ARGS],
                         cwd=ROOT, env=env(), capture_output=True, text=True)
    if ref.returncode != 0:
        print(ref.stderr[-3000:], file=sys.stderr)
        return 1
    reference = pd.read_parquet(work / "ref" / "segments.parquet")
    for stage in args.stages:
        for sig in args.signals:
            key = {"stage": stage, "signal": sig, "args": ARGS}
            if records.done(key) and not args.force:
                continue
            for attempt in range(1, args.tries + 1):
                run_dir = work / f"{stage}_{sig}_{attempt}"
                hit = interrupt_once(log_dir, run_dir, stage, sig)
                if hit["landed"]:
                    break
                print(f"{stage}/{sig}: try {attempt} landed elsewhere ({hit.get('run_dir', hit)})", flush=True)
            if not hit["landed"]:
                print(f"{stage}/{sig}: never landed in the stage; not recorded", flush=True)
                continue
            result = {"interrupt": hit, "resume": resume(log_dir, run_dir, reference), "attempts": attempt}
            records.add(key, result)
            print(f"{stage}/{sig}: exit {hit['exit_code']}, tracker {hit['tracker_after_exit']}, "
                  f"resume same segments {result['resume']['same_segments']}", flush=True)
    return 0


def write_table(out: Path, records: RawRecords) -> None:
    done = [r for r in records.latest() if r["key"].get("args") == ARGS]
    section = provenance_header(
        "Interruptions: tracker status and run dir after each signal at each stage",
        extra=["Run: `python train.py " + " ".join(ARGS) + "` (a DEC on 10,000 synthetic customers), interrupted",
               "once it was in the stage; then `python train.py resume=RUN_DIR`. Raw records: "
               "`experiments/reliability_runs.jsonl` (exit codes, messages, wall and CPU seconds, load).  ",
               "Cells measured by `python scripts/bench_reliability.py` at commit " + ", ".join(sorted({f"`{r['commit']}`" for r in done})) + "."]
    ).replace("# Interruptions", "## Interruptions", 1)
    section += "\n" + table(done) + "\n\n" + LEGEND
    write_section(out, "interruptions", section, "Reliability")
    print(f"wrote {out}")


LEGEND = """\
Exit codes: 130 = 128 + SIGINT, 143 = 128 + SIGTERM (the run ends itself after marking its status);
-9 = killed by SIGKILL (the process cannot react). "After next start": the status once another
run starts in the same tracker experiment, here the `resume=` run, which marks runs of dead
processes KILLED before it continues its own. `run.json` is the run dir's own record (`reads
killed`: it says running but its process is gone). Resume points: `pretrain.ckpt` (the last
pretraining epoch), `pretrained.pt` (pretraining done), `dec.ckpt` (the last clustering-phase
epoch); interrupted runs keep them, finished runs delete them. "Same segments": the resumed
run's `segments.parquet` equals the uninterrupted run's (labels and probabilities, same seed, CPU).
"""


if __name__ == "__main__":
    sys.exit(main())
