"""Run the sandbox as a background daemon under ``$KK_HOME/sandbox``.

``ensure_running`` starts ``python -m kk_helpers.sandbox.daemon`` detached
(or reuses a healthy one), waits until it answers, and merges the
``kk-sandbox`` context into the kubeconfig the way kind does. The daemon writes
``server.json`` (pid, url) only once it listens; ``stop`` sends SIGTERM and
removes the context again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import kubeconfig
from ..config import SANDBOX_CONTEXT, sandbox_dir
from ..errors import KKError

START_TIMEOUT = 20.0
NODE_STOPPED_ANNOTATION = "sandbox.kk.dev/stopped"


@dataclass
class Info:
    """A running daemon."""

    pid: int
    url: str
    token: str
    state_dir: Path
    mode: str = "realistic"
    context: str = SANDBOX_CONTEXT

    @property
    def server(self) -> str:
        return self.url

    @property
    def ca_path(self) -> Path:
        return self.state_dir / "tls" / "ca.crt"

    @property
    def ca_data(self) -> str:
        import base64

        return base64.b64encode(self.ca_path.read_bytes()).decode()

    def ssl_context(self) -> "ssl.SSLContext":
        return ssl.create_default_context(cafile=str(self.ca_path))


def _info_path(state_dir: Path) -> Path:
    return state_dir / "server.json"


def read_info(state_dir: Path | None = None) -> Info | None:
    """The daemon recorded in ``state_dir``, if its process is alive."""
    state_dir = state_dir or sandbox_dir()
    try:
        data = json.loads(_info_path(state_dir).read_text())
        info = Info(int(data["pid"]), data["url"], data["token"], state_dir, data.get("mode", "realistic"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(info.pid):
        return None
    return info


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def healthy(info: Info, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(info.url + "/readyz", timeout=timeout, context=info.ssl_context()) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError, ssl.SSLError):
        return False


def _merge_context(info: Info) -> None:
    doc = kubeconfig.build(SANDBOX_CONTEXT, info.url, token=info.token, ca_data=info.ca_data)
    kubeconfig.merge(kubeconfig.default_path(), doc)


def ensure_running(*, workers: int = 2, mode: str = "realistic", state_dir: Path | None = None,
                   write_kubeconfig: bool = True) -> tuple[Info, bool]:
    """Start the daemon unless a healthy one runs; returns (info, reused)."""
    state_dir = state_dir or sandbox_dir()
    info = read_info(state_dir)
    if info is not None and healthy(info):
        if write_kubeconfig:
            _merge_context(info)
        return info, True
    state_dir.mkdir(parents=True, exist_ok=True)
    _info_path(state_dir).unlink(missing_ok=True)
    logf = open(state_dir / "sandbox.log", "ab")
    cmd = [sys.executable, "-m", "kk_helpers.sandbox.daemon", "--state-dir", str(state_dir),
           "--workers", str(workers), "--mode", mode]
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)
    logf.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (state_dir / "sandbox.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise KKError("the sandbox exited while starting (" + (" | ".join(tail) or f"exit {proc.returncode}")
                          + f"); see {state_dir / 'sandbox.log'}")
        info = read_info(state_dir)
        if info is not None and healthy(info, timeout=0.5):
            if write_kubeconfig:
                _merge_context(info)
            return info, False
        time.sleep(0.05)
    proc.terminate()
    raise KKError(f"the sandbox did not answer within {START_TIMEOUT:.0f} s; see {state_dir / 'sandbox.log'}")


def stop(state_dir: Path | None = None, *, remove_context: bool = True) -> str:
    """Stop the daemon and remove its kubeconfig context."""
    state_dir = state_dir or sandbox_dir()
    info = read_info(state_dir)
    msg = "sandbox: not running"
    if info is not None:
        try:
            os.kill(info.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while _alive(info.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(info.pid):
            os.kill(info.pid, signal.SIGKILL)
        msg = f"sandbox: stopped (pid {info.pid}); its objects stay in {state_dir / 'state.db'}"
    _info_path(state_dir).unlink(missing_ok=True)
    if remove_context:
        kubeconfig.remove(kubeconfig.default_path(), SANDBOX_CONTEXT)
    return msg


def status_line(state_dir: Path | None = None) -> str:
    state_dir = state_dir or sandbox_dir()
    info = read_info(state_dir)
    if info is None:
        return "sandbox: not running (start it with: kk up --backend sandbox)"
    state = "ready" if healthy(info) else "not answering"
    return f"sandbox: {state} at {info.url} (pid {info.pid}, mode {info.mode}, context {SANDBOX_CONTEXT}, state {state_dir})"


def set_node_running(node: str, *, running: bool, state_dir: Path | None = None) -> str:
    """Failure drill: mark a node stopped (NotReady, pods evicted) or started again."""
    info = read_info(state_dir or sandbox_dir())
    if info is None:
        raise KKError("the sandbox is not running; start it with: kk up --backend sandbox")
    value = None if running else "true"
    body = json.dumps({"metadata": {"annotations": {NODE_STOPPED_ANNOTATION: value}}}).encode()
    req = urllib.request.Request(f"{info.url}/api/v1/nodes/{node}", data=body, method="PATCH",
                                 headers={"Authorization": f"Bearer {info.token}",
                                          "Content-Type": "application/merge-patch+json"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=info.ssl_context()):
            pass
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise KKError(f"there is no node {node!r}; list them with: kubectl get nodes") from err
        raise KKError(f"the sandbox refused to change node {node!r}: {err.read().decode(errors='replace')}") from err
    return f"node/{node} " + ("started: it turns Ready again" if running else
                              "stopped: it turns NotReady and its pods are evicted shortly")


@contextmanager
def _without_system_trust_store() -> Iterator[None]:
    """Import the server without loading the system's CA certificates.

    aiohttp builds its default *client* TLS contexts when it is imported, loading the whole system trust
    store (about 60 ms, an eighth of the sandbox's start). The sandbox never makes an outgoing TLS
    connection, so for the import the trust store paths point at an empty file.
    """
    saved = {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    os.environ["SSL_CERT_FILE"] = os.environ["SSL_CERT_DIR"] = os.devnull
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def serve_foreground(*, port: int = 0, state_dir: Path | None = None, workers: int = 2, mode: str = "realistic",
                     write_kubeconfig: bool = False, controllers: bool = True) -> None:
    """Run the sandbox in this process until SIGINT/SIGTERM."""
    with _without_system_trust_store():
        from .app import Sandbox

    state_dir = Path(state_dir) if state_dir else sandbox_dir()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        sb = Sandbox(state_dir, port=port, workers=workers, mode=mode, controllers=controllers)
        await sb.start(defer_controllers=True)
        info = {"pid": os.getpid(), "url": sb.url, "token": sb.token, "mode": mode}
        tmp = _info_path(state_dir).with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        os.chmod(tmp, 0o600)
        os.replace(tmp, _info_path(state_dir))
        if write_kubeconfig:
            _merge_context(Info(os.getpid(), sb.url, sb.token, state_dir, mode))
        await sb.start_controllers()
        print(f"kk sandbox listening on {sb.url} (context {SANDBOX_CONTEXT})", flush=True)
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_event.set)
        await stop_event.wait()
        await sb.stop()
        try:
            if json.loads(_info_path(state_dir).read_text()).get("pid") == os.getpid():
                _info_path(state_dir).unlink()
        except (OSError, ValueError):
            pass

    asyncio.run(main())


def _main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m kk_helpers.sandbox.daemon")
    p.add_argument("--state-dir", type=Path, default=None)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--mode", default="realistic", choices=["fast", "realistic"])
    p.add_argument("--no-controllers", action="store_true", help="serve the API only (benchmarks)")
    args = p.parse_args(argv)
    serve_foreground(port=args.port, state_dir=args.state_dir, workers=args.workers, mode=args.mode,
                     controllers=not args.no_controllers)


if __name__ == "__main__":
    _main()
