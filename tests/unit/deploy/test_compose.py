"""docker-compose.yml and docker-compose.infra.yml, checked offline.

The YAML is parsed and checked against the rules of issue 7 (start order, pinned images, health
checks, no secret values, the hardening the Kubernetes pods also get). `docker compose config`
validates both files too (it needs no engine): Compose v2 where installed, else docker-compose
1.29 from PyPI (`./soleflip test` installs it under CI) on the file without its top-level
`name:`, which v1's schema predates (the name is checked in the YAML).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from soleflip.common.settings import _PARSERS
from soleflip.console.settings import VARIABLES as CONSOLE_VARIABLES

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
INFRA = ROOT / "docker-compose.infra.yml"
ENV_EXAMPLE = ROOT / ".env.example"
APP_SERVICES = ("ingest", "catalog", "orders", "pricing")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
# Values `docker compose config` needs for the `${VAR:?}` it requires; obviously fake.
FAKE_ENV = {
    "POSTGRES_PASSWORD": "fake-pg",
    "SOLEFLIP_CATALOG_DB_PASSWORD": "fake-catalog",
    "SOLEFLIP_ORDERS_DB_PASSWORD": "fake-orders",
    "SOLEFLIP_PRICING_DB_PASSWORD": "fake-pricing",
    "SOLEFLIP_ANALYTICS_DB_PASSWORD": "fake-analytics",
    "SOLEFLIP_FERNET_KEYS": "fake-fernet",
}


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module", params=[COMPOSE, INFRA], ids=["full", "infra"])
def compose(request: pytest.FixtureRequest) -> dict[str, Any]:
    path: Path = request.param
    return load(path)


@pytest.fixture(scope="module")
def full() -> dict[str, Any]:
    return load(COMPOSE)


def _depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def test_every_dependency_exists_and_is_in_the_default_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target in _depends(service):
            assert target in services, f"{name} depends on unknown {target}"
            if not service.get("profiles"):
                assert not services[target].get("profiles"), f"{name} needs profiled {target}"


def test_every_image_is_pinned_by_a_tag(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        if "${" in image:  # an interpolated tag: `name:${VAR:-default}`
            repository, _, tag = image.partition(":")
        else:
            repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert tag not in ("latest", ""), f"{name}: {image}"
        if tag.startswith("${"):
            assert ":-" in tag, f"{name}: an interpolated tag needs a default ({image})"
        else:
            assert re.match(r"v?\d+\.\d+", tag), f"{name}: {image} is not a version tag"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if service.get("restart") == "no":  # one-shot jobs finish; they are not "healthy"
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_services_wait_for_migrate_and_healthy_infrastructure(full: dict[str, Any]) -> None:
    services = full["services"]
    assert services["migrate"]["command"] == ["migrate", "all"]
    assert _depends(services["migrate"]) == {"postgres": "service_healthy"}
    for name in APP_SERVICES:
        deps = _depends(services[name])
        assert deps.pop("migrate") == "service_completed_successfully", name
        assert deps.pop("nats") == "service_healthy", name
        assert set(deps.values()) <= {"service_healthy"}, name
        assert services[name]["command"] == ["serve", name]


def test_nats_runs_jetstream_on_a_file_store(compose: dict[str, Any]) -> None:
    command = compose["services"]["nats"]["command"]
    assert "-js" in command
    assert command[command.index("-sd") + 1] == "/data"


def test_simulator_runs_only_under_the_dev_profile(full: dict[str, Any]) -> None:
    assert full["services"]["stockx-sim"]["profiles"] == ["dev"]
    profiled = {n: s["profiles"] for n, s in full["services"].items() if s.get("profiles")}
    observability = {key: ["observability"] for key in ("jaeger", "prometheus", "grafana")}
    assert profiled == {"stockx-sim": ["dev"], "metabase": ["bi"], **observability}


def test_bi_profile_runs_metabase_after_the_views_exist(full: dict[str, Any]) -> None:
    metabase = full["services"]["metabase"]
    assert metabase["image"].startswith("metabase/metabase:v")
    assert _depends(metabase) == {
        "postgres": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    assert metabase["ports"] == ["127.0.0.1:3000:3000"]
    # Its own state on a volume of its own, never in SoleFlip's database.
    assert metabase["environment"]["MB_DB_TYPE"] == "h2"
    mount = metabase["environment"]["MB_DB_FILE"].rpartition("/")[0]
    assert f"metabase-data:{mount}" in metabase["volumes"]
    assert "metabase-data" in full["volumes"]


def test_postgres_creates_the_analytics_role_with_a_password_from_env(
    full: dict[str, Any],
) -> None:
    postgres = full["services"]["postgres"]
    value = postgres["environment"]["SOLEFLIP_ANALYTICS_DB_PASSWORD"]
    assert INTERPOLATION.fullmatch(value), value
    assert ":?" in value, value
    script = (ROOT / "deploy" / "postgres" / "10-service-roles.sh").read_text()
    assert re.search(r"for service in [a-z ]*\banalytics\b", script)


def test_services_export_traces_to_jaeger_only_when_an_endpoint_is_set(
    full: dict[str, Any],
) -> None:
    jaeger = full["services"]["jaeger"]
    assert jaeger["profiles"] == ["observability"]
    assert str(jaeger["environment"]["COLLECTOR_OTLP_ENABLED"]) == "true"
    for name in APP_SERVICES:
        env = full["services"][name]["environment"]
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf", name
        # Interpolated from .env, empty by default: no collector, no export, no errors.
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] in ("", "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"), name


def test_soleflip_containers_are_hardened_like_the_pods(full: dict[str, Any]) -> None:
    for name, service in full["services"].items():
        if not service["image"].startswith("soleflip:"):
            continue
        assert service["user"] == "10001:10001", name
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        if name in APP_SERVICES:
            grace = int(service["stop_grace_period"].removesuffix("s"))
            assert grace >= 45, f"{name}: too short to drain"


def _environment(compose: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (name, key, str(value))
        for name, service in compose["services"].items()
        for key, value in (service.get("environment") or {}).items()
    ]


def test_no_secret_value_is_written_into_the_compose_files(compose: dict[str, Any]) -> None:
    for service, key, value in _environment(compose):
        if SECRET_NAME.search(key):
            assert not value or INTERPOLATION.fullmatch(value), f"{service}.{key} = {value!r}"
        if "DATABASE_URL" in key and "@" in value:
            credentials = value.split("//", 1)[1].split("@", 1)[0]
            password = credentials.partition(":")[2]
            assert not password or INTERPOLATION.fullmatch(password), f"{service}.{key}"


def test_soleflip_variables_are_the_contract_settings(full: dict[str, Any]) -> None:
    roles = ("catalog", "orders", "pricing", "analytics")
    own = {f"SOLEFLIP_{s.upper()}_DB_PASSWORD" for s in roles}
    for service, key, _ in _environment(full):
        if key.startswith("SOLEFLIP_"):
            known = key in _PARSERS or key in own or key in CONSOLE_VARIABLES
            assert known, f"{service}: unknown setting {key}"


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_env_example_documents_every_variable_without_secret_values() -> None:
    example = _env_example()
    referenced = set(INTERPOLATION.findall(COMPOSE.read_text()))
    assert referenced <= set(example), f"missing in .env.example: {referenced - set(example)}"
    for key, value in example.items():
        if SECRET_NAME.search(key):
            assert value == "", f".env.example gives {key} a value"


def test_env_file_is_git_ignored() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored


#: A top-level `name:` (the project name); Compose v1's schema predates it.
TOP_LEVEL_NAME = re.compile(r"^name:.*\n", re.MULTILINE)


def _compose_cli() -> tuple[list[str], int] | None:
    """`docker compose` (v2 plugin) or a standalone `docker-compose` (v2, else v1.29 — the
    one PyPI and Debian have, which `./soleflip test` installs under CI), with its major version."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    found = []
    for command in candidates:
        probe = subprocess.run(
            [*command, "version", "--short"], capture_output=True, text=True, check=False
        )
        version = probe.stdout.strip().lstrip("v")
        if probe.returncode == 0 and version[:2] in ("2.", "1."):
            found.append((command, int(version[0])))
    return max(found, key=lambda f: f[1], default=None)


