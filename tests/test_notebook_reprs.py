"""Pure rendering: kubectl-style ages, statuses and tables, the ownership tree, bars, evidence, frontend detection.

No cluster: every function here takes wire-format dicts.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kk_helpers import reprs

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, *, phase: str = "Running", ready: bool = True, node: str = "kk-worker", owner: str | None = None,
        uid: str = "", waiting: str | None = None, deleting: bool = False, hash_: str = "") -> dict:
    md: dict = {"name": name, "uid": uid or f"uid-{name}", "creationTimestamp": ts(30), "labels": {}}
    if owner:
        md["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": f"uid-{owner}", "controller": True}]
    if hash_:
        md["labels"]["pod-template-hash"] = hash_
    if deleting:
        md["deletionTimestamp"] = ts(0)
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": ts(20)}}
    return {"kind": "Pod", "metadata": md, "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": phase, "podIP": "10.244.1.5",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "c", "ready": ready, "restartCount": 0, "state": state}]}}


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (59, "59s"), (119, "119s"), (125, "2m5s"), (180, "3m"), (599, "9m59s"), (600, "10m"),
    (179 * 60, "179m"), (3 * 3600, "3h"), (5 * 3600 + 600, "5h10m"), (20 * 3600, "20h"), (50 * 3600, "2d2h"),
    (40 * 86400, "40d"), (800 * 86400, "2y70d"), (9 * 365 * 86400, "9y"),
])
def test_format_age(seconds: int, text: str) -> None:
    """Does the age follow kubectl's HumanDuration thresholds?"""
    assert reprs.format_age(seconds) == text


def test_age_unknown_without_timestamp() -> None:
    """Is an object without creationTimestamp shown as <unknown>?"""
    assert reprs.age({"metadata": {}}) == "<unknown>"
    assert reprs.age({"metadata": {"creationTimestamp": ts(30)}}, NOW) == "30s"


