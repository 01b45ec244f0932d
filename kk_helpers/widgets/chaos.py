"""ChaosButton: delete a random pod of a deployment and watch its replacement arrive."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from html import escape

from .. import reprs
from ..act import delete_random_pod, pods_of, wait_for
from ..connect import Cluster, current
from ..errors import KKError
from ..helpers import get
from ._base import KKWidget

#: What :attr:`ChaosResult.deleted` says when the button could not delete a pod.
NOTHING = "(nothing)"


@dataclass
class ChaosResult:
    """One round of chaos.

    Attributes:
        deleted: the pod deleted.
        replacements: pods that appeared after it (new names).
        seconds: how long until the deployment was whole again (None if it was not awaited or timed out).
        error: what went wrong, if anything.
    """

    deleted: str
    replacements: list[str]
    seconds: float | None = None
    error: str = ""

    @property
    def replacement(self) -> str | None:
        """The first replacement pod, if any."""
        return self.replacements[0] if self.replacements else None

    def __repr__(self) -> str:
        if self.error:
            return f"deleted {self.deleted}; {self.error}"
        if not self.replacements:
            return f"deleted {self.deleted}; no replacement seen yet"
        took = f" in {self.seconds:.1f} s" if self.seconds is not None else ""
        return f"deleted {self.deleted}; replaced by {', '.join(self.replacements)}{took}"


class ChaosButton(KKWidget):
    """A button that deletes a random pod of a deployment, then shows the ReplicaSet replacing it.

    :meth:`click` does it synchronously and returns a :class:`ChaosResult` (what the button does, in a
    background thread, when clicked in JupyterLab). ``last_deleted`` keeps the victim's name, e.g. for
    ``lab.check("replaced", deleted=chaos.last_deleted)``.

    CSS hooks: ``kk-chaos`` holds one ``kk-chaos__round`` per click (``--waiting``, ``--replaced``,
    ``--failed``) with ``kk-chaos__deleted`` and ``kk-chaos__replacement`` chips (``data-pod``).

    Args:
        deployment: deployment name.
        namespace: default: the cluster's (the lab's).
        timeout: seconds to wait for the replacement.
        seed: make the choice of victim repeatable.
        cluster: default: the current cluster.
        live: force live or static.
    """

    def __init__(self, deployment: str, namespace: str | None = None, *, timeout: float = 60.0,
                 seed: int | None = None, cluster: Cluster | None = None, live: bool | None = None) -> None:
        super().__init__(live=live)
        import ipywidgets as w

        self.cluster = current(cluster)
        self.namespace = namespace or self.cluster.namespace
        self.deployment = deployment
        self.timeout = timeout
        self.rng = random.Random(seed)
        get("deployment", deployment, self.namespace, cluster=self.cluster)  # fail early, clearly
        self.history: list[ChaosResult] = []
        self.last_deleted: str | None = None
        self.button = w.Button(description=f"delete a random pod of {deployment}", icon="bomb",
                               button_style="danger", layout=w.Layout(width="auto"))
        self._log = w.HTML(value=self._log_html())
        self.root = w.VBox([self.button, self._log])
        self.root.add_class("kk-chaos-button")
        self.button.on_click(lambda _b: self.run_in_background(self.click, name="kk-chaos"))

    def click(self, *, wait: bool = True) -> ChaosResult:
        """Delete one random pod; with ``wait``, wait until replacements make the deployment whole again."""
        before = {reprs.name_of(p) for p in pods_of(self.deployment, self.namespace, include_terminating=True,
                                                    cluster=self.cluster)}
        victim = delete_random_pod(self.deployment, self.namespace, rng=self.rng, cluster=self.cluster)
        self.last_deleted = victim
        result = ChaosResult(victim, [])
        self.history.append(result)
        self._update()
        if not wait:
            return result
        start = time.monotonic()

        def whole() -> tuple[bool, str]:
            pods = pods_of(self.deployment, self.namespace, cluster=self.cluster)
            result.replacements = sorted(reprs.name_of(p) for p in pods if reprs.name_of(p) not in before)
            want = (get("deployment", self.deployment, self.namespace, cluster=self.cluster).spec.get("replicas")
                    or 0)
            ready = [p for p in pods if reprs.pod_is_ready(p)]
            self._update()
            return bool(result.replacements) and len(ready) >= want, f"{len(ready)}/{want} ready"

        try:
            wait_for(whole, f"a replacement for {victim}", timeout=self.timeout, interval=0.2, live=False)
            result.seconds = time.monotonic() - start
        except KKError as err:
            result.error = str(err)
        self._update()
        return result

    def show_error(self, err: BaseException) -> None:
        self.history.append(ChaosResult(NOTHING, [], error=str(err)))
        self._update()

    def _update(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None:
            log.value = self._log_html()

    def _log_html(self) -> str:
        rows = []
        for r in self.history[-8:]:
            deleted = reprs.chip(r.deleted, "#c62828", title=f"{r.deleted} (deleted)", cls="kk-chaos__deleted",
                                 data={"pod": r.deleted})
            if r.error:
                what = f"deleted {deleted} " if r.deleted != NOTHING else ""
                rows.append(f"<div class='kk-chaos__round kk-chaos__round--failed'>{what}{reprs.mark_html(False)} "
                            f"<span style='color:#c62828'>{escape(r.error)}</span></div>")
                continue
            new = (" ".join(reprs.chip(n, "#2e7d32", title=f"{n} (replacement)", cls="kk-chaos__replacement",
                                       data={"pod": n}) for n in r.replacements)
                   or "<i class='kk-chaos__waiting'>waiting for a replacement…</i>")
            took = f" <span style='color:#666'>({r.seconds:.1f} s)</span>" if r.seconds is not None else ""
            state = "replaced" if r.seconds is not None else "waiting"
            rows.append(f"<div class='kk-chaos__round kk-chaos__round--{state}'>deleted {deleted} "
                        f"<span aria-hidden='true'>→</span> replaced by {new}{took}</div>")
        return ("<div class='kk-chaos' style='font-family:sans-serif'>"
                + ("".join(rows) or "<span style='color:#666'>no pod deleted yet</span>") + "</div>")

    def render_html(self) -> str:
        head = (f"<div style='font-family:sans-serif'><b>ChaosButton</b> for deployment "
                f"<b>{escape(self.deployment)}</b>")
        if not self.live:
            head += " <span style='color:#888'>(static view: open in JupyterLab to click)</span>"
        return head + "</div>" + self._log_html()

    def render_text(self) -> str:
        lines = [f"ChaosButton for deployment {self.deployment}"]
        lines += [f"  {r!r}" for r in self.history[-8:]] or ["  no pod deleted yet"]
        return "\n".join(lines)
