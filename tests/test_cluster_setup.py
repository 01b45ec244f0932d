"""The shell scripts in cluster-setup/, run with bash and no network.

A fake ``curl`` first on PATH serves local files for the official release URLs
(kind's GitHub release assets and their .sha256sum; dl.k8s.io's kubectl and
kubectl.sha256).  These tests check that a tampered download is refused
(non-zero exit, nothing installed), that a good one installs an executable into
the user-writable directory, that a second run is a no-op, that the right
os/arch URLs are used, that ``KK_DOWNLOAD`` replaces curl, and that the
create/delete/status wrappers call the ``kk`` CLI.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from kind_fakes import FakeTools, isolate_home

SETUP = Path(__file__).resolve().parent.parent / "cluster-setup"
KIND_BASE = "https://github.com/kubernetes-sigs/kind/releases/download/v0.33.0"
KUBECTL_BASE = "https://dl.k8s.io/release/v1.37.1/bin"

FAKE_KIND = "#!/bin/sh\necho 'kind {version} go1.26.7 linux/amd64'\n"
FAKE_KUBECTL = "#!/bin/sh\necho 'Client Version: {version}'\necho 'Kustomize Version: v5.8.1'\n"


class Release:
    """Files the fake curl serves, keyed by URL."""

    def __init__(self, root: Path, fakes: FakeTools) -> None:
        self.root = root / "served"
        self.root.mkdir()
        self.fakes = fakes
        self.urls: dict[str, str] = {}

    def serve(self, url: str, content: str | bytes) -> None:
        path = self.root / f"{len(self.urls)}.bin"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        self.urls[url] = str(path)
        self.fakes.set(urls=self.urls)

    def kind(self, *, version: str = "v0.33.0", asset: str = "kind-linux-amd64", tampered: bool = False) -> None:
        binary = FAKE_KIND.format(version=version)
        digest = hashlib.sha256(binary.encode()).hexdigest()
        base = KIND_BASE.replace("v0.33.0", version)
        self.serve(f"{base}/{asset}", binary + ("echo pwned\n" if tampered else ""))
        self.serve(f"{base}/{asset}.sha256sum", f"{digest}  {asset}\n")

    def kubectl(self, *, version: str = "v1.37.1", platform: str = "linux/amd64", tampered: bool = False) -> None:
        binary = FAKE_KUBECTL.format(version=version)
        digest = hashlib.sha256(binary.encode()).hexdigest()
        url = f"https://dl.k8s.io/release/{version}/bin/{platform}/kubectl"
        self.serve(url, binary + ("echo pwned\n" if tampered else ""))
        self.serve(f"{url}.sha256", digest)


@pytest.fixture
def setup_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeTools, Release, Path]:
    isolate_home(tmp_path, monkeypatch)
    fakes = FakeTools(tmp_path, monkeypatch).install("curl")
    fakes.with_system_path()
    bin_dir = tmp_path / "user-bin"
    monkeypatch.setenv("KK_BIN_DIR", str(bin_dir))
    monkeypatch.setenv("KK_OS", "linux")
    monkeypatch.setenv("KK_ARCH", "amd64")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    for var in ("KK_DOWNLOAD", "KIND_VERSION", "KUBECTL_VERSION"):
        monkeypatch.delenv(var, raising=False)
    return fakes, Release(tmp_path, fakes), bin_dir


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SETUP / script), *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=60, check=False)


def fetched(fakes: FakeTools) -> list[str]:
    return [call[-1] for call in fakes.calls("curl")]


# --------------------------------------------------------------------------- install-kind.sh

def test_install_kind_installs_a_verified_download(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Does install-kind.sh fetch kind-linux-amd64 and its .sha256sum, verify, and install an executable?"""
    fakes, release, bin_dir = setup_env
    release.kind()
    proc = run("install-kind.sh")
    assert proc.returncode == 0, proc.stderr
    kind_bin = bin_dir / "kind"
    assert os.access(kind_bin, os.X_OK)
    assert subprocess.run([str(kind_bin), "version"], capture_output=True, text=True,
                          check=True).stdout.startswith("kind v0.33.0 ")
    assert fetched(fakes) == [f"{KIND_BASE}/kind-linux-amd64", f"{KIND_BASE}/kind-linux-amd64.sha256sum"]
    assert "sha256 verified" in proc.stdout and f"Installed kind v0.33.0 to {kind_bin}" in proc.stdout
    assert "is not on PATH" in proc.stdout
    assert list((bin_dir.parent / "tmp").iterdir()) == [], "the temporary download directory is removed"


