"""``kk doctor``: is this machine ready for the kind path?

The checks are pure functions over :class:`Facts` (a ``docker info`` result, the
environment, file contents, tool versions, busy ports) so the tests can feed
them recorded outputs; :func:`gather_facts` is the only part that looks at the
machine.  Each check yields one :class:`Check` line — pass, warn or fail — with
the documented fix; a ``fail`` blocks ``kk up --backend kind`` and makes
``kk doctor`` exit non-zero.
"""

from __future__ import annotations

import enum
import json
import os
import platform
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import kind
from .kind import DockerInfo

GiB = 1024 ** 3

# kind's known-issues page: "Pod errors due to too many open files".
INOTIFY_WATCHES = 524288
INOTIFY_INSTANCES = 512

MEM_FAIL = 2 * GiB
MEM_WARN = 4 * GiB
CPU_WARN = 2
DISK_FAIL = 3 * GiB
DISK_WARN = 10 * GiB

#: What NO_PROXY should cover when a proxy is set: the host loopback, where the kind
#: API server and the NodePorts are published, and in-cluster names.
NO_PROXY_WANTED = ("localhost", "127.0.0.1", ".svc", ".cluster.local")
NO_PROXY_RECOMMENDED = "localhost,127.0.0.1,::1,.svc,.cluster.local,10.96.0.0/12,10.244.0.0/16,172.18.0.0/16"


class Status(str, enum.Enum):
    """A check's outcome."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class Facts:
    """Everything the checks look at, gathered once (or recorded, in tests)."""

    docker: DockerInfo
    kind_version: str | None = None        # "v0.33.0"; None when kind is not installed
    kubectl_version: str | None = None     # "v1.37.1"; None when kubectl is not installed
    server_version: str | None = None      # the running cluster's, when there is one
    kind_clusters: tuple[str, ...] = ()
    cluster_name: str = "kk"
    env: Mapping[str, str] = field(default_factory=dict)
    system: str = "linux"                  # platform.system().lower(): linux, darwin, windows
    proc_version: str = ""                 # /proc/version
    inotify_watches: int | None = None
    inotify_instances: int | None = None
    disk_path: str = ""
    disk_free: int | None = None
    busy_ports: tuple[int, ...] = ()
    port_range: tuple[int, int] = kind.NODE_PORT_RANGE
    node_image: str = kind.NODE_IMAGE


# --------------------------------------------------------------------------- helpers

def _version_tuple(version: str | None) -> tuple[int, ...] | None:
    if not version:
        return None
    m = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


def _gib(n: int) -> str:
    return f"{n / GiB:.1f} GiB"


def _is_wsl(facts: Facts) -> bool:
    return "microsoft" in facts.proc_version.lower()


def _is_wsl1(facts: Facts) -> bool:
    text = facts.proc_version
    return "Microsoft" in text and "WSL2" not in text and "microsoft-standard" not in text


def _start_docker_fix(facts: Facts) -> str:
    if _is_wsl(facts):
        return ("start Docker Desktop on Windows and enable Settings → Resources → WSL integration for this "
                "distro (or `sudo service docker start` for Docker Engine inside WSL)")
    if facts.system == "linux":
        return "`sudo systemctl start docker` (or start Docker Desktop)"
    return "start Docker Desktop and wait until it says it is running"


# --------------------------------------------------------------------------- checks

def check_docker(facts: Facts) -> list[Check]:
    """Docker installed and answering; notes for rootless Docker and podman's shim."""
    d = facts.docker
    name = "Docker"
    sandbox = " — or use `kk up --backend sandbox`, which needs no Docker"
    if d.state == "missing":
        return [Check(name, Status.FAIL, "docker is not installed",
                      "install Docker Desktop (macOS, Windows) or Docker Engine (Linux)" + sandbox)]
    if d.state == "denied":
        return [Check(name, Status.FAIL, f"Docker refuses this user: {d.error}",
                      "`sudo usermod -aG docker $USER`, then log out and back in" + sandbox)]
    if not d.running:
        return [Check(name, Status.FAIL, f"Docker is not running: {d.error}",
                      _start_docker_fix(facts) + ", then run `kk doctor` again" + sandbox)]
    if d.engine == "podman":
        mode = "rootless " if d.rootless else ""
        return [Check(name, Status.WARN, f"`docker` is podman {d.server_version} ({mode}podman-docker shim)",
                      "kind's podman support is experimental: `export KIND_EXPERIMENTAL_PROVIDER=podman` before "
                      "`kk up --backend kind` (rootless podman needs cgroup v2 with delegation, see kind's "
                      "rootless guide), or install Docker")]
    flavour = "Docker Desktop" if d.desktop else d.operating_system or "Docker Engine"
    checks = [Check(name, Status.PASS, f"Docker {d.server_version} running ({flavour})")]
    if d.rootless:
        checks.append(Check("Rootless Docker", Status.WARN,
                            "Docker runs rootless; kind supports it on cgroup v2 when the cpu, cpuset and io "
                            "controllers are delegated to your user",
                            "create /etc/systemd/system/user@.service.d/delegate.conf with `[Service]` and "
                            "`Delegate=yes`, run `sudo systemctl daemon-reload`, log in again "
                            "(kind's rootless guide)"))
    if d.containerd_store:
        checks.append(Check("Image store", Status.PASS,
                            "Docker uses the containerd image store; `kk images preload` loads images "
                            "with `docker save --platform` + `kind load image-archive` when "
                            "`kind load docker-image` fails (kind issue 3795)"))
    return checks


