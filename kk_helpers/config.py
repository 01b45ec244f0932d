"""Where kk keeps its state, and its environment switches."""

from __future__ import annotations

import os
from pathlib import Path

SANDBOX_CONTEXT = "kk-sandbox"


def kk_home() -> Path:
    """State directory: ``$KK_HOME``, default ``~/.kk``."""
    return Path(os.environ.get("KK_HOME") or Path.home() / ".kk").expanduser()


def sandbox_dir() -> Path:
    """Where the background sandbox keeps its database, token, pid and log."""
    return kk_home() / "sandbox"
