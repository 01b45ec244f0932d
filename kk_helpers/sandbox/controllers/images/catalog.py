"""Image references and the catalog of images the sandbox can "pull".

References are normalised the way containerd does (``nginx`` ==
``docker.io/library/nginx:latest``); a known repository with a known tag (or
any well-formed digest) pulls, anything else fails with the message a real
node prints. Each entry says what the image runs and how big it is.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

# ------------------------------------------------------------------------------------------
# References
# ------------------------------------------------------------------------------------------

DEFAULT_DOMAIN = "docker.io"
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


class InvalidReference(ValueError):
    """The reference cannot be parsed (the kubelet reports ``InvalidImageName``)."""


@dataclass(frozen=True)
class ImageRef:
    """A normalised image reference.

    Attributes:
        original: the text from the pod spec.
        domain: registry host, ``docker.io`` by default.
        path: repository path inside the registry (``library/nginx``).
        tag: the tag (``latest`` when neither tag nor digest was given).
        digest: ``sha256:...`` when pinned by digest.
    """

    original: str
    domain: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        """``docker.io/library/nginx``."""
        return f"{self.domain}/{self.path}"

    @property
    def full(self) -> str:
        """What containerd reports as the image: ``docker.io/library/nginx:1.27``."""
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_reference(ref: str) -> ImageRef:
    """Normalise a reference as containerd's reference/docker package does.

    Raises:
        InvalidReference: with the message the real parser gives.
    """
    original = ref
    if not ref or ref != ref.strip():
        raise InvalidReference("invalid reference format")
    name, digest = ref, None
    if "@" in ref:
        name, digest = ref.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise InvalidReference("invalid reference format")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        if not _TAG_RE.match(tag):
            raise InvalidReference("invalid reference format")
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        domain, rest = parts[0], parts[1:]
    else:
        domain, rest = DEFAULT_DOMAIN, parts
    if domain in ("index.docker.io", "registry-1.docker.io"):
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and len(rest) == 1:
        rest = ["library"] + rest
    path = "/".join(rest)
    for comp in rest:
        if comp.lower() == comp and not _COMPONENT_RE.match(comp):
            raise InvalidReference("invalid reference format")
    if path.lower() != path:
        raise InvalidReference(f"invalid reference format: repository name ({path}) must be lowercase")
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(original, domain, path, tag, digest)


def familiar(ref: ImageRef) -> str:
    """The short name people type: ``nginx:1.27``, ``vimal13/apache-webserver-php:latest``."""
    path = ref.path[len("library/"):] if ref.domain == DEFAULT_DOMAIN and ref.path.startswith("library/") else ref.path
    name = path if ref.domain == DEFAULT_DOMAIN else f"{ref.domain}/{path}"
    if ref.tag:
        name += f":{ref.tag}"
    if ref.digest:
        name += f"@{ref.digest}"
    return name


def default_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or no tag, else ``IfNotPresent`` (pkg/apis/core/v1/defaults.go)."""
    try:
        ref = parse_reference(image)
    except InvalidReference:
        return "IfNotPresent"
    last = image.split("@")[0].rsplit("/", 1)[-1]
    if ref.digest and ":" not in last:
        return "IfNotPresent"
    return "Always" if ref.tag == "latest" else "IfNotPresent"


def _hex(seed: str, n: int = 64) -> str:
    out = ""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}/{i}".encode()).hexdigest()
        i += 1
    return out[:n]


def image_id(ref: ImageRef) -> str:
    """A stable, well-formed ``imageID``: ``docker.io/library/nginx@sha256:<64 hex>``."""
    digest = ref.digest or "sha256:" + _hex(f"{ref.repository}:{ref.tag}")
    return f"{ref.repository}@{digest}"


# ------------------------------------------------------------------------------------------
# The catalog
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageSpec:
    """One repository of the catalog.

    Attributes:
        repository: normalised repository (``docker.io/library/nginx``).
        kind: ``web``, ``shell`` or ``daemon``.
        tags: regular expression of the tags that exist.
        entrypoint: the image's ENTRYPOINT.
        cmd: the image's CMD.
        size: compressed size in bytes (what ``Image size:`` reports).
        shell: the image has ``/bin/sh`` (distroless and scratch images do not).
        server: which emulated server its main program is (see :data:`SERVERS`).
        summary: one line for documentation.
    """

    repository: str
    kind: str
    tags: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    size: int
    shell: bool = True
    server: str | None = None
    summary: str = ""

    def has_tag(self, tag: str) -> bool:
        return re.fullmatch(self.tags, tag) is not None


