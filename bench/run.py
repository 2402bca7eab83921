"""The benchmark harness (issue #6, item 2): every figure and its baseline in the same run.

``python -m bench.run --scale 0.001 --output docs/BENCHMARKS.md`` (``make bench``, ``SCALE=`` for more):

1. generates the synthetic province (``bench.generate``) at ``--scale`` in a fresh PostgreSQL schema,
   a 100 times shorter history in the same cities and counties in another (P4's twin: the province's
   report then asks about as many areas at both scales), and the province of ``--scale``/100 in its
   own, fewer regions in a third (a P4 reference row);
2. P3/P7: rebuilds every projection (``runner.rebuild(restart=True)``) in a subprocess that reports
   its peak RSS (VmHWM), beside a raw sequential read of the events table (the ceiling);
3. P4: times ``CoverageView().report`` (from the pre-aggregated counts, and from the rows as its
   baseline) and ``half_year_report`` (what ``/reports/half-year`` runs; and with its lists of
   organisations as its baseline) at both scales, each query on the two stores in turn;
4. P5 and P1: serves the API (``dangjian serve``, ``DANGJIAN_PROJECTIONS=external``) on 127.0.0.1
   and loads it from a second process: 32 connections reading ``GET /coverage``, then 16 clients
   registering entities; P1's baseline (eventsourcing saving one single-event aggregate per
   transaction in a loop) and ceiling (raw single-row INSERT commits) run right after;
5. P2: registering entities through the ``Ledger`` commands in a loop, beside ``Ledger.save`` of
   1,000 aggregates per transaction (the baseline) and a raw COPY into the same table (the ceiling);
   then the registry stream through a Tansu broker on loopback, one ingester process against two
   (``bench.ingest``);
6. writes the table into ``--output``: the block between ``<!-- bench:scale=S -->`` markers is
   replaced (or appended), so the hand-written text around it stays.

Every schema is dropped afterwards. Every load loop stops at ``--seconds`` or its count, whichever
comes first. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REPLAY_TIMEOUT = 4 * 3600
"""Seconds a rebuild may take (scale 1.0: 51 minutes in two processes, 3,081 s on 2026-12-03)."""
DEFAULT_URL = os.environ.get("DANGJIAN_TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test")
PROVINCE = "330000"
LOAD_REGION = "330199"  # no generated county has this code: registrations never collide with the data
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FIGURES = ("P1", "P2", "P3", "P4", "P5", "P6", "P7")


# --- small helpers -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def vmhwm_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def credit_code(prefix: str, serial: int) -> str:
    from domain.values import credit_code_check_char

    digits = []
    for _ in range(9):
        serial, r = divmod(serial, len(_ALPHABET))
        digits.append(_ALPHABET[r])
    head = prefix + "".join(reversed(digits))
    return head + credit_code_check_char(head)


def settings_for(url: str, schema: str) -> Any:
    from infra.settings import Settings

    return Settings(database_url=url, database_schema=schema, demo_when_empty=False, projections="external")


@contextmanager
def fresh_schema(url: str, label: str) -> Iterator[str]:
    """A new schema (and its rebuild area), dropped afterwards."""
    schema = f"bench_{label}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}_rebuild" CASCADE')


def run_json(args: list[str], env: dict[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python -m bench.run <args>`` in a second process; its last stdout line is JSON."""
    done = subprocess.run(
        [PYTHON, "-m", "bench.run", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.run {args[0]} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> dict[str, str]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo.read_text()).group(1))  # type: ignore[union-attr]
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "nproc": str(os.cpu_count()),
        "memory": memory,
        "cpu": model,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


# --- the second processes ------------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> None:
    """Rebuild every projection (or catch up from zero, as a projection worker) and report."""
    from infra.store import build

    container = build(settings_for(args.database_url, args.schema))
    try:
        if args.empty_live:
            empty_live(container.runner)
        events = container.runner.head()
        started = time.perf_counter()
        if args.kind == "rebuild":
            applied = container.runner.rebuild(restart=True, jobs=args.jobs)
        else:
            applied = container.runner.catch_up()
        seconds = time.perf_counter() - started
    finally:
        container.close()
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest replay process
    main_rss = vmhwm_mb()
    report = {"events": events, "applied": applied, "seconds": seconds, "jobs": args.jobs}
    print(json.dumps({**report, "rss_mb": max(main_rss, children), "main_rss_mb": main_rss}))


def cmd_queries(args: argparse.Namespace) -> None:
    """P4 on stores already generated and rebuilt (``queries``), the scale's store first and its twin
    second: how scale 1.0's P4 is measured without the whole harness (docs/BENCHMARKS.md, "How to
    rerun"). Each store is vacuumed and analysed first unless ``--no-analyze``; prints one JSON line."""
    schemas = [s for s in args.schemas.split(",") if s]
    if args.analyze:
        for schema in schemas:
            analyze(args.database_url, schema)
    results = queries(args.database_url, schemas, args.seconds, args.max_requests)
    print(json.dumps({"schemas": schemas, "results": results}))


def empty_live(runner: Any) -> None:
    """Every live read table emptied and every checkpoint set back to 0, in one transaction: the state
    of a store whose projections never ran, so that each rebuild measured side by side copies all its
    rows into the live tables at its switch (one finding them already full copies nothing)."""
    from sqlalchemy import text, update

    from projections.tables import projection_positions

    tables = [t for projection in runner.projections.values() for t in projection.tables]
    with runner.engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables)))
        conn.execute(update(projection_positions).values(position=0))


