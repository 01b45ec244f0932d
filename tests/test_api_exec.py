"""Does ``kubectl exec`` work against the sandbox as against a real cluster?

Real kubectl binaries (WebSocket v5.channel.k8s.io) and the official Python client
(``kubernetes.stream``) run commands in the simulated containers: output, exit codes,
the error messages of a real API server and kubelet, an interactive shell under a
pseudo-terminal, and stdin piped without one. A raw WebSocket client checks that bad
clients (wrong subprotocol, garbage frames, early close) never break the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import time
from typing import Any

import aiohttp
import pytest

from conftest import Kubectl


def _run_pod(kubectl: Kubectl, name: str, image: str, *cmd: str) -> None:
    kubectl("run", name, f"--image={image}", *(["--", *cmd] if cmd else []))
    kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=30s")


def _pty_session(kubectl: Kubectl, argv: list[str], keys: list[bytes], timeout: float = 20) -> tuple[str, int]:
    """Run kubectl under a pseudo-terminal, typing ``keys`` one chunk at a time; (screen text, exit code)."""
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["HOME"] = str(kubectl.kubeconfig.parent)
    proc = subprocess.Popen([kubectl.binary, "--kubeconfig", str(kubectl.kubeconfig), "-n", str(kubectl.namespace),
                             *argv], stdin=slave, stdout=slave, stderr=slave, close_fds=True, env=env)
    os.close(slave)
    out = bytearray()

    def drain(until: str | None, limit: float) -> None:
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if until is not None and until in out.decode(errors="replace"):
                return
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                out.extend(chunk)

    try:
        drain("# ", 10)
        for key in keys:
            mark = out.decode(errors="replace").count("# ")
            os.write(master, key)
            end = time.monotonic() + 5
            while time.monotonic() < end and out.decode(errors="replace").count("# ") <= mark \
                    and proc.poll() is None:
                drain(None, 0.05)
        code = proc.wait(timeout)
        drain(None, 0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return out.decode(errors="replace"), code


def test_exec_runs_a_command_and_returns_its_exit_code(kubectl: Kubectl) -> None:
    """Does exec print the command's output and end with its exit code, as kubectl prints it?"""
    _run_pod(kubectl, "bb", "busybox", "sleep", "3600")
    assert kubectl("exec", "bb", "--", "hostname").stdout == "bb\n"
    env = kubectl("exec", "bb", "--", "env").stdout
    assert "HOSTNAME=bb" in env and "KUBERNETES_SERVICE_HOST=" in env
    proc = kubectl("exec", "bb", "--", "sh", "-c", "echo $HOSTNAME; exit 3", check=False)
    assert (proc.returncode, proc.stdout) == (3, "bb\n")
    assert "command terminated with exit code 3" in proc.stderr
    assert kubectl("exec", "bb", "-c", "bb", "--", "sh", "-c", "cd /tmp && pwd").stdout == "/tmp\n"


def test_exec_of_a_missing_executable_fails_like_containerd(kubectl: Kubectl) -> None:
    """Does ``bash`` in busybox fail with the OCI runtime's message, while nginx (Debian) has bash?"""
    _run_pod(kubectl, "bb", "busybox", "sleep", "3600")
    proc = kubectl("exec", "bb", "--", "bash", check=False)
    assert proc.returncode == 1
    assert 'OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": ' \
           "executable file not found in $PATH: unknown" in proc.stderr
    _run_pod(kubectl, "web", "nginx")
    assert "Debian" in kubectl("exec", "web", "--", "bash", "-c", "cat /etc/os-release").stdout


