#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run host-maintenance for real (dry_run false) against the fake cloud.

Every step runs in its task image under the sandbox's restrictions, but on
the host's network (--network host) so that it can reach the fake cloud
(examples/tools/fake_cloud.py) and TCP listeners this script opens on
127.0.0.11-13, which stand in for the hosts' management port. Then it
checks what the fake cloud was asked, and that no secret was printed.

  examples/tools/check_real_mode.py [--docker unix:///run/craton/docker.sock]

Exits 0 when every check holds.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_cloud  # noqa: E402

PASSWORD, TOKEN = "s3cret-pw-for-the-check", "bearer-secret-for-the-check"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docker", default="unix:///run/craton/docker.sock")
    p.add_argument("--port", type=int, default=18080)
    args = p.parse_args()
    # compute-04 is where the servers can go.
    hosts = ["compute-01", "compute-02", "compute-03", "compute-04"]
    server = fake_cloud.serve(args.port, hosts, 2)
    listeners = []
    for i in (1, 2, 3):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((f"127.0.0.1{i}", 2222))
        s.listen(16)
        listeners.append(s)
    inventory = [
        {"uuid": f"host-{i}", "name": f"compute-0{i}",
         "ip_address": f"127.0.0.1{i}", "region": "r1", "cell": None,
         "labels": ["compute"], "variables": {"mgmt_port": 2222}}
        for i in (1, 2, 3)
    ]
    base = f"http://127.0.0.1:{args.port}"
    cloud = {
        "auth_url": base + "/identity/v3", "username": "admin",
        "password": PASSWORD, "project_name": "admin",
        "user_domain_name": "Default", "project_domain_name": "Default",
        "region_name": "RegionOne",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json") as inv:
        json.dump(inventory, inv)
        inv.flush()
        run = subprocess.run(
            [
                sys.executable, os.path.join(HERE, "run_local.py"),
                "--docker", args.docker, "--network", "host",
                "--inventory", inv.name,
                os.path.join(HERE, "..", "workflows", "host-maintenance.json"),
                "--var", "dry_run=false",
                "--var", "cloud=" + json.dumps(cloud),
                "--var", "monitoring=" + json.dumps(
                    {"url": base,
                     "headers": {"Authorization": "Bearer " + TOKEN}}),
                "--var", "patch_api=" + json.dumps(
                    {"url": base + "/patch/{name}"}),
            ],
            capture_output=True, text=True,
        )
    print(run.stdout)
    with urllib.request.urlopen(base + "/_requests") as resp:
        asked = json.load(resp)
    server.shutdown()
    cloud_state = server.RequestHandlerClass.cloud
    said = run.stdout + run.stderr
    calls = [(r["method"], r["path"].split("/")[-1]) for r in asked]
    checks = {
        "the workflow succeeded": run.returncode == 0,
        "no secret was printed": PASSWORD not in said and TOKEN not in said,
        "every server left compute-01..03": all(
            s["OS-EXT-SRV-ATTR:host"] == "compute-04"
            for s in cloud_state.servers.values()
        ),
        "6 live migrations were asked": sum(
            1 for r in asked if r["body"] and "os-migrateLive" in r["body"]
        ) == 6,
        "3 silences were created": calls.count(("POST", "silences")) == 3,
        "3 hosts were patched": sum(
            1 for r in asked if r["path"].startswith("/patch/")) == 3,
        "3 ironic reboots were asked": calls.count(("PUT", "power")) == 3,
        "nova-compute was disabled with the reason, then enabled": all(
            s["status"] == "enabled" for s in cloud_state.services.values()
        ) and any(
            r["body"] and r["body"].get("disabled_reason") == "patching"
            for r in asked
        ),
    }
    for what, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if run.returncode:
        print(run.stderr, file=sys.stderr)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
