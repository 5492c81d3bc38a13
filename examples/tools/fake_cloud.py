#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small in-memory stand-in for the services the example tasks call.

It answers on one loopback port, just enough of each API for the tasks'
real (dry_run false) code paths to run end to end through openstacksdk:

  /identity/v3            Keystone: version document, POST auth/tokens
  /compute/v2.1           Nova: os-services (list, PUT by id, legacy
                          disable/enable), servers/detail, servers/{id},
                          os-migrateLive (moves the server after two polls)
  /baremetal              Ironic: versions, nodes/{id}, states/power
  /api/v2/silences        Alertmanager: POST -> {"silenceID": ...}
  /patch/{host}           a patch service: POST -> {"updated": N, ...}
  /_requests              what was asked of it (method, path, JSON body)

Every host it is told about (--host, repeatable) has an enabled, up
nova-compute service, an Ironic node of the same name and --servers
ACTIVE servers. It is for tests and demos of the example tasks only.

  examples/tools/fake_cloud.py --port 18080 --host compute-01 --servers 2
"""

import argparse
import datetime
import http.server
import json
import re
import threading
import urllib.parse
import uuid


class Cloud:
    def __init__(self, hosts, servers_per_host):
        self.lock = threading.Lock()
        self.requests = []
        self.services = {
            h: {
                "id": str(uuid.uuid4()),
                "binary": "nova-compute",
                "host": h,
                "status": "enabled",
                "state": "up",
                "disabled_reason": None,
                "zone": "nova",
                "forced_down": False,
                "updated_at": None,
            }
            for h in hosts
        }
        self.servers = {}
        for h in hosts:
            for i in range(servers_per_host):
                sid = str(uuid.uuid4())
                self.servers[sid] = {
                    "id": sid,
                    "name": f"vm-{h}-{i}",
                    "status": "ACTIVE",
                    "OS-EXT-SRV-ATTR:host": h,
                    "OS-EXT-STS:task_state": None,
                    "tenant_id": "p1",
                    "links": [],
                }
        self.polls = {}
        self.nodes = {
            h: {
                "uuid": str(uuid.uuid4()),
                "name": h,
                "power_state": "power on",
                "target_power_state": None,
                "last_error": None,
            }
            for h in hosts
        }


class Handler(http.server.BaseHTTPRequestHandler):
    cloud = None

    def log_message(self, *args):
        pass

    def reply(self, code, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def base(self):
        return f"http://{self.headers['Host']}"

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        path, query = (
            url.path.rstrip("/"),
            dict(urllib.parse.parse_qsl(url.query)),
        )
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n)) if n else None
        c = self.cloud
        with c.lock:
            c.requests.append(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "body": body,
                    "microversion": self.headers.get("OpenStack-API-Version"),
                }
            )
            return self.route(c, method, path, query, body)

    def route(self, c, method, path, query, body):
        b = self.base()
        if path == "/_requests":
            return self.reply(200, c.requests)
        # ---- Keystone
        if path == "/identity/v3" and method == "GET":
            return self.reply(
                200,
                {
                    "version": {
                        "id": "v3.14",
                        "status": "stable",
                        "links": [
                            {"rel": "self", "href": b + "/identity/v3/"}
                        ],
                    }
                },
            )
        if path == "/identity/v3/auth/tokens" and method == "POST":

            def ep(kind, path):
                return {
                    "type": kind,
                    "name": kind,
                    "id": kind,
                    "endpoints": [
                        {
                            "id": kind + "-pub",
                            "interface": "public",
                            "region": "RegionOne",
                            "region_id": "RegionOne",
                            "url": b + path,
                        }
                    ],
                }

            exp = (
                datetime.datetime.utcnow() + datetime.timedelta(hours=1)
            ).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
            dom = {"id": "default", "name": "Default"}
            token = {
                "methods": ["password"],
                "expires_at": exp,
                "issued_at": exp,
                "user": {"id": "u1", "name": "admin", "domain": dom},
                "project": {"id": "p1", "name": "admin", "domain": dom},
                "roles": [{"id": "r1", "name": "admin"}],
                "catalog": [
                    ep("compute", "/compute/v2.1"),
                    ep("baremetal", "/baremetal"),
                ],
            }
            return self.reply(
                201, {"token": token}, {"X-Subject-Token": "fake-token"}
            )
        # ---- Nova
        nova_version = {
            "id": "v2.1",
            "status": "CURRENT",
            "version": "2.79",
            "min_version": "2.1",
            "links": [{"rel": "self", "href": b + "/compute/v2.1/"}],
        }
        if path == "/compute":
            return self.reply(200, {"versions": [nova_version]})
        if path == "/compute/v2.1":
            return self.reply(200, {"version": nova_version})
        if path == "/compute/v2.1/os-services" and method == "GET":
            found = [
                s
                for s in c.services.values()
                if query.get("host") in (None, s["host"])
                and query.get("binary") in (None, s["binary"])
            ]
            return self.reply(200, {"services": found})
        m = re.fullmatch(r"/compute/v2.1/os-services/([^/]+)", path)
        if m and method == "PUT":
            if m.group(1) in (
                "disable",
                "disable-log-reason",
                "enable",
            ):  # before 2.53
                svc = c.services[body["host"]]
                svc["status"] = (
                    "enabled" if m.group(1) == "enable" else "disabled"
                )
                svc["disabled_reason"] = body.get("disabled_reason")
                return self.reply(200, {"service": svc})
            svc = next(
                (s for s in c.services.values() if s["id"] == m.group(1)), None
            )
            if svc is None:
                return self.reply(
                    404,
                    {
                        "itemNotFound": {
                            "code": 404,
                            "message": "no such service",
                        }
                    },
                )
            svc.update(
                {
                    k: body[k]
                    for k in ("status", "disabled_reason")
                    if k in body
                }
            )
            if svc["status"] == "enabled":
                svc["disabled_reason"] = None
            return self.reply(200, {"service": svc})
        if path == "/compute/v2.1/servers/detail":
            found = [
                s
                for s in c.servers.values()
                if query.get("host") in (None, s["OS-EXT-SRV-ATTR:host"])
            ]
            return self.reply(200, {"servers": found})
        if path == "/compute/v2.1/servers":
            found = [
                {"id": s["id"], "name": s["name"], "links": []}
                for s in c.servers.values()
                if query.get("host") in (None, s["OS-EXT-SRV-ATTR:host"])
            ]
            return self.reply(200, {"servers": found})
        m = re.fullmatch(r"/compute/v2.1/servers/([^/]+)", path)
        if m and method == "GET":
            s = c.servers[m.group(1)]
            if s["OS-EXT-STS:task_state"] == "migrating":
                c.polls[s["id"]] = c.polls.get(s["id"], 0) + 1
                if (
                    c.polls[s["id"]] >= 2
                ):  # the migration finishes on the second poll
                    hosts = sorted(c.services)
                    s["OS-EXT-SRV-ATTR:host"] = next(
                        (
                            h
                            for h in hosts
                            if h != s["OS-EXT-SRV-ATTR:host"]
                            and c.services[h]["status"] == "enabled"
                        ),
                        "elsewhere",
                    )
                    s["OS-EXT-STS:task_state"] = None
            return self.reply(200, {"server": s})
        m = re.fullmatch(r"/compute/v2.1/servers/([^/]+)/action", path)
        if m and method == "POST" and "os-migrateLive" in body:
            c.servers[m.group(1)]["OS-EXT-STS:task_state"] = "migrating"
            return self.reply(202)
        # ---- Ironic
        ironic_version = {
            "id": "v1",
            "status": "CURRENT",
            "version": "1.78",
            "min_version": "1.1",
            "links": [{"rel": "self", "href": b + "/baremetal/v1/"}],
        }
        if path == "/baremetal":
            return self.reply(
                200,
                {
                    "versions": [ironic_version],
                    "default_version": ironic_version,
                },
            )
        if path == "/baremetal/v1":
            return self.reply(
                200,
                {
                    "id": "v1",
                    "version": ironic_version,
                    "links": ironic_version["links"],
                },
            )
        m = re.fullmatch(r"/baremetal/v1/nodes/([^/]+)(/states/power)?", path)
        if m:
            node = next(
                (
                    n
                    for n in c.nodes.values()
                    if m.group(1) in (n["name"], n["uuid"])
                ),
                None,
            )
            if node is None:
                return self.reply(
                    404,
                    {
                        "error_message": json.dumps(
                            {"faultstring": "node not found"}
                        )
                    },
                )
            if m.group(2) and method == "PUT":
                node["target_power_state"] = (
                    "power on"  # set before answering, as Ironic does
                )
                c.polls[node["uuid"]] = 0
                return self.reply(202)
            if node["target_power_state"]:
                c.polls[node["uuid"]] += 1
                if c.polls[node["uuid"]] >= 2:
                    node["target_power_state"] = None
            return self.reply(200, node)
        # ---- Alertmanager and the patch service
        if path == "/api/v2/silences" and method == "POST":
            return self.reply(200, {"silenceID": str(uuid.uuid4())})
        m = re.fullmatch(r"/patch/([^/]+)", path)
        if m and method == "POST":
            return self.reply(
                200,
                {"host": m.group(1), "updated": 7, "reboot_required": True},
            )
        return self.reply(404, {"error": f"fake cloud: no {method} {path}"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")


def serve(port, hosts, servers_per_host, address="127.0.0.1"):
    """Serve the fake cloud from a thread; shutdown() on the result ends it."""
    handler = type(
        "BoundHandler", (Handler,), {"cloud": Cloud(hosts, servers_per_host)}
    )
    server = http.server.ThreadingHTTPServer((address, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=18080)
    p.add_argument(
        "--host",
        action="append",
        default=[],
        help="a compute host (repeatable)",
    )
    p.add_argument(
        "--servers", type=int, default=2, help="servers on each host"
    )
    args = p.parse_args()
    server = serve(
        args.port,
        args.host or ["compute-01", "compute-02", "compute-03"],
        args.servers,
    )
    print(
        f"fake cloud on http://127.0.0.1:{args.port} (Ctrl-C ends it)",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
