"""Import members from a spreadsheet of 《个体工商户党建信息登记表》 (R1.1), row by row, through the domain.

The file is an XLSX workbook (its first sheet) or a CSV file (UTF-8, or GB18030 as Excel saves it in
China). Its header row may sit below a title row: the first of the first ten rows that names at least
three known columns is taken as the header. Headers are matched in Chinese or by the English field
names of ``POST /members`` (``HEADERS``); a note in brackets is ignored (``类别（正式/预备）`` is
``类别``), and so is a leading ``*``. Unknown columns are listed in the report and otherwise ignored.

Every row is parsed (dates, 是/否, 正式/预备, 隶属/属地/流动, 个体户/市场内个体户) and then goes through
``Ledger.register_member``, so every domain rule applies exactly as for ``POST /members``. A row is
one command, saved in one transaction: a rejected row records nothing at all. The report lists, row
by row, what was recorded and every problem as (file, row, column, rule, message); it is shown in
the terminal (``dangjian import members``) and downloadable as CSV (``POST /imports/members``).

**Organisations** are named in the sheet by id (a UUID) or by exact name. Names are resolved against
the coverage read table (``coverage_organizations``): the organisations not dissolved today, as the
read side knows them now. A name two organisations share is rejected as ambiguous (give the id). The
organisational-life organisations (辖区党组织, several separated by 、 , ; or a line break) must be in
this system; a relationship organisation (组织关系所在地党组织) whose name is not found is taken as an
organisation outside this system (R2.2 allows that), and the report notes it. With external
projections (``DANGJIAN_PROJECTIONS=external``) an organisation established moments before the import
may not be resolvable by name yet: give its id, or import again once the read side has caught up.
A market entity may be named in an optional column by id or unified social credit code.

**Idempotency.** Each row's command id is a UUID derived (uuid5) from the row's normalised content
(the parsed values with the organisations resolved), so importing the same file again, or a corrected
copy of it, records nothing twice: a repeated row returns the first result and is reported as
``already_recorded``. A row identical to an earlier row of the same file is reported as a ``duplicate``
of it. A row rejected once gets recorded when imported again after it was corrected, or after what it
was missing (an organisation, say) was recorded.

The effective date of a registration is the optional 生效日期 column, else the form date (填表日期).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from sqlalchemy import Engine, select

from domain import errors
from domain.application import Ledger
from domain.commands.batch import Outcome
from domain.envelope import CommandContext
from domain.receipt import receipt_id_for
from domain.values import Affiliation, Distribution, EntityStatus, MemberCategory
from projections.tables import coverage_entities as E
from projections.tables import coverage_organizations as O
from projections.temporal import ALL_KNOWN, visible

IMPORT_NAMESPACE = uuid5(NAMESPACE_URL, "https://dangjian.example/imports/members")
HEADER_SCAN_ROWS = 10
MAX_ROWS = 20_000
CHUNK_ROWS = 1_000
"""Rows run as one batch of commands and written in one transaction (issue #6, P2)."""

# canonical field → accepted headers (compared after ``_header_key``)
HEADERS: dict[str, tuple[str, ...]] = {
    "unit_name": ("单位名称", "单位", "unit_name"),
    "entity": ("市场主体", "统一社会信用代码", "信用代码", "entity_id", "credit_code"),
    "name": ("姓名", "党员姓名", "name"),
    "mobile": ("手机号码", "手机号", "手机", "联系电话", "mobile"),
    "is_business_owner": ("是否业主", "业主", "is_business_owner"),
    "household_district": ("户籍所在区", "户籍所在地", "户籍", "household_district"),
    "life_orgs": ("辖区党组织", "辖区党支部", "组织生活党组织", "life_org_ids", "life_orgs"),
    "relationship_org": (
        "组织关系所在地党组织",
        "组织关系所在党组织",
        "组织关系所在地",
        "relationship_org",
        "relationship_org_id",
        "relationship_org_name",
    ),
    "category": ("类别", "党员类别", "category"),
    "affiliation": ("隶属/属地/流动", "隶属属地流动", "党员类型", "类型", "归属", "affiliation"),
    "distribution": ("分布", "distribution"),
    "form_date": ("填表日期", "form_date"),
    "filled_by_name": ("填表人", "filled_by_name"),
    "filled_by_phone": ("填表人联系电话", "填表人电话", "filled_by_phone"),
    "admitted_on": ("入党日期", "入党时间", "admitted_on"),
    "effective_on": ("生效日期", "effective_on"),
}
REQUIRED = (
    "unit_name",
    "name",
    "mobile",
    "is_business_owner",
    "household_district",
    "life_orgs",
    "category",
    "affiliation",
    "distribution",
    "form_date",
    "filled_by_name",
    "filled_by_phone",
)
IGNORED_HEADERS = frozenset({"序号", "编号", "备注", "no", "#"})

# the rule each column belongs to, for problems found while parsing
RULES = {
    "entity": "R1.2",
    "life_orgs": "R2.2",
    "relationship_org": "R2.2",
    "affiliation": "R2.1",
    "admitted_on": "R13.5",
    "effective_on": "R1.3",
}
# the column a domain error's field points to
FIELD_COLUMNS = {
    "life_org_ids": "life_orgs",
    "relationship_org_id": "relationship_org",
    "relationship_org_name": "relationship_org",
    "entity_id": "entity",
    "id": "name",
}

YES = {"是", "y", "yes", "true", "1", "√", "✓", "业主"}
NO = {"否", "n", "no", "false", "0", "×", "非业主", ""}
CATEGORIES = {
    "正式": MemberCategory.FULL,
    "正式党员": MemberCategory.FULL,
    "full": MemberCategory.FULL,
    "预备": MemberCategory.PROBATIONARY,
    "预备党员": MemberCategory.PROBATIONARY,
    "probationary": MemberCategory.PROBATIONARY,
}
AFFILIATIONS = {
    "隶属": Affiliation.SUBORDINATE,
    "隶属党员": Affiliation.SUBORDINATE,
    "subordinate": Affiliation.SUBORDINATE,
    "属地": Affiliation.LOCAL,
    "属地党员": Affiliation.LOCAL,
    "local": Affiliation.LOCAL,
    "流动": Affiliation.MOBILE,
    "流动党员": Affiliation.MOBILE,
    "mobile": Affiliation.MOBILE,
}
DISTRIBUTIONS = {
    "个体户": Distribution.INDIVIDUAL_BUSINESS,
    "个体工商户": Distribution.INDIVIDUAL_BUSINESS,
    "individual_business": Distribution.INDIVIDUAL_BUSINESS,
    "市场内个体户": Distribution.MARKET_INDIVIDUAL_BUSINESS,
    "市场内个体工商户": Distribution.MARKET_INDIVIDUAL_BUSINESS,
    "market_individual_business": Distribution.MARKET_INDIVIDUAL_BUSINESS,
}
_LIST_SPLIT = re.compile(r"[、,，;；\n]+")
_DATE_SPLIT = re.compile(r"[-/.年月日\s]+")
_BRACKETS = re.compile(r"[（(【\[].*?[）)】\]]")

RowStatus = Literal["recorded", "already_recorded", "duplicate", "rejected"]


class UnreadableFile(errors.RuleViolation):
    """R1.1: the uploaded file is not a readable XLSX or CSV registration-form sheet."""

    rule = "R1.1"
    field = "file"


@dataclass(frozen=True)
class ImportIssue:
    """One problem: where it is (file, spreadsheet row, column header) and which rule it breaks."""

    file: str
    row: int
    column: str
    rule: str
    message: str


@dataclass
class RowResult:
    row: int
    status: RowStatus
    name: str
    member_id: UUID | None = None
    position: int | None = None
    command_id: UUID | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did, row by row."""

    file: str
    sha256: str
    correlation_id: UUID
    header_row: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    """Canonical field → the header as written in the file."""
    ignored_columns: list[str] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def recorded(self) -> int:
        return self.count("recorded")

    @property
    def already_recorded(self) -> int:
        return self.count("already_recorded")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_csv(self) -> str:
        """The row-by-row report: one line per problem and one per accepted row (UTF-8 with BOM, so
        Excel opens the Chinese text correctly)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["file", "row", "status", "column", "rule", "message", "member_id"])
        data_rows = {result.row for result in self.rows}
        issues_by_row: dict[int, list[ImportIssue]] = defaultdict(list)
        for issue in self.issues:
            if issue.row in data_rows:
                issues_by_row[issue.row].append(issue)
            else:  # the file or its header
                writer.writerow(_issue_line(issue))
        for result in self.rows:
            if result.status == "rejected":
                for issue in issues_by_row[result.row]:
                    writer.writerow(_issue_line(issue))
            else:
                notes = "; ".join(result.notes)
                writer.writerow([self.file, result.row, result.status, "", "", notes, result.member_id])
        return "\ufeff" + out.getvalue()


