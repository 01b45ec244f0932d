"""Helpers for the kind-path tests: fake tools first on PATH, and a sandboxed home.

:class:`FakeTools` writes small executables named ``kind``, ``docker``,
``kubectl``, ``curl`` or ``kk`` into a temporary ``bin`` directory; each runs
tests/fixtures/kind/fake_tool.py, which records its argv and plays the real
tools' recorded outputs.  ``PATH`` is set to that directory alone (plus
``/usr/bin:/bin`` when a test runs shell scripts), so a real kind, docker or
kubectl on the machine is never used.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kind"
FAKE_TOOL = FIXTURES / "fake_tool.py"
ALL_TOOLS = ("kind", "docker", "kubectl")


class FakeTools:
    """Fake command-line tools and their shared state for one test."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.bin = root / "fakebin"
        self.state_dir = root / "fake-state"
        self.bin.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._mp = monkeypatch
        monkeypatch.setenv("KK_FAKE_STATE", str(self.state_dir))
        monkeypatch.setenv("PATH", str(self.bin))

    def install(self, *tools: str) -> FakeTools:
        """Put fake ``tools`` on PATH."""
        for tool in tools:
            exe = self.bin / tool
            exe.write_text(
                f"#!{sys.executable}\n"
                "import os, runpy\n"
                f"os.environ['KK_FAKE_TOOL'] = {tool!r}\n"
                f"runpy.run_path({str(FAKE_TOOL)!r}, run_name='__main__')\n")
            exe.chmod(0o755)
        return self

    def remove(self, tool: str) -> None:
        """Take a fake tool off PATH again."""
        (self.bin / tool).unlink(missing_ok=True)

    def with_system_path(self) -> None:
        """Also put /usr/bin and /bin on PATH (after the fakes), for shell scripts."""
        self._mp.setenv("PATH", os.pathsep.join([str(self.bin), "/usr/bin", "/bin"]))

    @property
    def state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads((self.state_dir / "state.json").read_text())
        except FileNotFoundError:
            return {}
        return state

    def set(self, **values: Any) -> None:
        """Change what the fakes remember or how they behave (see fake_tool.py)."""
        state = self.state
        state.update(values)
        (self.state_dir / "state.json").write_text(json.dumps(state, indent=2))

    def calls(self, tool: str | None = None) -> list[list[str]]:
        """Every recorded call (argv without the tool name when ``tool`` is given)."""
        try:
            lines = (self.state_dir / "calls.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return []
        calls = [json.loads(line) for line in lines if line.strip()]
        if tool is None:
            return calls
        return [call[1:] for call in calls if call[0] == tool]

    def clear_calls(self) -> None:
        (self.state_dir / "calls.jsonl").unlink(missing_ok=True)


def isolate_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point HOME, KK_HOME and KUBECONFIG into ``tmp_path``; drop proxy variables."""
    home = tmp_path / "home"
    home.mkdir()
    paths = {"home": home, "kk_home": tmp_path / "kk-home", "kubeconfig": home / ".kube" / "config"}
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KK_HOME", str(paths["kk_home"]))
    monkeypatch.setenv("KUBECONFIG", str(paths["kubeconfig"]))
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy",
                "ALL_PROXY", "all_proxy", "KK_FAKE_TOOL"):
        monkeypatch.delenv(var, raising=False)
    return paths
