"""Pure rendering: kubectl-style ages, statuses and tables, the ownership tree, bars, evidence, frontend detection,
replica dots, pass/fail marks and hints, the wait's progress indicator, and the CSS class hooks.

No cluster: every function here takes wire-format dicts. :func:`elements` and :func:`assert_plain_glyphs` are
also used by tests/test_notebook_widgets.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kk_helpers import reprs

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
PKG = Path(__file__).resolve().parent.parent / "kk_helpers"

#: Characters above U+2000 that kk's HTML and text may use: every one is in DejaVu Sans and Liberation (Debian's
#: default fonts) and in the fonts of Windows and macOS. Colour emoji (✅ ❌ 💡 ⏳ 💥 🟢) are not: in a browser
#: without an emoji font (Debian's chromium) they are empty boxes.
PLAIN_GLYPHS = set("—–…→←✓✗●○─└├│█•·")


def assert_plain_glyphs(text: str, where: str = "") -> None:
    """Fail if ``text`` holds a character outside :data:`PLAIN_GLYPHS` (above U+2000) or a variation selector."""
    odd = sorted({c for c in text if (ord(c) >= 0x2000 and c not in PLAIN_GLYPHS) or 0xFE00 <= ord(c) <= 0xFE0F})
    assert not odd, f"{where or 'output'} uses glyphs ordinary fonts lack: {[f'U+{ord(c):04X} {c}' for c in odd]}"


class _Elements(HTMLParser):
    def __init__(self, cls: str) -> None:
        super().__init__()
        self.cls = cls
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if self.cls in values.get("class", "").split():
            self.found.append({"tag": tag, **values})


def elements(html: str, cls: str) -> list[dict[str, str]]:
    """The attributes (plus ``tag``) of every element of ``html`` that has the CSS class ``cls``."""
    parser = _Elements(cls)
    parser.feed(html)
    return parser.found


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, *, phase: str = "Running", ready: bool = True, node: str = "kk-worker", owner: str | None = None,
        uid: str = "", waiting: str | None = None, deleting: bool = False, hash_: str = "") -> dict:
    md: dict = {"name": name, "uid": uid or f"uid-{name}", "creationTimestamp": ts(30), "labels": {}}
    if owner:
        md["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": f"uid-{owner}", "controller": True}]
    if hash_:
        md["labels"]["pod-template-hash"] = hash_
    if deleting:
        md["deletionTimestamp"] = ts(0)
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": ts(20)}}
    return {"kind": "Pod", "metadata": md, "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": phase, "podIP": "10.244.1.5",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "c", "ready": ready, "restartCount": 0, "state": state}]}}


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (59, "59s"), (119, "119s"), (125, "2m5s"), (180, "3m"), (599, "9m59s"), (600, "10m"),
    (179 * 60, "179m"), (3 * 3600, "3h"), (5 * 3600 + 600, "5h10m"), (20 * 3600, "20h"), (50 * 3600, "2d2h"),
    (40 * 86400, "40d"), (800 * 86400, "2y70d"), (9 * 365 * 86400, "9y"),
])
def test_format_age(seconds: int, text: str) -> None:
    """Does the age follow kubectl's HumanDuration thresholds?"""
    assert reprs.format_age(seconds) == text


def test_age_unknown_without_timestamp() -> None:
    """Is an object without creationTimestamp shown as <unknown>?"""
    assert reprs.age({"metadata": {}}) == "<unknown>"
    assert reprs.age({"metadata": {"creationTimestamp": ts(30)}}, NOW) == "30s"


