"""Unit tests of the offline image catalog: references, pulls, emulated HTTP answers and the container shell.

No sandbox runs here: programs are driven on a fake clock, the way the kubelet drives them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pytest

from kk_helpers.sandbox.controllers import images


@dataclass
class Run:
    """What a program did: log lines with their simulated times, files, servers and its exit."""

    lines: list[tuple[float, str]] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=dict)
    serving: list[images.Serve] = field(default_factory=list)
    exit_code: int | None = None
    exit_at: float | None = None
    forever: bool = False

    @property
    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


def run(image: str, command: list[str] | None = None, args: list[str] | None = None, *,
        env: dict[str, str] | None = None, max_steps: int = 5000, until: float = math.inf) -> Run:
    """Drive a container's program on a clock from 0 to its end, until it blocks for ever, or to ``until``."""
    ref = images.parse_reference(image)
    spec = images.resolve(ref)
    out = Run()
    now = [0.0]
    penv = images.ProcessEnv(spec, ref, dict(env or {}), "pod-a", "10.244.1.7", clock=lambda: now[0],
                             read_file=lambda p: out.files.get(p))
    gen = images.program(images.effective_argv(spec, command, args), penv)
    for i, action in enumerate(gen):
        assert i < max_steps, "the program did not finish"
        if now[0] > until:
            break
        if isinstance(action, images.Output):
            out.lines.extend((now[0], line) for line in action.text.split("\n"))
        elif isinstance(action, images.Sleep):
            if action.seconds == math.inf:
                out.forever = True
                break
            now[0] += action.seconds
        elif isinstance(action, images.FileOp):
            old = out.files.get(action.path) or ""
            out.files[action.path] = (old + action.content) if action.append and action.content is not None \
                else action.content
        elif isinstance(action, images.Serve):
            out.serving.append(action)
        elif isinstance(action, images.Exit):
            out.exit_code, out.exit_at = action.code, now[0]
            break
    return out


# -- references ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, full", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.27", "docker.io/library/nginx:1.27"),
    ("docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27"),
    ("docker.io/nginx", "docker.io/library/nginx:latest"),
    ("index.docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36"),
    ("vimal13/apache-webserver-php", "docker.io/vimal13/apache-webserver-php:latest"),
    ("registry.k8s.io/e2e-test-images/agnhost:2.39", "registry.k8s.io/e2e-test-images/agnhost:2.39"),
    ("localhost:5000/app:v1", "localhost:5000/app:v1"),
    ("nginx@sha256:" + "a" * 64, "docker.io/library/nginx@sha256:" + "a" * 64),
])
def test_references_normalise_like_containerd(text: str, full: str) -> None:
    """Do short and long spellings of a reference name the same image?"""
    assert images.parse_reference(text).full == full


@pytest.mark.parametrize("text", ["Nginx", "nginx:", "nginx@sha256:abc", "ng inx", ""])
def test_invalid_references_are_rejected(text: str) -> None:
    """Is a malformed reference refused (the kubelet's InvalidImageName)?"""
    with pytest.raises(images.InvalidReference):
        images.parse_reference(text)


def test_default_pull_policy() -> None:
    """Is the default pull policy Always for latest or no tag and IfNotPresent otherwise?"""
    assert images.default_pull_policy("nginx") == "Always"
    assert images.default_pull_policy("nginx:latest") == "Always"
    assert images.default_pull_policy("nginx:1.27") == "IfNotPresent"
    assert images.default_pull_policy("nginx@sha256:" + "b" * 64) == "IfNotPresent"


def test_image_ids_are_stable_and_well_formed() -> None:
    """Does each reference get the same imageID every time, shaped repository@sha256:<64 hex>?"""
    ref = images.parse_reference("nginx:1.27")
    assert images.image_id(ref) == images.image_id(images.parse_reference("docker.io/library/nginx:1.27"))
    assert re.fullmatch(r"docker\.io/library/nginx@sha256:[0-9a-f]{64}", images.image_id(ref))
    assert images.image_id(ref) != images.image_id(images.parse_reference("nginx:1.28"))


