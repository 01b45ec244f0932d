"""Looking at the sandbox from a notebook: object lists, get, show, events and the ownership tree; and the
progress indicator of a wait (``kk.wait_for``, a polling check), which must stay shown in its final state.

Every test works in its own namespace of the session sandbox, through the official client only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

import kk_helpers as kk
from kk_helpers import act, reprs
from kk_helpers.checks import base as checks_base
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


# -- the progress indicator of a wait ----------------------------------------------------------------------------


@pytest.fixture
def bars(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[reprs.Progress]]:
    """Every progress indicator the waits create during the test (the real class, only recorded)."""
    made: list[reprs.Progress] = []

    class Recorded(reprs.Progress):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(act, "Progress", Recorded)
    monkeypatch.setattr(reprs, "Progress", Recorded)
    yield made


def test_wait_for_leaves_a_completed_bar(bars: list[reprs.Progress]) -> None:
    """With a frontend, does wait_for keep its bar shown after the wait (never closing it, which raced
    JupyterLab's rendering) as a full green bar that says how long it took?"""
    looks = iter([(False, "0/2 ready"), (False, "1/2 ready"), (True, "2/2 ready")])
    assert kk.wait_for(lambda: next(looks), "deployment/myd1 ready", interval=0.05, live=True) is True
    [bar] = bars
    assert bar._box is not None and bar._box.comm is not None, "the bar was closed"
    assert (bar.state, bar._bar.bar_style, bar._bar.value, bar._bar.max) == ("done", "success", 60.0, 60.0)
    assert "kk-progress--done" in bar._box._dom_classes
    assert re.search(r"✓ deployment/myd1 ready: done in \d+\.\d s", re.sub(r"<[^>]+>", "", bar._label.value))


def test_wait_for_done_at_first_look_shows_nothing(bars: list[reprs.Progress]) -> None:
    """Does a wait whose condition already holds leave no bar behind?"""
    assert kk.wait_for(lambda: True, live=True) is True
    assert [b._box for b in bars] == [None] and bars[0].state == "done"


def test_wait_for_timeout_leaves_a_failed_bar(cluster: kk.Cluster, bars: list[reprs.Progress]) -> None:
    """When a wait on the sandbox times out, does the bar stay, red, saying what was last seen?"""
    with pytest.raises(act.WaitTimeout, match="gave up after 1 s waiting for pod/nope running"):
        kk.wait_for("pod/nope running", timeout=1, interval=0.2, live=True)
    [bar] = bars
    assert (bar.state, bar._bar.bar_style, bar._bar.description) == ("failed", "danger", "failed")
    assert bar._box.comm is not None and "kk-progress--failed" in bar._box._dom_classes
    assert "✗" in bar._label.value and "gave up after 1 s" in bar._label.value


def test_wait_for_error_leaves_a_failed_bar(bars: list[reprs.Progress]) -> None:
    """When the condition fails with an error mid-wait, does the bar say so before the error propagates?"""
    looks = iter([False])

    def flaky() -> bool:
        if next(looks, None) is None:
            raise KKError("no cluster answers at context kind-kk")
        return False

    with pytest.raises(KKError, match="no cluster answers"):
        kk.wait_for(flaky, interval=0.01, live=True)
    assert bars[0].state == "failed" and "no cluster answers at context kind-kk" in bars[0]._label.value


def test_polling_check_leaves_its_bar(cluster: kk.Cluster, bars: list[reprs.Progress]) -> None:
    """Does a check that polls (lab 03: 4 replicas desired, none can get ready) leave its bar, failed, shown?"""
    deployment(cluster, "myd1", image="registry.invalid/nope:1", replicas=4, wait=False)
    result = checks_base.run("03", "scale", timeout=1.0, live=True, cluster=cluster, namespace=cluster.namespace)
    assert not result.passed
    [bar] = [b for b in bars if b.live]
    assert bar.description == "checking scale" and bar.state == "failed" and bar._box.comm is not None
    assert "not yet after" in bar._label.value and bar._bar.bar_style == "danger"