def test_pod_status_follows_kubectl() -> None:
    """Do waiting reasons, Terminating and Completed-while-running show as kubectl shows them?"""
    assert reprs.pod_status(pod("a")) == "Running"
    assert reprs.pod_status(pod("a", phase="Pending", ready=False, waiting="ContainerCreating")) == "ContainerCreating"
    assert reprs.pod_status(pod("a", waiting="ImagePullBackOff", ready=False)) == "ImagePullBackOff"
    assert reprs.pod_status(pod("a", deleting=True)) == "Terminating"
    done = pod("a", phase="Succeeded", ready=False)
    done["status"]["containerStatuses"][0]["state"] = {"terminated": {"reason": "Completed", "exitCode": 0}}
    assert reprs.pod_status(done) == "Completed"
    crashed = pod("a", ready=False)
    crashed["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 2}}
    assert reprs.pod_status(crashed) == "ExitCode:2"


def test_pod_ready_and_is_ready() -> None:
    """Is READY r/t, and is a terminating pod never counted as ready?"""
    assert reprs.pod_ready(pod("a")) == "1/1"
    assert reprs.pod_ready(pod("a", ready=False)) == "0/1"
    assert reprs.pod_is_ready(pod("a"))
    assert not reprs.pod_is_ready(pod("a", deleting=True))


def test_text_table_has_kubectl_columns() -> None:
    """Does the pod table print kubectl's -o wide columns, aligned?"""
    text = reprs.text_table("Pod", [pod("web-1"), pod("web-22", node="kk-worker2")])
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert lines[1].index("1/1") == lines[0].index("READY")
    assert "kk-worker2" in lines[2]


def test_empty_table_says_so() -> None:
    """Is an empty list a sentence, not an empty table?"""
    assert reprs.text_table("Pod", []) == "No Pods found."
    assert "No Pods found." in reprs.html_table("Pod", [])


def test_html_table_escapes_and_colours_status() -> None:
    """Are names escaped and statuses shown as coloured chips?"""
    html = reprs.html_table("Pod", [pod("<b>x</b>", waiting="CrashLoopBackOff", ready=False)])
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert reprs.STATUS_COLORS["CrashLoopBackOff"] in html


def test_service_and_node_columns() -> None:
    """Do PORT(S), SELECTOR, node STATUS/ROLES render like kubectl?"""
    svc = {"kind": "Service", "metadata": {"name": "myd1", "creationTimestamp": ts(5)},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.7", "selector": {"app": "myd1"},
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}
    assert reprs.service_ports(svc) == "80:30080/TCP"
    headers, rows = reprs.rows("Service", [svc])
    assert dict(zip(headers, rows[0]))["SELECTOR"] == "app=myd1"
    node = {"kind": "Node", "metadata": {"name": "cp", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                       "addresses": [{"type": "InternalIP", "address": "127.0.10.2"}]}}
    assert reprs.node_status(node) == "NotReady,SchedulingDisabled"
    assert reprs.node_roles(node) == "control-plane"
    assert reprs.node_address(node) == "127.0.10.2"


def test_ownership_tree_links_by_uid() -> None:
    """Does the tree put pods under their ReplicaSet under their Deployment, with strays as roots?"""
    dep = {"kind": "Deployment", "metadata": {"name": "myd1", "uid": "uid-d"},
           "spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "nginx"}]}}},
           "status": {"readyReplicas": 2}}
    rs = {"kind": "ReplicaSet", "metadata": {"name": "myd1-abc", "uid": "uid-myd1-abc",
                                             "annotations": {"deployment.kubernetes.io/revision": "1"},
                                             "ownerReferences": [{"kind": "Deployment", "name": "myd1",
                                                                  "uid": "uid-d", "controller": True}]},
          "spec": {"replicas": 2}, "status": {"readyReplicas": 2}}
    pods = [pod("myd1-abc-1", owner="myd1-abc"), pod("myd1-abc-2", owner="myd1-abc"), pod("lonely")]
    roots = reprs.ownership_tree([dep], [rs], pods)
    assert [r.ref for r in roots] == ["deployment/myd1", "pod/lonely"]
    assert [n.ref for n in roots[0].walk()] == ["deployment/myd1", "replicaset/myd1-abc", "pod/myd1-abc-1",
                                                "pod/myd1-abc-2"]
    text = reprs.tree_text(roots)
    assert "└── replicaset/myd1-abc" in text and "    ├── pod/myd1-abc-1" in text
    html = reprs.tree_html(roots)
    assert html.count("<ul") == 3 and "myd1-abc-2" in html


def test_tree_of_nothing() -> None:
    """Does an empty namespace draw a sentence?"""
    assert "nothing here" in reprs.tree_text([])


def test_bars() -> None:
    """Are bars proportional, sorted by count, and totalled?"""
    text = reprs.bars_text({"a": 2, "b": 4}, title="t")
    lines = text.splitlines()
    assert lines[1].startswith("b") and lines[1].count("█") == 30 and lines[2].count("█") == 15
    assert lines[-1] == "6 responses, 2 distinct"
    assert "width:300px" in reprs.bars_html({"a": 2, "b": 4})


def test_evidence_is_yaml_in_details() -> None:
    """Is evidence a collapsed block of YAML without managedFields?"""
    obj = {"kind": "Deployment", "metadata": {"name": "myd1", "managedFields": [{"manager": "x"}]}}
    html = reprs.evidence_html([obj])
    assert html.startswith("<details") and "deployment/myd1" in html
    assert "managedFields" not in html and "name: myd1" in html
    assert reprs.evidence_html([]) == ""


def test_live_frontend_env_and_plain_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is plain Python static, and does KK_STATIC force either way?"""
    monkeypatch.delenv("KK_STATIC", raising=False)
    assert reprs.live_frontend() is False
    monkeypatch.setenv("KK_STATIC", "0")
    assert reprs.live_frontend() is True
    monkeypatch.setenv("KK_STATIC", "1")
    assert reprs.live_frontend() is False


def test_live_frontend_in_terminal_ipython(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is an IPython shell without a kernel (no frontend to draw widgets) static?"""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.delenv("KK_STATIC", raising=False)
    shell = InteractiveShell.instance()
    try:
        assert reprs.in_ipython()
        assert reprs.live_frontend() is False
    finally:
        InteractiveShell.clear_instance()


# -- replica dots, marks, hints, class hooks -----------------------------------------------------------------


def style_of(el: dict[str, str]) -> dict[str, str]:
    return dict(tuple(part.split(":", 1)) for part in el.get("style", "").split(";") if ":" in part)  # type: ignore


def test_replica_dots_show_desired_vs_ready() -> None:
    """Are 3 desired with 1 ready drawn as 1 filled and 2 hollow dots of a visible size, with a title and a legend
    (not blank chips: the dots must be visible without any text inside them, and readable without colour)?"""
    html = reprs.replica_dots(3, 1)
    box = elements(html, "kk-dots")
    assert len(box) == 1 and box[0]["title"] == "1 of 3 desired replicas ready" == box[0]["aria-label"]
    dots = elements(html.split("kk-dots__legend")[0], "kk-dot")
    assert [d["class"] for d in dots] == ["kk-dot kk-dot--ready"] + ["kk-dot kk-dot--waiting"] * 2
    for d in dots:
        st = style_of(d)
        assert st["display"] == "inline-block" and st["width"] == st["height"] == "0.8em"
        assert st["border"].startswith("2px solid")
    ready, waiting = style_of(dots[0]), style_of(dots[1])
    assert ready["background"] != "transparent" and waiting["background"] == "transparent"  # filled vs hollow
    assert "ready" in html.split("kk-dots__legend")[1] and "not ready yet" in html


def test_replica_dots_scaling_down_and_many() -> None:
    """When more pods are ready than desired, are the extra ones marked surplus; are very many dots capped?"""
    html = reprs.replica_dots(1, 3, legend=False)
    assert [d["class"] for d in elements(html, "kk-dot")] == ["kk-dot kk-dot--ready"] + ["kk-dot kk-dot--surplus"] * 2
    assert "2 more still running" in html and "kk-dots__legend" not in html
    many = reprs.replica_dots(100, 100, legend=False)
    assert len(elements(many, "kk-dot")) == reprs.MAX_DOTS and f"+{100 - reprs.MAX_DOTS}" in many
    assert elements(reprs.replica_dots(0, 0), "kk-dot") == []


def test_marks_and_hints_use_plain_glyphs() -> None:
    """Are pass/fail marks ✓ ✗ ? with a class and a label, and a hint led by a "Hint:" label, not an emoji?"""
    assert [reprs.MARKS[k][0] for k in (True, False, None)] == ["✓", "✗", "?"]
    assert elements(reprs.mark_html(True), "kk-mark--pass")[0]["aria-label"] == "passed"
    assert elements(reprs.mark_html(False), "kk-mark--fail")[0]["title"] == "failed"
    assert elements(reprs.mark_html(None), "kk-mark--unchecked")
    assert ">Hint 2:</b> try &lt;this&gt;" in reprs.hint_html("try <this>", 2)
    assert ">Hint:</b>" in reprs.hint_html("x")
    for html in (reprs.mark_html(True), reprs.mark_html(False), reprs.hint_html("x")):
        assert_plain_glyphs(html)


def test_notebook_library_sources_use_plain_glyphs() -> None:
    """Does no module that renders notebook output (reprs, helpers, lab, widgets, check rendering) hold a colour
    emoji, which Debian's chromium shows as an empty box?"""
    files = [PKG / "reprs.py", PKG / "helpers.py", PKG / "lab.py", PKG / "act.py", PKG / "connect.py", PKG / "net.py",
             *sorted((PKG / "checks").glob("*.py")),
             *sorted((PKG / "widgets").glob("*.py"))]
    for path in files:
        assert_plain_glyphs(path.read_text(), str(path.relative_to(PKG)))


def test_pod_chip_class_hooks() -> None:
    """Does a pod chip carry kk-pod, kk-pod--<Status> (made CSS-safe) and data-pod/data-status, with its title?"""
    chip = elements(reprs.pod_chip(pod("web", waiting="CrashLoopBackOff", ready=False)), "kk-pod")[0]
    assert chip["class"] == "kk-chip kk-pod kk-pod--CrashLoopBackOff"
    assert (chip["data-pod"], chip["data-status"]) == ("web", "CrashLoopBackOff")
    assert chip["title"] == "web · CrashLoopBackOff · 10.244.1.5"
    assert reprs.css_token("ExitCode:1") == "ExitCode-1" and reprs.css_token("Init:0/1") == "Init-0-1"
    assert reprs.css_token("") == "none"


def test_tables_tree_and_bars_class_hooks() -> None:
    """Do tables, the ownership tree and bars carry class hooks instructors' CSS and browser tests can target?"""
    table = reprs.html_table("Pod", [pod("web")])
    assert elements(table, "kk-table--Pod") and elements(table, "kk-status--Running")
    roots = reprs.ownership_tree([], [], [pod("lonely")])
    tree = reprs.tree_html(roots)
    assert elements(tree, "kk-tree") and elements(tree, "kk-tree__node--Pod")
    assert elements(tree, "kk-pod")[0]["data-pod"] == "lonely"
    bars = reprs.bars_html({"a": 2, "b": 4}, title="t")
    assert [(b["data-key"], b["data-count"]) for b in elements(bars, "kk-bar")] == [("b", "4"), ("a", "2")]
    assert elements(bars, "kk-bars__total")


def test_progress_stays_and_shows_its_end() -> None:
    """Does the wait's progress bar stay open when the wait ends, as a full green bar saying how long it took
    (or a red one saying why it failed), instead of being closed while the frontend may still draw it?"""
    done = reprs.Progress("deployment/myd1 ready", 10.0, live=True)
    assert done._box is not None and "kk-progress" in done._box._dom_classes
    done.update(2.0, "1/2 ready")
    assert done._bar.value == 2.0 and "deployment/myd1 ready — 1/2 ready" in done._label.value
    done.finish(True)
    assert done._box.comm is not None, "the box was closed"
    assert (done.state, done._bar.bar_style, done._bar.value) == ("done", "success", 10.0)
    assert done._bar.description == "done"
    assert "kk-progress--done" in done._box._dom_classes and "✓" in done._label.value
    assert "deployment/myd1 ready: done in" in done._label.value
    failed = reprs.Progress("pod/web running", 1.0, live=True, show_now=False)
    assert failed._box is None  # shown at the first update only
    failed.update(0.5)
    failed.finish(False, "gave up after 1 s; last seen: Pending")
    assert (failed.state, failed._bar.bar_style, failed._bar.description) == ("failed", "danger", "failed")
    assert "kk-progress--failed" in failed._box._dom_classes and "✗" in failed._label.value
    assert "gave up after 1 s; last seen: Pending" in failed._label.value and failed._box.comm is not None
    static = reprs.Progress("x", 1.0, live=False)
    static.update(0.5)
    static.finish(True)
    assert static._box is None and static.state == "done"
    done.close()
    assert done._box is None
    done.update(3.0)
    assert done._box is None, "a closed indicator must not come back"
