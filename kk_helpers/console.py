"""The consoles the ``kk`` commands print to, and their one way of failing."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

#: Progress, status and errors (stderr), so stdout stays what a script may capture (a context name, a table).
console = Console(stderr=True)
#: Results (stdout).
out = Console()


def fail(err: Exception) -> NoReturn:
    """Print ``err`` as one red ``error:`` line and exit with status 1.

    The message is plain text, not rich markup (it may hold ``[brackets]``), and soft-wrapped, so paths and
    commands in it stay whole for copy and paste.
    """
    console.print(Text.assemble(("error: ", "bold red"), str(err)), soft_wrap=True)
    raise typer.Exit(1)
