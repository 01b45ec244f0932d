"""Checks: each task of a lab verified against the cluster, for feedback and for grading.

Use them three ways — the same function, the same sentence, so feedback and grade never disagree:

* feedback in a learner's cell: ``lab.check("scale")`` returns a :class:`CheckResult` (✓/✗, expected vs
  found per part, points, a hint, and the YAML of the objects it looked at in a collapsed block);
  ``lab.check()`` checks every task once; ``kk.CheckPanel(lab)`` shows them all with progressive hints;
* an nbgrader hidden test cell (all or nothing): ``kk.checks.require(lab, "scale")`` shows the result and
  raises :class:`CheckFailed` (an ``AssertionError``) with the same sentence, or
  ``lab.check("scale").assert_passed()``;
* nbgrader partial credit: ``kk.checks.grade(lab, "traffic")`` as the cell's last expression returns the
  points earned as a float, which nbgrader reads as the cell's score.

Points have one source: each task declares them (``@LAB.task(..., points=3)``; ``partial=True`` for partial
credit, else all or nothing). ``lab.check()`` and the CheckPanel show them, and ``kk labs build`` gives them to
the one nbgrader test cell that grades the task (refusing a source whose ``points=`` disagrees).

A check polls until it passes, until its failure is final (the object does not exist, the image is wrong),
or until ``$KK_CHECK_TIMEOUT`` seconds (default 30; pass ``timeout=`` to override) — short enough for a
cell timeout. Results carry evidence: in the cell output as HTML ``<details>`` with YAML, and as JSON under
the MIME type ``application/vnd.kk.check+json``, so a grade can be re-examined without the cluster.
Parameters a task needs are keyword arguments: ``lab.check("replaced", deleted=deleted_pod)``. Every task
also accepts ``name=`` to check an object with another name.

Lab names map to modules by their number: ``kk.lab("03-scaling")`` uses ``checks/lab03.py``.

Lab 00 — environment (``lab00``)
    ``cluster`` (3)   the API server answers ``/version`` and the backend is known (sandbox, kind, shared).
    ``kubectl`` (3)   ``kubectl version -o json`` with the lab kubeconfig shows the same server version.
    ``namespace`` (4) the lab namespace exists and is the default namespace of kubectl's context.

Lab 01 — pods (``lab01``)
    ``pod-running`` (3)    pod ``web`` exists, runs an ``nginx`` image, is Running and ready.
    ``pod-deleted`` (2)    pod ``web`` is gone.
    ``python-create`` (2)  like ``pod-running``, and no kubectl command wrote the pod (its managedFields).
    ``python-logs`` (1)    pod ``web`` runs and its log has at least one line.
    ``python-delete`` (2)  pod ``web`` is gone (again, after ``python-create``).

Lab 02 — deployments (``lab02``)
    ``deployment`` (4)     deployment ``myd1`` runs ``vimal13/apache-webserver-php``, 1 replica desired, 1/1 ready.
    ``owners`` (3)         ``myd1`` controls a ReplicaSet, which controls the pods (ownerReferences by uid).
    ``deployment-deleted`` (3)  ``myd1`` is gone and no pod labelled ``app=myd1`` is left.

Lab 03 — scaling (``lab03``; setup: ``myd1`` at 1 replica; steps ``scale``, ``scale-down``)
    ``scale`` (4)     ``myd1`` wants 4 replicas and 4 pods are ready (``replicas=`` to change the number).
    ``spread`` (3)    the ready pods of ``myd1`` run on at least 2 nodes.
    ``scale-down`` (3)  ``myd1`` wants 2 replicas and exactly 2 pods are ready.

Lab 04 — self-healing (``lab04``; setup: ``myd1`` at 3 ready replicas; steps ``replaced``, ``node-drill``)
    ``replaced`` (4)  needs ``deleted=<pod name>``: that pod of ``myd1`` is gone, ``myd1`` has its desired number
                      of ready pods again, none of them with the deleted name.
    ``node-drill`` (4)  a node is stopped (NotReady; ``node=`` to name it) and ``myd1`` has all its desired
                      replicas ready on other nodes.
    ``node-back`` (2)  every node is Ready again.

Lab 05 — NodePort (``lab05``; setup: ``myd1`` at 3 ready replicas, no service; step ``service``)
    ``service`` (3)   service ``myd1`` is type NodePort, has port 80, selects ``app=myd1``, has ready endpoints.
    ``reachable`` (3)  ``kk.service_url("myd1")`` answers HTTP 2xx from the notebook.
    ``traffic`` (3, partial)  of ``n=20`` requests, all are answered and at least 2 distinct pods answered
                      (1 point for the answers, 2 for the spread).

Lab 06 — rollouts (``lab06``; setup: ``myd1`` with ``httpd:2.4`` on 4 replicas; step ``rolled-out``)
    ``rolled-out`` (3)  ``myd1`` runs ``nginx:1.29.4`` (``image=``), every replica updated and ready, old
                      ReplicaSets at 0.
    ``history`` (2)   ``myd1`` owns ReplicaSets of at least 2 revisions.
    ``undo`` (3)      ``myd1`` is back on ``httpd:2.4`` (``image=``) at revision 3 or later, rollout complete.
    ``recovered`` (2)  the broken image ``ngnix:1.29.4`` was rolled out, and ``myd1`` is back on ``httpd:2.4``,
                      complete, the broken ReplicaSet at 0.

Lab 07 — declarative (``lab07``)
    ``applied`` (3)   deployment ``web`` carries kubectl's last-applied-configuration annotation and is ready.
    ``service`` (2)   service ``web`` was applied too and has a selector.
    ``selector`` (2)  the ready pods labelled ``app=web`` are exactly the ready endpoints of service ``web``.
    ``updated`` (3)   the applied file says ``replicas: 3`` (``replicas=``), the spec agrees, and 3 are ready.

Lab 08 — batch (``lab08``)
    ``job`` (4)       job ``pi`` has ``completions: 3`` (``completions=``) and is Complete.
    ``cronjob`` (3)   cronjob ``tick`` exists with a schedule (``schedule=`` to require one).
    ``cronjob-ran`` (3)  cronjob ``tick`` has started at least one job.

Lab 09 — portability (``lab09``; setup: a second namespace ``<lab namespace>-b``)
    ``portable`` (5)  deployment ``myd1`` exists in the lab namespace and in ``namespace_b=`` (default
                      ``<lab namespace>-b``, optionally in ``context_b=``) with the same images and replicas,
                      all ready in both.
    ``scaled`` (5)    like ``portable``, with 3 replicas (``replicas=``) in both places.
"""

from __future__ import annotations

from .base import (
    DEFAULT_TIMEOUT, RESULT_MIMETYPE, CheckFailed, CheckReport, CheckResult, Context, LabChecks, Part, Task,
    check_timeout, checks_for, grade, image_matches, iter_tasks, lab_number, require, run, run_all,
)

__all__ = [
    "DEFAULT_TIMEOUT", "RESULT_MIMETYPE", "CheckFailed", "CheckReport", "CheckResult", "Context", "LabChecks",
    "Part", "Task", "check_timeout", "checks_for", "grade", "image_matches", "iter_tasks", "lab_number",
    "require", "run", "run_all",
]
