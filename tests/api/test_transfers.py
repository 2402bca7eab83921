"""Transfer letters through the HTTP API on both backends (R13.4, R2.3): issue, accept, receipt,
refuse, cancel, re-issue, and the problems that name the field and the rule with nothing written."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient

from infra.store import Container
from tests import factories as f

ACTOR = "association-clerk-chen"  # the actor of the client's token (tests/conftest.py, S4)


def post(client: TestClient, path: str, payload: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    return dict(response.json())


def get(client: TestClient, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_problem(response: Any, status: int, field: str, rule: str | None, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert any(e["field"] == field and e["rule"] == rule for e in problem["errors"]), problem
    if code is not None:
        assert problem["type"].endswith("/" + code), problem


def establish(client: TestClient, name: str) -> str:
    payload = {
        "effective_on": "2025-03-01",
        "name": name,
        "kind": "branch_association",
        "formation": "regional",
        "region_code": "330402",
        "entity_ids": [],
    }
    return str(post(client, "/organizations", payload)["id"])


def setup(client: TestClient) -> tuple[str, str, str]:
    """A sending organisation holding a member's relationship, and a receiving organisation."""
    sender = establish(client, "南湖区个私协会城西分会党支部")
    receiver = establish(client, "秀洲区个私协会新城分会党支部")
    fields = f.member_fields([]) | {"relationship_org_name": "", "relationship_org_id": sender}
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()}
    member = str(post(client, "/members", payload | {"life_org_ids": [sender]})["id"])
    return sender, receiver, member


def letter(member: str, receiver: str | None, **overrides: Any) -> dict[str, Any]:
    return {
        "effective_on": "2025-11-10",
        "member_id": member,
        "letter_number": "嘉南组转字第12号",
        "stub_ref": "存根12",
        "receipt_ref": "回执12",
        "scope": "same_city",
        "to_org_id": receiver,
        **overrides,
    }


def position(container: Container) -> int:
    return int(container.ledger.recorder.max_notification_id() or 0)


def test_R13_4_letter_is_issued_accepted_and_its_receipt_returned(client: TestClient) -> None:
    sender, receiver, member = setup(client)
    issued = post(client, "/transfer-letters", letter(member, receiver))
    letter_id = issued["id"]
    body = get(client, f"/transfer-letters/{letter_id}")
    assert (body["status"], body["valid_until"], body["overdue"]) == ("issued", "2025-11-20", False)
    assert (body["from_org_id"], body["to_org_id"], body["member_id"]) == (sender, receiver, member)
    assert get(client, f"/members/{member}")["relationship_org_id"] == sender  # kept until acceptance
    accepted = post(client, f"/transfer-letters/{letter_id}/acceptance", {"effective_on": "2025-11-15"})
    assert accepted["id"] == letter_id and accepted["position"] > issued["position"]
    moved = get(client, f"/members/{member}")
    assert (moved["relationship_org_id"], moved["relationship_since"]) == (receiver, "2025-11-15")
    post(client, f"/transfer-letters/{letter_id}/receipt", {"effective_on": "2025-11-18"})
    body = get(client, f"/transfer-letters/{letter_id}")
    assert (body["status"], body["closed_on"], body["receipt_returned_on"]) == (
        "accepted",
        "2025-11-15",
        "2025-11-18",
    )
    assert body["closed_by"] == body["receipt_returned_by"] == "association-clerk-chen"


def test_R13_4_second_open_letter_is_a_conflict(client: TestClient, container: Container) -> None:
    _, receiver, member = setup(client)
    post(client, "/transfer-letters", letter(member, receiver))
    before = position(container)
    response = client.post("/transfer-letters", json=letter(member, receiver, letter_number="13"))
    assert_problem(response, 409, "member_id", "R13.4", "TransferLetterAlreadyOpen")
    assert position(container) == before


