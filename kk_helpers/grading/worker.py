"""One grading job, in its own process: a fresh sandbox, then ``nbgrader autograde`` of one student's lab.

:func:`run` is the target of a process forked from a multiprocessing *forkserver* that imported this module —
and so nbgrader, nbconvert and SQLAlchemy, two seconds of imports — once. Each job is still a separate,
fresh process (forked from a server that never graded anything), killable on its own; it does what
``KK_HOME=<tmp> kk sandbox ... && KUBECONFIG=<tmp>/kubeconfig KK_CONTEXT=kk-sandbox nbgrader autograde LAB
--student S --db <copy>`` would do:

1. it forks the notebook's kernel-to-be at once, while it is single-threaded and has graded nothing
   (:mod:`kk_helpers.grading.kernels`: the kernel then starts with ipykernel and the Kubernetes client
   already imported, by the forkserver);
2. its environment gets ``KK_HOME`` (a temporary directory of its own), the grading markers
   (:mod:`kk_helpers.grading.procs`), ``KUBECACHEDIR`` and ``TMPDIR`` inside the job directory, and the Python
   environment's ``bin/`` on ``PATH``;
3. with the sandbox backend it starts a sandbox daemon in fast mode under that ``KK_HOME`` (forked from this
   process, see :func:`start_sandbox`) and writes a kubeconfig for it; the kernel nbgrader starts gets
   ``KUBECONFIG=<that file>`` and ``KK_CONTEXT=kk-sandbox``;
4. it runs nbgrader's ``AutogradeApp`` in-process against the job's gradebook copy, after checking that the
   course configuration did not redirect it to another database;
5. it stops the sandbox (``finally``) and writes ``result.json`` for the parent.

Output (nbgrader's log, the kernel's own stderr) goes to ``worker.log`` in the job directory.
"""

from __future__ import annotations

import ctypes
import gc
import glob
import importlib
import json
import os
import pkgutil
import resource
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Imported here, before any fork, so the forkserver pays for them once.
import nbgrader.apps.autogradeapp  # noqa: F401
import nbgrader.preprocessors  # noqa: F401
from sqlalchemy.exc import SAWarning

from .. import kubeconfig
from ..config import SANDBOX_CONTEXT
from ..errors import KKError
from ..sandbox import daemon
from . import kernels, preprocessors  # noqa: F401
from .course import tool_env
from . import procs
from .procs import JOB_MARKER, RUN_MARKER

#: Modules a job would otherwise import lazily (the sandbox server, its controllers and certificates; finding
#: the python3 kernelspec imports IPython; the gradebook copy needs SQLAlchemy's SQLite dialect): imported by
#: the forkserver once (:func:`preload`), not by every job.
PRELOAD = ("kk_helpers.sandbox.app", "kk_helpers.sandbox.controllers", "ipykernel.kernelspec", "IPython",
           "IPython.core.interactiveshell", "jupyter_client.manager", "jupyter_client.asynchronous", "nbclient",
           "sqlalchemy.dialects.sqlite", "sqlite3", "psutil", "encodings.unicode_escape",
           # the sandbox makes its TLS certificates with these (0.03 CPU s to import)
           "cryptography.x509", "cryptography.x509.oid", "cryptography.hazmat.primitives.asymmetric.ec",
           "cryptography.hazmat.primitives.hashes", "cryptography.hazmat.primitives.serialization",
           "cryptography.hazmat.backends.openssl", "croniter")


def preload() -> None:
    """For the forkserver: import :data:`PRELOAD` and every sandbox controller module (which the sandbox imports
    as it starts them, 0.03 CPU s), and fill the caches each job would fill again — nbformat's compiled
    notebook schema validators (0.035 CPU s)."""
    from nbformat.validator import get_validator

    from ..sandbox import controllers

    names = list(PRELOAD) + [m.name for m in pkgutil.walk_packages(controllers.__path__, controllers.__name__ + ".")]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - optional speed-up only
            pass
    for minor in (4, 5):
        get_validator(version=4, version_minor=minor)


#: prctl(2) option: signal to receive when the parent dies.
PR_SET_PDEATHSIG = 1

#: The job's result file, written by :func:`run`, read by the parent.
RESULT_FILE = "result.json"
#: The job's log file.
LOG_FILE = "worker.log"