def check_resources(facts: Facts) -> list[Check]:
    """Memory and CPUs Docker can use (a 3-node cluster needs about 4 GB)."""
    d = facts.docker
    if not d.running or d.mem_total is None or d.ncpu is None:
        return []
    where = ("Docker Desktop → Settings → Resources" if d.desktop
             else "the machine (close other programs or use a bigger one)")
    checks = []
    if d.mem_total < MEM_FAIL:
        checks.append(Check("Memory", Status.FAIL,
                            f"Docker has {_gib(d.mem_total)}; three kind nodes do not fit in under 2 GiB",
                            f"give Docker 4 GB or more in {where}, or use `kk up --backend sandbox`"))
    elif d.mem_total < MEM_WARN:
        checks.append(Check("Memory", Status.WARN,
                            f"Docker has {_gib(d.mem_total)}; labs may be slow or evicted below 4 GB",
                            f"give Docker 4 GB or more in {where}"))
    else:
        checks.append(Check("Memory", Status.PASS, f"Docker has {_gib(d.mem_total)}"))
    if d.ncpu < CPU_WARN:
        checks.append(Check("CPUs", Status.WARN, f"Docker has {d.ncpu} CPU; the control plane wants 2",
                            f"give Docker 2 CPUs or more in {where}"))
    else:
        checks.append(Check("CPUs", Status.PASS, f"Docker has {d.ncpu} CPUs"))
    return checks


def check_disk(facts: Facts) -> list[Check]:
    """Free disk where Docker keeps images (node image ~1 GB, lab images, containers)."""
    if facts.disk_free is None:
        return []
    where = facts.disk_path or "the Docker data directory"
    free = _gib(facts.disk_free)
    fix = "free some space (`docker system prune` removes unused images and stopped containers)"
    if facts.docker.desktop:
        fix += ", or raise Docker Desktop → Settings → Resources → Disk usage limit"
    if facts.disk_free < DISK_FAIL:
        return [Check("Disk", Status.FAIL, f"{free} free at {where}; kind needs about 3 GB", fix)]
    if facts.disk_free < DISK_WARN:
        return [Check("Disk", Status.WARN, f"{free} free at {where}; 10 GB leaves room for lab images", fix)]
    return [Check("Disk", Status.PASS, f"{free} free at {where}")]


