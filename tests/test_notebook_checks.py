"""Every check of labs 00-09 in a failing and a passing state, and the check machinery around them.

Each test opens its lab (kk.lab with a unique prefix, so the lab's setup runs) in the session sandbox and
changes the cluster the way a learner would — with the official client or the real kubectl. Failures that
waiting could fix are checked with a short timeout; final failures must come back at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import kk_helpers as kk
from kk_helpers import act
from kk_helpers.checks import CheckFailed, CheckResult, grade, require, run
from kk_helpers.checks.base import RESULT_MIMETYPE, image_matches, lab_number
from kk_helpers.errors import KKError
from kk_helpers.lab import Lab

from test_notebook_support import PHP, drop_namespace, expose, kk_env, run_pod, sandbox, unique  # noqa: F401

KUBECTL = str(Path(sys.executable).parent / "kubectl")
SHORT = 1.0  # seconds for failures that polling could fix


@pytest.fixture
def open_lab(kk_env: Path) -> Iterator:  # type: ignore[type-arg]
    """Open labs by name (unique namespace prefix); their namespaces are deleted afterwards."""
    opened: list[Lab] = []

    def opener(name: str) -> Lab:
        session = kk.lab(name, prefix=unique(), quiet=True)
        opened.append(session)
        return session

    yield opener
    for session in opened:
        drop_namespace(session.cluster, session.namespace)
        drop_namespace(session.cluster, session.namespace + "-b")


def kubectl(session: Lab, *args: str, stdin: str | None = None) -> str:
    """Run the pinned kubectl as a `!kubectl` cell would (the lab's KUBECONFIG)."""
    env = dict(os.environ, KUBECONFIG=str(session.kubeconfig_path), HOME=str(session.kubeconfig_path.parent))
    proc = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, input=stdin, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def failed_fast(result: CheckResult, *, within: float = SHORT) -> None:
    assert not result.passed
    assert result.elapsed < within, f"a final failure polled for {result.elapsed:.1f} s"


def deployment_yaml(name: str, image: str, replicas: int) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: {name}
        image: {image}
"""


# --------------------------------------------------------------------------- machinery

def test_lab_numbers() -> None:
    """Are lab names mapped to their two-digit numbers?"""
    assert lab_number("03-scaling") == "03" and lab_number("lab5") == "05" and lab_number("00_env") == "00"
    assert lab_number("free-play") == "" and lab_number("123") == ""


def test_part_points_shown_only_with_partial_credit() -> None:
    """Does the parts table show each part's points only when they share the task's points (partial credit)?"""
    from kk_helpers.checks.base import Part

    parts = [Part("exists", True, "myd1", "myd1", points=1), Part("replicas", False, "2", "4", points=2)]
    whole = CheckResult("03", "scale-down", "scale to 2", parts=list(parts), task_points=3)
    shared = CheckResult("05", "traffic", "spread", parts=list(parts), task_points=3, partial=True)
    assert (whole.points, shared.points) == (0, 1)
    assert "<th>points</th>" not in whole._repr_html_() and "0/2</td>" not in whole._repr_html_()
    assert "<th>points</th>" in shared._repr_html_() and "1/1</td>" in shared._repr_html_()
    assert "0/2</td>" in shared._repr_html_()


def test_image_matching() -> None:
    """Does an image match with or without registry prefixes, any tag unless one is asked for?"""
    assert image_matches("nginx:1.29.4", "nginx") and image_matches("docker.io/library/nginx", "nginx")
    assert image_matches("vimal13/apache-webserver-php:latest", "vimal13/apache-webserver-php")
    assert image_matches("nginx", "nginx:latest") and not image_matches("nginx:1.28", "nginx:1.29.4")
    assert not image_matches("httpd", "nginx") and not image_matches("nginxdemos/hello", "nginx")


def test_result_reprs_and_grading_agree(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do feedback, require() and grade() give the same verdict, sentence and points, with evidence attached?"""
    session = open_lab("03-scaling")
    r = session.check("scale", timeout=SHORT)
    # all or nothing: one part of three passes (the deployment exists), and the task's 4 points are not earned
    assert [p.passed for p in r.parts] == [True, False, False]
    assert not r.passed and r.points == 0 and r.max_points == 4 and r.score() == 0 and r.score(6) == 0
    assert r.message.startswith("lab 03 · scale: not yet (0/4 points): expected 4 replicas desired")
    assert "hint: kubectl scale deployment myd1 --replicas=4" in r.message
    assert repr(r).splitlines()[0] == "✗ " + r.message
    html = r._repr_html_()
    assert "✗" in html and "<details" in html and "deployment/myd1" in html
    assert not {"✅", "❌", "💡"} & set(html) and ">Hint:</b> kubectl scale deployment myd1 --replicas=4" in html
    assert "kk-check-result kk-check-result--fail" in html and "kk-part kk-part--fail" in html
    bundle = r._repr_mimebundle_()[RESULT_MIMETYPE]
    assert json.loads(json.dumps(bundle))["passed"] is False
    assert {e["kind"] for e in bundle["evidence"]} >= {"Deployment", "Pod"}
    with pytest.raises(CheckFailed) as info:
        require(session, "scale", timeout=SHORT)
    assert isinstance(info.value, AssertionError) and str(info.value) == r.message
    assert grade(session, "scale", timeout=SHORT) == 0.0
    kk.scale("myd1", 4)
    ok = require(session, "scale")
    assert ok.passed and ok.message == "lab 03 · scale: passed (4/4 points) — myd1 runs 4 ready replicas"
    assert session.check("scale").assert_passed() is not None and grade(session, "scale") == 4.0
    assert grade(session, "scale", out_of=2) == 2.0


def test_polling_waits_for_transient_state(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Does a check poll while replicas come up, and honour $KK_CHECK_TIMEOUT for failures that may pass later?"""
    session = open_lab("03-scaling")
    kk.scale("myd1", 4)
    assert session.check("scale").passed  # right after scaling, the pods are still arriving
    os.environ["KK_CHECK_TIMEOUT"] = "0.6"
    try:
        start = time.monotonic()
        kk.scale("myd1", 1)
        r = session.check("spread")
        assert not r.passed and 0.5 <= time.monotonic() - start < 5
    finally:
        del os.environ["KK_CHECK_TIMEOUT"]


def test_check_all_and_report(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Does lab.check() look at every task once and total the points the tasks declare (what nbgrader gives)?"""
    session = open_lab("03-scaling")
    report = session.check()
    assert [r.task for r in report] == ["scale", "spread", "scale-down"]
    assert [r.max_points for r in report] == [4, 3, 3] and report.points == 0
    assert repr(report).endswith("total: 0/10 points")
    kk.scale("myd1", 2, wait=True)
    report = session.check()
    assert report[0].points == 0 and report[1].points in (0, 3) and report[2].points == 3, report
    assert repr(report).endswith(f"total: {3 + report[1].points:g}/10 points")


def test_unreachable_cluster_is_a_failed_result(kk_env: Path) -> None:
    """When the cluster is gone, is the check a failure that says why (and require raises the same)?"""
    import socket

    from kk_helpers import kubeconfig
    from kk_helpers.connect import Cluster, new_api_client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kubeconfig.merge(kk_env, kubeconfig.build("kind-kk", f"http://127.0.0.1:{port}", token="x"), switch=False)
    dead = Cluster("kind-kk", "kind", f"http://127.0.0.1:{port}", "v1", kk_env, new_api_client(kk_env, "kind-kk"))
    r = run("03", "scale", cluster=dead, namespace="x", timeout=5)
    assert not r.passed and r.elapsed < 1
    assert r.error.startswith("no cluster answers at context kind-kk") and "is Docker running?" in r.message
    with pytest.raises(CheckFailed, match="could not check — no cluster answers"):
        r.assert_passed()


# --------------------------------------------------------------------------- lab 00

def test_lab00_environment(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do cluster, kubectl and namespace pass in a fresh lab, and fail when kubectl or its namespace are off?"""
    from kk_helpers.checks import lab00

    session = open_lab("00-env")
    for task in ("cluster", "kubectl", "namespace"):
        assert session.check(task).passed, session.check(task, timeout=0)
    doc = session.kubeconfig_path.read_text().replace(f"namespace: {session.namespace}", "namespace: default")
    session.kubeconfig_path.write_text(doc)
    r = session.check("namespace")
    failed_fast(r, within=5)
    assert r.failing[0].name == "default" and r.failing[0].actual == "default"
    real = lab00.kubectl_binary
    try:
        lab00.kubectl_binary = lambda: None  # type: ignore[assignment]
        r = session.check("kubectl")
        failed_fast(r)
        assert r.failing[0].actual == "no kubectl on PATH"
    finally:
        lab00.kubectl_binary = real  # type: ignore[assignment]


# --------------------------------------------------------------------------- lab 01

def test_lab01_pods(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do the pod checks fail for a missing pod and a wrong image, pass for nginx, and tell kubectl from Python?"""
    session = open_lab("01-pods")
    r = session.check("pod-running")
    failed_fast(r)
    assert r.failing[0].name == "exists"
    run_pod(session.cluster, "web", "httpd:2.4")
    r = session.check("pod-running")
    failed_fast(r)
    assert [p.name for p in r.failing][0] == "image"
    failed_fast(session.check("pod-deleted"))
    kk.delete("pod/web", wait=True)
    kubectl(session, "run", "web", "--image=nginx")
    assert session.check("pod-running").passed
    r = session.check("python-create")
    failed_fast(r)
    assert r.failing[0].name == "from Python" and "kubectl-run" in r.failing[0].actual
    assert session.check("python-logs").passed
    kubectl(session, "delete", "pod", "web", "--wait=false")
    assert session.check("pod-deleted").passed and session.check("python-delete").passed
    failed_fast(session.check("python-logs"))
    run_pod(session.cluster, "web", "nginx:1.29.4")  # the official client, as task 3 asks
    assert session.check("python-create").passed and session.check("python-logs").passed


# --------------------------------------------------------------------------- lab 02

def test_lab02_deployments(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do deployment/owners/deployment-deleted fail and pass as the learner creates and deletes myd1?"""
    session = open_lab("02-deployments")
    for task in ("deployment", "owners"):
        failed_fast(session.check(task))
    kk.ensure_deployment("myd1", "httpd:2.4", 1, wait=False)
    r = session.check("deployment")
    failed_fast(r)
    assert r.failing[0].name == "image"
    kk.delete("deploy/myd1", wait=True)
    kubectl(session, "create", "deployment", "myd1", f"--image={PHP}")
    assert session.check("deployment").passed
    owners = session.check("owners")
    assert owners.passed and {e["kind"] for e in owners.evidence} == {"Deployment", "ReplicaSet", "Pod"}
    kk.scale("myd1", 2)
    r = session.check("deployment")
    failed_fast(r, within=3)
    assert r.failing[0].name == "replicas"
    failed_fast(session.check("deployment-deleted"))
    kubectl(session, "delete", "deployment", "myd1", "--wait=false")
    assert session.check("deployment-deleted").passed


# --------------------------------------------------------------------------- lab 03

def test_lab03_scaling(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do scale, spread and scale-down follow kubectl scale up to 4 and down to 2?"""
    session = open_lab("03-scaling")
    failed_fast(session.check("scale"))
    assert not session.check("spread", timeout=SHORT).passed
    kubectl(session, "scale", "deployment", "myd1", "--replicas=4")
    assert session.check("scale").passed and session.check("spread").passed
    failed_fast(session.check("scale-down"))
    kubectl(session, "scale", "deployment", "myd1", "--replicas=2")
    assert session.check("scale-down").passed
    assert session.check("scale", replicas=2).passed


# --------------------------------------------------------------------------- lab 04

def test_lab04_replaced(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Does replaced need the deleted name, reject a pod still running, and pass once it was replaced?"""
    session = open_lab("04-self-healing")
    r = session.check("replaced")
    failed_fast(r)
    assert r.failing[0].name == "recorded"
    failed_fast(session.check("replaced", deleted="web-123"))
    victim = act.pods_of("myd1")[0]["metadata"]["name"]
    r = session.check("replaced", deleted=victim)
    failed_fast(r)
    assert r.failing[0].name == "deleted" and r.failing[0].actual == "still running"
    kubectl(session, "delete", "pod", victim, "--wait=false")
    r = session.check("replaced", deleted=victim)
    assert r.passed, r
    assert victim not in r.parts[4].actual.split(": ", 1)[1]


def test_lab04_node_drill(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Does node-drill fail with every node up, pass once myd1 is whole elsewhere, and node-back after restart?"""
    session = open_lab("04-self-healing")
    failed_fast(session.check("node-drill"))
    assert session.check("node-back").passed
    try:
        kk.stop_node("kk-worker")
        r = session.check("node-drill")
        assert r.passed, r
        assert session.check("node-drill", node="kk-worker").passed
        failed_fast(session.check("node-drill", node="kk-worker2"))
        assert not session.check("node-back", timeout=SHORT).passed
    finally:
        kk.start_node("kk-worker")
    assert session.check("node-back").passed
    session.reset("node-drill", quiet=True)
    assert kk.get("deploy/myd1").status["readyReplicas"] == 3


# --------------------------------------------------------------------------- lab 05

def test_lab05_nodeport(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do service/reachable/traffic fail without a NodePort, pass after kubectl expose, and give partial credit?"""
    session = open_lab("05-nodeport")
    for task in ("service", "reachable", "traffic"):
        failed_fast(session.check(task), within=3)
    expose(session.cluster, "myd1", type_="ClusterIP")
    r = session.check("service")
    failed_fast(r)
    assert r.failing[0].name == "type" and r.failing[0].actual == "type ClusterIP"
    kk.delete("svc/myd1", wait=True)
    kubectl(session, "expose", "deployment", "myd1", "--type=NodePort", "--port=80")
    assert session.check("service").passed
    reachable = session.check("reachable")
    assert reachable.passed and any(e["kind"] == "HTTPResponse" for e in reachable.evidence)
    traffic = session.check("traffic", n=12)
    assert traffic.passed and traffic.points == 3
    kk.scale("myd1", 1, wait=True)
    kk.wait_for(lambda: len(act.ready_endpoints("myd1")) == 1, timeout=30)
    one = session.check("traffic", n=6, timeout=SHORT)
    assert not one.passed and one.points == 1 and one.score(3) == 1.0
    assert one.failing[0].name == "spread"


# --------------------------------------------------------------------------- lab 06

def test_lab06_rollouts(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do rolled-out, history, undo and recovered follow kubectl set image and kubectl rollout undo?"""
    session = open_lab("06-rollouts")
    for task in ("rolled-out", "history", "undo"):
        failed_fast(session.check(task))
    kubectl(session, "set", "image", "deployment/myd1", "*=nginx:1.29.4")
    r = session.check("rolled-out")
    assert r.passed, r
    assert session.check("history").passed
    failed_fast(session.check("undo"))
    kubectl(session, "rollout", "undo", "deployment/myd1")
    assert session.check("undo").passed
    failed_fast(session.check("rolled-out"))
    r = session.check("recovered")
    failed_fast(r)
    assert r.failing[0].name == "broken rollout"
    kubectl(session, "set", "image", "deployment/myd1", "*=ngnix:1.29.4")
    failed_fast(session.check("recovered"))
    kubectl(session, "rollout", "undo", "deployment/myd1")
    assert session.check("recovered").passed
    session.reset("rolled-out", quiet=True)
    failed_fast(session.check("history"))


# --------------------------------------------------------------------------- lab 07

def test_lab07_declarative(open_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Do applied/updated/service/selector tell kubectl apply from kubectl create, and follow re-applied files?"""
    session = open_lab("07-declarative")
    failed_fast(session.check("applied"))
    kubectl(session, "create", "deployment", "web", "--image=nginx")
    r = session.check("applied")
    failed_fast(r)
    assert r.failing[0].name == "applied"
    kubectl(session, "delete", "deployment", "web")
    kk.wait_for("deployment/web gone", timeout=30)
    kubectl(session, "apply", "-f", "-", stdin=deployment_yaml("web", "nginx", 2))
    assert session.check("applied").passed
    r = session.check("updated")
    failed_fast(r)
    assert r.failing[0].name == "file"
    kubectl(session, "apply", "-f", "-", stdin=deployment_yaml("web", "nginx", 3))
    assert session.check("updated").passed
    failed_fast(session.check("service"))
    failed_fast(session.check("selector"))
    svc = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n"
           "  ports:\n  - port: 80\n")
    kubectl(session, "apply", "-f", "-", stdin=svc)
    assert session.check("service").passed
    assert session.check("selector").passed


# --------------------------------------------------------------------------- lab 08

def test_lab08_batch(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do job/cronjob/cronjob-ran fail before and pass after creating them (and a job from the cronjob)?"""
    session = open_lab("08-batch")
    for task in ("job", "cronjob"):
        failed_fast(session.check(task))
    job = """apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 3
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: pi, image: busybox, command: [sh, -c, 'echo 3.14159']}
"""
    kubectl(session, "apply", "-f", "-", stdin=job)
    r = session.check("job")
    assert r.passed, r
    failed_fast(session.check("job", completions=5))
    kubectl(session, "create", "cronjob", "tick", "--image=busybox", "--schedule=*/1 * * * *", "--", "date")
    assert session.check("cronjob").passed
    failed_fast(session.check("cronjob", schedule="0 * * * *"))
    assert not session.check("cronjob-ran", timeout=0).passed
    kubectl(session, "create", "job", "tick-now", "--from=cronjob/tick")
    assert session.check("cronjob-ran").passed


# --------------------------------------------------------------------------- lab 09

def test_lab09_portable(open_lab) -> None:  # type: ignore[no-untyped-def]
    """Do portable and scaled need myd1 in both namespaces with the same image and replicas (also via a context)?"""
    session = open_lab("09-portability")
    assert kk.get("namespace", session.namespace + "-b").name == session.namespace + "-b"
    failed_fast(session.check("portable"))
    manifest = deployment_yaml("myd1", PHP, 2)
    kubectl(session, "apply", "-f", "-", stdin=manifest)
    r = session.check("portable")
    failed_fast(r)
    assert r.failing[0].name == "there"
    kubectl(session, "apply", "-n", session.namespace + "-b", "-f", "-", stdin=deployment_yaml("myd1", "nginx", 2))
    r = session.check("portable")
    failed_fast(r)
    assert r.failing[0].name == "same image"
    kubectl(session, "apply", "-n", session.namespace + "-b", "-f", "-", stdin=manifest)
    assert session.check("portable").passed
    assert session.check("portable", context_b="kk-sandbox").passed
    r = session.check("scaled")
    failed_fast(r)
    assert r.failing[0].name == "scaled"
    kk.scale("myd1", 3)
    failed_fast(session.check("scaled"))  # one place only: the replicas differ
    kk.scale("myd1", 3, session.namespace + "-b")
    assert session.check("scaled").passed
    with pytest.raises(KKError):
        session.cluster.call(session.cluster.core.read_namespace, "definitely-not-there")
