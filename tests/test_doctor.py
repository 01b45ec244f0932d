"""``kk doctor`` (kk_helpers.doctor): the kind-path preflight.

The checks are pure functions over Facts, so these tests feed them recorded
``docker info --format '{{json .}}'`` outputs (tests/fixtures/kind/docker-info:
Docker Desktop, Docker Engine, rootless Docker, podman's docker shim, a stopped
daemon — recorded from a real Docker 28.2.2 CLI — a refused socket, low memory,
cgroup v1) plus environment variables and /proc contents, and check that each
documented failure gets its pass/warn/fail and its fix.  The command itself is
run through typer's CliRunner, with fake tools on PATH, for its exit code.
"""

from __future__ import annotations

import re
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kind_fakes import FIXTURES, FakeTools, isolate_home
from kk_helpers import cli, doctor, kind
from kk_helpers.doctor import Check, Facts, Status

WSL2 = ("Linux version 6.6.87.2-microsoft-standard-WSL2 (root@439a258ad544) (gcc (GCC) 11.2.0, "
        "GNU ld (GNU Binutils) 2.37) #1 SMP PREEMPT_DYNAMIC Thu Jun  5 18:30:46 UTC 2025\n")
WSL1 = "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1237-Microsoft\n"
UBUNTU = ("Linux version 6.8.0-88-generic (buildd@lcy02-amd64-004) (x86_64-linux-gnu-gcc-13 (Ubuntu "
          "13.3.0-6ubuntu2~24.04) 13.3.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #89-Ubuntu SMP PREEMPT_DYNAMIC\n")


def recorded_docker(name: str) -> kind.DockerInfo:
    """Parse a recorded `docker info --format '{{json .}}'` run."""
    base = FIXTURES / "docker-info" / name
    rc = int(base.with_suffix(".rc").read_text()) if base.with_suffix(".rc").exists() else 0
    err = base.with_suffix(".stderr").read_text() if base.with_suffix(".stderr").exists() else ""
    return kind.parse_docker_info(rc, base.with_suffix(".json").read_text(), err)