@dataclass(frozen=True)
class JobSpec:
    """Everything one grading job needs (picklable: it crosses into the worker process).

    Attributes:
        course_root: the course directory.
        assignment: the lab.
        student: the student id.
        job_dir: the job's private temporary directory (``KK_HOME``, kubeconfig, gradebook copy, log).
        db_path: the job's gradebook copy.
        backend: ``sandbox`` (a fresh one) or ``current`` (the cluster the environment points at).
        run_id: the run's marker value.
        job_id: the job's marker value.
        cell_timeout: ``Execute.timeout`` in seconds (None: the course config's).
        check_timeout: ``$KK_CHECK_TIMEOUT`` for the lab's checks (None: leave it).
        sandbox_workers: worker nodes of the sandbox.
        env: the environment the job runs with (see :func:`environment`); the worker replaces its own with it.
    """

    course_root: str
    assignment: str
    student: str
    job_dir: str
    db_path: str
    backend: str = "sandbox"
    run_id: str = ""
    job_id: str = ""
    cell_timeout: int | None = None
    check_timeout: float | None = None
    sandbox_workers: int = 2
    env: dict[str, str] = field(default_factory=dict)

    @property
    def kk_home(self) -> Path:
        """The job's ``KK_HOME``."""
        return Path(self.job_dir) / "home"

    @property
    def sandbox_dir(self) -> Path:
        """The job's sandbox state directory."""
        return self.kk_home / "sandbox"

    @property
    def kubeconfig_path(self) -> Path:
        """The kubeconfig written for the job's sandbox."""
        return Path(self.job_dir) / "kubeconfig"

    @property
    def db_url(self) -> str:
        """SQLAlchemy URL of the gradebook copy."""
        return f"sqlite:///{self.db_path}"


@dataclass
class JobOutcome:
    """What a worker reports in ``result.json``.

    Attributes:
        phase: how far it got: ``start``, ``sandbox``, ``autograde``, ``done``.
        exit_code: nbgrader's exit status (0: every notebook converted).
        error: why the job could not run, if so.
        sandbox_url: the job's API server.
        sandbox_pid: the job's sandbox daemon.
        timings: seconds per phase (``sandbox``, ``autograde``, ``total``) and ``cpu``, the CPU seconds of the
            job's processes (worker, kernel, sandbox), with ``cpu_worker`` and ``cpu_sandbox`` its parts.
    """

    phase: str = "start"
    exit_code: int | None = None
    error: str = ""
    sandbox_url: str = ""
    sandbox_pid: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def job_config(spec: JobSpec) -> str:
    """The ``nbgrader_config.py`` placed in the job directory (nbgrader's working directory).

    Values go through a config file, not the command line: traitlets would expand ``~`` and strip quotes in
    command-line strings, and the student option is a glob (so it is escaped here).
    """
    lines = [
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.root = {spec.course_root!r}",
        f"c.CourseDirectory.assignment_id = {spec.assignment!r}",
        f"c.CourseDirectory.student_id = {glob.escape(spec.student)!r}",
        f"c.CourseDirectory.db_url = {spec.db_url!r}",
        "c.BaseConverter.force = True",
        "c.NbGrader.logfile = ''",
    ]
    return "\n".join(lines) + "\n"


#: Variables a sandbox job must not inherit from the instructor's shell.
_PRIVATE = ("KUBECONFIG", "KK_CONTEXT", "KK_HOME", "KK_NAMESPACE_PREFIX", "KK_SOURCE_KUBECONFIG")


def environment(spec: JobSpec, base: dict[str, str] | None = None) -> dict[str, str]:
    """The job's environment (before the sandbox's ``KUBECONFIG``/``KK_CONTEXT`` are added).

    With the sandbox backend the instructor's ``KUBECONFIG``, ``KK_CONTEXT`` and ``KK_HOME`` are dropped, so
    nothing in the notebook can reach the instructor's clusters; with ``current`` they are kept.

    Args:
        spec: the job.
        base: the environment to start from; default ``os.environ``.
    """
    env = tool_env(base)
    if spec.backend == "sandbox":
        for key in _PRIVATE:
            env.pop(key, None)
    env[RUN_MARKER] = spec.run_id
    env[JOB_MARKER] = spec.job_id
    env["KUBECACHEDIR"] = str(Path(spec.job_dir) / "kube-cache")
    # Kernel connection files and the like go with the job directory, even when a killed kernel leaves them.
    env["TMPDIR"] = str(Path(spec.job_dir) / "tmp")
    env["KK_SANDBOX_MODE"] = "fast"
    # kubectl is a Go program that lives a fraction of a second: garbage collection costs it ~20% of its CPU
    # time (10 ms a call, measured) and frees nothing that matters; the limit bounds a long-running one.
    env.setdefault("GOGC", "off")
    env.setdefault("GOMEMLIMIT", "256MiB")
    if spec.backend == "sandbox":
        env["KK_HOME"] = str(spec.kk_home)
    if spec.check_timeout is not None:
        env["KK_CHECK_TIMEOUT"] = str(spec.check_timeout)
    return env


