"""kk: Kubernetes labs in JupyterLab.

In a notebook: ``import kk_helpers as kk``. The public surface (loaded lazily, so ``import kk_helpers``
and the ``kk`` CLI stay fast):

Connect and labs
    ``connect(context=None)``      connect (explicit context, ``$KK_CONTEXT``, the current one, else start
                                   the sandbox) and print which cluster/backend in one line.
    ``lab("03-scaling")``          a lab session: fresh namespace, ``KUBECONFIG`` pointed at it, setup;
                                   ``lab.reset()``, ``lab.reset("step")``, ``lab.check("task")``.
    ``current()``                  the cluster the helpers use.

Look
    ``pods()``, ``deployments()``, ``replicasets()``, ``services()``, ``nodes()``, ``events()``, ``jobs()``
                                   lists with HTML tables in JupyterLab and kubectl-like text elsewhere.
    ``get("deploy/myd1")``         one object (``.name``, ``.spec``, ``.status``, ``.raw``, ``.yaml()``).
    ``show(x, ...)``               display anything: ``"pods"``, ``"svc/myd1"``, wrappers, dicts, client models.
    ``tree(deployment=None)``      the ownership tree Deployment -> ReplicaSet -> Pods, drawn.

Act
    ``wait_for(cond, timeout=60)`` wait for a function or ``"deployment/myd1 ready"`` with a progress bar.
    ``scale(name, n)``             scale a deployment through the scale subresource.
    ``delete("pod/web")``          delete an object; ``delete_random_pod("myd1")`` for chaos.
    ``stop_node(n)``/``start_node(n)``  the node failure drill (sandbox, kind).
    ``service_url(name)``          a URL the notebook can reach for a NodePort service.
    ``http_get(url)``              status, body and which pod answered; ``traffic(url, n)`` counts per pod.

Widgets (``kk.ClusterView()``...): ``ClusterView``, ``ScaleSlider``, ``ChaosButton``, ``TrafficProbe``,
``RolloutView``, ``CheckPanel`` — see :mod:`kk_helpers.widgets`.

Checks: :mod:`kk_helpers.checks` (``kk.checks.require(lab, "task")`` in nbgrader hidden tests).

Environment
    ``KK_CONTEXT``            the context ``connect()`` uses when none is named.
    ``KK_SANDBOX_MODE``       ``realistic`` (default) or ``fast``: the sandbox ``connect()`` starts when nothing answers.
    ``KK_NAMESPACE_PREFIX``   prefix of lab namespaces (default: none on sandbox/kind, the user name on a shared
                              cluster).
    ``KK_HOME``               state directory (default ``~/.kk``); lab kubeconfigs live in ``$KK_HOME/labs/<lab>/``.
    ``KK_CHECK_TIMEOUT``      seconds a check keeps polling (default 30); lower it for quick grading runs.
    ``KK_STATIC``             ``1``: widgets and progress bars render static HTML (no threads); ``0``: always live.
    ``KK_SOURCE_KUBECONFIG``  set by ``kk.lab()``: the kubeconfig in use before the first lab.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first use).
_EXPORTS: dict[str, str] = {
    "current": "connect", "Cluster": "connect", "Lab": "lab",
    "pods": "helpers", "deployments": "helpers", "replicasets": "helpers", "services": "helpers",
    "nodes": "helpers", "events": "helpers", "jobs": "helpers", "get": "helpers", "show": "helpers",
    "tree": "helpers", "Resource": "helpers", "ResourceList": "helpers",
    "wait_for": "act", "scale": "act", "delete": "act", "delete_random_pod": "act", "stop_node": "act",
    "start_node": "act", "pods_of": "act", "ensure_deployment": "act", "WaitTimeout": "act",
    "service_url": "net", "http_get": "net", "traffic": "net", "HttpResult": "net",
    "ClusterView": "widgets", "ScaleSlider": "widgets", "ChaosButton": "widgets", "TrafficProbe": "widgets",
    "RolloutView": "widgets", "CheckPanel": "widgets",
    "KKError": "errors", "ClusterUnreachable": "errors",
}
_SUBMODULES = ("checks", "widgets", "reprs", "helpers", "act", "net")

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "connect", "lab"])

# ``connect`` and ``lab`` are both submodules and the functions learners call. Importing a submodule sets
# the package attribute to the module, so bind the functions now, once: later imports of the submodules
# (from sys.modules) leave the attribute alone.
from .connect import connect  # noqa: E402
from .lab import lab  # noqa: E402

if TYPE_CHECKING:  # for type checkers and IDEs; at run time everything loads lazily
    from . import act, checks, helpers, net, reprs, widgets
    from .act import (WaitTimeout, delete, delete_random_pod, ensure_deployment, pods_of, scale, start_node,
                      stop_node, wait_for)
    from .connect import Cluster, connect, current
    from .errors import ClusterUnreachable, KKError
    from .helpers import (Resource, ResourceList, deployments, events, get, jobs, nodes, pods, replicasets,
                          services, show, tree)
    from .lab import Lab, lab
    from .net import HttpResult, http_get, service_url, traffic
    from .widgets import ChaosButton, CheckPanel, ClusterView, RolloutView, ScaleSlider, TrafficProbe


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kk_helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
