"""The spreadsheet import runs its rows in batches of commands (issue #6, P2): chunk boundaries
change nothing in the report or the store; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from infra import importer
from infra.store import Container
from tests import sheets
from tests.infra.test_importer import roster_names, rows, run, setting


def report_lines(container: Container, chunk_rows: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(importer, "CHUNK_ROWS", chunk_rows)
    report = run(container, sheets.xlsx(rows()))
    lines = report.to_csv().splitlines()
    return [line.rsplit(",", 1)[0] for line in lines]  # without the member ids: new ones each time


@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
def test_P2_import_in_chunks_reports_as_row_by_row(
    container: Container, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    setting(container)
    head = container.runner.head()
    lines = report_lines(container, chunk_rows, monkeypatch)
    assert container.runner.head() == head + 4  # two members and their receipts
    assert roster_names(container) == ["张三", "王五"]
    # the same report whatever the chunk: issues in row order, the duplicate of row 3 in its place
    numbers = [int(line.split(",")[1]) for line in lines[1:]]
    assert numbers == sorted(numbers)
    assert any(",10,duplicate," in line and "same as row 3" in line for line in lines)
    if chunk_rows == 1000:
        return
    # importing again with another chunk size records nothing twice
    again = report_lines(container, 1000 if chunk_rows != 1000 else 1, monkeypatch)
    assert container.runner.head() == head + 4
    assert [line.replace("already_recorded", "recorded") for line in again] == lines
