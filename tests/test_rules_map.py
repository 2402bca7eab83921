"""``docs/RULES.md`` maps every rule of the domain digest to its code and tests, or says why it is not a
command rule.

The page is one markdown table ``rule | enforced by | tests | not enforced because``, one row per rule number.
These tests fail when a rule number is missing or doubled, when a row has neither code and tests nor a
reason, when it has code without tests (or tests without code), when a named code path does not resolve,
when a named test function does not exist under ``tests/``, and when a ``rule`` used by the named errors of
``domain/errors.py`` (or a ``rule=`` keyword anywhere in ``domain/``) is not a rule of the table.

The rule numbers are fixed here (the digest itself lives outside the project).
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT / "docs" / "RULES.md"
ERRORS_PY = ROOT / "domain" / "errors.py"

RULES: tuple[str, ...] = (
    "R1.1", "R1.2", "R1.3",
    "R2.1", "R2.2", "R2.3",
    "R3",
    "R4", "R4.1", "R4.2", "R4.3", "R4.4", "R4.5", "R4.6",
    "R5.1", "R5.2", "R5.3", "R5.4", "R5.5", "R5.6",
    "R6.1", "R6.2", "R6.3",
    "R7",
    "R8",
    "R9.1", "R9.2", "R9.3",
    "R10",
    "R11.1", "R11.2", "R11.3", "R11.4", "R11.5", "R11.6", "R11.7",
    "R12",
    "R13.1", "R13.2", "R13.3", "R13.4", "R13.5", "R13.6",
)  # fmt: skip

HEADER = ("rule", "enforced by", "tests", "not enforced because")
_BACKTICKED = re.compile(r"`([^`]+)`")
_SEPARATORS = re.compile(r"<br\s*/?>|,|\s")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_TEST_NAME = re.compile(r"^test_[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Row:
    line: int
    rule: str
    code: tuple[str, ...]
    tests: tuple[str, ...]
    reason: str

    def __str__(self) -> str:
        return f"docs/RULES.md:{self.line} ({self.rule})"


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [cell.strip() for cell in body.split("|")]


def _items(cell: str, where: str) -> tuple[str, ...]:
    """The backticked items of a list cell; anything else but separators is an error."""
    leftover = _SEPARATORS.sub("", _BACKTICKED.sub("", cell))
    assert not leftover, f"{where}: text outside backticks in a list cell: {leftover!r}"
    return tuple(item.strip() for item in _BACKTICKED.findall(cell))


def parse_rules_table(text: str) -> list[Row]:
    """The rows of the one table whose header is ``HEADER``."""
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if tuple(c.lower() for c in _cells(line)) == HEADER]
    assert len(headers) == 1, f"expected one table with header {' | '.join(HEADER)}, found {len(headers)}"
    start = headers[0] + 1
    assert set(lines[start].replace("|", "").strip()) <= set("-: "), "the header is not followed by ---"
    rows: list[Row] = []
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        if not line.strip().startswith("|"):
            break
        cells = _cells(line)
        assert len(cells) == len(HEADER), f"docs/RULES.md:{number}: {len(cells)} cells, not {len(HEADER)}"
        rule = cells[0].strip("`* ")
        where = f"docs/RULES.md:{number} ({rule})"
        rows.append(Row(number, rule, _items(cells[1], where), _items(cells[2], where), cells[3].strip()))
    return rows


def resolve(path: str) -> Any:
    """Import the longest module prefix of ``path`` and get the remaining attributes from it."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name is not None and module_name.startswith(e.name):
                continue  # this prefix is no module: try a shorter one
            raise
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ModuleNotFoundError(path)


