"""Does ``kubectl attach`` (and ``kubectl run -i/-it``) work against the sandbox as against a real cluster?

A container started with ``stdin: true`` whose program is an interactive shell waits
for input; attach sessions (real kubectl binaries, under a pseudo-terminal for ``-it``
and piped for ``-i``) type into it, and its exit code becomes the container's. Programs
that read no input have their output streamed. A raw WebSocket client checks that bad
clients (garbage frames, early close) never break the server and that ``stdinOnce``
closes the shell's input after the first attach.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

import aiohttp

from conftest import Kubectl
from test_api_exec import _pty_session


def _deleted(kubectl: Kubectl, pod: str) -> str:
    """What ``--rm`` prints: ``pod "tmp" deleted`` (1.32), ``pod "tmp" deleted from NS namespace`` (1.33 on)."""
    minor = int(kubectl.version.split(".")[1])
    return f'pod "{pod}" deleted\r\n' if minor < 33 else f'pod "{pod}" deleted from {kubectl.namespace} namespace'


def _wait_gone(kubectl: Kubectl, pod: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while kubectl("get", "pod", pod, "--ignore-not-found", "-o", "name").stdout.strip():
        assert time.monotonic() < deadline, f"pod {pod} still there"
        time.sleep(0.1)


def _web_service(kubectl: Kubectl) -> None:
    kubectl("run", "web", "--image=nginx", "--labels=app=web")
    kubectl("expose", "pod", "web", "--port=80", "--name=myd1")
    kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=30s")
    deadline = time.monotonic() + 20
    while not kubectl("get", "endpoints", "myd1", "-o", "jsonpath={.subsets[*].addresses[*].ip}").stdout.strip():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def _phase(kubectl: Kubectl, pod: str, want: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        obj = json.loads(kubectl("get", "pod", pod, "-o", "json").stdout)
        if obj["status"].get("phase") == want or time.monotonic() > deadline:
            return obj
        time.sleep(0.1)


def test_run_it_rm_gives_a_shell_and_deletes_the_pod(kubectl: Kubectl) -> None:
    """Does ``kubectl run -it --rm debug --image=busybox -- sh`` show the prompt, reach a Service, and clean up?"""
    _web_service(kubectl)
    screen, code = _pty_session(kubectl, ["run", "-it", "--rm", "debug", "--image=busybox", "--", "sh"],
                                [b"wget -qO- http://myd1\r", b"echo $HOSTNAME\r", b"exit\r"], timeout=40)
    assert code == 0, screen
    assert "If you don't see a command prompt, try pressing enter.\r\n\r/ # wget -qO- http://myd1\r\n" in screen
    assert "Welcome to nginx!" in screen
    assert "/ # echo $HOSTNAME\r\ndebug\r\n/ # exit\r\n" in screen
    assert _deleted(kubectl, "debug") in screen
    _wait_gone(kubectl, "debug")


def test_run_i_with_piped_stdin_ends_with_the_shell_exit_code(kubectl: Kubectl) -> None:
    """Does ``kubectl run -i --rm --restart=Never`` run the piped lines and fail with ``exit``'s code?"""
    proc = kubectl("run", "-i", "--rm", "--restart=Never", "tmp", "--image=busybox", "--", "sh",
                   input="X=2\necho x=$X\nexit 3\n", check=False)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith("x=2\n") and _deleted(kubectl, "tmp").replace("\r", "") in proc.stdout
    assert "pod " in proc.stderr and "tmp terminated (Error)" in proc.stderr
    _wait_gone(kubectl, "tmp")


