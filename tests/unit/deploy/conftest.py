"""Rendering the kustomize tree once per session for the Kubernetes manifest checks.

`kubectl kustomize` renders when kubectl is on PATH, else a standalone `kustomize build`; with
neither, the render-based tests skip and say how to get one (the raw-manifest checks still run).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
TARGETS = ("base", "overlays/dev", "overlays/prod")
NO_RENDERER = (
    "neither kubectl nor kustomize is on PATH: install kubectl "
    "(https://kubernetes.io/docs/tasks/tools/, or apt/brew package `kubectl`) to render overlays"
)

Manifest = dict[str, Any]


def renderer() -> list[str] | None:
    """The command that renders a kustomization directory given as its last argument."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def render(target: str) -> list[Manifest]:
    command = renderer()
    if command is None:
        pytest.skip(NO_RENDERER)
    result = subprocess.run(
        [*command, str(K8S / target)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, f"{target} does not render:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Every kustomize target, rendered: target -> its manifests."""
    return {target: render(target) for target in TARGETS}
