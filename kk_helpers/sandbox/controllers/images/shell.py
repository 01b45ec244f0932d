"""Container programs over simulated time: a small shell and the images' main programs.

:func:`program` turns a container's argv into a generator of actions (output
lines, sleeps, file writes, "now serving on port N", exit). The kubelet
consumes them on its own clock, so nothing here sleeps or blocks.

The shell covers what labs write in ``command``/``args``: ``echo``, ``printf``,
``sleep``, ``exit``, ``date``, ``hostname``, ``cat``/``touch``/``rm`` on a
simulated file system, ``seq``, ``wc``/``grep``/``head``/``tail`` in pipes,
variables, ``$(...)``, ``$((...))``, ``;``/``&&``/``||``, redirections, and
``if``/``while``/``until``/``for``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any, Generator, Mapping

from .actions import Action, Exit, ExitNow, FileOp, Output, ProcessEnv, Program, Serve, Sleep, StartFailure, Tick
from .catalog import ImageSpec, server_version, startup_lines
from .commands import (
    BUILTINS, EXTERNAL, SERVER_BASES, SHELL_NAMES, cmd_curl, os_release, python_c, server_binary_available,
)
from .http import SERVER_PORTS, flag_value
from .parser import Parser, ShellSyntaxError

def expand_kubernetes_vars(s: str, env: Mapping[str, str]) -> str:
    """The kubelet's ``$(VAR)`` expansion in command and args (``$$`` escapes)."""
    out = []
    i = 0
    while i < len(s):
        if s.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        if s.startswith("$(", i):
            j = s.find(")", i + 2)
            name = s[i + 2:j] if j != -1 else ""
            if j != -1 and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name) and name in env:
                out.append(env[name])
                i = j + 1
                continue
        out.append(s[i])
        i += 1
    return "".join(out)




def effective_argv(spec: ImageSpec | None, command: list[str] | None, args: list[str] | None) -> list[str]:
    """Kubernetes' rule: ``command`` replaces ENTRYPOINT (and drops CMD); ``args`` replaces CMD."""
    entry = list(spec.entrypoint) if spec else []
    cmd = list(spec.cmd) if spec else []
    if command:
        return list(command) + list(args or [])
    return entry + (list(args) if args else cmd)


def program(argv: list[str], penv: ProcessEnv) -> Program:
    """The generator of actions for a container whose full argv is ``argv``.

    Raises:
        StartFailure: when the executable does not exist in the image.
    """
    if not argv:
        raise StartFailure('no command specified')
    sh = Shell(penv)
    if not sh.exists(argv[0]):
        raise StartFailure(f'exec: "{argv[0]}": executable file not found in $PATH')
    return sh.run_argv(argv)


