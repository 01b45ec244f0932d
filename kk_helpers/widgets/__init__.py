"""Live widgets for the labs (ipywidgets 8), each with a static HTML/text fallback.

* :class:`ClusterView` — nodes as columns, pods as chips coloured by status and grouped by owner, live.
* :class:`ScaleSlider` — a slider bound to a deployment's replicas (scale subresource); desired vs ready.
* :class:`ChaosButton` — deletes a random pod of a deployment and shows its replacement arriving.
* :class:`TrafficProbe` — N requests to a service; bars of which pod answered.
* :class:`RolloutView` — old vs new ReplicaSets and their pods during a rollout, live.
* :class:`CheckPanel` — one row per task of a lab: pass/fail, expected vs found, progressive hints.

Without a widget frontend (nbconvert/nbgrader execution, plain Python, ``KK_STATIC=1``) each renders a
static snapshot and starts no thread; see :mod:`kk_helpers.widgets._base`. Nothing writes to stderr.
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
