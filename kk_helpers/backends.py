"""Three ways to a cluster, one API: choose and drive a backend.

``up`` picks kind when ``kind`` and a running Docker are present, else the
sandbox, and says why; ``down`` stops only what kk started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import KKError


@dataclass
class UpResult:
    """What ``kk up`` started or reused."""

    backend: str
    context: str
    server: str
    reused: bool
    reason: str = ""


def choose_backend(requested: str) -> tuple[str, str]:
    """Resolve ``auto`` to ``kind`` or ``sandbox``; returns (backend, why)."""
    if requested != "auto":
        return requested, f"--backend {requested} was asked for"
    from . import kind

    ok, why = kind.available()
    if ok:
        return "kind", "kind and a running Docker were found"
    return "sandbox", f"using the sandbox because {why}"


def up(*, backend: str = "auto", name: str = "kk", workers: int = 2, mode: str = "realistic",
       console: Any = None) -> UpResult:
    """Start (or reuse) a cluster and switch the kubeconfig to it."""
    chosen, why = choose_backend(backend)
    if console is not None and backend == "auto":
        console.print(f"[dim]{why}[/]")
    if chosen == "sandbox":
        from .sandbox import daemon

        info, reused = daemon.ensure_running(workers=workers, mode=mode)
        return UpResult("sandbox", info.context, info.server, reused, why)
    if chosen == "kind":
        from . import kind

        ctx, server, reused = kind.up(name=name, console=console)
        return UpResult("kind", ctx, server, reused, why)
    raise KKError(f"unknown backend {backend!r}; use one of: auto, sandbox, kind")


def down(*, backend: str = "auto", name: str = "kk") -> list[str]:
    """Stop what kk started; returns lines to show."""
    lines: list[str] = []
    from .sandbox import daemon

    if backend in ("auto", "sandbox"):
        lines.append(daemon.stop())
    if backend in ("auto", "kind"):
        from . import kind

        lines.extend(kind.down(name=name, only_if_ours=True))
    return [line for line in lines if line]


def status_lines() -> list[str]:
    """One line per backend saying what runs where."""
    from .sandbox import daemon

    lines = [daemon.status_line()]
    try:
        from . import kind

        lines.extend(kind.status_lines())
    except KKError as err:
        lines.append(f"kind: {err}")
    return lines
