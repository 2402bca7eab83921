"""The spreadsheet import's answer: counts, the row-by-row results and problems, and the CSV report."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from infra.importer import ImportReport


class ImportIssuePublic(BaseModel):
    file: str
    row: int = Field(description="The row number as the spreadsheet shows it")
    column: str = Field(description="The column header as written in the file")
    rule: str = Field(description="The rule of DOMAIN.md the value breaks")
    message: str


class ImportRowPublic(BaseModel):
    row: int
    status: Literal["recorded", "already_recorded", "duplicate", "rejected"]
    name: str
    member_id: UUID | None
    position: int | None = Field(description="Store position of the registration (read-your-writes)")
    command_id: UUID | None = Field(description="Derived from the row's content: a repeat records nothing")
    notes: list[str]


class ImportReportPublic(BaseModel):
    file: str
    sha256: str
    correlation_id: UUID = Field(description="Shared by every event of this import (see /audit)")
    header_row: int
    columns: dict[str, str] = Field(description="Field → the header as written in the file")
    ignored_columns: list[str]
    rows_total: int
    recorded: int
    already_recorded: int
    duplicates: int
    rejected: int
    rows: list[ImportRowPublic]
    issues: list[ImportIssuePublic]
    csv: str = Field(
        description="The same report as CSV (file, row, status, column, rule, message, member_id)"
    )

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportPublic:
        return cls(
            file=report.file,
            sha256=report.sha256,
            correlation_id=report.correlation_id,
            header_row=report.header_row,
            columns=report.columns,
            ignored_columns=report.ignored_columns,
            rows_total=len(report.rows),
            recorded=report.recorded,
            already_recorded=report.already_recorded,
            duplicates=report.duplicates,
            rejected=report.rejected,
            rows=[ImportRowPublic.model_validate(r, from_attributes=True) for r in report.rows],
            issues=[ImportIssuePublic.model_validate(i, from_attributes=True) for i in report.issues],
            csv=report.to_csv(),
        )
