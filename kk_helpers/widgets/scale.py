"""ScaleSlider: a slider bound to a deployment's replicas (through the scale subresource), desired vs ready."""

from __future__ import annotations

from html import escape
from typing import Any

from .. import reprs
from ..act import scale
from ..connect import Cluster, current
from ..errors import KKError
from ..helpers import get
from ._base import KKWidget, Obj


class ScaleSlider(KKWidget):
    """Move the slider, the deployment scales (``PATCH .../scale``, as ``kubectl scale`` does).

    Shows desired vs ready replicas, in numbers and as dots (:func:`kk_helpers.reprs.replica_dots`: filled
    for a ready replica, hollow for one not ready yet); live, a watch on the deployment keeps them current.
    ``slider.value = 4`` from Python scales too (in static mode as well), so a notebook or a test can drive it.

    Args:
        deployment: deployment name.
        namespace: default: the cluster's (the lab's).
        max_replicas: the slider's top (raised to the current replicas when higher).
        cluster: default: the current cluster.
        live: force live or static.
    """

    def __init__(self, deployment: str, namespace: str | None = None, *, max_replicas: int = 10,
                 cluster: Cluster | None = None, live: bool | None = None) -> None:
        super().__init__(live=live)
        import ipywidgets as w

        self.cluster = current(cluster)
        self.namespace = namespace or self.cluster.namespace
        self.deployment = deployment
        self.obj: Obj = get("deployment", deployment, self.namespace, cluster=self.cluster).raw
        self.error = ""
        self._syncing = False
        desired = self.desired
        self.slider = w.IntSlider(value=desired, min=0, max=max(max_replicas, desired), step=1,
                                  description=deployment, continuous_update=False)
        self._status = w.HTML(value=self._status_html())
        self.root = w.HBox([self.slider, self._status], layout=w.Layout(align_items="center", flex_flow="row wrap"))
        self.root.add_class("kk-scale-slider")
        self.slider.observe(self._on_value, names="value")
        self.watch(self.cluster, self.cluster.apps.list_namespaced_deployment, self.namespace,
                   field_selector=f"metadata.name={deployment}", on_sync=self._sync, on_event=self._event,
                   name=f"kk-scaleslider-{deployment}")

    # -- state -----------------------------------------------------------------------------------

    @property
    def value(self) -> int:
        """The slider's value (the replicas asked for)."""
        return int(self.slider.value)

    @value.setter
    def value(self, replicas: int) -> None:
        if replicas > self.slider.max:
            self.slider.max = replicas
        self.slider.value = replicas

    @property
    def desired(self) -> int:
        """``spec.replicas`` as last seen."""
        want = (self.obj.get("spec") or {}).get("replicas", 1)
        return 1 if want is None else int(want)

    @property
    def ready(self) -> int:
        """``status.readyReplicas`` as last seen."""
        return int((self.obj.get("status") or {}).get("readyReplicas") or 0)

    def refresh(self) -> None:
        """Read the deployment again."""
        self._set_obj(get("deployment", self.deployment, self.namespace, cluster=self.cluster).raw)

    def _set_obj(self, obj: Obj) -> None:
        with self._lock:
            if _older(obj, self.obj):
                return  # a late watch event: keep the newer copy
            self.obj = obj
        slider = getattr(self, "slider", None)
        if slider is not None and slider.value != self.desired:
            # Someone else scaled it (kubectl scale): follow, without patching back.
            self._syncing = True
            try:
                slider.max = max(slider.max, self.desired)
                slider.value = self.desired
            finally:
                self._syncing = False
        status = getattr(self, "_status", None)
        if status is not None:
            status.value = self._status_html()

    def _sync(self, items: list[Obj]) -> None:
        if items:
            self._set_obj(items[0])

    def _event(self, kind: str, obj: Obj) -> None:
        if kind != "DELETED":
            self._set_obj(obj)

    def _on_value(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            self._set_obj(scale(self.deployment, int(change["new"]), self.namespace, cluster=self.cluster).raw)
            self.error = ""
        except Exception as err:  # shown in the widget; an observer must not raise into the kernel's log
            self.error = str(err) if isinstance(err, KKError) else f"{type(err).__name__}: {err}"
        self._status.value = self._status_html()

    def show_error(self, err: BaseException) -> None:
        self.error = str(err)
        self._status.value = self._status_html()

    # -- rendering -------------------------------------------------------------------------------

    def _status_html(self) -> str:
        want, ready = self.desired, self.ready
        err = (f"<div class='kk-scale-slider__error' style='color:#c62828'>{escape(self.error)}</div>"
               if self.error else "")
        return (f"<span class='kk-scale-slider__status' style='font-family:sans-serif'>desired <b>{want}</b> · "
                f"ready <b>{ready}</b> {reprs.replica_dots(want, ready)}</span>{err}")

    def render_html(self) -> str:
        mode = "" if self.live else " <span style='color:#888'>(static view: open in JupyterLab to use the slider)</span>"
        return (f"<div class='kk-scale-slider' style='font-family:sans-serif'>deployment <b>{escape(self.deployment)}"
                f"</b>: {self._status_html()}{mode}</div>")

    def render_text(self) -> str:
        return f"deployment {self.deployment}: desired {self.desired}, ready {self.ready}" + (
            f" ({self.error})" if self.error else "")


def _older(new: Obj, old: Obj) -> bool:
    """Is ``new`` an older copy than ``old`` (numeric resourceVersions, as real servers and the sandbox use)?"""
    try:
        return int(reprs.meta(new).get("resourceVersion", "")) < int(reprs.meta(old).get("resourceVersion", ""))
    except ValueError:
        return False
