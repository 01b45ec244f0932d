"""The kind backend (kk_helpers.kind) against fake kind, docker and kubectl.

There is no Docker engine or kind here, so fake executables first on PATH
record every argv and play the real tools' recorded outputs
(tests/fixtures/kind/).  These tests check:

* the generated workshop config: node image pinned by digest, NodePort range
  narrowed with a kubeadm patch, every port of the range mapped on 127.0.0.1,
  and that the committed cluster-setup/kind-config.yaml is exactly what
  ``render_config()`` produces;
* ``up``: the exact ``kind create cluster`` command (``--name``, ``--config``),
  idempotency (a second ``up`` creates nothing), the kubeconfig merge (other
  contexts survive, current context switched, mode 0600), waiting for Ready;
* ``down`` deletes only clusters kk created;
* ``preload_images`` and its fallback for Docker's containerd image store;
* the one-sentence errors when kind or Docker is missing or stopped, and
  ``choose_backend("auto")`` picking the sandbox when Docker is missing.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from kind_fakes import FakeTools, isolate_home
from kk_helpers import backends, kind, kubeconfig
from kk_helpers.errors import BackendUnavailable, KKError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    return isolate_home(tmp_path, monkeypatch)


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, Path]) -> FakeTools:
    tools = FakeTools(tmp_path, monkeypatch).install("kind", "docker", "kubectl")
    tools.set(docker_info="docker-desktop")
    monkeypatch.setattr(kind, "_sleep", lambda _s: None)
    return tools


def _other_kubeconfig(path: Path) -> None:
    """A kubeconfig that already has someone else's context in it."""
    kubeconfig.save(path, {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod.example:6443"}}],
        "users": [{"name": "alice", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "alice"}}],
        "current-context": "prod",
    })


# --------------------------------------------------------------------------- config

