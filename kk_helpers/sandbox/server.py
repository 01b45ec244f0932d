"""The sandbox's HTTP layer: the Kubernetes REST API on 127.0.0.1.

Routing follows the real URL scheme (``/api/v1/namespaces/<ns>/<plural>/<name>/<sub>``,
``/apis/<group>/<version>/...``, the legacy ``/watch/`` prefix); content
negotiation covers JSON, YAML and Kubernetes protobuf request bodies, Table
responses for ``kubectl get`` and newline-delimited watch streams. Every
failure is answered with a Kubernetes ``Status``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

import yaml
from aiohttp import web

from . import discovery, errors, selectors, tables
from . import patch as patch_mod
from .errors import APIError
from .registry import Registry, WriteOptions
from .resources import NAMESPACES, PODS, ResourceType, by_path
from .store import Event, Store

log = logging.getLogger("kk.sandbox.server")

MAX_BODY = 3 * 1024 * 1024
JSON = "application/json"
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
BOOKMARK_INTERVAL = 60.0


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def status_response(err: APIError) -> web.Response:
    return web.Response(body=dumps(err.status()), status=err.code, content_type=JSON)


def success_status(details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        body["details"] = details
    return body


@dataclass
class Target:
    """What a resource URL names."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    watch_prefix: bool = False


def _parse_accept(header: str) -> tuple[str | None, bool]:
    """(Table apiVersion or None, accepts JSON) from an Accept header."""
    table_version = tables.negotiate_table(header)
    if table_version is not None or not header:
        return table_version, True
    for part in header.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if media in ("application/json", "*/*", "application/*", "application/yaml", "application/json;stream=watch") \
                and "as" not in opts:
            return None, True
    return None, False


def _bool(v: str | None) -> bool:
    return v is not None and v.lower() in ("true", "1", "")


