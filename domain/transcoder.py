"""A faster JSON transcoder for the stored events, byte for byte the same as eventsourcing's.

eventsourcing's ``JSONTranscoder.encode`` builds a new C encoder for every event (``json``'s
``iterencode``) and, for every UUID, date and datetime, calls back into Python to build a fresh
``{"_type_", "_data_"}`` object: about as long as making the aggregate itself (issue #6, P2).
``FastJSONTranscoder`` makes the C encoder once, with the very same settings, and remembers the
``{"_type_", "_data_"}`` object of the immutable values a batch repeats (ids, dates), so the text is
exactly what ``JSONTranscoder`` writes (``tests/domain/test_transcoder.py`` compares them).
Decoding is eventsourcing's, unchanged.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Transcoding, TranscodingNotRegisteredError

_MEMO_TYPES = (UUID, date)  # immutable, repeated across a batch, one text per value (not Decimal)
_MEMO_LIMIT = 50_000


class FastJSONTranscoder(JSONTranscoder):
    """``JSONTranscoder`` whose ``encode`` reuses one C encoder and memoises ids and dates."""

    def __init__(self) -> None:
        super().__init__()
        self._memo: dict[Any, dict[str, Any]] = {}
        self._local = threading.local()  # a C encoder is not meant to be shared between threads
        c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
        self._make = c_make_encoder

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        self._memo.clear()

    def _c_encoder(self) -> Any:
        encoder = getattr(self._local, "encoder", None)
        if encoder is None:
            # the arguments ``json.JSONEncoder.iterencode`` passes for ``separators=(",", ":")``,
            # ``ensure_ascii=False`` (markers=None: events hold no cycles to detect)
            encoder = self._local.encoder = self._make(
                None,
                self._default,
                json.encoder.encode_basestring,
                None,
                ":",
                ",",
                False,
                False,
                True,
            )
        return encoder

    def encode(self, obj: Any) -> bytes:
        if self._make is None:  # pragma: no cover - CPython always has the C encoder
            return super().encode(obj)
        return "".join(self._c_encoder()(obj, 0)).encode("utf8")

    def _default(self, o: Any) -> dict[str, Any]:
        memo = self._memo.get(o) if type(o) in _MEMO_TYPES else None
        if memo is not None:
            return memo
        transcoding = self.types.get(type(o))
        if transcoding is None:
            raise TranscodingNotRegisteredError(
                f"Object of type {type(o)} is not serializable. Please define and register "
                "a custom transcoding for this type."
            )
        encoded = {"_type_": transcoding.name, "_data_": transcoding.encode(o)}
        if type(o) in _MEMO_TYPES:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[o] = encoded
        return encoded
