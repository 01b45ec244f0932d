"""Errors the helpers and the CLI show a learner: one sentence, with the fix."""

from __future__ import annotations


class KKError(Exception):
    """A failure explained in one sentence that says what to do."""


class ClusterUnreachable(KKError):
    """No cluster answers at the chosen context."""


class BackendUnavailable(KKError):
    """The requested backend (kind, Docker) cannot run on this machine."""
