"""deploy/k8s renders and validates offline.

Every kustomize target renders (conftest.py), and every rendered or raw manifest validates with
kubernetes-validate in strict mode (unknown fields are errors) for the newest Kubernetes minor
it knows and for the oldest we support; custom resources (CloudNativePG, KEDA, Prometheus
Operator) validate against the small schemas in crd_schemas.yaml.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
CRD_SCHEMAS = Path(__file__).with_name("crd_schemas.yaml")
#: The oldest minor the manifests target: native preStop `sleep` is on by default from 1.30.
OLDEST_K8S = "1.30.0"
K8S_VERSIONS = (OLDEST_K8S, kubernetes_validate.latest_version())

Manifest = dict[str, Any]


@functools.cache
def crd_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = yaml.safe_load(CRD_SCHEMAS.read_text())["schemas"]
    return schemas


def validate(manifest: Manifest, version: str) -> None:
    """Raises on an invalid manifest; a kind with no schema at all is invalid too."""
    key = f"{manifest.get('apiVersion')}/{manifest.get('kind')}"
    custom = crd_schemas()
    if key in custom:
        jsonschema.validate(manifest, custom[key])
        return
    kubernetes_validate.validate(manifest, version, strict=True)


def kustomize_resources(directory: Path) -> list[Path]:
    """The manifest files a kustomization or component lists under `resources`, recursively."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    files: list[Path] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        files += kustomize_resources(path) if path.is_dir() else [path]
    for entry in kustomization.get("components", []):
        files += kustomize_resources((directory / entry).resolve())
    return files


def raw_manifests() -> list[tuple[str, Manifest]]:
    """Every resource file of every target, plus the Secrets example, as (file, manifest)."""
    overlays = (K8S / "overlays" / "dev", K8S / "overlays" / "prod")
    files = {f for overlay in overlays for f in kustomize_resources(overlay)}
    files.add(K8S / "base" / "secrets.example.yaml")
    return [
        (str(path.relative_to(ROOT)), doc)
        for path in sorted(files)
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_rendered_manifest_is_valid(
    rendered: dict[str, list[Manifest]], version: str
) -> None:
    problems = []
    for target, manifests in rendered.items():
        for m in manifests:
            try:
                validate(m, version)
            except (
                kubernetes_validate.ValidationError,
                kubernetes_validate.SchemaNotFoundError,
                jsonschema.ValidationError,
            ) as exc:
                problems.append(f"{target}: {m['kind']}/{m['metadata']['name']}: {exc}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_raw_manifest_file_is_valid(version: str) -> None:
    manifests = raw_manifests()
    assert len(manifests) > 30
    for path, m in manifests:
        try:
            validate(m, version)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path}: {m['kind']}: {exc.message}")


def test_every_target_renders_unique_named_resources(rendered: dict[str, list[Manifest]]) -> None:
    for target, manifests in rendered.items():
        keys = [(m["kind"], m["metadata"]["name"]) for m in manifests]
        assert len(keys) == len(set(keys)), target
        assert len(keys) > 15, target


def test_overlays_deploy_into_one_namespace(rendered: dict[str, list[Manifest]]) -> None:
    for target in ("overlays/dev", "overlays/prod"):
        for m in rendered[target]:
            if m["kind"] != "Namespace":
                assert m["metadata"].get("namespace") == "soleflip", (target, m["kind"])


def test_crd_schemas_reject_what_the_real_crds_reject() -> None:
    """The small schemas are not vacuous: a typo, a missing field and a bad value fail."""
    scaled = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "triggers": [{"type": "nats-jetstream", "metadata": {"stream": "INGEST"}}],
        },
    }
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "pg"},
        "spec": {"instances": 3, "storage": {"size": "1Gi"}, "instanses": 3},
    }
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "m"},
        "spec": {"selector": {}, "podMetricsEndpoints": [{"port": "http", "interval": "soon"}]},
    }
    for bad in (scaled, cluster, monitor):
        with pytest.raises(jsonschema.ValidationError):
            validate(bad, K8S_VERSIONS[-1])


def test_an_unknown_field_fails_strict_validation() -> None:
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "x"},
        "automountServiceAcountToken": False,
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(account, K8S_VERSIONS[-1])
