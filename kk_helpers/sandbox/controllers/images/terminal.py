"""What a terminal does for ``kubectl exec -it``: the line discipline and the shell's prompt.

There are no real containers, so no kernel tty either: :class:`LineDiscipline`
does what a tty in canonical mode does for the simulated shell. It echoes what
is typed, handles backspace, Ctrl-U, Ctrl-C (abandon the line) and Ctrl-D (end
of input on an empty line), swallows escape sequences (arrow keys), and hands
over complete lines. Without a TTY (``kubectl exec -i``) it only splits lines.

Nothing here does I/O: :meth:`LineDiscipline.feed` returns the bytes to echo
and the events for the shell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalog import ImageSpec
from .commands import SHELL_NAMES

#: Longest line kept (a real tty stops at 4095 characters too).
MAX_LINE = 4095


@dataclass
class Event:
    """Something the shell must act on: a ``line``, an ``interrupt`` (Ctrl-C) or ``eof`` (Ctrl-D)."""

    kind: str
    text: str = ""


@dataclass
class LineDiscipline:
    """A canonical-mode tty (``tty=True``) or a plain line splitter (``tty=False``)."""

    tty: bool
    line: str = ""
    _escape: str = ""
    _pending: bytes = b""
    _last_cr: bool = field(default=False, repr=False)

    def feed(self, data: bytes) -> tuple[bytes, list[Event]]:
        """Process typed bytes: (what to echo, events in order)."""
        data = self._pending + data
        text, self._pending = _decode_prefix(data)
        echo: list[str] = []
        events: list[Event] = []
        for ch in text:
            if not self.tty:
                if ch == "\n":
                    events.append(Event("line", self.line))
                    self.line = ""
                elif len(self.line) < MAX_LINE:
                    self.line += ch
                continue
            if self._escape:
                self._escape += ch
                if (len(self._escape) == 2 and ch not in "[O") or (len(self._escape) > 2 and "@" <= ch <= "~"):
                    self._escape = ""
                elif len(self._escape) > 16:
                    self._escape = ""
                continue
            if ch == "\x1b":
                self._escape = ch
                continue
            if ch == "\n" and self._last_cr:
                self._last_cr = False
                continue  # CR LF from a terminal that sends both: one Enter
            self._last_cr = ch == "\r"
            if ch in "\r\n":
                echo.append("\r\n")
                events.append(Event("line", self.line))
                self.line = ""
            elif ch in "\x7f\x08":
                if self.line:
                    self.line = self.line[:-1]
                    echo.append("\b \b")
            elif ch == "\x15":  # Ctrl-U: erase the line
                echo.append("\b \b" * len(self.line))
                self.line = ""
            elif ch == "\x03":
                echo.append("^C\r\n")
                self.line = ""
                events.append(Event("interrupt"))
            elif ch == "\x04":
                if not self.line:
                    events.append(Event("eof"))
            elif ch == "\t" or ch >= " ":
                if len(self.line) < MAX_LINE:
                    self.line += ch
                    echo.append(ch)
        return "".join(echo).encode(), events


def _decode_prefix(data: bytes) -> tuple[str, bytes]:
    """Decode UTF-8, keeping an incomplete trailing character for the next chunk."""
    for cut in range(0, min(4, len(data)) + 1):
        try:
            return data[:len(data) - cut].decode(), data[len(data) - cut:]
        except UnicodeDecodeError:
            continue
    return data.decode(errors="replace"), b""


def interactive_shell(argv: list[str]) -> bool:
    """Whether ``argv`` starts a shell that reads its commands from stdin (``sh``, ``bash -il``, not ``sh -c``)."""
    if not argv or argv[0].rsplit("/", 1)[-1] not in SHELL_NAMES:
        return False
    for a in argv[1:]:
        if a == "-c" or (a.startswith("-") and not a.startswith("--") and "c" in a[1:]):
            return False
        if not a.startswith("-"):
            return a == "-"  # ``sh script.sh`` runs the script
    return True


def debian_based(spec: ImageSpec | None, tag: str = "") -> bool:
    """Images whose ``sh`` is dash and whose ``bash`` prompt is ``user@host:dir#`` (not busybox ash)."""
    if spec is None or "alpine" in tag:
        return False
    return not spec.repository.endswith(("busybox", "alpine", "curl"))


def prompt(shell: str, hostname: str, cwd: str, home: str, *, debian: bool, continuation: bool = False) -> str:
    """The prompt an image's shell shows as root: ``/ # `` (busybox), ``root@web:/# `` (bash), ``# `` (dash)."""
    if continuation:
        return "> "
    if shell == "bash":
        where = "~" + cwd[len(home):] if home and (cwd == home or cwd.startswith(home.rstrip("/") + "/")) else cwd
        return f"root@{hostname}:{where}# "
    if debian:
        return "# "
    return f"{cwd} # "
