"""HTTP answers of the emulated servers (nginx, httpd, hello-app, http-echo...).

:func:`respond` answers a request as the pod's program would, with a line or
header naming the pod so learners can watch load balancing, and returns the
access-log line the program writes to the container log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

from .catalog import ImageRef, _hex, _nginx_time, server_version

# ------------------------------------------------------------------------------------------
# HTTP emulation
# ------------------------------------------------------------------------------------------


@dataclass
class Request:
    """An HTTP request as a pod's server sees it."""

    method: str = "GET"
    path: str = "/"
    query: str = ""
    version: str = "HTTP/1.1"
    headers: Mapping[str, str] = field(default_factory=dict)
    client_ip: str = "10.244.0.1"
    client_port: int = 40000
    body: bytes = b""


@dataclass
class Response:
    """What the emulated server answers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    access_log: str | None = None


@dataclass
class ServerContext:
    """Who is answering: the pod, its address and the server's configuration."""

    server: str
    ref: ImageRef | None
    pod_name: str
    pod_ip: str
    port: int
    namespace: str = "default"
    node_name: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    read_file: Callable[[str], str | None] = lambda path: None

    @property
    def version(self) -> str:
        return server_version(self.server, self.ref)


NGINX_INDEX = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

HTTPD_INDEX = "<html><body><h1>It works!</h1></body></html>\n"

DOCROOTS = {"nginx": "/usr/share/nginx/html", "nginxdemos": "/usr/share/nginx/html", "httpd": "/usr/local/apache2/htdocs",
            "php": "/var/www/html"}

#: Default listening port of each emulated server.
SERVER_PORTS = {"nginx": 80, "nginxdemos": 80, "httpd": 80, "php": 80, "whoami": 80, "http-echo": 5678,
                "hello-app": 8080, "bootcamp": 8080, "agnhost-netexec": 8080, "agnhost-serve-hostname": 9376,
                "echoserver": 8080, "redis": 6379, "postgres": 5432, "mysql": 3306, "mongo": 27017}

#: Servers that do not speak HTTP.
NON_HTTP = frozenset({"redis", "postgres", "mysql", "mongo"})


def _http_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _pod_line(ctx: ServerContext) -> str:
    return f"<!-- kk sandbox: served by pod {ctx.pod_name} ({ctx.pod_ip}) on {ctx.node_name} -->\n"