def check_inotify(facts: Facts) -> list[Check]:
    """inotify limits on Linux hosts (kind's known issue "too many open files")."""
    if facts.system != "linux" or facts.inotify_watches is None or facts.inotify_instances is None:
        return []
    low = []
    if facts.inotify_watches < INOTIFY_WATCHES:
        low.append(f"fs.inotify.max_user_watches={facts.inotify_watches}")
    if facts.inotify_instances < INOTIFY_INSTANCES:
        low.append(f"fs.inotify.max_user_instances={facts.inotify_instances}")
    if not low:
        return [Check("inotify", Status.PASS, f"max_user_watches={facts.inotify_watches}, "
                                              f"max_user_instances={facts.inotify_instances}")]
    return [Check("inotify", Status.WARN,
                  f"{', '.join(low)} {'is' if len(low) == 1 else 'are'} low; pods can fail with "
                  "\"too many open files\"",
                  f"`sudo sysctl fs.inotify.max_user_watches={INOTIFY_WATCHES} "
                  f"fs.inotify.max_user_instances={INOTIFY_INSTANCES}` and put both lines in "
                  "/etc/sysctl.d/99-kind.conf to keep them")]


def check_cgroup(facts: Facts) -> list[Check]:
    """cgroup version: Kubernetes 1.35+ node images need cgroup v2."""
    d = facts.docker
    if not d.running or not d.cgroup_version:
        return []
    minor = kind._k8s_minor(facts.node_image)
    if d.cgroup_version == "1":
        if minor is not None and minor >= 35:
            fix = ("boot with cgroup v2: add `systemd.unified_cgroup_hierarchy=1` to the kernel command line "
                   "(or upgrade to a distro that defaults to it)")
            if _is_wsl(facts):
                fix = ("add `kernelCommandLine = cgroup_no_v1=all` under `[wsl2]` in %UserProfile%\\.wslconfig "
                       "and run `wsl --shutdown`")
            return [Check("cgroup", Status.FAIL,
                          f"Docker runs on cgroup v1; Kubernetes 1.35+ (the node image is 1.{minor}) "
                          "no longer starts on cgroup v1", fix + ", or use `kk up --backend sandbox`")]
        return [Check("cgroup", Status.WARN, "Docker runs on cgroup v1, which Kubernetes is dropping",
                      "move to cgroup v2")]
    return [Check("cgroup", Status.PASS, f"cgroup v{d.cgroup_version}")]


def check_kind(facts: Facts) -> list[Check]:
    """kind installed, at the release the config and node image were written for."""
    want = kind.KIND_VERSION
    if facts.kind_version is None:
        return [Check("kind", Status.FAIL, "kind is not installed",
                      "run `cluster-setup/install-kind.sh` (Windows: `winget install Kubernetes.kind`), "
                      "or use `kk up --backend sandbox`")]
    have, wanted = _version_tuple(facts.kind_version), _version_tuple(want)
    if have is None or wanted is None:
        return [Check("kind", Status.WARN, f"cannot read the kind version ({facts.kind_version!r})",
                      f"install kind {want} with `cluster-setup/install-kind.sh`")]
    if have[:2] < wanted[:2]:
        return [Check("kind", Status.FAIL,
                      f"kind {facts.kind_version} is older than {want}, which the pinned node image was built for",
                      f"install kind {want}: `cluster-setup/install-kind.sh`")]
    if have[:2] > wanted[:2]:
        return [Check("kind", Status.WARN,
                      f"kind {facts.kind_version} is newer than {want}, which the pinned node image was built for",
                      "it usually works; if nodes fail to start, install kind "
                      f"{want} with `cluster-setup/install-kind.sh`")]
    return [Check("kind", Status.PASS, f"kind {facts.kind_version}")]


def check_kubectl(facts: Facts) -> list[Check]:
    """kubectl installed and within one minor version of the cluster (the skew policy)."""
    if facts.kubectl_version is None:
        return [Check("kubectl", Status.WARN, "kubectl is not installed",
                      "`pip install kk-helpers` brings kubectl, or run `cluster-setup/install-kubectl.sh`")]
    client = _version_tuple(facts.kubectl_version)
    server_text = facts.server_version
    source = "the running cluster"
    if server_text is None:
        m = re.search(r":(v\d+\.\d+\.\d+)", facts.node_image)
        server_text = m.group(1) if m else None
        source = "the pinned node image"
    server = _version_tuple(server_text)
    if client is None or server is None:
        return [Check("kubectl", Status.PASS, f"kubectl {facts.kubectl_version}")]
    skew = client[1] - server[1] if client[0] == server[0] else 99
    if abs(skew) <= 1:
        return [Check("kubectl", Status.PASS,
                      f"kubectl {facts.kubectl_version}, {source} {server_text} (within ±1 minor)")]
    return [Check("kubectl", Status.WARN,
                  f"kubectl {facts.kubectl_version} is {abs(skew)} minor versions "
                  f"{'newer' if skew > 0 else 'older'} than {source} {server_text}; kubectl is supported "
                  "within one minor version of the API server",
                  f"install kubectl {kind.KUBECTL_VERSION}: `cluster-setup/install-kubectl.sh`")]