_NGINX_TAGS = r"latest|stable|mainline|alpine|alpine-slim|perl|bookworm|(stable|mainline)-(alpine|perl|bookworm)|" \
              r"1\.(1[0-9]|2[0-9])(\.\d{1,2})?(-(alpine|alpine-slim|perl|bookworm|alpine-perl))?"

CATALOG: tuple[ImageSpec, ...] = (
    ImageSpec("docker.io/library/nginx", "web", _NGINX_TAGS, ("/docker-entrypoint.sh",),
              ("nginx", "-g", "daemon off;"), 72_200_000, server="nginx", summary="nginx web server, port 80"),
    ImageSpec("docker.io/library/httpd", "web", r"latest|alpine|2(\.4(\.\d{1,2})?)?(-alpine)?",
              (), ("httpd-foreground",), 58_600_000, server="httpd", summary="Apache httpd, port 80"),
    ImageSpec("docker.io/vimal13/apache-webserver-php", "web", r"latest|v\d+", (),
              ("/usr/sbin/httpd", "-DFOREGROUND"), 112_400_000, server="php",
              summary="Apache + PHP page showing the pod's name and IP, port 80"),
    ImageSpec("docker.io/nginxdemos/hello", "web", r"latest|plain-text|0\.\d+(-plain-text)?", ("/docker-entrypoint.sh",),
              ("nginx", "-g", "daemon off;"), 9_300_000, server="nginxdemos",
              summary="nginx page with server name and address, port 80"),
    ImageSpec("docker.io/traefik/whoami", "web", r"latest|v1\.\d+(\.\d+)?", ("/whoami",), (), 3_100_000,
              shell=False, server="whoami", summary="prints the request and the pod's hostname, port 80"),
    ImageSpec("docker.io/hashicorp/http-echo", "web", r"latest|0\.2\.3|1\.0(\.0)?", ("/http-echo",), (),
              3_700_000, shell=False, server="http-echo", summary="answers with -text, port 5678"),
    ImageSpec("gcr.io/google-samples/hello-app", "web", r"1\.0|2\.0", ("/hello-app",), (), 11_200_000,
              shell=False, server="hello-app", summary="Hello, world! with version and hostname, port 8080"),
    ImageSpec("us-docker.pkg.dev/google-samples/containers/gke/hello-app", "web", r"1\.0|2\.0", ("/hello-app",),
              (), 11_200_000, shell=False, server="hello-app", summary="hello-app's new home"),
    ImageSpec("gcr.io/google-samples/kubernetes-bootcamp", "web", r"v1|v2", (), ("/bin/sh", "-c", "node server.js"),
              76_500_000, server="bootcamp", summary="the Kubernetes tutorial app, port 8080"),
    ImageSpec("registry.k8s.io/e2e-test-images/agnhost", "web", r"2\.\d{2}", ("/agnhost",), ("pause",),
              53_800_000, server="agnhost", summary="netexec (8080) and serve-hostname (9376)"),
    ImageSpec("registry.k8s.io/echoserver", "web", r"1\.\d+", (), ("nginx", "-g", "daemon off;"), 46_000_000,
              server="echoserver", summary="echoes the request, port 8080"),
    ImageSpec("k8s.gcr.io/echoserver", "web", r"1\.\d+", (), ("nginx", "-g", "daemon off;"), 46_000_000,
              server="echoserver", summary="echoes the request, port 8080"),
    ImageSpec("docker.io/library/busybox", "shell",
              r"latest|stable|musl|glibc|uclibc|1\.3[0-7](\.\d)?(-(musl|glibc|uclibc))?",
              (), ("sh",), 2_160_000, summary="busybox shell"),
    ImageSpec("docker.io/library/alpine", "shell", r"latest|edge|3(\.\d{1,2}(\.\d{1,2})?)?", (), ("/bin/sh",),
              3_650_000, summary="Alpine Linux"),
    ImageSpec("docker.io/library/ubuntu", "shell", r"latest|rolling|jammy|noble|focal|2[0-5]\.(04|10)", (),
              ("/bin/bash",), 29_700_000, summary="Ubuntu"),
    ImageSpec("docker.io/library/debian", "shell", r"latest|stable|(bookworm|bullseye|trixie|1[1-3])(-slim)?|stable-slim",
              (), ("bash",), 48_500_000, summary="Debian"),
    ImageSpec("docker.io/curlimages/curl", "shell", r"latest|\d+\.\d+\.\d+", ("/entrypoint.sh",), ("curl",),
              11_900_000, summary="curl"),
    ImageSpec("docker.io/library/python", "shell",
              r"latest|alpine|slim|3(\.\d{1,2}(\.\d{1,2})?)?(-(slim|alpine|bookworm|slim-bookworm))?",
              (), ("python3",), 49_900_000, summary="Python (exits at once without a script)"),
    ImageSpec("registry.k8s.io/pause", "daemon", r"3\.\d+", ("/pause",), (), 320_000, shell=False,
              server="pause", summary="does nothing, forever"),
    ImageSpec("docker.io/library/redis", "daemon", r"latest|alpine|[67](\.\d(\.\d{1,2})?)?(-alpine)?",
              ("docker-entrypoint.sh",), ("redis-server",), 45_000_000, server="redis", summary="Redis, port 6379"),
    ImageSpec("docker.io/library/postgres", "daemon", r"latest|alpine|1[2-8](\.\d{1,2})?(-alpine)?",
              ("docker-entrypoint.sh",), ("postgres",), 158_000_000, server="postgres",
              summary="PostgreSQL, port 5432; needs POSTGRES_PASSWORD"),
    ImageSpec("docker.io/library/mysql", "daemon", r"latest|lts|[589](\.\d(\.\d{1,2})?)?", ("docker-entrypoint.sh",),
              ("mysqld",), 170_000_000, server="mysql", summary="MySQL, port 3306; needs MYSQL_ROOT_PASSWORD"),
    ImageSpec("docker.io/library/mongo", "daemon", r"latest|[5-8](\.\d(\.\d{1,2})?)?", ("docker-entrypoint.sh",),
              ("mongod",), 270_000_000, server="mongo", summary="MongoDB, port 27017"),
)

