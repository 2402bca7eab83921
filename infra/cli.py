"""The ``dangjian`` command line: serve the API, load the demo data, run and rebuild projections."""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from infra.settings import Settings
from infra.store import Container, build, is_app_role, is_sqlite

app = typer.Typer(help="dangjian: event-sourced ledger of 小个专 party building.", no_args_is_help=True)
console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@contextmanager
def _phases_shown() -> Iterator[None]:
    """Within it, the projections' INFO records (a rebuild's phases and how long each took, its
    processes' too) are printed above the progress bars (issue #6, P3)."""
    logger = logging.getLogger("projections")
    handler = RichHandler(console=console, show_level=False, show_path=False)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _load_demo(container: Container) -> None:
    from infra.demo import demo_event_estimate, load_demo

    with _progress() as progress:
        task = progress.add_task("demo data", total=demo_event_estimate())
        summary = load_demo(container.ledger, progress=lambda n: progress.update(task, completed=n))
        progress.update(task, total=progress.tasks[0].completed)
    console.print(
        f"demo: {summary.entities} entities, {summary.organizations} organisations "
        f"({summary.market_organizations} market), {summary.members} members"
    )


def _reporter(progress: Progress, verb: str) -> Callable[[str, int, int], None]:
    """A runner progress callback that keeps one bar per projection."""
    tasks: dict[str, TaskID] = {}

    def report(name: str, position: int, head: int) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(f"{verb} {name}", total=head)
        progress.update(tasks[name], completed=position, total=head)

    return report


def _catch_up(container: Container) -> None:
    with _progress() as progress:
        container.runner.catch_up(progress=_reporter(progress, "projection"))


def _first_admin_token(container: Container) -> None:
    """On an empty token table, issue an admin token and show it once. On the embedded SQLite store it
    is also written beside the database (``var/admin.token``, mode 0600) for ``make run``."""
    import os
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from api import tokens

    if not tokens.is_empty(container.engine):
        return
    if not is_sqlite(container.settings):
        console.print("no API token yet: issue one with `dangjian token issue --actor NAME --role admin`")
        return
    token_id, token = tokens.issue(container.engine, "admin", "admin", "*")
    path = Path(make_url(container.settings.database_url).database or "var/dangjian.sqlite").parent
    file = path / "admin.token"
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    os.chmod(file, 0o600)
    console.print(f"admin token {token_id} (shown once, also in {file}): {token}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default from settings)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings)")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="API processes (default: settings; above 1 needs PostgreSQL)")
    ] = None,
) -> None:
    """Serve the HTTP API; on an empty embedded store, load the demo data first."""
    import uvicorn

    from api.main import create_app

    settings = Settings()
    container = build(settings)
    demo_when_empty = is_sqlite(settings) if settings.demo_when_empty is None else settings.demo_when_empty
    if demo_when_empty and container.runner.head() == 0:
        _load_demo(container)
    if settings.projections == "inline":
        _catch_up(container)
    _first_admin_token(container)
    workers = workers or settings.workers
    if workers > 1 and is_sqlite(settings):
        console.print("[red]--workers above 1 needs PostgreSQL[/red]: SQLite has one writer")
        raise typer.Exit(2)
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(
        f"dangjian on http://{bind_host}:{bind_port} ({settings.database_url}, "
        f"{workers} worker{'s' if workers > 1 else ''})"
    )
    address = {"host": bind_host, "port": bind_port, "access_log": settings.access_log}  # off: less CPU (P1)
    if workers > 1:  # each process builds its own container from the same settings (``worker_app``)
        from infra.serving import run_workers

        container.close()
        # one listening socket each (infra/serving.py)
        status = run_workers(workers, host=bind_host, port=bind_port, access_log=settings.access_log)
        if status:
            raise typer.Exit(status)
        return
    try:
        api = create_app(container.parts(inline=settings.projections == "inline"))
        settle_heap()
        uvicorn.run(api, **address)  # type: ignore[arg-type]
    finally:
        container.close()