def _issue_line(issue: ImportIssue) -> list[Any]:
    return [issue.file, issue.row, "rejected", issue.column, issue.rule, issue.message, ""]


# --- reading the file ---------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value).strip()


def read_rows(data: bytes, filename: str) -> Iterator[tuple[int, list[str]]]:
    """(row number as the spreadsheet shows it, cell texts) for every row of the file."""
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK"
    if is_xlsx:
        yield from _xlsx_rows(data)
    else:
        yield from _csv_rows(data)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a broken file
        raise UnreadableFile(f"not a readable XLSX workbook: {e}") from e
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes every byte sequence
        raise UnreadableFile("the CSV file is neither UTF-8 nor GB18030")
    if "\x00" in text:
        raise UnreadableFile("not a CSV file (binary content)")
    for number, values in enumerate(csv.reader(io.StringIO(text)), start=1):
        yield number, [v.strip() for v in values]


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", text).lstrip("*＊").lower()


_ALIASES = {_header_key(alias): name for name, aliases in HEADERS.items() for alias in aliases}


def canonical_column(header: str) -> str | None:
    """The field a header names, or None."""
    key = _header_key(header)
    return _ALIASES.get(key) or _ALIASES.get(_BRACKETS.sub("", key))


# --- parsing values -----------------------------------------------------------------------------


