"""schemathesis against the served OpenAPI document (issue #7, "done when"): generated requests to every
operation, sent with an admin token, answer no 5xx and nothing outside the documented schema. The store
holds one aggregate of every kind (``seed_world``), and half of the generated path ids name one of them.

CI runs a small number of examples per operation (``DANGJIAN_SCHEMATHESIS_EXAMPLES``, default 3);
docs/SECURITY.md says how to run the large count and records the result of one large run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.hooks import HookContext

from api.main import create_app
from infra.settings import Settings
from infra.store import build
from tests.api.test_authorization import seed_world
from tests.conftest import bearer, fixed_today

EXAMPLES = int(os.environ.get("DANGJIAN_SCHEMATHESIS_EXAMPLES", "3"))
COVERAGE = os.environ.get("DANGJIAN_SCHEMATHESIS_COVERAGE", "") == "1"
"""The coverage phase (boundary and negative values of every parameter) adds about 10 cases per
operation: on for the large run, off in CI to keep the suite fast."""
CASES: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()


# The document is read from the app itself (GET /openapi.json), which needs no store; the fixture below
# gives the app its parts before the first generated request.
APP = create_app(None)  # type: ignore[arg-type]
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", APP, config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}})
)


SEEDED: dict[str, UUID] = {}
"""The ids of ``seed_world``, once the fixture below has stored it."""


@schema.hook
def flatmap_path_parameters(
    context: HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[Any]:
    """Half of the generated ids name an aggregate of the seeded world, so the reads answer real records
    (validated against their response schema) and the commands reach the domain's rules."""
    if not path_parameters:
        return st.just(path_parameters)
    operation = context.operation
    resource = "/" + operation.path.strip("/").split("/")[0] if operation else ""
    seeded = {
        name: str(SEEDED.get(resource if name == "round_id" else name, value))
        for name, value in path_parameters.items()
    }
    return st.sampled_from([path_parameters, seeded])


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh SQLite store behind ``APP``, and headers with an admin token."""
    path: Path = tmp_path_factory.mktemp("schemathesis") / "api.sqlite"
    container = build(Settings(database_url=f"sqlite:///{path}", demo_when_empty=False))
    container.ledger.today = fixed_today
    SEEDED.update(seed_world(container.ledger))
    container.runner.catch_up()
    APP.state.parts = container.parts(read_wait_seconds=0.2)
    try:
        yield bearer(container.engine, "schemathesis")
    finally:
        APP.state.parts = None
        SEEDED.clear()
        container.close()
        print(f"\nschemathesis: {sum(CASES.values())} cases over {len(CASES)} operations, {dict(STATUSES)}")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case: schemathesis.Case, admin: dict[str, str]) -> None:  # type: ignore[type-arg]
    # Every check but one: a schema-valid request may still break a rule of DOMAIN.md (an unknown
    # organisation, a date before admission), and then 404, 409 or 422 is the right answer.
    excluded = [schemathesis.checks.positive_data_acceptance]
    if case.media_type == "multipart/form-data":  # any bytes are a file: the import reports each row
        excluded.append(schemathesis.checks.negative_data_rejection)
    response = case.call_and_validate(headers=admin, excluded_checks=excluded)
    CASES[case.operation.label] += 1  # the coverage phase also sends undocumented methods (405)
    STATUSES[response.status_code] += 1
