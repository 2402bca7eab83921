"""docker-compose.yml (issue #5 item 4), checked without a Docker engine: the file's shape, the start-up
order, and that every setting it passes is one ``infra.settings.Settings`` reads."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from infra.cli import app
from infra.settings import Settings

ROOT = Path(__file__).parents[2]
DANGJIAN_SERVICES = ("api", "relay", "projector", "ingester")
"""The long-running roles of the dangjian image; each must wait for the setup job."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, in either of compose's two spellings (mapping or ``KEY=value`` list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Service name → condition (``service_started`` when given as a plain list)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(part) for part in cmd]


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` with the default (what a fresh ``docker compose up`` uses)."""
    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: os.environ.get(m[1]) or m[2] or "", value)


def test_every_service_has_an_image_or_a_build(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name


def test_depends_on_names_real_services_with_known_conditions(services: dict[str, dict[str, Any]]) -> None:
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert condition in conditions, f"{name} → {target}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], (
                    f"{name} waits for {target}, which has no healthcheck"
                )


def test_postgres_16_and_kafka_in_kraft_mode_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    postgres, kafka = services["postgres"], services["kafka"]
    assert postgres["image"].startswith("postgres:16")
    assert kafka["image"].startswith("apache/kafka")
    for service in (postgres, kafka):
        check = service["healthcheck"]
        assert check["test"] and check.get("retries")
    kraft = environment(kafka)
    assert set(kraft["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "ZOOKEEPER" not in " ".join(kraft)
    assert kraft["KAFKA_CONTROLLER_QUORUM_VOTERS"]


def test_the_setup_job_runs_first(services: dict[str, dict[str, Any]]) -> None:
    setup = services["setup"]
    assert command(setup) == ["setup"]
    assert setup.get("restart") in ("no", None)  # one-shot
    assert depends_on(setup)["postgres"] == "service_healthy"
    for name in DANGJIAN_SERVICES:
        assert depends_on(services[name]).get("setup") == "service_completed_successfully", name
    for name in ("relay", "ingester"):
        assert depends_on(services[name]).get("kafka") == "service_healthy", name


def test_each_role_runs_a_real_cli_command(services: dict[str, dict[str, Any]]) -> None:
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    expected = {
        "setup": "setup",
        "api": "serve",
        "relay": "relay",
        "projector": "work",
        "ingester": "ingest",
    }
    for name, verb in expected.items():
        assert command(services[name])[0] == verb
        assert verb in commands


def test_two_projection_workers_by_default(services: dict[str, dict[str, Any]]) -> None:
    workers = sum(
        int((service.get("deploy") or {}).get("replicas", 1))
        for service in services.values()
        if command(service)[:1] == ["work"]
    )
    assert workers == 2


def test_every_dangjian_variable_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    fields = set(Settings.model_fields)
    used = {
        key for service in services.values() for key in environment(service) if key.startswith("DANGJIAN_")
    }
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    used |= set(re.findall(r"\b(DANGJIAN_\w+)=", dockerfile))
    assert used
    for key in used:
        assert key.removeprefix("DANGJIAN_").lower() in fields, f"{key} is not a field of Settings"
    documented = (ROOT / "docs" / "DEPLOYMENT.md").read_text(encoding="utf-8")
    for key in used:
        assert key in documented, f"{key} is not documented in docs/DEPLOYMENT.md"


def test_the_services_settings_are_valid(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("setup", *DANGJIAN_SERVICES):
        env = environment(services[name])
        for key in [k for k in os.environ if k.startswith("DANGJIAN_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, interpolate(value))
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.database_url.startswith("postgresql://"), name
        assert "@postgres:5432/" in settings.database_url
        assert settings.projections == "external"
        assert settings.demo_when_empty is False
        assert settings.kafka_bootstrap_servers == "kafka:9092"


def test_the_dockerfile_builds_from_pyproject() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY pyproject.toml" in dockerfile
    assert re.search(r"pip install \.", dockerfile)
    assert 'ENTRYPOINT ["dangjian"]' in dockerfile
    for package in ("domain", "projections", "api", "infra"):
        assert f"COPY {package}" in dockerfile
