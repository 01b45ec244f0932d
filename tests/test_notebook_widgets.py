"""The widgets, driven from Python against the session sandbox: live (watch threads) and static fallbacks.

Without a kernel, ipywidgets still build their models, so a test can set a slider's value or click a
button. ``live=True`` forces the live path (watch threads); the default here is static, as under
nbconvert/nbgrader. Threads must stop when a widget is closed, and nothing may reach stderr. The HTML carries
CSS class hooks (``kk-cluster-view``, ``kk-node``, ``kk-pod``...) and only glyphs ordinary fonts have.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator

import pytest

import kk_helpers as kk
from kk_helpers import act
from kk_helpers.lab import Lab
from kk_helpers.widgets import _base
from kk_helpers.widgets.cluster_view import owner_name

from test_notebook_reprs import assert_plain_glyphs, elements
from test_notebook_support import (  # noqa: F401
    cluster, deployment, drop_namespace, expose, kk_env, run_pod, sandbox, unique,
)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def kk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("kk-") and t.name != "kk-sandbox"]


@pytest.fixture(autouse=True)
def no_stderr_and_no_leftover_threads(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Every widget test: nothing on stderr, and no kk watch thread left running afterwards."""
    yield
    _base._stop_all()
    assert capfd.readouterr().err == ""
    for t in kk_threads():
        t.join(3)
    assert [t.name for t in kk_threads() if t.name.startswith(("kk-clusterview", "kk-scaleslider", "kk-rollout"))] == []


def test_owner_names() -> None:
    """Are pods grouped under their Deployment (through the ReplicaSet's hash), Job, or no owner?"""
    pod = {"metadata": {"name": "myd1-5b5-x", "labels": {"pod-template-hash": "5b5"},
                        "ownerReferences": [{"kind": "ReplicaSet", "name": "myd1-5b5", "controller": True}]}}
    assert owner_name(pod) == "deployment/myd1"
    job = {"metadata": {"ownerReferences": [{"kind": "Job", "name": "pi", "controller": True}]}}
    assert owner_name(job) == "job/pi" and owner_name({"metadata": {}}) == "(no owner)"


def test_scale_slider_static_drives_deployment(cluster: kk.Cluster) -> None:
    """Static (no frontend): does setting the slider's value scale the deployment, with no thread started?"""
    deployment(cluster, "myd1")
    before = len(kk_threads())
    s = kk.ScaleSlider("myd1")
    assert not s.live and s.value == 1 and s.desired == 1
    s.value = 3
    assert kk.get("deploy/myd1").spec["replicas"] == 3 and s.desired == 3
    kk.wait_for("deployment/myd1 ready", timeout=30)
    s.refresh()
    assert s.ready == 3 and repr(s) == "deployment myd1: desired 3, ready 3"
    bundle = s._repr_mimebundle_()
    assert WIDGET_VIEW not in bundle and "static view" in bundle["text/html"]
    html = bundle["text/html"]
    assert elements(html, "kk-scale-slider")
    assert elements(html, "kk-dots")[0]["title"] == "3 of 3 desired replicas ready"
    assert_plain_glyphs(html, "ScaleSlider")
    s.value = 12  # beyond the slider's max: the max grows
    assert s.slider.max == 12 and kk.get("deploy/myd1").spec["replicas"] == 12
    assert len(kk_threads()) == before
    s.close()


