"""Act on a cluster from a notebook: wait for a state, scale, delete a pod, stop a node.

``wait_for`` polls a condition (a function, or a phrase such as
``"deployment/myd1 ready"``) with a bounded timeout, showing an ipywidgets
progress bar when a frontend is listening and nothing otherwise; a timeout is
a :class:`WaitTimeout` that says what was last seen and what to look at.
"""

from __future__ import annotations

import random
import subprocess
import time
from html import escape
from collections.abc import Callable
from typing import Any

from . import reprs
from .reprs import Progress  # re-exported: kk_helpers.act.Progress
from .connect import Cluster, current
from .errors import KKError
from .helpers import Resource, get, get_object, kind_info, list_objects

Obj = dict[str, Any]

#: The annotation the sandbox's node runtime reads for the node stop/start drill.
#: Same value as ``kk_helpers.sandbox.daemon.NODE_STOPPED_ANNOTATION`` (the notebook side does not import the
#: sandbox; tests/test_notebook_act.py checks they agree).
NODE_STOPPED_ANNOTATION = "sandbox.kk.dev/stopped"
MERGE_PATCH = "application/merge-patch+json"


class WaitTimeout(KKError, TimeoutError):
    """A wait ran out of time; the message says what was last seen."""


Condition = Callable[[], Any]


def _evaluate(condition: Condition) -> tuple[bool, str, Any]:
    value = condition()
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        return bool(value[0]), value[1], value[0]
    return bool(value), "", value


def wait_for(condition: Condition | str, description: str | None = None, *, timeout: float = 60.0,
             interval: float = 0.5, namespace: str | None = None, cluster: Cluster | None = None,
             live: bool | None = None) -> Any:
    """Wait until a condition holds, with a progress bar and a clear timeout error.

    Args:
        condition: a function returning something truthy when done (or ``(done, "what is seen now")``),
            or a phrase ``"<kind>/<name> <state>"``: states ``ready`` (pods, deployments, replica sets,
            nodes, services with ready endpoints), ``running``, ``complete`` (jobs, pods), ``exists``,
            ``gone``/``deleted``, ``notready`` (nodes).
        description: what is awaited, for the bar and the error (default: the phrase, or the function's name).
        timeout: seconds before giving up.
        interval: seconds between polls.
        namespace: for phrases; default: the cluster's.
        cluster: for phrases; default: the current cluster.
        live: force the progress widget on or off.

    Returns:
        The condition's last (truthy) value.

    Raises:
        WaitTimeout: the condition did not hold within ``timeout`` seconds.
        KKError: the cluster failed (unreachable, forbidden...).
    """
    hint = ""
    if isinstance(condition, str):
        phrase = condition
        condition, hint = condition_for(phrase, namespace=namespace, cluster=cluster)
        description = description or phrase
    description = description or str(getattr(condition, "__name__", "the condition"))
    progress = Progress(description, timeout, live=live, show_now=False)  # shown once a look is not done
    start = time.monotonic()
    status = ""
    try:
        while True:
            done, status, value = _evaluate(condition)
            elapsed = time.monotonic() - start
            if done:
                progress.finish(True)
                return value
            if elapsed >= timeout:
                break
            progress.update(elapsed, status)
            time.sleep(min(interval, max(0.0, timeout - elapsed)))
    except BaseException as err:  # a cluster error, or the learner interrupting the kernel
        progress.finish(False, str(err) or type(err).__name__)
        raise
    seen = f"; last seen: {status}" if status else ""
    progress.finish(False, f"gave up after {timeout:g} s{seen}")
    raise WaitTimeout(f"gave up after {timeout:g} s waiting for {description}{seen}"
                      + (f" — {hint}" if hint else ""))


def _deployment_state(d: Obj) -> tuple[bool, str]:
    spec, st, md = d.get("spec") or {}, d.get("status") or {}, d.get("metadata") or {}
    want = spec.get("replicas", 1)
    want = 1 if want is None else want
    ready, updated = st.get("readyReplicas", 0) or 0, st.get("updatedReplicas", 0) or 0
    available, total = st.get("availableReplicas", 0) or 0, st.get("replicas", 0) or 0
    fresh = (st.get("observedGeneration") or 0) >= (md.get("generation") or 0)
    done = fresh and ready == want and updated == want and available == want and total == want
    return done, f"{ready}/{want} ready, {updated} up-to-date" + ("" if fresh else ", controller catching up")