def test_pod_status_follows_kubectl() -> None:
    """Do waiting reasons, Terminating and Completed-while-running show as kubectl shows them?"""
    assert reprs.pod_status(pod("a")) == "Running"
    assert reprs.pod_status(pod("a", phase="Pending", ready=False, waiting="ContainerCreating")) == "ContainerCreating"
    assert reprs.pod_status(pod("a", waiting="ImagePullBackOff", ready=False)) == "ImagePullBackOff"
    assert reprs.pod_status(pod("a", deleting=True)) == "Terminating"
    done = pod("a", phase="Succeeded", ready=False)
    done["status"]["containerStatuses"][0]["state"] = {"terminated": {"reason": "Completed", "exitCode": 0}}
    assert reprs.pod_status(done) == "Completed"
    crashed = pod("a", ready=False)
    crashed["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 2}}
    assert reprs.pod_status(crashed) == "ExitCode:2"


def test_pod_ready_and_is_ready() -> None:
    """Is READY r/t, and is a terminating pod never counted as ready?"""
    assert reprs.pod_ready(pod("a")) == "1/1"
    assert reprs.pod_ready(pod("a", ready=False)) == "0/1"
    assert reprs.pod_is_ready(pod("a"))
    assert not reprs.pod_is_ready(pod("a", deleting=True))


def test_text_table_has_kubectl_columns() -> None:
    """Does the pod table print kubectl's -o wide columns, aligned?"""
    text = reprs.text_table("Pod", [pod("web-1"), pod("web-22", node="kk-worker2")])
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert lines[1].index("1/1") == lines[0].index("READY")
    assert "kk-worker2" in lines[2]


def test_empty_table_says_so() -> None:
    """Is an empty list a sentence, not an empty table?"""
    assert reprs.text_table("Pod", []) == "No Pods found."
    assert "No Pods found." in reprs.html_table("Pod", [])


def test_html_table_escapes_and_colours_status() -> None:
    """Are names escaped and statuses shown as coloured chips?"""
    html = reprs.html_table("Pod", [pod("<b>x</b>", waiting="CrashLoopBackOff", ready=False)])
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert reprs.STATUS_COLORS["CrashLoopBackOff"] in html


def test_service_and_node_columns() -> None:
    """Do PORT(S), SELECTOR, node STATUS/ROLES render like kubectl?"""
    svc = {"kind": "Service", "metadata": {"name": "myd1", "creationTimestamp": ts(5)},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.7", "selector": {"app": "myd1"},
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}
    assert reprs.service_ports(svc) == "80:30080/TCP"
    headers, rows = reprs.rows("Service", [svc])
    assert dict(zip(headers, rows[0]))["SELECTOR"] == "app=myd1"
    node = {"kind": "Node", "metadata": {"name": "cp", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                       "addresses": [{"type": "InternalIP", "address": "127.0.10.2"}]}}
    assert reprs.node_status(node) == "NotReady,SchedulingDisabled"
    assert reprs.node_roles(node) == "control-plane"
    assert reprs.node_address(node) == "127.0.10.2"


def test_ownership_tree_links_by_uid() -> None:
    """Does the tree put pods under their ReplicaSet under their Deployment, with strays as roots?"""
    dep = {"kind": "Deployment", "metadata": {"name": "myd1", "uid": "uid-d"},
           "spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "nginx"}]}}},
           "status": {"readyReplicas": 2}}
    rs = {"kind": "ReplicaSet", "metadata": {"name": "myd1-abc", "uid": "uid-myd1-abc",
                                             "annotations": {"deployment.kubernetes.io/revision": "1"},
                                             "ownerReferences": [{"kind": "Deployment", "name": "myd1",
                                                                  "uid": "uid-d", "controller": True}]},
          "spec": {"replicas": 2}, "status": {"readyReplicas": 2}}
    pods = [pod("myd1-abc-1", owner="myd1-abc"), pod("myd1-abc-2", owner="myd1-abc"), pod("lonely")]
    roots = reprs.ownership_tree([dep], [rs], pods)
    assert [r.ref for r in roots] == ["deployment/myd1", "pod/lonely"]
    assert [n.ref for n in roots[0].walk()] == ["deployment/myd1", "replicaset/myd1-abc", "pod/myd1-abc-1",
                                                "pod/myd1-abc-2"]
    text = reprs.tree_text(roots)
    assert "└── replicaset/myd1-abc" in text and "    ├── pod/myd1-abc-1" in text
    html = reprs.tree_html(roots)
    assert html.count("<ul") == 3 and "myd1-abc-2" in html


def test_tree_of_nothing() -> None:
    """Does an empty namespace draw a sentence?"""
    assert "nothing here" in reprs.tree_text([])


def test_bars() -> None:
    """Are bars proportional, sorted by count, and totalled?"""
    text = reprs.bars_text({"a": 2, "b": 4}, title="t")
    lines = text.splitlines()
    assert lines[1].startswith("b") and lines[1].count("█") == 30 and lines[2].count("█") == 15
    assert lines[-1] == "6 responses, 2 distinct"
    assert "width:300px" in reprs.bars_html({"a": 2, "b": 4})


def test_evidence_is_yaml_in_details() -> None:
    """Is evidence a collapsed block of YAML without managedFields?"""
    obj = {"kind": "Deployment", "metadata": {"name": "myd1", "managedFields": [{"manager": "x"}]}}
    html = reprs.evidence_html([obj])
    assert html.startswith("<details") and "deployment/myd1" in html
    assert "managedFields" not in html and "name: myd1" in html
    assert reprs.evidence_html([]) == ""


def test_live_frontend_env_and_plain_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is plain Python static, and does KK_STATIC force either way?"""
    monkeypatch.delenv("KK_STATIC", raising=False)
    assert reprs.live_frontend() is False
    monkeypatch.setenv("KK_STATIC", "0")
    assert reprs.live_frontend() is True
    monkeypatch.setenv("KK_STATIC", "1")
    assert reprs.live_frontend() is False


def test_live_frontend_in_terminal_ipython(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is an IPython shell without a kernel (no frontend to draw widgets) static?"""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.delenv("KK_STATIC", raising=False)
    shell = InteractiveShell.instance()
    try:
        assert reprs.in_ipython()
        assert reprs.live_frontend() is False
    finally:
        InteractiveShell.clear_instance()
