"""The commands the simulated shell knows: builtins and the usual busybox applets.

Each command is a generator over the shell (its variables, files and clock) and
its arguments, yielding actions and returning an exit status.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Generator

from .actions import Action, ExitNow, FileOp, Output, Sleep
from .catalog import ImageSpec

if TYPE_CHECKING:
    from .shell import Shell

def os_release(spec: ImageSpec) -> str:
    repo = spec.repository.rsplit("/", 1)[-1]
    if repo in ("alpine",):
        return 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.22.0\nPRETTY_NAME="Alpine Linux v3.22"\n'
    if repo in ("ubuntu",):
        return 'PRETTY_NAME="Ubuntu 24.04.2 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n'
    if repo == "busybox":
        return ""
    return 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'


# -- commands ------------------------------------------------------------------------------


# -- commands ------------------------------------------------------------------------------

CommandFn = Callable[["Shell", list[str]], Generator[Action, None, int]]


def _cmd_echo(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0] or escapes
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = text.encode().decode("unicode_escape", errors="replace")
    yield Output(text if newline else text)
    return 0


def _cmd_printf(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    if not args:
        yield Output("printf: usage: printf FORMAT [ARGUMENT]...")
        return 2
    fmt, rest = args[0], args[1:]
    fmt = fmt.replace("\\n", "\n").replace("\\t", "\t")
    out = []
    while True:
        def sub(m: re.Match[str]) -> str:
            spec = m.group(0)
            if spec == "%%":
                return "%"
            value = rest.pop(0) if rest else ""
            try:
                if spec[-1] in "di":
                    return (spec[:-1] + "d") % int(value or 0)
                if spec[-1] == "f":
                    return spec % float(value or 0)
            except ValueError:
                return "0"
            return (spec[:-1] + "s") % value
        out.append(re.sub(r"%[-0-9.]*[sdif%]", sub, fmt))
        if not rest or "%" not in fmt:
            break
    text = "".join(out)
    if text:
        yield Output(text.rstrip("\n") if text.endswith("\n") else text)
    return 0


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")


def _cmd_sleep(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    if not args:
        yield Output("sleep: missing operand")
        return 1
    total = 0.0
    for a in args:
        if a in ("infinity", "inf"):
            total = math.inf
            break
        m = _DURATION.match(a)
        if not m:
            yield Output(f"sleep: invalid number '{a}'")
            return 1
        total += float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    yield Sleep(total)
    return 0


def _cmd_exit(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    code = sh.status
    if args:
        try:
            code = int(args[0])
        except ValueError:
            yield Output(f"{sh.shell_name}: exit: Illegal number: {args[0]}")
            code = 2
    raise ExitNow(code & 0xFF)
    yield  # pragma: no cover


def _cmd_true(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    return 0
    yield  # pragma: no cover


def _cmd_false(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    return 1
    yield  # pragma: no cover


def _cmd_date(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    dt = datetime.fromtimestamp(sh.penv.clock(), timezone.utc)
    fmt = next((a[1:] for a in args if a.startswith("+")), None)
    if fmt is None:
        yield Output(dt.strftime("%a %b %e %H:%M:%S UTC %Y").replace("  ", " ", 0))
        return 0
    fmt = fmt.replace("%N", f"{dt.microsecond * 1000:09d}").replace("%s", str(int(dt.timestamp())))
    yield Output(dt.strftime(fmt))
    return 0


def _cmd_hostname(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    if args and args[0] in ("-i", "-I"):
        yield Output(sh.penv.pod_ip)
    else:
        yield Output(sh.penv.hostname)
    return 0


def _cmd_cat(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    files = [a for a in args if not a.startswith("-") or a == "-"]
    if not files or files == ["-"]:
        data = sh.vars.get("\0stdin", "")
        if data:
            yield Output(data.rstrip("\n"))
        return 0
    status = 0
    for f in files:
        content = sh.read_file(f)
        if content is None:
            yield Output(f"cat: can't open '{f}': No such file or directory")
            status = 1
        elif content:
            yield Output(content.rstrip("\n"))
    return status


def _cmd_touch(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    for f in (a for a in args if not a.startswith("-")):
        if sh.read_file(f) is None:
            sh.write_file(f, "")
            yield FileOp(sh.abspath(f), "")
    return 0


def _cmd_rm(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    force = any(a.startswith("-") and "f" in a for a in args)
    status = 0
    for f in (a for a in args if not a.startswith("-")):
        if sh.read_file(f) is None:
            if not force:
                yield Output(f"rm: can't remove '{f}': No such file or directory")
                status = 1
            continue
        sh.write_file(f, None)
        yield FileOp(sh.abspath(f), None)
    return status


def _cmd_mkdir(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    return 0
    yield  # pragma: no cover


def _cmd_test(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    if args and args[-1] in ("]", "]]"):
        args = args[:-1]
    return 0 if _test(sh, args) else 1
    yield  # pragma: no cover


def _test(sh: Shell, a: list[str]) -> bool:
    if not a:
        return False
    if a[0] == "!":
        return not _test(sh, a[1:])
    if "-a" in a:
        i = a.index("-a")
        return _test(sh, a[:i]) and _test(sh, a[i + 1:])
    if "-o" in a:
        i = a.index("-o")
        return _test(sh, a[:i]) or _test(sh, a[i + 1:])
    if len(a) == 1:
        return a[0] != ""
    if len(a) == 2:
        op, v = a
        if op in ("-f", "-e", "-r", "-s"):
            content = sh.read_file(v)
            return content is not None and (op != "-s" or bool(content))
        if op == "-d":
            return v in ("/", "/tmp", "/etc", "/root", "/var", "/usr", "/bin") or bool(sh.penv.list_dir(v))
        if op == "-z":
            return v == ""
        if op == "-n":
            return v != ""
        return False
    if len(a) == 3:
        x, op, y = a
        if op in ("=", "=="):
            return x == y
        if op == "!=":
            return x != y
        try:
            xi, yi = int(x), int(y)
        except ValueError:
            return False
        return {"-eq": xi == yi, "-ne": xi != yi, "-lt": xi < yi, "-le": xi <= yi, "-gt": xi > yi,
                "-ge": xi >= yi}.get(op, False)
    return False


def _cmd_seq(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    try:
        nums = [int(a) for a in args]
    except ValueError:
        yield Output(f"seq: invalid number '{args[0] if args else ''}'")
        return 1
    if len(nums) == 1:
        first, step, last = 1, 1, nums[0]
    elif len(nums) == 2:
        first, step, last = nums[0], 1, nums[1]
    elif len(nums) == 3:
        first, step, last = nums
    else:
        return 1
    values = list(range(first, last + (1 if step > 0 else -1), step or 1))[:100_000]
    if values:
        yield Output("\n".join(str(v) for v in values))
    return 0


def _cmd_env(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    visible = {k: v for k, v in sh.vars.items() if not k.startswith("\0") and not k.isdigit()}
    if args:
        if args[0] in visible:
            yield Output(visible[args[0]])
            return 0
        return 1
    yield Output("\n".join(f"{k}={v}" for k, v in sorted(visible.items())))
    return 0


def _stdin_lines(sh: Shell, args: list[str]) -> list[str]:
    files = [a for a in args if not a.startswith("-")]
    data = "".join(sh.read_file(f) or "" for f in files) if files else sh.vars.get("\0stdin", "")
    return data.splitlines()


def _count_arg(args: list[str], default: int = 10) -> tuple[int, list[str]]:
    n, rest = default, []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-n" and i + 1 < len(args):
            n = int(args[i + 1].lstrip("+") or default)
            i += 2
            continue
        if re.fullmatch(r"-\d+", a):
            n = int(a[1:])
        elif a.startswith("-n"):
            n = int(a[2:])
        else:
            rest.append(a)
        i += 1
    return n, rest


def _cmd_head(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    n, rest = _count_arg(args)
    lines = _stdin_lines(sh, rest)[:n]
    if lines:
        yield Output("\n".join(lines))
    return 0


def _cmd_tail(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    if "-f" in args or "-F" in args:
        files = [a for a in args if not a.startswith("-")]
        for line in _stdin_lines(sh, files)[-10:]:
            yield Output(line)
        yield Sleep(math.inf)
        return 0
    n, rest = _count_arg(args)
    lines = _stdin_lines(sh, rest)[-n:] if n else []
    if lines:
        yield Output("\n".join(lines))
    return 0


def _cmd_wc(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    lines = _stdin_lines(sh, [a for a in args if not a.startswith("-")])
    if "-l" in args:
        yield Output(str(len(lines)))
    elif "-w" in args:
        yield Output(str(sum(len(line.split()) for line in lines)))
    else:
        yield Output(f"{len(lines)} {sum(len(line.split()) for line in lines)} {sum(len(line) + 1 for line in lines)}")
    return 0


def _cmd_grep(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    flags = [a for a in args if a.startswith("-")]
    rest = [a for a in args if not a.startswith("-")]
    if not rest:
        return 2
    pattern, files = rest[0], rest[1:]
    ignore = any("i" in f for f in flags)
    invert = any("v" in f for f in flags)
    quiet = any("q" in f for f in flags)
    try:
        rx = re.compile(pattern, re.IGNORECASE if ignore else 0)
    except re.error:
        rx = re.compile(re.escape(pattern), re.IGNORECASE if ignore else 0)
    hits = [line for line in _stdin_lines(sh, files) if bool(rx.search(line)) != invert]
    if hits and not quiet:
        yield Output("\n".join(hits))
    return 0 if hits else 1


def _cmd_ls(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    paths = [a for a in args if not a.startswith("-")] or [sh.cwd]
    for p in (sh.abspath(a) for a in paths):
        names = sorted(set(sh.penv.list_dir(p)) | {k.rsplit("/", 1)[-1] for k, v in sh.local_files.items()
                                                   if v is not None and k.rsplit("/", 1)[0] == p.rstrip("/")})
        if names:
            yield Output("\n".join(names))
    return 0


def _cmd_cd(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    target = sh.abspath(args[0] if args else sh.vars.get("HOME", "/root"))
    known = ("/", "/tmp", "/etc", "/root", "/var", "/usr", "/bin", "/home", "/srv", "/opt", "/usr/share/nginx/html",
             "/usr/local/apache2/htdocs", "/var/www/html", "/data", "/app")
    if target not in known and not sh.penv.list_dir(target) and sh.read_file(target) is None \
            and not any(k.startswith(target + "/") for k, v in sh.local_files.items() if v is not None):
        yield Output(f"{sh.shell_name}: cd: {args[0]}: No such file or directory" if sh.shell_name == "bash"
                     else f"{sh.shell_name}: cd: can't cd to {args[0]}: No such file or directory")
        return 1
    sh.vars["OLDPWD"] = sh.cwd
    sh.cwd = target
    sh.vars["PWD"] = target
    return 0


def _cmd_pwd(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    yield Output(sh.cwd)
    return 0


def _cmd_uname(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    if "-a" in args:
        yield Output(f"Linux {sh.penv.hostname} 6.1.0-kk-sandbox #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux")
    elif "-r" in args:
        yield Output("6.1.0-kk-sandbox")
    else:
        yield Output("Linux")
    return 0


def _cmd_id(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    yield Output("uid=0(root) gid=0(root) groups=0(root),10(wheel)")
    return 0


def _cmd_whoami(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    yield Output("root")
    return 0


def _cmd_export(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    for a in args:
        if "=" in a:
            k, v = a.split("=", 1)
            sh.vars[k] = v
    return 0
    yield  # pragma: no cover


def _cmd_unset(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    for a in args:
        sh.vars.pop(a, None)
    return 0
    yield  # pragma: no cover


def _cmd_noop(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    return 0
    yield  # pragma: no cover


def _cmd_read(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    data = sh.vars.get("\0stdin")
    names = [a for a in args if not a.startswith("-")]
    if not data:
        return 1
    line, _, remaining = data.partition("\n")
    sh.vars["\0stdin"] = remaining
    parts = line.split(None, max(len(names) - 1, 0)) if names else []
    for i, n in enumerate(names):
        sh.vars[n] = parts[i] if i < len(parts) else ""
    return 0
    yield  # pragma: no cover


def _cmd_wget(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    url = next((a for a in args if not a.startswith("-") and a != "-"), None)
    quiet_stdout = any(a in ("-qO-", "-O-", "-qO", "-O") for a in args) or ("-O" in args and "-" in args)
    if url is None:
        yield Output("BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: wget [-cqS] [-O FILE] URL")
        return 1
    result = sh.penv.http_get(url if "://" in url else "http://" + url) if sh.penv.http_get else None
    host = url.split("://")[-1].split("/")[0]
    if result is None:
        yield Output(f"wget: bad address '{host}'")
        return 1
    status, body = result
    if status >= 400:
        yield Output(f"wget: server returned error: HTTP/1.1 {status}")
        return 1
    if quiet_stdout:
        yield Output(body.rstrip("\n"))
    else:
        yield Output(f"Connecting to {host}")
        yield Output("saving to 'index.html'")
        yield Output("'index.html' saved")
        sh.write_file("index.html", body)
    return 0


def cmd_curl(sh: Shell, args: list[str]) -> Generator[Action, None, int]:
    url = next((a for a in args if not a.startswith("-")), None)
    if url is None:
        yield Output("curl: try 'curl --help' or 'curl --manual' for more information")
        return 2
    result = sh.penv.http_get(url if "://" in url else "http://" + url) if sh.penv.http_get else None
    host = url.split("://")[-1].split("/")[0]
    if result is None:
        yield Output(f"curl: (6) Could not resolve host: {host.split(':')[0]}")
        return 6
    status, body = result
    if any(a in ("-f", "--fail", "-sf", "-fs", "-fsS", "-sSf") for a in args) and status >= 400:
        yield Output(f"curl: (22) The requested URL returned error: {status}")
        return 22
    if any(a in ("-I", "--head") for a in args):
        yield Output(f"HTTP/1.1 {status}")
    else:
        yield Output(body.rstrip("\n"))
    return 0


def python_c(sh: Shell, code: str) -> Generator[Action, None, int]:
    for stmt in re.split(r"[;\n]", code):
        stmt = stmt.strip()
        m = re.fullmatch(r"print\((['\"])(.*)\1\)", stmt)
        if m:
            yield Output(m.group(2))
        m = re.fullmatch(r"import time|time\.sleep\((\d+(?:\.\d+)?)\)", stmt)
        if m and m.group(1):
            yield Sleep(float(m.group(1)))
        m = re.fullmatch(r"(?:import sys|sys\.exit\((\d+)\))", stmt)
        if m and m.group(1):
            raise ExitNow(int(m.group(1)))
    return 0


BUILTINS: dict[str, CommandFn] = {
    "echo": _cmd_echo, "printf": _cmd_printf, "exit": _cmd_exit, "true": _cmd_true, "false": _cmd_false,
    ":": _cmd_true, "test": _cmd_test, "[": _cmd_test, "[[": _cmd_test, "export": _cmd_export, "unset": _cmd_unset,
    "set": _cmd_noop, "cd": _cmd_cd, "pwd": _cmd_pwd, "trap": _cmd_noop, "wait": _cmd_noop, "kill": _cmd_noop,
    "read": _cmd_read,
    "ulimit": _cmd_noop, "shift": _cmd_noop, "source": _cmd_noop, ".": _cmd_noop,
}

EXTERNAL: dict[str, CommandFn] = {
    "sleep": _cmd_sleep, "date": _cmd_date, "hostname": _cmd_hostname, "cat": _cmd_cat, "touch": _cmd_touch,
    "rm": _cmd_rm, "mkdir": _cmd_mkdir, "seq": _cmd_seq, "env": _cmd_env, "printenv": _cmd_env, "head": _cmd_head,
    "tail": _cmd_tail, "wc": _cmd_wc, "grep": _cmd_grep, "ls": _cmd_ls, "uname": _cmd_uname, "id": _cmd_id,
    "whoami": _cmd_whoami, "wget": _cmd_wget, "chmod": _cmd_noop, "chown": _cmd_noop, "cp": _cmd_noop,
    "mv": _cmd_noop, "sync": _cmd_noop, "nslookup": _cmd_noop, "ping": _cmd_noop, "tee": _cmd_cat,
}

SHELL_NAMES = {"sh", "bash", "ash", "dash"}

SERVER_BINARIES = {"nginx", "nginx-debug", "httpd-foreground", "httpd", "apache2-foreground", "apache2", "http-echo",
                    "/http-echo", "hello-app", "/hello-app", "whoami", "/whoami", "agnhost", "/agnhost", "pause",
                    "/pause", "docker-entrypoint.sh", "/docker-entrypoint.sh", "/usr/local/bin/docker-entrypoint.sh",
                    "entrypoint.sh", "/entrypoint.sh", "redis-server", "postgres", "mysqld", "mongod", "node",
                    "/usr/sbin/httpd", "curl", "python3", "python", "/usr/bin/curl"}


def server_binary_available(spec: ImageSpec | None, name: str) -> bool:
    """Whether a server program exists in an image (nginx is not in busybox)."""
    base = name.rsplit("/", 1)[-1]
    repo = spec.repository.rsplit("/", 1)[-1] if spec else ""
    where = {
        "nginx": ("nginx", "hello", "echoserver"), "nginx-debug": ("nginx",),
        "httpd-foreground": ("httpd",), "httpd": ("httpd", "apache-webserver-php"),
        "apache2-foreground": ("apache-webserver-php",), "apache2": (), "http-echo": ("http-echo",),
        "hello-app": ("hello-app",), "whoami": ("whoami",), "agnhost": ("agnhost",), "pause": ("pause", "agnhost"),
        "docker-entrypoint.sh": ("nginx", "hello", "redis", "postgres", "mysql", "mongo"),
        "entrypoint.sh": ("curl",), "redis-server": ("redis",), "postgres": ("postgres",), "mysqld": ("mysql",),
        "mongod": ("mongo",), "node": ("kubernetes-bootcamp",), "curl": ("curl", "nginx", "httpd", "ubuntu", "debian",
                                                                           "python", "hello", "kubernetes-bootcamp"),
        "python3": ("python",), "python": ("python",),
    }.get(base, ())
    return repo in where


SERVER_BASES = {n.rsplit("/", 1)[-1] for n in SERVER_BINARIES}
