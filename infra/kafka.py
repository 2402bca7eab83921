"""Kafka clients (kafka-python) configured for at-least-once delivery, and topic creation.

Only ``infra.relay`` and ``infra.registry`` use these; nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import TopicAlreadyExistsError


def reliable_producer(bootstrap_servers: str, **overrides: Any) -> KafkaProducer:
    """A producer whose acknowledged sends survive a broker failover: every in-sync replica has
    them (``acks=all``), and retries never duplicate or reorder a partition (idempotence)."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers.split(","),
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "linger_ms": 5,
        "client_id": "dangjian",
    }
    config.update(overrides)
    return KafkaProducer(**config)


def manual_commit_consumer(
    bootstrap_servers: str, group_id: str, *topics: str, **overrides: Any
) -> KafkaConsumer:
    """A group consumer that commits only when told to (after a message was handled)."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers.split(","),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": "dangjian",
    }
    config.update(overrides)
    return KafkaConsumer(*topics, **config)


def ensure_topics(
    bootstrap_servers: str, names: Iterable[str], partitions: int, *, timeout_ms: int = 30_000
) -> None:
    """Create the topics that do not exist yet (replication factor 3, or the number of brokers)."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers.split(","),
        client_id="dangjian-admin",
        request_timeout_ms=timeout_ms,
    )
    try:
        existing = set(admin.list_topics())
        brokers = len(admin.describe_cluster().get("brokers", [])) or 1
        missing = {
            name: {"num_partitions": partitions, "replication_factor": min(3, brokers)}
            for name in dict.fromkeys(names)
            if name not in existing
        }
        if not missing:
            return
        response = admin.create_topics(missing, raise_errors=False, wait_for_metadata=True)
        for topic in response.get("topics", []):
            code = topic.get("error_code", 0)
            if code not in (0, TopicAlreadyExistsError.errno):  # another process may have created it
                raise RuntimeError(f"cannot create Kafka topic {topic.get('name')}: {topic}")
    finally:
        admin.close()
