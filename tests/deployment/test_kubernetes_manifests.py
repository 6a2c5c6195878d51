"""deploy/kubernetes: every service has its Deployment (probes, limits, non-root, read-only),
Service, disruption budget and autoscaler; RabbitMQ runs as a three-node cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from deploy_modules import REPO

BASE = REPO / "deploy" / "kubernetes" / "base"
PLATFORM = ("accounts", "provisioning", "logs", "privacy", "gateway")
CONSUMERS = ("accounts", "provisioning", "logs", "privacy")


def _objects() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((BASE / resource).read_text()):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


OBJECTS = _objects()


def test_kustomization_lists_every_manifest() -> None:
    """No manifest in the base is left out of its kustomization."""
    listed = set(yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in BASE.glob("*.yaml")} - {"kustomization.yaml"}


def test_each_deployment_is_probed_limited_and_unprivileged() -> None:
    """`python -m <service>`, /healthz and /readyz probes, requests, non-root, read-only root."""
    for name in PLATFORM:
        pod = OBJECTS[("Deployment", name)]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", name]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert "/run/secrets" in mounts


def test_each_service_has_a_budget_and_an_autoscaler() -> None:
    """A Service, a PodDisruptionBudget, and an HPA on CPU (and queue depth for consumers)."""
    for name in PLATFORM:
        assert OBJECTS[("Service", name)]["spec"]["ports"][0]["port"] == 8080
        assert OBJECTS[("PodDisruptionBudget", name)]["spec"]["minAvailable"] == 1
        hpa = OBJECTS[("HorizontalPodAutoscaler", name)]["spec"]
        assert hpa["minReplicas"] >= 2
        assert hpa["scaleTargetRef"]["name"] == name
        kinds = {metric["type"]: metric for metric in hpa["metrics"]}
        assert kinds["Resource"]["resource"]["name"] == "cpu"
        if name in CONSUMERS:
            selector = kinds["External"]["external"]["metric"]["selector"]["matchLabels"]
            assert selector == {"queue": f"esim.{name}"}


def test_rabbitmq_is_a_three_node_cluster_with_per_queue_metrics() -> None:
    """The RabbitmqCluster (checked here by shape: its CRD schema is not reachable) has three
    replicas, spread over nodes, with per-queue metrics for the autoscalers."""
    cluster = OBJECTS[("RabbitmqCluster", "esim-rabbitmq")]
    assert cluster["apiVersion"] == "rabbitmq.com/v1beta1"
    spec = cluster["spec"]
    assert spec["replicas"] == 3
    assert "prometheus.return_per_object_metrics = true" in spec["rabbitmq"]["additionalConfig"]
    anti = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"


def test_the_example_overlay_builds_on_the_base() -> None:
    """The overlay uses the base, a namespace and the registry's image of the platform."""
    overlay = Path(REPO / "deploy/kubernetes/overlays/example/kustomization.yaml")
    kustomization = yaml.safe_load(overlay.read_text())
    assert "../../base" in kustomization["resources"]
    assert kustomization["images"][0]["name"] == "esim-platform"
