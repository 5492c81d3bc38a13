# SPDX-License-Identifier: Apache-2.0
"""Check, for real, that each inventory host answers on TCP at its address.

Read-only, so it has no dry run. It connects only to the inventory's
ip_address values (IP literals: a name is never resolved), on each of
`ports` (default [22]) with `timeout_s` (default 2) per attempt, all at
once. A host is reachable when at least one of the ports accepts. An
unreachable host is a finding, not a failure, unless fail_on_unreachable.
Result: {"hosts": {name: {"reachable": bool, "open_ports": [...],
"error": str or null}}, "reachable": N, "unreachable": N}
"""
import concurrent.futures
import ipaddress
import json
import os
import socket
import sys


def load_payload():
    """argv[1] is the payload JSON, or "@" + the path of a file holding it."""
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
    if arg and not arg.startswith("@"):
        return json.loads(arg)
    with open(arg[1:] or os.environ["CRATON_PAYLOAD_FILE"], "rb") as f:
        return json.load(f)


def finish(result, code=0):
    print("::craton-result::" + json.dumps(result, sort_keys=True), flush=True)
    sys.exit(code)


def probe(ip, port, timeout):
    """None when ip:port accepts a TCP connection, else why not."""
    try:
        socket.create_connection((ip, port), timeout).close()
        return None
    except socket.timeout:
        return f"port {port}: no answer within {timeout}s"
    except OSError as e:
        return f"port {port}: {e.strerror or e}"


def main():
    payload = load_payload()
    v = payload.get("variables", {})
    ports, timeout = v.get("ports", [22]), float(v.get("timeout_s", 2))
    if not ports or not all(type(p) is int and 0 < p < 65536 for p in ports):
        sys.exit(f"variables.ports must be a non-empty list of TCP ports "
                 f"(1-65535), not {ports!r}")
    hosts, probes = {}, {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        for h in payload["inventory"]:
            try:
                ip = str(ipaddress.ip_address(h.get("ip_address") or ""))
            except ValueError:
                hosts[h["name"]] = {
                    "reachable": False, "open_ports": [],
                    "error": f"no usable ip_address ({h.get('ip_address')!r})"}
                continue
            hosts[h["name"]] = {"ip_address": ip}
            for port in ports:
                probes[h["name"], port] = pool.submit(probe, ip, port, timeout)
    for name, host in hosts.items():
        if "ip_address" in host:
            why = {p: probes[name, p].result() for p in ports}
            host["open_ports"] = [p for p in ports if why[p] is None]
            host["reachable"] = bool(host["open_ports"])
            host["error"] = "; ".join(w for w in why.values() if w) or None
        state = "reachable" if host["reachable"] else "UNREACHABLE"
        print(f"{name} ({host.get('ip_address', '-')}): {state}, open ports "
              f"{host['open_ports']}" + (f"; {host['error']}"
                                         if host["error"] else ""))
    up = sum(1 for host in hosts.values() if host["reachable"])
    print(f"audit: {up} reachable, {len(hosts) - up} unreachable of "
          f"{len(hosts)} host(s)")
    result = {"hosts": hosts, "reachable": up, "unreachable": len(hosts) - up}
    failed = v.get("fail_on_unreachable") is True and up < len(hosts)
    finish(result, 1 if failed else 0)


if __name__ == "__main__":
    main()
