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