def test_exec_errors_match_a_real_cluster(kubectl: Kubectl) -> None:
    """Are a missing pod, an unknown container and a pod without a node reported as kubectl shows them?"""
    _run_pod(kubectl, "bb", "busybox", "sleep", "3600")
    proc = kubectl("exec", "nope", "--", "hostname", check=False)
    assert proc.returncode == 1 and 'pods "nope" not found' in proc.stderr
    proc = kubectl("exec", "bb", "-c", "other", "--", "hostname", check=False)
    assert proc.returncode == 1 and "container other is not valid for pod bb" in proc.stderr
    kubectl("run", "pending", "--image=busybox", '--overrides={"spec":{"nodeSelector":{"nope":"x"}}}',
            "--", "sleep", "3600")
    proc = kubectl("exec", "pending", "--", "hostname", check=False)
    assert proc.returncode == 1 and "pod pending does not have a host assigned" in proc.stderr


def test_exec_reaches_a_service_through_the_simulated_network(kubectl: Kubectl) -> None:
    """Does ``curl`` inside one pod reach another pod through its Service?"""
    _run_pod(kubectl, "web", "nginx")
    kubectl("expose", "pod", "web", "--port=80")
    _run_pod(kubectl, "client", "nginx")
    deadline = time.monotonic() + 20
    while True:
        proc = kubectl("exec", "client", "--", "curl", "-s", "http://web", check=False)
        if "Welcome to nginx!" in proc.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "Welcome to nginx!" in proc.stdout


def test_exec_with_piped_stdin_runs_each_line(kubectl: Kubectl) -> None:
    """Does ``kubectl exec -i POD -- sh`` run the piped lines, keep variables, and end with ``exit``'s code?"""
    _run_pod(kubectl, "bb", "busybox", "sleep", "3600")
    proc = kubectl("exec", "-i", "bb", "--", "sh", input="X=2\necho x=$X\nexit 5\n", check=False)
    assert (proc.returncode, proc.stdout) == (5, "x=2\n")
    proc = kubectl("exec", "-i", "bb", "--", "sh", input="echo last-line-without-newline")
    assert proc.stdout == "last-line-without-newline\n"


def test_exec_interactive_shell_under_a_tty(kubectl: Kubectl) -> None:
    """Does ``kubectl exec -it`` show the image's prompt, echo and edit the line, keep state, and exit with a code?"""
    _run_pod(kubectl, "bb", "busybox", "sleep", "3600")
    screen, code = _pty_session(kubectl, ["exec", "-it", "bb", "--", "sh"], [
        b"cd /tmp\r", b"Y=7; echo $Y > f\r", b"cat f; pwd\r", b"echx\x7fo ok\r", b"sleep 60\r", b"\x03",
        b"exit 4\r"])
    assert code == 4, screen
    assert "/ # cd /tmp\r\n/tmp # " in screen
    assert "7\r\n/tmp\r\n" in screen
    assert "echx\b \bo ok\r\nok\r\n" in screen
    assert "sleep 60\r\n^C\r\n/tmp # " in screen
    assert "command terminated with exit code 4" in screen
    _run_pod(kubectl, "web", "nginx")
    screen, code = _pty_session(kubectl, ["exec", "-it", "web", "--", "bash"], [b"hostname\r", b"nosuch\r", b"\x04"])
    assert "root@web:/# hostname\r\nweb\r\n" in screen
    assert "bash: nosuch: command not found" in screen
    assert code == 127


def test_port_forward_names_the_alternative(kubectl: Kubectl) -> None:
    """Does port-forward fail with a message that says what to use instead?"""
    _run_pod(kubectl, "web", "nginx")
    proc = kubectl("port-forward", "pod/web", "18080:80", check=False, timeout=20)
    assert proc.returncode == 1 and "port-forward is not available in the kk sandbox" in proc.stderr
    assert "kubectl expose pod web --type=NodePort" in proc.stderr


