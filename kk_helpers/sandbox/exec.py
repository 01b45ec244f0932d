"""``pods/{name}/exec`` and ``pods/{name}/attach`` over WebSocket, as kubectl and the official client speak them.

The protocol (k8s.io/apimachinery/pkg/util/remotecommand, client-go
tools/remotecommand/websocket.go): the client upgrades
``GET /api/v1/namespaces/<ns>/pods/<pod>/exec?command=..&container=..&stdin=..&stdout=..&stderr=..&tty=..``
to a WebSocket with subprotocol ``v5.channel.k8s.io`` (kubectl >= 1.30) or
``v4.channel.k8s.io`` (the official Python client offers both). Every binary
message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final
``Status`` (JSON), 4 terminal resize (``{"Width":..,"Height":..}``); v5 adds
255, "close channel N" (kubectl sends ``[255, 0]`` when its stdin ends).

Errors come where a real cluster puts them. The API server's checks (pod not
found, no node yet, unknown container, a container name needed) answer the
upgrade request with a ``Status``. What the kubelet finds (the container is not
running) is plain text from the kubelet before the upgrade with v4, or, with v5
(where the API server upgrades first and translates to the kubelet), an
``InternalError`` on channel 3 after it, as kubectl >= 1.30 shows:
``Internal error occurred: unable to upgrade connection: container not found ("web")``.

The command itself runs in the simulated runtime: ``Registry.exec_provider``
(set by ``controllers/runtime.py``) returns an :class:`ExecRunner`. There are
no real containers.

``attach`` speaks the same protocol without a command: ``Registry.attach_provider``
returns a runner that connects the session to the container's own process (a
shell started with ``stdin: true`` reads what is typed; any other program's
output is streamed). The stream's TTY is the container's ``tty`` setting, as the
kubelet decides, and the session always ends with ``Success``: the exit code is
the container's, in the pod status. A container the kubelet does not run is
``container web not found in pod web_default``. ``portforward`` is refused with
a Status that names what to use instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import WSMsgType, web

from . import errors
from .errors import APIError
from .resources import PODS

if TYPE_CHECKING:
    from .registry import Registry

log = logging.getLogger("kk.sandbox.exec")

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
#: Subprotocols served, in the order the server prefers them.
PROTOCOLS = (V5, V4)
#: Largest stdin backlog kept for a program that does not read it (bytes).
MAX_STDIN_BACKLOG = 1024 * 1024
#: Largest message accepted from a client.
MAX_MESSAGE = 1024 * 1024

PORT_FORWARD_REFUSED = ("port-forward is not available in the kk sandbox: expose the pod with "
                        "kubectl expose pod {pod} --type=NodePort --port={port} and open kk.service_url(\"{pod}\")")


class ContainerUnavailable(Exception):
    """The kubelet has no running container by that name (``container not found ("web")``)."""


class ExecFailed(Exception):
    """The runtime could not start the command (the OCI runtime's ``executable file not found`` message)."""


@dataclass(frozen=True)
class ExecRequest:
    """What the client asked for (``command`` is empty for an attach)."""

    command: tuple[str, ...]
    container: str
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


class ProgramIO(Protocol):
    """The streams a simulated program reads and writes: one client's (:class:`ExecIO`) or a container's own."""

    tty: bool

    async def read(self) -> bytes | None: ...

    async def write(self, data: bytes, *, stderr: bool = False) -> None: ...


class ExecRunner(Protocol):
    """A command the runtime will run: :meth:`run` returns its exit code or raises :class:`ExecFailed`."""

    async def run(self, io: "ExecIO") -> int: ...


class ExecIO:
    """The streams a running command sees: stdin chunks in, stdout/stderr bytes out."""

    def __init__(self, ws: web.WebSocketResponse, req: ExecRequest) -> None:
        self.ws = ws
        self.req = req
        self.tty = req.tty
        self.width = 80
        self.height = 24
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._backlog = 0
        self.closed = asyncio.Event()
        if not req.stdin:
            self._stdin.put_nowait(None)

    async def read(self) -> bytes | None:
        """The next chunk of stdin; None once it has ended (or was never asked for)."""
        data = await self._stdin.get()
        if data is None:
            self._stdin.put_nowait(None)  # stays at end of input
        else:
            self._backlog -= len(data)
        return data

    async def write(self, data: bytes, *, stderr: bool = False) -> None:
        """Send program output (to stdout, or stderr when the client asked for it and there is no TTY)."""
        if not data or self.closed.is_set():
            return
        channel = STDERR if stderr and self.req.stderr and not self.tty else STDOUT
        if channel == STDOUT and not self.req.stdout:
            return
        try:
            await self.ws.send_bytes(bytes([channel]) + data)
        except (ConnectionResetError, RuntimeError):
            self.closed.set()

    def _end_stdin(self) -> None:
        if self.req.stdin:
            self._stdin.put_nowait(None)

    async def pump(self) -> None:
        """Read the client's messages until it closes: stdin, resize and v5 close signals."""
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.BINARY:
                    data = bytes(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    data = str(msg.data).encode()
                else:
                    break
                if not data:
                    continue
                channel, payload = data[0], data[1:]
                if channel == STDIN and self.req.stdin and payload:
                    if self._backlog + len(payload) <= MAX_STDIN_BACKLOG:
                        self._backlog += len(payload)
                        self._stdin.put_nowait(payload)
                elif channel == RESIZE:
                    self._resize(payload)
                elif channel == CLOSE and self.ws.ws_protocol == V5 and payload[:1] == bytes([STDIN]):
                    self._end_stdin()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._end_stdin()
            self.closed.set()

    def _resize(self, payload: bytes) -> None:
        try:
            size = json.loads(payload)
            self.width, self.height = int(size.get("Width", self.width)), int(size.get("Height", self.height))
        except (ValueError, TypeError, AttributeError):
            pass


def _flag(q: Any, key: str) -> bool:
    v = q.get(key)
    return v is not None and v.lower() in ("true", "1", "")


def _offered_protocols(request: web.Request) -> list[str]:
    return [p.strip() for h in request.headers.getall("Sec-WebSocket-Protocol", []) for p in h.split(",") if p.strip()]


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def _exit_status(code: int, command: tuple[str, ...]) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def _internal(message: str, protocol: str, *, from_kubelet_status: bool = True) -> dict[str, Any]:
    status = errors.internal(message).status()
    if protocol == V5 and from_kubelet_status:  # the API server's translator wraps the kubelet's Status once more
        status = errors.internal(status["message"]).status()
    return status


def parse_request(registry: "Registry", namespace: str, name: str, q: Any, *,
                  attach: bool = False) -> tuple[dict[str, Any], ExecRequest]:
    """The API server's checks, before any upgrade: the pod, its node, the container, the streams.

    An attach has no command, and its TTY is the container's (what the kubelet uses).
    """
    pod = registry.get(PODS, namespace, name)
    spec = pod.get("spec") or {}
    containers = [c.get("name") for c in spec.get("containers") or []]
    init = [c.get("name") for c in spec.get("initContainers") or []]
    ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or []]
    container = q.get("container") or ""
    if not container:
        if len(containers) != 1:
            msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
            if init:
                msg += f" or one of the init containers: [{' '.join(init)}]"
            raise errors.bad_request(msg)
        container = containers[0]
    elif container not in containers + init + ephemeral:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    if not spec.get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    command = () if attach else tuple(q.getall("command", []))
    if not command and not attach:
        raise errors.bad_request("you must specify at least 1 command")
    tty = _flag(q, "tty")
    if attach:
        spec_of = {c.get("name"): c for key in ("containers", "initContainers", "ephemeralContainers")
                   for c in spec.get(key) or []}
        tty = bool((spec_of.get(container) or {}).get("tty"))
    req = ExecRequest(command, container, _flag(q, "stdin"), _flag(q, "stdout"), _flag(q, "stderr"), tty)
    if not (req.stdin or req.stdout or req.stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return pod, req


async def serve(registry: "Registry", request: web.Request, namespace: str, name: str, sub: str,
                tasks: set["asyncio.Task[Any]"]) -> web.StreamResponse:
    """Answer ``pods/<name>/exec`` and ``attach`` (and refuse ``portforward``) as an API server would."""
    if request.method not in ("GET", "POST"):
        raise errors.method_not_allowed()
    if sub == "portforward":
        pod = registry.get(PODS, namespace, name)
        ports = [p.get("containerPort") for c in (pod.get("spec") or {}).get("containers") or []
                 for p in c.get("ports") or [] if p.get("containerPort")]
        raise errors.bad_request(PORT_FORWARD_REFUSED.format(pod=name, port=ports[0] if ports else "<port>"))
    attach = sub == "attach"
    pod, req = parse_request(registry, namespace, name, request.query, attach=attach)
    provider = registry.attach_provider if attach else registry.exec_provider
    if provider is None:
        raise errors.internal("no container runtime is running (the sandbox was started without controllers)")
    offered = _offered_protocols(request)
    protocol = next((p for p in offered if p in PROTOCOLS), None)
    runner: ExecRunner | None = None
    unavailable: str | None = None
    try:
        runner = provider(pod, req)
    except ContainerUnavailable as err:
        unavailable = str(err)
    if not _is_websocket(request) or protocol is None:
        if unavailable is not None:  # the kubelet's plain-text answer, passed through by the API server
            return web.Response(status=500, text=unavailable, content_type="text/plain")
        if not _is_websocket(request):
            raise errors.bad_request(f"the kk sandbox streams {sub} over WebSocket only (v5.channel.k8s.io or "
                                     "v4.channel.k8s.io); SPDY is not supported: use kubectl >= 1.30")
        raise errors.bad_request(f"requested protocol(s) are not supported: [{' '.join(offered)}]; "
                                 f"supports [{' '.join(PROTOCOLS)}]")
    if unavailable is not None and protocol != V5:
        return web.Response(status=500, text=unavailable, content_type="text/plain")
    ws = web.WebSocketResponse(protocols=(protocol,), max_msg_size=MAX_MESSAGE, autoping=True)
    await ws.prepare(request)
    task = asyncio.current_task()
    if task is not None:
        tasks.add(task)
    io = ExecIO(ws, req)
    pump = asyncio.create_task(io.pump())
    try:
        if unavailable is not None:
            status = _internal(f"unable to upgrade connection: {unavailable}", protocol, from_kubelet_status=False)
        else:
            assert runner is not None
            status = await _run(runner, io, req, protocol)
        if status is not None and not io.closed.is_set():
            await ws.send_bytes(bytes([ERROR]) + json.dumps(status, separators=(",", ":")).encode())
    except (ConnectionResetError, RuntimeError):
        pass
    except asyncio.CancelledError:  # the sandbox is stopping
        pass
    finally:
        if task is not None:
            tasks.discard(task)
        try:
            await asyncio.wait_for(ws.close(), 2)
        except (asyncio.TimeoutError, ConnectionResetError, RuntimeError, asyncio.CancelledError):
            pass
        pump.cancel()
        try:
            await pump
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the client is gone either way
            pass
    return ws


async def _run(runner: ExecRunner, io: ExecIO, req: ExecRequest, protocol: str) -> dict[str, Any] | None:
    """Run the command until it ends or the client goes away; the Status for channel 3 (None: nobody to tell)."""
    job = asyncio.create_task(runner.run(io))
    gone = asyncio.create_task(io.closed.wait())
    try:
        await asyncio.wait({job, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not job.done():
            job.cancel()
            try:
                await job
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopped because the client left
                pass
            return None
    try:
        code = job.result()
    except ExecFailed as err:
        return _internal(str(err), protocol)
    except APIError as err:
        return err.status()
    except Exception as err:  # a bug in the simulated runtime: still end the session properly
        log.exception("exec of %s failed", list(req.command) or "attach")
        return _internal(f"error executing command in container: {type(err).__name__}: {err}", protocol)
    return _exit_status(code, req.command)