def _write(spec: JobSpec, outcome: JobOutcome) -> None:
    path = Path(spec.job_dir) / RESULT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(outcome)))
    os.replace(tmp, path)


def read_outcome(job_dir: Path) -> JobOutcome | None:
    """The outcome a worker wrote, or None if it wrote none (it was killed or crashed)."""
    try:
        data = json.loads((Path(job_dir) / RESULT_FILE).read_text())
        return JobOutcome(**data)
    except (OSError, ValueError, TypeError):
        return None


def start_sandbox(spec: JobSpec) -> daemon.Info:
    """Start the job's sandbox daemon (fast mode) and write its kubeconfig.

    The daemon is this process forked — it runs :func:`kk_helpers.sandbox.daemon.serve_foreground`, the code
    ``kk sandbox serve`` and ``python -m kk_helpers.sandbox.daemon`` run — so it starts with the sandbox already
    imported (a fresh interpreter would spend 0.4 CPU s on imports, per submission). Like the daemon
    ``daemon.ensure_running`` starts, it gets a session of its own, writes ``server.json`` once it listens and
    stops on SIGTERM (:func:`kk_helpers.sandbox.daemon.stop`); it also gets SIGTERM from the kernel if this
    process dies first, so it can never outlive its job.

    Raises:
        KKError: the daemon exited or did not answer within ``daemon.START_TIMEOUT`` seconds.
    """
    state = spec.sandbox_dir
    state.mkdir(parents=True, exist_ok=True)
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the sandbox daemon
        code = 0
        try:
            _become_daemon(parent, state / "sandbox.log")
            daemon.serve_foreground(state_dir=state, workers=spec.sandbox_workers, mode="fast")
        except BaseException:  # noqa: BLE001 - reported in sandbox.log, then the process ends
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + daemon.START_TIMEOUT
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            tail = (state / "sandbox.log").read_text(errors="replace").strip().splitlines()[-3:]
            raise KKError("the sandbox exited while starting (" + " | ".join(tail) + f"); see {state / 'sandbox.log'}")
        info = daemon.read_info(state)
        if info is not None and info.pid == pid and daemon.healthy(info, timeout=0.5):
            kubeconfig.save(spec.kubeconfig_path, kubeconfig.build(SANDBOX_CONTEXT, info.url, token=info.token,
                                                                   ca_data=info.ca_data))
            return info
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    _reap(pid)
    raise KKError(f"the sandbox did not answer within {daemon.START_TIMEOUT:.0f} s; see {state / 'sandbox.log'}")


def _become_daemon(parent: int, log: Path) -> None:
    """In the forked sandbox: own session, SIGTERM when the job's process dies, stdio to the log, no other fds."""
    os.setsid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the pid file is the only handle
        pass
    if os.getppid() != parent:  # the job died before prctl: do not start at all
        os._exit(0)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.closerange(3, 65536)