def test_run_i_rm_wget_prints_the_page(kubectl: Kubectl) -> None:
    """Does a quick non-interactive ``kubectl run -i --rm ... -- wget -qO- http://<svc>`` print the page?"""
    _web_service(kubectl)
    proc = kubectl("run", "-i", "--rm", "--restart=Never", "tmp", "--image=busybox", "--",
                   "wget", "-qO-", "http://myd1", check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<!DOCTYPE html>") and "Welcome to nginx!" in proc.stdout
    assert _deleted(kubectl, "tmp").replace("\r", "") in proc.stdout
    assert "couldn't attach" not in proc.stderr


def test_attach_it_to_a_waiting_shell_then_logs(kubectl: Kubectl) -> None:
    """Does ``kubectl attach -it`` reach a shell started with stdin/tty, whose exit code ends the pod, logged?"""
    kubectl("run", "sh1", "--image=busybox", "--restart=Never", "-i", "-t", "--attach=false")
    kubectl("wait", "--for=condition=Ready", "pod/sh1", "--timeout=30s")
    time.sleep(0.3)
    assert _phase(kubectl, "sh1", "Running", timeout=0)["status"]["phase"] == "Running"  # waits for input
    screen, code = _pty_session(kubectl, ["attach", "-it", "sh1"], [b"echo attached\r", b"exit 2\r"])
    assert code == 0, screen
    assert "\r/ # echo attached\r\nattached\r\n/ # exit 2\r\n" in screen
    pod = _phase(kubectl, "sh1", "Failed")
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 2
    logs = kubectl("logs", "sh1").stdout
    assert "/ # echo attached" in logs and "attached" in logs.splitlines()
    proc = kubectl("attach", "sh1", check=False)
    assert proc.returncode == 1
    assert "cannot attach a container in a completed pod; current phase is Failed" in proc.stderr


def test_attach_to_a_program_without_stdin_streams_its_output(kubectl: Kubectl) -> None:
    """Does ``kubectl attach web`` (nginx, no stdin) stream what the container writes?"""
    kubectl("run", "web", "--image=nginx")
    kubectl("wait", "--for=condition=Ready", "pod/web", "--timeout=30s")
    ip = kubectl("get", "pod", "web", "-o", "jsonpath={.status.podIP}").stdout
    proc = subprocess.Popen([kubectl.binary, "--kubeconfig", str(kubectl.kubeconfig), "-n", str(kubectl.namespace),
                             "attach", "web"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"HOME": str(kubectl.kubeconfig.parent)})
    try:
        time.sleep(1.5)
        kubectl("exec", "web", "--", "curl", "-s", f"http://{ip}/")
        time.sleep(0.5)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert '"GET / HTTP/1.1" 200' in out, (out, err)


async def _ws_checks(url: str, token: str, ssl: Any, ns: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    found: dict[str, Any] = {}
    async with aiohttp.ClientSession(headers=headers) as s:
        base = f"{url}/api/v1/namespaces/{ns}/pods"
        async with s.get(f"{base}/gone/attach?container=gone&stdout=true", ssl=ssl,
                         headers={"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                  "Sec-WebSocket-Protocol": "v4.channel.k8s.io"}) as resp:
            found["missing"] = (resp.status, await resp.text())
        for _ in range(3):  # leave at once, with garbage and without
            async with s.ws_connect(f"{base}/keep/attach?stdin=true&stdout=true", protocols=("v5.channel.k8s.io",),
                                    ssl=ssl) as ws:
                await ws.send_str("garbage text frame")
                await ws.send_bytes(b"")
                await ws.send_bytes(b"\x07\x00\x01")
                await ws.send_bytes(b"\x04{not json")
        async with s.ws_connect(f"{base}/keep/attach?stdin=true&stdout=true", protocols=("v4.channel.k8s.io",),
                                ssl=ssl) as ws:
            await ws.send_bytes(b"\x00echo still-here\n")
            got = b""
            while b"still-here" not in got:
                msg = await asyncio.wait_for(ws.receive(), 10)
                assert msg.type == aiohttp.WSMsgType.BINARY
                got += msg.data[1:]
            found["keep"] = got
        async with s.ws_connect(f"{base}/once/attach?stdin=true&stdout=true", protocols=("v4.channel.k8s.io",),
                                ssl=ssl) as ws:
            await ws.send_bytes(b"\x00echo first\n")
            await asyncio.sleep(0.3)
        async with s.get(f"{base}/once", ssl=ssl) as resp:
            found["still_serving"] = resp.status
    return found


def test_bad_attach_clients_never_break_the_server(sandbox: Any, kubectl: Kubectl, namespace: str) -> None:
    """Do garbage frames and early closes leave the shell waiting, and does stdinOnce end it after one attach?"""
    for name, once in (("keep", False), ("once", True)):
        kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": name, "image": "busybox", "stdin": True, "stdinOnce": once}]}}))
        kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=30s")
    found = asyncio.run(_ws_checks(sandbox.url, sandbox.token, sandbox.ssl_context(), namespace))
    assert found["missing"][0] in (404, 500)
    assert found["keep"] == b"still-here\n"
    assert found["still_serving"] == 200
    assert _phase(kubectl, "once", "Succeeded")["status"]["phase"] == "Succeeded"
    assert kubectl("logs", "once").stdout == "first\n"
    assert _phase(kubectl, "keep", "Running", timeout=0)["status"]["phase"] == "Running"
    proc = kubectl("run", "-i", "--rm", "--restart=Never", "late", "--image=busybox", "--", "sh",
                   input="echo ok\n", check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("ok\n"), (proc.stdout, proc.stderr)
