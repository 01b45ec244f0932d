"""The layering rule, read from the source: the notebook library reaches clusters only through the official
client (no sandbox imports, except starting the daemon in connect), and the sandbox never imports notebook code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kk_helpers"
NOTEBOOK_MODULES = ["__init__.py", "connect.py", "lab.py", "helpers.py", "act.py", "net.py", "reprs.py",
                    *(f"checks/{p.name}" for p in sorted((PACKAGE / "checks").glob("*.py"))),
                    *(f"widgets/{p.name}" for p in sorted((PACKAGE / "widgets").glob("*.py")))]
NOTEBOOK_NAMES = {"connect", "lab", "helpers", "act", "net", "reprs", "checks", "widgets"}


def imports(path: Path) -> list[str]:
    """Every imported module of a file, resolved to an absolute dotted name."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found += [module] + [f"{module}.{a.name}" for a in node.names]
    return found


@pytest.mark.parametrize("module", NOTEBOOK_MODULES)
def test_notebook_side_does_not_import_the_sandbox(module: str) -> None:
    """Does this notebook-side module stay off the sandbox (connect may only start the daemon)?"""
    bad = [m for m in imports(PACKAGE / module) if m.startswith("kk_helpers.sandbox")]
    if module == "connect.py":
        bad = [m for m in bad if m not in ("kk_helpers.sandbox", "kk_helpers.sandbox.daemon")]
    assert bad == []


def test_sandbox_does_not_import_notebook_code() -> None:
    """Does no sandbox module import the notebook library, its widgets or its checks?"""
    offenders = {}
    for path in sorted((PACKAGE / "sandbox").rglob("*.py")):
        bad = [m for m in imports(path) if m.split(".")[0] == "kk_helpers" and len(m.split(".")) > 1
               and m.split(".")[1] in NOTEBOOK_NAMES]
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = bad
    assert offenders == {}