class _CellError(Exception):
    def __init__(self, column: str, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.column, self.message, self.rule = column, message, rule


def parse_date(text: str, column: str) -> date:
    """2025-03-01, 2025/3/1, 2025.3.1, 2025年3月1日 or 20250301."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{8}", value):
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        parts = [p for p in _DATE_SPLIT.split(value) if p]
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        pass
    raise _CellError(column, f"{value!r} is not a date (e.g. 2025-03-01 or 2025年3月1日)")


def _choice(text: str, column: str, choices: dict[str, Any], expected: str) -> Any:
    key = text.strip().lower()
    if key in choices:
        return choices[key]
    raise _CellError(column, f"{text!r} is not one of {expected}")


def _yes_no(text: str, column: str) -> bool:
    key = text.strip().lower()
    if key in YES:
        return True
    if key in NO and key:
        return False
    raise _CellError(column, f"{text!r} is not 是 or 否 (yes/no)")


@dataclass
class Directory:
    """Organisations and market entities by id and name, from the coverage read tables (today, known now)."""

    org_ids: set[UUID] = field(default_factory=set)
    orgs_by_name: dict[str, list[UUID]] = field(default_factory=dict)
    entities_by_code: dict[str, UUID] = field(default_factory=dict)

    @classmethod
    def load(cls, engine: Engine, today: date) -> Directory:
        directory = cls()
        with engine.connect() as conn:
            orgs = select(O.c.subject_id, O.c.name).where(
                visible(O, today, ALL_KNOWN), O.c.dissolved.is_(False)
            )
            for org_id, name in conn.execute(orgs):
                directory.org_ids.add(org_id)
                directory.orgs_by_name.setdefault(name.strip(), []).append(org_id)
            entities = select(E.c.subject_id, E.c.credit_code).where(
                visible(E, today, ALL_KNOWN), E.c.status != EntityStatus.DEREGISTERED.value
            )
            directory.entities_by_code = {code: entity_id for entity_id, code in conn.execute(entities)}
        return directory

    def organization(self, text: str, column: str) -> UUID | None:
        """An organisation by id or exact name; None when the name is unknown here."""
        try:
            return UUID(text)
        except ValueError:
            pass
        ids = self.orgs_by_name.get(text.strip(), [])
        if len(ids) > 1:
            raise _CellError(column, f"{len(ids)} organisations are named {text!r}: give the id", "R2.2")
        return ids[0] if ids else None

    def entity(self, text: str, column: str) -> UUID:
        try:
            return UUID(text)
        except ValueError:
            pass
        entity_id = self.entities_by_code.get(text.strip().upper())
        if entity_id is None:
            raise _CellError(column, f"no market entity with id or credit code {text!r}", "R1.2")
        return entity_id


def parse_row(
    cells: dict[str, str], headers: dict[str, str], directory: Directory
) -> tuple[dict[str, Any], list[str], list[_CellError]]:
    """The ``register_member`` arguments of one row, notes, and every problem found in its cells."""
    problems: list[_CellError] = []
    notes: list[str] = []
    kwargs: dict[str, Any] = {}

    def attempt(name: str, parse: Callable[[str, str], Any], target: str | None = None) -> None:
        text = cells.get(name, "")
        column = headers.get(name, name)
        if not text:
            if name in REQUIRED:
                problems.append(_CellError(column, f"{column} is required"))
            return
        try:
            kwargs[target or name] = parse(text, column)
        except _CellError as e:
            problems.append(e)

    for name in ("unit_name", "name", "mobile", "household_district", "filled_by_name", "filled_by_phone"):
        attempt(name, lambda text, _column: text)
    attempt("is_business_owner", _yes_no)
    attempt("category", lambda t, c: _choice(t, c, CATEGORIES, "正式 / 预备"))
    attempt("affiliation", lambda t, c: _choice(t, c, AFFILIATIONS, "隶属 / 属地 / 流动"))
    attempt("distribution", lambda t, c: _choice(t, c, DISTRIBUTIONS, "个体户 / 市场内个体户"))
    attempt("form_date", parse_date)
    attempt("admitted_on", parse_date)
    attempt("effective_on", parse_date)
    attempt("entity", directory.entity, "entity_id")

    def life_orgs(text: str, column: str) -> list[UUID]:
        found = []
        for token in (t.strip() for t in _LIST_SPLIT.split(text)):
            if not token:
                continue
            org_id = directory.organization(token, column)
            if org_id is None:
                raise _CellError(column, f"no organisation named {token!r} in this system", "R2.2")
            found.append(org_id)
        return found

    attempt("life_orgs", life_orgs, "life_org_ids")
    relationship = cells.get("relationship_org", "")
    if relationship:
        column = headers.get("relationship_org", "relationship_org")
        try:
            org_id = directory.organization(relationship, column)
        except _CellError as e:
            problems.append(e)
        else:
            if org_id is not None:
                kwargs["relationship_org_id"] = org_id
            else:
                kwargs["relationship_org_name"] = relationship
                notes.append(f"{column}: {relationship} is taken as an organisation outside this system")
    kwargs.setdefault("effective_on", kwargs.get("form_date"))
    return kwargs, notes, problems


def command_id_for(kwargs: dict[str, Any]) -> UUID:
    """The row's command id: uuid5 of its normalised content, so a repeat records nothing."""
    content = json.dumps(kwargs, sort_keys=True, default=str, ensure_ascii=False)
    return uuid5(IMPORT_NAMESPACE, content)


# --- the import ---------------------------------------------------------------------------------


def _find_header(rows: Iterable[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    for number, values in rows:
        if number > HEADER_SCAN_ROWS:
            return None
        if sum(1 for v in values if v and canonical_column(v)) >= 3:
            return number, values
    return None


def import_members(
    ledger: Ledger,
    engine: Engine,
    data: bytes,
    filename: str,
    *,
    actor: str,
    correlation_id: UUID | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Register every row of a registration-form sheet through ``ledger.register_member``.

    ``progress(done, total)`` is called after each data row. Raises ``UnreadableFile`` for a file that
    is neither XLSX nor CSV; every other problem is in the report.
    """
    name = Path(filename).name or "upload"
    report = ImportReport(name, hashlib.sha256(data).hexdigest(), correlation_id or uuid4())
    rows = list(read_rows(data, filename))
    header = _find_header(rows)
    if header is None:
        report.issues.append(
            ImportIssue(name, 1, "", "R1.1", "no header row naming the form's columns in the first rows")
        )
        return report
    report.header_row, header_values = header
    positions: dict[str, int] = {}
    for index, text in enumerate(header_values):
        if not text:
            continue
        column = canonical_column(text)
        if column is None:
            if _header_key(text) not in IGNORED_HEADERS:
                report.ignored_columns.append(text)
        elif column in positions:
            report.issues.append(
                ImportIssue(name, report.header_row, text, "R1.1", f"column {text} appears twice")
            )
        else:
            positions[column] = index
            report.columns[column] = text
    for column in REQUIRED:
        if column not in positions:
            label = HEADERS[column][0]
            report.issues.append(
                ImportIssue(name, report.header_row, label, "R1.1", f"the column {label} is missing")
            )
    if report.issues:
        return report

    data_rows = [  # a row with only a serial number (序号) or notes is blank
        (n, v)
        for n, v in rows
        if n > report.header_row and any(v[i] for i in positions.values() if i < len(v))
    ]
    if len(data_rows) > MAX_ROWS:
        raise UnreadableFile(f"{len(data_rows)} rows: import at most {MAX_ROWS} per file")
    directory = Directory.load(engine, ledger.today())
    seen: dict[UUID, RowResult] = {}
    done = 0
    for start in range(0, len(data_rows), CHUNK_ROWS):
        chunk = data_rows[start : start + CHUNK_ROWS]
        for row in _import_chunk(ledger, report, chunk, positions, directory, seen, actor):
            report.rows.append(row.result)
            report.issues.extend(row.issues)
            done += 1
            if progress is not None:
                progress(done, len(data_rows))
    return report


@dataclass
class _Row:
    """One data row on its way through a chunk."""

    result: RowResult
    issues: list[ImportIssue]
    kwargs: dict[str, Any] | None = None
    repeated: bool = False
    outcome: Outcome | None = None
    first: RowResult | None = None


def _import_chunk(
    ledger: Ledger,
    report: ImportReport,
    chunk: list[tuple[int, list[str]]],
    positions: dict[str, int],
    directory: Directory,
    seen: dict[UUID, RowResult],
    actor: str,
) -> list[_Row]:
    """Up to ``CHUNK_ROWS`` rows as one batch of commands (issue #6, P2): each row through
    ``register_member`` with every rule, in row order, the organisations, entities and receipts the
    rows name read with one query, and the accepted rows written in one transaction. A rejected row
    writes nothing; the report is the same as with one transaction per row."""
    rows: list[_Row] = []
    wanted: set[UUID] = set()
    for number, values in chunk:
        cells = {c: values[i] if i < len(values) else "" for c, i in positions.items()}
        row = _Row(RowResult(number, "rejected", cells.get("name", "")), [])
        kwargs, row.result.notes, problems = parse_row(cells, report.columns, directory)
        for problem in problems:
            rule = problem.rule or RULES.get(_column_field(report.columns, problem.column), "R1.1")
            row.issues.append(ImportIssue(report.file, number, problem.column, rule, problem.message))
        if not problems:
            row.kwargs = kwargs
            command_id = row.result.command_id = command_id_for(kwargs)
            wanted.add(receipt_id_for(command_id))
            wanted.update(kwargs.get("life_org_ids", []))
            wanted.update(
                v for v in (kwargs.get("relationship_org_id"), kwargs.get("entity_id")) if v is not None
            )
        rows.append(row)

    with ledger.batch() as batch:
        batch.preload(wanted)
        for row in rows:
            if row.kwargs is None:
                continue
            result, cid = row.result, row.result.command_id
            assert cid is not None
            first = seen.get(cid)
            if first is not None:
                result.status, row.first = "duplicate", first
                result.notes.append(f"same as row {first.row}")
                continue
            row.repeated = ledger.prior_result(cid) is not None
            ctx = CommandContext.new(actor, report.correlation_id, cid)
            row.outcome = batch.run(ledger.register_member, ctx, **row.kwargs)
            if row.outcome.ok:
                seen[cid] = result
        batch.flush()

    for row in rows:
        result, outcome = row.result, row.outcome
        if row.first is not None:
            result.member_id, result.position = row.first.member_id, row.first.position
        elif outcome is not None and outcome.error is not None:
            row.issues.append(_domain_issue(report, result.row, outcome.error))
        elif outcome is not None and outcome.result is not None:
            result.status = "already_recorded" if row.repeated else "recorded"
            result.member_id, result.position = outcome.result.id, outcome.result.position
    return rows


def _domain_issue(report: ImportReport, number: int, e: errors.DomainError) -> ImportIssue:
    """A rule error of ``register_member`` as a problem in the column it points to."""
    column_field = FIELD_COLUMNS.get(e.field or "", e.field or "")
    if column_field == "effective_on" and "effective_on" not in report.columns:
        column_field = "form_date"
    column = report.columns.get(column_field) or HEADERS.get(column_field, (e.field or "",))[0]
    return ImportIssue(report.file, number, column, e.rule or "R1.1", e.message)


def _column_field(columns: dict[str, str], header: str) -> str:
    return next((name for name, text in columns.items() if text == header), header)
