"""P2 through the registry stream (issue #6): registrations on a Kafka topic, recorded by
``infra.registry.RegistryIngester`` (what ``dangjian ingest`` runs), in one process against two.

A memory-only Tansu broker on loopback (``bench.lag.tansu``) holds, per variant, a fresh topic of two
partitions with ``count`` registration messages keyed by credit code (docs/REGISTRY.md), all sent before
anything is timed. Then:

- ``one``: one ingester process reads both partitions;
- ``two``: two ingester processes read one partition each, as two ``dangjian ingest`` in one consumer
  group share them.

Each ingester process builds the application, settles its heap as ``dangjian ingest`` does, is assigned
its partitions directly (Tansu makes a member joining a group wait the whole rebalance timeout, which
is no part of an import), reports ready, and waits. When every process is ready they are told to go
together; each reports the wall-clock time it started and the time it had handled its partitions to
their end. The rate is all the messages over the span from the first start to the last end. A message
records one event (the registration) and its command receipt (one more); the figure counts messages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from datetime import date
from typing import Any

from bench.run import DEFAULT_URL, LOAD_REGION, ROOT, credit_code, fresh_schema, settings_for

PYTHON = sys.executable
PARTITIONS = 2
EFFECTIVE_ON = date(2026, 1, 5)


def registration(code: str, i: int) -> bytes:
    message = {
        "type": "registered",
        "message_id": str(uuid.uuid4()),
        "credit_code": code,
        "name": f"登记个体户{i}",
        "kind": "individual_business",
        "industry": "日用百货",
        "region_code": LOAD_REGION,
        "station": "压测市场监管所",
        "effective_on": EFFECTIVE_ON.isoformat(),
    }
    return json.dumps(message, ensure_ascii=False).encode()


def publish(servers: str, topic: str, count: int, base: int) -> None:
    """``count`` registrations on ``topic``, keyed by credit code, message ``i`` on partition
    ``i % PARTITIONS`` (so each ingester knows how many it is to handle)."""
    from infra.kafka import ensure_topics, reliable_producer

    ensure_topics(servers, [topic, f"{topic}.dead-letter"], PARTITIONS)
    producer = reliable_producer(servers, linger_ms=5)
    try:
        for i in range(count):
            code = credit_code("92" + LOAD_REGION, base + i)
            producer.send(topic, key=code.encode(), value=registration(code, i), partition=i % PARTITIONS)
        producer.flush()
    finally:
        producer.close()


def ingesters(
    url: str, schema: str, servers: str, topic: str, count: int, layout: list[list[int]]
) -> dict[str, Any]:
    """Run one ingester process per entry of ``layout`` (its partitions), started together; the
    messages handled over the span from the first start to the last end."""
    processes = [
        subprocess.Popen(
            [
                *(PYTHON, "-m", "bench.ingest", "--database-url", url, "--schema", schema),
                *("--servers", servers, "--topic", topic),
                *(arg for p in partitions for arg in ("--partition", str(p))),
                *("--expect", str(sum(len(range(p, count, PARTITIONS)) for p in partitions))),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for partitions in layout
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("an ingester process did not start")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, _ = process.communicate(timeout=3600)
            if process.returncode != 0:
                raise RuntimeError(f"an ingester process failed ({process.returncode})")
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    messages = sum(r["messages"] for r in reports)
    seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    return {
        "messages": messages,
        "recorded": sum(r["recorded"] for r in reports),
        "seconds": seconds,
        "processes": len(reports),
        "rss_mb": max(r["rss_mb"] for r in reports),
    }


def measure(url: str, count: int) -> dict[str, dict[str, Any]]:
    """Both variants, each on its own topic of ``count`` messages, into one fresh schema."""
    from bench.lag import tansu
    from infra.store import build

    out: dict[str, dict[str, Any]] = {}
    with tansu() as servers, fresh_schema(url, "p2k") as schema:
        build(settings_for(url, schema)).close()  # the tables, once
        for n, (label, layout) in enumerate((("one", [[0, 1]]), ("two", [[0], [1]]))):
            topic = f"registry.{label}.{uuid.uuid4().hex[:8]}"
            publish(servers, topic, count, base=20_000_000 + n * 5_000_000)
            out[label] = ingesters(url, schema, servers, topic, count, layout)
            if out[label]["recorded"] != count:
                raise RuntimeError(f"{label}: {out[label]['recorded']} of {count} messages recorded")
    return out


def ingest(args: argparse.Namespace) -> None:
    """One ingester process: set up, say ready, wait for go, handle its partitions to their end."""
    from kafka import TopicPartition

    from bench.run import vmhwm_mb
    from infra.cli import settle_heap
    from infra.kafka import manual_commit_consumer, reliable_producer
    from infra.registry import RegistryIngester
    from infra.store import build

    container = build(settings_for(args.database_url, args.schema))
    consumer = manual_commit_consumer(args.servers, f"bench-{uuid.uuid4().hex[:8]}")
    partitions = [TopicPartition(args.topic, p) for p in args.partition]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.position(tp)  # the offsets looked up now, not in the timed loop
    ingester = RegistryIngester(
        container.ledger, consumer, reliable_producer(args.servers), f"{args.topic}.dead-letter"
    )
    settle_heap()
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    messages = recorded = 0
    try:
        while messages < args.expect:  # no end-offset round trip after each poll
            outcomes = ingester.poll_once()
            messages += len(outcomes)
            recorded += sum(o.result == "recorded" for o in outcomes)
        ended = time.time()
    finally:
        ingester.close()
        container.close()
    report = {"messages": messages, "recorded": recorded, "started": started, "ended": ended}
    print(json.dumps({**report, "rss_mb": vmhwm_mb()}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="(internal) one registry ingester process of bench P2")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--servers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partition", type=int, action="append", required=True)
    parser.add_argument("--expect", type=int, required=True, help="messages on those partitions")
    ingest(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
