"""Assemble and run a sandbox: store, registry, API server, bootstrap and controllers.

:class:`Sandbox` runs on an asyncio loop (the daemon's, or one of its own);
:class:`SandboxThread` runs one in a background thread, for tests and
notebooks: ``with SandboxThread(tmp_path) as sb: sb.kubeconfig_path``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import threading
from pathlib import Path
from typing import Any, Callable

import yaml
from aiohttp import web

from . import bootstrap
from .registry import Registry
from .server import APIServer
from .store import Store
from .tls import TLS

log = logging.getLogger("kk.sandbox")

CONTEXT = "kk-sandbox"


class Sandbox:
    """One sandbox cluster.

    Args:
        state_dir: where ``state.db`` lives; None keeps everything in memory.
        port: TCP port on ``host``; 0 picks a free one.
        token: bearer token clients must send; generated (and kept in state_dir) if None.
        workers: worker nodes in a fresh cluster.
        mode: ``fast`` (near-instant pods, for tests and grading) or ``realistic`` (1-3 s per pod).
        controllers: run the controllers and the simulated node runtime.
        cluster: name prefix of the nodes (``kk-control-plane``...).
    """

    def __init__(self, state_dir: Path | None = None, *, port: int = 0, token: str | None = None,
                 workers: int = 2, mode: str = "fast", controllers: bool = True, cluster: str = "kk",
                 host: str = "127.0.0.1") -> None:
        if mode not in ("fast", "realistic"):
            raise ValueError(f"mode must be 'fast' or 'realistic', not {mode!r}")
        self.state_dir = Path(state_dir) if state_dir else None
        self.host = host
        self.port = port
        self.workers = workers
        self.mode = mode
        self.cluster = cluster
        self.run_controllers = controllers
        if self.state_dir:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            token = token or self._stored_token()
        self.token = token or secrets.token_hex(16)
        self.store = Store(self.state_dir / "state.db" if self.state_dir else None)
        self.registry = Registry(self.store)
        self.api = APIServer(self.registry, self.token)
        self.runner: web.AppRunner | None = None
        self.manager: Any = None
        self.tls = TLS(self.state_dir)

    def _stored_token(self) -> str:
        assert self.state_dir is not None
        path = self.state_dir / "token"
        if path.exists():
            return path.read_text().strip()
        tok = secrets.token_hex(16)
        path.write_text(tok)
        os.chmod(path, 0o600)
        return tok

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    async def start(self, *, defer_controllers: bool = False) -> None:
        """Bootstrap and listen, then start the controllers (unless ``defer_controllers``).

        The API answers before the controllers run, as a real API server is ready before the controller
        manager: objects created in between are picked up when the controllers resync.
        """
        bootstrap.ensure(self.registry, bootstrap.topology(self.cluster, self.workers))
        self.runner = web.AppRunner(self.api.app, access_log=None, handle_signals=False,
                                    shutdown_timeout=0.5)
        await self.runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self.runner, sock, ssl_context=self.tls.server_context())
        await site.start()
        if not defer_controllers:
            await self.start_controllers()

    async def start_controllers(self) -> None:
        """Start the controllers and simulated nodes, then warm OpenAPI off the loop."""
        if self.run_controllers and self.manager is None:
            from .controllers import ControllerManager

            self.manager = ControllerManager(self.registry, mode=self.mode, cluster=self.cluster,
                                             root_ca=self.tls.ca_path.read_text())
            await self.manager.start()
        # Build OpenAPI (and the validation tables) in a thread, so the first apply is fast.
        asyncio.get_running_loop().run_in_executor(None, self.api.warm_openapi)

    async def stop(self) -> None:
        self.api.stopping.set()
        for task in list(self.api.watch_tasks):
            task.cancel()
        if self.manager is not None:
            await self.manager.stop()
        if self.runner is not None:
            await self.runner.cleanup()
        self.store.close()

    def kubeconfig(self, context: str = CONTEXT, namespace: str | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = {"cluster": context, "user": context}
        if namespace:
            ctx["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": context, "cluster": {"server": self.url,
                                                        "certificate-authority-data": self.tls.ca_data}}],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
        }


class SandboxThread:
    """Run a :class:`Sandbox` on its own loop in a daemon thread.

    Use as a context manager; ``kubeconfig_path`` is written on start when a
    directory is given.
    """

    def __init__(self, state_dir: Path | None = None, **kwargs: Any) -> None:
        self.state_dir = Path(state_dir) if state_dir else None
        self.kwargs = kwargs
        self.sandbox: Sandbox | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.kubeconfig_path: Path | None = None

    def start(self) -> "SandboxThread":
        self._thread = threading.Thread(target=self._run, name="kk-sandbox", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("the sandbox did not start within 30 s")
        assert self.sandbox is not None
        if self.state_dir is not None:
            self.kubeconfig_path = self.state_dir / "kubeconfig"
            self.kubeconfig_path.write_text(yaml.safe_dump(self.sandbox.kubeconfig()))
            os.chmod(self.kubeconfig_path, 0o600)
        return self

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.sandbox = Sandbox(self.state_dir, **self.kwargs)
            self.loop.run_until_complete(self.sandbox.start())
        except BaseException as err:  # reported to the starting thread
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.sandbox.stop())
        self.loop.close()

    def call(self, fn: Callable[[], Any], timeout: float = 30) -> Any:
        """Run ``fn`` on the sandbox's loop thread and return its result."""
        assert self.loop is not None

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop is not None and self._thread is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(15)

    @property
    def url(self) -> str:
        assert self.sandbox is not None
        return self.sandbox.url

    @property
    def token(self) -> str:
        assert self.sandbox is not None
        return self.sandbox.token

    def ssl_context(self) -> Any:
        """An SSL context trusting this sandbox's CA, for raw HTTPS clients."""
        assert self.sandbox is not None
        return self.sandbox.tls.client_context()

    def __enter__(self) -> "SandboxThread":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
