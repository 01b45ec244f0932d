"""What a simulated program does, one step at a time.

A container's program is a generator of these actions; the kubelet applies
them on the sandbox clock (output goes to the container log, sleeps become
timers, file operations go to the pod's file system).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Generator

from .catalog import ImageRef, ImageSpec

@dataclass
class Output:
    """One line (or several) written to stdout/stderr."""

    text: str


@dataclass
class Sleep:
    """Time passing inside the program, in the program's own seconds (``math.inf`` = forever)."""

    seconds: float


@dataclass
class Tick:
    """A command ran (costs a little simulated time; lets the runner stop a runaway loop)."""


@dataclass
class FileOp:
    """A file written (``content``), appended (``append``) or removed (``content is None``)."""

    path: str
    content: str | None
    append: bool = False


@dataclass
class Serve:
    """A server starts listening; ``foreground`` servers never return."""

    server: str
    port: int
    args: tuple[str, ...] = ()
    foreground: bool = True


@dataclass
class Exit:
    """The program ends with this code."""

    code: int


Action = Output | Sleep | Tick | FileOp | Serve | Exit
Program = Generator[Action, None, int]


class ExitNow(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class StartFailure(Exception):
    """The container cannot start at all (``exec: "x": executable file not found in $PATH``)."""


@dataclass
class ProcessEnv:
    """What a program sees: its image, environment, hostname, clock and file system."""

    spec: ImageSpec | None
    ref: ImageRef | None
    env: dict[str, str]
    hostname: str
    pod_ip: str = ""
    clock: Callable[[], float] = time.time
    read_file: Callable[[str], str | None] = lambda path: None
    list_dir: Callable[[str], list[str]] = lambda path: []
    http_get: Callable[[str], tuple[int, str] | None] | None = None
