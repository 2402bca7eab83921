"""Crypto-shredding of members' personal data (issue #7): a key per member, AES-GCM inside the events.

``PersonalDataMapper`` is eventsourcing's ``Mapper`` with one step added at the persistence boundary:
before an event is transcoded, each personal field it declares (``domain.personal``) is replaced by
``aesgcm:v1:`` + base64(nonce ‖ ciphertext ‖ tag), encrypted with AES-256-GCM under the member's own
key, with the member's id as associated data (a ciphertext moved to another member does not decrypt).
Reading decrypts them again, so aggregates, projections and the API see plaintext while the key
exists; once it is destroyed every such field reads ``ERASED``. The erasure marker itself is stored in
clear: it is not personal data, and storing it needs no key.

``KeyVault`` keeps the keys in the table ``member_keys`` (member id, 32-byte key, created at), in the
event store's database and schema: the one table where the application deletes rows. A key is made
when a member's first personal field is stored and deleted on erasure. Keys are cached in the process
for ``cache_seconds``, at most ``capacity`` of them (the least recently cached are dropped: a rebuild
reads every member's key, issue #6 P7); a process forgets a member's key at once when it reads the member's
``PersonalDataErased`` event, so a projection never decrypts anything after the erasure it has seen.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    UUIDAsHex,
)
from sqlalchemy import Column, DateTime, Engine, LargeBinary, MetaData, Table, Uuid, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from domain.commands.base import DateAsISO
from domain.personal import ERASED, PersonalData, personal_data_of

TOKEN_PREFIX = "aesgcm:v1:"
NONCE_BYTES = 12

key_metadata = MetaData()
member_keys = Table(
    "member_keys",
    key_metadata,
    Column("member_id", Uuid, primary_key=True),
    Column("key", LargeBinary, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


class KeyVault:
    """The members' keys, in ``member_keys`` beside the event store (see the module docstring)."""

    CAPACITY = 10_000
    """Keys cached at most: about 3 MB. Unbounded, the cache held every member's key a rebuild had read
    (issue #6, P7: memory whatever the history length; about 260 bytes a member, 24 MB for the 93,127
    members of scale 0.1, about 240 MB at scale 1.0)."""

    def __init__(
        self,
        engine: Engine,
        cache_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = CAPACITY,
    ) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self.clock = clock
        self.capacity = capacity
        self._cache: OrderedDict[UUID, tuple[bytes, float]] = OrderedDict()
        """In the order they were cached, so the expired and the oldest are at the front."""
        self._lock = threading.Lock()

    @property
    def cached(self) -> int:
        """How many keys this process holds."""
        return len(self._cache)

    def _remember(self, member_id: UUID, key: bytes, now: float) -> None:
        """Cache a key (under the lock), dropping the expired keys and those beyond ``capacity``."""
        self._cache[member_id] = (key, now)
        self._cache.move_to_end(member_id)
        while self._cache:
            _, (_, cached_at) = next(iter(self._cache.items()))
            if len(self._cache) <= self.capacity and now - cached_at < self.cache_seconds:
                break
            self._cache.popitem(last=False)

    def setup(self) -> None:
        """Create ``member_keys`` if it is missing."""
        key_metadata.create_all(self.engine)

    def key(self, member_id: UUID, *, create: bool) -> bytes | None:
        """The member's key; made (once, even under concurrency) when ``create`` and none exists."""
        with self._lock:
            cached = self._cache.get(member_id)
        if cached is not None and self.clock() - cached[1] < self.cache_seconds:
            return cached[0]
        query = select(member_keys.c.key).where(member_keys.c.member_id == member_id)
        with self.engine.begin() as conn:
            key = conn.scalar(query)
            if key is None and create:
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                row = {"member_id": member_id, "key": AESGCM.generate_key(256), "created_at": _now()}
                conn.execute(dialect.insert(member_keys).values(**row).on_conflict_do_nothing())
                key = conn.scalar(query)
        if key is None:
            return None
        with self._lock:
            self._remember(member_id, bytes(key), self.clock())
        return bytes(key)

    def keys(self, member_ids: Collection[UUID]) -> dict[UUID, bytes]:
        """The existing keys of ``member_ids``: cached ones, the rest read with one query (issue #6,
        P3: a rebuild decodes a batch of events at a time, and a cold key costs a round trip each)."""
        now = self.clock()
        found: dict[UUID, bytes] = {}
        with self._lock:
            for member_id in member_ids:
                cached = self._cache.get(member_id)
                if cached is not None and now - cached[1] < self.cache_seconds:
                    found[member_id] = cached[0]
        missing = sorted(set(member_ids) - found.keys())
        if missing:
            query = select(member_keys.c.member_id, member_keys.c.key)
            with self.engine.begin() as conn:
                for i in range(0, len(missing), 500):  # SQLite's variable limit
                    chunk = missing[i : i + 500]
                    for member_id, key in conn.execute(query.where(member_keys.c.member_id.in_(chunk))):
                        found[member_id] = bytes(key)
            with self._lock:
                for member_id in missing:
                    if member_id in found:
                        self._remember(member_id, found[member_id], now)
        return found

    def prepare_keys(self, member_ids: Collection[UUID]) -> None:
        """Make sure every one of ``member_ids`` has a key, and cache them: one query to read and
        one insert for the missing, not a round trip per member (a bulk import, issue #6 P2)."""
        missing = sorted(set(member_ids) - self.keys(member_ids).keys())
        if not missing:
            return
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            for i in range(0, len(missing), 200):  # SQLite's variable limit (3 a row)
                rows = [
                    {"member_id": m, "key": AESGCM.generate_key(256), "created_at": _now()}
                    for m in missing[i : i + 200]
                ]
                conn.execute(dialect.insert(member_keys).values(rows).on_conflict_do_nothing())
        self.keys(missing)  # a concurrent writer's key, if it won, is the one cached

    def destroy(self, member_id: UUID) -> None:
        """Delete the member's key: every stored copy of its personal data becomes unreadable."""
        self.forget(member_id)
        with self.engine.begin() as conn:
            conn.execute(delete(member_keys).where(member_keys.c.member_id == member_id))
        if self.engine.dialect.name == "sqlite":
            # secure_delete zeroed the key's page; the -wal file may still hold earlier copies of it
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        self.forget(member_id)

    def forget(self, member_id: UUID) -> None:
        """Drop the member's key from this process's cache."""
        with self._lock:
            self._cache.pop(member_id, None)

    def mapper(self, transcoder: Transcoder) -> PersonalDataMapper:
        return PersonalDataMapper(transcoder, self)