_BY_REPO = {spec.repository: spec for spec in CATALOG}


def lookup(ref: ImageRef) -> ImageSpec | None:
    """The catalog entry of a repository, whatever the tag."""
    return _BY_REPO.get(ref.repository)


def image_size(ref: ImageRef, spec: ImageSpec) -> int:
    """A stable size per tag, near the repository's typical size."""
    jitter = int(_hex(ref.full, 8), 16) % 4_000_000
    return spec.size + jitter - 2_000_000 if spec.size > 4_000_000 else spec.size + jitter % 200_000


class PullError(Exception):
    """A pull failure, with containerd's message (after ``rpc error: ...``)."""


def resolve(ref: ImageRef) -> ImageSpec:
    """The catalog entry for a pull, or :class:`PullError` with the real message."""
    spec = lookup(ref)
    full = ref.full
    if spec is None:
        if ref.domain == DEFAULT_DOMAIN:
            raise PullError(f'rpc error: code = Unknown desc = failed to pull and unpack image "{full}": '
                            f'failed to resolve reference "{full}": pull access denied, repository does not exist '
                            "or may require authorization: server message: insufficient_scope: authorization failed")
        if ref.domain in ("gcr.io", "registry.k8s.io", "k8s.gcr.io", "quay.io", "ghcr.io", "us-docker.pkg.dev"):
            raise PullError(f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": '
                            f'failed to resolve reference "{full}": {full}: not found')
        host = ref.domain.split(":")[0]
        raise PullError(f'rpc error: code = Unknown desc = failed to pull and unpack image "{full}": '
                        f'failed to resolve reference "{full}": failed to do request: Head '
                        f'"https://{ref.domain}/v2/{ref.path}/manifests/{ref.tag or ref.digest}": dial tcp: '
                        f"lookup {host} on 10.96.0.10:53: no such host")
    if ref.tag and not spec.has_tag(ref.tag):
        raise PullError(f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": '
                        f'failed to resolve reference "{full}": {full}: not found')
    return spec


# ------------------------------------------------------------------------------------------
# Versions and start-up output
# ------------------------------------------------------------------------------------------

_NGINX_VERSIONS = {"1.25": "1.25.5", "1.26": "1.26.3", "1.27": "1.27.5", "1.28": "1.28.0", "1.29": "1.29.1",
                   "stable": "1.28.0"}


def server_version(server: str, ref: ImageRef | None) -> str:
    """The program version a tag stands for (``nginx:1.27`` -> ``1.27.5``)."""
    tag = (ref.tag if ref else None) or "latest"
    m = re.match(r"(\d+(?:\.\d+)*)", tag)
    if server in ("nginx", "nginxdemos", "echoserver"):
        if m:
            parts = m.group(1).split(".")
            if len(parts) >= 3:
                return m.group(1)
            return _NGINX_VERSIONS.get(".".join(parts[:2]), m.group(1) + ".0")
        return _NGINX_VERSIONS.get(tag.split("-")[0], "1.29.1")
    if server in ("httpd", "php"):
        if m and m.group(1).count(".") >= 2:
            return m.group(1)
        return "2.4.65" if server == "httpd" else "2.4.6"
    if server == "hello-app":
        return {"2.0": "2.0.0"}.get(tag, "1.0.0")
    if server == "bootcamp":
        return "2" if tag == "v2" else "1"
    return m.group(1) if m else "1.0.0"