def condition_for(phrase: str, *, namespace: str | None = None,
                  cluster: Cluster | None = None) -> tuple[Condition, str]:
    """Turn ``"<kind>/<name> <state>"`` into a condition and a hint for the timeout message.

    Raises:
        KKError: the phrase does not parse.
    """
    words = phrase.split()
    if not words or "/" not in words[0] or len(words) > 2:
        raise KKError(f"cannot read {phrase!r}: write it as 'deployment/myd1 ready' or 'pod/web gone'")
    kind, _, name = words[0].partition("/")
    state = (words[1] if len(words) > 1 else "ready").lower()
    info = kind_info(kind)
    c = current(cluster)
    hint = f"look at `kubectl describe {info.aliases[1]} {name}` and `kubectl get events`"

    def read() -> Obj | None:
        return get_object(info.kind, name, namespace, cluster=c)

    if state in ("gone", "deleted"):
        def gone() -> tuple[bool, str]:
            obj = read()
            return obj is None, ("still there" + (", terminating" if obj and (obj.get("metadata") or {})
                                                  .get("deletionTimestamp") else "")) if obj else "gone"
        return gone, hint
    if state == "exists":
        return (lambda: (read() is not None, "not created yet")), hint

    def check() -> tuple[bool, str]:
        obj = read()
        if obj is None:
            return False, f"{info.kind.lower()} {name} does not exist"
        if info.kind in ("Deployment", "ReplicaSet"):
            if info.kind == "Deployment":
                return _deployment_state(obj)
            want = (obj.get("spec") or {}).get("replicas", 0) or 0
            ready = (obj.get("status") or {}).get("readyReplicas", 0) or 0
            return ready == want, f"{ready}/{want} ready"
        if info.kind == "Pod":
            st = reprs.pod_status(obj)
            if state == "running":
                return st == "Running", st
            if state in ("complete", "completed", "succeeded"):
                return (obj.get("status") or {}).get("phase") == "Succeeded", st
            return reprs.pod_is_ready(obj), st
        if info.kind == "Node":
            ready = reprs.node_ready(obj)
            return (not ready if state == "notready" else ready), reprs.node_status(obj)
        if info.kind == "Job":
            st = reprs.job_status(obj)
            return st == "Complete", f"{st}, {reprs.job_completions(obj)} completions"
        if info.kind == "Service":
            addrs = ready_endpoints(name, namespace, cluster=c)
            return bool(addrs), f"{len(addrs)} ready endpoints"
        return True, "exists"

    if state not in ("ready", "running", "complete", "completed", "succeeded", "available", "rolled-out",
                     "notready"):
        raise KKError(f"unknown state {state!r} in {phrase!r}; use ready, running, complete, exists or gone")
    return check, hint


def ready_endpoints(service: str, namespace: str | None = None, *, cluster: Cluster | None = None) -> list[str]:
    """Addresses of the ready endpoints behind a service (EndpointSlices, else Endpoints)."""
    c = current(cluster)
    addrs: list[str] = []
    try:
        slices = list_objects("endpointslices", namespace, selector=f"kubernetes.io/service-name={service}", cluster=c)
    except KKError:
        slices = []
    for s in slices:
        for ep in s.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready", True):
                addrs.extend(ep.get("addresses") or [])
    if addrs or slices:
        return addrs
    ep_obj = get_object("endpoints", service, namespace, cluster=c) or {}
    for subset in ep_obj.get("subsets") or []:
        addrs.extend(a.get("ip", "") for a in subset.get("addresses") or [])
    return addrs


def selector_string(obj: Obj) -> str:
    """A label selector string from a workload's ``spec.selector`` (or a service's ``spec.selector``)."""
    sel = (obj.get("spec") or {}).get("selector") or {}
    if "matchLabels" not in sel and "matchExpressions" not in sel:
        return ",".join(f"{k}={v}" for k, v in sel.items())
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def pods_of(deployment: str, namespace: str | None = None, *, include_terminating: bool = False,
            cluster: Cluster | None = None) -> list[Obj]:
    """The pods a deployment selects (by its selector), sorted by name.

    Raises:
        KKError: the deployment does not exist.
    """
    c = current(cluster)
    dep = get("deployment", deployment, namespace, cluster=c).raw
    found = list_objects("pods", namespace, selector=selector_string(dep), cluster=c)
    if not include_terminating:
        found = [p for p in found if not (p.get("metadata") or {}).get("deletionTimestamp")]
    return sorted(found, key=reprs.name_of)


def scale(deployment: str, replicas: int, namespace: str | None = None, *, wait: bool = False,
          timeout: float = 60.0, cluster: Cluster | None = None) -> Resource:
    """Set a deployment's replicas through the scale subresource (what ``kubectl scale`` does).

    Args:
        deployment: deployment name.
        replicas: desired replicas (>= 0).
        namespace: default: the cluster's.
        wait: wait until that many are ready.
        timeout: seconds for ``wait``.
        cluster: default: the current cluster.

    Returns:
        The deployment after the change.
    """
    if replicas < 0:
        raise KKError(f"replicas must be 0 or more, not {replicas}")
    c = current(cluster)
    ns = namespace or c.namespace
    c.call(c.apps.patch_namespaced_deployment_scale, deployment, ns, {"spec": {"replicas": int(replicas)}},
           _content_type=MERGE_PATCH, what=f"scaling deployment {deployment}")
    if wait:
        wait_for(f"deployment/{deployment} ready", namespace=ns, cluster=c, timeout=timeout)
    return get("deployment", deployment, ns, cluster=c)


