"""API tokens: opaque keys stored only as a SHA-256 hash, in the table ``api_tokens`` beside the read
tables (created by ``infra.store.build``). ``dangjian token issue`` prints a token once; nobody can read it
back. See docs/SECURITY.md."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, select, update

PREFIX = "dj_"

metadata = MetaData()

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("actor", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("scope", String(60), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``dangjian token list`` shows it: never the secret."""

    token_id: str
    actor: str
    role: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def issue(engine: Engine, actor: str, role: str, scope: str) -> tuple[str, str]:
    """Store a new token's hash; answer ``(token_id, token)``. The token is shown once, here. The
    caller has checked ``role`` and ``scope`` (``api.auth.Role``, ``api.auth.Scope.parse``)."""
    if not actor.strip() or len(actor) > 100:
        raise ValueError("the actor is a name of 1 to 100 characters")
    token = PREFIX + secrets.token_urlsafe(32)
    token_id = uuid.uuid4().hex[:12]
    with engine.begin() as conn:
        conn.execute(
            api_tokens.insert().values(
                token_id=token_id,
                token_hash=digest(token),
                actor=actor.strip(),
                role=role,
                scope=scope,
                created_at=_now(),
            )
        )
    return token_id, token


def revoke(engine: Engine, token_id: str) -> bool:
    """Revoke a token by its id; answers whether a live token was revoked. This process forgets its
    cached lookups at once; other API processes within their ``cache_seconds`` (``lookup``)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
    _cache.forget(engine)
    return bool(result.rowcount)


def listing(engine: Engine) -> list[TokenInfo]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                api_tokens.c.token_id,
                api_tokens.c.actor,
                api_tokens.c.role,
                api_tokens.c.scope,
                api_tokens.c.created_at,
                api_tokens.c.revoked_at,
            ).order_by(api_tokens.c.created_at, api_tokens.c.token_id)
        ).all()
    return [TokenInfo(*row) for row in rows]


def is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(api_tokens.c.token_id).limit(1)).first() is None


Found = tuple[str, str, str]


class _LookupCache:
    """Live tokens found recently, per engine, by hash (issue #6, P5: one query less per request).

    Only live tokens are kept, so an unknown token is looked up every time (a new token works at
    once) and a cached one lives ``cache_seconds`` at most: a revocation by another process (``dangjian
    token revoke``) takes effect within that time (docs/SECURITY.md S1)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._found: weakref.WeakKeyDictionary[Engine, dict[str, tuple[float, Found]]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, engine: Engine, key: str) -> Found | None:
        with self._lock:
            entry = self._found.get(engine, {}).get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def put(self, engine: Engine, key: str, found: Found, seconds: float) -> None:
        with self._lock:
            entries = self._found.setdefault(engine, {})
            if len(entries) >= self.capacity:
                entries.clear()
            entries[key] = (time.monotonic() + seconds, found)

    def forget(self, engine: Engine) -> None:
        """Drop what every engine on the same database (any schema: dropping more is safe) keeps."""
        with self._lock:
            for other in [e for e in self._found if e.url == engine.url]:
                self._found.pop(other, None)


_cache = _LookupCache()


def well_formed(token: str) -> bool:
    """Whether ``token`` could be one of ours at all (no lookup for anything else)."""
    return token.startswith(PREFIX) and len(token) <= 200


def cached(engine: Engine, token: str, cache_seconds: float) -> Found | None:
    """What ``lookup`` would answer for a live token found in the last ``cache_seconds``, without a
    query; None: not known here, so ``lookup`` must ask the database. Lets the API check a token on
    the event loop and go to a worker thread only on a miss (issue #6, P1)."""
    if cache_seconds <= 0 or not well_formed(token):
        return None
    return _cache.get(engine, digest(token))


def lookup(engine: Engine, token: str, cache_seconds: float = 0.0) -> Found | None:
    """``(actor, role, scope)`` of a live token; None for an unknown or revoked token. With
    ``cache_seconds`` a live token found in the last that many seconds is not looked up again, unless
    ``revoke`` ran in this process since."""
    if not well_formed(token):
        return None
    key = digest(token)
    if cache_seconds > 0 and (hit := _cache.get(engine, key)) is not None:
        return hit
    with engine.connect() as conn:
        row = conn.execute(
            select(api_tokens.c.actor, api_tokens.c.role, api_tokens.c.scope).where(
                api_tokens.c.token_hash == key, api_tokens.c.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        return None
    found = (row.actor, row.role, row.scope)
    if cache_seconds > 0:
        _cache.put(engine, key, found, cache_seconds)
    return found
