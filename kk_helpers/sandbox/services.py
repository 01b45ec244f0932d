"""ClusterIP and NodePort allocation, as the service REST storage does it at create time.

ClusterIPs come from the service CIDR 10.96.0.0/16 (10.96.0.1 is the
``kubernetes`` service); NodePorts from 30000-32767. A pinned nodePort is
honoured when free; a taken or out-of-range one is a 422 with the real
messages. Automatic NodePorts prefer the upper band (30086-32767), static
picks the lower one, as since Kubernetes 1.29.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from . import errors
from .errors import Cause
from .resources import SERVICES
from .store import Store

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")
NODEPORT_RANGE = (30000, 32767)
NODEPORT_STATIC_BAND = 86  # min(max(16, size/32), 128) for the default range


class Allocator:
    """Tracks ClusterIPs and NodePorts in use, derived from the stored services."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _used(self, exclude_uid: str | None) -> tuple[set[str], set[int]]:
        ips: set[str] = set()
        ports: set[int] = set()
        for svc in self.store.iter_all(SERVICES):
            if exclude_uid and svc["metadata"].get("uid") == exclude_uid:
                continue
            spec = svc.get("spec") or {}
            if spec.get("clusterIP") and spec["clusterIP"] != "None":
                ips.add(spec["clusterIP"])
            for p in spec.get("ports") or []:
                if p.get("nodePort"):
                    ports.add(p["nodePort"])
        return ips, ports

    def allocate(self, svc: dict[str, Any], old: dict[str, Any] | None, *, dry_run: bool = False) -> None:
        """Fill ``spec.clusterIP(s)`` and ``nodePort``s in place, raising 422 on conflicts."""
        spec = svc.setdefault("spec", {})
        name = svc["metadata"].get("name", "")
        ips, used_ports = self._used(old["metadata"].get("uid") if old else None)
        stype = spec.get("type", "ClusterIP")
        causes: list[Cause] = []
        if stype != "ExternalName":
            ip = spec.get("clusterIP")
            if old is not None and (old.get("spec") or {}).get("clusterIP") and not ip:
                ip = old["spec"]["clusterIP"]
            if ip in (None, ""):
                ip = self._free_ip(ips)
            elif ip != "None":
                try:
                    addr = ipaddress.ip_address(ip)
                except ValueError:
                    causes.append(Cause("spec.clusterIPs[0]", f'Invalid value: "{ip}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'))
                    addr = None
                if addr is not None and (old is None or (old.get("spec") or {}).get("clusterIP") != ip):
                    if addr not in SERVICE_CIDR:
                        causes.append(Cause("spec.clusterIPs", f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {SERVICE_CIDR}'))
                    elif ip in ips:
                        causes.append(Cause("spec.clusterIPs", f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: provided IP is already allocated'))
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
        old_ports = {p.get("port"): p.get("nodePort") for p in ((old or {}).get("spec") or {}).get("ports") or []}
        wants_node_ports = stype in ("NodePort", "LoadBalancer")
        for i, p in enumerate(spec.get("ports") or []):
            if not isinstance(p, dict):
                continue
            if not wants_node_ports:
                p.pop("nodePort", None)
                continue
            np = p.get("nodePort")
            if not np:
                np = old_ports.get(p.get("port")) or self._free_port(used_ports)
                if np is None:
                    causes.append(Cause(f"spec.ports[{i}].nodePort", "Internal error: range is full"))
                    continue
            elif np != old_ports.get(p.get("port")):
                lo, hi = NODEPORT_RANGE
                if not isinstance(np, int) or not lo <= np <= hi:
                    causes.append(Cause(f"spec.ports[{i}].nodePort",
                                        f"Invalid value: {np}: provided port is not in the valid range. "
                                        f"The range of valid ports is {lo}-{hi}"))
                    continue
                if np in used_ports:
                    causes.append(Cause(f"spec.ports[{i}].nodePort",
                                        f"Invalid value: {np}: provided port is already allocated"))
                    continue
            p["nodePort"] = np
            used_ports.add(np)
        if causes:
            raise errors.invalid(SERVICES, name, causes)

    def release(self, svc: dict[str, Any]) -> None:
        """Nothing to do: allocations are derived from the stored services."""

    @staticmethod
    def _free_ip(used: set[str]) -> str:
        net = SERVICE_CIDR
        size = net.num_addresses
        for _ in range(200):
            cand = str(net.network_address + random.randint(10, size - 2))
            if cand not in used:
                return cand
        for offset in range(2, size - 1):
            cand = str(net.network_address + offset)
            if cand not in used:
                return cand
        raise errors.internal("the service IP range is full")

    @staticmethod
    def _free_port(used: set[int]) -> int | None:
        lo, hi = NODEPORT_RANGE
        upper = lo + NODEPORT_STATIC_BAND
        for _ in range(200):
            cand = random.randint(upper, hi)
            if cand not in used:
                return cand
        for cand in range(lo, hi + 1):
            if cand not in used:
                return cand
        return None
