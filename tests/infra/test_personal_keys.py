"""The members' keys (``infra.personal``): one per member, bound to the member, cached per process and
forgotten as soon as a process reads the member's erasure."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.application import Ledger
from domain.envelope import CommandContext
from domain.personal import ERASED
from infra.personal import KeyVault, decrypt, encrypt
from infra.settings import Settings
from infra.store import ledger_env, read_engine
from tests import factories as f
from tests.conftest import TODAY, fixed_today


def test_a_ciphertext_is_bound_to_its_member() -> None:
    key, member, other = AESGCM.generate_key(256), uuid4(), uuid4()
    token = encrypt(key, member, "欧阳娜娜")
    assert token != encrypt(key, member, "欧阳娜娜")  # a fresh nonce each time
    assert decrypt(key, member, token) == "欧阳娜娜"
    with pytest.raises(InvalidTag):
        decrypt(key, other, token)  # moved to another member: refused
    with pytest.raises(InvalidTag):
        decrypt(AESGCM.generate_key(256), member, token)


def test_a_process_forgets_a_cached_key_when_it_reads_the_erasure(tmp_path: Path) -> None:
    """Two processes on one store: the second has the key cached (for an hour) when the first erases."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'keys.sqlite'}", demo_when_empty=False)

    def process() -> tuple[Ledger, KeyVault]:
        vault = KeyVault(read_engine(settings), cache_seconds=3600)
        vault.setup()
        return Ledger(env=ledger_env(settings), today=fixed_today, vault=vault), vault

    (first, _), (second, second_keys) = process(), process()
    ctx = CommandContext.new("association")
    member = f.register_member(first, ctx, [f.establish(first, ctx, [])], name="欧阳娜娜").id
    assert second.get_member(member).name == "欧阳娜娜"  # the second process caches the key
    first.erase_member_personal_data(ctx, member, effective_on=TODAY, reason="本人申请")
    (registered,) = second.events.get(member, lte=1)
    assert registered.name == "欧阳娜娜", "still cached: the second process has not read the erasure yet"
    assert second.get_member(member).erased  # it reads the erasure event, and forgets the key
    (registered,) = second.events.get(member, lte=1)
    assert registered.name == ERASED
    assert second_keys.key(member, create=False) is None
    first.close()
    second.close()


def test_a_batch_decodes_with_one_key_query_as_event_by_event(tmp_path: Path) -> None:
    """Issue #6 (P3): ``to_domain_events`` reads the keys of a whole batch with one query, and decodes
    exactly what ``to_domain_event`` on each would: plaintext, or ``ERASED`` for an erased member."""
    from sqlalchemy import event as sa_event

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'keys.sqlite'}", demo_when_empty=False)

    def process() -> tuple[Ledger, KeyVault]:
        vault = KeyVault(read_engine(settings))
        vault.setup()
        return Ledger(env=ledger_env(settings), today=fixed_today, vault=vault), vault

    writer, _ = process()
    ctx = CommandContext.new("association")
    org = f.establish(writer, ctx, [])
    names = ["欧阳娜娜", "张三", "李四"]
    members = [f.register_member(writer, ctx, [org], name=name).id for name in names]
    writer.correct_member(ctx, members[1], effective_on=TODAY, changes={"name": "张三丰"}, reason="笔误")
    writer.erase_member_personal_data(ctx, members[2], effective_on=TODAY, reason="本人申请")
    notifications = writer.recorder.select_notifications(start=1, limit=100)

    reader, vault = process()
    queries: list[str] = []
    sa_event.listen(vault.engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    batch = reader.mapper.to_domain_events(notifications)  # type: ignore[attr-defined]
    assert len([q for q in queries if "member_keys" in q]) == 1
    one_by_one = [process()[0].mapper.to_domain_event(n) for n in notifications]
    assert [vars(e) for e in batch] == [vars(e) for e in one_by_one]
    decoded = {e.originator_id: getattr(e, "name", None) for e in batch if hasattr(e, "name")}
    assert decoded[members[0]] == "欧阳娜娜" and decoded[members[2]] == ERASED
    corrections = [getattr(e, "changes", {}) for e in batch if e.originator_id == members[1]]
    assert corrections[-1].get("name") == "张三丰"
    writer.close()
    reader.close()


def test_memo_decoding_decodes_as_the_json_transcoder(memory_ledger: Ledger) -> None:
    """Ids and dates are built once and shared (issue #6, P3); the values are those of eventsourcing's."""
    from datetime import date, datetime
    from decimal import Decimal

    from infra.personal import MemoDecoding

    transcoder = memory_ledger.construct_transcoder()
    memo = MemoDecoding(transcoder)  # type: ignore[arg-type]
    member = uuid4()
    value = {
        "ids": [member, member, {"nested": member}],
        "day": date(2025, 3, 1),
        "at": datetime(2025, 3, 1, 8, 30),
        "amount": Decimal("1.50"),
        "_type_": "not a transcoding",
        "plain": {"_type_": "x", "_data_": 1, "more": 2},
    }
    encoded = transcoder.encode(value)
    assert memo.encode(value) == encoded
    assert memo.decode(encoded) == transcoder.decode(encoded) == value
    again = memo.decode(encoded)
    assert again["ids"][0] is again["ids"][1] is memo.decode(encoded)["ids"][2]["nested"]


def test_the_key_cache_is_bounded_whatever_the_number_of_members(tmp_path: Path) -> None:
    """Issue #6 (P7): a rebuild reads every member's key; the process keeps at most ``capacity`` of them
    and drops the expired ones, and a dropped key is read again from ``member_keys``, unchanged."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'keys.sqlite'}", demo_when_empty=False)
    now = [0.0]
    vault = KeyVault(read_engine(settings), cache_seconds=60, clock=lambda: now[0], capacity=3)
    vault.setup()
    members = [uuid4() for _ in range(10)]
    made = {m: vault.key(m, create=True) for m in members}
    assert vault.cached == 3
    assert vault.keys(members) == made  # the seven dropped ones read back, the same keys
    assert vault.cached == 3
    now[0] = 61.0  # every cached key has expired: caching one more drops them
    assert vault.key(members[0], create=False) == made[members[0]]
    assert vault.cached == 1
