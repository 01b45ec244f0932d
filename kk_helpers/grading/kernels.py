"""Notebook kernels forked from a preloaded template instead of started as fresh interpreters.

A lab's kernel spends about 1.3 CPU seconds before it runs anything of the learner's: ~0.35 s starting
``python -m ipykernel_launcher`` (IPython, ipykernel, zmq, the debugger) and ~1 s when the first cell imports
the official Kubernetes client (its ``CoreV1Api`` alone builds ~400 pydantic-validated methods and ~250 pydantic
models). For 500 submissions that is 11 CPU minutes of identical work. Here that work is done once per
``kk grade autograde`` run, by the forkserver that imports :data:`PRELOAD` (see :func:`preload`); each job then:

1. forks a :class:`Zygote` first thing, while the worker is still single-threaded and has graded nothing —
   it waits on a pipe;
2. when nbclient starts the notebook's kernel, :class:`ForkedKernelManager` hands the command, environment and
   working directory to the zygote instead of ``Popen``; the zygote becomes the kernel: a new session
   (``start_new_session``, as ``Popen`` does, so interrupts reach its process group), stdin a closed pipe,
   only fds 0-2 open, the kernel's environment, ``cwd``, ``sys.argv`` and ``sys.path`` a fresh
   ``python -m ipykernel_launcher`` would have, default signal handlers — then runs ``ipykernel_launcher``'s
   code;
3. the kernel is still the worker's child (its CPU is counted, ipykernel's parent poller and
   ``PR_SET_PDEATHSIG`` end it with the worker), its pid is written to ``kernel.pid`` in the job directory
   (``/proc`` shows it with the forkserver's command line and environment, so the parent's marker scan
   cannot see it; it ends it by that pid file instead).

Every submission still gets a new kernel process that ran nothing before it (the template never ran a
notebook). What the learner's code could notice: modules the template imported are already in
``sys.modules`` (nbgrader's included), and the string hash seed is the forkserver's. Anything that is not the
standard ``python3`` kernel of this Python (another kernelspec, a second kernel in one job) is started the
usual way.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import importlib
import importlib.util
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from . import procs

#: Modules a lab kernel imports that the forkserver imports once for every job (not matplotlib or
#: ipywidgets: they configure themselves from the kernel they are imported in).
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
           "kubernetes.client", "kubernetes.config", "kubernetes.client.api.core_v1_api",
           "kubernetes.client.api.apps_v1_api", "kubernetes.client.api.batch_v1_api",
           "kubernetes.client.api.discovery_v1_api", "kubernetes.client.api.version_api", "pexpect", "psutil")

#: Module globals computed from the environment at import time, recomputed in each kernel:
#: (module, attribute, environment variable, default).
_ENV_CONSTANTS = (
    ("kubernetes.config.kube_config", "KUBE_CONFIG_DEFAULT_LOCATION", "KUBECONFIG", "~/.kube/config"),
    ("kubernetes.aio.config.kube_config", "KUBE_CONFIG_DEFAULT_LOCATION", "KUBECONFIG",
     str(Path("~/.kube/config").expanduser())),
)

#: Trait defaults ipykernel's ``IPKernelApp`` reads from the environment at import: (trait, variable).
_ENV_TRAITS = (("parent_handle", "JPY_PARENT_PID"), ("interrupt", "JPY_INTERRUPT_EVENT"))

#: The job-directory file listing the forked kernel's pid.
PID_FILE = "kernel.pid"
#: prctl(2) option: signal to receive when the parent dies.
_PR_SET_PDEATHSIG = 1
#: Seconds to wait for the zygote to confirm it became the kernel's process.
_ACK_TIMEOUT = 10.0


def preload() -> None:
    """Import :data:`PRELOAD` (what is missing is left to the kernel)."""
    for name in PRELOAD:
        try:
            # debugpy warns about frozen modules on import: kernel log noise, not for the instructor's terminal
            with contextlib.redirect_stderr(io.StringIO()):
                importlib.import_module(name)
        except ImportError:  # pragma: no cover - optional speed-up only
            pass
    fresh_sys_path()


@functools.cache
def fresh_sys_path() -> tuple[str, ...]:
    """``sys.path`` of a fresh interpreter of this Python, minus the script's directory in front (computed once,
    by the forkserver when it preloads, so not per job)."""
    out = subprocess.run([sys.executable, "-c", "import sys, json; print(json.dumps(sys.path[1:]))"],
                         capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)
    return tuple(json.loads(out.stdout))


class ForkedProcess:
    """The ``subprocess.Popen`` surface jupyter_client's LocalProvisioner uses, for a forked kernel.

    Attributes:
        pid: the kernel's process id (also its process group: it leads a session of its own).
        returncode: its exit status once collected (negative: killed by that signal), else None.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def _collect(self, flags: int) -> int | None:
        if self.returncode is None:
            try:
                done, status = os.waitpid(self.pid, flags)
            except ChildProcessError:  # collected elsewhere
                self.returncode = 0
                return self.returncode
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        """Its exit status, or None while it runs."""
        return self._collect(os.WNOHANG)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to end (``timeout`` is not supported: LocalProvisioner polls first)."""
        code = self._collect(0)
        assert code is not None
        return code

    def send_signal(self, signum: int) -> None:
        """Signal the process (unless it was already collected: its pid may be reused)."""
        if self.returncode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)


class Zygote:
    """A child forked from the worker early on, that becomes the notebook's kernel when asked (once).

    Args:
        job_dir: where ``kernel.pid`` is written when it becomes a kernel.
    """

    def __init__(self, job_dir: Path) -> None:
        self.job_dir = Path(job_dir)
        self.used = False
        self.process: ForkedProcess | None = None
        request_r, self._request_w = os.pipe()
        self._ack_r, ack_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            os.close(self._request_w)
            os.close(self._ack_r)
            _serve(parent, request_r, ack_w)
        os.close(request_r)
        os.close(ack_w)
        self.pid = pid
        procs.record(self.job_dir / PID_FILE, pid)

    def can_run(self, cmd: list[str], env: dict[str, str]) -> bool:
        """Whether ``cmd`` is the standard IPython kernel of this very Python, and the zygote is unused."""
        if self.used or len(cmd) < 3 or cmd[1:3] != ["-m", "ipykernel_launcher"]:
            return False
        exe = shutil.which(cmd[0], path=env.get("PATH")) if os.sep not in cmd[0] else cmd[0]
        return bool(exe) and os.path.dirname(os.path.abspath(exe)) == os.path.dirname(sys.executable) and \
            os.path.realpath(exe) == os.path.realpath(sys.executable)

    def launch(self, cmd: list[str], *, env: dict[str, str], cwd: str | None) -> ForkedProcess:
        """Make the zygote the kernel ``cmd`` describes; returns its process handle.

        Raises:
            OSError: the zygote is gone or did not confirm in time (it is then killed).
        """
        self.used = True
        exe = shutil.which(cmd[0], path=env.get("PATH")) if os.sep not in cmd[0] else cmd[0]
        request = {"argv": cmd[2:], "executable": os.path.abspath(str(exe)), "env": env,
                   "cwd": str(cwd or os.getcwd()), "sys_path": list(fresh_sys_path()),
                   "launcher": _launcher_path()}
        try:
            with os.fdopen(self._request_w, "w") as f:
                f.write(json.dumps(request))
            ready, _, _ = select.select([self._ack_r], [], [], _ACK_TIMEOUT)
            if not ready or os.read(self._ack_r, 1) != b"1":
                raise OSError("the preloaded kernel process did not start")
        except OSError:
            self._kill()
            raise
        finally:
            os.close(self._ack_r)
        self.process = ForkedProcess(self.pid)
        return self.process

    def close(self) -> None:
        """End the zygote — unused (EOF on its pipe) or a kernel jupyter_client did not stop — and collect it."""
        if not self.used:
            self.used = True
            os.close(self._request_w)
            os.close(self._ack_r)
        elif self.process is None or self.process.returncode is not None:
            return  # collected by jupyter_client (anything it left has the job's marker: the parent ends it)
        else:  # not collected, so the pid is still ours: end its session, the kernel and what it started
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    def _kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


#: The job's zygote, set by :func:`start_zygote` in the worker.
_zygote: Zygote | None = None


def start_zygote(job_dir: Path) -> Zygote:
    """Fork this job's zygote (call while the process is single-threaded)."""
    global _zygote
    _zygote = Zygote(job_dir)
    return _zygote


