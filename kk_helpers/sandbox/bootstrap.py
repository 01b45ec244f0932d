"""What a fresh cluster has before anyone touches it.

The system namespaces, the nodes of the workshop topology (one tainted
control-plane and N workers, named as kind names them), the ``kubernetes``
service in ``default`` and a ``default`` ServiceAccount per namespace.
Running it again on a restored store adds only what is missing.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from . import errors
from .registry import Registry, WriteOptions
from .resources import NAMESPACES, NODES, SERVICES, SERVICEACCOUNTS

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
KUBELET_VERSION = "v1.37.0"


@dataclass(frozen=True)
class NodeSpec:
    """Size and address of one simulated node."""

    name: str
    ip: str
    control_plane: bool = False
    cpu: str = "4"
    memory: str = "8Gi"
    pods: str = "110"
    pod_cidr: str = "10.244.0.0/24"


def loopback_usable(ip: str) -> bool:
    """Can we bind on this loopback address (Linux routes all of 127/8 to lo; macOS does not)?"""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((ip, 0))
        return True
    except OSError:
        return False


def topology(cluster: str = "kk", workers: int = 2, *, cpu: str = "4", memory: str = "8Gi") -> list[NodeSpec]:
    """The kind-like topology: ``<cluster>-control-plane``, ``<cluster>-worker``, ``<cluster>-worker2``..."""
    use_many = loopback_usable("127.0.10.2")
    nodes = [NodeSpec(f"{cluster}-control-plane", "127.0.10.2" if use_many else "127.0.0.1", True, cpu, memory,
                      pod_cidr="10.244.0.0/24")]
    for i in range(workers):
        name = f"{cluster}-worker" + (str(i + 1) if i else "")
        ip = f"127.0.10.{i + 3}" if use_many else "127.0.0.1"
        nodes.append(NodeSpec(name, ip, False, cpu, memory, pod_cidr=f"10.244.{i + 1}.0/24"))
    return nodes


def node_object(spec: NodeSpec, now: str) -> dict[str, Any]:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
    }
    taints: list[dict[str, Any]] = []
    if spec.control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
    resources = {"cpu": spec.cpu, "memory": spec.memory, "pods": spec.pods, "ephemeral-storage": "100Gi",
                 "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    spec_body: dict[str, Any] = {"podCIDR": spec.pod_cidr, "podCIDRs": [spec.pod_cidr],
                                 "providerID": f"kind://docker/kk/{spec.name}"}
    if taints:
        spec_body["taints"] = taints

    def cond(type_: str, status: str, reason: str, message: str) -> dict[str, Any]:
        return {"type": type_, "status": status, "reason": reason, "message": message,
                "lastHeartbeatTime": now, "lastTransitionTime": now}

    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec.name, "labels": labels,
                     "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
                                     "node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": spec_body,
        "status": {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": spec.ip}, {"type": "Hostname", "address": spec.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "kk" + spec.name.replace("-", "")[:30],
                "systemUUID": "kk-" + spec.name,
                "bootID": "kk-boot-" + spec.name,
                "kernelVersion": "6.1.0-kk-sandbox",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://2.1.1",
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def ensure(registry: Registry, nodes: list[NodeSpec]) -> None:
    """Create what is missing; leave what exists alone."""
    store = registry.store
    opts = WriteOptions(field_manager="kube-apiserver", field_validation="Ignore")
    for ns in SYSTEM_NAMESPACES:
        if store.get(NAMESPACES, "", ns) is None:
            registry.create(NAMESPACES, None, {"metadata": {"name": ns}}, opts)
    for spec in nodes:
        if store.get(NODES, "", spec.name) is None:
            obj = node_object(spec, registry.now())
            created = registry.create(NODES, None, {k: v for k, v in obj.items() if k != "status"},
                                      WriteOptions(field_manager="kubeadm", field_validation="Ignore"))
            new = dict(created)
            new["status"] = obj["status"]
            registry.put_status(NODES, new)
    if store.get(SERVICES, "default", "kubernetes") is None:
        try:
            registry.create(SERVICES, "default", {
                "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443,
                                                               "protocol": "TCP"}],
                         "sessionAffinity": "None", "type": "ClusterIP"}}, opts)
        except errors.APIError:
            pass
    ensure_service_accounts(registry)


def ensure_service_accounts(registry: Registry) -> None:
    """A ``default`` ServiceAccount in every active namespace."""
    store = registry.store
    for ns in store.list(NAMESPACES):
        name = ns["metadata"]["name"]
        if ns["metadata"].get("deletionTimestamp"):
            continue
        if store.get(SERVICEACCOUNTS, name, "default") is None:
            registry.create(SERVICEACCOUNTS, name, {"metadata": {"name": "default"}},
                            WriteOptions(field_manager="kube-controller-manager", field_validation="Ignore"))
