"""A lean HTTP/1.1 load client for P1 and P5 (issue #6): asyncio, one keep-alive connection per client.

A thread per client with httpx costs about a millisecond of CPU per request, so on 2 cores the load
client itself capped what the harness could measure. Here each client is a coroutine writing raw
requests on its own persistent loopback connection and reading ``Content-Length`` bodies: tens of
microseconds per request, so the server is what is measured. Only ``http://`` loopback URLs.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Request = Callable[[int, int], tuple[str, str, bytes | None]]
"""(client index, request index) → (method, path, JSON body or None)."""


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


def _message(method: str, path: str, fixed: str, body: bytes | None) -> bytes:
    extra = ""
    if body is not None:
        extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return f"{method} {path} HTTP/1.1\r\n{fixed}{extra}\r\n".encode() + (body or b"")


async def _client(
    index: int,
    host: str,
    port: int,
    headers: dict[str, str],
    request: Request,
    expect: int,
    count: int,
    seconds: float,
    clients: int,
    ready: list[int],
    all_ready: asyncio.Event,
    gate: asyncio.Event,
    out: Outcome,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    fixed = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
    try:
        # One request before the clock starts: FastAPI builds an included router's routes on the first
        # request that reaches it (about 100 routes: seconds on a loaded machine), a one-time cost.
        method, path, body = request(index, count)  # an index the loop below does not use
        writer.write(_message(method, path, fixed, body))
        await _read_response(reader)
        ready.append(index)
        if len(ready) == clients:
            all_ready.set()
        await gate.wait()
        deadline = time.monotonic() + seconds
        for i in range(count):
            if time.monotonic() >= deadline:
                return
            method, path, body = request(index, i)
            message = _message(method, path, fixed, body)
            t0 = time.perf_counter()
            try:
                writer.write(message)
                status, _ = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status = 0
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            out.latencies.append(time.perf_counter() - t0)
            out.statuses[status] = out.statuses.get(status, 0) + 1
            if status != expect:
                out.errors += 1
    finally:
        writer.close()


async def _run(
    url: str,
    clients: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str],
    request: Request,
    expect: int,
) -> tuple[Outcome, float]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"only http:// on a loopback address may be loaded, not {url}")
    out = Outcome()
    gate = asyncio.Event()
    per_client = max(1, max_requests // clients)
    host, port = parts.hostname, parts.port or 80
    ready: list[int] = []
    all_ready = asyncio.Event()
    tasks = [
        asyncio.create_task(
            _client(
                i,
                host,
                port,
                headers,
                request,
                expect,
                per_client,
                seconds,
                clients,
                ready,
                all_ready,
                gate,
                out,
            )
        )
        for i in range(clients)
    ]
    await asyncio.wait_for(all_ready.wait(), 120)  # every client connected and warmed up
    started = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    return out, time.perf_counter() - started


def run(
    url: str,
    clients: int,
    seconds: float,
    max_requests: int,
    headers: dict[str, str],
    request: Request,
    expect: int,
) -> tuple[Outcome, float]:
    """Load ``url`` with ``clients`` connections until ``seconds`` or ``max_requests``: each request's
    latency and status, and the seconds from the first request to the last answer."""
    try:
        import uvloop

        runner: Callable[..., tuple[Outcome, float]] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    out, elapsed = runner(_run(url, clients, seconds, max_requests, headers, request, expect))
    return out, elapsed


def dumps(body: Mapping[str, object]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