def cmd_load(args: argparse.Namespace) -> None:
    """The load client (``bench.http_load``): ``--clients`` keep-alive connections, bounded by count
    and time; prints the summary as JSON."""
    from bench import http_load

    token = os.environ.get("BENCH_TOKEN")  # an admin token when the API checks tokens (issue #7)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    def register(index: int, i: int) -> tuple[str, str, bytes | None]:
        serial = args.serial_base + index * 1_000_000 + i
        body = {
            "effective_on": "2026-01-05",
            "credit_code": credit_code("92" + LOAD_REGION, serial),
            "name": f"压测个体户{serial}",
            "kind": "individual_business",
            "industry": "日用百货",
            "region_code": LOAD_REGION,
            "station": "压测市场监管所",
        }
        return "POST", "/market-entities", http_load.dumps(body)

    paths = args.path or ["/coverage"]

    def read(index: int, i: int) -> tuple[str, str, bytes | None]:
        return "GET", paths[(index * 7 + i) % len(paths)], None

    out, seconds = http_load.run(
        args.url,
        args.clients,
        args.seconds,
        args.max_requests,
        headers,
        register if args.kind == "register" else read,
        201 if args.kind == "register" else 200,
    )
    ok = len(out.latencies) - out.errors
    summary = {
        "requests": len(out.latencies),
        "ok": ok,
        "errors": out.errors,
        "statuses": out.statuses,
        "seconds": seconds,
        "per_second": ok / seconds if seconds else 0.0,
        "p50_ms": percentile(out.latencies, 50) * 1000,
        "p99_ms": percentile(out.latencies, 99) * 1000,
        "client_rss_mb": vmhwm_mb(),
    }
    print(json.dumps(summary))


# --- the measurements ----------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    what: str
    target: str
    measured: str
    baseline: str = "—"
    ratio: str = "—"
    result: str = "—"


@dataclass
class Results:
    scale: float
    small_scale: float
    rows: list[Row] = field(default_factory=list)
    references: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def timed_loop(fn: Callable[[int], int], seconds: float, max_count: int) -> tuple[int, float]:
    """Call ``fn(i)`` (it returns how many units it did) until ``max_count`` units or ``seconds``."""
    done, i = 0, 0
    started = time.perf_counter()
    deadline = started + seconds
    while done < max_count and time.perf_counter() < deadline:
        done += fn(i)
        i += 1
    return done, time.perf_counter() - started


def generate_into(
    url: str, schema: str, scale: float, seed: int, regions_of: float | None = None
) -> dict[str, Any]:
    from bench.generate import BulkLedger, default_mode, generate
    from infra.store import build, ledger_env

    settings = settings_for(url, schema)
    container = build(settings)
    ledger = (
        BulkLedger(ledger_env(settings), vault=container.ledger.vault)
        if default_mode(scale) == "bulk"
        else container.ledger
    )
    try:
        summary = generate(ledger, scale, seed, regions_of=regions_of)
    finally:
        if ledger is not container.ledger:
            ledger.close()
        container.close()
    return {
        "mode": summary.mode,
        "entities": summary.entities,
        "organizations": summary.organizations,
        "members": summary.members,
        "commands": summary.commands,
        "events": summary.events,
        "seconds": summary.seconds,
        "regions": summary.regions,
    }


def raw_read(url: str, schema: str) -> tuple[int, float]:
    """The P3 ceiling: every row of the events table, in order, into Python."""
    rows = 0
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor(name="bench_read") as cursor:
        cursor.itersize = 1000
        cursor.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state "
            f'FROM "{schema}".ledger_events ORDER BY notification_id'
        )
        while batch := cursor.fetchmany(1000):
            rows += len(batch)
    return rows, time.perf_counter() - started


def read_and_decode(ledger: Any) -> tuple[int, float]:
    """What the runner does before any handler: select notifications in batches and decode each batch
    together (``decode_all``: the keys of its personal data read once)."""
    from projections.runner import decode_all

    position, count = 0, 0
    started = time.perf_counter()
    while True:
        batch = ledger.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False)
        if not batch:
            break
        decode_all(ledger.mapper, batch)
        count += len(batch)
        position = batch[-1].id
    return count, time.perf_counter() - started


def paired_p95(fns: Sequence[Callable[[], Any]], seconds: float, max_count: int) -> list[tuple[float, int]]:
    """The p95 (ms) and the number of runs of each of several queries timed in turn, after three warm-up
    rounds, one run of each per round, so that each is timed beside the others under the same conditions
    (the P4 figure and its twin: issue #6, "each figure measured side by side with its baseline in the same
    run")."""
    for _ in range(3):  # warm-up: plans, caches
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    deadline = time.perf_counter() + seconds * len(fns)
    while len(times[0]) < max_count and time.perf_counter() < deadline:
        for fn, kept in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            kept.append(time.perf_counter() - t0)
    return [(percentile(kept, 95) * 1000, len(kept)) for kept in times]


