"""Policy over the rendered Kubernetes manifests: security, probes, resources, wiring.

Every workload (Deployment, StatefulSet, Job) of every target is checked; SoleFlip's own
workloads (image `soleflip`) also get the fixed UID, the health endpoints and the drain time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from soleflip.common.http import GRACEFUL_SHUTDOWN_S
from soleflip.common.settings import _PARSERS
from soleflip.console.settings import VARIABLES as CONSOLE_VARIABLES

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
WORKLOADS = ("Deployment", "StatefulSet", "Job")
SERVICES = {"ingest": 8000, "catalog": 8001, "orders": 8002, "pricing": 8003, "console": 8004}
DATA_SERVICES = ("catalog", "orders", "pricing")
CONSUMERS = {  # durable consumers per service (the services' consumers.py), by stream
    "catalog": {("INGEST", "catalog-ingest"), ("ORDERS", "catalog-orders")},
    "orders": {("INGEST", "orders-ingest"), ("PRICING", "orders-reprice")},
    "pricing": {
        ("INGEST", "pricing-market"),
        ("ORDERS", "pricing-orders"),
        ("CATALOG", "pricing-catalog"),
    },
}

Manifest = dict[str, Any]


def kinds(manifests: list[Manifest], *wanted: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] in wanted]


def named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    for m in manifests:
        if m["kind"] == kind and m["metadata"]["name"] == name:
            return m
    raise AssertionError(f"no {kind} {name}")


def workloads(rendered: dict[str, list[Manifest]]) -> Iterator[tuple[str, Manifest]]:
    for target, manifests in rendered.items():
        for m in kinds(manifests, *WORKLOADS):
            yield f"{target}:{m['kind']}/{m['metadata']['name']}", m


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def all_containers(workload: Manifest) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def is_soleflip(workload: Manifest) -> bool:
    return all(c["image"].split(":")[0].endswith("soleflip") for c in all_containers(workload))


def test_every_pod_runs_non_root_with_the_runtime_default_seccomp_profile(
    rendered: dict[str, list[Manifest]],
) -> None:
    for where, w in workloads(rendered):
        context = pod_spec(w)["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert context["runAsUser"] > 0, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        if is_soleflip(w):
            assert context["runAsUser"] == 10001, where
            assert context["runAsGroup"] == 10001, where


def test_every_container_is_locked_down(rendered: dict[str, list[Manifest]]) -> None:
    for where, w in workloads(rendered):
        for c in all_containers(w):
            context = c["securityContext"]
            label = f"{where}/{c['name']}"
            assert context["allowPrivilegeEscalation"] is False, label
            assert context["readOnlyRootFilesystem"] is True, label
            assert context["capabilities"] == {"drop": ["ALL"]}, label
            assert context["runAsNonRoot"] is True, label
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, label
            assert "privileged" not in context or context["privileged"] is False, label
            if is_soleflip(w):
                assert context["runAsUser"] == 10001, label


def test_every_container_has_requests_and_limits(rendered: dict[str, list[Manifest]]) -> None:
    for where, w in workloads(rendered):
        for c in all_containers(w):
            resources = c["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), f"{where}/{c['name']}"


def test_every_container_writes_only_to_an_emptydir_tmp_or_declared_volumes(
    rendered: dict[str, list[Manifest]],
) -> None:
    for where, w in workloads(rendered):
        volumes = {v["name"]: v for v in pod_spec(w).get("volumes", [])}
        claims = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
        for c in all_containers(w):
            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{where}/{c['name']}: no writable /tmp"
            assert "emptyDir" in volumes[mounts["/tmp"]["name"]], where
            for mount in mounts.values():
                assert mount["name"] in volumes or mount["name"] in claims, where


def test_no_pod_gets_a_service_account_token(rendered: dict[str, list[Manifest]]) -> None:
    for target, manifests in rendered.items():
        accounts = {m["metadata"]["name"]: m for m in kinds(manifests, "ServiceAccount")}
        for account in accounts.values():
            assert account["automountServiceAccountToken"] is False, target
        for m in kinds(manifests, *WORKLOADS):
            spec = pod_spec(m)
            assert spec["automountServiceAccountToken"] is False, m["metadata"]["name"]
            if "serviceAccountName" in spec:
                assert spec["serviceAccountName"] in accounts, m["metadata"]["name"]


def _probe_path(probe: dict[str, Any]) -> str:
    path: str = probe["httpGet"]["path"]
    return path


def test_long_running_containers_have_startup_readiness_and_liveness_probes(
    rendered: dict[str, list[Manifest]],
) -> None:
    for where, w in workloads(rendered):
        if w["kind"] == "Job":
            continue
        for c in pod_spec(w)["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in c, f"{where}/{c['name']}: no {probe}"
            ports = {p["name"] for p in c["ports"]}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                port = c[probe].get("httpGet", {}).get("port")
                assert port is None or port in ports, f"{where}: {probe} on unknown port {port}"


def test_services_probe_their_health_endpoints(rendered: dict[str, list[Manifest]]) -> None:
    for target, manifests in rendered.items():
        for service, port in SERVICES.items():
            (c,) = pod_spec(named(manifests, "Deployment", service))["containers"]
            assert c["args"] == ["serve", service], target
            assert c["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
            assert _probe_path(c["readinessProbe"]) == "/health/ready", service
            assert _probe_path(c["livenessProbe"]) == "/health/live", service
            assert _probe_path(c["startupProbe"]) == "/health/live", service
            svc = named(manifests, "Service", service)
            assert svc["spec"]["ports"][0]["port"] == port


def test_grace_period_covers_the_http_drain_and_the_consumer_drain(
    rendered: dict[str, list[Manifest]],
) -> None:
    for target, manifests in rendered.items():
        for service in SERVICES:
            spec = pod_spec(named(manifests, "Deployment", service))
            (c,) = spec["containers"]
            pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"]
            grace = spec["terminationGracePeriodSeconds"]
            assert grace >= 45, (target, service)
            # SIGTERM comes after preStop; then uvicorn drains HTTP, then the lifespan drains.
            assert grace >= pre_stop + GRACEFUL_SHUTDOWN_S + 10, (target, service)


def test_data_services_wait_for_migrations_and_the_job_runs_them(
    rendered: dict[str, list[Manifest]],
) -> None:
    for target, manifests in rendered.items():
        job = named(manifests, "Job", "soleflip-migrate")
        (c,) = pod_spec(job)["containers"]
        assert c["args"] == ["migrate", "all"], target
        assert pod_spec(job)["restartPolicy"] in ("OnFailure", "Never")
        for service in DATA_SERVICES:
            (init,) = pod_spec(named(manifests, "Deployment", service))["initContainers"]
            assert init["command"][-1] == service, target
            assert init["command"][1].endswith("wait_for_migrations.py")
        assert "initContainers" not in pod_spec(named(manifests, "Deployment", "ingest"))


def _secret_refs(manifests: list[Manifest]) -> Iterator[tuple[str, str | None]]:
    """(secret name, key or None for envFrom) for every reference in the workloads."""
    for m in kinds(manifests, *WORKLOADS):
        for c in all_containers(m):
            for source in c.get("envFrom", []):
                if "secretRef" in source:
                    yield source["secretRef"]["name"], None
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    yield ref["name"], ref["key"]


def test_secrets_are_referenced_never_rendered_and_all_documented(
    rendered: dict[str, list[Manifest]],
) -> None:
    example = yaml.safe_load_all((K8S / "base" / "secrets.example.yaml").read_text())
    documented = {s["metadata"]["name"]: s["stringData"] for s in example if s}
    for target, manifests in rendered.items():
        assert not kinds(manifests, "Secret"), f"{target} renders a Secret"
        for name, key in _secret_refs(manifests):
            assert name in documented, f"{target}: Secret {name} is not in secrets.example.yaml"
            assert key is None or key in documented[name], f"{target}: {name}.{key}"
    for values in documented.values():
        for key, value in values.items():
            if key != "username":
                assert value.startswith("<"), f"secrets.example.yaml has a value for {key}"


def test_config_maps_hold_only_contract_settings(rendered: dict[str, list[Manifest]]) -> None:
    for target, manifests in rendered.items():
        for m in kinds(manifests, "ConfigMap"):
            for key in m.get("data", {}):
                if key.startswith("SOLEFLIP_"):
                    known = key in _PARSERS or key in CONSOLE_VARIABLES
                    assert known, f"{target}: {m['metadata']['name']}: unknown {key}"


def test_config_map_references_exist(rendered: dict[str, list[Manifest]]) -> None:
    for target, manifests in rendered.items():
        maps = {m["metadata"]["name"] for m in kinds(manifests, "ConfigMap")}
        for m in kinds(manifests, *WORKLOADS):
            for c in all_containers(m):
                for source in c.get("envFrom", []):
                    if "configMapRef" in source:
                        assert source["configMapRef"]["name"] in maps, target
            for volume in pod_spec(m).get("volumes", []):
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in maps, target


@pytest.fixture
def prod(rendered: dict[str, list[Manifest]]) -> list[Manifest]:
    return rendered["overlays/prod"]


def test_prod_creates_streams_with_three_replicas(prod: list[Manifest]) -> None:
    common = named(prod, "ConfigMap", "soleflip-common")
    assert common["data"]["SOLEFLIP_NATS_REPLICAS"] == "3"


def test_traces_are_exported_in_prod_and_not_in_dev(rendered: dict[str, list[Manifest]]) -> None:
    prod = named(rendered["overlays/prod"], "ConfigMap", "soleflip-common")["data"]
    dev = named(rendered["overlays/dev"], "ConfigMap", "soleflip-common")["data"]
    assert prod["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(":4318")
    assert dev["OTEL_EXPORTER_OTLP_ENDPOINT"] == ""
    assert (
        prod["OTEL_EXPORTER_OTLP_PROTOCOL"] == dev["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    )


def test_prod_spreads_every_service_across_nodes(prod: list[Manifest]) -> None:
    for service in SERVICES:
        constraints = pod_spec(named(prod, "Deployment", service))["topologySpreadConstraints"]
        hosts = [c for c in constraints if c["topologyKey"] == "kubernetes.io/hostname"]
        assert hosts, service
        assert hosts[0]["whenUnsatisfiable"] == "DoNotSchedule"
        assert "app.kubernetes.io/name" in hosts[0]["matchLabelKeys"]


def test_prod_postgres_is_three_instances_with_a_synchronous_replica(
    prod: list[Manifest],
) -> None:
    spec = named(prod, "Cluster", "soleflip-pg")["spec"]
    assert spec["instances"] == 3
    assert spec["postgresql"]["synchronous"]["number"] >= 1
    assert spec["postgresql"]["synchronous"]["dataDurability"] == "required"
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    roles = {r["name"]: r["passwordSecret"]["name"] for r in spec["managed"]["roles"]}
    assert roles == {f"soleflip_{s}": f"soleflip-db-{s}" for s in (*DATA_SERVICES, "analytics")}
    assert spec["superuserSecret"]["name"] == "soleflip-db-admin"


def test_prod_nats_values_give_three_servers_file_store_and_fsync_always() -> None:
    values = yaml.safe_load((K8S / "overlays" / "prod" / "nats-values.yaml").read_text())
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = values["config"]["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert jetstream["merge"]["sync_interval"] == "always"
    spread = values["podTemplate"]["topologySpreadConstraints"]["kubernetes.io/hostname"]
    assert spread["whenUnsatisfiable"] == "DoNotSchedule"
    # The namespace enforces the restricted Pod Security Standard: the chart's pods must pass.
    pod = values["podTemplate"]["merge"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in ("container", "reloader"):
        context = values[container]["merge"]["securityContext"]
        assert context == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    version = values["container"]["image"]["tag"].split("-")[0]
    assert tuple(int(p) for p in version.split(".")) >= (2, 12, 3), "NATS 2.12.3 or newer"


def test_prod_autoscaling_targets_exist(prod: list[Manifest]) -> None:
    hpa = named(prod, "HorizontalPodAutoscaler", "ingest")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "ingest"
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["minReplicas"] >= 2
    for service, consumers in CONSUMERS.items():
        scaled = named(prod, "ScaledObject", service)["spec"]
        assert scaled["scaleTargetRef"]["name"] == service
        assert scaled["minReplicaCount"] >= 2
        triggers = {
            (t["metadata"]["stream"], t["metadata"]["consumer"])
            for t in scaled["triggers"]
            if t["type"] == "nats-jetstream"
        }
        assert triggers == consumers, service
    names = {m["metadata"]["name"] for m in kinds(prod, "ScaledObject")}
    assert "ingest" not in names, "ingest scales on CPU (HPA); two autoscalers would fight"


def test_prod_disruption_budgets_and_metrics_select_the_services(prod: list[Manifest]) -> None:
    for service in SERVICES:
        pdb = named(prod, "PodDisruptionBudget", service)["spec"]
        labels = named(prod, "Deployment", service)["spec"]["template"]["metadata"]["labels"]
        assert pdb["selector"]["matchLabels"].items() <= labels.items()
    (monitor,) = kinds(prod, "PodMonitor")
    assert monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "http"


def _policies(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m["spec"] for m in kinds(manifests, "NetworkPolicy")}


def _selects(spec: dict[str, Any], service: str) -> bool:
    selector = spec["podSelector"]
    if not selector:
        return True
    if selector.get("matchLabels", {}).get("app.kubernetes.io/name") == service:
        return True
    return any(
        e["key"] == "app.kubernetes.io/name" and e["operator"] == "In" and service in e["values"]
        for e in selector.get("matchExpressions", [])
    )


@pytest.mark.parametrize("target", ["overlays/dev", "overlays/prod"])
def test_network_policies_deny_by_default_and_open_only_the_needed_flows(
    rendered: dict[str, list[Manifest]], target: str
) -> None:
    policies = _policies(rendered[target])
    deny = policies["default-deny-all"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert "ingress" not in deny
    assert "egress" not in deny
    # A rule without `to` reaches every address, like an ipBlock of 0.0.0.0/0.
    external = {
        name
        for name, spec in policies.items()
        for rule in spec.get("egress", [])
        if not rule.get("to")
        or any(p.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for p in rule["to"])
    }
    # CloudNativePG's instance manager calls the API server, whose address varies by cluster.
    cnpg = {"cnpg-instances"} if target.endswith("prod") else set()
    assert external == {"stockx-egress"} | cnpg
    stockx = policies["stockx-egress"]
    assert [p["port"] for p in stockx["egress"][0]["ports"]] == [443]
    assert not _selects(stockx, "ingest")
    for service in DATA_SERVICES:
        assert _selects(stockx, service)
    otlp = policies["otlp-egress"]
    (collector,) = otlp["egress"][0]["to"]
    assert collector["namespaceSelector"]["matchLabels"]  # one namespace, not the world
    assert [p["port"] for p in otlp["egress"][0]["ports"]] == [4317, 4318]
    ingress = policies["ingest-from-ingress-controller"]
    assert _selects(ingress, "ingest")
    (source,) = ingress["ingress"][0]["from"]
    assert source["namespaceSelector"]["matchLabels"]
    # The console: people through the ingress controller; it alone reaches the services' APIs.
    people = policies["console-from-ingress-controller"]
    assert _selects(people, "console")
    assert [p["port"] for p in people["ingress"][0]["ports"]] == [8004]
    apis = policies["services-from-console"]
    (caller,) = apis["ingress"][0]["from"]
    assert caller["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "console"}
    for service in ("ingest", *DATA_SERVICES):
        assert _selects(apis, service)
        assert _selects(policies["soleflip-to-nats"], "console")


def test_dev_runs_single_node_infrastructure_with_the_compose_init_script(
    rendered: dict[str, list[Manifest]],
) -> None:
    dev = rendered["overlays/dev"]
    for name in ("nats", "postgres"):
        assert named(dev, "StatefulSet", name)["spec"]["replicas"] == 1
    conf = next(m for m in kinds(dev, "ConfigMap") if m["metadata"]["name"] == "nats-config")
    assert "sync_interval: always" in conf["data"]["nats.conf"]
    init = next(
        m for m in kinds(dev, "ConfigMap") if m["metadata"]["name"].startswith("postgres-init")
    )
    compose_copy = (ROOT / "deploy" / "postgres" / "10-service-roles.sh").read_text()
    assert init["data"]["10-service-roles.sh"] == compose_copy


RECOMMENDED_LABELS = ("name", "instance", "version", "component", "part-of", "managed-by")


def test_soleflip_workloads_and_their_pods_carry_the_recommended_labels(
    rendered: dict[str, list[Manifest]],
) -> None:
    prod = yaml.safe_load((ROOT / "deploy/k8s/overlays/prod/kustomization.yaml").read_text())
    (image,) = [i for i in prod["images"] if i["name"] == "soleflip"]
    for where, m in workloads(rendered):
        if not is_soleflip(m):
            continue
        for labels in (m["metadata"]["labels"], m["spec"]["template"]["metadata"]["labels"]):
            missing = [k for k in RECOMMENDED_LABELS if f"app.kubernetes.io/{k}" not in labels]
            assert not missing, f"{where}: no app.kubernetes.io/{missing}"
            assert labels["app.kubernetes.io/part-of"] == "soleflip", where
            assert labels["app.kubernetes.io/managed-by"] == "kustomize", where
            assert labels["app.kubernetes.io/version"] == image["newTag"], where