def test_config_pins_the_node_image_by_digest() -> None:
    """Does every node run the kind v0.33.0 node image, pinned by sha256 digest?"""
    cfg = yaml.safe_load(kind.render_config())
    assert cfg["kind"] == "Cluster" and cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [n["role"] for n in cfg["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    for node in cfg["nodes"]:
        assert node["image"] == kind.NODE_IMAGE
        assert "@sha256:" in node["image"] and len(node["image"].split("@sha256:")[1]) == 64


def test_config_narrows_the_nodeport_range_with_a_v1beta4_patch() -> None:
    """Does a kubeadm v1beta4 ClusterConfiguration patch set service-node-port-range to the small range?"""
    cfg = yaml.safe_load(kind.render_config())
    (patch_text,) = cfg["kubeadmConfigPatches"]
    patch = yaml.safe_load(patch_text)
    assert patch["kind"] == "ClusterConfiguration"
    assert patch["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    low, high = kind.NODE_PORT_RANGE
    assert patch["apiServer"]["extraArgs"] == [{"name": "service-node-port-range", "value": f"{low}-{high}"}]
    assert high - low + 1 <= 20


def test_config_maps_every_nodeport_on_localhost() -> None:
    """Is every port of the range mapped hostPort == containerPort on 127.0.0.1, and nothing else?"""
    cfg = yaml.safe_load(kind.render_config())
    mappings = cfg["nodes"][0]["extraPortMappings"]
    assert [m["containerPort"] for m in mappings] == kind.port_range_list()
    for m in mappings:
        assert m["hostPort"] == m["containerPort"]
        assert m["listenAddress"] == "127.0.0.1"
        assert m["protocol"] == "TCP"
    assert all("extraPortMappings" not in n for n in cfg["nodes"][1:])


def test_older_node_images_get_the_v1beta3_map_form() -> None:
    """Does a pre-1.36 node image get the v1beta3 extraArgs map that kind uses for it?"""
    text = kind.render_config(node_image="kindest/node:v1.35.8@sha256:" + "0" * 64, port_range=(30000, 30002))
    patch = yaml.safe_load(yaml.safe_load(text)["kubeadmConfigPatches"][0])
    assert patch["apiVersion"] == "kubeadm.k8s.io/v1beta3"
    assert patch["apiServer"]["extraArgs"] == {"service-node-port-range": "30000-30002"}


def test_committed_config_is_the_rendered_one() -> None:
    """Is cluster-setup/kind-config.yaml exactly what render_config() produces (regenerated, not hand-edited)?"""
    committed = (REPO / "cluster-setup" / "kind-config.yaml").read_text()
    assert committed == kind.render_config()
    assert kind.KIND_VERSION in committed


def test_lab_images_are_one_pinned_constant() -> None:
    """Are the lab images one tuple with explicit tags, including the course images?"""
    assert isinstance(kind.LAB_IMAGES, tuple)
    names = [img.rsplit(":", 1)[0] for img in kind.LAB_IMAGES]
    assert "vimal13/apache-webserver-php" in names
    for wanted in ("nginx", "httpd", "busybox"):
        assert wanted in names
    assert any("agnhost" in n for n in names)
    for img in kind.LAB_IMAGES:
        assert ":" in img.rsplit("/", 1)[-1], f"{img} has no explicit tag"
    assert "nginx:latest" not in kind.LAB_IMAGES


# --------------------------------------------------------------------------- availability

def test_available_when_kind_and_docker_run(fakes: FakeTools) -> None:
    """Is kind available when kind is on PATH and `docker info` answers?"""
    assert kind.available() == (True, "")
    assert ["info", "--format", "{{json .}}"] in fakes.calls("docker")


def test_available_says_kind_is_not_installed(fakes: FakeTools) -> None:
    """Does a missing kind binary give the reason "kind is not installed"?"""
    fakes.remove("kind")
    assert kind.available() == (False, "kind is not installed")


def test_available_says_docker_is_not_running(fakes: FakeTools) -> None:
    """Does a stopped daemon give "Docker is not running" with docker's own error text?"""
    fakes.set(docker_info="daemon-down")
    ok, why = kind.available()
    assert not ok
    assert why.startswith("Docker is not running (docker info failed: Cannot connect to the Docker daemon")


def test_auto_backend_picks_the_sandbox_without_docker(fakes: FakeTools) -> None:
    """Does `kk up` (backend auto) choose the sandbox, and say why, when docker is missing?"""
    fakes.remove("docker")
    chosen, why = backends.choose_backend("auto")
    assert chosen == "sandbox"
    assert why == "using the sandbox because Docker is not installed"


def test_auto_backend_picks_kind_with_docker_running(fakes: FakeTools) -> None:
    """Does backend auto choose kind when kind and a running Docker are found?"""
    assert backends.choose_backend("auto") == ("kind", "kind and a running Docker were found")


@pytest.mark.parametrize(("setup", "expected"), [
    ("no-docker", "Docker is not installed — install Docker Desktop (macOS, Windows) or Docker Engine (Linux) "
                  "and run `kk up --backend kind` again, or use `kk up --backend sandbox`"),
    ("daemon-down", "Docker is not running — start Docker Desktop (or `sudo systemctl start docker`) and run "
                    "`kk up --backend kind` again, or use `kk up --backend sandbox`"),
    ("permission-denied", "Docker refuses this user — run `sudo usermod -aG docker $USER`, log out and back in, "
                          "and run `kk up --backend kind` again, or use `kk up --backend sandbox`"),
    ("no-kind", "kind is not installed — run `cluster-setup/install-kind.sh` (Windows: `winget install "
                "Kubernetes.kind`) and then `kk up --backend kind` again, or use `kk up --backend sandbox`"),
])
def test_up_explains_a_missing_or_stopped_docker_in_one_sentence(fakes: FakeTools, setup: str,
                                                                 expected: str) -> None:
    """Does `up` fail with one sentence and the fix when kind or Docker is missing or stopped?"""
    if setup == "no-docker":
        fakes.remove("docker")
    elif setup == "no-kind":
        fakes.remove("kind")
    else:
        fakes.set(docker_info=setup)
    with pytest.raises(BackendUnavailable) as exc:
        kind.up(name="kk")
    assert str(exc.value) == expected
    assert "\n" not in str(exc.value)
    assert not any(c[:2] == ["create", "cluster"] for c in fakes.calls("kind"))


# --------------------------------------------------------------------------- up

def test_up_creates_the_cluster_with_name_and_config(fakes: FakeTools, env: dict[str, Path]) -> None:
    """Does `up` run `kind create cluster --name kk --config <rendered config>` and report the context?"""
    context, server, reused = kind.up(name="kk")
    assert (context, reused) == ("kind-kk", False)
    assert server == "https://127.0.0.1:37615"
    creates = [c for c in fakes.calls("kind") if c[:2] == ["create", "cluster"]]
    config_file = env["kk_home"] / "kind" / "kind-config.yaml"
    assert creates == [["create", "cluster", "--name", "kk", "--config", str(config_file),
                        "--kubeconfig", str(env["kk_home"] / "kind" / "kk.kubeconfig"), "--wait", "300s"]]
    assert config_file.read_text() == kind.render_config()
    assert ["get", "kubeconfig", "--name", "kk"] in fakes.calls("kind")


def test_up_waits_for_nodes_and_the_default_service_account(fakes: FakeTools) -> None:
    """Does `up` poll kubectl until every node is Ready and then check the default ServiceAccount?"""
    fakes.set(not_ready_polls=2)
    kind.up(name="kk")
    kubectl_calls = fakes.calls("kubectl")
    node_polls = [c for c in kubectl_calls if c[-4:] == ["get", "nodes", "-o", "json"]]
    assert len(node_polls) == 3
    assert all(c[c.index("--context") + 1] == "kind-kk" for c in kubectl_calls)
    assert kubectl_calls[-1][-7:] == ["get", "serviceaccount", "default", "--namespace", "default", "-o", "name"]


def test_up_gives_up_when_nodes_never_get_ready(fakes: FakeTools, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does `up` stop waiting at its deadline with a sentence naming the nodes that are not Ready?"""
    fakes.set(never_ready=True)
    clock = iter(range(0, 10_000, 100))
    monkeypatch.setattr(kind, "_monotonic", lambda: float(next(clock)))
    with pytest.raises(KKError, match=r"not ready after 300 s \(not Ready yet: kk-worker, kk-worker2\)"):
        kind.up(name="kk")


def test_second_up_reuses_the_cluster(fakes: FakeTools) -> None:
    """Is `up` idempotent: the second call reuses the healthy cluster and runs no create?"""
    kind.up(name="kk")
    fakes.clear_calls()
    context, server, reused = kind.up(name="kk")
    assert (context, server, reused) == ("kind-kk", "https://127.0.0.1:37615", True)
    assert not any(c[:2] == ["create", "cluster"] for c in fakes.calls("kind"))
    assert ["get", "clusters"] in fakes.calls("kind")


def test_up_merges_kubeconfig_keeping_other_contexts(fakes: FakeTools, env: dict[str, Path]) -> None:
    """Does the kind context join the kubeconfig with other contexts intact, switched to, mode 0600?"""
    path = env["kubeconfig"]
    _other_kubeconfig(path)
    kind.up(name="kk")
    data = kubeconfig.load(path)
    assert {c["name"] for c in data["contexts"]} == {"prod", "kind-kk"}
    assert {c["name"] for c in data["clusters"]} == {"prod", "kind-kk"}
    assert {u["name"] for u in data["users"]} == {"alice", "kind-kk"}
    assert data["current-context"] == "kind-kk"
    prod = next(c for c in data["clusters"] if c["name"] == "prod")
    assert prod["cluster"]["server"] == "https://prod.example:6443"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_up_reuses_a_cluster_kk_did_not_create_without_claiming_it(fakes: FakeTools) -> None:
    """Is an existing healthy cluster reused but not recorded as kk's (so down leaves it alone)?"""
    fakes.set(clusters={"kk": {"nodes": ["kk-control-plane"], "port": 40000}})
    assert kind.up(name="kk") == ("kind-kk", "https://127.0.0.1:40000", True)
    assert not kind.created_by_kk("kk")


def test_up_shows_progress_on_the_console(fakes: FakeTools) -> None:
    """Does `up` print to the console it is given, ending with the context it switched to?"""
    console = Console(record=True, width=120, force_terminal=False)
    kind.up(name="kk", console=console)
    assert "kind cluster 'kk' is ready (context kind-kk)" in console.export_text()


def test_up_explains_a_busy_nodeport(fakes: FakeTools, env: dict[str, Path]) -> None:
    """When Docker cannot publish a NodePort, does `up` say so and point at `kk doctor`?"""
    fakes.set(create_fails="port")
    with pytest.raises(KKError, match=r"already in use — run `kk doctor`"):
        kind.up(name="kk")
    assert not kind.created_by_kk("kk")
    assert "port is already allocated" in (env["kk_home"] / "kind" / "create-kk.log").read_text()


def test_backends_up_drives_kind(fakes: FakeTools) -> None:
    """Does backends.up(backend="kind") return an UpResult from the kind backend?"""
    result = backends.up(backend="kind", name="kk")
    assert (result.backend, result.context, result.reused) == ("kind", "kind-kk", False)


# --------------------------------------------------------------------------- down / status

def test_down_deletes_a_cluster_kk_created(fakes: FakeTools, env: dict[str, Path]) -> None:
    """Does `down` delete kk's cluster, its kubeconfig context and its record?"""
    _other_kubeconfig(env["kubeconfig"])
    kind.up(name="kk")
    lines = kind.down(name="kk")
    assert lines == ["deleted kind cluster 'kk'", "removed kubeconfig context kind-kk"]
    deletes = [c for c in fakes.calls("kind") if c[:2] == ["delete", "cluster"]]
    assert deletes == [["delete", "cluster", "--name", "kk", "--kubeconfig",
                        str(env["kk_home"] / "kind" / "kk.kubeconfig")]]
    data = kubeconfig.load(env["kubeconfig"])
    assert [c["name"] for c in data["contexts"]] == ["prod"]
    assert not kind.created_by_kk("kk")
    assert fakes.state["clusters"] == {}


def test_down_leaves_clusters_kk_did_not_create(fakes: FakeTools) -> None:
    """Does `down` refuse to delete a kind cluster someone else created, and say how to do it?"""
    fakes.set(clusters={"kk": {"nodes": ["kk-control-plane"], "port": 40000},
                        "mine": {"nodes": ["mine-control-plane"], "port": 40001}})
    assert kind.down(name="mine") == [
        "kind cluster 'mine' was not created by kk, so it was left running "
        "(delete it yourself with `kind delete cluster --name mine`)"]
    assert kind.down(name="absent") == []
    assert not any(c[:2] == ["delete", "cluster"] for c in fakes.calls("kind"))
    assert set(fakes.state["clusters"]) == {"kk", "mine"}


def test_down_without_kind_installed_is_quiet(fakes: FakeTools) -> None:
    """With no kind installed and nothing recorded, does `down` say nothing (so `kk down` auto is clean)?"""
    fakes.remove("kind")
    assert kind.down(name="kk") == []


def test_status_lines_mark_what_kk_created(fakes: FakeTools) -> None:
    """Does `status_lines` list each kind cluster, its nodes and whether kk created it?"""
    assert kind.status_lines() == ["kind: no clusters (start one with `kk up --backend kind`)"]
    kind.up(name="kk")
    fakes.set(clusters={**fakes.state["clusters"], "other": {"nodes": ["other-control-plane"], "port": 40002}})
    assert kind.status_lines() == [
        "kind: cluster 'kk' (created by kk), 3 nodes, context kind-kk",
        "kind: cluster 'other' (not created by kk), 1 node, context kind-other",
    ]
    fakes.set(docker_info="daemon-down")
    assert kind.status_lines() == ["kind: Docker is not running"]


# --------------------------------------------------------------------------- preload

def _loads(fakes: FakeTools) -> list[list[str]]:
    return [c for c in fakes.calls("kind") if c[:1] == ["load"]]


def test_preload_pulls_and_loads_each_image(fakes: FakeTools) -> None:
    """Does preload `docker pull` each missing image and `kind load docker-image` it into the cluster?"""
    kind.up(name="kk")
    fakes.set(images=["busybox:1.37"])
    lines = kind.preload_images(name="kk")
    assert lines == [f"loaded {img}" for img in kind.LAB_IMAGES]
    pulls = [c[1] for c in fakes.calls("docker") if c[:1] == ["pull"]]
    assert pulls == [img for img in kind.LAB_IMAGES if img != "busybox:1.37"]
    assert _loads(fakes) == [["load", "docker-image", img, "--name", "kk"] for img in kind.LAB_IMAGES]
    assert fakes.state["loaded"]["kk"] == list(kind.LAB_IMAGES)


def test_preload_falls_back_for_the_containerd_image_store(fakes: FakeTools) -> None:
    """On "content digest ... not found" (containerd store), does preload use docker save --platform + image-archive?"""
    kind.up(name="kk")
    fakes.set(containerd_store=True)
    console = Console(record=True, width=120)
    lines = kind.preload_images(["nginx:1.29.4"], name="kk", console=console)
    assert lines == ["loaded nginx:1.29.4 (via docker save --platform; Docker uses the containerd image store)"]
    saves = [c for c in fakes.calls("docker") if c[:1] == ["save"]]
    assert len(saves) == 1
    assert saves[0][:3] == ["save", "--platform", "linux/amd64"] and saves[0][-1] == "nginx:1.29.4"
    loads = _loads(fakes)
    assert loads[0] == ["load", "docker-image", "nginx:1.29.4", "--name", "kk"]
    assert loads[1][:2] == ["load", "image-archive"] and loads[1][-2:] == ["--name", "kk"]
    assert fakes.state["loaded"]["kk"] == ["nginx:1.29.4"]
    assert not Path(loads[1][2]).exists(), "the temporary archive is removed"
    assert "1/1" in console.export_text()


def test_preload_fallback_without_docker_save_platform(fakes: FakeTools) -> None:
    """With a docker too old for `save --platform`, does the fallback retry a plain `docker save`?"""
    kind.up(name="kk")
    fakes.set(containerd_store=True, save_platform_unsupported=True)
    kind.preload_images(["httpd:2.4"], name="kk")
    saves = [c for c in fakes.calls("docker") if c[:1] == ["save"]]
    assert [s[1] for s in saves] == ["--platform", "--output"]
    assert fakes.state["loaded"]["kk"] == ["httpd:2.4"]


def test_preload_reports_images_that_failed(fakes: FakeTools) -> None:
    """Does preload go on past a failing pull and then raise one sentence naming it?"""
    kind.up(name="kk")
    fakes.set(pull_fails=["vimal13/apache-webserver-php:latest"])
    with pytest.raises(KKError, match=r"1 of 5 images could not be preloaded .*apache-webserver-php.*pull access denied"):
        kind.preload_images(name="kk")
    assert len(fakes.state["loaded"]["kk"]) == 4


def test_preload_needs_the_cluster(fakes: FakeTools) -> None:
    """Without the kind cluster, does preload say to run `kk up --backend kind` first?"""
    with pytest.raises(KKError, match=r"there is no kind cluster 'kk' — start it with `kk up --backend kind`"):
        kind.preload_images(name="kk")


# --------------------------------------------------------------------------- docker info parsing

def _recording(name: str) -> tuple[int, str, str]:
    base = Path(__file__).resolve().parent / "fixtures" / "kind" / "docker-info" / name
    rc = int(base.with_suffix(".rc").read_text()) if base.with_suffix(".rc").exists() else 0
    err = base.with_suffix(".stderr").read_text() if base.with_suffix(".stderr").exists() else ""
    return rc, base.with_suffix(".json").read_text(), err


@pytest.mark.parametrize(("recording", "expected"), [
    ("docker-desktop", {"state": "ok", "desktop": True, "rootless": False, "containerd_store": True,
                        "ncpu": 8, "cgroup_version": "2", "engine": "docker"}),
    ("linux-engine", {"state": "ok", "desktop": False, "rootless": False, "containerd_store": False,
                      "root_dir": "/var/lib/docker"}),
    ("rootless", {"state": "ok", "rootless": True, "root_dir": "/home/ada/.local/share/docker"}),
    ("podman", {"state": "ok", "engine": "podman", "rootless": True, "ncpu": 8, "cgroup_version": "2",
                "server_version": "5.6.2"}),
    ("cgroup-v1", {"state": "ok", "cgroup_version": "1", "server_version": "24.0.7"}),
    ("low-memory", {"state": "ok", "ncpu": 1, "mem_total": 2063962112}),
    ("daemon-down", {"state": "down"}),
    ("permission-denied", {"state": "denied"}),
])
def test_parse_docker_info_recordings(recording: str, expected: dict[str, Any]) -> None:
    """Does each recorded `docker info --format '{{json .}}'` parse into the right engine facts?"""
    info = kind.parse_docker_info(*_recording(recording))
    for key, value in expected.items():
        assert getattr(info, key) == value, key


def test_parse_docker_info_without_docker() -> None:
    """Is a missing docker command the state "missing"?"""
    assert kind.parse_docker_info(None, "", "").state == "missing"


def test_up_reports_an_unhealthy_existing_cluster(fakes: FakeTools, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does `up` on a listed cluster whose nodes stay NotReady stop with how to recreate it, creating nothing?"""
    kind.up(name="kk")
    fakes.set(never_ready=True)
    fakes.clear_calls()
    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr(kind, "_monotonic", lambda: float(next(clock)))
    with pytest.raises(KKError, match=r"exists but is not healthy .* `kk down --backend kind` and then "
                                      r"`kk up --backend kind`"):
        kind.up(name="kk")
    assert not any(c[:2] == ["create", "cluster"] for c in fakes.calls("kind"))


def test_down_with_docker_stopped_says_start_docker(fakes: FakeTools) -> None:
    """Does `down` of kk's cluster with Docker stopped say to start Docker and run `kk down` again?"""
    kind.up(name="kk")
    fakes.set(docker_info="daemon-down")
    with pytest.raises(BackendUnavailable) as exc:
        kind.down(name="kk")
    assert str(exc.value) == ("Docker is not running — start Docker Desktop (or `sudo systemctl start docker`) "
                              "and run `kk down --backend kind` again")
    assert kind.created_by_kk("kk")


def test_cli_up_and_images_preload(fakes: FakeTools) -> None:
    """Do `kk up --backend kind` and `kk images preload --image` work through the CLI and exit 0?"""
    from typer.testing import CliRunner

    from kk_helpers import cli

    runner = CliRunner()
    result = runner.invoke(cli.app, ["up", "--backend", "kind"])
    assert result.exit_code == 0, result.output
    assert "kind-kk" in result.output
    result = runner.invoke(cli.app, ["images", "preload", "--image", "busybox:1.37"])
    assert result.exit_code == 0, result.output
    assert "loaded busybox:1.37" in result.output
    assert _loads(fakes) == [["load", "docker-image", "busybox:1.37", "--name", "kk"]]


def test_cli_up_kind_without_docker_is_one_red_sentence(fakes: FakeTools) -> None:
    """Does `kk up --backend kind` without Docker exit 1 with the one-sentence error, no traceback?"""
    from typer.testing import CliRunner

    from kk_helpers import cli

    fakes.remove("docker")
    result = CliRunner().invoke(cli.app, ["up", "--backend", "kind"])
    assert result.exit_code == 1
    assert "error: Docker is not installed" in " ".join(result.output.split())
    assert "Traceback" not in result.output
