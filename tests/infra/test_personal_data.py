"""Personal data (issue #7 point 3): encrypted inside the stored events with a key per member, and
erased by destroying the key. After erasure the whole database is dumped (``iterdump`` on SQLite,
``COPY`` of every table on PostgreSQL, plus the raw bytes of every binary column, the event payloads
included) and none of the member's personal data is found in any encoding, while the same search
finds a member who was not erased. Every statistic is the same before and after, and after a rebuild.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import openpyxl
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from domain.application import Ledger
from domain.envelope import CommandContext
from domain.personal import ERASED, WITHHELD
from domain.values import Affiliation, TransferScope
from infra.cli import app
from infra.personal import TOKEN_PREFIX, member_keys
from infra.settings import Settings
from infra.store import Container, build
from tests import factories as f
from tests.conftest import PG_URL, TODAY

ERASED_MEMBER = {"name": "欧阳娜娜", "mobile": "13911112222", "household_district": "黑龙江省漠河市"}
CORRECTED_NAME = "欧阳娜"
KEPT_MEMBER = {"name": "司马光明", "mobile": "13733334444", "household_district": "甘肃省敦煌市"}
SECRETS = [*ERASED_MEMBER.values(), CORRECTED_NAME]


def encodings(value: str) -> list[bytes]:
    """Every form a stored text could take: UTF-8, GB18030, JSON escapes, hex of UTF-8 (bytea, BLOB)."""
    utf8 = value.encode()
    escaped = json.dumps(value).strip('"')
    forms = [utf8, value.encode("gb18030"), escaped.encode(), escaped.upper().encode()]
    forms += [utf8.hex().encode(), utf8.hex().upper().encode()]
    return list(dict.fromkeys(form for form in forms if form))


def found(dump: bytes, value: str) -> list[bytes]:
    return [form for form in encodings(value) if form in dump]


def dump_sqlite(path: Path) -> bytes:
    """``iterdump`` of the database file (and of the rebuild area beside it), plus every BLOB raw."""
    parts: list[bytes] = []
    for file in (path, Path(f"{path}.rebuild")):
        if not file.exists():
            continue
        with sqlite3.connect(file) as conn:
            parts.append("\n".join(conn.iterdump()).encode())
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    parts += [bytes(v) for v in row if isinstance(v, bytes | memoryview)]
    return b"\n".join(parts)


def dump_postgres(schema: str) -> bytes:
    """``COPY … TO STDOUT`` of every table of the schema (and its rebuild area), plus every bytea raw."""
    parts: list[bytes] = []
    with psycopg.connect(PG_URL) as conn:
        for name in (schema, f"{schema}_rebuild"):
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (name,)
            ).fetchall()
            for (table,) in tables:
                with conn.cursor().copy(f'COPY "{name}"."{table}" TO STDOUT') as copy:
                    parts += [bytes(block) for block in copy]
                columns = conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s AND data_type = 'bytea'",
                    (name, table),
                ).fetchall()
                for (column,) in columns:
                    for (value,) in conn.execute(f'SELECT "{column}" FROM "{name}"."{table}"'):
                        parts.append(bytes(value or b""))
    return b"\n".join(parts)


def dump(container: Container) -> bytes:
    url = make_url(container.settings.database_url)
    if url.get_backend_name() == "sqlite":
        return dump_sqlite(Path(url.database or ""))
    return dump_postgres(container.settings.database_schema or "public")


def event_payloads(container: Container) -> bytes:
    """The stored events' payloads, as the store holds them."""
    notifications = container.ledger.recorder.select_notifications(start=1, limit=100_000)
    return b"\n".join(n.state for n in notifications)


def history(container: Container) -> tuple[UUID, UUID, UUID, UUID]:
    """Two members on file; the one to erase has a correction, a mobile round and a transfer letter."""
    ledger, ctx = container.ledger, CommandContext.new("association")
    branch = f.establish(ledger, ctx, [], name="南湖区个私协会城西分会党支部")
    business = f.establish(ledger, ctx, [], name="南湖区个私协会新城分会党支部")
    erased = f.register_member(
        ledger,
        ctx,
        [branch],
        affiliation=Affiliation.MOBILE,
        relationship_org_name="漠河市某镇党委",
        **ERASED_MEMBER,
    ).id
    kept = f.register_member(ledger, ctx, [branch], **KEPT_MEMBER).id
    ledger.correct_member(ctx, erased, effective_on=f.DAY, changes={"name": CORRECTED_NAME}, reason="笔误")
    ledger.register_mobile_round(
        ctx, effective_on=TODAY, member_id=erased, year=2025, business_org_id=business
    )
    letter = ledger.issue_transfer_letter(
        ctx,
        effective_on=TODAY,
        member_id=erased,
        letter_number="嘉南组转字第7号",
        stub_ref="存根7",
        receipt_ref="回执7",
        scope=TransferScope.ELSEWHERE,
        to_org_name="漠河市某镇党委二支部",
    ).id
    container.runner.catch_up()
    return erased, kept, branch, letter


