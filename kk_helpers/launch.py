"""``kk lab``: a cluster plus JupyterLab on the labs, stopped cleanly with one Ctrl-C.

JupyterLab runs as a child in its own process group with stdin closed, so the terminal's Ctrl-C reaches only
``kk``, which stops JupyterLab with SIGTERM — no "Shut down this Jupyter server (y/[n])?" prompt, no traceback,
exit code 0. SIGTERM and SIGHUP to ``kk`` (a closed terminal) stop JupyterLab the same way. Once JupyterLab
listens, ``kk`` prints its URL with the login token on one unwrapped line (read from JupyterLab's own
``jpserver-<pid>.json``, so the port is the real one even when the asked-for port was taken). The cluster keeps
running afterwards; ``kk down`` stops it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import backends
from .errors import KKError

#: Seconds JupyterLab gets to shut its kernels down after SIGTERM before it is killed.
STOP_TIMEOUT = 20.0
#: JupyterLab's log level: its INFO and WARN lines (extensions loaded, kernels started, "notebook is not
#: trusted" on every open) would bury the URL; ``KK_LAB_LOG_LEVEL=INFO`` brings them back.
LOG_LEVEL = "ERROR"


def jupyter_command(labs_dir: Path, port: int, *, open_browser: bool = False,
                    extra_args: list[str] | None = None) -> list[str]:
    """The ``jupyter lab`` command line ``kk lab`` runs."""
    level = os.environ.get("KK_LAB_LOG_LEVEL") or LOG_LEVEL
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={labs_dir}", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=50", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.log_level={level}", f"--ExtensionApp.log_level={level}"]
    if not (labs_dir / "nbgrader_config.py").exists():
        # Not an nbgrader course (learners' labs/): the instructors' formgrader would only warn that it found
        # no nbgrader_config.py. Validate and the assignment list stay.
        cmd.append("--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=False")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Containers and cloud shells often run as root; JupyterLab refuses to start as root without this.
        # It listens on 127.0.0.1 only and requires its token, as always.
        cmd.append("--allow-root")
    if not open_browser:
        cmd.append("--no-browser")
    return cmd + list(extra_args or [])


def server_info(pid: int, token: str | None = None, root: Path | None = None) -> dict[str, Any] | None:
    """What JupyterLab wrote to its ``jpserver-<pid>.json`` once listening, if it has.

    The file of process ``pid`` (``python -m jupyter lab`` execs JupyterLab in place on POSIX), or else — Windows
    starts it as a child — the one serving ``root`` with ``token``.
    """
    from jupyter_core.paths import jupyter_runtime_dir

    runtime = Path(jupyter_runtime_dir())
    candidates = [runtime / f"jpserver-{pid}.json"]
    if token:
        candidates += sorted(runtime.glob("jpserver-*.json"))
    for path in candidates:
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or not info.get("url"):
            continue
        if info.get("pid") == pid or (token and info.get("token") == token and root is not None
                                      and Path(str(info.get("root_dir", ""))).resolve() == root.resolve()):
            return info
    return None


def lab_url(info: dict[str, Any]) -> str:
    """The URL to open: ``<server>/lab`` with the token when there is one."""
    url = str(info["url"]).rstrip("/") + "/lab"
    token = info.get("token")
    return f"{url}?token={token}" if token else url


def _say(console: Any, text: str, *, plain: bool = False) -> None:
    if console is None:
        return
    if plain:  # URLs: never wrapped or re-styled, so they stay copy-pasteable and clickable
        console.print(text, soft_wrap=True, markup=False, highlight=False)
    else:
        console.print(text, soft_wrap=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _stop_jupyter(proc: subprocess.Popen[bytes], console: Any) -> None:
    """SIGTERM, then wait for JupyterLab to shut its kernels down; kill it after STOP_TIMEOUT or another Ctrl-C."""
    if proc.poll() is not None:
        return
    if console is not None and getattr(console, "is_terminal", False):
        console.print()  # past the ^C the terminal echoed
    _say(console, "[dim]stopping JupyterLab (its kernels shut down first)…[/]")
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        proc.kill()
        proc.wait()


def run_lab(*, backend: str = "auto", labs_dir: Path = Path("labs"), port: int = 8888, open_browser: bool = False,
            stop_cluster: bool = False, console: Any = None, extra_args: list[str] | None = None) -> int:
    """Start (or reuse) a cluster, then run JupyterLab in the foreground until it exits or Ctrl-C.

    Returns 0 after Ctrl-C (or SIGTERM/SIGHUP), else JupyterLab's exit code. The cluster keeps running
    afterwards unless ``stop_cluster`` (``kk down`` stops it later). A sandbox started here uses
    ``$KK_SANDBOX_MODE`` (``realistic`` by default, as ``kk.connect()`` does); a running one is reused as is.
    """
    labs_dir = labs_dir.resolve()
    if not labs_dir.is_dir():
        raise KKError(f"{labs_dir} does not exist — run kk lab from the repository root, or pass --labs-dir")
    result = backends.up(backend=backend, mode=os.environ.get("KK_SANDBOX_MODE", "realistic"), console=console)
    how = "reused" if result.reused else "started"
    _say(console, f"[green]cluster[/] {result.context} ({result.backend}) {how} at {result.server}")
    _say(console, f"[dim]JupyterLab is starting on {labs_dir} …[/]")
    env = dict(os.environ)
    env["KK_CONTEXT"] = result.context
    # kubectl and kk live next to this Python (.venv/bin): put them first on the PATH of JupyterLab's terminals
    # and kernels, so `kubectl` works there even when the learner never activated the virtualenv.
    bindir = str(Path(sys.executable).parent)
    if env.get("PATH", "").split(os.pathsep)[0] != bindir:
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    # kk makes the token (unless JUPYTER_TOKEN is set) and prints the URL itself once JupyterLab listens, so
    # JupyterLab's own banner does not repeat it; the environment, unlike argv, is private to this user.
    token = env.setdefault("JUPYTER_TOKEN", secrets.token_hex(24))
    posix = os.name == "posix"
    handled = [signal.SIGTERM] + ([signal.SIGHUP] if posix else [])
    if threading.current_thread() is not threading.main_thread():
        handled = []  # only the main thread may set signal handlers; Ctrl-C still arrives as KeyboardInterrupt
    previous = {sig: signal.signal(sig, _interrupt) for sig in handled}
    proc: subprocess.Popen[bytes] | None = None
    interrupted = False
    try:
        kwargs: dict[str, Any] = {"process_group": 0} if posix else {}
        proc = subprocess.Popen(jupyter_command(labs_dir, port, open_browser=open_browser, extra_args=extra_args),
                                env=env, stdin=subprocess.DEVNULL, cwd=labs_dir, **kwargs)
        info = None
        while proc.poll() is None and info is None:
            info = server_info(proc.pid, token, labs_dir)
            if info is None:
                time.sleep(0.1)
        if info is not None:
            _say(console, "[bold green]JupyterLab is ready.[/] Open this URL in your browser (it carries your "
                          "login token):")
            _say(console, "    " + lab_url(info), plain=True)
            _say(console, f"[dim]Ctrl-C stops JupyterLab; the cluster {result.context} keeps running "
                          "(kk down stops it).[/]")
        code = proc.wait()
        if code != 0:
            _say(console, f"[red]JupyterLab exited with code {code}[/]; its messages are above.")
    except KeyboardInterrupt:
        interrupted = True
        code = 0
        if proc is not None:
            _stop_jupyter(proc, console)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stop_cluster:
            for line in backends.down(backend=result.backend, name="kk"):
                _say(console, line)
    if interrupted and not stop_cluster:
        _say(console, f"JupyterLab stopped. The cluster {result.context} keeps running: [bold]kk down[/] stops it, "
                      "[bold]kk lab[/] brings JupyterLab back.")
    return code
