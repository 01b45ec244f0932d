"""Acting from a notebook: wait_for (functions and phrases, timeouts), scale, delete, chaos and the node drill.

Against the session sandbox, each test in its own namespace.
"""

from __future__ import annotations

import time

import pytest

import kk_helpers as kk
from kk_helpers import act
from kk_helpers.errors import KKError

from test_notebook_support import PHP, cluster, deployment, kk_env, run_pod, sandbox  # noqa: F401


def test_node_stopped_annotation_matches_sandbox() -> None:
    """Does the notebook side use the same drill annotation as the sandbox (without importing it)?"""
    from kk_helpers.sandbox.daemon import NODE_STOPPED_ANNOTATION

    assert act.NODE_STOPPED_ANNOTATION == NODE_STOPPED_ANNOTATION


def test_wait_for_function_returns_value() -> None:
    """Does wait_for return the condition's truthy value once it holds?"""
    calls = []

    def third_time() -> str | None:
        calls.append(1)
        return "done" if len(calls) >= 3 else None

    assert kk.wait_for(third_time, timeout=5, interval=0.01) == "done"


def test_wait_for_timeout_says_what_was_seen(capfd: pytest.CaptureFixture[str]) -> None:
    """Does a timeout raise WaitTimeout (a TimeoutError and a KKError) naming the last state, with no output?"""
    with pytest.raises(act.WaitTimeout) as info:
        kk.wait_for(lambda: (False, "2/4 ready"), "myd1 to be ready", timeout=0.3, interval=0.05)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, KKError)
    assert str(info.value) == "gave up after 0.3 s waiting for myd1 to be ready; last seen: 2/4 ready"
    assert capfd.readouterr() == ("", "")


def test_wait_for_phrases(cluster: kk.Cluster) -> None:
    """Do phrases like 'deployment/myd1 ready' and 'pod/web gone' wait on the real objects?"""
    deployment(cluster, "myd1", replicas=2, wait=False)
    kk.wait_for("deployment/myd1 ready", timeout=30)
    assert kk.get("deploy/myd1").status["readyReplicas"] == 2
    run_pod(cluster, "web")
    kk.wait_for("pod/web running", timeout=30)
    kk.delete("pod/web")
    kk.wait_for("pod/web gone", timeout=30)
    assert kk.pods(selector="run=web") == []
    kk.wait_for("node/kk-worker ready", timeout=5)


def test_wait_for_phrase_timeout_hints(cluster: kk.Cluster) -> None:
    """Does a phrase that never holds say what it saw and where to look?"""
    with pytest.raises(act.WaitTimeout) as info:
        kk.wait_for("deployment/ghost ready", timeout=0.3)
    msg = str(info.value)
    assert "last seen: deployment ghost does not exist" in msg
    assert "kubectl describe deployments ghost" in msg


def test_wait_for_bad_phrase() -> None:
    """Is a phrase that does not parse explained?"""
    with pytest.raises(KKError, match="write it as 'deployment/myd1 ready'"):
        act.condition_for("myd1 please")


def test_scale_uses_scale_subresource(cluster: kk.Cluster) -> None:
    """Does kk.scale change replicas and, with wait, return once they are ready?"""
    deployment(cluster, "myd1")
    d = kk.scale("myd1", 3, wait=True)
    assert d.spec["replicas"] == 3 and d.status["readyReplicas"] == 3
    assert len(act.pods_of("myd1")) == 3
    with pytest.raises(KKError, match="0 or more"):
        kk.scale("myd1", -1)


def test_scale_missing_deployment(cluster: kk.Cluster) -> None:
    """Does scaling a deployment that does not exist say it was not found?"""
    with pytest.raises(KKError, match='deployments.apps "nope" not found .* while scaling deployment nope'):
        kk.scale("nope", 2)


def test_delete_random_pod_is_replaced(cluster: kk.Cluster) -> None:
    """Does deleting a random pod of a deployment leave a replacement with a new name?"""
    import random

    deployment(cluster, "myd1", replicas=2)
    before = {p["metadata"]["name"] for p in act.pods_of("myd1")}
    victim = kk.delete_random_pod("myd1", rng=random.Random(7))
    assert victim in before
    kk.wait_for(lambda: victim not in {p["metadata"]["name"] for p in act.pods_of("myd1")}, timeout=30)
    kk.wait_for("deployment/myd1 ready", timeout=30)
    after = {p["metadata"]["name"] for p in act.pods_of("myd1")}
    assert len(after) == 2 and victim not in after


def test_delete_random_pod_needs_pods(cluster: kk.Cluster) -> None:
    """Is a deployment at 0 replicas explained instead of crashing?"""
    deployment(cluster, "myd1", replicas=0)
    with pytest.raises(KKError, match="has no running pod to delete"):
        kk.delete_random_pod("myd1")


def test_delete_returns_false_when_gone(cluster: kk.Cluster) -> None:
    """Is deleting something already gone a False, not an error?"""
    assert kk.delete("pod/nope") is False


def test_ensure_deployment_reshapes(cluster: kk.Cluster) -> None:
    """Does ensure_deployment create, then patch replicas and image of an existing deployment?"""
    deployment(cluster, "myd1", replicas=1)
    d = kk.ensure_deployment("myd1", "nginx:1.29.4", 2)
    assert d.spec["replicas"] == 2
    assert [c["image"] for c in d.spec["template"]["spec"]["containers"]] == ["nginx:1.29.4"]
    assert d.spec["selector"]["matchLabels"] == {"app": "myd1"}


def test_stop_and_start_node(cluster: kk.Cluster) -> None:
    """Does the node drill make a node NotReady, move pods away, and bring it back?"""
    deployment(cluster, "myd1", replicas=4)
    node = "kk-worker"
    try:
        kk.stop_node(node)
        kk.wait_for(f"node/{node} notready", timeout=30)

        def moved() -> tuple[bool, str]:
            pods = act.pods_of("myd1")
            ready_elsewhere = [p for p in pods if p["spec"].get("nodeName") != node
                               and kk.reprs.pod_is_ready(p)]
            return len(ready_elsewhere) >= 4, f"{len(ready_elsewhere)} ready elsewhere"

        kk.wait_for(moved, timeout=60)
    finally:
        kk.start_node(node)
    kk.wait_for(f"node/{node} ready", timeout=30)
    with pytest.raises(KKError, match="there is no node 'nope'"):
        kk.stop_node("nope")


def test_wait_for_progress_widget_is_closed() -> None:
    """With a frontend forced on, is the progress bar shown during the wait and closed after?"""
    progress = act.Progress("x", 1.0, live=True)
    assert progress._bar is not None
    progress.update(0.5, "half")
    assert progress._bar.value == 0.5 and "half" in progress._label.value
    progress.close()
    assert progress._box is None
    start = time.monotonic()
    assert kk.wait_for(lambda: True, live=True) is True
    assert time.monotonic() - start < 1