class Shell:
    """A small POSIX-ish shell over simulated time (busybox ``sh`` as far as labs need it)."""

    MAX_DEPTH = 50

    def __init__(self, penv: ProcessEnv) -> None:
        self.penv = penv
        self.vars: dict[str, str] = dict(penv.env)
        self.vars.setdefault("HOSTNAME", penv.hostname)
        self.vars.setdefault("HOME", "/root")
        self.vars.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        self.status = 0
        self.depth = 0
        self.shell_name = "sh"
        self.local_files: dict[str, str | None] = {}
        self.cwd = "/"

    # -- which executables exist -----------------------------------------------------------

    def exists(self, name: str) -> bool:
        """Whether ``name`` can be executed in this image."""
        base = name.rsplit("/", 1)[-1]
        spec = self.penv.spec
        if base in SERVER_BASES:
            return server_binary_available(spec, name)
        if spec is not None and not spec.shell:
            return False
        if base == "bash" and spec is not None and (spec.repository.endswith(("busybox", "alpine", "curl"))
                                                    or "alpine" in (self.penv.ref.tag if self.penv.ref else "")):
            return False
        return base in BUILTINS or base in SHELL_NAMES or base in EXTERNAL

    # -- entry points ----------------------------------------------------------------------

    def run_argv(self, argv: list[str]) -> Program:
        try:
            code = yield from self._exec_argv(argv, top=True)
        except ExitNow as e:
            code = e.code
        yield Exit(code & 0xFF)
        return code & 0xFF

    def run_line(self, text: str) -> Generator[Action, None, int]:
        """One line typed at an interactive shell (``kubectl exec -it POD -- sh``).

        State (variables, ``cd``, files) carries over to the next line; ``exit`` raises :class:`ExitNow`.
        """
        self.depth = 0
        status = yield from self._run_script(text)
        self.status = status
        return status

    def abspath(self, path: str) -> str:
        """``path`` made absolute against the working directory (``cd``), with ``.`` and ``..`` resolved."""
        if path == "~" or path.startswith("~/"):
            path = self.vars.get("HOME", "/root") + path[1:]
        full = path if path.startswith("/") else self.cwd.rstrip("/") + "/" + path
        parts: list[str] = []
        for part in full.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(part)
        return "/" + "/".join(parts)

    def _run_script(self, script: str) -> Generator[Action, None, int]:
        try:
            tree = Parser(script).parse()
        except ShellSyntaxError as err:
            yield Output(f"{self.shell_name}: syntax error: {err}")
            return 2
        return (yield from self._run(tree))

    # -- the tree walker -------------------------------------------------------------------

    def _run(self, node: Any) -> Generator[Action, None, int]:
        kind = node[0]
        if kind == "list":
            status = 0
            for item in node[1]:
                status = yield from self._run(item)
            return status
        if kind == "and":
            status = yield from self._run(node[1])
            if status == 0:
                status = yield from self._run(node[2])
            self.status = status
            return status
        if kind == "or":
            status = yield from self._run(node[1])
            if status != 0:
                status = yield from self._run(node[2])
            self.status = status
            return status
        if kind == "not":
            status = yield from self._run(node[1])
            self.status = 0 if status else 1
            return self.status
        if kind == "bg":  # cmd &: run to completion (no job control), ignoring its sleeps
            return (yield from self._run(node[1]))
        if kind == "pipe":
            data: str | None = None
            status = 0
            for i, part in enumerate(node[1]):
                last = i == len(node[1]) - 1
                if last:
                    status = yield from self._with_stdin(part, data)
                else:
                    data, status = yield from self._capture(part, data)
            self.status = status
            return status
        if kind == "group":
            return (yield from self._run(node[1]))
        if kind == "if":
            for cond, body in node[1]:
                status = yield from self._run(cond)
                if status == 0:
                    return (yield from self._run(body))
            if node[2] is not None:
                return (yield from self._run(node[2]))
            return 0
        if kind in ("while", "until"):
            status = 0
            for _ in range(10_000_000):
                cond = yield from self._run(node[1])
                if (cond != 0) if kind == "while" else (cond == 0):
                    break
                status = yield from self._run(node[2])
                yield Tick()
            return status
        if kind == "for":
            words: list[str] = []
            for w in node[2]:
                words.extend((yield from self._expand(w, split=True)))
            status = 0
            for value in words:
                self.vars[node[1]] = value
                status = yield from self._run(node[3])
                yield Tick()
            return status
        if kind == "cmd":
            return (yield from self._simple(node))
        raise AssertionError(kind)

    def _capture(self, node: Any, stdin: str | None) -> Generator[Action, None, tuple[str, int]]:
        out: list[str] = []
        status = yield from self._collect(self._with_stdin(node, stdin), out)
        return "".join(out), status

    def _collect(self, gen: Generator[Action, None, int], out: list[str]) -> Generator[Action, None, int]:
        """Run ``gen``, keeping its output in ``out`` instead of the log."""
        try:
            action = next(gen)
            while True:
                if isinstance(action, Output):
                    out.append(action.text + ("" if action.text.endswith("\n") else "\n"))
                    action = gen.send(None)
                    continue
                yield action
                action = gen.send(None)
        except StopIteration as stop:
            return int(stop.value or 0)

    def _with_stdin(self, node: Any, stdin: str | None) -> Generator[Action, None, int]:
        saved = self.vars.get("\0stdin")
        if stdin is not None:
            self.vars["\0stdin"] = stdin
        try:
            return (yield from self._run(node))
        finally:
            if saved is None:
                self.vars.pop("\0stdin", None)
            else:
                self.vars["\0stdin"] = saved

    # -- words -----------------------------------------------------------------------------

    def _expand(self, word: list[tuple[str, Any]], *, split: bool) -> Generator[Action, None, list[str]]:
        fields: list[str] = [""]
        had_quoted = False
        for kind, value, *rest in word:
            quoted = bool(rest and rest[0])
            if kind == "lit":
                fields[-1] += value
                had_quoted = had_quoted or quoted
                continue
            if kind == "var":
                text = self._var(value)
            elif kind == "cmd":
                self.depth += 1
                if self.depth > self.MAX_DEPTH:
                    raise ExitNow(2)
                try:
                    out: list[str] = []
                    yield from self._collect(self._run(value), out)
                finally:
                    self.depth -= 1
                text = "".join(out).rstrip("\n")
            elif kind == "arith":
                expanded = yield from self._expand(Parser.parse_word_text(value), split=False)
                text = str(self._arith(" ".join(expanded)))
            else:
                text = ""
            if quoted or not split:
                fields[-1] += text
                had_quoted = had_quoted or quoted
            else:
                pieces = text.split()
                if not pieces:
                    continue
                if text[:1].isspace() and fields[-1]:
                    fields.append("")
                fields[-1] += pieces[0]
                for p in pieces[1:]:
                    fields.append(p)
                if text[-1:].isspace():
                    fields.append("")
        if fields and fields[-1] == "" and len(fields) > 1:
            fields.pop()
        if fields == [""] and not had_quoted and split:
            return []
        return fields

    def _var(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "$":
            return "1"
        if name == "RANDOM":
            return str(int(self.penv.clock() * 1000003) % 32768)
        if name.startswith("#"):
            return str(len(self.vars.get(name[1:], "")))
        if ":-" in name:
            n, default = name.split(":-", 1)
            return self.vars.get(n) or default
        if ":=" in name:
            n, default = name.split(":=", 1)
            if not self.vars.get(n):
                self.vars[n] = default
            return self.vars[n]
        return self.vars.get(name, "")

    def _arith(self, expr: str) -> int:
        expr = expr.strip()

        def repl(m: re.Match[str]) -> str:
            v = self.vars.get(m.group(0), "0") or "0"
            return v if re.fullmatch(r"-?\d+", v) else "0"
        py = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", repl, expr)
        if not re.fullmatch(r"[\d\s+\-*/%()<>=!&|]*", py):
            return 0
        py = py.replace("&&", " and ").replace("||", " or ").replace("/", "//")
        try:
            return int(eval(py, {"__builtins__": {}}, {}))  # noqa: S307 - digits and operators only
        except Exception:
            return 0

    # -- simple commands -------------------------------------------------------------------

    def _simple(self, node: Any) -> Generator[Action, None, int]:
        _, assigns, words, redirs = node
        argv: list[str] = []
        for w in words:
            argv.extend((yield from self._expand(w, split=True)))
        values = []
        for name, w in assigns:
            values.append((name, "".join((yield from self._expand(w, split=False)))))
        if not argv:
            for name, v in values:
                self.vars[name] = v
            self.status = 0
            return 0
        saved_env = {name: self.vars.get(name) for name, _ in values}
        for name, v in values:
            self.vars[name] = v
        targets = []
        for op, w in redirs:
            target = "".join((yield from self._expand(w, split=False)))
            targets.append((op, target))
        out_target = next(((op, t) for op, t in targets if op in (">", ">>", "&>")), None)
        stdin_file = next((t for op, t in targets if op == "<"), None)
        if stdin_file is not None:
            content = self.read_file(stdin_file)
            self.vars["\0stdin"] = content or ""
        try:
            yield Tick()
            if out_target is None or out_target[1] in ("/dev/stdout", "/dev/stderr", "/proc/1/fd/1", "/proc/1/fd/2"):
                status = yield from self._exec_argv(argv)
            else:
                out: list[str] = []
                status = yield from self._collect(self._exec_argv(argv), out)
                op, path = out_target
                if path != "/dev/null":
                    self.write_file(path, "".join(out), append=op == ">>")
                    yield FileOp(self.abspath(path), "".join(out), append=op == ">>")
        finally:
            for name, old in saved_env.items():
                if values and old is None:
                    self.vars.pop(name, None)
                elif values:
                    self.vars[name] = old  # type: ignore[assignment]
        self.status = status
        return status

    def read_file(self, path: str) -> str | None:
        if path not in self.local_files and path not in ("/dev/stdin", "-"):
            path = self.abspath(path)
        if path in self.local_files:
            return self.local_files[path]
        if path == "/etc/hostname":
            return self.penv.hostname + "\n"
        if path == "/etc/hosts":
            return f"127.0.0.1\tlocalhost\n{self.penv.pod_ip}\t{self.penv.hostname}\n"
        if path == "/etc/os-release" and self.penv.spec is not None:
            return os_release(self.penv.spec)
        return self.penv.read_file(path)

    def write_file(self, path: str, content: str | None, *, append: bool = False) -> None:
        path = self.abspath(path)
        if content is not None and append:
            content = (self.read_file(path) or "") + content
        self.local_files[path] = content

    def _exec_argv(self, argv: list[str], *, top: bool = False) -> Generator[Action, None, int]:
        name = argv[0]
        base = name.rsplit("/", 1)[-1]
        args = argv[1:]
        if not self.exists(name) and not (base in BUILTINS and not top):
            yield Output(f"bash: {name}: command not found" if self.shell_name == "bash"
                         else f"{self.shell_name}: {name}: not found")
            return 127
        if base in SHELL_NAMES:
            return (yield from self._shell(base, args))
        if base in SERVER_BASES:
            return (yield from self._server(name, args))
        fn = BUILTINS.get(base) or EXTERNAL.get(base)
        if fn is None:
            yield Output(f"{self.shell_name}: {name}: not found")
            return 127
        return (yield from fn(self, args))

    def _shell(self, base: str, args: list[str]) -> Generator[Action, None, int]:
        self.shell_name = "sh" if base in ("sh", "ash", "dash") else "bash"
        script = None
        rest: list[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            if a == "-c" and i + 1 < len(args):
                script = args[i + 1]
                rest = args[i + 2:]
                break
            if a.startswith("-") and "c" in a[1:] and i + 1 < len(args):
                script = args[i + 1]
                rest = args[i + 2:]
                break
            if a.startswith("-"):
                i += 1
                continue
            # sh script.sh: no such file in our image
            content = self.read_file(a)
            if content is None:
                yield Output(f"{self.shell_name}: can't open '{a}': No such file or directory")
                return 2
            script = content
            break
        if script is None:
            return 0  # an interactive shell with no terminal: reads EOF and exits
        if rest:
            self.vars["0"] = rest[0]
            for n, v in enumerate(rest[1:], 1):
                self.vars[str(n)] = v
        self.depth += 1
        if self.depth > self.MAX_DEPTH:
            raise ExitNow(2)
        try:
            return (yield from self._run_script(script))
        finally:
            self.depth -= 1

    def _server(self, name: str, args: list[str]) -> Generator[Action, None, int]:
        base = name.rsplit("/", 1)[-1]
        spec = self.penv.spec
        image_server = spec.server if spec else None
        if base == "docker-entrypoint.sh" or base == "entrypoint.sh":
            if not args:
                return 0
            if image_server in ("nginx", "nginxdemos") and args[0] in ("nginx", "nginx-debug"):
                for line in startup_lines(image_server, self.penv.ref, self.penv.clock(), pod_ip=self.penv.pod_ip)[:9]:
                    yield Output(line)
                return (yield from self._server_main(args[0], args[1:], banner_entry=False))
            return (yield from self._exec_argv(args))
        return (yield from self._server_main(name, args, banner_entry=True))

    def _serve(self, serve: Serve) -> Generator[Action, None, None]:
        """Start listening; a foreground server then runs until the container is stopped."""
        yield serve
        if serve.foreground:
            yield Sleep(math.inf)

    def _server_main(self, name: str, args: list[str], *, banner_entry: bool) -> Generator[Action, None, int]:
        base = name.rsplit("/", 1)[-1]
        spec = self.penv.spec
        image_server = spec.server if spec else None
        ts = self.penv.clock()
        ip = self.penv.pod_ip
        env = self.vars
        if base in ("nginx", "nginx-debug"):
            server = image_server if image_server in ("nginx", "nginxdemos", "echoserver") else "nginx"
            if "-v" in args or "-V" in args:
                yield Output(f"nginx version: nginx/{server_version(server, self.penv.ref)}")
                return 0
            if "-t" in args:
                yield Output("nginx: the configuration file /etc/nginx/nginx.conf syntax is ok")
                yield Output("nginx: configuration file /etc/nginx/nginx.conf test is successful")
                return 0
            fg = any("daemon off" in a for a in args)
            if server != "echoserver":
                lines = startup_lines(server, self.penv.ref, ts, pod_ip=ip, entrypoint=False)
                for line in lines:
                    yield Output(line)
            yield from self._serve(Serve(server, SERVER_PORTS[server], tuple(args), foreground=fg))
            return 0
        if base in ("httpd-foreground", "httpd", "apache2-foreground", "apache2"):
            server = "php" if image_server == "php" else "httpd"
            if "-v" in args:
                yield Output(f"Server version: Apache/{server_version(server, self.penv.ref)} (Unix)")
                return 0
            fg = base.endswith("foreground") or any(a in ("-DFOREGROUND", "-D") for a in args)
            for line in startup_lines(server, self.penv.ref, ts, pod_ip=ip):
                yield Output(line)
            yield from self._serve(Serve(server, 80, tuple(args), foreground=fg))
            return 0
        if base == "http-echo":
            listen = flag_value(args, "listen") or ":5678"
            port = int(listen.rsplit(":", 1)[-1] or 5678)
            if flag_value(args, "text") is None and "-version" not in args:
                pass
            for line in startup_lines("http-echo", self.penv.ref, ts, port=port):
                yield Output(line)
            yield from self._serve(Serve("http-echo", port, tuple(args)))
            return 0
        if base == "hello-app":
            port = int(env.get("PORT") or 8080)
            for line in startup_lines("hello-app", self.penv.ref, ts, port=port):
                yield Output(line)
            yield from self._serve(Serve("hello-app", port, tuple(args)))
            return 0
        if base == "whoami":
            port = int(flag_value(args, "port") or env.get("WHOAMI_PORT_NUMBER") or 80)
            for line in startup_lines("whoami", self.penv.ref, ts, port=port):
                yield Output(line)
            yield from self._serve(Serve("whoami", port, tuple(args)))
            return 0
        if base == "node" and args[:1] == ["server.js"] and image_server == "bootcamp":
            for line in startup_lines("bootcamp", self.penv.ref, ts, env={"HOSTNAME": self.penv.hostname}):
                yield Output(line)
            yield from self._serve(Serve("bootcamp", 8080, tuple(args)))
            return 0
        if base == "agnhost":
            sub = args[0] if args else ""
            if sub == "netexec":
                port = int(flag_value(args, "http-port") or 8080)
                for line in startup_lines("agnhost-netexec", self.penv.ref, ts, port=port):
                    yield Output(line)
                yield from self._serve(Serve("agnhost-netexec", port, tuple(args)))
                return 0
            if sub == "serve-hostname":
                port = int(flag_value(args, "port") or 9376)
                for line in startup_lines("agnhost-serve-hostname", self.penv.ref, ts, port=port):
                    yield Output(line)
                yield from self._serve(Serve("agnhost-serve-hostname", port, tuple(args)))
                return 0
            if sub == "pause":
                yield Output("Paused")
                yield Sleep(math.inf)
                return 0
            yield Output("Usage:\n  app [command]\n\nAvailable Commands:\n  netexec         Creates HTTP(S), UDP, and "
                         "(optionally) SCTP servers with various endpoints\n  pause           Pauses the execution\n"
                         "  serve-hostname  Serves the hostname")
            return 0
        if base == "pause":
            yield Sleep(math.inf)
            return 0
        if base in ("redis-server", "postgres", "mysqld", "mongod"):
            server = {"redis-server": "redis", "postgres": "postgres", "mysqld": "mysql", "mongod": "mongo"}[base]
            if server == "postgres" and not env.get("POSTGRES_PASSWORD") and env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
                for line in ("Error: Database is uninitialized and superuser password is not specified.",
                             "       You must specify POSTGRES_PASSWORD to a non-empty value for the",
                             "       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".",
                             "",
                             "       You may also use \"POSTGRES_HOST_AUTH_METHOD=trust\" to allow all",
                             "       connections without a password. This is *not* recommended."):
                    yield Output(line)
                return 1
            if server == "mysql" and not any(env.get(k) for k in ("MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD",
                                                                   "MYSQL_RANDOM_ROOT_PASSWORD")):
                t = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00:00")
                yield Output(f"{t} [Note] [Entrypoint]: Entrypoint script for MySQL Server 8.4.5-1.el9 started.")
                yield Output(f"{t} [ERROR] [Entrypoint]: Database is uninitialized and password option is not specified")
                yield Output("    You need to specify one of the following as an environment variable:")
                yield Output("    - MYSQL_ROOT_PASSWORD\n    - MYSQL_ALLOW_EMPTY_PASSWORD\n    - MYSQL_RANDOM_ROOT_PASSWORD")
                return 1
            for line in startup_lines(server, self.penv.ref, ts):
                yield Output(line)
            yield from self._serve(Serve(server, SERVER_PORTS[server], tuple(args)))
            return 0
        if base == "curl":
            return (yield from cmd_curl(self, args))
        if base in ("python3", "python"):
            if len(args) >= 2 and args[0] == "-m" and args[1] == "http.server":
                port = int(args[2]) if len(args) > 2 and args[2].isdigit() else 8000
                yield from self._serve(Serve("python-http", port, tuple(args)))
                return 0
            if args[:1] == ["-c"] and len(args) > 1:
                return (yield from python_c(self, args[1]))
            if args and not args[0].startswith("-"):
                yield Output(f"python3: can't open file '/{args[0]}': [Errno 2] No such file or directory")
                return 2
            return 0
        yield Output(f"{self.shell_name}: {name}: not found")
        return 127
