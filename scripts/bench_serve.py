"""Serving benchmark: batch assignment, CLI and HTTP latency of a tabular DEC run -> experiments/serve.md.

1. **train**: ``python train.py model=dec text=none data.n_customers=--train-n`` once (the run dir
   is kept in ``--work``; assignment speed does not depend on how many customers trained it);
2. **batch, in process**: the run's pipeline (``seglab.load_run``) on a feature table in memory of
   N customers (``--sizes``; the run's own feature rows repeated under new ids), timed apart:
   preprocessing (``Preprocessor.transform``), the encoder (``model.transform``: the latent code),
   the assignment (soft assignment, labels, distances) and the whole ``pipeline.assign``; feature
   building from raw transactions is timed on the run's own customers (``pipeline.features``);
3. **CLI**: ``seglab assign`` on a one-customer file (start-up: imports, bundle load) and on the
   N-customer Parquet file (start-up + read + assign + write), as child processes;
4. **HTTP**: ``seglab serve`` pinned to one core (``taskset``), a client process pinned to another
   with 16 concurrent connections: single-customer ``POST /assign`` with feature rows and with
   raw events (p50/p99 latency), and 64-customer batches (customers/s).

Every measurement records wall and CPU seconds and the load average (raw records in
``experiments/serve_runs.jsonl``; an interrupted run resumes, ``--table-only`` rewrites the table).
On a shared, loaded machine wall times are inflated: re-run at a quiet moment for timing.

    python scripts/bench_serve.py --sizes 1e5 1e6
    python scripts/bench_serve.py --table-only
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchlib import ROOT, RawRecords, load_average, provenance_header, run_timed

RAW = ROOT / "experiments" / "serve_runs.jsonl"
TABLE = ROOT / "experiments" / "serve.md"


def timed(fn, *args):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "load1": load_average()[0]}


def train(work: Path, n: int) -> Path:
    run_dir = work / f"dec_tabular_{n}"
    if (run_dir / "metrics.json").is_file():
        return run_dir
    cmd = [sys.executable, "train.py", "model=dec", "text=none", f"data.n_customers={n}", "logger.mlflow=false",
           "explain.enabled=false", "num_threads=1", f"hydra.run.dir={run_dir}", f"log_dir={work}"]
    done = run_timed(cmd)
    if done["returncode"]:
        raise SystemExit(f"training failed: {done['stderr'][-2000:]}")
    return run_dir


def training_data(run_dir: Path):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    return instantiate(OmegaConf.load(run_dir / "config.yaml").data, _convert_="all").load()


def feature_table(base, n: int):
    """``n`` customers: the run's feature rows repeated under new ids."""
    import pandas as pd

    reps = -(-n // len(base))
    table = pd.concat([base] * reps, ignore_index=True).iloc[:n]
    table.index = pd.Index([f"c{i}" for i in range(n)], name="customer_id")
    return table


def bench_batch(records: RawRecords, pipe, data, sizes: list[int], threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    key = {"what": "features_from_transactions", "n": data.n_customers}
    if not records.done(key):
        _, t = timed(pipe.features, data)
        records.add(key, {**t, "customers_per_s": data.n_customers / t["wall_s"],
                          "n_transactions": len(data.transactions)})
    base = pipe.features(data)
    for n in sizes:
        key = {"what": "batch_in_process", "n": n, "threads": threads}
        if records.done(key):
            continue
        table = feature_table(base, n)
        X, t_pre = timed(pipe.preprocessor_.transform, table)
        Z, t_enc = timed(pipe.model_.transform, X)
        _, t_asg = timed(pipe.assign_matrix, X, table.index)  # encoder + assignment + distances
        t_asg = {k: t_asg[k] - t_enc[k] if k != "load1" else t_asg[k] for k in t_asg}  # minus the encoder
        out, t_all = timed(pipe.assign, table)
        records.add(key, {"preprocess": t_pre, "encoder": t_enc, "assignment": t_asg, "total": t_all,
                          "customers_per_s": n / t_all["wall_s"], "n_segments": int(out["segment"].nunique())})
        print(f"batch n={n}: {n / t_all['wall_s']:,.0f} customers/s", flush=True)


def bench_cli(records: RawRecords, run_dir: Path, pipe, data, work: Path, sizes: list[int]) -> None:
    base = pipe.features(data)
    one = work / "one.parquet"
    feature_table(base, 1).reset_index().to_parquet(one, index=False)
    for n in [1, *sizes]:
        key = {"what": "cli_assign", "n": n}
        if records.done(key):
            continue
        path = one if n == 1 else work / f"features_{n}.parquet"
        if not path.is_file():
            feature_table(base, n).reset_index().to_parquet(path, index=False)
        done = run_timed([sys.executable, "-m", "seglab.cli", "assign", "--run", str(run_dir), "--input", str(path),
                          "--output", str(work / f"out_{n}.parquet")],
                         env={**os.environ, "OMP_NUM_THREADS": "2", "SEGLAB_PROGRESS": "off"})
        if done["returncode"]:
            raise SystemExit(done["stderr"][-2000:])
        records.add(key, {k: done[k] for k in ("wall_s", "cpu_s", "load1_before")})
        print(f"cli n={n}: {done['wall_s']:.1f} s", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_http(records: RawRecords, run_dir: Path, pipe, data, work: Path, requests: int,
               client_kind: str = "raw", repeat: int = 0) -> None:
    import httpx

    cases = [("features", 1), ("events", 1), ("features", 64)]
    again = {"repeat": repeat} if repeat else {}  # --repeat N: another measurement at the same commit
    if all(records.done({"what": "http", "body": b, "batch": k, "client": client_kind, **again}) for b, k in cases):
        return
    bodies = work / "http_bodies.json"
    base = pipe.features(data)
    ids = list(base.index[:256])
    feats = [{"customer_id": str(c), "features": {k: (None if v != v else float(v)) for k, v in base.loc[c].items()}}
             for c in ids]
    tx = data.transactions[data.transactions["customer_id"].isin(ids)]
    events = [{"customer_id": str(c), "events": [{"timestamp": str(e.timestamp), "amount": float(e.amount),
                                                    "quantity": float(e.quantity), "category": str(e.category)}
                                                   for e in g.itertuples()]} for c, g in tx.groupby("customer_id")]
    bodies.write_text(json.dumps({"features": feats, "events": events}))
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-m", "seglab.cli", "serve", "--run", str(run_dir),
                               "--port", str(port)], cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        for body, batch in cases:
            key = {"what": "http", "body": body, "batch": batch, "client": client_kind, **again}
            if records.done(key):
                continue
            n = requests if batch == 1 else max(requests // 8, 50)
            cpu0, wait0 = server_cpu(server.pid), server_wait(server.pid)
            done = subprocess.run(["taskset", "-c", "1", sys.executable, __file__, "--client", url, "--bodies", str(bodies),
                                   "--body", body, "--batch", str(batch), "--requests", str(n),
                                   "--client-kind", client_kind],
                                  capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                raise SystemExit(done.stderr[-2000:])
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result.update(server_cpu_s=server_cpu(server.pid) - cpu0, load1=load_average()[0],
                          server_wait_s=server_wait(server.pid) - wait0)
            records.add(key, result)
            print(f"http {body} x{batch}: p50 {result['p50_ms']:.1f} ms p99 {result['p99_ms']:.1f} ms", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_wait(pid: int) -> float:
    """Seconds the server's main thread (its event loop) has spent runnable but waiting for a core
    (``/proc/PID/schedstat``): on a shared machine, the part of the latency that is other jobs."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def client(url: str, bodies: Path, body: str, batch: int, requests: int, concurrency: int = 16,
           kind: str = "raw", warmup: int = 10) -> None:
    """The load generator (its own process): ``concurrency`` keep-alive connections, latency per request.

    ``raw`` (default): ``concurrency`` connections opened before the clock starts (a keep-alive
    client holds its connection), each request pre-encoded as one HTTP/1.1 write on an asyncio
    stream with TCP_NODELAY, the answer read by its Content-Length -- under 0.1 ms of client CPU
    per request, so the client's own queueing stays out of the latency. Each connection first sends
    ``warmup`` requests before the clock starts: the first few requests on fresh loopback connections
    are slow on a loaded machine (a run's slowest, at growing intervals, gone on the same connections
    after a pause; spurious TCP retransmissions showed in ``ss -ti``); their p99 is recorded apart
    (``fresh_p99_ms``), the table's figures are of connections past their start, as a keep-alive
    client's are. ``httpx``: httpx.AsyncClient,
    ~2 ms of client CPU per request: with 16 connections on one core it saturates its core before
    the server does and its event loop's backlog is counted as latency (kept to compare)."""
    import asyncio
    import gc

    pool = json.loads(bodies.read_text())[body]
    payloads = []
    for i in range(min(len(pool), 256)):
        customers = [pool[(i * batch + j) % len(pool)] for j in range(batch)]
        payloads.append(json.dumps(customers[0] if batch == 1 else {"customers": customers}).encode())
    gc.collect()
    gc.freeze()  # the pool and imports: a full collection would pause the client mid-measurement

    async def run_raw(latencies: list[float], counter) -> None:
        from urllib.parse import urlsplit

        host, port = urlsplit(url).hostname, urlsplit(url).port
        framed = [b"POST /assign HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                  % (host.encode(), len(p), p) for p in payloads]

        async def connect():
            reader, writer = await asyncio.open_connection(host, port)
            writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return reader, writer

        async def exchange(reader, writer, request: bytes, into: list[float]) -> None:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            answer = await reader.readexactly(length)
            into.append(time.perf_counter() - t0)
            if head[9:12] != b"200":
                raise SystemExit(f"HTTP {head[9:12].decode()}: {answer[:500]!r}")

        async def warm(reader, writer, c: int) -> None:
            for k in range(warmup):
                await exchange(reader, writer, framed[(c * warmup + k) % len(framed)], fresh)

        async def worker(reader, writer) -> None:
            for i in counter:
                await exchange(reader, writer, framed[i % len(framed)], latencies)

        connections = await asyncio.gather(*(connect() for _ in range(concurrency)))
        t0 = time.perf_counter()
        await asyncio.gather(*(warm(*c, n) for n, c in enumerate(connections)))
        warm_wall.append(time.perf_counter() - t0)
        started.append((time.perf_counter(), time.process_time()))  # the clock starts on warm connections
        await asyncio.gather(*(worker(*c) for c in connections))
        for _, writer in connections:
            writer.close()

    async def run_httpx(latencies: list[float], counter) -> None:
        import httpx

        async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=concurrency)) as c:
            async def worker() -> None:
                for i in counter:
                    t0 = time.perf_counter()
                    r = await c.post("/assign", content=payloads[i % len(payloads)],
                                     headers={"content-type": "application/json"})
                    latencies.append(time.perf_counter() - t0)
                    r.raise_for_status()
            await asyncio.gather(*(worker() for _ in range(concurrency)))

    latencies: list[float] = []
    fresh: list[float] = []
    warm_wall: list[float] = []
    started = [(time.perf_counter(), time.process_time())]
    asyncio.run((run_raw if kind == "raw" else run_httpx)(latencies, iter(range(requests))))
    t0, c0 = started[-1]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ms = np.asarray(latencies) * 1000
    edges = [0, 1, 2, 5, 10, 15, 20, 30, 40, 50, 75, 100, 200, 500, 1000, 1e9]
    print(json.dumps({"requests": requests, "concurrency": concurrency, "client": kind,
                      "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
                      "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()), "wall_s": wall,
                      "client_cpu_s": cpu, "client_busy": cpu / wall,
                      "slowest": [[int(i), round(float(ms[i]), 1)] for i in np.argsort(ms)[::-1][:20]],
                      "histogram_ms": {f"{a:g}-{b:g}": int(n) for a, b, n in
                                       zip(edges[:-1], edges[1:], np.histogram(ms, edges)[0], strict=True) if n},
                      "requests_per_s": requests / wall, "customers_per_s": requests * batch / wall,
                      "warmup_requests": len(fresh), "warmup_wall_s": sum(warm_wall),
                      "fresh_p99_ms": float(np.percentile(fresh, 99) * 1000) if fresh else None}))


def table(records: RawRecords) -> str:
    lines = [provenance_header("Serving a run: batch, CLI and HTTP assignment (tabular DEC)", extra=[
        "The machine was shared with other engineers' jobs while this ran: wall times are inflated "
        "(CPU seconds and the load average at each measurement are beside them); re-run at a quiet moment "
        "for timing (`python scripts/bench_serve.py`, resumable).  ",
        "Measured by `python scripts/bench_serve.py --sizes 1e5 1e6` (batch, CLI) and "
        "`python scripts/bench_serve.py --stages http --requests 1000` (HTTP); raw records with their commit and "
        "load in `experiments/serve_runs.jsonl`; the DEC run: `train.py model=dec text=none data.n_customers=20000`.  "])]
    rows = sorted(records.latest(what="batch_in_process"), key=lambda r: r["key"]["n"])
    if rows:
        lines += ["## Batch assignment in process (feature table in memory -> labels)", "",
                  "| customers | threads | preprocess s (cpu) | encoder s (cpu) | assignment s (cpu) | total s (cpu) | customers/s | load |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            x = r["result"]
            cell = lambda t: f"{t['wall_s']:.3f} ({t['cpu_s']:.3f})"  # noqa: E731
            lines.append(f"| {r['key']['n']:,} | {r['key']['threads']} | {cell(x['preprocess'])} | {cell(x['encoder'])} | "
                         f"{cell(x['assignment'])} | {cell(x['total'])} | {x['customers_per_s']:,.0f} | "
                         f"{x['total']['load1']:.1f} |")
        lines.append("")
    for r in records.latest(what="features_from_transactions"):
        x = r["result"]
        lines += [f"Feature building from raw transactions (`pipeline.features`, {r['key']['n']:,} customers, "
                  f"{x['n_transactions']:,} transactions): {x['wall_s']:.2f} s wall, {x['cpu_s']:.2f} s CPU, "
                  f"{x['customers_per_s']:,.0f} customers/s (load {x['load1']:.1f}).", ""]
    rows = sorted(records.latest(what="cli_assign"), key=lambda r: r["key"]["n"])
    if rows:
        lines += ["## `seglab assign` as a command (start-up, bundle load, read, assign, write)", "",
                  "| customers in the file | wall s | CPU s | load |", "|---:|---:|---:|---:|"]
        lines += [f"| {r['key']['n']:,} | {r['result']['wall_s']:.2f} | {r['result']['cpu_s']:.2f} | "
                  f"{r['result']['load1_before']:.1f} |" for r in rows]
        lines += ["", "The 1-customer row is the command's own start-up (imports and bundle verification).", ""]
    rows = http_rows(records)
    if rows:
        lines += ["## HTTP `POST /assign` (server and client each pinned to one core, 16 concurrent connections)", "",
                  "Every commit measured is kept (oldest first). `client`: the load generator (`httpx`: "
                  "httpx.AsyncClient, the only one before 0477df8; `raw`: see below). The server's share of its core "
                  "is its CPU seconds over the run's wall seconds: below 100 % it waited for its core (other jobs) or "
                  "for the client.", "",
                  "| body | customers per request | client | requests | p50 ms | p99 ms | max ms | requests/s | "
                  "customers/s | server CPU ms/request | server's share of its core | server waiting for its core "
                  "ms/request | p99 ms of the first 10 requests per connection | client CPU ms/request | commit | "
                  "load |",
                  "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
        for r in rows:
            x = r["result"]
            client_ms = f"{1000 * x['client_cpu_s'] / x['requests']:.2f}" if "client_cpu_s" in x else "-"
            top = f"{x['max_ms']:.1f}" if "max_ms" in x else "-"
            answered = x["requests"] + x.get("warmup_requests", 0)  # the server's figures cover the warm-up too
            busy_wall = x["wall_s"] + x.get("warmup_wall_s", 0.0)
            wait = f"{1000 * x['server_wait_s'] / answered:.2f}" if "server_wait_s" in x else "-"
            fresh = f"{x['fresh_p99_ms']:.1f}" if x.get("fresh_p99_ms") is not None else "-"
            lines.append(f"| {r['key']['body']} | {r['key']['batch']} | {r['key'].get('client', 'httpx')} | "
                         f"{x['requests']:,} | {x['p50_ms']:.1f} | {x['p99_ms']:.1f} | {top} | "
                         f"{x['requests_per_s']:,.0f} | {x['customers_per_s']:,.0f} | "
                         f"{1000 * x['server_cpu_s'] / answered:.2f} | {x['server_cpu_s'] / busy_wall:.0%} | "
                         f"{wait} | {fresh} | {client_ms} | `{r['commit']}` | {x['load1']:.1f} |")
        lines += ["", TAIL, ""]
    profile = ROOT / "experiments" / "serve_profile.md"
    if profile.is_file():
        lines += ["## Where one single-customer request's server CPU goes", "", profile.read_text().strip(), ""]
    return "\n".join(lines)


TAIL = """With 16 requests in flight on one server core, p50 is about 16 x the server CPU per request when the
server has its core to itself. What made p99 10x p50 (diagnosed 2026-12-01 22:35-23:05 UTC, load 6-12; each raw
record holds its latency histogram and its 20 slowest requests):

1. **The load generator.** httpx.AsyncClient spent ~2 ms of client CPU per request, more than the server (0.7-1.1
   ms): with 16 connections on one core the client bounded the rate (the server used 12-52 % of its core in the
   `httpx` rows) and its own event-loop backlog was counted as latency. Same server, same load (6.3-6.7): httpx
   p50 67 ms, p99 641 ms, 122 requests/s; raw client p50 35 ms, p99 111 ms, 436 requests/s. The load generator is
   now a raw asyncio HTTP/1.1 client (connections opened before the clock, one write per request, < 0.1 ms of
   client CPU per request); `--client-kind httpx` keeps the old one.
2. **Lazy warm-up in the server.** The first feature request compiled the fast path and made the first calls into
   torch (~12 ms of CPU; 0.4 s for the first raw-events request) while the 16 requests in flight at the start
   waited: the 15 slowest of 1,000 requests were the first 15 (81-120 ms), and p99 of 1,000 is the 10th slowest.
   The server now compiles and sends one made-up customer through each path before it accepts connections
   (`seglab.serve.app.warm_up`).
3. **Server CPU per request.** Raw events took 32-49 ms (pandas feature building, the data source's checks); a few
   customers' events now have their features built without pandas (`seglab.pipeline.fast_events`, equal to the
   pipeline's within 1e-9), ~1 ms per request through HTTP. uvicorn with its C parser and event loop (httptools,
   uvloop: the serve extra) takes about a third off a feature-row request: 0.94 -> 0.57 ms of server CPU (means of
   7 alternating runs of 1,000-3,000 requests each with h11 + asyncio and with httptools + uvloop, load 6-12;
   single runs ranged 0.51-1.54 and 0.38-0.82 ms: CPU time, too, is inflated on a loaded machine).

Not causes: Nagle and delayed ACKs (asyncio and uvloop set TCP_NODELAY on the server's connections, checked; the
client sets it and sends a request in one write); the thread pool
(feature rows were already assigned in the event loop, fast-path events now are too); garbage collection (no full
collection in a 1,000-request run, but one over the ~0.55 M objects the server holds after start-up costs ~0.4 s of
CPU, so the server freezes them out of the collector's reach). What is left on a loaded machine is the pinned server
waiting for its core: at load 4.7 (`a8d1b6d` rows) the server's event loop spent 0.38 ms per feature-row request
runnable but waiting for its core (`/proc/PID/schedstat`) beside 0.41 ms of CPU, and got 52 % of the core; at load
9-12, 37-40 %. On a quiet machine (load 0.5-0.9, five runs at `3fdf61a`-`55dd0cc`, the server with ~100 % of its
core) single-customer p99 was 8.7-16.5 ms with feature rows and 16.4-20.1 ms with raw events (median 16.8).

Fresh connections: after the warm-up fix the slowest requests of a run were still its first 20-100, at growing
intervals with growing latencies (54 -> 206 ms in one 64-customer run); on the same connections after a 2 s pause the
first requests were as fast as the rest, so it is the connections' start, not the server idling, and `ss -ti` on the
server's connections showed spurious retransmissions (`dsack_dups`, rto 204 ms). Not diagnosed further. From the
rows with the column "p99 ms of the first 10 requests per connection" on, the raw client sends 10 requests on each
connection before the clock starts (their p99 is that column: 180-186 ms at load 7.4), as a keep-alive client's
connections are past their start; the figures before it include them. Where one request's server CPU goes:
`python scripts/profile_serve_request.py` (table below)."""


def http_rows(records: RawRecords) -> list[dict]:
    """The newest HTTP record per (case, commit), in the order the commits were first measured."""
    newest: dict[tuple, dict] = {}
    for rec in records.records:
        if rec["key"].get("what") == "http":
            newest[(rec["commit"], rec["key"]["body"], rec["key"]["batch"], rec["key"].get("client"))] = rec
    order = list(dict.fromkeys(rec["commit"] for rec in newest.values()))
    return sorted(newest.values(), key=lambda r: (order.index(r["commit"]), r["key"].get("client", "httpx"),
                                                  r["key"]["batch"], r["key"]["body"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="*", type=float, default=[1e5, 1e6])
    p.add_argument("--train-n", type=int, default=20000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--requests", type=int, default=2000, help="single-customer requests per HTTP case")
    p.add_argument("--work", default=str(ROOT / "logs" / "bench_serve"))
    p.add_argument("--table-only", action="store_true")
    p.add_argument("--stages", nargs="*", default=["batch", "cli", "http"], help="which measurements to run")
    p.add_argument("--client")
    p.add_argument("--bodies")
    p.add_argument("--body")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeat", type=int, default=0, help="N > 0: measure HTTP again at this commit (repeat N)")
    p.add_argument("--client-kind", choices=["raw", "httpx"], default="raw", help="the load generator (see client)")
    p.add_argument("--warmup", type=int, default=10, help="raw client: requests per connection before the clock")
    args = p.parse_args()
    if args.client:
        client(args.client, Path(args.bodies), args.body, args.batch, args.requests, kind=args.client_kind,
               warmup=args.warmup)
        return
    records = RawRecords(RAW)
    if not args.table_only:
        from seglab import load_run

        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        run_dir = train(work, args.train_n)
        pipe, data = load_run(run_dir), training_data(run_dir)
        sizes = [int(s) for s in args.sizes]
        if "batch" in args.stages:
            bench_batch(records, pipe, data, sizes, args.threads)
        if "cli" in args.stages:
            bench_cli(records, run_dir, pipe, data, work, sizes)
        if "http" in args.stages:
            bench_http(records, run_dir, pipe, data, work, args.requests, args.client_kind, args.repeat)
    TABLE.write_text(table(records))
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
