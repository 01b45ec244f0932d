"""TrafficProbe: send N requests to a service and draw which pod answered each (pure-HTML bars)."""

from __future__ import annotations

from collections import Counter
from html import escape

from .. import reprs
from ..connect import Cluster, current
from ..net import HttpResult, Traffic, service_url, traffic
from ._base import KKWidget


class TrafficProbe(KKWidget):
    """Send requests to a service from the notebook and count the pods that answered.

    :meth:`run` sends them synchronously and returns a :class:`~kk_helpers.net.Traffic` (the button does
    the same in a background thread, redrawing the bars as answers arrive).

    CSS hooks: ``kk-traffic`` holds ``kk-bars`` (:func:`kk_helpers.reprs.bars_html`): one ``kk-bar`` per pod
    (``data-key``, ``data-count``) and the ``kk-bars__total`` line.

    Args:
        service: service name (NodePort or LoadBalancer), or a URL (``http://...``).
        n: requests per run.
        namespace: default: the cluster's (the lab's).
        cluster: default: the current cluster.
        live: force live or static.
    """

    def __init__(self, service: str, n: int = 20, namespace: str | None = None, *, cluster: Cluster | None = None,
                 live: bool | None = None) -> None:
        super().__init__(live=live)
        import ipywidgets as w

        self.cluster = current(cluster)
        self.namespace = namespace or self.cluster.namespace
        self.service = service
        self.results: list[HttpResult] = []
        self.url = ""
        self.error = ""
        self.count = w.BoundedIntText(value=n, min=1, max=1000, description="requests", layout=w.Layout(width="12em"))
        self.button = w.Button(description="send", icon="paper-plane", button_style="primary")
        self._bars = w.HTML(value=self._bars_html())
        self.root = w.VBox([w.HBox([self.count, self.button]), self._bars])
        self.root.add_class("kk-traffic-probe")
        self.button.on_click(lambda _b: self.run_in_background(lambda: self.run(), name="kk-traffic"))

    @property
    def counts(self) -> Counter[str]:
        """Answers per pod over the last run."""
        return Traffic(self.url, self.results).counts

    def run(self, n: int | None = None) -> Traffic:
        """Send ``n`` requests (default: the widget's number), one connection each."""
        n = int(n or self.count.value)
        self.url = self.service if "://" in self.service else service_url(self.service, namespace=self.namespace,
                                                                          cluster=self.cluster)
        self.results = []
        self.error = ""

        def got(answer: HttpResult) -> None:
            self.results.append(answer)
            if self.live:
                self._bars.value = self._bars_html()

        # One run at a time: a second click while answers arrive would mix two runs' bars.
        self.button.disabled, self.button.description = True, "sending…"
        try:
            result = traffic(self.url, n, namespace=self.namespace, cluster=self.cluster, on_result=got)
        finally:
            self.button.disabled, self.button.description = False, "send"
        self._bars.value = self._bars_html()
        return result

    def show_error(self, err: BaseException) -> None:
        self.error = str(err)
        self._bars.value = self._bars_html()

    def _title(self) -> str:
        return f"{len(self.results)} requests to {self.url or self.service}"

    def _bars_html(self) -> str:
        err = f"<div class='kk-traffic__error' style='color:#c62828'>{escape(self.error)}</div>" if self.error else ""
        if not self.results:
            body = "<div style='color:#666'>no requests sent yet</div>"
        else:
            body = reprs.bars_html(dict(self.counts), title=self._title())
        return f"<div class='kk-traffic'>{err}{body}</div>"

    def render_html(self) -> str:
        note = "" if self.live else " <span style='color:#888'>(static view: call .run() or open in JupyterLab)</span>"
        return (f"<div style='font-family:sans-serif'><b>TrafficProbe</b> for {escape(self.service)}{note}</div>"
                + self._bars_html())

    def render_text(self) -> str:
        if not self.results:
            return f"TrafficProbe for {self.service}: no requests sent yet"
        return reprs.bars_text(dict(self.counts), title=self._title())
