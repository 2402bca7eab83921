"""RFC 9457 problem responses for every error the API returns.

Body: ``type``, ``title``, ``status``, ``detail``, ``instance`` and ``errors``, a list of
``{field, rule, message}``, so a client always learns which field broke which rule of DOMAIN.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
}
DEFAULT_RULE = "R1.3"


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
            str(exc.detail) if exc.status_code != 404 else "Not found",
            str(exc.detail),
            request,
            headers=getattr(exc, "headers", None),
        )