FIGURES = [
    ("/reports/half-year", {"region": "330400", "as_of": "2025-06-30"}),
    ("/reports/half-year", {"region": "330400", "as_of": TODAY.isoformat()}),
    ("/coverage", {"region": "330400", "group_by": "region"}),
    ("/statistics/members", {"region": "330400"}),
    ("/statistics/mobile-chain", {"region": "330400", "year": "2025"}),
]


def figures(client: TestClient) -> list[Any]:
    """Every statistic a report or a dashboard shows, without the store position it was read at."""
    answers = []
    for path, params in FIGURES:
        response = client.get(path, params=params)
        assert response.status_code == 200, (path, response.text)
        answers.append(_without_positions(response.json()))
    roster = client.get("/roster", params={"limit": 500}).json()
    answers.append(sorted((m["member_id"], m["category"], m["present"]) for m in roster["members"]))
    return answers


def _without_positions(value: Any) -> Any:
    """The answer without the position it was read at, and without the names a list shows."""
    if isinstance(value, dict):
        return {
            k: _without_positions(v)
            for k, v in value.items()
            if k not in ("position", "as_known_at", "member_name")
        }
    if isinstance(value, list):
        return [_without_positions(v) for v in value]
    return value


def test_personal_fields_are_encrypted_inside_the_stored_events(container: Container) -> None:
    erased, kept, _branch, _letter = history(container)
    payloads = event_payloads(container)
    for value in [*SECRETS, *KEPT_MEMBER.values()]:
        assert not found(payloads, value), value
    assert TOKEN_PREFIX.encode() in payloads
    assert found(payloads, "南湖区某某农贸市场")  # control: the unit name is not personal, and is found
    with container.engine.connect() as conn:
        keys = set(conn.scalars(select(member_keys.c.member_id)))
    assert keys == {erased, kept}  # one key per member
    # the domain sees plaintext while the key exists
    assert container.ledger.get_member(erased).name == CORRECTED_NAME
    assert container.ledger.get_member(kept).mobile == KEPT_MEMBER["mobile"]


def test_erasure_leaves_none_of_the_members_personal_data_in_the_database(
    container: Container, client: TestClient
) -> None:
    erased, kept, _branch, letter = history(container)
    before = figures(client)
    dumped = dump(container)
    # controls: the dump finds personal data where the read side holds it in clear (roster, rounds)
    assert found(dumped, CORRECTED_NAME) and found(dumped, KEPT_MEMBER["name"])

    response = client.post(
        f"/members/{erased}/erasure", json={"effective_on": TODAY.isoformat(), "reason": "本人申请删除"}
    )
    assert response.status_code == 201, response.text

    dumped = dump(container)
    for value in SECRETS:
        assert not found(dumped, value), f"{value} still in the database as {found(dumped, value)}"
    assert found(dumped, KEPT_MEMBER["name"]), "control: the search finds a member who was not erased"
    assert figures(client) == before

    # the member shows as erased everywhere, now and in time travel
    member = client.get(f"/members/{erased}").json()
    assert member["erased"] is True and member["personal_data_erased_on"] == TODAY.isoformat()
    assert {member[k] for k in ("name", "mobile", "household_district")} == {ERASED}
    past = client.get(f"/members/{erased}", params={"as_of": f.DAY.isoformat()}).json()
    assert past["erased"] is True and past["name"] == ERASED
    assert client.get(f"/members/{kept}").json()["name"] == KEPT_MEMBER["name"]
    roster = {m["member_id"]: m for m in client.get("/roster").json()["members"]}
    assert roster[str(erased)]["erased"] is True and roster[str(erased)]["name"] == ERASED
    assert roster[str(kept)]["erased"] is False
    chain = client.get("/statistics/mobile-chain", params={"region": "330400", "year": "2025"}).json()
    assert [r["member_name"] for r in chain["rounds"]] == [ERASED]
    page = client.get(f"/transfer-letters/{letter}/letter.html").text
    assert ERASED in page and not any(found(page.encode(), value) for value in SECRETS)
    workbook = client.get("/reports/half-year.xlsx", params={"region": "330400", "as_of": TODAY.isoformat()})
    assert workbook.status_code == 200, workbook.text
    cells = " ".join(
        str(cell)
        for sheet in openpyxl.load_workbook(io.BytesIO(workbook.content)).worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    )
    assert KEPT_MEMBER["name"] in cells and not any(value in cells for value in SECRETS)
    audit = client.get("/audit", params={"aggregate_id": str(erased)}).json()
    assert any(e["event_type"] == "PersonalDataErased" for e in audit["entries"])
    assert any(e["changes"].get("changes", {}).get("name") == WITHHELD for e in audit["entries"])

    # a rebuild from the events gives the same figures and no plaintext either
    container.runner.rebuild()
    assert figures(client) == before
    dumped = dump(container)
    for value in SECRETS:
        assert not found(dumped, value), value
    assert found(dumped, KEPT_MEMBER["name"])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_sqlite_the_destroyed_key_is_gone_from_the_files_on_disk(
    container: Container, client: TestClient
) -> None:
    """Crypto-shredding holds only if the key itself cannot be read back from the disk: the embedded
    store overwrites deleted rows (secure_delete) and truncates its write-ahead log after an erasure."""
    erased, kept, _branch, _letter = history(container)
    with container.engine.connect() as conn:
        keys = dict(conn.execute(select(member_keys.c.member_id, member_keys.c.key)).all())
    path = Path(make_url(container.settings.database_url).database or "")

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*") if p.is_file())

    assert keys[erased] in on_disk() and keys[kept] in on_disk()  # controls: the search can find a key
    response = client.post(
        f"/members/{erased}/erasure", json={"effective_on": TODAY.isoformat(), "reason": "本人申请删除"}
    )
    assert response.status_code == 201, response.text
    assert keys[erased] not in on_disk()
    assert keys[kept] in on_disk()


