"""Labs 03 to 06 in a real browser: JupyterLab from ``kk lab``, driven by headless Debian Chromium (Playwright).

What a learner sees, checked end to end: ``kk lab`` (on a fast-mode sandbox that ``kk up`` started, so kk lab
reuses it) serves the labs; lab 03 runs cell by cell (Run > Run All Cells) and its ClusterViews and ScaleSliders
render as live ipywidgets; moving a slider with the keyboard scales the deployment and the ClusterView's pod chips
follow, and the slider's desired-vs-ready dots are drawn at a visible size; in lab 05 the TrafficProbe's *send*
button draws which pods answered, and the CheckPanel marks every task passed (✓) and reveals hints on demand; in
lab 06 the live RolloutViews show the old and the new ReplicaSet's pods side by side during ``kubectl set image``
and end with every pod on the new revision; in lab 04 (stop a node, start it again) the ChaosButton's button
deletes a pod, its log names the deleted pod and then its replacement, and every ClusterView swaps the one for
the other. Lab 04 runs last, and afterwards every node of the shared sandbox is running and Ready again, even
when the lab failed half-way. Every wait's progress bar stays shown in its "done" state, no widget is wider than
its output area, and any uncaught error in the page fails the test. Widgets are found by their CSS class hooks
(``kk-cluster-view``, ``kk-pod``, ``kk-check-panel``...), not by their text. Stopping ``kk lab`` with SIGINT
(Ctrl-C) afterwards shuts every kernel down.

The notebooks are copies of the student notebooks in ``labs/`` with each answer cell filled in from the matching
cell (same nbgrader ``grade_id``) of ``solutions/`` — what a learner who solved the lab has — and without the
final cleanup cell (which deletes the lab's namespace; lab 04's would also start the stopped node again, as its
task 3 already did). ``labs/`` itself is never opened, so nothing is written to it. The world is throwaway
(HOME, KK_HOME, KUBECONFIG); its JupyterLab settings switch off the "Jupyter news" prompt and notebook windowing
(so every cell is in the DOM).

Screenshots go to ``test-artifacts/browser/`` (gitignored); with ``KK_UPDATE_SCREENSHOTS=1`` the ones the README
shows are also copied to ``docs/screenshots/``. Needs ``/usr/bin/chromium`` (``./test.sh`` installs Debian's
chromium); never a browser Playwright downloads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_first_run import (BIN, KK, ROOT, START_TIMEOUT, URL_RE, Output, alive, free_port, http_get, make_world,
                            run_kk, stop_world, wait_gone)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DOCS = ROOT / "docs" / "screenshots"
LABS = ("03-scaling", "04-self-healing", "05-nodeport", "06-rollouts")
#: Seconds for Run All Cells on a fast-mode sandbox (about 10 s here).
RUN_ALL_TIMEOUT = 120.0
#: Milliseconds Playwright waits for a widget to react (well under a second here, unless the machine is loaded).
WIDGET_MS = 60_000
#: Milliseconds a ChaosButton click may take until its log shows the replacement (well under a second here).
CHAOS_MS = 30_000
#: The annotation ``kk sandbox node stop`` sets on a node (kk_helpers/sandbox/daemon.py).
NODE_STOPPED = "sandbox.kk.dev/stopped"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"{CHROMIUM} is missing: ./test.sh installs Debian's chromium (apt-get install chromium)"),
]

#: The visible notebook (JupyterLab keeps other tabs in the DOM, hidden).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

#: JS: names of the pods of ``prefix`` in every ClusterView of the visible notebook, in document order, read from
#: the views' class hooks: ``.kk-cluster-view`` holds ``.kk-pod`` chips with ``data-pod`` (kk_helpers/widgets/
#: cluster_view.py).
CHIPS_JS = """([panel, prefix]) => [...document.querySelectorAll(panel + ' .kk-cluster-view')]
    .map(v => [...v.querySelectorAll('.kk-pod')].map(c => c.dataset.pod).filter(n => n.startsWith(prefix + '-')))"""

#: JS: the ReplicaSet rows of every live RolloutView of the visible notebook, in document order: per view a list of
#: ``{new, rs, images, pods: [[name, status], ...]}`` read from the class hooks ``.kk-rollout-view .kk-rollout``
#: > ``.kk-revision--new``/``--old`` (``data-replicaset``) > ``.kk-pod`` (kk_helpers/widgets/rollout.py).
ROLLOUT_JS = """([panel]) => [...document.querySelectorAll(panel + ' .kk-rollout-view .kk-rollout')]
    .map(v => [...v.querySelectorAll('.kk-revision')].map(r => ({
        new: r.classList.contains('kk-revision--new'), rs: r.dataset.replicaset,
        images: (r.querySelector('code') || {}).textContent || '',
        pods: [...r.querySelectorAll('.kk-pod')].map(p => [p.dataset.pod, p.dataset.status])})))"""

#: JS: record the RolloutViews' rows (ROLLOUT_JS) after every change of the notebook's DOM into
#: ``window.kkRolloutLog``, so that states the page shows only briefly are seen too.
ROLLOUT_RECORD_JS = f"""([panel]) => {{
    const rows = {ROLLOUT_JS};
    window.kkRolloutLog = [rows([panel])];
    const observer = new MutationObserver(() => window.kkRolloutLog.push(rows([panel])));
    observer.observe(document.querySelector(panel), {{subtree: true, childList: true, characterData: true}});
    window.kkRolloutStop = () => observer.disconnect();
}}"""

#: JS: boxes of the elements matching a selector inside one element: [[width, height], ...] in CSS pixels.
SIZES_JS = "(el, sel) => [...el.querySelectorAll(sel)].map(e => { const r = e.getBoundingClientRect(); " \
           "return [r.width, r.height]; })"

#: JS: how many CSS pixels an output's content is wider than the output (0: nothing is cut off or scrolls).
OVERFLOW_JS = "(el) => Math.max(0, el.scrollWidth - el.clientWidth)"


# -- the notebooks ---------------------------------------------------------------------------------------------


def _nbgrader(cell: dict[str, Any]) -> dict[str, Any]:
    return dict((cell.get("metadata") or {}).get("nbgrader") or {})


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def answered(lab: str, dest: Path) -> Path:
    """labs/<lab>.ipynb with every answer cell taken from solutions/<lab>.ipynb, and no cleanup cell."""
    student = json.loads((ROOT / "labs" / f"{lab}.ipynb").read_text())
    solution = json.loads((ROOT / "solutions" / f"{lab}.ipynb").read_text())
    answers = {}
    for cell in solution["cells"]:
        meta = _nbgrader(cell)
        if cell["cell_type"] == "code" and meta.get("solution"):
            lines = _source(cell).splitlines()
            answers[meta["grade_id"]] = "\n".join(
                line for line in lines if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    cells = []
    for cell in student["cells"]:
        meta = _nbgrader(cell)
        if cell["cell_type"] == "code" and "kubectl delete namespace" in _source(cell):
            continue
        if cell["cell_type"] == "code" and meta.get("solution"):
            assert meta["grade_id"] in answers, f"solutions/{lab}.ipynb has no answer for {meta['grade_id']}"
            cell["source"] = answers[meta["grade_id"]]
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    student["cells"] = cells
    path = dest / f"{lab}.ipynb"
    path.write_text(json.dumps(student, indent=1))
    return path


def code_cells(path: Path) -> list[str]:
    return [_source(c) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def _quiet_jupyterlab(home: Path) -> None:
    """User settings of the throwaway HOME: no news prompt over the screenshots, every cell rendered."""
    base = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    settings = {"apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
                "notebook-extension/tracker": {"windowingMode": "none"}}
    for name, value in settings.items():
        path = base / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def _kernel_pids(env: dict[str, str]) -> list[int]:
    """Kernels of this world: processes whose command line names a connection file under its HOME."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ipykernel" in cmd and env["HOME"] in cmd and alive(int(proc.name)):
            pids.append(int(proc.name))
    return pids