def check_ports(facts: Facts) -> list[Check]:
    """The NodePorts kind publishes must be free on 127.0.0.1 (unless our cluster holds them)."""
    low, high = facts.port_range
    if not facts.busy_ports:
        return [Check("NodePorts", Status.PASS, f"127.0.0.1:{low}-{high} are free")]
    if facts.cluster_name in facts.kind_clusters:
        return [Check("NodePorts", Status.PASS,
                      f"127.0.0.1:{low}-{high} are published by kind cluster {facts.cluster_name!r}")]
    busy = ", ".join(str(p) for p in facts.busy_ports[:6]) + (" …" if len(facts.busy_ports) > 6 else "")
    others = [c for c in facts.kind_clusters if c != facts.cluster_name]
    fix = f"stop what listens there (`lsof -iTCP:{facts.busy_ports[0]} -sTCP:LISTEN`)"
    if others:
        fix += f", e.g. another kind cluster: `kind delete cluster --name {others[0]}`"
    return [Check("NodePorts", Status.FAIL, f"already in use on 127.0.0.1: {busy}", fix)]


def _env(env: Mapping[str, str], name: str) -> str:
    return env.get(name) or env.get(name.lower()) or ""


def check_proxy(facts: Facts) -> list[Check]:
    """HTTP(S)_PROXY without a NO_PROXY that covers localhost and in-cluster names."""
    proxies = [v for v in ("HTTP_PROXY", "HTTPS_PROXY") if _env(facts.env, v)]
    if not proxies:
        return [Check("Proxy", Status.PASS, "no HTTP(S)_PROXY set")]
    no_proxy = {part.strip().lower() for part in _env(facts.env, "NO_PROXY").split(",") if part.strip()}
    missing = [want for want in NO_PROXY_WANTED if want not in no_proxy]
    if not missing:
        return [Check("Proxy", Status.PASS, f"{' and '.join(proxies)} set; NO_PROXY covers localhost and .svc")]
    return [Check("Proxy", Status.WARN,
                  f"{' and '.join(proxies)} set but NO_PROXY lacks {', '.join(missing)}: requests to the "
                  "cluster on 127.0.0.1 may be sent to the proxy",
                  f"`export NO_PROXY={NO_PROXY_RECOMMENDED}` (and no_proxy, same value) before starting "
                  "JupyterLab")]


def check_wsl(facts: Facts) -> list[Check]:
    """WSL notes: WSL1 cannot run Docker; WSL2 works with a few habits."""
    if not _is_wsl(facts):
        return []
    if _is_wsl1(facts):
        return [Check("WSL", Status.FAIL, "this is WSL 1, which cannot run Docker",
                      "in PowerShell: `wsl --set-version <distro> 2`, or use `kk up --backend sandbox`")]
    return [Check("WSL", Status.PASS,
                  "WSL 2: NodePorts on 127.0.0.1 are reachable from Windows through localhost forwarding",
                  "use Docker Desktop's WSL integration (or Docker Engine inside WSL), and keep the labs in the "
                  "Linux file system (~/), not under /mnt/c")]


CHECKS: tuple[Callable[[Facts], list[Check]], ...] = (
    check_docker, check_resources, check_disk, check_cgroup, check_inotify, check_kind, check_kubectl,
    check_ports, check_proxy, check_wsl,
)


def run_checks(facts: Facts) -> list[Check]:
    """Every check over the same facts, in report order."""
    return [c for check in CHECKS for c in check(facts)]


def blocking(checks: Iterable[Check]) -> bool:
    """Whether anything failed (``kk doctor`` exits non-zero)."""
    return any(c.status is Status.FAIL for c in checks)


# --------------------------------------------------------------------------- gathering

