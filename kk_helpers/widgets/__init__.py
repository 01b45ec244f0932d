"""Live widgets for the labs (ipywidgets 8), each with a static HTML/text fallback.

* :class:`ClusterView` — nodes as columns, pods as chips coloured by status and grouped by owner, live.
* :class:`ScaleSlider` — a slider bound to a deployment's replicas (scale subresource); desired vs ready.
* :class:`ChaosButton` — deletes a random pod of a deployment and shows its replacement arriving.
* :class:`TrafficProbe` — N requests to a service; bars of which pod answered.
* :class:`RolloutView` — old vs new ReplicaSets and their pods during a rollout, live.
* :class:`CheckPanel` — one row per task of a lab: pass/fail, expected vs found, progressive hints.

Without a widget frontend (nbconvert/nbgrader execution, plain Python, ``KK_STATIC=1``) each renders a
static snapshot and starts no thread; see :mod:`kk_helpers.widgets._base`. Nothing writes to stderr.

CSS class hooks, stable for instructors' custom CSS (e.g. in ``custom.css``) and browser tests. The live
ipywidgets boxes: ``kk-cluster-view-widget``, ``kk-scale-slider``, ``kk-chaos-button``, ``kk-traffic-probe``,
``kk-rollout-view``, ``kk-check-panel`` (rows ``kk-check-panel__row``), and a wait's ``kk-progress``
(``--done``/``--failed``). Inside their HTML:

* ``kk-cluster-view`` (``--live``/``--snapshot``) > ``kk-node`` (``--ready``/``--notready``/``--unscheduled``,
  ``data-node``) > ``kk-owner`` (``data-owner``) > ``kk-pod kk-pod--<Status>`` (``data-pod``, ``data-status``);
* ``kk-scale-slider__status`` > ``kk-dots`` (title ``2 of 3 desired replicas ready``) > ``kk-dot--ready``
  (filled), ``kk-dot--waiting`` (hollow), ``kk-dot--surplus``; ``kk-dots__legend``;
* ``kk-chaos`` > ``kk-chaos__round`` (``--waiting``/``--replaced``/``--failed``) > ``kk-chaos__deleted``,
  ``kk-chaos__replacement``;
* ``kk-traffic`` > ``kk-bars`` > ``kk-bar`` (``data-key``, ``data-count``), ``kk-bars__total``;
* ``kk-rollout`` > ``kk-revision--new``/``--old`` (``data-replicaset``) > ``kk-pod``;
* ``kk-check`` (``--pass``/``--fail``/``--unchecked``, ``data-task``) > ``kk-mark``, ``kk-hint``; a check
  result is a ``kk-check-result`` (``--pass``/``--fail``) with ``kk-part`` rows.
"""

from __future__ import annotations

from ._base import KKWidget, WatchLoop
from .chaos import ChaosButton, ChaosResult
from .check_panel import CheckPanel
from .cluster_view import ClusterView
from .rollout import RolloutView
from .scale import ScaleSlider
from .traffic import TrafficProbe

__all__ = ["ChaosButton", "ChaosResult", "CheckPanel", "ClusterView", "KKWidget", "RolloutView", "ScaleSlider",
           "TrafficProbe", "WatchLoop"]
