"""RFC 9457 problem responses for every error the API returns.

Body: ``type``, ``title``, ``status``, ``detail``, ``instance`` and ``errors``, a list of
``{field, rule, message}``, so a client always learns which field broke which rule of DOMAIN.md.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://dangjian.example/problems/"

# The rule a malformed request field breaks, for schema errors caught before the domain runs.
FIELD_RULES = {
    "credit_code": "R1.3",
    "region_code": "R1.3",
    "effective_on": "R1.3",
    "form_date": "R1.1",
    "mobile": "R1.1",
    "name": "R1.1",
    "unit_name": "R1.1",
    "household_district": "R1.1",
    "filled_by_name": "R1.1",
    "filled_by_phone": "R1.1",
    "is_business_owner": "R1.1",
    "category": "R1.1",
    "distribution": "R1.1",
    "affiliation": "R2.1",
    "relationship_org_id": "R2.2",
    "life_org_ids": "R2.2",
    "to_org_id": "R2.3",
    "kind": "R1.1",
    "status": "R1.3",
    "formation": "R13.2",
    "entity_ids": "R13.2",
    # activities, pairings and liaison points
    "activity_type": "R4.3",
    "topic": "R1.1",
    "host": "R1.1",
    "participant_ids": "R2.2",
    "pairing_id": "R10",
    "visited_org_id": "R10",
    "org_ids": "R10",
    "brand": "R10",
    "agreement_reference": "R12",
    "agreement_signed_on": "R1.3",
    "plan_year": "R12",
    "plan_items": "R12",
    "leader_name": "R12",
    "leader_title": "R12",
    "leader_ref": "R12",
    # member lifecycle and the pioneer index
    "admitted_on": "R13.5",
    "months": "R13.5",
    "round_date": "R5.6",
    "excellent": "R5.5",
    "talked_by": "R5.5",
    "partner": "R5.5",
    # relationship-transfer letters and the mobile-member feedback chain
    "letter_number": "R13.4",
    "stub_ref": "R13.4",
    "receipt_ref": "R13.4",
    "scope": "R13.4",
    "valid_days": "R13.4",
    "to_org_name": "R2.3",
    "year": "R3",
    "business_org_id": "R6.2",
    "certificate_ref": "R6.2",
    "confirming_org_id": "R6.2",
    "confirming_org_name": "R6.2",
    "activities": "R6.2",
    "assessment": "R6.2",
    "secretary_name": "R6.2",
    "feedback_form_ref": "R6.2",
    "letter_ref": "R6.2",
    "archive_ref": "R6.2",
    # strongest branch (R11), star stations and 薪火 (R9), market standardisation (R4)
    "participants": "R11.4",
    "respondents": "R11.4",
    "dissatisfied": "R11.4",
    "verified": "R11.4",
    "result": "R11.4",
    "no_public_function": "R11.4",
    "occurred_on": "R11.5",
    "to_body": "R11.6",
    "passed": "R11.6",
    "start_year": "R11.7",
    "end_year": "R11.7",
    "to_parent_id": "R11.7",
    "awarding_body": "R9.1",
    "focus_industry": "R9.3",
    "criterion": "R4",
    "evidence": "R4",
    "evidence_on": "R4",
    "training_dates": "R4",
    "party_affairs_workers": "R4",
}
DEFAULT_RULE = "R1.3"


class ProblemError(BaseModel):
    field: str | None
    rule: str | None
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: every error answer of the API."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemError] | None = None


_ERRORS = {
    400: "The body cannot be read (not UTF-8 JSON)",
    401: "No token, or an unknown or revoked one (docs/SECURITY.md S1)",
    403: "The token's role or scope does not allow this (docs/SECURITY.md S2, S3)",
    404: "No such aggregate",
    409: "A duplicate, or a concurrent change",
    413: "The body is over 1 MiB",
    422: "The request breaks a schema or a rule of DOMAIN.md",
    503: "The read side has not reached min_position yet (Retry-After)",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, description in _ERRORS.items()
}
"""The error answers every API route documents in the OpenAPI document."""


def problem(
    status: int,
    title: str,
    detail: str,
    request: Request,
    errors: list[dict[str, Any]] | None = None,
    code: str = "about:blank",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code if code != "about:blank" else code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        errors = [{"field": exc.field, "rule": exc.rule or None, "message": exc.message}]
        title = {404: "Not found", 409: "Conflict"}.get(exc.status, "Rule violated")
        return problem(exc.status, title, exc.message, request, errors, code=exc.code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            field = _field_of(tuple(err.get("loc", ())))
            top = field.split(".")[0]
            errors.append({"field": field, "rule": FIELD_RULES.get(top, DEFAULT_RULE), "message": err["msg"]})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, request, errors, code="invalid-request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            exc.status_code,
            HTTPStatus(exc.status_code).phrase,
            str(exc.detail),
            request,
            headers=getattr(exc, "headers", None),
        )