def test_scale_slider_dots_show_desired_vs_ready(cluster: kk.Cluster) -> None:
    """Are desired vs ready replicas drawn as dots one can see (filled when ready, hollow while not), not as
    blank chips: one dot per desired replica, as many filled as are ready, in the live status too?"""
    deployment(cluster, "myd1")
    s = kk.ScaleSlider("myd1", live=True)
    assert "kk-scale-slider" in s.root._dom_classes
    s.value = 3
    status = s._status.value  # right after the scale: 3 desired, at most 1 ready
    dots = elements(status.split("kk-dots__legend")[0], "kk-dot")
    assert len(dots) == 3 and {d["class"] for d in dots} <= {"kk-dot kk-dot--ready", "kk-dot kk-dot--waiting"}
    assert all("width:0.8em" in d["style"] and "height:0.8em" in d["style"] for d in dots)
    assert " </span>" not in status, "no blank chips"
    kk.wait_for(lambda: s.ready == 3, "the slider to see 3 ready", timeout=30)
    dots = elements(s._status.value.split("kk-dots__legend")[0], "kk-dot")
    assert [d["class"] for d in dots] == ["kk-dot kk-dot--ready"] * 3
    s.close()


def test_scale_slider_live_follows_kubectl(cluster: kk.Cluster) -> None:
    """Live: does the watch keep ready counts current, and the slider follow a scale made elsewhere?"""
    deployment(cluster, "myd1")
    s = kk.ScaleSlider("myd1", live=True)
    assert WIDGET_VIEW in s._repr_mimebundle_()
    kk.wait_for(lambda: s.threads_alive == 1, timeout=5)
    kk.scale("myd1", 2)
    kk.wait_for(lambda: s.value == 2 and s.ready == 2, "the slider to follow", timeout=30)
    assert "ready <b>2</b>" in s._status.value
    s.close()
    kk.wait_for(lambda: s.threads_alive == 0, timeout=5)


def test_scale_slider_error_stays_in_widget(cluster: kk.Cluster) -> None:
    """When scaling fails (deployment deleted meanwhile), is the error shown in the widget, not raised?"""
    deployment(cluster, "myd1", wait=False)
    s = kk.ScaleSlider("myd1")
    kk.delete("deploy/myd1", wait=True)
    s.value = 2
    assert "not found" in s.error and "not found" in s._status.value


def test_chaos_button_click_replaces_a_pod(cluster: kk.Cluster) -> None:
    """Does click() delete a random pod and report its replacement arriving?"""
    deployment(cluster, "myd1", replicas=3)
    chaos = kk.ChaosButton("myd1", seed=3)
    before = {p["metadata"]["name"] for p in act.pods_of("myd1")}
    result = chaos.click()
    assert result.deleted in before and chaos.last_deleted == result.deleted
    assert result.replacement and result.replacement not in before and result.seconds is not None
    after = {p["metadata"]["name"] for p in act.pods_of("myd1")}
    assert result.deleted not in after and len(after) == 3
    assert f"deleted {result.deleted}; replaced by {result.replacement}" in repr(chaos)
    html = chaos._repr_mimebundle_()["text/html"]
    assert_plain_glyphs(html, "ChaosButton")
    rounds = elements(html, "kk-chaos__round")
    assert [r["class"] for r in rounds] == ["kk-chaos__round kk-chaos__round--replaced"]
    assert elements(html, "kk-chaos__deleted")[0]["data-pod"] == result.deleted
    assert [e["data-pod"] for e in elements(html, "kk-chaos__replacement")] == result.replacements


def test_chaos_button_live_click_runs_in_background(cluster: kk.Cluster) -> None:
    """Live: does pressing the button run the chaos in a thread and update the log?"""
    deployment(cluster, "myd1", replicas=2)
    chaos = kk.ChaosButton("myd1", live=True)
    chaos.button.click()
    kk.wait_for(lambda: chaos.history and chaos.history[-1].seconds is not None, timeout=30)
    assert chaos.history[-1].replacement in chaos._log.value


def test_chaos_button_without_pods(cluster: kk.Cluster) -> None:
    """With no pod to delete, does the live button show the reason instead of raising?"""
    deployment(cluster, "myd1", replicas=0)
    chaos = kk.ChaosButton("myd1", live=True)
    chaos.button.click()
    kk.wait_for(lambda: chaos.history, timeout=10)
    assert "no running pod to delete" in chaos.history[-1].error and "no running pod" in chaos._log.value
    assert elements(chaos._log.value, "kk-chaos__round--failed") and elements(chaos._log.value, "kk-mark--fail")