def _nginx_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y/%m/%d %H:%M:%S")


def _apache_time(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, timezone.utc)
    return dt.strftime("%a %b %d %H:%M:%S.") + f"{dt.microsecond:06d} " + dt.strftime("%Y")


def startup_lines(server: str, ref: ImageRef | None, ts: float, *, pod_ip: str = "", env: Mapping[str, str] | None = None,
                  port: int | None = None, entrypoint: bool = True) -> list[str]:
    """What the program prints when it starts (the first lines of ``kubectl logs``)."""
    env = env or {}
    version = server_version(server, ref)
    if server in ("nginx", "nginxdemos"):
        out = []
        if entrypoint:
            out += ["/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
                    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
                    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
                    "10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf",
                    "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
                    "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
                    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
                    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
                    "/docker-entrypoint.sh: Configuration complete; ready for start up"]
        t = _nginx_time(ts)
        out += [f'{t} [notice] 1#1: using the "epoll" event method',
                f"{t} [notice] 1#1: nginx/{version}",
                f"{t} [notice] 1#1: built by gcc 12.2.0 (Debian 12.2.0-14+deb12u1) ",
                f"{t} [notice] 1#1: OS: Linux 6.1.0-kk-sandbox",
                f"{t} [notice] 1#1: getrlimit(RLIMIT_NOFILE): 1048576:1048576",
                f"{t} [notice] 1#1: start worker processes",
                f"{t} [notice] 1#1: start worker process 29",
                f"{t} [notice] 1#1: start worker process 30"]
        return out
    if server in ("httpd", "php"):
        t = _apache_time(ts)
        note = (f"AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using {pod_ip}. "
                "Set the 'ServerName' directive globally to suppress this message")
        flavour = "(Unix)" if server == "httpd" else "(CentOS) PHP/5.4.16"
        command = "httpd -D FOREGROUND" if server == "httpd" else "/usr/sbin/httpd -D FOREGROUND"
        return [note, note,
                f"[{t}] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/{version} {flavour} configured -- "
                "resuming normal operations",
                f"[{t}] [core:notice] [pid 1:tid 1] AH00094: Command line: '{command}'"]
    if server == "hello-app":
        return [f"{_nginx_time(ts)} Server listening on port {port or 8080}"]
    if server == "http-echo":
        return [f"{_nginx_time(ts)} [INFO] server is listening on :{port or 5678}"]
    if server == "whoami":
        return [f"{_nginx_time(ts)} Starting up on port {port or 80}"]
    if server == "bootcamp":
        started = datetime.fromtimestamp(ts, timezone.utc).isoformat()[:23]
        return [f"Kubernetes Bootcamp App Started At: {started}Z | Running On:  {env.get('HOSTNAME', '')} "]
    if server == "agnhost-netexec":
        klog = f"I{datetime.fromtimestamp(ts, timezone.utc).strftime('%m%d %H:%M:%S.%f')}       1 log.go:245]"
        return [f"{klog} Started HTTP server on port {port or 8080}", f"{klog} Started UDP server on port  8081"]
    if server == "agnhost-serve-hostname":
        return [f"{_nginx_time(ts)} Serving on port {port or 9376}."]
    if server == "redis":
        t = datetime.fromtimestamp(ts, timezone.utc).strftime("%d %b %Y %H:%M:%S.%f")[:-3]
        return [f"1:C {t} # WARNING Memory overcommit must be enabled!",
                f"1:C {t} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
                f"1:C {t} * Redis version=7.4.2, bits=64, commit=00000000, modified=0, pid=1, just started",
                f"1:M {t} * monotonic clock: POSIX clock_gettime",
                f"1:M {t} * Running mode=standalone, port=6379.",
                f"1:M {t} * Server initialized",
                f"1:M {t} * Ready to accept connections tcp"]
    if server == "postgres":
        t = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
        return ["The files belonging to this database system will be owned by user \"postgres\".",
                "Success. You can now start the database server using:",
                "PostgreSQL init process complete; ready for start up.",
                f"{t} [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
                f"{t} [1] LOG:  database system is ready to accept connections"]
    if server == "mysql":
        t = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
        return [f"{t} 0 [System] [MY-010116] [Server] /usr/sbin/mysqld (mysqld 8.4.5) starting as process 1",
                f"{t} 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. Version: '8.4.5'  "
                "socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL."]
    if server == "mongo":
        return ['{"t":{"$date":"' + datetime.fromtimestamp(ts, timezone.utc).isoformat()[:23] + 'Z"},"s":"I",  "c":"NETWORK",  '
                '"id":23016,   "ctx":"listener","msg":"Waiting for connections","attr":{"port":27017,"ssl":"off"}}']
    return []
