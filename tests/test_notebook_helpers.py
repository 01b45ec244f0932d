"""Looking at the sandbox from a notebook: object lists, get, show, events and the ownership tree.

Every test works in its own namespace of the session sandbox, through the official client only.
"""

from __future__ import annotations

import pytest

import kk_helpers as kk
from kk_helpers.errors import KKError
from kk_helpers.helpers import Resource, ResourceList, collect, get_object, kind_info, list_objects

from test_notebook_support import CONTEXT, PHP, cluster, deployment, expose, kk_env, run_pod, sandbox  # noqa: F401


def test_kind_names_like_kubectl() -> None:
    """Are kubectl's names for kinds accepted, and an unknown one explained?"""
    assert kind_info("deploy").kind == kind_info("Deployments").kind == "Deployment"
    assert kind_info("svc").kind == "Service" and kind_info("po").kind == "Pod"
    with pytest.raises(KKError, match="does not know the kind 'gizmo'"):
        kind_info("gizmo")


def test_pods_list_and_reprs(cluster: kk.Cluster) -> None:
    """Does kk.pods() list the namespace's pods with an HTML table and a kubectl-like text table?"""
    run_pod(cluster, "web")
    kk.wait_for("pod/web running", timeout=30)
    pods = kk.pods()
    assert isinstance(pods, ResourceList) and pods.names == ["web"]
    text = repr(pods)
    assert text.splitlines()[0].split()[:3] == ["NAME", "READY", "STATUS"]
    assert "web" in text and "Running" in text
    html = pods._repr_html_()
    assert "<table" in html and "Running" in html
    p = pods[0]
    assert p.kind == "Pod" and p.namespace == cluster.namespace and p.status["phase"] == "Running"
    assert repr(p).startswith("<Pod web Running on kk-worker")


def test_pods_by_selector_and_node(cluster: kk.Cluster) -> None:
    """Do selector= and node= narrow the list?"""
    deployment(cluster, "myd1", replicas=3)
    run_pod(cluster, "web")
    assert len(kk.pods(selector="app=myd1")) == 3
    node = kk.pods(selector="app=myd1")[0].spec["nodeName"]
    assert all(p.spec["nodeName"] == node for p in kk.pods(node=node))


def test_deployments_replicasets_services_nodes(cluster: kk.Cluster) -> None:
    """Do the other lists show the right kinds with their kubectl columns?"""
    deployment(cluster, "myd1", replicas=2)
    expose(cluster, "myd1")
    deps = kk.deployments()
    assert deps.names == ["myd1"] and "2/2" in repr(deps) and PHP in repr(deps)
    assert repr(kk.replicasets()).splitlines()[0].split()[:4] == ["NAME", "DESIRED", "CURRENT", "READY"]
    svc = kk.services()
    assert svc.names == ["myd1"] and "NodePort" in repr(svc) and "80:3" in repr(svc)
    nodes = kk.nodes()
    assert nodes.names == ["kk-control-plane", "kk-worker", "kk-worker2"]
    assert "control-plane" in repr(nodes) and "Ready" in repr(nodes)


def test_events_for_one_object(cluster: kk.Cluster) -> None:
    """Does events(for_object=...) show only that object's events, oldest first?"""
    run_pod(cluster, "web")
    kk.wait_for("pod/web running", timeout=30)
    evs = kk.wait_for(lambda: kk.events(for_object="pod/web") or None, timeout=10)
    assert {e.raw["involvedObject"]["name"] for e in evs} == {"web"}
    assert "Scheduled" in [e.raw["reason"] for e in evs]
    assert repr(evs).splitlines()[0].split()[:3] == ["LAST", "SEEN", "TYPE"]


def test_get_and_not_found(cluster: kk.Cluster) -> None:
    """Does kk.get read one object by kind/name, and name the namespace when it is missing?"""
    deployment(cluster, "myd1")
    d = kk.get("deploy/myd1")
    assert isinstance(d, Resource) and d.name == "myd1" and d.spec["replicas"] == 1
    assert "kind: Deployment" in d.yaml() and "managedFields" not in d.yaml()
    assert kk.get("deployment", "myd1").raw["metadata"]["uid"] == d.metadata["uid"]
    with pytest.raises(KKError, match=f"Could not find Deployment nope in namespace {cluster.namespace}"):
        kk.get("deploy/nope")
    assert get_object("pod", "nope") is None


def test_list_objects_sets_kind(cluster: kk.Cluster) -> None:
    """Do listed items carry their kind (list items on the wire do not)?"""
    run_pod(cluster, "web")
    assert [o["kind"] for o in list_objects("pods")] == ["Pod"]


def test_show_accepts_everything(cluster: kk.Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    """Does kk.show print kind names, refs, wrappers, dicts and client models outside IPython?"""
    from kubernetes import client

    deployment(cluster, "myd1")
    kk.show("deployments", "deploy/myd1", kk.pods(), kk.get("deploy/myd1").raw)
    out = capsys.readouterr().out
    assert out.count("NAME   READY   UP-TO-DATE") == 3 and "myd1-" in out
    model = client.V1Pod(metadata=client.V1ObjectMeta(name="m"), spec=client.V1PodSpec(
        containers=[client.V1Container(name="c", image="nginx")]))
    listed = collect([model])
    assert listed.names == ["m"]
    with pytest.raises(TypeError, match="cannot show int"):
        collect(42)


def test_tree_of_a_deployment(cluster: kk.Cluster) -> None:
    """Does kk.tree draw Deployment -> ReplicaSet -> Pods from the live objects?"""
    deployment(cluster, "myd1", replicas=2)
    run_pod(cluster, "web")
    t = kk.tree()
    kinds = [n.kind for n in t]
    assert kinds == ["Deployment", "ReplicaSet", "Pod", "Pod", "Pod"]
    text = repr(t)
    assert text.splitlines()[0].startswith("deployment/myd1  (2/2 ready")
    assert "└── replicaset/myd1-" in text and text.splitlines()[-1].startswith("pod/web")
    assert "<ul" in t._repr_html_()
    only = kk.tree("myd1")
    assert [n.kind for n in only] == ["Deployment", "ReplicaSet", "Pod", "Pod"]
    with pytest.raises(KKError, match="Could not find Deployment nope"):
        kk.tree("nope")


def test_all_namespaces(cluster: kk.Cluster) -> None:
    """Does all_namespaces=True add the NAMESPACE column?"""
    run_pod(cluster, "web")
    listed = kk.pods(all_namespaces=True)
    assert repr(listed).splitlines()[0].split()[0] == "NAMESPACE"
    assert cluster.namespace in {p.namespace for p in listed}
