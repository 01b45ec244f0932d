"""kk.lab(): a fresh namespace per lab, a kubeconfig that kubectl and the helpers share, setup, reset and steps.

Against the session sandbox; each test uses its own namespace prefix so labs never collide.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import kk_helpers as kk
from kk_helpers import lab as lab_fn
from kk_helpers.errors import KKError
from kk_helpers.lab import Lab, default_prefix, dns_label, namespace_for, write_lab_kubeconfig

from test_notebook_support import CONTEXT, cluster, drop_namespace, kk_env, sandbox, unique  # noqa: F401

KUBECTL = str(Path(sys.executable).parent / "kubectl")


@pytest.fixture
def labs(kk_env: Path) -> Iterator[list[Lab]]:
    """Labs a test opens; their namespaces are deleted afterwards."""
    opened: list[Lab] = []
    yield opened
    for session in opened:
        drop_namespace(session.cluster, session.namespace)


def open_lab(labs: list[Lab], name: str, **kw: object) -> Lab:
    session = kk.lab(name, prefix=kw.pop("prefix", unique()), **kw)  # type: ignore[arg-type]
    labs.append(session)
    return session


def kubectl(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The pinned kubectl with the kernel's environment, as a `!kubectl` cell runs it."""
    env = dict(os.environ, HOME=str(home))
    return subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, timeout=60)


def test_dns_label() -> None:
    """Are lab names turned into valid namespace names?"""
    assert dns_label("03-Scaling") == "03-scaling"
    assert dns_label("Lab 05: NodePort!") == "lab-05-nodeport"
    assert len(dns_label("x" * 100)) == 63
    assert namespace_for("03-scaling", "alice") == "alice-03-scaling"
    assert namespace_for("03-scaling", "") == "03-scaling"


