"""The offline image catalog: what each image is, runs, prints and serves.

Nothing is downloaded. A container image reference is normalised the way
containerd does it (``nginx`` == ``docker.io/library/nginx:latest``), looked up
in :data:`CATALOG`, and either "pulled" (a known repository with a known tag,
or any well-formed digest) or refused with the error text a real node prints.

Each catalog entry says what the image does when it starts:

* **web** images (nginx, httpd, the apache-php image, hello-app, http-echo,
  agnhost, whoami, kubernetes-bootcamp...) listen on a port and answer HTTP the
  way the real program does, plus a line naming the pod so learners can see load
  balancing (:func:`respond`). Their access log lines go to the container log.
* **shell** images (busybox, alpine, ubuntu...) run their command through a
  small shell interpreter (:class:`Shell`): ``echo``, ``sleep``, ``exit``,
  ``date``, ``hostname``, variables, ``$((...))``, ``;``/``&&``/``||``, pipes,
  redirections to files, ``if``/``while``/``until``/``for`` loops... enough for
  Jobs that complete or fail, the classic counter and liveness-probe examples,
  and sidecars that write the page another container serves.
* **daemon** images (redis, postgres, mysql, mongo) print their start-up lines
  and run forever (postgres and mysql refuse to start without their password
  variables, as the real ones do).

The interpreter is a generator of :class:`Action` values; the kubelet
(``kubelet.py``) consumes them on a simulated clock, so nothing here sleeps.
"""

from __future__ import annotations

from .catalog import (
    CATALOG, DEFAULT_DOMAIN, ImageRef, ImageSpec, InvalidReference, PullError, default_pull_policy, familiar,
    image_id, image_size, lookup, parse_reference, resolve, server_version, startup_lines,
)
from .http import DOCROOTS, NON_HTTP, SERVER_PORTS, Request, Response, ServerContext, flag_value, respond
from .actions import Action, Exit, FileOp, Output, ProcessEnv, Program, Serve, Sleep, StartFailure, Tick
from .shell import Shell, effective_argv, expand_kubernetes_vars, program

__all__ = [
    "CATALOG", "DEFAULT_DOMAIN", "DOCROOTS", "NON_HTTP", "SERVER_PORTS", "Action", "Exit", "FileOp", "ImageRef",
    "ImageSpec", "InvalidReference", "Output", "ProcessEnv", "Program", "PullError", "Request", "Response", "Serve",
    "ServerContext", "Shell", "Sleep", "StartFailure", "Tick", "default_pull_policy", "effective_argv",
    "expand_kubernetes_vars", "familiar", "flag_value", "image_id", "image_size", "lookup", "parse_reference",
    "program", "resolve", "respond", "server_version", "startup_lines",
]