# -- fixtures --------------------------------------------------------------------------------------------------


@dataclass
class LabServer:
    """``kk lab`` running on answered copies of the labs."""

    env: dict[str, str]
    notebooks: Path
    base: str
    token: str
    proc: subprocess.Popen[bytes]
    out: Output
    timings: dict[str, float] = field(default_factory=dict)

    def url(self, notebook: str) -> str:
        # ?reset: a fresh workspace, so the notebook opened last time is not restored next to this one.
        return f"{self.base}/lab/tree/{notebook}?reset&token={self.token}"


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """``kk up --backend sandbox --mode fast``, then ``kk lab`` on the answered notebooks; stopped with SIGINT."""
    tmp = tmp_path_factory.mktemp("browser")
    env = make_world(tmp)
    _quiet_jupyterlab(Path(env["HOME"]))
    notebooks = tmp / "labs"
    notebooks.mkdir()
    for lab in LABS:
        answered(lab, notebooks)
    t0 = time.monotonic()
    up = run_kk(env, "up", "--backend", "sandbox", "--mode", "fast")
    assert up.returncode == 0, up.stderr
    proc = subprocess.Popen([str(KK), "lab", "--backend", "sandbox", "--labs-dir", str(notebooks),
                             "--port", str(free_port())], env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    out = Output(proc.stdout.read1)  # type: ignore[attr-defined]
    try:
        found = out.wait_for(URL_RE, START_TIMEOUT)
        server = LabServer(env, notebooks, f"http://127.0.0.1:{found.group(1)}", found.group(2), proc, out)
        server.timings["cluster and JupyterLab ready"] = time.monotonic() - t0
        assert http_get(f"{server.base}/api/status?token={server.token}") == 200
        yield server
        kernels = _kernel_pids(env)
        t1 = time.monotonic()
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does
        code = proc.wait(30)
        out.join()
        server.timings["stop after SIGINT"] = time.monotonic() - t1
        (ARTIFACTS / "kk-lab-output.txt").write_text(out.text)
        print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in server.timings.items()))
        assert code == 0, out.text
        assert "Traceback" not in out.text, out.text
        assert kernels, "the notebooks' kernels were not found"
        assert all(wait_gone(pid, 10) for pid in kernels), f"kernels {kernels} outlived kk lab"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        stop_world(env)


