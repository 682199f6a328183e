"""The Dockerfile's rules, checked by parsing it (no Docker engine is needed or used)."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "clang", "libpq-dev", "python3-dev")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def _logical_lines(text: str) -> list[str]:
    """Joins `\\` continuations and drops comments (a comment inside a continuation too)."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with `${ARG}` in FROM resolved."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), rest.split()[0])
            alias = re.search(r"\bAS\s+(\S+)", rest, re.IGNORECASE)
            stages.append(Stage(base, alias[1] if alias else None))
        elif not stages and keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final(dockerfile: tuple[dict[str, str], list[Stage]]) -> Stage:
    return dockerfile[1][-1]


def test_every_base_image_is_pinned_by_a_version_tag(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    stage_names = {s.name for s in dockerfile[1]}
    for stage in dockerfile[1]:
        if stage.base in stage_names:
            continue
        assert "$" not in stage.base, f"unresolved ARG in FROM {stage.base}"
        image, _, tag = stage.base.rpartition(":")
        assert image, f"{stage.base} has no tag"
        assert tag != "latest"
        assert re.match(r"\d+\.\d+", tag), f"{stage.base}: tag is not a version"


def test_is_multi_stage_and_runs_on_slim_python_3_11(
    dockerfile: tuple[dict[str, str], list[Stage]], final: Stage
) -> None:
    assert len(dockerfile[1]) >= 2
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", final.base), final.base


def test_final_stage_runs_as_a_fixed_numeric_non_root_user(final: Stage) -> None:
    users = final.all("USER")
    assert users, "the final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid == "10001", users[-1]
    assert gid in ("", "10001"), users[-1]


def test_final_stage_installs_no_build_tools(final: Stage) -> None:
    for command in final.all("RUN"):
        assert "apt-get install" not in command or not any(
            re.search(rf"\b{re.escape(tool)}\b", command) for tool in BUILD_TOOLS
        ), command
        assert "pip install" not in command, command
        assert "uv " not in command, command


def test_final_stage_takes_only_the_built_environment_from_the_builder(final: Stage) -> None:
    copies = final.all("COPY")
    assert copies
    for copy in copies:
        assert copy.startswith("--from="), f"the final stage copies build context: {copy}"
    assert not any(kw == "ADD" for kw, _ in final.instructions)


def test_every_uv_sync_uses_the_lockfile_without_dev_or_editable_installs(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    syncs = [run for stage in dockerfile[1] for run in stage.all("RUN") if "uv sync" in run]
    assert syncs, "no `uv sync` in the Dockerfile"
    for run in syncs:
        for flag in ("--frozen", "--no-dev", "--no-editable"):
            assert flag in run, f"{flag} missing in: {run}"


def test_uv_image_can_build_the_workspace_packages(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    uv_image = dockerfile[0]["UV_IMAGE"]
    uv_version = uv_image.rpartition(":")[2]
    for pyproject in ROOT.glob("*/*/pyproject.toml"):
        requires = tomllib.loads(pyproject.read_text()).get("build-system", {}).get("requires", [])
        for requirement in requires:
            if requirement.startswith("uv_build"):
                spec = SpecifierSet(requirement.removeprefix("uv_build"))
                assert uv_version in spec, f"{uv_image} outside {requirement} ({pyproject})"


def test_entrypoint_is_soleflip_and_default_command_serves_ingest(final: Stage) -> None:
    assert json.loads(final.all("ENTRYPOINT")[-1]) == ["soleflip"]
    assert json.loads(final.all("CMD")[-1]) == ["serve", "ingest"]


def test_no_healthcheck_and_oci_labels_are_set(final: Stage) -> None:
    assert not final.all("HEALTHCHECK"), "probes belong to the orchestrator"
    labels = " ".join(final.all("LABEL"))
    for key in ("title", "description", "version", "revision", "created", "source"):
        assert f"org.opencontainers.image.{key}=" in labels, key


def test_runtime_writes_nothing_outside_tmp(final: Stage) -> None:
    env = " ".join(final.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "TMPDIR=/tmp" in env
    assert final.all("WORKDIR")[-1] == "/tmp"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_context() -> None:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "**", "exclude everything first, then allow the packages"
    for needed in ("!pyproject.toml", "!uv.lock", "!libs/", "!services/", "!tools/"):
        assert needed in rules
    for excluded in ("**/.venv", "**/.env", "**/.soleflip", "**/__pycache__"):
        assert excluded in rules