class APIServer:
    """The aiohttp application serving the Kubernetes API over a :class:`Registry`."""

    def __init__(self, registry: Registry, token: str | None = None) -> None:
        self.registry = registry
        self.store: Store = registry.store
        self.token = token or secrets.token_hex(16)
        self.started = time.monotonic()
        self.app = web.Application(client_max_size=MAX_BODY * 4, middlewares=[self._middleware])
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._openapi: Any = None
        self.watch_tasks: set[asyncio.Task[Any]] = set()
        self.stopping = asyncio.Event()

    # -- middleware --------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {self.token}":
            return status_response(errors.unauthorized())
        try:
            return await handler(request)
        except APIError as err:
            return status_response(err)
        except web.HTTPRedirection:
            raise
        except web.HTTPException as exc:
            if exc.status == 413:
                return status_response(errors.too_large())
            return status_response(APIError(exc.status, exc.reason.replace(" ", ""), exc.text or exc.reason))
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as exc:  # pragma: no cover - a bug; still answer with a Status
            log.exception("unexpected error on %s %s", request.method, request.path_qs)
            return status_response(errors.internal(f"{type(exc).__name__}: {exc}"))

    # -- routing -----------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [unquote(p) for p in path.strip("/").split("/")] if path != "/" else []
        method = request.method
        if method == "GET":
            doc = self._static_document(parts)
            if doc is not None:
                return web.Response(body=doc if isinstance(doc, bytes) else dumps(doc), content_type=JSON)
            if parts[:2] == ["openapi", "v2"]:
                raise errors.resource_not_found()
            if parts[:2] == ["openapi", "v3"]:
                return self._openapi_v3(parts[2:], request.query.get("hash"))
        if len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods" \
                and parts[6] in ("exec", "attach", "portforward"):
            from . import exec as exec_mod

            return await exec_mod.serve(self.registry, request, parts[3], parts[5], parts[6], self.watch_tasks)
        target = self._resolve(parts)
        if target is None:
            raise errors.resource_not_found()
        return await self._handle(request, target)

    def _static_document(self, parts: list[str]) -> Any:
        if not parts:
            return {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/openapi/v3", "/version"]
                    + [f"/apis/{g}/{v}" for g, v in _gvs() if g]}
        if parts == ["version"]:
            return discovery.version_info()
        if parts == ["api"]:
            return discovery.api_versions()
        if parts == ["apis"]:
            return discovery.api_group_list()
        if parts == ["api", "v1"]:
            return discovery.resource_list("", "v1")
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.api_group(parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.resource_list(parts[1], parts[2])
        return None

    @property
    def openapi(self) -> Any:
        if self._openapi is None:
            from .openapi import OpenAPIV3

            self._openapi = OpenAPIV3()
        return self._openapi

    def warm_openapi(self) -> None:
        """Build the OpenAPI documents (and validation tables) ahead of the first request."""
        self.openapi.root()

    def _openapi_v3(self, rest: list[str], requested_hash: str | None) -> web.Response:
        oa = self.openapi
        if not rest:
            return web.Response(body=dumps(oa.root()), content_type=JSON)
        path = "/".join(rest)
        body = oa.document_bytes(path)
        if body is None:
            raise errors.resource_not_found()
        if requested_hash and requested_hash != oa.hash(path):
            raise web.HTTPMovedPermanently(location=f"/openapi/v3/{path}?hash={oa.hash(path)}")
        return web.Response(body=body, content_type=JSON, headers=oa.cache_headers(path, requested_hash))

    def _resolve(self, parts: list[str]) -> Target | None:
        if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        watch_prefix = False
        if rest and rest[0] == "watch":
            watch_prefix, rest = True, rest[1:]
        if not rest:
            return None
        if rest[0] == "namespaces" and len(rest) >= 3:
            rt = by_path(group, version, rest[2])
            if rt is not None and rt.namespaced:
                name = rest[3] if len(rest) > 3 else None
                sub = rest[4] if len(rest) > 4 else None
                if len(rest) > 5 or (sub and sub not in rt.subresources):
                    return None
                return Target(rt, rest[1], name, sub, watch_prefix)
            if len(rest) == 3 and group == "" and rest[2] in NAMESPACES.subresources:
                return Target(NAMESPACES, None, rest[1], rest[2], watch_prefix)
            return None
        rt = by_path(group, version, rest[0])
        if rt is None or len(rest) > 3:
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub and sub not in rt.subresources:
            return None
        if name is not None and rt.namespaced:
            return None  # /api/v1/pods/<name> does not exist
        return Target(rt, None, name, sub, watch_prefix)

    # -- request decoding --------------------------------------------------------------------

    async def _read_body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise errors.too_large()
        chunks = []
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > MAX_BODY:
                raise errors.too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    async def _decode(self, request: web.Request, rt: ResourceType, *, patch_type: str | None = None) -> Any:
        raw = await self._read_body(request)
        ctype = request.headers.get("Content-Type", JSON).split(";")[0].strip().lower() or JSON
        if not raw:
            raise errors.bad_request("the body of the request was empty" if patch_type is None else
                                     "the body of the request was in an unknown format - accepted media types "
                                     "include: application/json-patch+json, application/merge-patch+json, "
                                     "application/apply-patch+yaml, application/strategic-merge-patch+json")
        if ctype == PROTOBUF:
            if patch_type is not None:
                raise errors.unsupported_media_type(f"the body of the request was in an unknown format - "
                                                    f"accepted media types include: {', '.join(PATCH_TYPES)}")
            from .protobuf import ProtobufError, decode

            try:
                return decode(raw)
            except ProtobufError as err:
                if err.unsupported:
                    raise errors.unsupported_media_type(str(err)) from err
                raise errors.bad_request(f"{rt.kind} in version \"{rt.version}\" cannot be handled as a "
                                         f"{rt.kind}: {err}") from err
        if ctype in ("application/yaml", "application/apply-patch+yaml") or (patch_type is None and ctype == "text/yaml"):
            try:
                return yaml.safe_load(raw.decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as err:
                raise errors.bad_request(f"error decoding YAML: {_one_line(err)}") from err
        if ctype == JSON or ctype in PATCH_TYPES or ctype.endswith("+json"):
            try:
                return json.loads(raw)
            except (ValueError, UnicodeDecodeError, RecursionError) as err:
                raise errors.bad_request(f"{rt.kind} in version \"{rt.version}\" cannot be handled as a "
                                         f"{rt.kind}: {_json_error(err)}") from err
        raise errors.unsupported_media_type(f"the body of the request was in an unknown format - accepted media "
                                            f"types include: application/json, application/yaml, {PROTOBUF}")

    def _write_options(self, request: web.Request) -> WriteOptions:
        q = request.query
        dry = q.getall("dryRun", [])
        for d in dry:
            if d != "All":
                raise APIError(400, "BadRequest", f'Invalid dryRun value: "{d}": supported values: "All"')
        fv = q.get("fieldValidation", "Warn") or "Warn"
        if fv not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(f"fieldValidation must be one of Ignore, Warn, or Strict, got {fv}")
        fm = q.get("fieldManager", "")
        if len(fm) > 128:
            raise errors.bad_request("fieldManager cannot be longer than 128 characters")
        if not fm:
            ua = request.headers.get("User-Agent", "")
            fm = ua.split("/")[0] if ua else ""
        return WriteOptions(dry_run=bool(dry), field_manager=fm, field_validation=fv)

    def _respond(self, obj: Any, status: int, opts: WriteOptions | None = None) -> web.Response:
        resp = web.Response(body=dumps(obj), status=status, content_type=JSON)
        if opts is not None:
            for w in opts.warnings:
                resp.headers.add("Warning", '299 - "%s"' % w.replace('"', '\\"'))
        return resp

    # -- handlers ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request, t: Target) -> web.StreamResponse:
        method = request.method
        q = request.query
        if t.namespace is not None and t.rt.namespaced and t.name is None and method == "POST":
            pass
        if t.subresource:
            return await self._handle_subresource(request, t)
        if t.name is None:
            if method == "GET":
                if t.watch_prefix or _bool(q.get("watch")) and "watch" in q:
                    return await self._watch(request, t)
                return self._list(request, t)
            if method == "POST":
                if t.namespace is None and t.rt.namespaced:
                    raise errors.method_not_allowed()
                body = await self._decode(request, t.rt)
                opts = self._write_options(request)
                obj = self.registry.create(t.rt, t.namespace, body, opts)
                return self._respond(obj, 201, opts)
            if method == "DELETE":
                if t.namespace is None and t.rt.namespaced:
                    raise errors.method_not_allowed()
                if "deletecollection" not in t.rt.verbs:
                    raise errors.method_not_allowed()
                dopts = await self._delete_options(request, t.rt)
                items = self.registry.delete_collection(
                    t.rt, t.namespace, label_selector=q.get("labelSelector"), field_selector=q.get("fieldSelector"),
                    grace_period=dopts.get("gracePeriodSeconds"), propagation=dopts.get("propagationPolicy"),
                    dry_run=bool(dopts.get("dryRun")))
                return self._respond({"kind": t.rt.list_kind, "apiVersion": t.rt.group_version,
                                      "metadata": {"resourceVersion": str(self.store.rv)}, "items": items}, 200)
            raise errors.method_not_allowed()
        if t.watch_prefix:
            return await self._watch(request, t, name=t.name)
        if method == "GET":
            obj = self.registry.get(t.rt, t.namespace, t.name)
            wants_table, accepts_json = _parse_accept(request.headers.get("Accept", ""))
            if not accepts_json:
                raise errors.not_acceptable("only the following media types are accepted: application/json, "
                                            "application/yaml, application/vnd.kubernetes.protobuf")
            if wants_table:
                return self._respond(tables.table(t.rt, [obj], _now(), obj["metadata"].get("resourceVersion", ""),
                                                  include_object=q.get("includeObject", "Metadata"),
                                                  api_version=wants_table), 200)
            return self._respond(obj, 200)
        if method == "PUT":
            body = await self._decode(request, t.rt)
            opts = self._write_options(request)
            obj = self.registry.update(t.rt, t.namespace, t.name, body, opts)
            return self._respond(obj, 200, opts)
        if method == "PATCH":
            ptype = PATCH_TYPES.get(request.headers.get("Content-Type", "").split(";")[0].strip().lower())
            if ptype is None:
                raise patch_mod.unsupported_patch_type()
            body = await self._decode(request, t.rt, patch_type=ptype)
            opts = self._write_options(request)
            force = _bool(q.get("force")) if "force" in q else False
            if "force" in q and ptype != "apply":
                raise errors.APIError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
                                      "may not be specified for non-apply patch",
                                      {"group": "meta.k8s.io", "kind": "PatchOptions",
                                       "causes": [{"reason": "FieldValueForbidden", "field": "force",
                                                   "message": "Forbidden: may not be specified for non-apply patch"}]})
            obj, created = self.registry.patch(t.rt, t.namespace, t.name, ptype, body, opts, force=force)
            return self._respond(obj, 201 if created else 200, opts)
        if method == "DELETE":
            dopts = await self._delete_options(request, t.rt)
            obj, gone = self.registry.delete(
                t.rt, t.namespace, t.name, grace_period=dopts.get("gracePeriodSeconds"),
                propagation=dopts.get("propagationPolicy"), preconditions=dopts.get("preconditions"),
                dry_run=bool(dopts.get("dryRun")))
            return self._respond(obj, 200)
        raise errors.method_not_allowed()

    async def _delete_options(self, request: web.Request, rt: ResourceType) -> dict[str, Any]:
        q = request.query
        body: dict[str, Any] = {}
        raw = await self._read_body(request)
        if raw.strip():
            try:
                ctype = request.headers.get("Content-Type", JSON).split(";")[0].strip()
                if ctype == PROTOBUF:
                    body = {}  # DeleteOptions in protobuf: propagation is read from the query too
                else:
                    body = json.loads(raw) if not ctype.endswith("yaml") else yaml.safe_load(raw)
            except (ValueError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as err:
                raise errors.bad_request(f"DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: {_json_error(err)}") from err
            if not isinstance(body, dict):
                raise errors.bad_request("DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: "
                                         "the body must be an object")
        if "gracePeriodSeconds" in q:
            try:
                body["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
            except ValueError as err:
                raise errors.bad_request(f'invalid value for gracePeriodSeconds: "{q["gracePeriodSeconds"]}"') from err
        if "propagationPolicy" in q:
            body["propagationPolicy"] = q["propagationPolicy"]
        if q.get("orphanDependents") in ("true", "false"):
            body.setdefault("propagationPolicy", "Orphan" if q["orphanDependents"] == "true" else "Background")
        if "orphanDependents" in body and "propagationPolicy" not in body:
            body["propagationPolicy"] = "Orphan" if body.pop("orphanDependents") else "Background"
        if q.getall("dryRun", []):
            body["dryRun"] = ["All"]
        gp = body.get("gracePeriodSeconds")
        if gp is not None and (not isinstance(gp, int) or isinstance(gp, bool)):
            raise errors.bad_request("DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: "
                                     "gracePeriodSeconds must be an integer")
        if body.get("preconditions") is not None and not isinstance(body["preconditions"], dict):
            raise errors.bad_request("DeleteOptions in version \"v1\" cannot be handled as a DeleteOptions: "
                                     "preconditions must be an object")
        return body

    async def _handle_subresource(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None and t.subresource is not None
        method, sub, rt = request.method, t.subresource, t.rt
        opts = self._write_options(request) if method in ("PUT", "PATCH", "POST") else None
        if sub == "status":
            if method == "GET":
                return self._respond(self.registry.get(rt, t.namespace, t.name), 200)
            if method == "PUT":
                body = await self._decode(request, rt)
                return self._respond(self.registry.update(rt, t.namespace, t.name, body, opts, subresource="status"), 200, opts)
            if method == "PATCH":
                ptype = PATCH_TYPES.get(request.headers.get("Content-Type", "").split(";")[0].strip().lower())
                if ptype is None:
                    raise patch_mod.unsupported_patch_type()
                body = await self._decode(request, rt, patch_type=ptype)
                obj, _ = self.registry.patch(rt, t.namespace, t.name, ptype, body, opts, subresource="status",
                                             force=_bool(request.query.get("force")) if "force" in request.query else False)
                return self._respond(obj, 200, opts)
        elif sub == "scale":
            if method == "GET":
                return self._respond(self.registry.scale_of(rt, self.registry.get(rt, t.namespace, t.name)), 200)
            if method == "PUT":
                body = await self._decode(request, rt)
                obj = self.registry.update_scale(rt, t.namespace, t.name, body, opts or WriteOptions())
                return self._respond(self.registry.scale_of(rt, obj), 200, opts)
            if method == "PATCH":
                ptype = PATCH_TYPES.get(request.headers.get("Content-Type", "").split(";")[0].strip().lower())
                if ptype is None:
                    raise patch_mod.unsupported_patch_type()
                body = await self._decode(request, rt, patch_type=ptype)
                obj, _ = self.registry.patch(rt, t.namespace, t.name, ptype, body, opts, subresource="scale")
                return self._respond(self.registry.scale_of(rt, obj), 200, opts)
        elif sub == "log" and method == "GET":
            return await self._log(request, t)
        elif sub == "binding" and method == "POST":
            body = await self._decode(request, rt)
            node = ((body or {}).get("target") or {}).get("name") if isinstance(body, dict) else None
            if not node:
                raise errors.APIError(422, "Invalid", f'Binding "{t.name}" is invalid: target.name: Required value')
            self.registry.bind(t.namespace or "default", t.name, node)
            return self._respond(success_status(), 201)
        elif sub == "eviction" and method == "POST":
            await self._decode(request, rt)
            self.registry.get(rt, t.namespace, t.name)
            self.registry.delete(rt, t.namespace, t.name)
            return self._respond(success_status(), 201)
        elif sub == "finalize" and method == "PUT":
            body = await self._decode(request, rt)
            return self._respond(self.registry.update(rt, t.namespace, t.name, body, opts, subresource="finalize"),
                                 200, opts)
        raise errors.method_not_allowed()

    async def _log(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        params: dict[str, Any] = {}
        for key in ("tailLines", "limitBytes", "sinceSeconds"):
            if key in q:
                try:
                    params[key] = int(q[key])
                except ValueError as err:
                    raise errors.bad_request(f'{key}: Invalid value: "{q[key]}": must be an integer') from err
        params["previous"] = _bool(q.get("previous")) if "previous" in q else False
        params["timestamps"] = _bool(q.get("timestamps")) if "timestamps" in q else False
        text = self.registry.log(t.namespace or "default", t.name or "", q.get("container"), params)
        if not (_bool(q.get("follow")) and "follow" in q):
            return web.Response(text=text, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
        await resp.prepare(request)
        try:
            await resp.write(text.encode())
            sent = len(text)
            deadline = time.monotonic() + 3600
            while time.monotonic() < deadline and not self.stopping.is_set():
                await asyncio.sleep(0.5)
                try:
                    text = self.registry.log(t.namespace or "default", t.name or "", q.get("container"), params)
                except APIError:
                    break
                if len(text) > sent:
                    await resp.write(text[sent:].encode())
                    sent = len(text)
                pod = self.store.get(PODS, t.namespace or "default", t.name or "")
                if pod is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                    break
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError, RuntimeError):
            pass  # the client went away (kubectl logs -f interrupted)
        return resp

    # -- list --------------------------------------------------------------------------------

    def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        wants_table, accepts_json = _parse_accept(request.headers.get("Accept", ""))
        if not accepts_json:
            raise errors.not_acceptable("only the following media types are accepted: application/json, "
                                        "application/yaml, application/vnd.kubernetes.protobuf")
        if t.namespace and t.rt.namespaced and t.namespace != "" and self.store.get(NAMESPACES, "", t.namespace) is None:
            items: list[dict[str, Any]] = []
        else:
            items = self.registry.list(t.rt, t.namespace, label_selector=q.get("labelSelector"),
                                       field_selector=q.get("fieldSelector"))
        rv = str(self.store.rv)
        cont_token = None
        remaining = 0
        limit = q.get("limit")
        start = 0
        if q.get("continue"):
            try:
                tok = json.loads(base64.urlsafe_b64decode(q["continue"] + "==").decode())
                start = int(tok["start"])
                rv = str(tok["rv"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
                raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                         "(version meta.k8s.io/v1)") from err
        if limit:
            try:
                n = int(limit)
            except ValueError as err:
                raise errors.bad_request(f'limit: Invalid value: "{limit}": must be an integer') from err
            if n > 0 and start + n < len(items):
                cont_token = base64.urlsafe_b64encode(dumps({"rv": int(rv), "start": start + n})).decode().rstrip("=")
                remaining = len(items) - start - n
                items = items[start:start + n]
            else:
                items = items[start:]
        elif start:
            items = items[start:]
        if wants_table:
            body = tables.table(t.rt, items, _now(), rv, include_object=q.get("includeObject", "Metadata"),
                                continue_token=cont_token, remaining_item_count=remaining if cont_token else None,
                                api_version=wants_table)
            return self._respond(body, 200)
        meta: dict[str, Any] = {"resourceVersion": rv}
        if cont_token:
            meta["continue"] = cont_token
            meta["remainingItemCount"] = remaining
        body = {"kind": t.rt.list_kind, "apiVersion": t.rt.group_version, "metadata": meta, "items": items}
        return web.Response(body=dumps(body), content_type=JSON)

    # -- watch -------------------------------------------------------------------------------

    async def _watch(self, request: web.Request, t: Target, name: str | None = None) -> web.StreamResponse:
        q = request.query
        wants_table, accepts_json = _parse_accept(request.headers.get("Accept", ""))
        if not accepts_json:
            raise errors.not_acceptable("only the following media types are accepted: application/json, "
                                        "application/json;stream=watch")
        include_object = tables.validate_include_object(q.get("includeObject")) if wants_table else "Metadata"
        label_match = selectors.parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
        field_sel = q.get("fieldSelector") or ""
        if name:
            field_sel = ",".join(x for x in (field_sel, f"metadata.name={name}") if x)
        field_match = selectors.compile_field_selector(t.rt, field_sel) if field_sel else None
        send_initial = _bool(q.get("sendInitialEvents")) if "sendInitialEvents" in q else False
        bookmarks = _bool(q.get("allowWatchBookmarks")) if "allowWatchBookmarks" in q else False
        if send_initial:
            if q.get("resourceVersionMatch") != "NotOlderThan":
                raise errors.APIError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: '
                                      'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan')
            if not bookmarks:
                raise errors.APIError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: '
                                      'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true')
        rv_param = q.get("resourceVersion", "")
        since: int | None
        if rv_param in ("", "0") or send_initial:
            since = None
        else:
            try:
                since = int(rv_param)
            except ValueError as err:
                raise errors.bad_request(f'resourceVersion: Invalid value: "{rv_param}": must be a number') from err
        timeout = None
        if "timeoutSeconds" in q:
            try:
                timeout = max(0, int(q["timeoutSeconds"]))
            except ValueError as err:
                raise errors.bad_request("timeoutSeconds must be an integer") from err
        ns = t.namespace if t.rt.namespaced else None
        initial: list[dict[str, Any]] = []
        if since is None and (send_initial or rv_param in ("", "0")):
            initial = self.store.list(t.rt, ns)
        try:
            watcher = self.store.watch(t.rt, ns, since)
        except APIError as err:
            if err.code != 410:
                raise
            # A real server answers 200 and sends one ERROR event, then closes.
            resp = web.StreamResponse(status=200, headers={"Content-Type": JSON, "Transfer-Encoding": "chunked"})
            await resp.prepare(request)
            await resp.write(dumps({"type": "ERROR", "object": err.status()}) + b"\n")
            await resp.write_eof()
            return resp

        def matches(obj: dict[str, Any]) -> bool:
            if label_match is not None and not label_match(obj.get("metadata", {}).get("labels") or {}):
                return False
            if field_match is not None and not field_match(obj):
                return False
            return True

        resp = web.StreamResponse(status=200, headers={"Content-Type": JSON, "Transfer-Encoding": "chunked"})
        await resp.prepare(request)
        first_table = [True]

        def encode(etype: str, obj: dict[str, Any]) -> bytes:
            if wants_table and etype != "BOOKMARK":
                body = tables.table(t.rt, [obj], _now(), obj["metadata"].get("resourceVersion", ""),
                                    include_object=include_object, with_columns=first_table[0],
                                    api_version=wants_table)
                first_table[0] = False
                return dumps({"type": etype, "object": body}) + b"\n"
            return dumps({"type": etype, "object": obj}) + b"\n"

        def bookmark(rv: int, end: bool = False) -> bytes:
            md: dict[str, Any] = {"resourceVersion": str(rv)}
            if end:
                md["annotations"] = {"k8s.io/initial-events-end": "true"}
            return dumps({"type": "BOOKMARK", "object": {"kind": t.rt.kind, "apiVersion": t.rt.group_version,
                                                          "metadata": md}}) + b"\n"

        task = asyncio.current_task()
        if task is not None:
            self.watch_tasks.add(task)
        try:
            for obj in initial:
                if matches(obj):
                    await resp.write(encode("ADDED", obj))
            if send_initial:
                await resp.write(bookmark(self.store.rv, end=True))
            deadline = time.monotonic() + timeout if timeout is not None else None
            while True:
                wait = BOOKMARK_INTERVAL
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        break
                try:
                    ev = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
                except asyncio.TimeoutError:
                    if bookmarks and (deadline is None or deadline > time.monotonic()):
                        await resp.write(bookmark(self.store.rv))
                    continue
                if ev is None:
                    break
                data = self._watch_event(ev, matches, encode)
                if data:
                    await resp.write(data)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.unwatch(watcher)
            if task is not None:
                self.watch_tasks.discard(task)
        try:
            await resp.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass
        return resp

    @staticmethod
    def _watch_event(ev: Event, matches: Any, encode: Any) -> bytes | None:
        now_ok = matches(ev.obj)
        if ev.type == "MODIFIED" and ev.old is not None:
            was_ok = matches(ev.old)
            if now_ok and not was_ok:
                return encode("ADDED", ev.obj)
            if was_ok and not now_ok:
                return encode("DELETED", ev.obj)
        if not now_ok:
            return None
        return encode(ev.type, ev.obj)


def _gvs() -> list[tuple[str, str]]:
    from .resources import group_versions

    return group_versions()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def _json_error(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"couldn't get version/kind; json parse error: {err.msg} at offset {err.pos}"
    if isinstance(err, RecursionError):
        return "json: exceeded max depth"
    return f"couldn't get version/kind; json parse error: {_one_line(err)}"
