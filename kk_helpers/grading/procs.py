"""Find and end the processes a grading job left behind, by scanning ``/proc`` (no psutil).

Every process a grading job starts — the sandbox daemon, the notebook's kernel, anything a learner's
notebook spawns — inherits the job's environment, which carries two markers: ``KK_GRADE_RUN`` (one per
``kk grade autograde`` run) and ``KK_GRADE_JOB`` (one per submission). ``/proc/<pid>/environ`` shows the
environment a process was started with, so a scan finds them even when they left our process group
(jupyter_client starts kernels in a new session, the sandbox daemon detaches too).

Only Linux has ``/proc``; elsewhere the scans find nothing and cleanup relies on the pid files.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming one ``kk grade autograde`` run.
RUN_MARKER = "KK_GRADE_RUN"
#: Environment variable naming one submission's job within a run.
JOB_MARKER = "KK_GRADE_JOB"

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcInfo:
    """A live process as ``/proc`` shows it.

    Attributes:
        pid: process id.
        cmdline: its arguments.
        environ: the environment it was started with (empty when unreadable).
    """

    pid: int
    cmdline: tuple[str, ...]
    environ: dict[str, str]

    @property
    def command(self) -> str:
        """The command line as one string."""
        return " ".join(self.cmdline)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far, 0 when unknown."""
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[-1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def rss_mb(pid: int) -> float:
    """Resident memory of a live process in MiB, NaN when unknown."""
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return float("nan")


def available_memory() -> int | None:
    """Bytes of memory available to new processes (``MemAvailable``), None where unknown."""
    try:
        for line in (_PROC / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _state(pid: int) -> str:
    """The one-letter state of ``pid`` (``Z`` for a zombie), or ``""`` when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return ""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) not in ("Z", "X") if _PROC.is_dir() else True


def processes() -> Iterator[ProcInfo]:
    """Every live, non-zombie process whose command line we may read, except this one."""
    if not _PROC.is_dir():
        return
    me = os.getpid()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == me or _state(pid) in ("", "Z", "X"):
            continue
        try:
            cmdline = tuple(a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a)
        except OSError:
            continue
        environ: dict[str, str] = {}
        try:
            for item in (entry / "environ").read_bytes().split(b"\0"):
                key, sep, value = item.decode(errors="replace").partition("=")
                if sep:
                    environ[key] = value
        except OSError:  # another user's process
            pass
        yield ProcInfo(pid, cmdline, environ)


def find(*, env: dict[str, str] | None = None, cmdline_contains: str | None = None) -> list[ProcInfo]:
    """Live processes started with all of ``env`` in their environment, or mentioning a string.

    Args:
        env: variables that must all be set to these values.
        cmdline_contains: a substring of the command line (e.g. a job's temporary directory).

    Returns:
        The matching processes (either condition matches), sorted by pid.
    """
    found = []
    for proc in processes():
        by_env = bool(env) and all(proc.environ.get(k) == v for k, v in (env or {}).items())
        by_cmd = bool(cmdline_contains) and cmdline_contains in proc.command
        if by_env or by_cmd:
            found.append(proc)
    return sorted(found, key=lambda p: p.pid)


def kill_all(procs: list[ProcInfo], *, grace: float = 2.0) -> list[int]:
    """SIGTERM each process, then SIGKILL what still runs after ``grace`` seconds.

    Args:
        procs: the processes to end.
        grace: seconds between SIGTERM and SIGKILL.

    Returns:
        The pids that were signalled.
    """
    pids = [p.pid for p in procs]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return pids


def sandbox_daemons(under: Path | None = None) -> list[ProcInfo]:
    """Running sandbox daemons (``python -m kk_helpers.sandbox.daemon``), optionally only those whose
    ``--state-dir`` lies under ``under``.

    Args:
        under: a directory, e.g. a grading run's temporary root.
    """
    found = []
    for proc in processes():
        if "kk_helpers.sandbox.daemon" not in proc.cmdline:
            continue
        if under is not None:
            args = list(proc.cmdline)
            state = args[args.index("--state-dir") + 1] if "--state-dir" in args[:-1] else ""
            if not state or not Path(state).resolve().is_relative_to(under.resolve()):
                continue
        found.append(proc)
    return found


def _start_time(pid: int) -> str:
    """The start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22), or ``""``."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[19]
    except (OSError, IndexError):
        return ""


def record(path: Path, pid: int) -> None:
    """Write ``pid`` and its start time to ``path``, for :func:`kill_recorded` (a process ``/proc`` cannot
    tell apart by environment: a forked kernel)."""
    path.write_text(f"{pid} {_start_time(pid)}\n")


def kill_recorded(path: Path, *, grace: float = 2.0) -> list[int]:
    """End the process :func:`record` wrote to ``path``, if that very process (same start time) still runs.

    Returns:
        The pid signalled, if any.
    """
    try:
        pid_text, _, started = path.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return []
    if not alive(pid) or _start_time(pid) != started:
        return []
    return kill_all([ProcInfo(pid, (), {})], grace=grace)