def stop_zygote() -> None:
    """End the job's zygote if no kernel was made of it."""
    if _zygote is not None:
        _zygote.close()


class ForkedKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, but the standard kernel is the job's zygote rather than a new interpreter."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        zygote = _zygote
        prov = self.provisioner
        env = dict(kw.get("env") or os.environ)
        redirected = any(kw.get(stream) is not None for stream in ("stdin", "stdout", "stderr"))
        if zygote is None or type(prov) is not LocalProvisioner or redirected or not zygote.can_run(kernel_cmd, env):
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        if not kw.get("independent"):
            env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launch_kernel does
        cwd = kw.get("cwd")
        try:
            process = zygote.launch([os.path.expanduser(s) for s in kernel_cmd], env=env, cwd=cwd)
        except OSError as err:  # the zygote is gone: start the kernel the usual way
            self.log.warning("kk: the preloaded kernel process failed (%s); starting a new one", err)
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        prov.process = process
        prov.pid = prov.pgid = process.pid
        prov.cwd = cwd or Path.cwd()
        self._reconcile_connection_info(prov.connection_info)


def _serve(parent: int, request_r: int, ack_w: int) -> None:  # pragma: no cover - the zygote process
    """The zygote: wait for a launch request, become that kernel, exit with its status. Never returns."""
    code = 1
    try:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:
            os._exit(0)
        with os.fdopen(request_r, "r") as f:
            data = f.read()
        if not data:  # the job ended without a kernel
            os._exit(0)
        request = json.loads(data)
        _become_kernel_process(request, ack_w)
        code = _run_kernel()
    except BaseException:  # noqa: BLE001 - the kernel's own errors went to its log already
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _become_kernel_process(request: dict[str, Any], ack_w: int) -> None:  # pragma: no cover - in the zygote
    """Give this process what ``Popen(cmd, env=..., cwd=..., start_new_session=True, stdin=PIPE)`` would."""
    os.setsid()
    stdin_r, stdin_w = os.pipe()  # jupyter_client gives a kernel a pipe it closes at once
    os.close(stdin_w)
    os.dup2(stdin_r, 0)
    os.close(stdin_r)
    for fd in _open_fds():
        if fd > 2 and fd != ack_w:
            try:
                os.close(fd)
            except OSError:
                pass
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None
    for module, attr, var, default in _ENV_CONSTANTS:
        mod = sys.modules.get(module)
        if mod is not None:
            setattr(mod, attr, os.environ.get(var, default))
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    _reset_multiprocessing()
    atexit._clear()
    sys.executable = request["executable"]
    sys.argv = [request["launcher"]] + list(request["argv"][1:])
    # ``python -m`` puts the working directory first; ipykernel_launcher removes it again.
    sys.path[:] = list(request["sys_path"])
    os.write(ack_w, b"1")
    os.close(ack_w)


def _run_kernel() -> int:  # pragma: no cover - in the zygote
    """What ``python -m ipykernel_launcher`` runs; returns the exit status.

    ipykernel reads two trait defaults from the environment when it is imported (by the forkserver, here):
    they are passed with the kernel's values.
    """
    code = 0
    try:
        from ipykernel import kernelapp

        kernelapp.launch_new_instance(**{trait: int(os.environ.get(var) or 0) for trait, var in _ENV_TRAITS})
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    atexit._run_exitfuncs()
    return code


def _launcher_path() -> str:
    """The file ``python -m ipykernel_launcher`` runs (its ``sys.argv[0]``)."""
    spec = importlib.util.find_spec("ipykernel_launcher")
    return str(spec.origin) if spec and spec.origin else "ipykernel_launcher"


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # pragma: no cover - not Linux
        return list(range(3, 1024))


def _reset_multiprocessing() -> None:  # pragma: no cover - in the zygote
    """This process is a main process now, not the worker's Process object."""
    try:
        from multiprocessing import process, util

        process._current_process = process._MainProcess()  # type: ignore[attr-defined]
        process._parent_process = None  # type: ignore[attr-defined]
        process._children = set()  # type: ignore[attr-defined]
        util._finalizer_registry.clear()  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        pass

