"""Tests of kk grade's forked kernels (kk_helpers/grading/kernels.py): a lab kernel forked from the preloaded
forkserver must be indistinguishable, for a notebook, from ``python -m ipykernel_launcher`` started by
jupyter_client — same environment, working directory, argv, sys.path, session, parent, stdin — and the modules
preloaded into it must not have captured the forkserver's environment where the job's differs.

The kernel tests run in a subprocess (a fresh interpreter that preloads and forks, as the forkserver does), one
fresh and one forked kernel each; no sandbox.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kk_helpers.grading import kernels, procs

#: Variables whose value in a job's kernel differs from the forkserver's: what the worker sets
#: (worker.environment, the sandbox's kubeconfig) and what jupyter_client adds for a kernel.
JOB_VARIABLES = {"KK_GRADE_RUN", "KK_GRADE_JOB", "KUBECACHEDIR", "TMPDIR", "KK_SANDBOX_MODE", "KK_HOME",
                 "KK_CHECK_TIMEOUT", "KUBECONFIG", "KK_CONTEXT", "PATH", "GOGC", "GOMEMLIMIT", "JPY_PARENT_PID",
                 "JPY_INTERRUPT_EVENT", "JPY_SESSION_NAME"}

#: The import-time reads of those variables that kernels.py re-applies in each kernel: (module, variable).
HANDLED = {("kubernetes.config.kube_config", "KUBECONFIG"), ("kubernetes.aio.config.kube_config", "KUBECONFIG"),
           ("ipykernel.kernelapp", "JPY_PARENT_PID"), ("ipykernel.kernelapp", "JPY_INTERRUPT_EVENT")}

_SCAN = textwrap.dedent("""
    import ast, json, sys
    import kk_helpers.grading.preload  # noqa: F401 - what the forkserver imports
    names = set(json.loads(sys.argv[1]))
    found = []
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(open(path, encoding="utf-8").read())
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        stack = [n for n in tree.body]
        while stack:  # statements run at import: module and class bodies, not function bodies
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.ClassDef):
                stack.extend(node.body)
                continue
            blocks = [f for f in ("body", "orelse", "finalbody", "handlers") if getattr(node, f, None)]
            # a compound statement runs its header here (an if's test...); its blocks are scanned on their own
            parts = [getattr(node, f) for f in ("test", "iter", "items", "type") if getattr(node, f, None)] \
                if blocks else [node]
            for part in parts:
                for expr in part if isinstance(part, list) else [part]:
                    src = ast.unparse(expr)
                    if "environ" in src or "getenv" in src:
                        consts = {c.value for c in ast.walk(expr)
                                  if isinstance(c, ast.Constant) and isinstance(c.value, str)}
                        found.extend([name, var] for var in sorted(consts & names))
            for field in blocks:
                stack.extend(getattr(node, field))
    print(json.dumps(found))
""")


def test_preloaded_modules_capture_no_job_variable_at_import_that_kernels_do_not_reapply() -> None:
    """Does every import-time read of a job-specific variable, in everything the forkserver preloads, get the
    kernel's value re-applied (kubernetes' default kubeconfig path, ipykernel's parent pid)?"""
    out = subprocess.run([sys.executable, "-c", _SCAN, json.dumps(sorted(JOB_VARIABLES))], capture_output=True,
                         text=True, check=True, timeout=120)
    found = {tuple(item) for item in json.loads(out.stdout.strip().splitlines()[-1])}
    assert found - HANDLED == set(), "re-apply these in kernels.py (_ENV_CONSTANTS, _ENV_TRAITS)"
    assert ("ipykernel.kernelapp", "JPY_PARENT_PID") in found  # the scan does find what is there


_PROBE = textwrap.dedent("""
    import json, os, signal, stat, sys, tempfile, warnings
    from ipykernel.kernelapp import IPKernelApp
    import kubernetes.config.kube_config as kc
    app = IPKernelApp.instance()
    print(json.dumps({
        "env": dict(os.environ), "cwd": os.getcwd(), "argv0": sys.argv[0], "argc": len(sys.argv),
        "executable": sys.executable, "path": sys.path, "session_leader": os.getsid(0) == os.getpid(),
        "parent_is_parent_handle": os.getppid() == app.parent_handle, "tempdir": tempfile.gettempdir(),
        "kubeconfig_default": kc.KUBE_CONFIG_DEFAULT_LOCATION,
        "stdin_is_pipe": stat.S_ISFIFO(os.fstat(0).st_mode), "fds": len(os.listdir("/proc/self/fd")) < 100,
        "sigterm": repr(signal.getsignal(signal.SIGTERM)), "sigchld": repr(signal.getsignal(signal.SIGCHLD)),
        "sigmask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "main_process": __import__("multiprocessing").current_process().name,
    }))
""")