def autograde(spec: JobSpec) -> int:
    """Run nbgrader's AutogradeApp for one submission in this process; returns its exit status.

    Raises:
        KKError: nbgrader could not start (a broken config), or the course configuration points it at another
            gradebook or student.
    """
    from nbgrader.apps.autogradeapp import AutogradeApp

    argv = [f"--CourseDirectory.db_url={spec.db_url}",
            f"--NotebookClient.kernel_manager_class={kernels.__name__}.ForkedKernelManager"]
    if spec.cell_timeout:
        argv.append(f"--Execute.timeout={int(spec.cell_timeout)}")
    app = AutogradeApp.instance()
    try:
        app.initialize(argv)
    except SystemExit as exc:  # a broken nbgrader_config.py: nothing was graded, so nobody gets a zero for it
        raise KKError(f"nbgrader could not start (exit {exc.code}): check nbgrader_config.py; the job's log has "
                      f"the details") from None
    try:
        if app.coursedir.db_url != spec.db_url:
            raise KKError(f"the course configuration points nbgrader at {app.coursedir.db_url}, not at the job's "
                          f"gradebook copy; remove CourseDirectory.db_url from nbgrader_config.py")
        if app.coursedir.student_id != glob.escape(spec.student):
            raise KKError("the course configuration sets CourseDirectory.student_id; remove it from "
                          "nbgrader_config.py")
        app.start()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def run(spec: JobSpec) -> None:
    """Process entry point: grade one submission in a fresh sandbox, always stop the sandbox."""
    log = open(Path(spec.job_dir) / LOG_FILE, "ab", buffering=0)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    # The notebook's kernel-to-be: forked now, while this process is single-threaded and has graded nothing.
    # Frozen objects are left alone by the collector, so neither process copies the preloaded heap.
    gc.freeze()
    kernels.start_zygote(Path(spec.job_dir))
    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's own session use; noise in the log
    outcome = JobOutcome()
    _write(spec, outcome)
    os.environ.clear()
    os.environ.update(spec.env or environment(spec))
    tempfile.tempdir = None  # re-read $TMPDIR
    Path(os.environ["TMPDIR"]).mkdir(parents=True, exist_ok=True)
    os.chdir(spec.job_dir)
    (Path(spec.job_dir) / "nbgrader_config.py").write_text(job_config(spec))
    t0 = time.monotonic()
    try:
        if spec.backend == "sandbox":
            outcome.phase = "sandbox"
            info = start_sandbox(spec)
            os.environ.update(KUBECONFIG=str(spec.kubeconfig_path), KK_CONTEXT=SANDBOX_CONTEXT)
            outcome.sandbox_url, outcome.sandbox_pid = info.url, info.pid
            outcome.timings["sandbox"] = round(time.monotonic() - t0, 3)
            print(f"kk grade: sandbox for {spec.student}/{spec.assignment} at {info.url} (pid {info.pid})", flush=True)
        outcome.phase = "autograde"
        _write(spec, outcome)
        t1 = time.monotonic()
        outcome.exit_code = autograde(spec)
        outcome.timings["autograde"] = round(time.monotonic() - t1, 3)
        outcome.phase = "done"
    except KKError as err:
        outcome.error = str(err)
    except Exception as err:  # reported to the parent, which grades the submission as failed
        outcome.error = f"{type(err).__name__}: {err}"
        traceback.print_exc()
    finally:
        kernels.stop_zygote()
        if spec.backend == "sandbox":
            outcome.timings["cpu_sandbox"] = round(procs.cpu_seconds(outcome.sandbox_pid), 3)
            try:
                daemon.stop(spec.sandbox_dir, remove_context=False)
            except Exception:  # the parent checks again and kills what is left
                traceback.print_exc()
            _reap(outcome.sandbox_pid)
        outcome.timings["total"] = round(time.monotonic() - t0, 3)
        outcome.timings["cpu"] = round(_cpu_seconds(), 3)
        outcome.timings["cpu_worker"] = round(_cpu_seconds(children=False), 3)
        _write(spec, outcome)
        sys.stdout.flush()
        sys.stderr.flush()



def _reap(pid: int) -> None:
    """Collect a stopped child (the sandbox daemon), so it is no zombie and its CPU time is counted."""
    if pid <= 0:
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # not our child, or already collected
        pass


def _cpu_seconds(*, children: bool = True) -> float:
    """CPU seconds of this process (nbgrader) and, by default, of its collected children (kernel, sandbox)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    total = me.ru_utime + me.ru_stime
    if children:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += kids.ru_utime + kids.ru_stime
    return total


def spec_to_json(spec: JobSpec) -> str:
    """``spec`` as JSON (for the ``python -m kk_helpers.grading.worker SPEC.json`` entry point)."""
    return json.dumps(asdict(spec))


def _main(argv: list[str] | None = None) -> None:
    """``python -m kk_helpers.grading.worker SPEC.json``: run one job from a spec file (a plain-subprocess
    launcher, and a way to rerun one job by hand)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m kk_helpers.grading.worker SPEC.json")
    run(JobSpec(**json.loads(Path(args[0]).read_text())))


if __name__ == "__main__":
    _main()