@pytest.fixture(scope="module")
def browser(lab_server: LabServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Debian Chromium with a fresh profile (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1280, "height": 900}, device_scale_factor=2)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new tab; uncaught page errors while the test runs fail it; a screenshot of the end state is always kept,
    and the page's console in test-artifacts/browser/<test>-console.txt."""
    tab = browser.new_page()
    errors: list[str] = []
    console: list[str] = []
    tab.on("pageerror", lambda err: errors.append(str(err)) or console.append(f"pageerror: {err.stack or err}"))
    tab.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    yield tab
    during = list(errors)  # what happens while the tab closes (widgets torn down mid-message) does not count
    try:
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"))
    finally:
        tab.close()
        (ARTIFACTS / f"{request.node.name}-console.txt").write_text(
            "\n".join(console) + "\n")
    assert not during, f"uncaught errors in the page: {during}"


# -- driving JupyterLab ----------------------------------------------------------------------------------------


def _kernel_state(server: LabServer, notebook: str) -> str:
    """The execution state of the notebook's kernel, as the server sees it ("" before it has one)."""
    with urllib.request.urlopen(f"{server.base}/api/sessions?token={server.token}", timeout=10) as resp:
        sessions = json.loads(resp.read())
    for session in sessions:
        if str(session.get("path", "")).endswith(notebook):
            return str((session.get("kernel") or {}).get("execution_state") or "")
    return ""


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def step(page: Any, what: str) -> None:
    """Mark the start of a step in the page's console log (test-artifacts/browser/<test>-console.txt)."""
    page.evaluate("(what) => console.info('kk-test step: ' + what)", what)


