"""A notebook run headless in a real kernel (nbclient, as nbconvert/nbgrader run it) against the sandbox.

Checks what a grader sees: no stderr output in any cell, static HTML instead of widget views, a KKError or
a failed check as one line, check evidence in the outputs, and nbgrader's own scoring (``determine_grade``) agreeing with the
checks: a failed ``require`` scores 0, a passing one full marks, ``grade`` partial credit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.utils import determine_grade

from kk_helpers.checks.base import RESULT_MIMETYPE

from test_notebook_support import drop_namespace, kk_env, sandbox, unique  # noqa: F401

pytestmark = pytest.mark.slow


def graded(source: str, points: float, grade_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": points,
                                 "grade_id": grade_id, "schema_version": 3}
    return cell


def test_headless_notebook(kk_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a lab notebook as nbgrader would: is every output static, stderr-free, and graded like the checks?"""
    prefix = unique("nb")
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("HOME", str(kk_env.parent))
    cells = [
        nbformat.v4.new_code_cell(f"import kk_helpers as kk\nlab = kk.lab('03-scaling', prefix='{prefix}')"),
        nbformat.v4.new_code_cell("kk.pods()"),
        nbformat.v4.new_code_cell("kk.ClusterView()"),
        nbformat.v4.new_code_cell("kk.ScaleSlider('myd1')"),
        graded("kk.checks.require(lab, 'scale', timeout=1)", 3, "scale-early"),
        nbformat.v4.new_code_cell("!kubectl scale deployment myd1 --replicas=4"),
        nbformat.v4.new_code_cell("kk.wait_for('deployment/myd1 ready', timeout=30)"),
        graded("kk.checks.require(lab, 'scale')", 3, "scale"),
        graded("kk.checks.grade(lab, 'scale-down', out_of=3, timeout=1)", 3, "scale-down-partial"),
        nbformat.v4.new_code_cell("kk.connect('no-such-context')"),
        nbformat.v4.new_code_cell("kk.tree()"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    finally:
        from kk_helpers.connect import open_cluster

        c = open_cluster(kk_env, "kk-sandbox")
        drop_namespace(c, f"{prefix}-03-scaling")
        c.close()
    outs = [cell.outputs for cell in nb.cells]
    streams = [(i, o) for i, cell_outs in enumerate(outs) for o in cell_outs if o.output_type == "stream"]
    assert [o for _, o in streams if o.name == "stderr"] == []
    assert outs[0][0].text.startswith(f"Lab 03-scaling: namespace {prefix}-03-scaling on kk-sandbox")
    assert "text/html" in outs[1][0].data and "myd1-" in outs[1][0].data["text/plain"]
    for i in (2, 3):
        data = outs[i][0].data
        assert "application/vnd.jupyter.widget-view+json" not in data and "text/html" in data
    # The early check fails: evidence shown, then the AssertionError — nbgrader gives 0.
    early = nb.cells[4]
    assert any(RESULT_MIMETYPE in o.get("data", {}) for o in early.outputs)
    assert early.outputs[-1].output_type == "error" and early.outputs[-1].ename == "CheckFailed"
    assert len(early.outputs[-1].traceback) == 1  # the sentence, not a trip through kk's internals
    assert "expected 4 replicas desired" in early.outputs[-1].evalue
    assert determine_grade(early) == (0, 3)
    assert "deployment.apps/myd1 scaled" in outs[5][0].text
    passing = nb.cells[7]
    assert all(o.output_type != "error" for o in passing.outputs)
    assert determine_grade(passing) == (3, 3)
    partial = nb.cells[8]
    assert partial.outputs[-1].output_type == "execute_result"
    # scale-down is all or nothing (its check says so): myd1 exists but runs 4, not 2, so no third of the points.
    # Partial credit through nbgrader is lab 05's traffic task (tests/test_labs.py).
    assert determine_grade(partial) == (0, 3)
    err = nb.cells[9].outputs[-1]
    assert err.output_type == "error" and err.ename == "KKError" and len(err.traceback) == 1
    assert "context 'no-such-context' is not in" in err.traceback[0]
    assert "deployment/myd1" in outs[10][0].data["text/plain"]


def run_in_kernel(kc, code: str, *, cell_id: str | None = None, timeout: float = 60) -> list[dict]:  # type: ignore[no-untyped-def]
    """Send one execute_request (with JupyterLab's cellId metadata when given); return its iopub messages."""
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False,
               "stop_on_error": True}
    msg = kc.session.msg("execute_request", content, metadata={"cellId": cell_id} if cell_id else {})
    kc.shell_channel.send(msg)
    out = []
    while True:
        reply = kc.get_iopub_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            return out
        out.append(reply)


def test_live_widgets_in_a_jupyterlab_like_kernel(kk_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a real kernel, is a request carrying JupyterLab's cellId live (widget view, watch threads), and one
    without it (nbclient) static — with nothing on stderr either way?"""
    from jupyter_client.manager import start_new_kernel

    prefix = unique("lv")
    monkeypatch.setenv("HOME", str(kk_env.parent))
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        msgs = run_in_kernel(kc, f"import kk_helpers as kk\nlab = kk.lab('00-env', prefix='{prefix}', quiet=True)")
        msgs += run_in_kernel(kc, "print(kk.reprs.live_frontend())")
        assert [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"] == ["False\n"]
        msgs = run_in_kernel(kc, "print(kk.reprs.live_frontend())", cell_id="cell-1")
        assert [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"] == ["True\n"]
        shown = run_in_kernel(kc, "view = kk.ClusterView()\nview", cell_id="cell-2")
        results = [m["content"]["data"] for m in shown if m["msg_type"] == "execute_result"]
        assert results and "application/vnd.jupyter.widget-view+json" in results[0]
        assert any(m["msg_type"] == "comm_open" for m in shown)
        check = run_in_kernel(kc, "kk.wait_for(lambda: view.threads_alive == 2, timeout=10)\n"
                                  "view.close()\nkk.wait_for(lambda: view.threads_alive == 0, timeout=10)\n"
                                  "print('stopped')", cell_id="cell-3")
        assert [m["content"]["text"] for m in check if m["msg_type"] == "stream"] == ["stopped\n"]
        static = run_in_kernel(kc, "kk.ClusterView()")
        data = [m["content"]["data"] for m in static if m["msg_type"] == "execute_result"][0]
        assert "application/vnd.jupyter.widget-view+json" not in data and "snapshot" in data["text/html"]
        everything = msgs + shown + check + static
        assert [m for m in everything if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"] == []
        assert [m for m in everything if m["msg_type"] == "error"] == []
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        from kk_helpers.connect import open_cluster

        c = open_cluster(kk_env, "kk-sandbox")
        drop_namespace(c, f"{prefix}-00-env")
        c.close()