def test_the_project_is_named_in_the_file(compose: dict[str, Any]) -> None:
    # Checked here because Compose v1 validates the rest of the file without it.
    assert re.fullmatch(r"soleflip(-infra)?", compose["name"]), compose.get("name")


@pytest.mark.parametrize(
    ("path", "profiles"),
    [
        (COMPOSE, ["--profile", "dev"]),
        (COMPOSE, ["--profile", "bi"]),
        (COMPOSE, []),
        (INFRA, []),
    ],
)
def test_docker_compose_config_accepts_the_file(path: Path, profiles: list[str]) -> None:
    found = _compose_cli()
    if found is None:
        pytest.skip(
            "Docker Compose is not installed: `./soleflip test` under CI installs docker-compose "
            "1.29 (PyPI), or install the compose plugin (docker-compose-plugin); the YAML checks "
            "above ran"
        )
    command, major = found
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLEFLIP_")} | FAKE_ENV
    text = path.read_text()
    if major == 1:  # the same file without the top-level `name:` v1 does not know
        assert TOP_LEVEL_NAME.search(text), path
        text = TOP_LEVEL_NAME.sub("", text)
    result = subprocess.run(
        [*command, "--project-directory", str(ROOT), "-f", "-", *profiles, "config", "--quiet"],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_observability_profile_scrapes_alerts_and_provisions_the_dashboard(
    full: dict[str, Any],
) -> None:
    services = full["services"]
    mounts = [v.split(":")[0] for v in services["prometheus"]["volumes"]]
    assert "./deploy/prometheus/soleflip-rules.yml" in mounts
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/soleflip-rules.yml"]
    (targets,) = [c["static_configs"][0]["targets"] for c in config["scrape_configs"]]
    ports = {name: services[name]["environment"]["SOLEFLIP_HTTP_PORT"] for name in APP_SERVICES}
    assert sorted(targets) == sorted(f"{name}:{port}" for name, port in ports.items())
    grafana = services["grafana"]
    assert _depends(grafana) == {"prometheus": "service_healthy"}
    dashboards = list((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"]
        assert dashboard["panels"]
