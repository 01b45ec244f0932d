"""Is the ``kube-root-ca.crt`` ConfigMap published in every namespace as the real root-ca-cert-publisher does?

With the real kubectl and the official client against the fast-mode sandbox: the
ConfigMap exists in the system namespaces and in a new one, holds the sandbox CA
(the one in the kubeconfig, which verifies the API server's certificate), carries
the ``kubernetes.io/description`` annotation, and comes back when deleted or edited.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
from typing import Any

import pytest
import yaml
from kubernetes import client
from waiting import wait_until

from kk_helpers.sandbox.app import SandboxThread

NAME = "kube-root-ca.crt"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


def core(api: Any) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def kubeconfig_ca(sandbox: SandboxThread) -> str:
    assert sandbox.kubeconfig_path is not None
    cfg = yaml.safe_load(sandbox.kubeconfig_path.read_text())
    return base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]).decode()


def test_every_namespace_has_the_sandbox_ca(sandbox, api, namespace) -> None:
    """Do the system namespaces and a new one hold kube-root-ca.crt with the kubeconfig's CA and the description?"""
    ca = kubeconfig_ca(sandbox)
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease", namespace):
        cm = wait_until(lambda ns=ns: core(api).list_namespaced_config_map(
            ns, field_selector=f"metadata.name={NAME}").items, what=f"{NAME} in {ns}")[0]
        assert cm.data == {"ca.crt": ca}
        assert cm.metadata.annotations == {"kubernetes.io/description": DESCRIPTION}
        assert cm.metadata.managed_fields[0].manager == "kube-controller-manager"
    # the published certificate verifies the API server, as a pod using it would
    ctx = ssl.create_default_context(cadata=ca)
    assert sandbox.sandbox is not None
    host, port = sandbox.sandbox.host, sandbox.sandbox.port
    with socket.create_connection((host, port), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname="localhost"):
        pass


@pytest.mark.kubectl
def test_deleted_or_edited_configmap_comes_back(pinned_kubectl, sandbox, api) -> None:
    """Is kube-root-ca.crt recreated after `kubectl delete`, and its data and annotation restored after an edit?"""
    k, ns = pinned_kubectl, pinned_kubectl.namespace
    ca = kubeconfig_ca(sandbox)
    first = wait_until(lambda: core(api).list_namespaced_config_map(ns, field_selector=f"metadata.name={NAME}").items,
                       what="the configmap")[0]
    assert k("delete", "configmap", NAME).stdout.startswith(f'configmap "{NAME}" deleted')
    again = wait_until(lambda: [c for c in core(api).list_namespaced_config_map(ns).items
                                if c.metadata.name == NAME and c.metadata.uid != first.metadata.uid],
                       what="the configmap to be recreated")[0]
    assert again.data == {"ca.crt": ca}

    patch = {"data": {"ca.crt": "tampered", "extra": "x"},
             "metadata": {"labels": {"mine": "yes"}, "annotations": {"kubernetes.io/description": ""}}}
    k("patch", "configmap", NAME, "--type=merge", "-p", json.dumps(patch))
    fixed = wait_until(lambda: (lambda c: c if c.data == {"ca.crt": ca} else None)(
        core(api).read_namespaced_config_map(NAME, ns)), what="the data to be restored")
    assert fixed.metadata.annotations["kubernetes.io/description"] == DESCRIPTION
    assert fixed.metadata.labels == {"mine": "yes"}  # what the publisher does not own stays
    out = k("get", "configmap", NAME, "-o", "jsonpath={.data.ca\\.crt}").stdout
    assert out.strip() == ca.strip()