def queries(url: str, schemas: Sequence[str], seconds: float, max_count: int) -> list[dict[str, Any]]:
    """P4: the coverage report and the half-year report for the province, as of the cut-off, on each
    store of ``schemas`` (the scale's and its twin's), each query timed on the stores in turn
    (``paired_p95``), each store in its own REPEATABLE READ snapshot.

    Measured with the process's heap frozen as ``dangjian serve`` freezes its start-up heap
    (``infra.cli.settle_heap``, called here): a full collection then walks only what the queries make, not the
    harness's own objects (the generator ran in this process). The report is also timed before the
    freeze, the way P4 was measured up to round 9 (the "collector's share" row)."""
    from bench.generate import AS_OF
    from infra.cli import settle_heap
    from infra.store import build
    from projections.coverage import CoverageView
    from projections.report import half_year_report

    view, rows = CoverageView(), CoverageView(counts=False)  # rows: the same figures read from the rows
    with ExitStack() as stack:
        conns, knowns = [], []
        for schema in schemas:
            container = build(settings_for(url, schema))
            stack.callback(container.close)
            conn = stack.enter_context(container.engine.connect())
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            stack.enter_context(conn.begin())
            conns.append(conn)
            knowns.append(container.runner.head())
        pairs = list(zip(conns, knowns, strict=True))

        def each(query: Callable[[Any, int], Any]) -> list[tuple[float, int]]:
            return paired_p95([functools.partial(query, c, k) for c, k in pairs], seconds, max_count)

        def coverage(conn: Any, known: int, counted: bool = True) -> Any:
            return (view if counted else rows).report(conn, as_of=AS_OF, known=known, region=PROVINCE)

        def report(conn: Any, known: int, organizations: bool = False) -> Any:
            return half_year_report(conn, PROVINCE, AS_OF, known, organizations=organizations)

        operating = [coverage(c, k).total.operating for c, k in pairs]
        unfrozen = each(report)
        settle_heap()
        try:
            figures = {
                "coverage": each(coverage),
                "coverage_rows": each(functools.partial(coverage, counted=False)),
                # as_known_at an earlier moment (a report filed when half the events were recorded):
                # the counts hold what is believed now, so this one reads the rows whatever the view
                "earlier": each(lambda c, k: coverage(c, k // 2)),
                "report": each(report),
                # with a line per organisation: the report before round 8
                "report_listed": each(functools.partial(report, organizations=True)),
            }
        finally:
            gc.unfreeze()
    results = []
    for i, n in enumerate(operating):
        result: dict[str, Any] = {"operating": n, "report_unfrozen_p95_ms": unfrozen[i][0]}
        for key, measured in figures.items():
            result[f"{key}_p95_ms"], result[f"{key}_n"] = measured[i]
        results.append(result)
    return results


@contextmanager
def serving(url: str, schema: str, workers: int = 1, **settings: str) -> Iterator[str]:
    """``dangjian serve`` on 127.0.0.1 (PostgreSQL, external projections), stopped afterwards;
    ``settings`` are more ``DANGJIAN_`` settings (``answer_cache_size="0"``)."""
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "DANGJIAN_DATABASE_URL": url,
        "DANGJIAN_DATABASE_SCHEMA": schema,
        "DANGJIAN_PROJECTIONS": "external",
        "DANGJIAN_DEMO_WHEN_EMPTY": "false",
        **{f"DANGJIAN_{k.upper()}": v for k, v in settings.items()},
    }
    dangjian = str(Path(PYTHON).parent / "dangjian")
    process = subprocess.Popen(
        [dangjian, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError("dangjian serve exited during start-up")
            try:
                if httpx.get(f"{base}/health", timeout=1.0).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dangjian serve did not answer /health within 60 s")
            time.sleep(0.2)
        os.environ["BENCH_TOKEN"] = admin_token(url, schema)
        yield base
    finally:
        os.environ.pop("BENCH_TOKEN", None)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def admin_token(url: str, schema: str) -> str:
    """An admin token for the load clients (passed in the environment, not on a command line)."""
    from api import tokens
    from infra.store import build

    container = build(settings_for(url, schema))
    try:
        return tokens.issue(container.engine, "bench", "admin", "*")[1]
    finally:
        container.close()


def read_paths(url: str, schema: str) -> list[str]:
    """P5's questions: coverage of the province, each city and up to 8 counties, on five cut-off dates
    (R3), in turn: a dashboard's mix rather than one repeated request."""
    with psycopg.connect(url) as conn:
        codes = [
            row[0]
            for row in conn.execute(
                f'SELECT DISTINCT region_code FROM "{schema}".coverage_entities ORDER BY 1'
            ).fetchall()
        ]
    cities = sorted({c[:4] + "00" for c in codes})
    regions = [PROVINCE, *cities, *sorted(set(codes) - set(cities))[:8]]
    days = ["2024-06-30", "2024-12-31", "2025-06-30", "2025-12-31", "2026-06-30"]
    return [f"/coverage?region={r}&as_of={d}" for r in regions for d in days]


def analyze(url: str, schema: str) -> None:
    """Every table as autovacuum (on by default) leaves it in steady state: the planner's statistics,
    and the visibility map that lets a scan read a covering index alone (an index-only scan) instead
    of the table's pages. The tables were filled a moment ago, and plans made on empty-table estimates,
    or reads of pages not yet marked all-visible, are not what a running server measures. Up to round
    9 this was ``ANALYZE`` alone (docs/BENCHMARKS.md)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall()
        for (table,) in tables:  # VACUUM of a whole database would visit every other schema too
            conn.execute(f'VACUUM ANALYZE "{schema}"."{table}"')


def load(
    base: str, kind: str, clients: int, seconds: float, max_requests: int, **extra: Any
) -> dict[str, Any]:
    args = [
        "_load",
        "--url",
        base,
        "--kind",
        kind,
        "--clients",
        str(clients),
        "--seconds",
        str(seconds),
        "--max-requests",
        str(max_requests),
    ]
    for key, value in extra.items():
        for one in value if isinstance(value, list) else [value]:
            args += [f"--{key.replace('_', '-')}", str(one)]
    return run_json(args, timeout=seconds + 120)


def save_one_per_transaction(ledger: Any, seconds: float, max_count: int) -> tuple[int, float]:
    """P1 baseline: eventsourcing saves one single-event aggregate per transaction, in a loop."""
    from domain.envelope import CommandContext, EventMeta
    from domain.market_entity import MarketEntity

    ctx = CommandContext.new("bench")
    serial = 50_000_000

    def one(i: int) -> int:
        meta = EventMeta.build(ctx, date(2026, 1, 5), ledger.today())
        ledger.save(entity(MarketEntity, credit_code("92" + LOAD_REGION, serial + i), meta))
        return 1

    return timed_loop(one, seconds, max_count)


def entity(cls: Any, code: str, meta: Any) -> Any:
    from domain.values import EntityKind

    return cls.register(
        credit_code=code,
        name=f"基准个体户{code[-6:]}",
        kind=EntityKind.INDIVIDUAL_BUSINESS,
        industry="日用百货",
        region_code=LOAD_REGION,
        station="压测市场监管所",
        meta=meta,
    )


def raw_inserts(url: str, schema: str, clients: int, seconds: float, max_count: int) -> tuple[int, float]:
    """P1 ceiling: single-row INSERT commits with psycopg, ``clients`` connections at once."""
    table = f'"{schema}".bench_raw_insert'
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {table} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
            "topic text, state bytea, notification_id bigserial, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
    state = b'{"credit_code":"92330199000000000X","name":"raw"}' * 4
    counts = [0] * clients
    deadline = time.monotonic() + seconds
    per_client = max(1, max_count // clients)
    gate = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            gate.wait()
            for _ in range(per_client):
                if time.monotonic() >= deadline:
                    break
                conn.execute(
                    f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
                    "VALUES (%s, 1, 'domain.market_entity:MarketEntity.Registered', %s)",
                    (uuid.uuid4(), state),
                    prepare=True,
                )
                counts[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - started


def bulk_import(url: str, seconds: float, count: int) -> dict[str, Any]:
    """P2 in a fresh schema, every variant registering market entities (R1.2):

    - ``commands`` (the measured figure): the production bulk path, ``Ledger.batch()``
      (``domain.commands.batch``): the same ``Ledger.register_entity`` with every rule, 1,000
      commands per batch, the credit codes checked with one preload query per batch, and the batch
      written in one transaction with ``COPY`` under the event table's lock (``infra.bulk``), on
      the heap settled as ``dangjian import`` settles it; ``commands_unfrozen`` (reference): the same
      before the heap is settled (after one batch to warm up);
    - ``loop`` (reference): the same command in a loop, one transaction each (the old import);
    - ``save_1000`` (baseline): ``Ledger.save`` of 1,000 freshly made aggregates per transaction;
    - ``bulk_ledger`` (reference): the bench's write-behind ``BulkLedger``;
    - ``copy`` (ceiling): a raw COPY of the same kind of stored events, encoded beforehand.

    Each value is (events, seconds)."""
    from bench.generate import BulkLedger
    from domain.envelope import CommandContext, EventMeta
    from domain.market_entity import MarketEntity, entity_id_for
    from domain.values import EntityKind
    from infra.cli import settle_heap
    from infra.store import build, ledger_env

    out: dict[str, Any] = {}
    effective_on = date(2026, 1, 5)
    with fresh_schema(url, "p2") as schema:
        settings = settings_for(url, schema)
        container = build(settings)
        ledger = container.ledger
        ctx = CommandContext.new("bench")
        try:

            def form(code: str, i: int) -> dict[str, Any]:  # one registration form's fields
                return {
                    "effective_on": effective_on,
                    "credit_code": code,
                    "name": f"导入个体户{i}",
                    "kind": EntityKind.INDIVIDUAL_BUSINESS,
                    "industry": "日用百货",
                    "region_code": LOAD_REGION,
                    "station": "压测市场监管所",
                }

            def register(target: Any, code: str, i: int) -> Any:
                return target.register_entity(ctx, **form(code, i))

            # Measured: the production bulk path. The rows (credit codes) are the input, made beforehand
            # as a spreadsheet's would be; everything from the first rule to the commit is timed.
            def codes(base: int, n: int = count + 1000) -> list[str]:
                return [credit_code("92" + LOAD_REGION, base + i) for i in range(n)]

            rows, unfrozen_rows = codes(40_000_000), codes(50_000_000)

            def batch_of(i: int, rows: list[str] = rows) -> int:
                chunk = rows[i * 1000 : (i + 1) * 1000]
                with ledger.batch() as batch:
                    batch.preload([entity_id_for(code) for code in chunk])
                    for k, code in enumerate(chunk):
                        batch.run(ledger.register_entity, ctx, **form(code, i * 1000 + k))
                    staged = batch.pending
                    outcomes = batch.flush()
                if not all(o.ok for o in outcomes) or staged != len(chunk):
                    raise RuntimeError("the bulk path rejected a bench row")
                return staged

            # First with the harness's heap as it is, then settled as `dangjian import` settles its
            # start-up heap (``infra.cli.settle_heap``): every variant after that runs on the settled heap.
            batch_of(0, rows=codes(55_000_000, 1000))  # warm-up
            out["commands_unfrozen"] = timed_loop(
                functools.partial(batch_of, rows=unfrozen_rows), seconds, count
            )
            settle_heap()
            out["commands"] = timed_loop(batch_of, seconds, count)

            # Reference: the old import, one command per transaction.
            out["loop"] = timed_loop(
                lambda i: register(ledger, credit_code("92" + LOAD_REGION, 60_000_000 + i), i) and 1,
                seconds,
                count,
            )

            # Baseline: Ledger.save of 1,000 freshly made aggregates per transaction, through
            # eventsourcing's own recorder (not the group-commit one).
            stock = build(settings, group_commit=False, setup=False)

            def thousand(i: int) -> int:
                meta = EventMeta.build(ctx, effective_on, ledger.today())
                base = 70_000_000 + i * 1000
                stock.ledger.save(
                    *(
                        entity(MarketEntity, credit_code("92" + LOAD_REGION, base + k), meta)
                        for k in range(1000)
                    )
                )
                return 1000

            try:
                out["save_1000"] = timed_loop(thousand, seconds, count)
            finally:
                stock.close()

            # The bench BulkLedger: the same commands and rules, 1,000 aggregates per transaction.
            bulk = BulkLedger(ledger_env(settings), vault=container.ledger.vault)
            try:
                done, elapsed = timed_loop(
                    lambda i: register(bulk, credit_code("92" + LOAD_REGION, 80_000_000 + i), i) and 1,
                    seconds,
                    count,
                )
                t0 = time.perf_counter()
                bulk.flush()
                out["bulk_ledger"] = (done, elapsed + time.perf_counter() - t0)
            finally:
                bulk.close()

            # Ceiling: COPY the same kind of stored events (encoded beforehand) into the same table.
            meta = EventMeta.build(ctx, effective_on, ledger.today())
            stored = []
            for k in range(count):
                aggregate = entity(MarketEntity, credit_code("92" + LOAD_REGION, 90_000_000 + k), meta)
                for event in aggregate.collect_events():
                    stored.append(ledger.mapper.to_stored_event(event))
            started = time.perf_counter()
            with psycopg.connect(url) as conn:
                with (
                    conn.cursor() as cursor,
                    cursor.copy(
                        f'COPY "{schema}".ledger_events '
                        "(originator_id, originator_version, topic, state) FROM STDIN"
                    ) as copy,
                ):
                    for s in stored:
                        copy.write_row((s.originator_id, s.originator_version, s.topic, s.state))
                conn.commit()
            out["copy"] = (len(stored), time.perf_counter() - started)
        finally:
            gc.unfreeze()
            container.close()
    return out


# --- the run -------------------------------------------------------------------------------------


def fmt_rate(n: float) -> str:
    return f"{n:,.0f}"


def run(args: argparse.Namespace) -> Results:
    url = args.database_url
    small = args.scale / 100
    res = Results(args.scale, small)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if not args.quiet else (lambda s: None)
    seconds, count = args.seconds, args.max_requests

    with (
        fresh_schema(url, "main") as schema,
        fresh_schema(url, "small") as small_schema,
        fresh_schema(url, "own") as own_schema,
    ):
        log(f"generating scale {args.scale} into {schema}")
        gen = generate_into(url, schema, args.scale, args.seed)
        res.data["generate"] = gen
        log(f"  {gen['events']} events in {gen['seconds']:.1f} s ({gen['mode']})")

        # P3 and P7: the rebuild in a second process.
        log("P3: rebuild")
        # each of the two rebuilds side by side starts from empty live tables (--empty-live): the
        # second would otherwise find them holding the first's rows and copy none at its switch
        replay = ["_replay", "--kind", "rebuild", "--empty-live", "--schema", schema, "--database-url", url]
        jobs = settings_for(url, schema).rebuild_jobs
        rebuild = run_json([*replay, "--jobs", str(jobs)], timeout=REPLAY_TIMEOUT)
        res.data["rebuild"] = rebuild
        # its comparison: the same rebuild in one process (--no-rebuild-alone leaves it out: about 40
        # minutes at scale 1.0)
        alone = run_json([*replay, "--jobs", "1"], timeout=REPLAY_TIMEOUT) if args.rebuild_alone else None
        res.data["rebuild_alone"] = alone
        rows, read_s = raw_read(url, schema)
        from infra.store import build

        container = build(settings_for(url, schema))
        try:
            decoded, decode_s = read_and_decode(container.ledger)
        finally:
            container.close()
        rebuild_rate = rebuild["events"] / rebuild["seconds"]
        read_rate = rows / read_s
        res.rows.append(
            Row(
                "P3",
                f"full rebuild of all {6} projections in {jobs} processes, stored events/s "
                f"({rebuild['events']:,} events, {rebuild['seconds']:.1f} s)",
                "≥ 60,000/s",
                fmt_rate(rebuild_rate),
                f"{fmt_rate(read_rate)} (ceiling: raw read)",
                f"{rebuild_rate / read_rate:.2%} of ceiling",
                met(rebuild_rate >= 60_000),
            )
        )
        if alone is not None:
            alone_rate = alone["events"] / alone["seconds"]
            res.rows.append(
                Row(
                    "P3",
                    f"the same rebuild in {jobs} processes (`rebuild_jobs`) against one",
                    "—",
                    fmt_rate(rebuild_rate),
                    f"{fmt_rate(alone_rate)} ({alone['seconds']:.1f} s, one process; "
                    f"{alone['rss_mb']:.0f} MB)",
                    f"{rebuild_rate / alone_rate:.2f}×",
                    "—",
                )
            )
        res.references.append(
            Row(
                "P3",
                "select_notifications + decode_all (as the runner decodes), no handler",
                "—",
                f"{fmt_rate(decoded / decode_s)}/s",
            )
        )

        # P4 at both scales: the twin is a 100 times shorter history in the same regions, so that the
        # province's report asks about as many areas at both scales and the ratio is the history's;
        # the 100 times smaller province in its own (fewer) regions is a reference row
        log(f"generating scale {small} in the regions of scale {args.scale} into {small_schema}")
        gen_small = generate_into(url, small_schema, small, args.seed, regions_of=args.scale)
        res.data["generate_small"] = gen_small
        worker = run_json(["_replay", "--kind", "catchup", "--schema", small_schema, "--database-url", url])
        res.data["worker"] = worker
        log(f"generating scale {small} in its own regions into {own_schema}")
        res.data["generate_own"] = gen_own = generate_into(url, own_schema, small, args.seed)
        run_json(["_replay", "--kind", "catchup", "--schema", own_schema, "--database-url", url])
        log("P4: queries")
        for each_schema in (schema, small_schema, own_schema):
            analyze(url, each_schema)
        q_big, q_small, q_own = queries(url, [schema, small_schema, own_schema], seconds, count)
        res.data["p4"] = {"scale": q_big, "small": q_small, "own": q_own}
        for key, label in (
            ("coverage", "`CoverageView().report` for the province"),
            ("earlier", "the same, as known when half the events were recorded (`as_known_at`: rows)"),
            ("report", "`half_year_report` (what `/reports/half-year` runs) for the province"),
        ):
            big, little = q_big[f"{key}_p95_ms"], q_small[f"{key}_p95_ms"]
            res.rows.append(
                Row(
                    "P4",
                    f"{label}, as of {date(2026, 6, 30)}, p95 ({q_big[f'{key}_n']} runs; "
                    f"{q_big['operating']:,} vs {q_small['operating']:,} operating entities)",
                    "p95 ≤ 50 ms; ≤ 1.5× the 100× smaller scale",
                    f"{big:.1f} ms",
                    f"{little:.1f} ms (scale {small:g}, the same regions)",
                    f"{big / little:.2f}×",
                    met(big <= 50 and big / little <= 1.5),
                )
            )

        big, own = q_big["report_p95_ms"], q_own["report_p95_ms"]
        areas, own_areas = 1 + len(gen["regions"]), 1 + len(gen_own["regions"])
        res.references.append(
            Row(
                "P4",
                f"`half_year_report` for the province against the 100× smaller province in its own regions "
                f"(scale {small:g}, {gen_own['events']:,} events): {areas} areas against {own_areas} (the "
                f"province and its cities), so the ratio is the report's areas' as well as the history's",
                "—",
                f"{big:.1f} ms against {own:.1f} ms ({big / own:.2f}×)",
            )
        )

        counted, listed = q_big["report_p95_ms"], q_big["report_listed_p95_ms"]
        res.rows.append(
            Row(
                "P4",
                "the half-year report counting organisations (the default) against the same report with "
                "a line per organisation (`organizations=true`, the report before round 8), same snapshot",
                "(the summary's own gain)",
                f"{counted:.1f} ms",
                f"{listed:.1f} ms (lists)",
                f"{counted / listed:.2f}×",
            )
        )

        frozen, unfrozen = q_big["report_p95_ms"], q_big["report_unfrozen_p95_ms"]
        res.rows.append(
            Row(
                "P4",
                "the half-year report measured with the harness's heap frozen, as `dangjian serve` freezes "
                "its start-up heap, against the same report before the freeze (how P4 was measured up to "
                "round 9), same snapshot",
                "(the collector's share)",
                f"{frozen:.1f} ms",
                f"{unfrozen:.1f} ms (not frozen)",
                f"{frozen / unfrozen:.2f}×",
            )
        )

        counted, scanned = q_big["coverage_p95_ms"], q_big["coverage_rows_p95_ms"]
        res.rows.append(
            Row(
                "P4",
                "the coverage query from the pre-aggregated counts (`projections/coverage_counts.py`) "
                "against the same figures read from the coverage rows, same store, same snapshot",
                "(the counts' own gain)",
                f"{counted:.1f} ms",
                f"{scanned:.1f} ms (rows)",
                f"{counted / scanned:.2f}×",
            )
        )

        # P5 and P1 through the API served from another process: two API processes (one per core),
        # then, as the reference, one process without the answer and token caches (the earlier setup).
        log("P5/P1: serving the API")
        paths = read_paths(url, schema)
        with serving(url, schema, workers=2) as base:
            p5 = load(base, "read", 32, seconds, count * 5, path=paths)
            p1 = load(base, "register", 16, seconds, count * 2, serial_base=1_000_000)
        with serving(url, schema, answer_cache_size="0", token_cache_seconds="0") as base:
            p5_plain = load(base, "read", 32, seconds, count * 5, path=paths)
        res.data["p5"], res.data["p1"], res.data["p5_plain"] = p5, p1, p5_plain

        container = build(settings_for(url, schema), group_commit=False)  # eventsourcing's own recorder
        try:
            base_n, base_s = save_one_per_transaction(container.ledger, seconds, count)
        finally:
            container.close()
        raw_n, raw_s = raw_inserts(url, schema, 16, seconds, count * 5)
        baseline = base_n / base_s
        res.rows.append(
            Row(
                "P1",
                f"register-entity commands through HTTP, 16 clients in a second process "
                f"({p1['ok']:,} ok, {p1['errors']} errors in {p1['seconds']:.1f} s)",
                "≥ 1,000/s; ≥ 1.5× baseline",
                f"{fmt_rate(p1['per_second'])}/s",
                f"{fmt_rate(baseline)}/s (eventsourcing, 1 aggregate per transaction, 1 thread)",
                f"{p1['per_second'] / baseline:.2f}×",
                met(p1["per_second"] >= 1000 and p1["per_second"] >= 1.5 * baseline),
            )
        )
        res.rows.append(
            Row(
                "P1",
                "latency of those commands, p99",
                "p99 ≤ 50 ms",
                f"{p1['p99_ms']:.1f} ms",
                f"p50 {p1['p50_ms']:.1f} ms",
                "—",
                met(p1["p99_ms"] <= 50),
            )
        )
        res.references.append(
            Row(
                "P1",
                "ceiling: raw single-row INSERT commits, psycopg, 16 connections",
                "—",
                f"{fmt_rate(raw_n / raw_s)}/s",
            )
        )
        res.rows.append(
            Row(
                "P5",
                f"`GET /coverage`, {len(paths)} questions (regions × dates) in turn, 32 connections in a "
                f"second process, 2 API processes ({p5['ok']:,} ok, {p5['errors']} errors)",
                "≥ 2,000 req/s",
                f"{fmt_rate(p5['per_second'])} req/s",
                f"{fmt_rate(p5_plain['per_second'])} req/s (1 process, no answer or token cache)",
                f"{p5['per_second'] / max(p5_plain['per_second'], 1e-9):.1f}×",
                met(p5["per_second"] >= 2000),
            )
        )
        res.rows.append(
            Row(
                "P5",
                "latency of those reads, p99",
                "p99 ≤ 30 ms",
                f"{p5['p99_ms']:.1f} ms (p50 {p5['p50_ms']:.1f} ms)",
                f"{p5_plain['p99_ms']:.1f} ms (p50 {p5_plain['p50_ms']:.1f} ms) without the caches",
                "—",
                met(p5["p99_ms"] <= 30),
            )
        )

    # P2 in its own schema.
    log("P2: bulk import")
    p2 = bulk_import(url, seconds, args.import_count)
    res.data["p2"] = {k: list(v) for k, v in p2.items()}
    rate = {k: n / s for k, (n, s) in p2.items()}
    res.rows.append(
        Row(
            "P2",
            f"import through the domain rules: `Ledger.batch()` running `register_entity` with every rule, "
            f"1,000 commands per transaction written with COPY ({p2['commands'][0]:,} events), events/s",
            "≥ 40,000/s; ≥ 45% of raw COPY",
            f"{fmt_rate(rate['commands'])}/s",
            f"{fmt_rate(rate['save_1000'])}/s (`Ledger.save` of 1,000 aggregates per transaction)",
            f"{rate['commands'] / rate['save_1000']:.2f}× baseline; "
            f"{rate['commands'] / rate['copy']:.1%} of COPY",
            met(rate["commands"] >= 40_000 and rate["commands"] >= 0.45 * rate["copy"]),
        )
    )
    res.rows.append(
        Row(
            "P2",
            "the same import with the start-up heap settled (`infra.cli.settle_heap`, as `dangjian import` "
            "now does) against the heap as it was (the collector's share)",
            "—",
            f"{fmt_rate(rate['commands'])}/s",
            f"{fmt_rate(rate['commands_unfrozen'])}/s (not settled)",
            f"{rate['commands'] / rate['commands_unfrozen']:.2f}×",
            "—",
        )
    )
    res.references.append(
        Row(
            "P2",
            "ceiling: raw COPY of the same stored events into `ledger_events`",
            "—",
            f"{fmt_rate(rate['copy'])}/s",
        )
    )
    res.references.append(
        Row(
            "P2",
            "the import before issue #6's batches: `Ledger.register_entity` in a loop, one transaction each",
            "—",
            f"{fmt_rate(rate['loop'])}/s",
        )
    )
    res.references.append(
        Row(
            "P2",
            "bench `BulkLedger`: the same command, 1,000 aggregates per transaction",
            "—",
            f"{fmt_rate(rate['bulk_ledger'])}/s ({rate['bulk_ledger'] / rate['copy']:.1%} of COPY)",
        )
    )
    # P2 through the registry stream (bench/ingest.py): `dangjian ingest`'s batches, one process or two.
    log("P2: the registry stream through Kafka, one ingester process and two")
    from bench.ingest import measure as measure_ingest

    stream = measure_ingest(url, args.import_count)
    res.data["p2_stream"] = stream
    # every message was recorded (``measure_ingest`` raises otherwise): two events each, the
    # registration and its command receipt
    one, two = (stream[k]["messages"] / stream[k]["seconds"] for k in ("one", "two"))
    res.rows.append(
        Row(
            "P2",
            "the registry stream (`dangjian ingest`: a poll's messages as one batch, Kafka on loopback): "
            f"two ingester processes over two partitions ({stream['two']['messages']:,} registrations, "
            "each also writing its command receipt), messages/s",
            "—",
            f"{fmt_rate(two)}/s ({fmt_rate(2 * two)} events/s, receipts included; "
            f"largest process {stream['two']['rss_mb']:.0f} MB)",
            f"{fmt_rate(one)}/s (one process, both partitions)",
            f"{two / one:.2f}×",
            "—",
        )
    )
    # P6: through Kafka (relay + one worker) beside one process following the store (bench/lag.py).
    log("P6: lag from commit to visible, through Kafka and direct")
    from bench.lag import measure as measure_lag

    p6 = measure_lag(url, rate=500.0, seconds=min(seconds, 10.0))
    res.data["p6"] = p6
    kafka, direct = p6["kafka"], p6["direct"]
    res.rows.append(
        Row(
            "P6",
            f"commit → visible through the relay, Kafka (Tansu) and one worker; "
            f"{kafka['commands']:,} commands offered at 500/s, {kafka['rate']:.0f}/s achieved, "
            f"{kafka['visible']:,} visible within 30 s after",
            "p99 ≤ 300 ms at 500 cmd/s",
            f"p99 {kafka['p99_ms']:,.0f} ms (p50 {kafka['p50_ms']:,.0f} ms)",
            f"p99 {direct['p99_ms']:,.0f} ms, p50 {direct['p50_ms']:,.0f} ms "
            f"(`dangjian project` following the store, {direct['rate']:.0f}/s achieved)",
            "—",
            met(kafka["p99_ms"] <= 300 and kafka["rate"] >= 475 and kafka["visible"] == kafka["commands"]),
        )
    )
    res.rows.append(
        Row(
            "P7",
            f"peak RSS (VmHWM) of the full rebuild ({rebuild['events']:,} events), its largest "
            f"process of {rebuild['jobs']}",
            "< 500 MB",
            f"{rebuild['rss_mb']:.0f} MB",
            "—",
            "—",
            met(rebuild["rss_mb"] < 500),
        )
    )
    res.rows.append(
        Row(
            "P7",
            f"peak RSS of a projection worker catching up from zero "
            f"({worker['events']:,} events, scale {small:g})",
            "< 500 MB",
            f"{worker['rss_mb']:.0f} MB",
            "—",
            "—",
            met(worker["rss_mb"] < 500),
        )
    )
    res.references.append(
        Row(
            "—",
            f"generator, scale {args.scale:g} ({gen['mode']}): {gen['entities']:,} entities, "
            f"{gen['organizations']:,} organisations, {gen['members']:,} members, "
            f"{gen['commands']:,} commands",
            "—",
            f"{gen['events']:,} events, {fmt_rate(gen['events'] / gen['seconds'])}/s",
        )
    )
    return res


def table(rows: list[Row], full: bool = True) -> list[str]:
    if full:
        out = [
            "| figure | what | target | measured | baseline | ratio | result |",
            "|---|---|---|---|---|---|---|",
        ]
        out += [
            f"| {r.figure} | {r.what} | {r.target} | {r.measured} | {r.baseline} | {r.ratio} | {r.result} |"
            for r in rows
        ]
    else:
        out = ["| figure | reference | measured |", "|---|---|---|"]
        out += [f"| {r.figure} | {r.what} | {r.measured} |" for r in rows]
    return out


def render(res: Results, argv: list[str], started: datetime, seconds: float) -> str:
    m = machine()
    lines = [
        f"<!-- bench:scale={res.scale:g} -->",
        f"### Scale {res.scale:g} (and {res.small_scale:g} for P4)",
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC in {seconds:.0f} s: "
        f"`{' '.join(['python -m bench.run', *argv])}`. "
        f"Machine: {m['nproc']} cores (nproc), {m['memory']} memory, {m['cpu']}; Python {m['python']}, "
        f"{m['os']}; PostgreSQL {res.data.get('postgres', '?')} on the same machine.",
        "",
        *table(res.rows),
        "",
        *table(res.references, full=False),
        "<!-- /bench -->",
    ]
    return "\n".join(lines) + "\n"


HEADER = """# Benchmarks

Issue #6. Generated by `make bench` (`python -m bench.run`); see `bench/run.py` for what each figure measures.

"""


def write(output: Path, block: str, scale: float) -> None:
    text = output.read_text(encoding="utf-8") if output.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:scale={re.escape(f'{scale:g}')} -->.*?<!-- /bench -->\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        marker = "<!-- bench:results -->"
        if marker in text:
            text = text.replace(marker, marker + "\n\n" + block, 1)
        else:
            text = text.rstrip("\n") + "\n\n" + block
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description="dangjian benchmarks (issue #6)")
    sub = parser.add_subparsers(dest="command")
    replay = sub.add_parser("_replay", help="(internal) rebuild or catch up in this process")
    replay.add_argument("--kind", choices=("rebuild", "catchup"), required=True)
    replay.add_argument("--schema", required=True)
    replay.add_argument("--database-url", default=DEFAULT_URL)
    replay.add_argument("--jobs", type=int, default=1, help="rebuild: processes replaying side by side")
    replay.add_argument("--empty-live", action="store_true", help="empty the live read tables first")
    loader = sub.add_parser("_load", help="(internal) the HTTP load client")
    loader.add_argument("--url", required=True)
    loader.add_argument("--kind", choices=("register", "read"), required=True)
    loader.add_argument("--clients", type=int, default=16)
    loader.add_argument("--seconds", type=float, default=10)
    loader.add_argument("--max-requests", type=int, default=20_000)
    loader.add_argument("--path", action="append", help="GET these paths in turn (repeatable)")
    loader.add_argument("--serial-base", type=int, default=0)
    p4 = sub.add_parser("queries", help="P4's queries on stores already generated and rebuilt, in turn")
    p4.add_argument("--schemas", required=True, help="the scale's store, then its twin: a,b")
    p4.add_argument("--database-url", default=DEFAULT_URL)
    p4.add_argument("--seconds", type=float, default=10.0, help="each query's time on each store")
    p4.add_argument("--max-requests", type=int, default=3_000, help="each query's runs at most")
    p4.add_argument(
        "--analyze", action=argparse.BooleanOptionalAction, default=True, help="VACUUM ANALYZE first"
    )
    parser.add_argument("--scale", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--seconds", type=float, default=10.0, help="bound of every timed loop")
    parser.add_argument("--max-requests", type=int, default=10_000, help="bound of every counted loop")
    parser.add_argument("--import-count", type=int, default=20_000, help="events per P2 variant (bound)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--rebuild-alone",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the rebuild in one process, P3's comparison row (--no-rebuild-alone: not)",
    )
    args = parser.parse_args(argv)
    if not re.match(r"^postgresql://[^@/]*@?(127\.0\.0\.1|localhost|\[::1\])[:/]", args.database_url):
        parser.error("only a PostgreSQL on a loopback address may be the target")
    if args.command == "_replay":
        cmd_replay(args)
        return 0
    if args.command == "_load":
        cmd_load(args)
        return 0
    if args.command == "queries":
        cmd_queries(args)
        return 0
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    res = run(args)
    with psycopg.connect(args.database_url) as conn:
        res.data["postgres"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    block = render(res, argv, started, time.perf_counter() - t0)
    write(args.output, block, args.scale)
    print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