def open_notebook(page: Any, server: LabServer, notebook: str) -> None:
    """Open ``notebook`` in a fresh workspace and wait until its kernel is started and idle."""
    page.goto(server.url(notebook))
    page.locator(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
    deadline = time.monotonic() + 90
    while _kernel_state(server, notebook) != "idle":
        assert time.monotonic() < deadline, f"the kernel of {notebook} did not start"
        time.sleep(0.2)
    # The page's toolbar names the kernel once its session is connected.
    page.locator(f"{PANEL} .jp-Toolbar-kernelName", has_text="Python 3").wait_for(timeout=30_000)


def run_all(page: Any, expected_cells: int) -> float:
    """Run > Run All Cells, as a learner would; returns the seconds until every code cell ran.

    Clicked once more if no cell starts within 10 s (a page whose kernel connection was not quite ready
    drops the request, leaving every prompt at "[ ]").
    """
    t0 = time.monotonic()
    step(page, "Run All Cells")
    prompts = page.locator(f"{PANEL} .jp-CodeCell .jp-InputPrompt")
    clicks = 0
    clicked_at = 0.0
    idle_since = None
    while True:
        texts = [t.strip() for t in prompts.all_inner_texts()]
        done = sum(1 for t in texts if re.fullmatch(r"\[\d+\]:", t))
        busy = any("*" in t for t in texts)
        if done == expected_cells == len(texts) and not busy:
            return time.monotonic() - t0
        if clicks == 0 or (clicks == 1 and done == 0 and not busy and time.monotonic() - clicked_at > 10):
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            clicks += 1
            clicked_at = time.monotonic()
            if clicks > 1:
                print(f"Run All Cells clicked again: no cell had started {clicked_at - t0:.0f} s after the first click")
            idle_since = None
            continue
        idle_since = None if busy else (idle_since or time.monotonic())
        stalled = idle_since is not None and time.monotonic() - idle_since > 5 and done > 0
        if stalled or time.monotonic() - t0 > RUN_ALL_TIMEOUT:
            stderr = page.locator(f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            raise AssertionError(f"{done} of {expected_cells} code cells ran ({len(texts)} shown, Run All clicked "
                                 f"{clicks}x); stderr and errors: {stderr.all_inner_texts()}")
        time.sleep(0.25)


def add_cell_after(page: Any, cell: Any, source: str) -> Any:
    """Select ``cell``, insert a code cell below it (B), type ``source`` and run it (Shift+Enter); returns it."""
    step(page, f"add a cell: {source}")
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(source)
    page.keyboard.press("Shift+Enter")
    new = cell.locator("xpath=following-sibling::div[contains(@class,'jp-CodeCell')][1]")
    new.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(timeout=WIDGET_MS)
    return new


def chips(page: Any, prefix: str) -> list[list[str]]:
    """Pod chips of deployment ``prefix`` per ClusterView of the visible notebook."""
    return page.evaluate(CHIPS_JS, [PANEL, prefix])


def wait_chips(page: Any, prefix: str, n: int) -> None:
    """Wait until every ClusterView shows exactly ``n`` pod chips of ``prefix``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"(args) => {{ const v = ({CHIPS_JS})(args); return v.length > 0 && "
                               f"v.every(c => c.length === {n}); }}", arg=[PANEL, prefix], timeout=WIDGET_MS)
    except PlaywrightTimeout:
        views = "\n".join(f"  ClusterView {i + 1}: {c}" for i, c in enumerate(chips(page, prefix)))
        raise AssertionError(f"not every ClusterView shows {n} {prefix} pods after {WIDGET_MS / 1000:.0f} s:\n"
                             f"{views}") from None


def assert_no_overflow(output: Any, what: str) -> None:
    """Is the output (a ``.jp-OutputArea-output``) as wide as its content: nothing cut off, no scroll bar?"""
    extra = output.evaluate(OVERFLOW_JS)
    assert extra == 0, f"{what} is {extra} px wider than its output area"


def assert_progress_finished(page: Any) -> int:
    """Is every wait's progress bar (kk.wait_for, polling checks) still shown, in its final "done" state?

    Returns how many there are (a wait that is over at its first look shows none).
    """
    bars = page.locator(f"{PANEL} .kk-progress")
    for i in range(bars.count()):
        bar = bars.nth(i)
        classes = bar.get_attribute("class") or ""
        assert "kk-progress--done" in classes, f"a progress bar did not end done: {classes}: {bar.inner_text()}"
        assert re.search(r"✓ .+: done in \d+\.\d s", bar.inner_text()), bar.inner_text()
    return bars.count()


def rollout_rows(page: Any) -> list[list[dict[str, Any]]]:
    """ReplicaSet rows per live RolloutView of the visible notebook (see ROLLOUT_JS)."""
    return page.evaluate(ROLLOUT_JS, [PANEL])


def wait_rollout(page: Any, condition: str, what: str, arg: Any = None) -> None:
    """Wait until ``condition`` (JS: views -> bool, views as ROLLOUT_JS returns them, ``arg`` its second
    parameter) holds; on a timeout, fail with what every RolloutView shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"([args, arg]) => ({condition})(({ROLLOUT_JS})(args), arg)", arg=[[PANEL], arg],
                               timeout=WIDGET_MS)
    except PlaywrightTimeout:
        views = "\n".join(f"  RolloutView {i + 1}: {json.dumps(v)}" for i, v in enumerate(rollout_rows(page)))
        raise AssertionError(f"the RolloutViews did not show {what} within {WIDGET_MS / 1000:.0f} s:\n{views}") \
            from None


def rolled_out_to(rows: list[dict[str, Any]], image: str, replicas: int) -> bool:
    """Does one RolloutView show every pod (``replicas`` Running ones) on its new revision, running ``image``?"""
    new = [r for r in rows if r["new"]]
    return (len(new) == 1 and new[0]["images"] == image and len(new[0]["pods"]) == replicas
            and all(status == "Running" for _, status in new[0]["pods"])
            and not any(r["pods"] for r in rows if not r["new"]))


def kubectl(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    """kubectl (the one kk ships, next to this Python) in the test's world; its stdout."""
    proc = subprocess.run([str(BIN / "kubectl"), *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def start_stopped_nodes(env: dict[str, str]) -> list[str]:
    """``kk sandbox node start`` every node a drill left stopped, then wait until every node is Ready and without
    the taints of a stopped node; returns the nodes that were still stopped."""
    nodes = json.loads(kubectl(env, "get", "nodes", "-o", "json"))["items"]
    stopped = [n["metadata"]["name"] for n in nodes if NODE_STOPPED in (n["metadata"].get("annotations") or {})]
    for name in stopped:
        started = run_kk(env, "sandbox", "node", "start", name)
        assert started.returncode == 0, started.stderr
    kubectl(env, "wait", "--for=condition=Ready", "node", "--all", "--timeout=60s", timeout=90)
    deadline = time.monotonic() + 30
    while True:
        nodes = json.loads(kubectl(env, "get", "nodes", "-o", "json"))["items"]
        tainted = [n["metadata"]["name"] for n in nodes
                   if any(t.get("key", "").startswith("node.kubernetes.io/")
                          for t in (n.get("spec") or {}).get("taints") or [])]
        if not tainted:
            return stopped
        assert time.monotonic() < deadline, f"nodes {tainted} kept the taints of a stopped node"
        time.sleep(0.2)


def shoot(locator: Any, name: str, *, docs: bool = False) -> None:
    """Screenshot ``locator`` to test-artifacts/; also to docs/screenshots/ when KK_UPDATE_SCREENSHOTS=1."""
    locator.scroll_into_view_if_needed()
    path = ARTIFACTS / name
    locator.screenshot(path=str(path), animations="disabled")
    if docs and os.environ.get("KK_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / name)


def shoot_cells(page: Any, first: Any, last: Any, name: str, *, docs: bool = False) -> None:
    """Screenshot the notebook from the top of cell ``first`` to the bottom of cell ``last``."""
    first.scroll_into_view_if_needed()
    top, bottom = first.bounding_box(), last.bounding_box()
    clip = {"x": top["x"], "y": top["y"], "width": max(top["width"], bottom["width"]),
            "height": bottom["y"] + bottom["height"] - top["y"]}
    path = ARTIFACTS / name
    page.screenshot(path=str(path), clip=clip, animations="disabled")
    if docs and os.environ.get("KK_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / name)


# -- the tests -------------------------------------------------------------------------------------------------


def test_lab03_slider_scales_and_cluster_view_follows(lab_server: LabServer, page: Any) -> None:
    """Does lab 03 run in JupyterLab with its ClusterViews and ScaleSliders rendered live, and does moving a
    slider with the keyboard change the pod chips every ClusterView shows?"""
    notebook = lab_server.notebooks / "03-scaling.ipynb"
    sources = code_cells(notebook)
    open_notebook(page, lab_server, notebook.name)
    lab_server.timings["lab 03 Run All"] = run_all(page, len(sources))
    shoot(page.locator(PANEL), "lab03-after-run-all.png")
    assert_progress_finished(page)

    # Every kk.ClusterView() cell shows a live view; task 3 left myd1 at 2 replicas.
    views = chips(page, "myd1")
    assert len(views) == sum("kk.ClusterView()" in s for s in sources), views
    wait_chips(page, "myd1", 2)
    sliders = page.locator(f"{PANEL} .widget-slider")
    assert sliders.count() >= 1, "the ScaleSlider did not render as an ipywidgets slider"
    assert page.locator(f"{PANEL} .widget-slider .widget-readout").all_inner_texts() == ["2"] * sliders.count()

    # Show the slider again right under the last ClusterView, as a learner playing with it would.
    cells = page.locator(f"{PANEL} .jp-CodeCell")
    last_view = cells.nth(cells.count() - 1)
    slider_cell = add_cell_after(page, last_view, "slider")
    handle = slider_cell.locator(".widget-slider .noUi-handle")
    handle.wait_for(timeout=WIDGET_MS)

    # Keyboard: focus the handle, two steps right -> 4 replicas; every view of the slider and every
    # ClusterView follows, and the ScaleSlider reports them ready.
    t0 = time.monotonic()
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_chips(page, "myd1", 4)
    lab_server.timings["slider 2 -> 4 shown as 4 pod chips"] = time.monotonic() - t0
    status = slider_cell.locator(".kk-scale-slider .kk-scale-slider__status")
    expect(status).to_contain_text(re.compile(r"desired\s*4\s*·\s*ready\s*4"), timeout=WIDGET_MS)
    assert page.locator(f"{PANEL} .widget-slider .widget-readout").all_inner_texts() == ["4"] * (sliders.count())
    assert len(set(chips(page, "myd1")[-1])) == 4, "four different pods"
    # Desired vs ready as dots one can see: four filled ones, each a round box of real size (not a blank chip).
    dots = status.locator(".kk-dots .kk-dot")
    expect(status.locator(".kk-dots .kk-dot--ready")).to_have_count(4, timeout=WIDGET_MS)
    assert dots.count() == 4
    sizes = status.element_handle().evaluate(SIZES_JS, ".kk-dots .kk-dot")
    assert all(8 <= w <= 16 and 8 <= h <= 16 for w, h in sizes), f"dots of {sizes} px"
    assert status.locator(".kk-dots").get_attribute("title") == "4 of 4 desired replicas ready"
    assert_no_overflow(slider_cell.locator(".jp-OutputArea-output"), "the ScaleSlider")
    assert_no_overflow(last_view.locator(".jp-OutputArea-output").last, "the ClusterView")
    page.wait_for_timeout(300)  # let the chips settle on their final colour for the picture
    shoot_cells(page, last_view, slider_cell, "lab03-cluster-view-scale-slider.png", docs=True)
    shoot(slider_cell.locator(".jp-OutputArea-output"), "lab03-scale-slider.png")

    # And down: three steps left -> 1 pod chip left.
    t0 = time.monotonic()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    wait_chips(page, "myd1", 1)
    lab_server.timings["slider 4 -> 1 shown as 1 pod chip"] = time.monotonic() - t0
    assert page.locator(f"{PANEL} .widget-slider .widget-readout").all_inner_texts() == ["1"] * (sliders.count())


def test_lab05_traffic_probe_and_check_panel(lab_server: LabServer, page: Any) -> None:
    """Does lab 05 run in JupyterLab, does a TrafficProbe's send button draw the pods that answered, and does the
    CheckPanel show every task passed and reveal a hint when asked?"""
    notebook = lab_server.notebooks / "05-nodeport.ipynb"
    sources = code_cells(notebook)
    open_notebook(page, lab_server, notebook.name)
    lab_server.timings["lab 05 Run All"] = run_all(page, len(sources))

    if assert_progress_finished(page):
        shoot(page.locator(f"{PANEL} .kk-progress").first, "lab05-progress-done.png", docs=True)

    # The CheckPanel at the end: every task passed, each row marked ✓ (a glyph of ordinary fonts).
    panel = page.locator(f"{PANEL} .jp-OutputArea-output", has=page.locator(".kk-check-panel")).last
    panel.wait_for(timeout=WIDGET_MS)
    total = re.search(r"(\d+)/(\d+) tasks passed", panel.inner_text())
    assert total and total.group(1) == total.group(2), panel.inner_text()
    rows = panel.locator(".kk-check-panel__row")
    assert rows.count() == int(total.group(2)) == panel.locator(".kk-check--pass").count()
    assert panel.locator(".kk-check .kk-mark--pass").all_inner_texts() == ["✓"] * rows.count()
    assert_no_overflow(panel, "the CheckPanel")

    # The TrafficProbe widget, shown below the task 3 answer: 12 requests with the send button.
    cells = page.locator(f"{PANEL} .jp-CodeCell")
    answer = cells.filter(has_text="kk.TrafficProbe(").first
    probe_cell = add_cell_after(page, answer, "probe")
    probe = probe_cell.locator(".jp-OutputArea-output")
    probe.locator("button", has_text="send").wait_for(timeout=WIDGET_MS)
    step(page, "TrafficProbe: 12 requests, send")
    count = probe.locator("input")
    count.fill("12")
    count.press("Enter")
    t0 = time.monotonic()
    probe.locator("button", has_text="send").click()
    probe.locator(".kk-bars__total", has_text=re.compile(r"^12 responses, \d+ distinct")).wait_for(timeout=WIDGET_MS)
    lab_server.timings["TrafficProbe send -> 12 answers drawn"] = time.monotonic() - t0
    assert "12 requests to http://" in probe.locator(".kk-bars__title").inner_text()
    counts = [int(b.get_attribute("data-count") or 0) for b in probe.locator(".kk-bar").all()]
    assert sum(counts) == 12 and len(counts) >= 2, f"a NodePort service spreads requests over the pods: {counts}"
    assert_no_overflow(probe, "the TrafficProbe")
    shoot(probe, "lab05-traffic-probe.png", docs=True)

    # CheckPanel: a hint on demand, then check all again.
    step(page, "CheckPanel hint, check all")
    first = rows.first
    assert first.locator(".kk-hint").count() == 0
    first.locator("button", has_text="hint").click()
    hint = first.locator(".kk-hint")
    expect(hint).to_have_count(1, timeout=WIDGET_MS)
    expect(hint).to_contain_text(re.compile(r"^Hint( 1)?: \S"))
    panel.locator("button", has_text="check all").click()
    page.wait_for_timeout(500)
    total = re.search(r"(\d+)/(\d+) tasks passed", panel.inner_text())
    assert total and total.group(1) == total.group(2), panel.inner_text()
    shoot(panel, "lab05-check-panel.png", docs=True)


def test_lab06_rollout_view_shows_old_and_new_pods(lab_server: LabServer, page: Any) -> None:
    """Does lab 06 run in JupyterLab with live RolloutViews, and do they show the old and the new ReplicaSet's
    pods side by side during ``kubectl set image``, ending with every pod on the new revision?"""
    notebook = lab_server.notebooks / "06-rollouts.ipynb"
    sources = code_cells(notebook)
    open_notebook(page, lab_server, notebook.name)
    lab_server.timings["lab 06 Run All"] = run_all(page, len(sources))
    assert_progress_finished(page)

    # Every kk.RolloutView() cell shows a live view; task 4 left myd1 complete on httpd:2.4, 4 replicas.
    outputs = page.locator(f"{PANEL} .jp-OutputArea-output", has=page.locator(".kk-rollout-view"))
    expect(outputs).to_have_count(sum("kk.RolloutView(" in s for s in sources), timeout=WIDGET_MS)
    done = ("(views, image) => views.every(v => v.some(r => r.new && r.pods.length === 4 && r.images === image) "
            "&& v.filter(r => !r.new).every(r => r.pods.length === 0))")
    wait_rollout(page, done, "every pod on the new revision (httpd:2.4)", "httpd:2.4")
    assert all(rolled_out_to(rows, "httpd:2.4", 4) for rows in rollout_rows(page)), rollout_rows(page)
    view = outputs.last
    assert_no_overflow(view, "the RolloutView")

    # Task 1 once more, below the last RolloutView: set image, and watch. minReadySeconds paces the rollout
    # (a new pod counts as available after 2 s), so that its middle stays in the page long enough for a picture.
    step(page, "RolloutView: record, then kubectl set image")
    page.evaluate(ROLLOUT_RECORD_JS, [PANEL])
    t0 = time.monotonic()
    cells = page.locator(f"{PANEL} .jp-CodeCell")
    add_cell_after(page, cells.nth(cells.count() - 1),
                   'lab.apps.patch_namespaced_deployment("myd1", lab.namespace, {"spec": {"minReadySeconds": 2}})\n'
                   "!kubectl set image deployment/myd1 '*=nginx:1.29.4'")
    # The picture: the last view half-way, at least two pods on either revision.
    mixed = ("(views, n) => views.at(-1).some(r => r.new && r.pods.length >= n && r.images === 'nginx:1.29.4') "
             "&& views.at(-1).some(r => !r.new && r.pods.length >= n)")
    wait_rollout(page, mixed, "two pods or more on either revision in the last view", 2)
    # Centred: scrolled to the top edge, the notebook toolbar's shadow would lie across the picture.
    view.evaluate("(el) => el.scrollIntoView({block: 'center'})")
    shoot(view.locator(".kk-rollout-view"), "lab06-rollout-view.png", docs=True)
    still_mixed = page.evaluate(f"([args, n]) => ({mixed})(({ROLLOUT_JS})(args), n)", [[PANEL], 1])
    wait_rollout(page, done, "every pod on the new revision (nginx:1.29.4)", "nginx:1.29.4")
    lab_server.timings["set image -> RolloutViews show 4 new pods"] = time.monotonic() - t0
    log = page.evaluate("() => { window.kkRolloutStop(); return window.kkRolloutLog; }")
    final = rollout_rows(page)
    assert all(rolled_out_to(rows, "nginx:1.29.4", 4) for rows in final), final
    assert still_mixed, f"the picture was taken after the rollout: {final[-1]}"

    # What the last view showed on the way, state by state: the new ReplicaSet grew while the old one shrank;
    # at some moment both had pods, and no pod was ever shown on two revisions at once.
    states = [views[-1] for views in log if views]
    (ARTIFACTS / "lab06-rollout-states.json").write_text(
        "\n".join(json.dumps(s) for i, s in enumerate(states) if i == 0 or s != states[i - 1]) + "\n")
    both = [s for s in states if any(r["new"] and r["pods"] for r in s) and any(not r["new"] and r["pods"] for r in s)]
    assert both, f"the RolloutView never showed old and new pods together: {states}"
    for s in states:
        names = [name for r in s for name, _ in r["pods"]]
        assert len(names) == len(set(names)), f"a pod shown on two revisions: {s}"
    old_rs = {r["rs"] for s in both for r in s if not r["new"] and r["pods"]}
    new_rs = {r["rs"] for s in both for r in s if r["new"]}
    assert len(new_rs) == 1 and not old_rs & new_rs, (old_rs, new_rs)
    assert next(r for r in final[-1] if r["new"])["rs"] in new_rs, "the rollout ended on another ReplicaSet"
    shoot(view.locator(".kk-rollout-view"), "lab06-rollout-view-done.png")


def test_lab04_chaos_button_replaces_a_pod(lab_server: LabServer, page: Any) -> None:
    """Does lab 04 run in JupyterLab (a node stopped and started again), does clicking the ChaosButton in the page
    log the deleted pod and then its replacement, and does every ClusterView swap the one for the other?

    Runs last of the module: the node drill evicts pods of every namespace. Afterwards every node of the shared
    sandbox is running and Ready again, even when the lab failed half-way.
    """
    notebook = lab_server.notebooks / "04-self-healing.ipynb"
    sources = code_cells(notebook)
    try:
        open_notebook(page, lab_server, notebook.name)
        lab_server.timings["lab 04 Run All"] = run_all(page, len(sources))
        assert_progress_finished(page)

        # The lab's own chaos.click(): one round in the log, replaced.
        chaos = page.locator(f"{PANEL} .jp-OutputArea-output", has=page.locator(".kk-chaos-button"))
        expect(chaos).to_have_count(1)
        rounds = chaos.locator(".kk-chaos .kk-chaos__round")
        expect(rounds).to_have_count(1, timeout=WIDGET_MS)
        expect(rounds.first).to_have_class(re.compile(r"\bkk-chaos__round--replaced\b"), timeout=WIDGET_MS)
        n_views = sum(s.count("kk.ClusterView()") for s in sources)
        wait_chips(page, "myd1", 3)
        assert n_views >= 1 and len(chips(page, "myd1")) == n_views, chips(page, "myd1")

        # A ClusterView right below the button, as a learner watching the chaos would put it.
        chaos_cell = page.locator(f"{PANEL} .jp-CodeCell", has=page.locator(".kk-chaos-button"))
        view_cell = add_cell_after(page, chaos_cell, "kk.ClusterView()")
        wait_chips(page, "myd1", 3)
        before = chips(page, "myd1")
        assert len({tuple(sorted(v)) for v in before}) == 1, f"the ClusterViews disagree: {before}"

        step(page, "ChaosButton: click")
        t0 = time.monotonic()
        chaos.locator(".kk-chaos-button button").click()
        expect(rounds).to_have_count(2, timeout=CHAOS_MS)
        latest = rounds.last
        deleted = latest.locator(".kk-chaos__deleted").get_attribute("data-pod")
        assert deleted in before[-1], f"deleted {deleted}, not one of the pods shown: {before[-1]}"
        expect(latest).to_have_class(re.compile(r"\bkk-chaos__round--replaced\b"), timeout=CHAOS_MS)
        lab_server.timings["ChaosButton click -> replacement logged"] = time.monotonic() - t0
        new = [c.get_attribute("data-pod") for c in latest.locator(".kk-chaos__replacement").all()]
        assert new and all(n and n.startswith("myd1-") and n not in before[-1] for n in new), (deleted, new, before)
        assert re.search(r"deleted myd1-\S+ → replaced by myd1-\S+.*\(\d+\.\d s\)", latest.inner_text()), \
            latest.inner_text()
        assert latest.locator(".kk-mark--fail").count() == 0

        # Every ClusterView: the replacement in, the deleted pod out, three pods.
        try:
            page.wait_for_function(
                f"([args, gone, added]) => {{ const v = ({CHIPS_JS})(args); return v.length > 0 && v.every(c => "
                f"c.length === 3 && !c.includes(gone) && added.every(n => c.includes(n))); }}",
                arg=[[PANEL, "myd1"], deleted, new], timeout=CHAOS_MS)
        except Exception:
            raise AssertionError(f"not every ClusterView shows {new} instead of {deleted}: "
                                 f"{chips(page, 'myd1')}") from None
        lab_server.timings["ChaosButton click -> ClusterViews show the replacement"] = time.monotonic() - t0
        assert_no_overflow(chaos, "the ChaosButton")
        page.wait_for_timeout(300)  # let the chips settle on their final colour for the picture
        shoot_cells(page, chaos_cell, view_cell, "lab04-chaos-button.png", docs=True)
    finally:
        left_stopped = start_stopped_nodes(lab_server.env)
    assert not left_stopped, f"lab 04 left nodes stopped: {left_stopped}"
