"""Do the layers stay apart?

- The sandbox (kk_helpers/sandbox) imports nothing from the notebook side: only its own modules, and the
  small shared modules its daemon needs (config, kubeconfig, errors).
- The notebook side (connect, lab, helpers, widgets, checks) talks to clusters only through the official
  client: it never imports the sandbox's server internals (starting the daemon is the one allowed use).
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "kk_helpers"
SHARED_FOR_SANDBOX = {"kk_helpers.config", "kk_helpers.kubeconfig", "kk_helpers.errors"}
NOTEBOOK_SIDE = ["connect.py", "lab.py", "helpers.py", "act.py", "net.py", "reprs.py", "widgets", "checks"]
ALLOWED_SANDBOX_FOR_NOTEBOOK = {"kk_helpers.sandbox.daemon"}


def _imports(path: Path) -> set[str]:
    """Absolute names of the kk_helpers modules a file imports."""
    rel = path.relative_to(PKG.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kk_helpers"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                found.add(mod)
                # ``from .sandbox import daemon`` imports the submodule kk_helpers.sandbox.daemon
                found.update(f"{mod}.{a.name}" for a in node.names if (PKG.parent / mod.replace(".", "/") / a.name).exists()
                             or (PKG.parent / (mod.replace(".", "/") + "/" + a.name + ".py")).exists())
            elif node.module and node.module.startswith("kk_helpers"):
                found.add(node.module)
    return found


def _files(*names: str) -> list[Path]:
    out: list[Path] = []
    for name in names:
        p = PKG / name
        out.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else [])
    return out


def test_sandbox_imports_nothing_from_the_notebook_side() -> None:
    """Does every sandbox module import only sandbox modules and the shared config/kubeconfig/errors?"""
    bad = {}
    for path in _files("sandbox"):
        outside = {m for m in _imports(path) if not m.startswith("kk_helpers.sandbox")} - SHARED_FOR_SANDBOX
        outside.discard("kk_helpers")
        if outside:
            bad[str(path.relative_to(PKG))] = sorted(outside)
    assert bad == {}


def test_notebook_side_uses_only_the_official_client() -> None:
    """Does no notebook-side module reach into the sandbox's internals (only its daemon, to start it)?"""
    bad = {}
    files = _files(*NOTEBOOK_SIDE)
    assert files, "notebook modules not found"
    for path in files:
        inside = {m for m in _imports(path) if m.startswith("kk_helpers.sandbox")} - ALLOWED_SANDBOX_FOR_NOTEBOOK
        inside.discard("kk_helpers.sandbox")
        if inside:
            bad[str(path.relative_to(PKG))] = sorted(inside)
    assert bad == {}