def test_an_erased_members_personal_data_cannot_be_entered_again(
    container: Container, client: TestClient
) -> None:
    erased, _kept, _branch, _letter = history(container)
    body = {"effective_on": TODAY.isoformat(), "reason": "本人申请删除"}
    assert client.post(f"/members/{erased}/erasure", json=body).status_code == 201
    again = client.post(f"/members/{erased}/erasure", json=body)
    assert again.status_code == 409 and again.json()["errors"][0]["rule"] == "R13.6"
    correction = client.post(
        f"/members/{erased}/corrections",
        json={"effective_on": TODAY.isoformat(), "name": "欧阳娜娜", "reason": "恢复"},
    )
    assert correction.status_code == 422, correction.text
    problem = correction.json()["errors"][0]
    assert (problem["field"], problem["rule"]) == ("name", "R13.6")
    # the rest of the record still changes (R5.2), and the name stays erased
    suspended = client.post(
        f"/members/{erased}/suspensions", json={"effective_on": TODAY.isoformat(), "reason": "停业装修"}
    )
    assert suspended.status_code == 201, suspended.text
    assert client.get(f"/members/{erased}").json()["name"] == ERASED
    missing = client.post("/members/00000000-0000-0000-0000-000000000000/erasure", json=body)
    assert missing.status_code == 404
    blank = client.post(f"/members/{erased}/erasure", json={"effective_on": TODAY.isoformat()})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"


def test_dangjian_call_erases_a_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The officer's terminal: ``dangjian call POST /members/{id}/erasure`` runs the same command."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("DANGJIAN_DATABASE_URL", url)
    container = build(Settings(database_url=url, demo_when_empty=False))
    try:
        ctx = CommandContext.new("association")
        branch = f.establish(container.ledger, ctx, [], effective_on=f.DAY)
        member = f.register_member(container.ledger, ctx, [branch], **ERASED_MEMBER).id
    finally:
        container.close()
    body = json.dumps({"effective_on": f.DAY.isoformat(), "reason": "本人申请删除"}, ensure_ascii=False)
    erased = CliRunner().invoke(app, ["call", "POST", f"/members/{member}/erasure", "--data", body])
    assert erased.exit_code == 0, erased.output
    shown = json.loads(CliRunner().invoke(app, ["call", "GET", f"/members/{member}"]).output)
    assert shown["erased"] is True and shown["mobile"] == ERASED
    dumped = dump_sqlite(tmp_path / "cli.sqlite")
    assert not any(found(dumped, value) for value in ERASED_MEMBER.values())


def test_the_kafka_envelope_never_carries_personal_data(memory_ledger: Ledger, ctx: CommandContext) -> None:
    """The relay publishes each personal field as 〔个人信息〕: a topic cannot be erased (docs/EVENTS.md)."""
    from infra.relay import outbound

    branch = f.establish(memory_ledger, ctx, [])
    member = f.register_member(memory_ledger, ctx, [branch], **ERASED_MEMBER).id
    memory_ledger.correct_member(
        ctx, member, effective_on=f.DAY, changes={"name": CORRECTED_NAME}, reason="笔误"
    )
    notifications = memory_ledger.recorder.select_notifications(start=1, limit=10)
    messages = [outbound(memory_ledger.mapper.to_domain_event(n), n.id, n.topic) for n in notifications]
    published = b"\n".join(m.value + b"".join(v for _, v in m.headers) for m in messages)
    for value in SECRETS:
        assert not found(published, value), value
    registered = json.loads(messages[1].value)
    assert registered["data"]["name"] == WITHHELD and registered["data"]["unit_name"] == "南湖区某某农贸市场"
    assert json.loads(messages[2].value)["data"]["changes"] == {"name": WITHHELD}
