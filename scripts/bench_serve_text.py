"""Start-up and first request of ``seglab serve`` for a run with review text -> experiments/serve_text.md.

    python scripts/bench_serve_text.py                          # this checkout's code
    python scripts/bench_serve_text.py --code before=/tmp/old/src --code after=src

Trains one default run (DEC, text=minilm with its default head, ``--train-n`` customers) once,
then for each code version (a ``src`` folder put first on ``PYTHONPATH``) and each text-cache
state it starts ``seglab serve`` on that run and measures, from one client on one connection:
seconds from process start to the first ``GET /health`` answered, the latency of the first
``POST /assign`` of one customer's raw events with reviews, and the median of the next
``--requests`` such requests (other customers; every text is new to the cache). Cache states: ``warm`` (the
text cache the training run left: merged adapter, int8 conversion, vectors) and ``cold`` (that
cache deleted first, as on a machine the run was copied to). Each case is repeated ``--repeats``
times; wall times need a quiet machine (the load is in every record).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import ROOT, RawRecords, load_average, provenance_header, run_timed

RAW = ROOT / "experiments" / "serve_text_runs.jsonl"
TABLE = ROOT / "experiments" / "serve_text.md"


def train(work: Path, n: int) -> Path:
    run_dir = work / f"dec_text_{n}"
    if not (run_dir / "metrics.json").is_file():
        done = run_timed([sys.executable, "train.py", "model=dec", f"data.n_customers={n}", "logger.mlflow=false",
                          "explain.enabled=false", f"hydra.run.dir={run_dir}", f"log_dir={work}"])
        if done["returncode"]:
            raise SystemExit(f"training failed: {done['stderr'][-2000:]}")
    return run_dir


def bodies(run_dir: Path, k: int) -> list[dict]:
    """One body per customer with reviews: their raw events and reviews."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    data = instantiate(OmegaConf.load(run_dir / "config.yaml").data, _convert_="all").load()
    out = []
    for cid, rv in data.reviews.groupby("customer_id"):
        tx = data.transactions[data.transactions["customer_id"] == cid]
        out.append({"customer_id": str(cid),
                    "events": [{"timestamp": str(e.timestamp), "amount": float(e.amount), "quantity": float(e.quantity),
                                "category": str(e.category)} for e in tx.itertuples()],
                    "reviews": [{"text": str(r.text), "timestamp": str(r.timestamp)} for r in rv.itertuples()]})
        if len(out) == k:
            break
    return out


def measure(run_dir: Path, src: Path, reqs: list[dict]) -> dict:
    import httpx

    from bench_serve import free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    t0, load0 = time.perf_counter(), load_average()[0]
    server = subprocess.Popen([sys.executable, "-m", "seglab.cli", "serve", "--run", str(run_dir), "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    if server.poll() is not None:
                        raise SystemExit(f"seglab serve exited with {server.returncode}") from None
                    time.sleep(0.05)
            ready = time.perf_counter() - t0
            lat = []
            for body in reqs:
                t = time.perf_counter()
                r = client.post("/assign", json=body)
                lat.append(time.perf_counter() - t)
                if r.status_code != 200:
                    raise SystemExit(r.text)
        return {"ready_s": ready, "first_ms": 1000 * lat[0], "next_median_ms": 1000 * statistics.median(lat[1:]),
                "load1_before": load0, "load1_after": load_average()[0]}
    finally:
        server.terminate()
        server.wait(timeout=30)


def table(records: RawRecords) -> str:
    rows = ["| code | text cache | repeat | ready (s from start) | first request with reviews (ms) | next requests, "
            "median (ms) | load before / after | commit |", "|---|---|---|---|---|---|---|---|"]
    for rec in sorted(records.latest(), key=lambda r: (r["key"]["code"], r["key"]["cache"], r["key"]["repeat"])):
        k, r = rec["key"], rec["result"]
        rows.append(f"| {k['code']} | {k['cache']} | {k['repeat']} | {r['ready_s']:.1f} | {r['first_ms']:.0f} | "
                    f"{r['next_median_ms']:.0f} | {r['load1_before']:.1f} / {r['load1_after']:.1f} | `{rec['commit']}` |")
    return provenance_header("seglab serve with review text: start-up and the first request") + "\n" + "\n".join(rows) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--code", nargs="*", default=[f"current={ROOT / 'src'}"], help="label=path/to/src ...")
    p.add_argument("--train-n", type=int, default=2000)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--work", default=str(ROOT / "logs" / "bench_serve_text"))
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    run_dir = train(work, args.train_n)
    reqs = bodies(run_dir, args.requests + 1)
    cache = Path(_text_cache(run_dir))
    records = RawRecords(RAW)
    for repeat in range(args.repeats):
        for label, src in (c.split("=", 1) for c in args.code):
            for state in ("cold", "warm"):
                key = {"code": label, "cache": state, "repeat": repeat}
                if records.done(key):
                    continue
                if state == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                tag = f" ({label}, {state}, {repeat})"  # texts no cache has seen: every review is encoded
                fresh = [{**b, "reviews": [{**r, "text": r["text"] + tag} for r in b["reviews"]]} for b in reqs]
                records.add(key, measure(run_dir, Path(src).resolve(), fresh))
                print(key, records.find(key)["result"], flush=True)
    TABLE.write_text(table(records))
    print(f"wrote {TABLE}")


def _text_cache(run_dir: Path) -> str:
    from omegaconf import OmegaConf

    return str(OmegaConf.load(run_dir / "config.yaml").text.cache_dir)


if __name__ == "__main__":
    main()