def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP listener could bind host:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _tool_output(args: list[str]) -> str | None:
    exe = kind._which(args[0])
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, *args[1:]], capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout if proc.returncode == 0 else ""


def parse_kind_version(text: str | None) -> str | None:
    """``kind v0.33.0 go1.26.7 linux/amd64`` → ``v0.33.0`` (None when kind is missing)."""
    if text is None:
        return None
    m = re.search(r"\bv\d+\.\d+\.\d+\S*", text)
    return m.group(0) if m else text.strip()


def parse_kubectl_version(text: str | None, key: str = "clientVersion") -> str | None:
    """The gitVersion from ``kubectl version -o json`` (None when kubectl is missing)."""
    if text is None:
        return None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        return text.strip() or None
    version = (data.get(key) or {}).get("gitVersion") if isinstance(data, dict) else None
    return str(version) if version else None


def gather_facts(*, name: str = "kk") -> Facts:
    """Look at this machine once: tools, ``docker info``, limits, disk, ports, environment."""
    docker = kind.docker_info()
    kind_version = parse_kind_version(_tool_output(["kind", "version"]))
    kubectl_version = parse_kubectl_version(_tool_output(["kubectl", "version", "--client", "-o", "json"]))
    clusters: tuple[str, ...] = ()
    server_version = None
    if kind_version is not None and docker.running:
        try:
            clusters = tuple(kind.get_clusters())
        except Exception:  # noqa: BLE001 - the doctor reports, it does not crash
            clusters = ()
        if name in clusters:
            out = _tool_output(["kubectl", "--context", f"kind-{name}", "--request-timeout", "5s",
                                "version", "-o", "json"])
            server_version = parse_kubectl_version(out, "serverVersion")
    system = platform.system().lower()
    proc_version = ""
    if system == "linux":
        try:
            proc_version = Path("/proc/version").read_text()
        except OSError:
            proc_version = ""
    # Docker Desktop's data root is inside its VM; measure the home directory instead.
    local_root = docker.root_dir and not docker.desktop and Path(docker.root_dir).is_dir()
    disk_path = docker.root_dir if local_root else str(Path.home())
    try:
        disk_free: int | None = shutil.disk_usage(disk_path).free
    except OSError:
        disk_free = None
    busy = tuple(p for p in kind.port_range_list() if not port_free(p))
    return Facts(
        docker=docker, kind_version=kind_version, kubectl_version=kubectl_version,
        server_version=server_version, kind_clusters=clusters, cluster_name=name, env=dict(os.environ),
        system=system, proc_version=proc_version,
        inotify_watches=_read_int("/proc/sys/fs/inotify/max_user_watches") if system == "linux" else None,
        inotify_instances=_read_int("/proc/sys/fs/inotify/max_user_instances") if system == "linux" else None,
        disk_path=disk_path, disk_free=disk_free, busy_ports=busy,
    )


# --------------------------------------------------------------------------- report

_STYLE = {Status.PASS: "bold green", Status.WARN: "bold yellow", Status.FAIL: "bold red"}


def render(checks: list[Check], console: Any) -> None:
    """A rich table, one row per check, then a one-line verdict."""
    from rich.table import Table

    table = Table(title="kk doctor — the kind path", title_justify="left", show_lines=False)
    table.add_column("Check", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    table.add_column("Details", overflow="fold", ratio=1)
    table.add_column("Fix", overflow="fold", ratio=1)
    for c in checks:
        table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status.value}[/]", c.detail, c.fix)
    console.print(table)
    fails = sum(c.status is Status.FAIL for c in checks)
    warns = sum(c.status is Status.WARN for c in checks)
    if fails:
        what = f"{fails} problems block" if fails != 1 else "1 problem blocks"
        console.print(f"[bold red]{what} `kk up --backend kind`[/] — fix the lines marked fail, "
                      "or use `kk up --backend sandbox`.")
    elif warns:
        console.print(f"[yellow]Ready for kind, with {warns} warning{'s' if warns != 1 else ''}.[/]")
    else:
        console.print("[green]Ready for `kk up --backend kind`.[/]")


def run(*, name: str = "kk") -> list[Check]:
    """Gather the facts of this machine and run every check."""
    return run_checks(gather_facts(name=name))