class PersonalDataMapper(Mapper[UUID]):
    """eventsourcing's mapper, encrypting each event's personal fields with the member's key."""

    def __init__(
        self,
        transcoder: Transcoder,
        vault: KeyVault,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        if isinstance(transcoder, JSONTranscoder):
            transcoder = MemoDecoding(transcoder)
        super().__init__(transcoder, compressor, cipher)
        self.vault = vault

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        spec = personal_data_of(type(domain_event))
        if spec is None:
            return super().to_stored_event(domain_event)
        state = _copy(dict(vars(domain_event)))
        member_id = spec.subject_of(state)
        for _path, holder, name in spec.locate(state):
            value = holder[name]
            if isinstance(value, str) and value != ERASED:
                key = self.vault.key(member_id, create=True)
                if key is None:  # cannot happen: ``create`` makes it
                    raise RuntimeError(f"no key for member {member_id}")
                holder[name] = encrypt(key, member_id, value)
        clone = object.__new__(type(domain_event))
        object.__setattr__(clone, "__dict__", state)
        return super().to_stored_event(clone)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return self.to_domain_events([stored_event])[0]

    def to_domain_events(self, stored_events: Sequence[StoredEvent]) -> list[DomainEventProtocol[UUID]]:
        """Decode events in order, reading the keys they need with one query for all of them (issue
        #6, P3); the same as ``to_domain_event`` on each in turn, erasures included."""
        events = [super(PersonalDataMapper, self).to_domain_event(s) for s in stored_events]
        specs = [personal_data_of(type(event)) for event in events]
        keys = self.vault.keys(
            {spec.subject_of(vars(event)) for event, spec in zip(events, specs, strict=True) if spec}
        )
        for event, spec, stored_event in zip(events, specs, stored_events, strict=True):
            if getattr(type(event), "erases_personal_data", False):
                self.vault.forget(event.originator_id)  # never decrypt after an erasure seen here
                keys.pop(event.originator_id, None)
            if spec is not None:
                self._decrypt(event, spec, keys, stored_event)
        return events

    @staticmethod
    def _decrypt(
        event: DomainEventProtocol[UUID], spec: PersonalData, keys: dict[UUID, bytes], stored: StoredEvent
    ) -> None:
        state = vars(event)  # a fresh dict of this event alone (see Mapper.to_domain_event)
        member_id = spec.subject_of(state)
        for path, holder, name in spec.locate(state):
            value = holder[name]
            if not (isinstance(value, str) and value.startswith(TOKEN_PREFIX)):
                continue  # the erasure marker, or stored before encryption began
            key = keys.get(member_id)
            if key is None:
                holder[name] = ERASED
                continue
            try:
                holder[name] = decrypt(key, member_id, value)
            except (InvalidTag, ValueError) as e:
                raise MapperDeserialisationError(
                    f"{path} of {stored.topic} {stored.originator_id} "
                    f"v{stored.originator_version} does not decrypt with member {member_id}'s key"
                ) from e


class MemoDecoding(Transcoder):
    """A JSON transcoder that decodes each distinct id and date once (issue #6, P3): the ids of
    organisations, members and correlations and the business dates recur from event to event, and
    building a ``UUID`` costs about as much as decoding the rest of the event. Both types are
    immutable, so events may share them. Encoding is the wrapped transcoder's."""

    LIMIT = 100_000  # values remembered; forgotten all at once beyond it

    def __init__(self, inner: JSONTranscoder) -> None:
        self.inner = inner
        self._memoised = {
            name
            for name, kind in (("uuid_hex", UUIDAsHex), ("date_iso", DateAsISO))
            if type(inner.names.get(name)) is kind
        }
        self._memo: dict[tuple[str, str], Any] = {}
        self._decoder = json.JSONDecoder(object_hook=self._decode_obj)

    def encode(self, obj: Any) -> bytes:
        return self.inner.encode(obj)

    def decode(self, data: bytes) -> Any:
        return self._decoder.decode(data.decode("utf8"))

    def _decode_obj(self, d: dict[str, Any]) -> Any:
        if len(d) == 2:
            name, data = d.get("_type_"), d.get("_data_")
            if name in self._memoised and type(data) is str:
                key = (name, data)
                value = self._memo.get(key)
                if value is None:
                    if len(self._memo) >= self.LIMIT:
                        self._memo.clear()
                    value = self._memo[key] = self.inner._decode_obj(d)
                return value
        return self.inner._decode_obj(d)


def encrypt(key: bytes, member_id: UUID, plaintext: str) -> str:
    """AES-256-GCM under the member's key; the member's id is the associated data."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), member_id.bytes)
    return TOKEN_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(key: bytes, member_id: UUID, token: str) -> str:
    raw = base64.b64decode(token.removeprefix(TOKEN_PREFIX), validate=True)
    return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], member_id.bytes).decode()


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
