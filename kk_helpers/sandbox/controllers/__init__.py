"""Controllers and the simulated node runtime that make sandbox objects live.

Each module in :data:`INSTALLERS` exposes ``install(manager)``, which adds its
controllers (and services such as the NodePort proxy) to the manager.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import Any, Awaitable, Callable

from ..registry import Registry
from .base import Controller, ManagerBase, Timing

log = logging.getLogger("kk.sandbox.controllers")

#: Modules (relative to this package) whose ``install(manager)`` adds controllers.
INSTALLERS: tuple[str, ...] = ("workloads", "runtime")


class ControllerManager(ManagerBase):
    """Owns every controller and background service of one sandbox."""

    def __init__(self, registry: Registry, *, mode: str = "fast", cluster: str = "kk",
                 root_ca: str | None = None) -> None:
        """Build every controller.

        Args:
            registry: the sandbox's registry (and through it, its store).
            mode: ``fast`` or ``realistic`` timing (see :class:`Timing`).
            cluster: name prefix of the nodes.
            root_ca: PEM of the CA that signs the API server's certificate, published in every namespace as
                ``kube-root-ca.crt``; None looks for ``tls/ca.crt`` next to the store's database.
        """
        self.root_ca = root_ca
        super().__init__(registry, mode=mode, cluster=cluster)
        self._services: list[tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]] = []
        self.state: dict[str, Any] = {}
        for mod in INSTALLERS:
            try:
                module = importlib.import_module(f"{__name__}.{mod}")
            except ModuleNotFoundError as err:
                if err.name != f"{__name__}.{mod}":
                    raise
                log.warning("controller module %s is not available", mod)
                continue
            module.install(self)

    def add_service(self, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]) -> None:
        """A background service (e.g. the NodePort proxy) started and stopped with the controllers."""
        self._services.append((start, stop))

    async def start(self) -> None:
        self.registry.store.add_listener(self.dispatch)
        for start, _ in self._services:
            await start()
        for c in self.controllers:
            c.start()

    async def stop(self) -> None:
        for c in self.controllers:
            await c.stop()
        for _, stop in reversed(self._services):
            try:
                await stop()
            except Exception:
                log.exception("stopping a service failed")
        await asyncio.sleep(0)


__all__ = ["ControllerManager", "Controller", "Timing"]