def defined_test_names() -> set[str]:
    """Every ``def test_...`` in ``tests/``, read with ``ast`` (nothing is imported)."""
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def error_rules() -> dict[str, str]:
    """``{error class: rule}`` for every class of ``domain/errors.py`` that assigns ``rule = "..."``."""
    tree = ast.parse(ERRORS_PY.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for statement in node.body:
            if (
                isinstance(statement, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "rule" for t in statement.targets)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
                and statement.value.value
            ):
                found[node.name] = statement.value.value
    return found


def rule_keywords() -> set[tuple[str, str]]:
    """``(file, rule)`` for every ``rule="..."`` keyword argument in ``domain/``."""
    found: set[tuple[str, str]] = set()
    for path in (ROOT / "domain").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "rule" and isinstance(node.value, ast.Constant):
                found.add((str(path.relative_to(ROOT)), str(node.value.value)))
    return found


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return parse_rules_table(RULES_MD.read_text(encoding="utf-8"))


def test_rules_map_lists_every_rule_exactly_once(rows: list[Row]) -> None:
    listed = [row.rule for row in rows]
    missing = [rule for rule in RULES if rule not in listed]
    doubled = sorted({rule for rule in listed if listed.count(rule) > 1})
    unknown = [rule for rule in listed if rule not in RULES]
    assert not missing, f"rules missing from docs/RULES.md: {missing}"
    assert not doubled, f"rules listed more than once in docs/RULES.md: {doubled}"
    assert not unknown, f"rows for rule numbers that do not exist: {unknown}"
    assert listed == list(RULES), "keep the rows in the order of the rules"


def test_rules_map_every_row_has_code_and_tests_or_a_reason(rows: list[Row]) -> None:
    for row in rows:
        assert row.code or row.tests or row.reason, f"{row}: neither code and tests nor a reason"
        assert bool(row.code) == bool(row.tests), (
            f"{row}: code without tests" if row.code else f"{row}: tests without code"
        )


def test_rules_map_code_paths_resolve(rows: list[Row]) -> None:
    for row in rows:
        for path in row.code:
            assert _DOTTED.match(path), f"{row}: {path!r} is not a dotted path"
            try:
                resolve(path)
            except (ImportError, AttributeError) as e:
                pytest.fail(f"{row}: {path} does not resolve: {type(e).__name__}: {e}")


def test_rules_map_tests_exist(rows: list[Row]) -> None:
    existing = defined_test_names()
    for row in rows:
        for name in row.tests:
            assert _TEST_NAME.match(name), f"{row}: {name!r} is not a test function name"
            assert name in existing, f"{row}: no test function {name} in tests/"


def test_rules_map_covers_every_rule_the_errors_carry(rows: list[Row]) -> None:
    mapped = {row.rule for row in rows}
    by_error = error_rules()
    assert by_error, "no `rule = ...` found in domain/errors.py"
    for error, rule in sorted(by_error.items()):
        assert rule in RULES, f"domain.errors.{error} cites {rule}, which is no rule of DOMAIN.md"
        assert rule in mapped, f"domain.errors.{error} cites {rule}, which has no row in docs/RULES.md"
    for path, rule in sorted(rule_keywords()):
        assert rule in RULES and rule in mapped, f"{path} raises with rule={rule!r}, not a rule of the table"


def test_rules_map_names_every_error_in_the_row_of_its_rule(rows: list[Row]) -> None:
    """A named error is listed (as ``domain.errors.Name``) in the row of the rule it carries, or of one of
    that rule's parts (an error citing ``R4`` may sit in the ``R4.5`` row)."""
    for error, rule in sorted(error_rules().items()):
        rows_of_rule = [row for row in rows if row.rule == rule or row.rule.startswith(f"{rule}.")]
        assert any(f"domain.errors.{error}" in row.code for row in rows_of_rule), (
            f"domain.errors.{error} (rule {rule}) is not listed in the {rule} row of docs/RULES.md"
        )


def test_rules_map_parser_rejects_a_broken_table() -> None:
    """The checks above see what they are meant to see."""
    head = "| rule | enforced by | tests | not enforced because |\n|---|---|---|---|\n"
    (row,) = parse_rules_table(head + "| R7 | `a.b`<br>`c.d` | `test_x`, `test_y` | |\n")
    assert (row.rule, row.code, row.tests, row.reason) == ("R7", ("a.b", "c.d"), ("test_x", "test_y"), "")
    with pytest.raises(AssertionError, match="outside backticks"):
        parse_rules_table(head + "| R7 | domain.errors.X | | |\n")
    with pytest.raises(AssertionError, match="3 cells, not 4"):
        parse_rules_table(head + "| R7 | | |\n")
    with pytest.raises(AssertionError, match="one table"):
        parse_rules_table("no table here")
    assert resolve("domain.errors.JointCoversTwoToFive").rule == "R13.2"
    with pytest.raises(AttributeError):
        resolve("domain.errors.NoSuchError")
    with pytest.raises((ImportError, AttributeError)):
        resolve("domain.no_such_module.Thing")
