"""``dangjian serve --workers N`` (issue #6, P1/P5): N API processes, each with **its own listening socket**
on the same address (``SO_REUSEPORT``), so the kernel spreads the connections over the processes.

uvicorn's own ``--workers`` shares one socket between its processes, and the process that wakes first
accepts the whole burst (asyncio accepts up to 100 connections at a time): the bench's 16 keep-alive
clients all landed on one process, the other served nothing (seen in its collector's log, 2026-11-30).
With one socket each, the kernel picks a socket per connection by a hash of its addresses.

The supervisor here restarts a process that dies after it started up (as uvicorn's does), stops every
process on SIGTERM or SIGINT, and gives up with exit status 1 when a process dies within its first
``STARTUP_SECONDS`` (a port taken, a database missing): restarting that would only loop. Linux only
(``SO_REUSEPORT`` balances connections there).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

STARTUP_SECONDS = 10.0
APP = "infra.cli:worker_app"  # a uvicorn factory: each process builds its own container


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other processes may bind too (``SO_REUSEPORT``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _one_process(host: str, port: int, access_log: bool) -> None:
    import uvicorn

    sock = listening_socket(host, port)
    config = uvicorn.Config(APP, factory=True, host=host, port=port, access_log=access_log)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(workers: int, *, host: str, port: int, access_log: bool) -> int:
    """Run ``workers`` API processes until SIGTERM or SIGINT; return the exit status."""
    context = multiprocessing.get_context("spawn")  # no state of the supervisor leaks into a process
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(target=_one_process, args=(host, port, access_log), daemon=False)
        process.start()
        return process, time.monotonic()

    processes = [start() for _ in range(workers)]
    status = 0
    try:
        while not stop.wait(0.5):
            for i, (process, started) in enumerate(processes):
                if process.is_alive():
                    continue
                if time.monotonic() - started < STARTUP_SECONDS:
                    log.error(
                        "API process %d exited during start-up (status %s)", process.pid, process.exitcode
                    )
                    status = 1
                    stop.set()
                    break
                log.warning(
                    "API process %d exited (status %s); starting another", process.pid, process.exitcode
                )
                processes[i] = start()
    finally:
        for process, _ in processes:
            if process.is_alive():
                process.terminate()  # uvicorn finishes the requests in flight, then exits
        for process, _ in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
    return status
