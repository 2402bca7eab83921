"""Smoke test of the benchmark harness (issue #6, item 3): the smallest scale, every figure present.

No timing is asserted: CI machines differ. The table goes to a temporary file, never to docs/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.run import FIGURES, main, write
from tests.conftest import PG_URL, require_postgres

pytestmark = pytest.mark.postgres


def test_harness_writes_every_figure(tmp_path: Path) -> None:
    require_postgres()
    output = tmp_path / "BENCHMARKS.md"
    args = ["--scale", "0.0001", "--seconds", "0.5", "--max-requests", "200", "--import-count", "500"]
    assert main([*args, "--database-url", PG_URL, "--output", str(output), "--quiet"]) == 0

    text = output.read_text(encoding="utf-8")
    assert "<!-- bench:scale=0.0001 -->" in text and "<!-- /bench -->" in text
    rows = [line for line in text.splitlines() if line.startswith("| P")]
    for figure in FIGURES:
        assert any(row.startswith(f"| {figure} |") for row in rows), f"{figure} missing from the table"
    assert "commit → visible through the relay" in text  # P6 measured through a real broker
    assert "two ingester processes over two partitions (500 registrations" in text  # P2's stream
    assert "events/s, receipts included" in text  # the stream also in P2's unit, its receipts said
    assert "nproc" in text
    assert "processes (`rebuild_jobs`) against one" in text  # P3's comparison with one process


def test_no_rebuild_alone_leaves_out_the_one_process_rebuild_only(tmp_path: Path) -> None:
    """``--no-rebuild-alone`` (``make bench SCALE=1.0 BENCH_ARGS=--no-rebuild-alone``) skips the
    one-process rebuild, P3's comparison row; P3 itself and every other figure are still measured."""
    require_postgres()
    output = tmp_path / "BENCHMARKS.md"
    args = ["--scale", "0.0001", "--seconds", "0.2", "--max-requests", "50", "--import-count", "200"]
    args += ["--no-rebuild-alone", "--database-url", PG_URL, "--output", str(output), "--quiet"]
    assert main(args) == 0

    text = output.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| P")]
    for figure in FIGURES:
        assert any(row.startswith(f"| {figure} |") for row in rows), f"{figure} missing from the table"
    assert "full rebuild of all 6 projections" in text
    assert "against one" not in text


def test_a_rerun_replaces_its_block_and_keeps_the_text(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nanalysis\n\n<!-- bench:results -->\n", encoding="utf-8")
    write(output, "<!-- bench:scale=0.5 -->\nfirst\n<!-- /bench -->\n", 0.5)
    write(output, "<!-- bench:scale=0.5 -->\nsecond\n<!-- /bench -->\n", 0.5)
    text = output.read_text(encoding="utf-8")
    assert text.count("<!-- bench:scale=0.5 -->") == 1 and "second" in text and "first" not in text
    assert "analysis" in text


@pytest.mark.parametrize("backend", ["postgres"])
def test_empty_live_leaves_the_state_of_projections_never_run(container: Any) -> None:
    """The P3 rows side by side each start from empty live tables (``--empty-live``): every read table
    empty and every checkpoint 0, from which a rebuild gives back the incremental rows."""
    from sqlalchemy import func, select

    from bench.run import empty_live
    from infra.demo import load_demo
    from projections.tables import projection_positions
    from tests.projections.test_coverage import snapshot

    load_demo(container.ledger, seed=11)
    runner = container.runner
    runner.catch_up()
    with container.engine.connect() as conn:
        before = snapshot(conn)
    tables = [t for projection in runner.projections.values() for t in projection.tables]

    empty_live(runner)

    with container.engine.connect() as conn:
        assert {t.name: conn.scalar(select(func.count()).select_from(t)) for t in tables} == {
            t.name: 0 for t in tables
        }
        assert set(conn.scalars(select(projection_positions.c.position))) == {0}
    runner.rebuild(restart=True)
    with container.engine.connect() as conn:
        assert snapshot(conn) == before


def test_queries_times_p4_on_stores_already_built(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m bench.run queries --schemas a,b``, how P4 at scale 1.0 is measured without the whole
    harness (docs/BENCHMARKS.md, "How to rerun"): P4's queries timed on each store in turn, the figures
    of each store in the order given."""
    import json

    from bench.generate import AS_OF
    from bench.run import PROVINCE, fresh_schema, generate_into, settings_for
    from infra.store import build
    from projections.coverage import CoverageView

    require_postgres()
    with fresh_schema(PG_URL, "q_big") as big, fresh_schema(PG_URL, "q_small") as small:
        operating = []
        for schema, scale in ((big, 0.0003), (small, 0.0001)):
            generate_into(PG_URL, schema, scale, 2018)
            container = build(settings_for(PG_URL, schema))
            try:
                container.runner.catch_up()
                with container.engine.connect() as conn:
                    rows = CoverageView(counts=False).report(conn, as_of=AS_OF, region=PROVINCE)
                operating.append(rows.total.operating)
            finally:
                container.close()
        args = ["queries", "--schemas", f"{big},{small}", "--seconds", "0.1", "--max-requests", "3"]
        assert main([*args, "--database-url", PG_URL]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["schemas"] == [big, small]
    assert operating[0] != operating[1]
    assert [result["operating"] for result in printed["results"]] == operating  # each store's own figures
    for result in printed["results"]:
        for key in ("coverage", "earlier", "report"):
            assert result[f"{key}_n"] >= 1 and result[f"{key}_p95_ms"] > 0