_RUN = textwrap.dedent("""
    import gc, json, os, sys, tempfile
    from pathlib import Path
    import nbformat
    from nbclient import NotebookClient
    from kk_helpers.grading import kernels
    mode, probe, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    kernels.preload()
    os.environ.update(KUBECONFIG=str(work / "kubeconfig"), KK_GRADE_JOB="job-1", TMPDIR=str(work))
    tempfile.tempdir = None
    kw = {}
    if mode == "forked":
        gc.freeze()
        kernels.start_zygote(work)
        kw["kernel_manager_class"] = kernels.ForkedKernelManager
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(work)}}, **kw)
    client.execute()
    kernels.stop_zygote()
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == "stdout")
    print(out.strip() or json.dumps(nb.cells[0].outputs))
""")


def _kernel_state(mode: str, work: Path) -> dict[str, object]:
    work.mkdir()
    out = subprocess.run([sys.executable, "-c", _RUN, mode, _PROBE, str(work)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_forked_kernel_looks_like_a_fresh_one_to_the_notebook(tmp_path: Path) -> None:
    """Does a kernel forked from the preloaded template see what a kernel jupyter_client starts would see?"""
    fresh = _kernel_state("fresh", tmp_path / "fresh")
    forked = _kernel_state("forked", tmp_path / "forked")
    for state, work in ((fresh, tmp_path / "fresh"), (forked, tmp_path / "forked")):
        env = state.pop("env")
        assert isinstance(env, dict)
        assert env.pop("JPY_PARENT_PID") and env.pop("JPY_SESSION_NAME", "") is not None
        assert env.pop("KUBECONFIG") == str(work / "kubeconfig") and env.pop("TMPDIR") == str(work)
        state["env"] = env
        assert state.pop("cwd") == str(work)
        assert state.pop("tempdir") == str(work)
        assert state.pop("kubeconfig_default") == str(work / "kubeconfig")
    assert forked == fresh
    assert forked["session_leader"] and forked["parent_is_parent_handle"] and forked["stdin_is_pipe"]
    assert forked["main_process"] == "MainProcess"


def test_an_unused_zygote_ends_with_its_job(tmp_path: Path) -> None:
    """Does a zygote that was never asked for a kernel exit when the job closes it, and leave no process?"""
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from kk_helpers.grading import kernels
        z = kernels.start_zygote(Path(sys.argv[1]))
        print(z.pid, flush=True)
        kernels.stop_zygote()
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60,
                         check=True)
    pid = int(out.stdout.split()[0])
    assert not procs.alive(pid)
    assert (tmp_path / kernels.PID_FILE).read_text().split()[0] == str(pid)


def test_kill_recorded_ends_that_process_and_no_other(tmp_path: Path) -> None:
    """Does the pid file end the recorded process, and leave alone a pid whose start time does not match?"""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        record = tmp_path / "kernel.pid"
        procs.record(record, sleeper.pid)
        pid, started = record.read_text().split()
        record.write_text(f"{pid} {int(started) + 1}\n")  # a reused pid: another process
        assert procs.kill_recorded(record) == []
        assert procs.alive(sleeper.pid)
        procs.record(record, sleeper.pid)
        assert procs.kill_recorded(record, grace=5) == [sleeper.pid]
        assert sleeper.wait(5) == -signal.SIGTERM
        assert procs.kill_recorded(record) == []
        assert procs.kill_recorded(tmp_path / "missing.pid") == []
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_forked_process_reports_exit_status_like_popen(tmp_path: Path) -> None:
    """Does the Popen stand-in report a signal death as a negative status, and refuse to signal once collected?"""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        time.sleep(60)
        os._exit(0)
    proc = kernels.ForkedProcess(pid)
    assert proc.poll() is None
    proc.kill()
    assert proc.wait() == -signal.SIGKILL
    assert proc.poll() == -signal.SIGKILL
    proc.kill()  # no error, no signal: the pid is no longer ours