def test_install_kind_refuses_a_tampered_download(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Is a binary whose sha256 differs from the published .sha256sum refused, with nothing installed?"""
    _, release, bin_dir = setup_env
    release.kind(tampered=True)
    proc = run("install-kind.sh")
    assert proc.returncode != 0
    assert "checksum mismatch for kind-linux-amd64" in proc.stderr
    assert "nothing was installed" in proc.stderr
    assert not (bin_dir / "kind").exists()
    assert not bin_dir.exists() or list(bin_dir.iterdir()) == []


def test_install_kind_refuses_a_checksum_that_is_not_one(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Is an error page served instead of the .sha256sum refused rather than trusted?"""
    _, release, bin_dir = setup_env
    release.kind()
    release.serve(f"{KIND_BASE}/kind-linux-amd64.sha256sum", "<html>rate limited</html>\n")
    proc = run("install-kind.sh")
    assert proc.returncode != 0 and "is not a sha256" in proc.stderr
    assert not (bin_dir / "kind").exists()


def test_install_kind_second_run_does_nothing(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Is install-kind.sh idempotent: with the right version installed, no download happens?"""
    fakes, release, bin_dir = setup_env
    release.kind()
    assert run("install-kind.sh").returncode == 0
    fakes.clear_calls()
    proc = run("install-kind.sh")
    assert proc.returncode == 0
    assert f"kind v0.33.0 is already installed at {bin_dir / 'kind'}; nothing to do." in proc.stdout
    assert fetched(fakes) == []


def test_install_kind_replaces_another_version(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Does install-kind.sh replace an older kind in the install directory?"""
    _, release, bin_dir = setup_env
    bin_dir.mkdir()
    (bin_dir / "kind").write_text(FAKE_KIND.format(version="v0.29.0"))
    (bin_dir / "kind").chmod(0o755)
    release.kind()
    proc = run("install-kind.sh")
    assert proc.returncode == 0, proc.stderr
    assert "replacing kind v0.29.0" in proc.stdout
    assert "v0.33.0" in (bin_dir / "kind").read_text()


@pytest.mark.parametrize(("os_name", "arch"), [("darwin", "arm64"), ("linux", "arm64"), ("darwin", "amd64")])
def test_install_kind_picks_the_os_and_arch_asset(setup_env: tuple[FakeTools, Release, Path],
                                                  monkeypatch: pytest.MonkeyPatch, os_name: str, arch: str) -> None:
    """Does install-kind.sh download kind-<os>-<arch> for macOS and arm64 too?"""
    fakes, release, bin_dir = setup_env
    monkeypatch.setenv("KK_OS", os_name)
    monkeypatch.setenv("KK_ARCH", arch)
    release.kind(asset=f"kind-{os_name}-{arch}")
    assert run("install-kind.sh").returncode == 0
    assert fetched(fakes)[0] == f"{KIND_BASE}/kind-{os_name}-{arch}"


def test_install_kind_uses_kk_download(setup_env: tuple[FakeTools, Release, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Does KK_DOWNLOAD replace curl as the download command (called as OUTPUT URL)?"""
    fakes, release, bin_dir = setup_env
    release.kind()
    log = tmp_path / "downloads.log"
    helper = tmp_path / "my-download"
    helper.write_text(f"#!/bin/sh\necho \"$2\" >> {log}\nexec curl -fsSL -o \"$1\" \"$2\"\n")
    helper.chmod(0o755)
    monkeypatch.setenv("KK_DOWNLOAD", str(helper))
    assert run("install-kind.sh").returncode == 0
    assert log.read_text().split() == [f"{KIND_BASE}/kind-linux-amd64", f"{KIND_BASE}/kind-linux-amd64.sha256sum"]
    assert (bin_dir / "kind").exists()


def test_install_kind_reports_a_failed_download(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Does a 404 stop the script with the URL that failed, installing nothing?"""
    _, _, bin_dir = setup_env
    proc = run("install-kind.sh")
    assert proc.returncode != 0
    assert f"download failed: {KIND_BASE}/kind-linux-amd64" in proc.stderr
    assert not (bin_dir / "kind").exists()


# --------------------------------------------------------------------------- install-kubectl.sh

def test_install_kubectl_installs_and_is_idempotent(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Does install-kubectl.sh fetch dl.k8s.io's kubectl + kubectl.sha256, install it, and skip a second time?"""
    fakes, release, bin_dir = setup_env
    release.kubectl()
    proc = run("install-kubectl.sh")
    assert proc.returncode == 0, proc.stderr
    assert fetched(fakes) == [f"{KUBECTL_BASE}/linux/amd64/kubectl", f"{KUBECTL_BASE}/linux/amd64/kubectl.sha256"]
    assert os.access(bin_dir / "kubectl", os.X_OK)
    fakes.clear_calls()
    again = run("install-kubectl.sh")
    assert again.returncode == 0
    assert "kubectl v1.37.1 is already installed" in again.stdout
    assert fetched(fakes) == []


def test_install_kubectl_refuses_a_tampered_download(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Is a kubectl that does not match kubectl.sha256 refused, with nothing installed?"""
    _, release, bin_dir = setup_env
    release.kubectl(tampered=True)
    proc = run("install-kubectl.sh")
    assert proc.returncode != 0
    assert "checksum mismatch for kubectl" in proc.stderr
    assert not (bin_dir / "kubectl").exists()


def test_install_kubectl_darwin_arm64_url(setup_env: tuple[FakeTools, Release, Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Does install-kubectl.sh use bin/darwin/arm64 on an Apple-silicon Mac?"""
    fakes, release, _ = setup_env
    monkeypatch.setenv("KK_OS", "darwin")
    monkeypatch.setenv("KK_ARCH", "arm64")
    release.kubectl(platform="darwin/arm64")
    assert run("install-kubectl.sh").returncode == 0
    assert fetched(fakes)[0] == f"{KUBECTL_BASE}/darwin/arm64/kubectl"


# --------------------------------------------------------------------------- kk wrappers

@pytest.mark.parametrize(("script", "args", "expected"), [
    ("create-cluster.sh", [], ["up", "--backend", "kind"]),
    ("create-cluster.sh", ["--name", "kk2"], ["up", "--backend", "kind", "--name", "kk2"]),
    ("delete-cluster.sh", [], ["down", "--backend", "kind"]),
    ("status.sh", [], ["status"]),
])
def test_wrappers_call_the_kk_cli(setup_env: tuple[FakeTools, Release, Path], script: str,
                                  args: list[str], expected: list[str]) -> None:
    """Are create-cluster.sh, delete-cluster.sh and status.sh thin wrappers over the kk CLI?"""
    fakes, _, _ = setup_env
    fakes.install("kk")
    proc = run(script, *args)
    assert proc.returncode == 0, proc.stderr
    assert fakes.calls("kk") == [expected]


def test_wrappers_explain_a_missing_kk(setup_env: tuple[FakeTools, Release, Path]) -> None:
    """Without kk on PATH, does a wrapper say to activate the virtualenv instead of failing obscurely?"""
    proc = run("create-cluster.sh")
    assert proc.returncode == 1
    assert "the kk command is not on PATH" in proc.stderr


def test_scripts_are_executable() -> None:
    """Are the cluster-setup scripts committed executable, with a bash shebang?"""
    for name in ("install-kind.sh", "install-kubectl.sh", "create-cluster.sh", "delete-cluster.sh", "status.sh"):
        path = SETUP / name
        assert os.access(path, os.X_OK), name
        assert path.read_text().startswith("#!/usr/bin/env bash\n"), name
