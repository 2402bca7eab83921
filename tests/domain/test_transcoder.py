"""``FastJSONTranscoder`` writes the very bytes eventsourcing's ``JSONTranscoder`` writes (issue #6, P2)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError

from domain.application import Ledger
from domain.transcoder import FastJSONTranscoder
from domain.values import EntityKind
from tests.conftest import fixed_today


def transcoders() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, today=fixed_today)
    plain = JSONTranscoder()
    ledger.register_transcodings(plain)
    fast = ledger.construct_transcoder()
    assert isinstance(fast, FastJSONTranscoder)
    return plain, fast


def value(rng: random.Random, depth: int = 0) -> Any:
    simple = [
        lambda: uuid4(),
        lambda: date(2020, 1, 1) + timedelta(days=rng.randrange(3000)),
        lambda: datetime(2025, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**12)),
        lambda: Decimal(rng.choice(["1.0", "1.00", "-3.5", "0"])),
        lambda: rng.choice(["", "嘉兴·南湖", 'quote " and \\ backslash', "\n\t\x01", "emoji 🎉"]),
        lambda: rng.choice([0, -1, 2**70, True, False, None]),
        lambda: rng.choice([1.5, float("inf"), float("nan"), -0.0]),
        lambda: EntityKind.INDIVIDUAL_BUSINESS,
    ]
    if depth < 3 and rng.random() < 0.3:
        if rng.random() < 0.5:
            return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
        keys: list[Any] = ["a", "名称", "_type_", "x y", 1, None]
        return {rng.choice(keys): value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return rng.choice(simple)()


@pytest.mark.parametrize("seed", range(20))
def test_P2_fast_transcoder_writes_the_same_bytes(seed: int) -> None:
    plain, fast = transcoders()
    rng = random.Random(seed)
    shared = uuid4()
    for _ in range(50):
        state = {f"f{i}": value(rng) for i in range(rng.randrange(1, 12))}
        state["correlation_id"] = shared  # memoised after the first time
        encoded = fast.encode(state)
        assert encoded == plain.encode(state)
        assert str(plain.decode(encoded)) == str(plain.decode(plain.encode(state)))


def test_P2_fast_transcoder_refuses_what_json_refuses() -> None:
    plain, fast = transcoders()
    for bad in ({"x": object()}, {"x": {1, 2}}):
        with pytest.raises(TranscodingNotRegisteredError):
            plain.encode(bad)
        with pytest.raises(TranscodingNotRegisteredError):
            fast.encode(bad)
    assert isinstance(fast.decode(fast.encode({"id": UUID(int=1)}))["id"], UUID)