def healthy(**changes: object) -> Facts:
    """The facts of a Linux laptop that is ready for kind."""
    facts = Facts(
        docker=recorded_docker("linux-engine"), kind_version="v0.33.0", kubectl_version="v1.37.1",
        env={"HOME": "/home/ada"}, system="linux", proc_version=UBUNTU,
        inotify_watches=524288, inotify_instances=512, disk_path="/var/lib/docker", disk_free=120 * doctor.GiB,
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_ready_machine_passes_everything() -> None:
    """Does a Linux machine with Docker, kind v0.33.0, kubectl 1.37 and free ports pass every check?"""
    checks = doctor.run_checks(healthy())
    assert {c.status for c in checks} == {Status.PASS}
    assert not doctor.blocking(checks)
    assert set(by_name(checks)) == {"Docker", "Memory", "CPUs", "Disk", "cgroup", "inotify", "kind", "kubectl",
                                    "NodePorts", "Proxy"}


def test_docker_desktop_passes_and_notes_the_containerd_store() -> None:
    """Does running Docker Desktop pass, with a note that preload works around the containerd image store?"""
    checks = by_name(doctor.run_checks(healthy(docker=recorded_docker("docker-desktop"), system="darwin",
                                               proc_version="", inotify_watches=None, inotify_instances=None)))
    assert checks["Docker"].status is Status.PASS
    assert checks["Docker"].detail == "Docker 28.5.1 running (Docker Desktop)"
    assert checks["Image store"].status is Status.PASS
    assert "docker save --platform" in checks["Image store"].detail
    assert "inotify" not in checks, "inotify limits are a Linux-host check"
    assert checks["Memory"].status is Status.PASS and checks["CPUs"].detail == "Docker has 8 CPUs"


def test_stopped_daemon_fails_with_the_start_command() -> None:
    """Does a stopped daemon (recorded real error text) fail, quoting docker, with how to start it?"""
    checks = doctor.run_checks(healthy(docker=recorded_docker("daemon-down")))
    docker_check = by_name(checks)["Docker"]
    assert docker_check.status is Status.FAIL
    assert docker_check.detail == ("Docker is not running: Cannot connect to the Docker daemon at "
                                   "unix:///var/run/docker.sock. Is the docker daemon running?")
    assert "`sudo systemctl start docker`" in docker_check.fix
    assert "kk up --backend sandbox" in docker_check.fix
    assert doctor.blocking(checks)
    assert "Memory" not in by_name(checks) and "cgroup" not in by_name(checks)


def test_stopped_daemon_on_macos_says_start_docker_desktop() -> None:
    """On macOS, is the fix for a stopped daemon to start Docker Desktop?"""
    check = by_name(doctor.run_checks(healthy(docker=recorded_docker("daemon-down"), system="darwin",
                                              proc_version="")))["Docker"]
    assert check.fix.startswith("start Docker Desktop")


def test_missing_docker_fails() -> None:
    """Does a machine without docker fail with how to install it (or use the sandbox)?"""
    check = by_name(doctor.run_checks(healthy(docker=kind.parse_docker_info(None, "", ""))))["Docker"]
    assert check.status is Status.FAIL
    assert "install Docker Desktop" in check.fix and "kk up --backend sandbox" in check.fix


def test_permission_denied_says_join_the_docker_group() -> None:
    """Does a socket that refuses the user fail with the docker-group fix?"""
    check = by_name(doctor.run_checks(healthy(docker=recorded_docker("permission-denied"))))["Docker"]
    assert check.status is Status.FAIL
    assert check.detail.startswith("Docker refuses this user: permission denied while trying to connect")
    assert "usermod -aG docker" in check.fix


def test_rootless_docker_gets_the_delegation_note() -> None:
    """Is rootless Docker (SecurityOptions name=rootless) a warning with the cgroup delegation fix?"""
    checks = by_name(doctor.run_checks(healthy(docker=recorded_docker("rootless"))))
    assert checks["Docker"].status is Status.PASS
    note = checks["Rootless Docker"]
    assert note.status is Status.WARN
    assert "delegate.conf" in note.fix and "Delegate=yes" in note.fix


def test_podman_shim_is_detected() -> None:
    """Is podman behind the docker command recognised, with the KIND_EXPERIMENTAL_PROVIDER note?"""
    info = recorded_docker("podman")
    checks = by_name(doctor.run_checks(healthy(docker=info, disk_path=info.root_dir)))
    assert checks["Docker"].status is Status.WARN
    assert "podman 5.6.2 (rootless podman-docker shim)" in checks["Docker"].detail
    assert "KIND_EXPERIMENTAL_PROVIDER=podman" in checks["Docker"].fix
    assert checks["Memory"].status is Status.PASS and checks["cgroup"].detail == "cgroup v2"


def test_low_memory_and_one_cpu() -> None:
    """Does Docker Desktop with ~2 GB and one CPU fail on memory and warn on CPUs, pointing at its settings?"""
    checks = by_name(doctor.run_checks(healthy(docker=recorded_docker("low-memory"), system="windows",
                                               proc_version="", inotify_watches=None, inotify_instances=None)))
    assert checks["Memory"].status is Status.FAIL
    assert checks["Memory"].detail.startswith("Docker has 1.9 GiB")
    assert "Docker Desktop → Settings → Resources" in checks["Memory"].fix
    assert checks["CPUs"].status is Status.WARN


def test_memory_between_two_and_four_gib_is_a_warning() -> None:
    """Is 3 GiB for Docker a warning rather than a failure?"""
    docker = replace(recorded_docker("linux-engine"), mem_total=3 * doctor.GiB)
    check = by_name(doctor.run_checks(healthy(docker=docker)))["Memory"]
    assert check.status is Status.WARN and "4 GB" in check.fix


def test_cgroup_v1_blocks_kubernetes_137() -> None:
    """Does Docker on cgroup v1 fail, since the pinned Kubernetes 1.37 image needs cgroup v2?"""
    checks = doctor.run_checks(healthy(docker=recorded_docker("cgroup-v1")))
    check = by_name(checks)["cgroup"]
    assert check.status is Status.FAIL
    assert "Kubernetes 1.35+ (the node image is 1.37)" in check.detail
    assert "systemd.unified_cgroup_hierarchy=1" in check.fix
    assert doctor.blocking(checks)


def test_cgroup_v1_under_wsl_points_at_wslconfig() -> None:
    """Under WSL2, is the cgroup v1 fix the .wslconfig kernel command line?"""
    check = by_name(doctor.run_checks(healthy(docker=recorded_docker("cgroup-v1"), proc_version=WSL2)))["cgroup"]
    assert "cgroup_no_v1=all" in check.fix and ".wslconfig" in check.fix


@pytest.mark.parametrize(("watches", "instances", "status"), [
    (524288, 512, Status.PASS),
    (8192, 512, Status.WARN),
    (524288, 128, Status.WARN),
])
def test_inotify_limits(watches: int, instances: int, status: Status) -> None:
    """Are inotify limits below kind's recommended 524288 watches / 512 instances a warning with the sysctl fix?"""
    check = by_name(doctor.run_checks(healthy(inotify_watches=watches, inotify_instances=instances)))["inotify"]
    assert check.status is status
    if status is Status.WARN:
        assert "fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512" in check.fix


@pytest.mark.parametrize(("free", "status"), [(1 * doctor.GiB, Status.FAIL), (6 * doctor.GiB, Status.WARN),
                                              (50 * doctor.GiB, Status.PASS)])
def test_disk_space(free: int, status: Status) -> None:
    """Is free disk under 3 GB a failure, under 10 GB a warning?"""
    assert by_name(doctor.run_checks(healthy(disk_free=free)))["Disk"].status is status


@pytest.mark.parametrize(("have", "status"), [("v0.33.0", Status.PASS), ("v0.33.1", Status.PASS),
                                              ("v0.31.0", Status.FAIL), ("v0.34.0", Status.WARN),
                                              (None, Status.FAIL)])
def test_kind_version(have: str | None, status: Status) -> None:
    """Is kind older than v0.33 (or missing) a failure with the install script as fix, and newer a warning?"""
    check = by_name(doctor.run_checks(healthy(kind_version=have)))["kind"]
    assert check.status is status
    if status is Status.FAIL:
        assert "cluster-setup/install-kind.sh" in check.fix


@pytest.mark.parametrize(("client", "server", "status"), [
    ("v1.37.1", None, Status.PASS),          # against the pinned node image v1.37.0
    ("v1.36.4", "v1.37.0", Status.PASS),
    ("v1.38.0", "v1.37.0", Status.PASS),
    ("v1.35.2", "v1.37.0", Status.WARN),
    ("v1.32.4-dispatcher", None, Status.WARN),
    ("v1.37.1", "v1.39.0", Status.WARN),
])
def test_kubectl_skew(client: str, server: str | None, status: Status) -> None:
    """Is kubectl more than one minor version away from the cluster a warning (the skew policy)?"""
    check = by_name(doctor.run_checks(healthy(kubectl_version=client, server_version=server)))["kubectl"]
    assert check.status is status
    if status is Status.WARN:
        assert "within one minor version" in check.detail
        assert "install-kubectl.sh" in check.fix


def test_busy_nodeports_fail_unless_our_cluster_holds_them() -> None:
    """Are busy NodePorts a failure — unless kind cluster kk is up and publishing them?"""
    busy = healthy(busy_ports=(30000, 30001), kind_clusters=("old",))
    check = by_name(doctor.run_checks(busy))["NodePorts"]
    assert check.status is Status.FAIL
    assert check.detail == "already in use on 127.0.0.1: 30000, 30001"
    assert "lsof -iTCP:30000" in check.fix and "kind delete cluster --name old" in check.fix
    ours = healthy(busy_ports=tuple(kind.port_range_list()), kind_clusters=("kk",))
    assert by_name(doctor.run_checks(ours))["NodePorts"].status is Status.PASS


@pytest.mark.parametrize(("env", "status"), [
    ({}, Status.PASS),
    ({"HTTPS_PROXY": "http://proxy.corp:3128"}, Status.WARN),
    ({"https_proxy": "http://proxy.corp:3128", "no_proxy": "localhost,127.0.0.1"}, Status.WARN),
    ({"HTTP_PROXY": "http://proxy.corp:3128", "NO_PROXY": "localhost,127.0.0.1,.svc,.cluster.local,10.96.0.0/12"},
     Status.PASS),
])
def test_proxy_without_no_proxy(env: dict[str, str], status: Status) -> None:
    """Is a proxy whose NO_PROXY lacks localhost, 127.0.0.1, .svc or .cluster.local a warning with the line to set?"""
    check = by_name(doctor.run_checks(healthy(env=env)))["Proxy"]
    assert check.status is status
    if status is Status.WARN:
        assert check.fix.startswith("`export NO_PROXY=localhost,127.0.0.1,")


def test_wsl2_gets_notes_and_wsl1_fails() -> None:
    """Does /proc/version with "microsoft" add WSL notes — and WSL 1 fail, since it cannot run Docker?"""
    wsl2 = by_name(doctor.run_checks(healthy(proc_version=WSL2)))["WSL"]
    assert wsl2.status is Status.PASS and "/mnt/c" in wsl2.fix
    wsl1 = by_name(doctor.run_checks(healthy(proc_version=WSL1)))["WSL"]
    assert wsl1.status is Status.FAIL and "wsl --set-version" in wsl1.fix
    assert "WSL" not in by_name(doctor.run_checks(healthy()))


def test_wsl2_docker_down_mentions_wsl_integration() -> None:
    """Under WSL2, does a stopped Docker point at Docker Desktop's WSL integration?"""
    check = by_name(doctor.run_checks(healthy(docker=recorded_docker("daemon-down"), proc_version=WSL2)))["Docker"]
    assert "WSL integration" in check.fix


def test_version_parsers() -> None:
    """Are `kind version` and `kubectl version -o json` outputs read correctly?"""
    assert doctor.parse_kind_version("kind v0.33.0 go1.26.7 linux/amd64\n") == "v0.33.0"
    assert doctor.parse_kind_version(None) is None
    recorded = (FIXTURES / "kubectl" / "version-client.json").read_text()
    assert doctor.parse_kubectl_version(recorded) == "v1.37.1"
    assert doctor.parse_kubectl_version(None) is None


def test_port_free_sees_a_listener() -> None:
    """Does the port probe notice a port something already listens on?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert not doctor.port_free(sock.getsockname()[1])


# --------------------------------------------------------------------------- the command

runner = CliRunner()


def test_kk_doctor_exits_1_when_docker_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does `kk doctor` on a machine whose Docker is stopped print the table and exit 1?"""
    isolate_home(tmp_path, monkeypatch)
    fakes = FakeTools(tmp_path, monkeypatch).install("kind", "docker", "kubectl")
    fakes.set(docker_info="daemon-down")
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(cli.app, ["doctor"])
    assert result.exit_code == 1, result.output
    assert "Docker is not running" in result.output
    assert "kind v0.33.0" in result.output
    assert re.search(r"\d+ problems? blocks? `kk up --backend kind`", result.output)


def test_kk_doctor_exits_0_when_nothing_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does `kk doctor` exit 0 when every check passes (warnings do not block)?"""
    facts = healthy(env={"HTTPS_PROXY": "http://proxy:3128"})
    monkeypatch.setattr(doctor, "gather_facts", lambda *, name="kk": facts)
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(cli.app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "Ready for kind, with 1 warning." in result.output


def test_kk_doctor_gathers_the_real_facts_through_the_tools(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Does gather_facts read docker info, kind and kubectl versions and the cluster list through the tools?"""
    isolate_home(tmp_path, monkeypatch)
    fakes = FakeTools(tmp_path, monkeypatch).install("kind", "docker", "kubectl")
    fakes.set(docker_info="docker-desktop", clusters={"kk": {"nodes": ["kk-control-plane"], "port": 40000}})
    facts = doctor.gather_facts(name="kk")
    assert facts.docker.desktop and facts.docker.running
    assert (facts.kind_version, facts.kubectl_version) == ("v0.33.0", "v1.37.1")
    assert facts.kind_clusters == ("kk",)
    assert facts.disk_free is not None and facts.disk_free > 0
    assert ["version", "--client", "-o", "json"] in fakes.calls("kubectl")
