"""Spreadsheet imports: the 《个体工商户党建信息登记表》 sheet, row by row through the domain (R1.1)."""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response

from api.deps import ContextDep, PartsDep
from api.schemas.imports import ImportReportPublic
from infra.importer import import_members

log = logging.getLogger(__name__)
router = APIRouter(prefix="/imports", tags=["imports"])


@router.post(
    "/members",
    response_model=ImportReportPublic,
    responses={200: {"content": {"text/csv": {}}, "description": "The report: JSON, or CSV with format=csv"}},
)
def import_member_sheet(
    parts: PartsDep,
    ctx: ContextDep,
    file: Annotated[UploadFile, File(description="XLSX or CSV with the registration form's columns")],
    format: Annotated[Literal["json", "csv"], Query(description="json, or csv for the report file")] = "json",
) -> ImportReportPublic | Response:
    """Register the members of a spreadsheet, one command per row, with a row-by-row report (R1.1).

    Each row's command id comes from its content, so importing the same file again records nothing
    twice. A rejected row records nothing. ``X-Correlation-ID`` ties the import's events together.
    """
    data = file.file.read()
    lock = parts.command_lock if parts.serialize_commands else contextlib.nullcontext()
    with lock:
        report = import_members(
            parts.ledger,
            parts.engine,
            data,
            file.filename or "upload.xlsx",
            actor=ctx.actor,
            correlation_id=ctx.correlation_id,
        )
        if parts.inline_projections:
            try:
                parts.runner.catch_up()
            except Exception:  # the events are stored; the projection stops and /health says so
                log.exception("projection failed after an import")
    if format == "csv":
        stem = report.file.rsplit(".", 1)[0]
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_ascii(stem)}-report.csv"'},
        )
    return ImportReportPublic.of(report)


def _ascii(text: str) -> str:
    """A filename safe in a Content-Disposition header."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in text) or "import"
