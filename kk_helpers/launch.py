"""``kk lab``: a cluster plus JupyterLab on the labs, stopped cleanly with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import backends
from .errors import KKError


def run_lab(*, backend: str = "auto", labs_dir: Path = Path("labs"), port: int = 8888, open_browser: bool = False,
            stop_cluster: bool = False, console: Any = None, extra_args: list[str] | None = None) -> int:
    """Start (or reuse) a cluster, then run JupyterLab in the foreground until it exits or Ctrl-C.

    The cluster keeps running afterwards unless ``stop_cluster`` (``kk down`` stops it later).
    """
    labs_dir = labs_dir.resolve()
    if not labs_dir.is_dir():
        raise KKError(f"{labs_dir} does not exist — run kk lab from the repository root, or pass --labs-dir")
    result = backends.up(backend=backend, console=console)
    if console is not None:
        how = "reused" if result.reused else "started"
        console.print(f"[green]cluster[/] {result.context} ({result.backend}) {how} at {result.server}")
        console.print("[dim]JupyterLab is starting; open the URL with its token printed below. "
                      "Ctrl-C stops JupyterLab; the cluster keeps running (kk down stops it).[/]")
    env = dict(os.environ)
    env["KK_CONTEXT"] = result.context
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={labs_dir}", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=50", "--ServerApp.ip=127.0.0.1"]
    if not open_browser:
        cmd.append("--no-browser")
    cmd += extra_args or []
    proc = subprocess.Popen(cmd, env=env)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        # One Ctrl-C is enough: JupyterLab stops on SIGTERM without its y/n prompt.
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        code = 0
    finally:
        if stop_cluster:
            for line in backends.down(backend=result.backend, name="kk"):
                if console is not None:
                    console.print(line)
    return code