def test_R13_4_validity_over_three_months_is_rejected(client: TestClient) -> None:
    _, receiver, member = setup(client)
    response = client.post("/transfer-letters", json=letter(member, receiver, valid_days=120))
    assert_problem(response, 422, "valid_days", "R13.4")
    post(client, "/transfer-letters", letter(member, receiver, valid_days=92))


def test_R13_4_blank_letter_part_is_rejected(client: TestClient) -> None:
    _, receiver, member = setup(client)
    response = client.post("/transfer-letters", json=letter(member, receiver, stub_ref=" "))
    assert_problem(response, 422, "stub_ref", "R13.4", "TransferLetterPartMissing")
    response = client.post("/transfer-letters", json=letter(member, receiver, receipt_ref=""))
    assert_problem(response, 422, "receipt_ref", "R13.4")


def test_R13_4_overdue_letter_is_shown_refused_acceptance_and_reissued(client: TestClient) -> None:
    _, receiver, member = setup(client)
    old = post(client, "/transfer-letters", letter(member, receiver, effective_on="2025-11-01"))["id"]
    assert get(client, f"/transfer-letters/{old}")["overdue"] is True  # valid until 11-11, today 11-20
    response = client.post(f"/transfer-letters/{old}/acceptance", json={"effective_on": "2025-11-20"})
    assert_problem(response, 422, "effective_on", "R13.4", "TransferLetterOverdue")
    new = post(
        client,
        f"/transfer-letters/{old}/reissue",
        {"effective_on": "2025-11-20", "letter_number": "20", "stub_ref": "存根20", "receipt_ref": "回执20"},
    )["id"]
    assert new != old
    assert get(client, f"/transfer-letters/{old}")["status"] == "reissued"
    assert get(client, f"/transfer-letters/{new}")["reissue_of"] == old
    post(client, f"/transfer-letters/{new}/acceptance", {"effective_on": "2025-11-20"})
    assert get(client, f"/members/{member}")["relationship_org_id"] == receiver


def test_R13_4_refusal_and_cancellation_keep_the_member(client: TestClient) -> None:
    sender, receiver, member = setup(client)
    first = post(client, "/transfer-letters", letter(member, receiver))["id"]
    post(client, f"/transfer-letters/{first}/refusal", {"effective_on": "2025-11-12", "reason": "抬头有误"})
    assert get(client, f"/transfer-letters/{first}")["reason"] == "抬头有误"
    second = post(client, "/transfer-letters", letter(member, receiver, letter_number="13"))["id"]
    post(client, f"/transfer-letters/{second}/cancellation", {"effective_on": "2025-11-12", "reason": "暂缓"})
    assert get(client, f"/transfer-letters/{second}")["status"] == "cancelled"
    assert get(client, f"/members/{member}")["relationship_org_id"] == sender
    response = client.post(f"/transfer-letters/{second}/acceptance", json={"effective_on": "2025-11-12"})
    assert_problem(response, 422, "id", "R13.4", "TransferLetterNotOpen")


def test_R13_4_receipt_before_acceptance_is_rejected(client: TestClient) -> None:
    _, receiver, member = setup(client)
    letter_id = post(client, "/transfer-letters", letter(member, receiver))["id"]
    response = client.post(f"/transfer-letters/{letter_id}/receipt", json={"effective_on": "2025-11-12"})
    assert_problem(response, 422, "id", "R13.4", "TransferReceiptNotExpected")


def test_R13_4_unknown_letter_is_not_found(client: TestClient) -> None:
    assert_problem(client.get(f"/transfer-letters/{uuid4()}"), 404, "id", None)
    response = client.post(f"/transfer-letters/{uuid4()}/acceptance", json={"effective_on": "2025-11-12"})
    assert_problem(response, 404, "id", None)


def test_R13_4_schema_errors_name_the_rule(client: TestClient) -> None:
    _, receiver, member = setup(client)
    response = client.post("/transfer-letters", json=letter(member, receiver, scope="abroad"))
    assert_problem(response, 422, "scope", "R13.4")