def delete(kind: str, name: str | None = None, namespace: str | None = None, *, wait: bool = False,
           timeout: float = 60.0, cluster: Cluster | None = None) -> bool:
    """Delete an object (``kk.delete("pod/web")``); returns False when it was already gone."""
    if name is None and "/" in kind:
        kind, _, name = kind.partition("/")
    if not name:
        raise KKError(f"name the object: kk.delete('{kind}/NAME')")
    from kubernetes.client.exceptions import ApiException

    info = kind_info(kind)
    c = current(cluster)
    ns = namespace or c.namespace
    args: tuple[Any, ...] = (name, ns) if info.namespaced else (name,)
    try:
        c.call(info.method(c, "delete"), *args, what=f"deleting {info.kind.lower()} {name}")
    except KKError as err:
        if isinstance(err.__cause__, ApiException) and err.__cause__.status == 404:
            return False
        raise
    if wait:
        wait_for(f"{info.kind.lower()}/{name} gone", namespace=ns, cluster=c, timeout=timeout)
    return True


def delete_random_pod(deployment: str, namespace: str | None = None, *, rng: random.Random | None = None,
                      cluster: Cluster | None = None) -> str:
    """Delete one random (non-terminating) pod of a deployment; returns its name.

    Raises:
        KKError: the deployment has no pod to delete.
    """
    c = current(cluster)
    candidates = pods_of(deployment, namespace, cluster=c)
    if not candidates:
        raise KKError(f"deployment {deployment} has no running pod to delete — scale it up first "
                      f"(kubectl scale deployment {deployment} --replicas=3)")
    victim = reprs.name_of((rng or random).choice(candidates))
    delete("pod", victim, namespace, cluster=c)
    return victim


def ensure_deployment(name: str, image: str, replicas: int = 1, namespace: str | None = None, *,
                      labels: dict[str, str] | None = None, container_port: int | None = 80, wait: bool = True,
                      timeout: float = 60.0, cluster: Cluster | None = None) -> Resource:
    """Make a deployment exist with this image and replica count (create it, or patch it into shape).

    The pod template is labelled ``app=<name>`` (as ``kubectl create deployment`` does) unless ``labels``
    says otherwise.
    """
    c = current(cluster)
    ns = namespace or c.namespace
    labels = labels or {"app": name}
    container: Obj = {"name": image.split("/")[-1].split(":")[0].split("@")[0], "image": image}
    if container_port:
        container["ports"] = [{"containerPort": container_port, "protocol": "TCP"}]
    existing = get_object("deployment", name, ns, cluster=c)
    if existing is None:
        body = {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "labels": dict(labels)},
                "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                         "template": {"metadata": {"labels": dict(labels)},
                                      "spec": {"containers": [container]}}}}
        c.call(c.apps.create_namespaced_deployment, ns, body, what=f"creating deployment {name}")
    else:
        patch = {"spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}
        c.call(c.apps.patch_namespaced_deployment, name, ns, patch, _content_type=MERGE_PATCH,
               what=f"updating deployment {name}")
    if wait:
        wait_for(f"deployment/{name} ready", namespace=ns, cluster=c, timeout=timeout)
    return get("deployment", name, ns, cluster=c)


def _run_docker(*args: str) -> None:
    try:
        proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise KKError(f"docker {' '.join(args)} failed ({err}) — is Docker running?") from err
    if proc.returncode != 0:
        raise KKError(f"docker {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()[:200]}")


def _set_node_running(node: str, running: bool, cluster: Cluster | None) -> str:
    c = current(cluster)
    if get_object("node", node, cluster=c) is None:
        raise KKError(f"there is no node {node!r}; list them with: kubectl get nodes")
    if c.backend == "sandbox":
        body = {"metadata": {"annotations": {NODE_STOPPED_ANNOTATION: None if running else "true"}}}
        c.call(c.core.patch_node, node, body, _content_type=MERGE_PATCH, what=f"changing node {node}")
    elif c.backend == "kind":
        _run_docker("start" if running else "stop", node)
    else:
        raise KKError("stopping a node is a drill for the sandbox or kind; on a shared cluster ask your "
                      "instructor (it needs admin rights: kubectl drain)")
    return node


def stop_node(node: str, *, cluster: Cluster | None = None) -> str:
    """Failure drill: stop a node (sandbox: it turns NotReady and its pods are evicted; kind: ``docker stop``)."""
    return _set_node_running(node, False, cluster)


def start_node(node: str, *, cluster: Cluster | None = None) -> str:
    """Undo :func:`stop_node`: the node turns Ready again."""
    return _set_node_running(node, True, cluster)