def test_official_client_stream(api: Any, sandbox: Any, namespace: str) -> None:
    """Does ``kubernetes.stream.stream`` get the output, the exit code, and a shell fed through stdin?"""
    from kubernetes import client
    from kubernetes.stream import stream

    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, {"metadata": {"name": "bb"}, "spec": {"containers": [
        {"name": "bb", "image": "busybox", "command": ["sleep", "3600"]}]}})
    deadline = time.monotonic() + 30
    while (core.read_namespaced_pod("bb", namespace).status.phase != "Running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    out = stream(core.connect_get_namespaced_pod_exec, "bb", namespace, command=["sh", "-c", "echo hi; hostname"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert out == "hi\nbb\n"
    resp = stream(core.connect_get_namespaced_pod_exec, "bb", namespace, command=["sh", "-c", "exit 7"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=10)
    assert resp.returncode == 7
    resp = stream(core.connect_get_namespaced_pod_exec, "bb", namespace, command=["sh"],
                  stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("echo from-stdin\n")
    deadline = time.monotonic() + 10
    got = ""
    while "from-stdin" not in got and time.monotonic() < deadline:
        resp.update(timeout=1)
        got += resp.read_stdout() or ""
    assert got == "from-stdin\n"
    resp.write_stdin("exit 2\n")
    resp.run_forever(timeout=10)
    assert resp.returncode == 2


async def _ws_checks(url: str, token: str, ssl: Any, ns: str) -> dict[str, Any]:
    """Talk raw WebSocket to the exec endpoint: bad protocol, v4 session, garbage, early close."""
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{url}/api/v1/namespaces/{ns}/pods/bb/exec"
    found: dict[str, Any] = {}
    async with aiohttp.ClientSession(headers=headers) as s:
        try:
            async with s.ws_connect(base + "?command=hostname&stdout=true", protocols=("base64.channel.k8s.io",),
                                    ssl=ssl):
                found["bad_protocol"] = "upgraded"
        except aiohttp.WSServerHandshakeError as err:
            found["bad_protocol"] = err.status
        async with s.ws_connect(base + "?command=sh&stdout=true&stdin=true", protocols=("v4.channel.k8s.io",),
                                ssl=ssl) as ws:
            found["protocol"] = ws.protocol
            await ws.send_str("garbage text frame")
            await ws.send_bytes(b"")
            await ws.send_bytes(b"\x07\x00\x01")
            await ws.send_bytes(b"\x04{not json")
            await ws.send_bytes(b"\xff\x00")  # a v5 close signal on v4: ignored
            await ws.send_bytes(b"\x00echo hi\nexit 9\n")
            frames: list[bytes] = []
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    frames.append(msg.data)
            found["stdout"] = b"".join(f[1:] for f in frames if f[:1] == b"\x01")
            found["status"] = json.loads(b"".join(f[1:] for f in frames if f[:1] == b"\x03"))
        for _ in range(3):  # leave while a command runs
            async with s.ws_connect(base + "?command=sleep&command=3600&stdout=true", protocols=("v5.channel.k8s.io",),
                                    ssl=ssl) as ws:
                await asyncio.sleep(0.05)
        async with s.get(f"{url}/api/v1/namespaces/{ns}/pods/bb", ssl=ssl) as resp:
            found["still_serving"] = resp.status
    return found


def test_bad_websocket_clients_never_break_the_server(sandbox: Any, kubectl: Kubectl, namespace: str) -> None:
    """Do a wrong subprotocol, garbage frames and early closes leave the API answering?"""
    _run_pod(kubectl, "bb", "busybox", "sleep", "3600")
    found = asyncio.run(_ws_checks(sandbox.url, sandbox.token, sandbox.ssl_context(), namespace))
    assert found["bad_protocol"] == 400
    assert found["protocol"] == "v4.channel.k8s.io"
    assert found["stdout"] == b"hi\n"
    assert found["status"]["reason"] == "NonZeroExitCode"
    assert found["status"]["details"]["causes"] == [{"reason": "ExitCode", "message": "9"}]
    assert found["still_serving"] == 200

    def exec_sessions() -> int:
        return sum(1 for t in sandbox.sandbox.api.watch_tasks if "exec" in t.get_coro().__qualname__
                   or t.get_coro().__qualname__ == "serve")
    deadline = time.monotonic() + 5
    while sandbox.call(exec_sessions) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox.call(exec_sessions) == 0
    assert kubectl("exec", "bb", "--", "hostname").stdout == "bb\n"