def _combined_log(req: Request, status: int, size: int, ts: float, *, nginx: bool) -> str:
    when = datetime.fromtimestamp(ts, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    target = req.path + (f"?{req.query}" if req.query else "")
    ua = req.headers.get("User-Agent") or req.headers.get("user-agent") or "-"
    ref = req.headers.get("Referer") or req.headers.get("referer") or "-"
    line = f'{req.client_ip} - - [{when}] "{req.method} {target} {req.version}" {status} {size} "{ref}" "{ua}"'
    if nginx:
        line += ' "-"'
    return line


def _static(ctx: ServerContext, req: Request, default_index: str, not_found: Callable[[], str]) -> tuple[int, str, str]:
    """Serve ``path`` from the docroot (files written by the pod or mounted), else the image's defaults."""
    root = DOCROOTS.get(ctx.server, "/usr/share/nginx/html")
    path = req.path.split("?")[0] or "/"
    rel = path if not path.endswith("/") else path + "index.html"
    content = ctx.read_file(root + rel)
    if content is None and rel == "/index.html" and ctx.server in ("php",):
        content = ctx.read_file(root + "/index.php")
    if content is not None:
        ctype = "text/html" if rel.endswith((".html", ".htm", ".php")) else "text/plain"
        return 200, content, ctype
    if rel == "/index.html":
        return 200, default_index, "text/html"
    if ctx.server in ("nginx", "nginxdemos") and rel == "/50x.html":
        return 200, "<html><body><h1>An error occurred.</h1></body></html>\n", "text/html"
    return 404, not_found(), "text/html"


def respond(ctx: ServerContext, req: Request, now: float | None = None) -> Response:
    """Answer ``req`` as the pod's server would, and the access-log line it writes (if any)."""
    now = time.time() if now is None else now
    server = ctx.server
    headers: dict[str, str] = {"Date": _http_date(now), "X-KK-Pod": ctx.pod_name, "X-KK-Pod-IP": ctx.pod_ip}
    status = 200
    log: str | None = None
    if server in ("nginx", "nginxdemos"):
        if server == "nginxdemos":
            plain = ctx.ref is not None and "plain-text" in (ctx.ref.tag or "")
            index = _nginxdemos_page(ctx, req, now, plain)
        else:
            index = NGINX_INDEX + _pod_line(ctx)

        def nf() -> str:
            return (f"<html>\n<head><title>404 Not Found</title></head>\n<body>\n<center><h1>404 Not Found</h1></center>\n"
                    f"<hr><center>nginx/{ctx.version}</center>\n</body>\n</html>\n")
        status, body, ctype = _static(ctx, req, index, nf)
        headers.update({"Server": f"nginx/{ctx.version}", "Content-Type": ctype})
        if status == 200:
            headers.update({"Last-Modified": _http_date(now - 86400), "ETag": f'"{_hex(body, 8)}-{len(body.encode()):x}"',
                            "Accept-Ranges": "bytes"})
        data = body.encode()
        log = _combined_log(req, status, len(data), now, nginx=True)
        return Response(status, data, headers, log)
    if server in ("httpd", "php"):
        if server == "php":
            index = (f"<html>\n<body>\n<h1>Welcome to the Apache PHP web server</h1>\n<pre>\n"
                     f"pod: {ctx.pod_name}\nip: {ctx.pod_ip}\n</pre>\n</body>\n</html>\n")
        else:
            index = HTTPD_INDEX + _pod_line(ctx)

        def nf() -> str:
            return ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n'
                    "</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n"
                    "</body></html>\n")
        status, body, ctype = _static(ctx, req, index, nf)
        headers.update({"Server": f"Apache/{ctx.version} (Unix)" if server == "httpd" else
                        f"Apache/{ctx.version} (CentOS) PHP/5.4.16", "Content-Type": ctype + "; charset=UTF-8"})
        if server == "php":
            headers["X-Powered-By"] = "PHP/5.4.16"
        data = body.encode()
        log = _combined_log(req, status, len(data), now, nginx=False)
        return Response(status, data, headers, log)
    if server == "hello-app":
        body = f"Hello, world!\nVersion: {ctx.version}\nHostname: {ctx.pod_name}\n"
        headers["Content-Type"] = "text/plain; charset=utf-8"
        log = f"{_nginx_time(now)} Serving request: {req.path}"
        return Response(200, body.encode(), headers, log)
    if server == "http-echo":
        text = flag_value(ctx.args, "text") or "hello-world"
        status = int(flag_value(ctx.args, "status-code") or 200)
        headers.update({"Content-Type": "text/plain; charset=utf-8", "X-App-Name": "http-echo",
                        "X-App-Version": "1.0.0"})
        ua = req.headers.get("User-Agent", "-")
        log = (f'{_nginx_time(now)} {ctx.pod_ip}:{ctx.port} {req.client_ip}:{req.client_port} '
               f'"{req.method} {req.path} {req.version}" {status} {len(text) + 1} "{ua}" 21.4µs')
        return Response(status, (text + "\n").encode(), headers, log)
    if server == "whoami":
        lines = [f"Hostname: {ctx.pod_name}", "IP: 127.0.0.1", "IP: ::1", f"IP: {ctx.pod_ip}",
                 f"RemoteAddr: {req.client_ip}:{req.client_port}",
                 f"{req.method} {req.path}{'?' + req.query if req.query else ''} {req.version}"]
        lines += [f"{k}: {v}" for k, v in req.headers.items()]
        headers["Content-Type"] = "text/plain; charset=utf-8"
        return Response(200, ("\n".join(lines) + "\n\n").encode(), headers, None)
    if server == "bootcamp":
        body = f"Hello Kubernetes bootcamp! | Running on: {ctx.pod_name} | v={ctx.version}\n"
        headers["Content-Type"] = "text/plain"
        return Response(200, body.encode(), headers, None)
    if server == "agnhost-serve-hostname":
        headers["Content-Type"] = "text/plain; charset=utf-8"
        return Response(200, ctx.pod_name.encode(), headers, None)
    if server == "agnhost-netexec":
        headers["Content-Type"] = "text/plain; charset=utf-8"
        path = req.path
        params = dict(p.split("=", 1) if "=" in p else (p, "") for p in req.query.split("&") if p)
        if path == "/hostname":
            body = ctx.pod_name
        elif path == "/echo":
            body = params.get("msg", "")
        elif path == "/clientip":
            body = f"{req.client_ip}:{req.client_port}"
        elif path in ("/healthz", "/readyz"):
            body = "ok"
        elif path == "/":
            body = "NOW: " + datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") + " +0000 UTC"
        else:
            status, body = 404, "404 page not found\n"
        stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%m%d %H:%M:%S.%f")
        log = f"I{stamp}       1 log.go:245] {req.method} {path}"
        return Response(status, body.encode(), headers, log)
    if server == "echoserver":
        lines = ["", "", f"Hostname: {ctx.pod_name}", "", "Pod Information:", "\t-no pod information available-", "",
                 "Server values:", "\tserver_version=nginx: 1.13.3 - lua: 10008", "", "Request Information:",
                 f"\tclient_address={req.client_ip}", f"\tmethod={req.method}", f"\treal path={req.path}",
                 f"\tquery={req.query}", "\trequest_version=1.1", "\trequest_scheme=http",
                 f"\trequest_uri=http://{req.headers.get('Host', ctx.pod_ip)}{req.path}", "", "Request Headers:"]
        lines += [f"\t{k.lower()}={v}" for k, v in req.headers.items()]
        lines += ["", "Request Body:", "\t-no body in request-", ""]
        headers.update({"Content-Type": "text/plain", "Server": "nginx/1.13.3"})
        data = "\n".join(lines).encode()
        return Response(200, data, headers, _combined_log(req, 200, len(data), now, nginx=True))
    return Response(502, f"{ctx.pod_name}: nothing that speaks HTTP listens on port {ctx.port}\n".encode(), headers)