@pytest.mark.parametrize("image", ["nginx", "nginx:1.25", "nginx:1.27", "nginx:1.28", "nginx:1.27.3", "nginx:alpine",
                                   "httpd:2.4", "busybox:1.36", "busybox:1.37", "vimal13/apache-webserver-php",
                                   "hashicorp/http-echo", "gcr.io/google-samples/hello-app:2.0",
                                   "registry.k8s.io/e2e-test-images/agnhost:2.39", "alpine:3.20", "redis:7"])
def test_catalog_images_pull(image: str) -> None:
    """Does every image a lab uses resolve in the offline catalog?"""
    assert images.resolve(images.parse_reference(image)).repository


def test_unknown_tag_fails_like_containerd() -> None:
    """Does a bad tag fail with containerd's NotFound message?"""
    with pytest.raises(images.PullError) as err:
        images.resolve(images.parse_reference("x:bad"))
    assert "pull access denied" in str(err.value)
    with pytest.raises(images.PullError) as err:
        images.resolve(images.parse_reference("nginx:bad"))
    assert str(err.value) == ('rpc error: code = NotFound desc = failed to pull and unpack image '
                              '"docker.io/library/nginx:bad": failed to resolve reference "docker.io/library/nginx:bad": '
                              'docker.io/library/nginx:bad: not found')


# -- programs --------------------------------------------------------------------------------


def test_shell_echo_then_exit_code() -> None:
    """Does ``sh -c 'echo hello; exit 3'`` print hello and exit 3?"""
    r = run("busybox", ["sh", "-c", "echo hello; exit 3"])
    assert r.text == "hello" and r.exit_code == 3


def test_shell_sleep_sequence_takes_simulated_time() -> None:
    """Does ``echo hi; sleep 5; exit 1`` end 5 simulated seconds later with code 1?"""
    r = run("busybox", None, ["sh", "-c", "echo hi; sleep 5; exit 1"])
    assert r.lines == [(0.0, "hi")] and r.exit_code == 1 and r.exit_at == pytest.approx(5.0, abs=0.1)


def test_shell_counter_loop_prints_over_time() -> None:
    """Does the classic counter loop print one numbered line per second?"""
    r = run("busybox", ["sh", "-c", 'i=0; while true; do echo "$i: $(date)"; i=$((i+1)); sleep 1; done'],
            until=3.5)
    assert [line.split(":")[0] for _, line in r.lines] == ["0", "1", "2", "3"]
    assert [round(t) for t, _ in r.lines] == [0, 1, 2, 3]
    assert r.lines[1][1] == "1: Thu Jan  1 00:00:01 UTC 1970"
    assert r.exit_code is None


def test_shell_control_flow_and_pipes() -> None:
    """Do for/if/until, $(...), arithmetic, && / || and pipes behave as in sh?"""
    r = run("busybox", ["sh", "-c", "for i in $(seq 1 3); do echo n$i; done; "
                                    "if [ -f /nope ]; then echo yes; else echo no; fi; "
                                    "x=5; until [ $x -le 0 ]; do x=$((x-2)); done; echo x=$x; "
                                    "false || echo rescued && echo chained; echo a b c | wc -w"])
    assert r.text.split("\n") == ["n1", "n2", "n3", "no", "x=-1", "rescued", "chained", "3"]
    assert r.exit_code == 0


def test_shell_files_redirections_and_hostname() -> None:
    """Do redirections write files that cat reads back, and does hostname print the pod name?"""
    r = run("busybox", ["sh", "-c", "echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f; hostname; rm /tmp/f; "
                                    "cat /tmp/f"])
    assert r.text.startswith("one\ntwo\npod-a\n")
    assert "cat: can't open '/tmp/f': No such file or directory" in r.text
    assert r.exit_code == 1


def test_shell_syntax_error_exits_2() -> None:
    """Does an unterminated quote give a syntax error and exit code 2?"""
    r = run("busybox", ["sh", "-c", 'echo "oops'])
    assert r.exit_code == 2 and "syntax error" in r.text


def test_unknown_command_is_127() -> None:
    """Does an unknown command print ``not found`` and exit 127?"""
    r = run("busybox", ["sh", "-c", "frobnicate"])
    assert r.exit_code == 127 and "frobnicate: not found" in r.text