def test_traffic_probe_counts_per_pod(cluster: kk.Cluster) -> None:
    """Does the probe send N requests and count which pod answered each?"""
    deployment(cluster, "myd1", replicas=3)
    expose(cluster, "myd1")
    url = kk.service_url("myd1")
    kk.wait_for(lambda: kk.http_get(url).ok, timeout=15)
    probe = kk.TrafficProbe("myd1", n=12)
    result = probe.run()
    assert sum(probe.counts.values()) == 12 and len(result.pods) == 3 and result.failures == 0
    assert set(probe.counts) == {p.name for p in kk.pods(selector="app=myd1")}
    assert "12 responses, 3 distinct" in repr(probe)
    html = probe._repr_mimebundle_()["text/html"]
    assert "width:" in html and elements(html, "kk-traffic")
    bars = elements(html, "kk-bar")
    assert {b["data-key"]: int(b["data-count"]) for b in bars} == dict(probe.counts)


def test_traffic_probe_live_button(cluster: kk.Cluster) -> None:
    """Live: does the send button fill the bars from a background thread?"""
    deployment(cluster, "myd1", replicas=2)
    expose(cluster, "myd1")
    url = kk.service_url("myd1")
    kk.wait_for(lambda: kk.http_get(url).ok, timeout=15)
    probe = kk.TrafficProbe("myd1", n=6, live=True)
    during: list[tuple[bool, str]] = []  # the button's state each time an answer redraws the bars
    draw = probe._bars_html
    probe._bars_html = lambda: (during.append((probe.button.disabled, probe.button.description)), draw())[1]
    probe.button.click()
    kk.wait_for(lambda: len(probe.results) == 6 and "6 responses" in probe._bars.value, timeout=30)
    # One run at a time: disabled while answers arrive, enabled again afterwards.
    kk.wait_for(lambda: not probe.button.disabled, timeout=10)
    assert during[0] == (True, "sending…") and probe.button.description == "send"


def test_traffic_probe_clusterip_error_in_widget(cluster: kk.Cluster) -> None:
    """Live: is a service the notebook cannot reach explained inside the widget?"""
    deployment(cluster, "myd1", wait=False)
    expose(cluster, "myd1", type_="ClusterIP")
    probe = kk.TrafficProbe("myd1", live=True)
    probe.button.click()
    kk.wait_for(lambda: probe.error, timeout=10)
    assert "ClusterIP" in probe._bars.value


def test_cluster_view_static_snapshot(cluster: kk.Cluster) -> None:
    """Static: does ClusterView show nodes as columns and pods grouped by owner, without threads?"""
    deployment(cluster, "myd1", replicas=2)
    run_pod(cluster, "web")
    kk.wait_for("pod/web running", timeout=30)
    view = kk.ClusterView()
    text = repr(view)
    assert text.splitlines()[0] == f"namespace {cluster.namespace} on kk-sandbox"
    assert "kk-control-plane [Ready]" in text and "deployment/myd1: myd1-" in text and "(no owner): web" in text
    counts = view.counts()
    assert sum(counts.values()) == 3 and counts["kk-control-plane"] == 0
    html = view._repr_mimebundle_()["text/html"]
    assert "snapshot" in html and html.count("border-radius:6px") == 3
    assert view.threads_alive == 0
    assert_plain_glyphs(html, "ClusterView")
    assert [e["class"] for e in elements(html, "kk-cluster-view")] == ["kk-cluster-view kk-cluster-view--snapshot"]
    nodes = elements(html, "kk-node")
    assert len(nodes) == 3 and all(n["class"] == "kk-node kk-node--ready" for n in nodes)
    assert {n["data-node"] for n in nodes} == set(view.nodes)
    assert {o["data-owner"] for o in elements(html, "kk-owner")} == {"deployment/myd1", "(no owner)"}
    chips = elements(html, "kk-pod")
    assert sorted(c["data-pod"] for c in chips) == sorted(view.pods)
    assert all(c["class"] == "kk-chip kk-pod kk-pod--Running" and c["data-status"] == "Running" for c in chips)