def test_default_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is there no prefix on sandbox/kind, the user name on a shared cluster, and $KK_NAMESPACE_PREFIX above all?"""
    monkeypatch.delenv("KK_NAMESPACE_PREFIX", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "Ada.Lovelace")
    assert default_prefix("sandbox") == "" and default_prefix("kind") == ""
    assert default_prefix("shared") == "ada-lovelace"
    monkeypatch.setenv("KK_NAMESPACE_PREFIX", "team7")
    assert default_prefix("sandbox") == "team7"


def test_lab_makes_namespace_and_kubeconfig(labs: list[Lab], tmp_path: Path,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    """Does kk.lab create the namespace, point KUBECONFIG at a lab kubeconfig defaulting to it, and say so?"""
    prefix = unique()
    session = open_lab(labs, "01-pods", prefix=prefix)
    out, err = capfd.readouterr()
    assert err == "" and out.count("\n") == 1
    assert out.startswith(f"Lab 01-pods: namespace {prefix}-01-pods on {CONTEXT} (sandbox")
    assert session.namespace == f"{prefix}-01-pods"
    home = Path(os.environ["KK_HOME"])
    assert session.kubeconfig_path == home / "labs" / "01-pods" / "kubeconfig"
    assert os.environ["KUBECONFIG"] == str(session.kubeconfig_path)
    doc = yaml.safe_load(session.kubeconfig_path.read_text())
    assert doc["current-context"] == CONTEXT
    assert doc["contexts"][0]["context"]["namespace"] == session.namespace
    assert oct(session.kubeconfig_path.stat().st_mode & 0o777) == "0o600"
    ns = kk.get("namespace", session.namespace)
    assert ns.labels["kk.dev/lab"] == "01-pods"
    assert kk.current() is session.cluster and session.cluster.namespace == session.namespace
    assert session.tasks[:2] == ["pod-running", "pod-deleted"]
    assert "Lab 01-pods" in session._repr_html_() and repr(session).startswith("<Lab 01-pods")


def test_lab_shortcuts_to_the_client(labs: list[Lab]) -> None:
    """Are lab.core, lab.apps and lab.batch the official client's APIs on the lab's cluster, and lab.backend its
    backend, as a learner would expect from lab.cluster.core and lab.cluster.backend?"""
    from kubernetes import client

    session = open_lab(labs, "02-deployments")
    for name, api in (("core", client.CoreV1Api), ("apps", client.AppsV1Api), ("batch", client.BatchV1Api)):
        got = getattr(session, name)
        assert isinstance(got, api) and got.api_client is session.cluster.api_client, name
        assert getattr(Lab, name).__doc__, f"lab.{name} is documented"
    assert session.backend == session.cluster.backend == "sandbox" and Lab.backend.__doc__
    assert session.core.read_namespace(session.namespace).metadata.name == session.namespace
    kk.ensure_deployment("myd1", "vimal13/apache-webserver-php", 1, wait=False)
    assert [d.metadata.name for d in session.apps.list_namespaced_deployment(session.namespace).items] == ["myd1"]
    assert session.batch.list_namespaced_job(session.namespace).items == []
    with pytest.raises(AttributeError):
        session.core = None  # type: ignore[misc]  # read-only: it follows lab.cluster


def test_kubectl_and_helpers_act_on_the_same_place(labs: list[Lab], tmp_path: Path) -> None:
    """Does a `!kubectl run` land where kk.pods() and the checks look?"""
    session = open_lab(labs, "01-pods")
    proc = kubectl("run", "web", "--image=nginx", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert kk.pods().names == ["web"]
    assert session.check("pod-running", timeout=30).passed
    proc = kubectl("config", "view", "--minify", "-o", "jsonpath={..namespace}", home=tmp_path)
    assert proc.stdout == session.namespace


def test_rerun_recreates_fresh(labs: list[Lab]) -> None:
    """Does running kk.lab again delete the namespace, wait until it is gone, and create it empty?"""
    prefix = unique()
    first = open_lab(labs, "02-deployments", prefix=prefix)
    uid = kk.get("namespace", first.namespace).metadata["uid"]
    kk.ensure_deployment("myd1", "vimal13/apache-webserver-php", 2)
    second = open_lab(labs, "02-deployments", prefix=prefix)
    assert second.namespace == first.namespace
    assert kk.get("namespace", second.namespace).metadata["uid"] != uid
    assert kk.deployments().names == [] and kk.pods().names == []


def test_setup_runs(labs: list[Lab]) -> None:
    """Does a lab with a setup (lab 04) start with its deployment ready?"""
    open_lab(labs, "04-self-healing")
    d = kk.get("deploy/myd1")
    assert d.spec["replicas"] == 3 and d.status["readyReplicas"] == 3


def test_reset_whole_lab(labs: list[Lab], capfd: pytest.CaptureFixture[str]) -> None:
    """Does lab.reset() bring back the starting state and drop everything else?"""
    session = open_lab(labs, "04-self-healing")
    kk.scale("myd1", 1)
    kk.ensure_deployment("extra", "nginx", 1, wait=False)
    capfd.readouterr()
    session.reset()
    assert capfd.readouterr().out.startswith(f"Lab 04-self-healing reset: namespace {session.namespace} is fresh")
    assert kk.deployments().names == ["myd1"]
    assert kk.get("deploy/myd1").status["readyReplicas"] == 3


def test_reset_one_step(labs: list[Lab]) -> None:
    """Does lab.reset('scale-down') bring only that step to its start, and an unknown step list the steps?"""
    session = open_lab(labs, "03-scaling")
    assert kk.get("deploy/myd1").spec["replicas"] == 1
    session.reset("scale-down", quiet=True)
    assert kk.get("deploy/myd1").status["readyReplicas"] == 4
    session.reset("scale", quiet=True)
    kk.wait_for("deployment/myd1 ready", timeout=30)
    assert kk.get("deploy/myd1").spec["replicas"] == 1
    with pytest.raises(KKError, match="has no step 'nope'; its steps are: scale, scale-down"):
        session.reset("nope")


def test_lab_without_checks(labs: list[Lab]) -> None:
    """Is a lab name without a number still a namespace, with no tasks and a clear error on check?"""
    session = open_lab(labs, "free-play")
    assert session.tasks == [] and session.steps == []
    with pytest.raises(KKError, match="there are no checks for lab 'free-play'"):
        session.check("anything")


def test_unknown_task_lists_tasks(labs: list[Lab]) -> None:
    """Does an unknown task name list the lab's tasks?"""
    session = open_lab(labs, "03-scaling")
    with pytest.raises(KKError, match="lab 03 has no task 'scal'; its tasks are: scale, spread, scale-down"):
        session.check("scal")