def worker_app() -> Any:
    """The app of one of ``dangjian serve --workers N``'s processes (a uvicorn factory)."""
    from api.main import create_app

    settings = Settings()
    container = build(settings, setup=False)  # ``serve`` set the store up before starting the processes
    api = create_app(container.parts(inline=settings.projections == "inline"))
    settle_heap()
    return api


@app.command()
def demo(
    force: Annotated[bool, typer.Option(help="Load even if the store already has events")] = False,
) -> None:
    """Load the demo data set (a city like Jiaxing) through the domain commands."""
    container = build()
    try:
        if container.runner.head() and not force:
            console.print("[red]the store is not empty[/red]; use --force to add the demo anyway")
            raise typer.Exit(1)
        _load_demo(container)
        _catch_up(container)
    finally:
        container.close()


@app.command()
def project(
    once: Annotated[bool, typer.Option(help="Catch up once and exit")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls")] = 0.5,
) -> None:
    """Run the projections: follow the event store and keep the read tables up to date."""
    container = build()
    try:
        _catch_up(container)
        settle_heap()
        while not once:
            container.runner.catch_up()
            time.sleep(interval)
    finally:
        container.close()


@app.command()
def rebuild(
    names: Annotated[list[str] | None, typer.Argument(help="Projections to rebuild (default: all)")] = None,
    restart: Annotated[
        bool, typer.Option(help="Discard an interrupted rebuild instead of resuming it")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(help="Processes replaying side by side (PostgreSQL; default: DANGJIAN_REBUILD_JOBS)"),
    ] = None,
) -> None:
    """Rebuild projections beside the live tables, then switch atomically; the API keeps serving.

    An interrupted rebuild resumes where it stopped when run again.
    """
    container = build()
    try:
        unknown = set(names or ()) - set(container.runner.projections)
        if unknown:
            console.print(f"[red]unknown projection(s)[/red]: {', '.join(sorted(unknown))}")
            raise typer.Exit(2)
        with _phases_shown(), _progress() as progress:
            applied = container.runner.rebuild(
                names,
                progress=_reporter(progress, "rebuild"),
                restart=restart,
                jobs=jobs or container.settings.rebuild_jobs,
            )
        console.print(
            f"rebuilt {', '.join(names or container.runner.projections)}: {applied} events replayed"
        )
    finally:
        container.close()


@app.command()
def report(
    as_of: Annotated[str, typer.Option("--as-of", help="Cut-off date, e.g. 2025-06-30 (R3)")],
    as_known_at: Annotated[
        str | None, typer.Option("--as-known-at", help="Only what was recorded by then (ISO moment, UTC)")
    ] = None,
    region: Annotated[str, typer.Option(help="6-digit region code")] = "330400",
    format: Annotated[str, typer.Option(help="json, csv or xlsx (xlsx needs --output)")] = "json",
    output: Annotated[str | None, typer.Option(help="Write to this file instead of the screen")] = None,
    organizations: Annotated[
        bool, typer.Option(help="List every organisation in the members, compliance and volunteers sections")
    ] = False,
) -> None:
    """The half-year report (R3): every figure for a region and its children, as of a date, as known then."""
    import json
    from datetime import date, datetime
    from pathlib import Path

    from projections.report import half_year_report, is_cut_off, to_csv
    from projections.temporal import ALL_KNOWN

    if format not in ("json", "csv", "xlsx") or (format == "xlsx" and not output):
        console.print("[red]--format is json, csv or xlsx; xlsx needs --output F[/red]")
        raise typer.Exit(2)
    container = build()
    try:
        container.runner.catch_up()
        day = date.fromisoformat(as_of)
        moment = datetime.fromisoformat(as_known_at) if as_known_at else None
        with container.engine.connect() as conn:
            known = container.audit.position_known_at(conn, moment) if moment else ALL_KNOWN
            areas = half_year_report(conn, region, day, known, organizations=organizations)
            if format == "xlsx" and output:  # the official tables as a workbook (projections/exports.py)
                from projections.exports import half_year_workbook, to_xlsx

                Path(output).write_bytes(to_xlsx(half_year_workbook(conn, region, day, known, moment, areas)))
                console.print(f"report written to {output}")
                return
        if format == "csv":
            text = to_csv(areas)
        else:
            document = {
                "region": region,
                "as_of": day.isoformat(),
                "as_known_at": moment.isoformat() if moment else None,
                "official_cut_off": is_cut_off(day),
                "areas": areas,
            }
            text = json.dumps(document, ensure_ascii=False, indent=2)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            console.print(f"report written to {output}")
        else:
            typer.echo(text)
    finally:
        container.close()


import_app = typer.Typer(help="Import records from spreadsheets (issue #8).", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("members")
def import_members_command(
    file: Annotated[str, typer.Argument(help="XLSX or CSV with the 《个体工商户党建信息登记表》 columns")],
    actor: Annotated[str, typer.Option(help="Who records the events")] = "cli-import",
    report: Annotated[str | None, typer.Option(help="Also write the row-by-row report (CSV) here")] = None,
) -> None:
    """Register the members of a spreadsheet row by row through the domain; a re-import records nothing twice.

    Exits 1 when a row was rejected (see the report). Columns and matching: ``infra/importer.py``.
    """
    from pathlib import Path

    from rich.table import Table

    from domain.errors import DomainError
    from infra.importer import import_members

    path = Path(file)
    if not path.is_file():
        console.print(f"[red]no file {file}[/red]")
        raise typer.Exit(2)
    container = build()
    try:
        container.runner.catch_up()  # organisations are resolved by name on the read side
        settle_heap()  # issue #6, P2: the collector's full passes walked the start-up heap (about 20%)
        with _progress() as progress:
            task = progress.add_task(f"import {path.name}", total=None)
            try:
                result = import_members(
                    container.ledger,
                    container.engine,
                    path.read_bytes(),
                    path.name,
                    actor=actor,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
            except DomainError as e:
                console.print(f"[red]{e.rule}: {e.message}[/red]")
                raise typer.Exit(2) from None
        if container.settings.projections == "inline":
            container.runner.catch_up()
        if result.issues:
            table = Table("row", "column", "rule", "message", title=f"{path.name}: problems")
            for issue in result.issues:
                table.add_row(str(issue.row), issue.column, issue.rule, issue.message)
            console.print(table)
        if result.ignored_columns:
            console.print(f"ignored columns: {', '.join(result.ignored_columns)}")
        console.print(
            f"{path.name}: {len(result.rows)} rows, {result.recorded} recorded, "
            f"{result.already_recorded} already recorded, {result.duplicates} duplicates, "
            f"{result.rejected} rejected (correlation id {result.correlation_id})"
        )
        if report:
            Path(report).write_text(result.to_csv(), encoding="utf-8")
            console.print(f"report written to {report}")
        if result.issues:
            raise typer.Exit(1)
    finally:
        container.close()


token_app = typer.Typer(help="API tokens: issue, list, revoke (docs/SECURITY.md).", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("issue")
def token_issue(
    actor: Annotated[str, typer.Option(help="The name recorded as the actor of every event")],
    role: Annotated[
        str, typer.Option(help="admin, association, station, market, agency, auditor or consumer")
    ],
    scope: Annotated[
        str, typer.Option(help="*, a 6-digit region code (330400 or region:330400) or org:UUID")
    ] = "*",
) -> None:
    """Issue a token and print it once; only its SHA-256 hash is stored."""
    from api import tokens
    from api.auth import Role, Scope

    try:
        the_role, the_scope = Role(role), Scope.parse(scope)
    except ValueError as e:
        console.print(f"[red]{e}[/red]; roles: {', '.join(r.value for r in Role)}")
        raise typer.Exit(2) from None
    container = build()
    try:
        token_id, token = tokens.issue(container.engine, actor, the_role.value, str(the_scope))
    finally:
        container.close()
    console.print(f"token {token_id} for {actor} ({the_role.value}, scope {the_scope}); shown once:")
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """List the tokens (never the secrets), one a line: id, actor, role, scope, created, revoked (UTC)."""
    from api import tokens

    container = build()
    try:
        rows = tokens.listing(container.engine)
    finally:
        container.close()
    typer.echo("\t".join(("id", "actor", "role", "scope", "created", "revoked")))
    for t in rows:
        revoked = f"{t.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if t.revoked_at else "-"
        created = f"{t.created_at:%Y-%m-%dT%H:%M:%SZ}"
        typer.echo("\t".join((t.token_id, t.actor, t.role, t.scope, created, revoked)))


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The id `dangjian token list` shows")]) -> None:
    """Revoke a token: from now on it answers 401."""
    from api import tokens

    container = build()
    try:
        revoked = tokens.revoke(container.engine, token_id)
    finally:
        container.close()
    if not revoked:
        console.print(f"[red]no live token {token_id}[/red]")
        raise typer.Exit(1)
    console.print(f"token {token_id} revoked")


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser() or "cli"
    except (KeyError, OSError):  # a container user without a passwd entry
        return "cli"


@app.command()
def call(
    method: Annotated[str, typer.Argument(help="HTTP method: GET or POST")] = "GET",
    path: Annotated[
        str, typer.Argument(help="API path, e.g. /members or /coverage?region=330400")
    ] = "/health",
    data: Annotated[
        str | None, typer.Option(help="JSON body, or @FILE to read it from a file (UTF-8)")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Who records the events (default: the operating-system user)")
    ] = None,
    command_id: Annotated[str | None, typer.Option(help="Makes the command idempotent (a UUID)")] = None,
    list_routes: Annotated[bool, typer.Option("--list", help="List every command and query route")] = False,
) -> None:
    """Run any command or query of the API in-process, with the same validation and RFC 9457 errors.

    Prints the JSON answer; exits 1 when the answer is an error. Example:
    ``dangjian call POST /members --data @form.json``. It needs no token: whoever can run it can open the
    database, so it acts as a local admin (scope ``*``) under the name ``--actor`` or the OS user.
    """
    import json
    import warnings
    from pathlib import Path

    from api.auth import Principal, Role, Scope, current_principal

    with warnings.catch_warnings():  # starlette's notice about httpx is for test suites, not officers
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from api.main import create_app

    settings = Settings()
    container = build(settings)
    try:
        api = create_app(container.parts(inline=settings.projections == "inline"))
        local = Principal(actor or _os_user(), Role.ADMIN, Scope("all"))
        api.dependency_overrides[current_principal] = lambda: local
        client = TestClient(api)
        if list_routes:
            for route_path, operations in client.get("/openapi.json").json()["paths"].items():
                for verb, operation in operations.items():
                    typer.echo(f"{verb.upper():5} {route_path:55} {operation.get('summary', '')}")
            return
        body = None
        if data is not None:
            text = Path(data[1:]).read_text(encoding="utf-8") if data.startswith("@") else data
            body = json.loads(text)
        headers = {}
        if command_id:
            headers["X-Command-ID"] = command_id
        response = client.request(method.upper(), path, json=body, headers=headers)
        typer.echo(json.dumps(response.json(), ensure_ascii=False, indent=2))
        if response.status_code >= 400:
            raise typer.Exit(1)
    finally:
        container.close()


@app.command()
def setup() -> None:
    """Create the event store, the read tables and the relay's position table, then exit (a migration job)."""
    from infra.app_role import grant_app_role
    from infra.relay import relay_metadata

    container = build()
    try:
        relay_metadata.create_all(container.engine)
        role = container.settings.app_role
        if role and not is_sqlite(container.settings) and not is_app_role(container.settings):
            events_table = container.ledger.recorder.events_table_name  # type: ignore[attr-defined]
            secret = container.settings.app_role_password
            password = secret.get_secret_value() if secret else None
            grant_app_role(container.engine, role, events_table, password)
            console.print(f"role {role}: SELECT and INSERT on stored events, no UPDATE, DELETE or TRUNCATE")
        console.print(f"event store and read tables ready ({container.settings.database_url.split('@')[-1]})")
    finally:
        container.close()


def _kafka_servers(settings: Settings) -> str:
    if not settings.kafka_bootstrap_servers:
        console.print("[red]DANGJIAN_KAFKA_BOOTSTRAP_SERVERS is not set[/red]")
        raise typer.Exit(2)
    return settings.kafka_bootstrap_servers


def settle_heap() -> None:
    """Before a long-running loop: collect, then move every object start-up made (modules, the
    container, the clients) into the collector's permanent generation, so a full collection scans
    only what the loop keeps (issue #6, P6: a worker's full collections took up to 179 ms, the relay's
    79 ms, each one a stall of every event in flight)."""
    gc.collect()
    gc.freeze()


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so a worker finishes its batch and exits cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@app.command()
def relay(
    once: Annotated[bool, typer.Option(help="Publish what is recorded so far and exit")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls of the store")] = 0.5,
    ack_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds to wait for the broker to acknowledge a batch")
    ] = 30.0,
) -> None:
    """Publish every event to Kafka in the store's order, at least once (docs/EVENTS.md, "Kafka")."""
    from infra.relay import build_relay

    settings = Settings()
    servers = _kafka_servers(settings)
    container = build(settings)
    try:
        publisher = build_relay(
            container.ledger,
            container.engine,
            servers,
            settings.kafka_topic,
            settings.kafka_partitions,
            ack_timeout=ack_timeout,
        )
        settle_heap()
        try:
            published = publisher.catch_up()
            console.print(f"relay: {published} events read, position {publisher.position()}")
            if not once:
                publisher.run(_stop_on_signals(), interval)
        except BaseException:
            publisher.close(failed=True)  # exit now: the supervisor restarts the relay
            raise
        publisher.close()
    finally:
        container.close()


@app.command()
def ingest(
    once: Annotated[bool, typer.Option(help="Handle what is on the topic now and exit")] = False,
) -> None:
    """Record market-entity registrations and status changes from the registry topic (docs/REGISTRY.md)."""
    from infra.registry import build_ingester

    settings = Settings()
    servers = _kafka_servers(settings)
    container = build(settings)
    try:
        ingester = build_ingester(
            container.ledger,
            servers,
            topic=settings.kafka_registry_topic,
            dead_letter_topic=settings.kafka_registry_dead_letter_topic,
            group=settings.kafka_registry_group,
            partitions=settings.kafka_partitions,
        )
        try:
            handled = ingester.run(None if once else _stop_on_signals(), once=once)
            console.print(f"ingest: {handled} messages handled")
        finally:
            ingester.close()
    finally:
        container.close()


@app.command()
def work(
    once: Annotated[bool, typer.Option(help="Apply what is on the topic now and exit")] = False,
    group: Annotated[
        str, typer.Option(help="Consumer group of the projection workers")
    ] = "dangjian-projections",
    max_poll_interval_ms: Annotated[
        int, typer.Option(help="Kafka max.poll.interval.ms (also the rebalance timeout)")
    ] = 300_000,
    session_timeout_ms: Annotated[int, typer.Option(help="Kafka session.timeout.ms")] = 10_000,
) -> None:
    """Apply the events topic to the read tables, sharing its partitions with the other workers of the
    group (infra/worker.py); the checkpoints in projection_positions keep read-your-writes working."""
    from infra.worker import build_worker

    settings = Settings()
    servers = _kafka_servers(settings)
    container = build(settings)
    try:
        worker = build_worker(
            container.ledger,
            container.engine,
            container.runner.projections.values(),
            servers,
            topic=settings.kafka_topic,
            group=group,
            partitions=settings.kafka_partitions,
            max_poll_interval_ms=max_poll_interval_ms,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(100, min(3000, session_timeout_ms // 3)),
        )
        settle_heap()
        try:
            applied = worker.run(None if once else _stop_on_signals(), once=once)
            console.print(f"work: {applied} events applied, checkpoints at {worker.advance_checkpoints()}")
        finally:
            worker.close()
    finally:
        container.close()


if __name__ == "__main__":
    app()