def _nginxdemos_page(ctx: ServerContext, req: Request, now: float, plain: bool) -> str:
    date = datetime.fromtimestamp(now, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    rid = _hex(f"{now}{ctx.pod_name}", 32)
    if plain:
        return (f"Server address: {ctx.pod_ip}:{ctx.port}\nServer name: {ctx.pod_name}\nDate: {date}\n"
                f"URI: {req.path}\nRequest ID: {rid}\n")
    return ("<!DOCTYPE html>\n<html>\n<head>\n<title>Hello World</title>\n</head>\n<body>\n"
            f"<p><span>Server&nbsp;address:</span> <span>{ctx.pod_ip}:{ctx.port}</span></p>\n"
            f"<p><span>Server&nbsp;name:</span> <span>{ctx.pod_name}</span></p>\n"
            f"<p class=\"smaller\"><span>Date:</span> <span>{date}</span></p>\n"
            f"<p class=\"smaller\"><span>URI:</span> <span>{req.path}</span></p>\n"
            f"<p class=\"smaller\"><span>Request ID:</span> <span>{rid}</span></p>\n</body>\n</html>\n")


def flag_value(args: Iterable[str], name: str) -> str | None:
    """Go-style flag value: ``-name=v``, ``--name=v``, ``-name v``."""
    items = list(args)
    for i, a in enumerate(items):
        for prefix in (f"-{name}=", f"--{name}="):
            if a.startswith(prefix):
                return a[len(prefix):]
        if a in (f"-{name}", f"--{name}") and i + 1 < len(items):
            return items[i + 1]
    return None