def test_cluster_view_live_updates_and_stops(cluster: kk.Cluster) -> None:
    """Live: do pod and node changes arrive through the watches, and do the threads stop on close?"""
    view = kk.ClusterView(live=True)
    assert WIDGET_VIEW in view._repr_mimebundle_()
    kk.wait_for(lambda: view.threads_alive == 2, timeout=5)
    run_pod(cluster, "web")
    kk.wait_for(lambda: "web" in view.pods and kk.reprs.pod_status(view.pods["web"]) == "Running",
                "the pod to show up", timeout=30)
    assert "web" in view.view.value
    assert [c["data-pod"] for c in elements(view.view.value, "kk-pod")] == ["web"]
    assert elements(view.view.value, "kk-cluster-view--live") and "kk-cluster-view-widget" in view.root._dom_classes
    kk.delete("pod/web")
    kk.wait_for(lambda: "web" not in view.pods, "the pod to go", timeout=30)
    view.close()
    kk.wait_for(lambda: view.threads_alive == 0, "the watch threads to stop", timeout=5)


def test_rollout_view(cluster: kk.Cluster) -> None:
    """Does RolloutView show the old and the new ReplicaSet with their pods, live during a rollout?"""
    deployment(cluster, "myd1", image="httpd:2.4", replicas=2)
    view = kk.RolloutView("myd1", live=True)
    kk.wait_for(lambda: view.threads_alive == 3, timeout=5)
    assert [(r.revision, r.new, r.images) for r in view.rows()] == [(1, True, ["httpd:2.4"])]
    kk.ensure_deployment("myd1", "nginx:1.29.4", 2)

    def two_revisions() -> bool:
        rows = view.rows()
        return [(r.revision, r.new) for r in rows] == [(2, True), (1, False)] and rows[0].ready == 2 \
            and rows[1].desired == 0

    kk.wait_for(two_revisions, "the rollout to show", timeout=30)
    text = repr(view)
    assert "new revision 2 nginx:1.29.4 2/2 ready" in text and "old revision 1 httpd:2.4 0/0 ready" in text
    html = view.render_html()
    assert [e["class"] for e in elements(html, "kk-revision")] == ["kk-revision kk-revision--new",
                                                                   "kk-revision kk-revision--old"]
    assert_plain_glyphs(html, "RolloutView")
    view.close()
    # The deployment's own revision annotation lags behind its new ReplicaSet's during a rollout (the controller
    # sets the ReplicaSet's first; another watch): meanwhile the newest revision is still the new one.
    lagging = copy.deepcopy(view.dep)
    assert lagging is not None
    lagging["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1"
    view.deployments = {"myd1": lagging}
    assert [(r.revision, r.new) for r in view.rows()] == [(2, True), (1, False)]
    static = kk.RolloutView("myd1")
    assert static.threads_alive == 0 and "old</b> revision 1" in static._repr_mimebundle_()["text/html"]
    assert "not found" in repr(kk.RolloutView("nope"))


def test_rollout_view_never_sends_an_older_state_last(cluster: kk.Cluster) -> None:
    """Of two watch threads redrawing a RolloutView at once, is the newer rendering always the one left shown?

    The first redraw renders state 0 and is slow to send it; a second one renders state 1 meanwhile. Sending
    outside the lock, state 0 would overwrite state 1 (and stay in the page, the view's last change).
    """
    deployment(cluster, "myd1", image="httpd:2.4", replicas=1)
    view = kk.RolloutView("myd1", live=True)
    for loop in view._watches:
        loop.stop()
    sending, release = threading.Event(), threading.Event()
    renderings = iter(range(100))
    view.render_html = lambda: f"state {next(renderings)}"  # type: ignore[method-assign]

    class SlowHTML:
        """An HTML widget whose sending of state 0 takes until ``release``."""
        value = ""

        def __setattr__(self, name: str, value: str) -> None:
            if value == "state 0":
                sending.set()
                release.wait(5)
            object.__setattr__(self, name, value)

    view.view = SlowHTML()
    first = threading.Thread(target=view.redraw)
    first.start()
    assert sending.wait(5)
    second = threading.Thread(target=view.redraw)
    second.start()
    second.join(0.5)  # done by now when the lock does not cover the sending
    release.set()
    first.join(5)
    second.join(5)
    assert view.view.value == "state 1"
    view.close()


@pytest.fixture
def lab05(kk_env) -> Iterator[Lab]:  # type: ignore[no-untyped-def]
    session = kk.lab("05-nodeport", prefix=unique(), quiet=True)
    yield session
    drop_namespace(session.cluster, session.namespace)


def test_check_panel_static_and_hints(lab05: Lab) -> None:
    """Does CheckPanel show one row per task, reveal hints one by one, and re-check on refresh?"""
    panel = kk.CheckPanel(lab05)
    assert list(panel.results) == ["service", "reachable", "traffic"]
    assert not any(r.passed for r in panel.results.values())
    text = repr(panel)
    assert text.splitlines()[1].startswith("  ✗ service: expected a service named myd1")
    assert "0/3 tasks passed" in text
    html = panel._repr_mimebundle_()["text/html"]
    assert len(elements(html, "kk-hints")) == 3 and html.count("<details") == 3
    assert_plain_glyphs(html, "CheckPanel")
    rows = elements(html, "kk-check")
    assert [(r["class"], r["data-task"]) for r in rows] == [("kk-check kk-check--fail", t) for t in panel.tasks]
    assert len(elements(html, "kk-mark--fail")) == 3 and "✗" in html
    assert "kk-check-panel" in panel.root._dom_classes
    assert elements(panel._rows["service"].value, "kk-hint") == []  # hints wait to be asked for
    first = panel.hint("service")
    assert first == "kubectl expose deployment myd1 --type=NodePort --port=80"
    row = panel._rows["service"].value
    assert len(elements(row, "kk-hint")) == 1 and "Hint 1:</b> kubectl expose" in row
    assert_plain_glyphs(row, "CheckPanel row")
    hints = [panel.hint("service") for _ in range(5)]
    assert hints[-1] == "" and all(h != first for h in hints)
    lab05.cluster.call(lab05.cluster.core.create_namespaced_service, lab05.namespace, {
        "metadata": {"name": "myd1"},
        "spec": {"type": "NodePort", "selector": {"app": "myd1"}, "ports": [{"port": 80}]}})
    panel.timeout = 15
    panel.refresh("service")
    assert panel.results["service"].passed and "1/3 tasks passed" in repr(panel)
    assert elements(panel._rows["service"].value, "kk-check--pass") and "✓" in panel._rows["service"].value
    with pytest.raises(kk.KKError, match="has no task 'nope'"):
        kk.CheckPanel(lab05, ["nope"])


def test_stop_all_at_exit(cluster: kk.Cluster) -> None:
    """Does the interpreter-exit hook stop every live widget's threads?"""
    views = [kk.ClusterView(live=True), kk.ClusterView(live=True)]
    kk.wait_for(lambda: all(v.threads_alive == 2 for v in views), "the watches to start", timeout=5)
    _base._stop_all()
    kk.wait_for(lambda: all(v.threads_alive == 0 for v in views), "the watches to stop", timeout=5)


def test_kk_static_forces_snapshots(cluster: kk.Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """With KK_STATIC=1 (and 0), is the choice forced regardless of the environment?"""
    monkeypatch.setenv("KK_STATIC", "1")
    assert kk.ClusterView().live is False
    monkeypatch.setenv("KK_STATIC", "0")
    view = kk.ClusterView()
    assert view.live is True
    view.close()