def test_prefix_from_env(labs: list[Lab], monkeypatch: pytest.MonkeyPatch) -> None:
    """Is $KK_NAMESPACE_PREFIX used when no prefix is passed?"""
    prefix = unique("env")
    monkeypatch.setenv("KK_NAMESPACE_PREFIX", prefix)
    session = kk.lab("00-env", quiet=True)
    labs.append(session)
    assert session.namespace == f"{prefix}-00-env"


def test_lab_kubeconfig_absolute_cert_paths(tmp_path: Path, cluster: kk.Cluster) -> None:
    """Are relative certificate paths of the source kubeconfig made absolute in the lab's copy?"""
    src = tmp_path / "cfg" / "kubeconfig"
    src.parent.mkdir()
    doc = yaml.safe_load(cluster.kubeconfig_path.read_text())
    doc["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"
    doc["clusters"][0]["cluster"].pop("certificate-authority-data", None)
    doc["users"][0]["user"]["client-key"] = "keys/me.key"
    src.write_text(yaml.safe_dump(doc))
    fake = kk.Cluster(CONTEXT, "shared", "https://x", "v1", src, None)
    out = write_lab_kubeconfig(fake, "ns1", tmp_path / "lab" / "kubeconfig")
    lab_doc = yaml.safe_load(out.read_text())
    assert lab_doc["clusters"][0]["cluster"]["certificate-authority"] == str(src.parent / "ca.crt")
    assert lab_doc["users"][0]["user"]["client-key"] == str(src.parent / "keys" / "me.key")
    assert lab_doc["contexts"][0]["context"]["namespace"] == "ns1"


def test_lab_is_the_function() -> None:
    """Is kk.lab the function learners call (not the submodule of the same name)?"""
    import kk_helpers.checks  # noqa: F401  (imports kk_helpers.lab's neighbours)

    assert callable(lab_fn) and lab_fn is kk.lab and callable(kk.connect)


def test_connect_finds_contexts_of_the_original_kubeconfig(labs: list[Lab], kk_env: Path) -> None:
    """After kk.lab(), does kk.connect('other') still find a context that only the original kubeconfig has?"""
    from kk_helpers import kubeconfig

    data = kubeconfig.load(kk_env)
    doc = kubeconfig.build("second", data["clusters"][0]["cluster"]["server"],
                           token=data["users"][0]["user"]["token"])
    doc["clusters"][0]["cluster"] = dict(data["clusters"][0]["cluster"])
    kubeconfig.merge(kk_env, doc, switch=False)
    session = open_lab(labs, "00-env")
    assert os.environ["KUBECONFIG"] == str(session.kubeconfig_path)
    assert os.environ["KK_SOURCE_KUBECONFIG"] == str(kk_env)
    c = kk.connect("second", quiet=True)
    assert c.context == "second" and c.kubeconfig_path == kk_env


def test_fresh_false_keeps_objects(labs: list[Lab]) -> None:
    """Does kk.lab(fresh=False) keep what the namespace already has?"""
    prefix = unique()
    open_lab(labs, "01-pods", prefix=prefix)
    kk.ensure_deployment("keep", "nginx", 1, wait=False)
    again = kk.lab("01-pods", prefix=prefix, fresh=False, quiet=True)
    assert kk.deployments().names == ["keep"] and again.namespace == f"{prefix}-01-pods"


def test_empty_namespace_for_rbac_limited_learners(cluster: kk.Cluster) -> None:
    """Where a learner may not delete their namespace, does emptying it remove the lab's objects?"""
    from kk_helpers.lab import empty_namespace

    kk.ensure_deployment("myd1", "nginx", 2)
    cluster.call(cluster.core.create_namespaced_service, cluster.namespace, {
        "metadata": {"name": "myd1"}, "spec": {"selector": {"app": "myd1"}, "ports": [{"port": 80}]}})
    empty_namespace(cluster, cluster.namespace)
    kk.wait_for(lambda: not kk.pods(), "the pods to go", timeout=30)
    assert kk.deployments() == [] and kk.services() == [] and kk.replicasets() == []
    assert kk.get("namespace", cluster.namespace).name == cluster.namespace