def test_missing_executable_cannot_start() -> None:
    """Is a binary the image lacks a start failure (StartError), not a shell error?"""
    with pytest.raises(images.StartFailure, match=r'exec: "nginx": executable file not found in \$PATH'):
        images.program(["nginx"], images.ProcessEnv(images.resolve(images.parse_reference("busybox")), None, {}, "p"))
    with pytest.raises(images.StartFailure):
        images.program(["sh", "-c", "echo"], images.ProcessEnv(
            images.resolve(images.parse_reference("hashicorp/http-echo")), None, {}, "p"))


def test_bare_shell_image_exits_at_once() -> None:
    """Does ``busybox`` with its default ``sh`` and no terminal exit 0 straight away?"""
    r = run("busybox")
    assert r.exit_code == 0 and r.lines == []


def test_nginx_starts_serving_on_80_after_its_entrypoint_output() -> None:
    """Does nginx print its entrypoint and notice lines, then listen on port 80 for ever?"""
    r = run("nginx:1.27")
    assert r.lines[0][1].startswith("/docker-entrypoint.sh:")
    assert any("nginx/1.27.5" in line for _, line in r.lines)
    assert [s.port for s in r.serving] == [80] and r.forever


def test_kubernetes_var_expansion() -> None:
    """Does ``$(VAR)`` in command and args expand from the container env, with ``$$`` escaping?"""
    assert images.expand_kubernetes_vars("echo $(MSG) $$(MSG) $(NOPE)", {"MSG": "hi"}) == "echo hi $(MSG) $(NOPE)"


def test_postgres_needs_a_password() -> None:
    """Does postgres refuse to start without POSTGRES_PASSWORD, and serve with it?"""
    assert run("postgres:16").exit_code == 1
    ok = run("postgres:16", env={"POSTGRES_PASSWORD": "x"})
    assert ok.forever and ok.serving[0].port == 5432


# -- HTTP ------------------------------------------------------------------------------------


def ctx(server: str, image: str, **kw: object) -> images.ServerContext:
    return images.ServerContext(server=server, ref=images.parse_reference(image), pod_name="web-abc",
                                pod_ip="10.244.1.5", port=images.SERVER_PORTS.get(server, 80), node_name="kk-worker",
                                **kw)  # type: ignore[arg-type]


def test_nginx_default_page_names_the_pod() -> None:
    """Does nginx answer its welcome page, naming the pod, with an nginx access-log line?"""
    resp = images.respond(ctx("nginx", "nginx:1.27"), images.Request(headers={"User-Agent": "curl/8.5.0"}), 0)
    body = resp.body.decode()
    assert resp.status == 200 and "<title>Welcome to nginx!</title>" in body and "web-abc" in body
    assert resp.headers["Server"] == "nginx/1.27.5"
    assert resp.access_log is not None
    assert re.fullmatch(r'10\.244\.0\.1 - - \[01/Jan/1970:00:00:00 \+0000\] "GET / HTTP/1\.1" 200 \d+ "-" "curl/8\.5\.0" "-"',
                        resp.access_log)


def test_nginx_404_and_docroot_files() -> None:
    """Does nginx 404 unknown paths and serve files written into its docroot?"""
    files = {"/usr/share/nginx/html/index.html": "custom page\n"}
    c = ctx("nginx", "nginx", read_file=files.get)
    assert images.respond(c, images.Request(path="/missing"), 0).status == 404
    assert images.respond(c, images.Request(path="/"), 0).body == b"custom page\n"


def test_apache_php_page_shows_pod_name_and_ip() -> None:
    """Does the apache-php image answer Welcome with the pod's name and IP?"""
    body = images.respond(ctx("php", "vimal13/apache-webserver-php"), images.Request(), 0).body.decode()
    assert "Welcome" in body and "pod: web-abc" in body and "ip: 10.244.1.5" in body


def test_hello_app_and_http_echo() -> None:
    """Do hello-app and http-echo answer as the real programs do?"""
    hello = images.respond(ctx("hello-app", "gcr.io/google-samples/hello-app:2.0"), images.Request(), 0)
    assert hello.body == b"Hello, world!\nVersion: 2.0.0\nHostname: web-abc\n"
    echo = images.respond(ctx("http-echo", "hashicorp/http-echo", args=("-text=hi there",)), images.Request(), 0)
    assert echo.body == b"hi there\n"
