"""nbgrader preprocessors kk's course configuration plugs in (one class per module, as nbgrader does).

* :class:`ResilientExecute` replaces ``Execute`` in ``Autograde.autograde_preprocessors``;
* :class:`HideHiddenTests` joins ``GenerateFeedback.preprocessors``.
"""

from __future__ import annotations

from .hidehiddentests import HideHiddenTests
from .resilientexecute import ResilientExecute

__all__ = ["HideHiddenTests", "ResilientExecute"]
