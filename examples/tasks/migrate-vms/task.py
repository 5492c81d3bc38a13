# SPDX-License-Identifier: Apache-2.0
"""Live-migrate every server off each inventory host, one by one, and wait.

Variables: dry_run (default true: only JSON false acts); cloud
(openstack.connect() arguments); block_migration ("auto" by default, or
true/false); migrate_timeout_s (per server, default 1800).
Host variable nova_host: the host's name in nova (default: its name).
A server that is not ACTIVE or PAUSED cannot be live-migrated: it is
reported under "skipped", and the pre-checks step then refuses the host.
"""
import json
import os
import sys
import time


def load_payload():
    """argv[1] is the payload JSON, or "@" + the path of a file holding it."""
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
    if arg and not arg.startswith("@"):
        return json.loads(arg)
    with open(arg[1:] or os.environ["CRATON_PAYLOAD_FILE"], "rb") as f:
        return json.load(f)


def cloud_config(payload):
    """openstack.connect() arguments: variables.cloud, and on top of it the
    JSON object in the secret named "cloud" when the job received one (keep
    application_credential_secret there, not in variables).
    """
    given = payload["variables"].get("cloud")
    cloud = dict(given) if isinstance(given, dict) else {}
    path = payload.get("secrets", {}).get("cloud")
    if path:
        with open(path, "rb") as f:
            cloud.update(json.load(f))
    return cloud


def finish(result, code=0):
    print("::craton-result::" + json.dumps(result, sort_keys=True), flush=True)
    sys.exit(code)


def wait_moved(conn, server_id, source, timeout):
    """Wait until the migration is over; return the server's new host."""
    deadline = time.monotonic() + timeout
    while True:
        s = conn.compute.get_server(server_id)
        if s.status == "ERROR":
            raise RuntimeError(f"server {s.id} went to ERROR while migrating")
        # nova sets task_state "migrating" before it answers the request
        # and clears it when the migration ends, moved or rolled back.
        if not s.task_state:
            if s.compute_host == source:
                raise RuntimeError(f"live migration of {s.id} failed: nova "
                                   f"rolled it back to {source}")
            return s.compute_host
        if time.monotonic() > deadline:
            raise RuntimeError(f"server {s.id} still {s.task_state} after "
                               f"{timeout}s")
        time.sleep(5)


def main():
    payload = load_payload()
    v = payload.get("variables", {})
    dry_run = v.get("dry_run", True) is not False
    block = v.get("block_migration", "auto")
    timeout = int(v.get("migrate_timeout_s", 1800))
    key = "would_migrate_from" if dry_run else "migrated"
    result = {key: {}, "skipped": {}}
    if dry_run:
        for h in payload["inventory"]:
            nova_host = h.get("variables", {}).get("nova_host") or h["name"]
            print(f"would live-migrate every server (all projects) off "
                  f"{nova_host} (block_migration={block}), waiting up to "
                  f"{timeout}s for each")
            result[key][h["name"]] = nova_host
        finish(result)
    cloud = cloud_config(payload)
    if not cloud:
        sys.exit("variables.cloud or the secret \"cloud\" "
                 "(openstack.connect() arguments) is required when dry_run "
                 "is false")
    import openstack
    try:
        conn = openstack.connect(load_yaml_config=False, load_envvars=False,
                                 **cloud)
        for h in payload["inventory"]:
            nova_host = h.get("variables", {}).get("nova_host") or h["name"]
            servers = list(conn.compute.servers(all_projects=True,
                                                compute_host=nova_host))
            print(f"{nova_host}: {len(servers)} server(s) to move")
            moved = result[key].setdefault(h["name"], [])
            for s in servers:
                if s.status not in ("ACTIVE", "PAUSED"):
                    print(f"{nova_host}: cannot live-migrate {s.id} "
                          f"({s.name}) in status {s.status}: skipped")
                    result["skipped"].setdefault(h["name"], []).append(s.id)
                    continue
                t0 = time.monotonic()
                conn.compute.live_migrate_server(
                    s, block_migration=None if block == "auto" else block)
                target = wait_moved(conn, s.id, nova_host, timeout)
                print(f"{nova_host}: live-migrated {s.id} ({s.name}) to "
                      f"{target} in {time.monotonic() - t0:.0f}s")
                moved.append(s.id)
    except Exception as e:  # SDK, keystoneauth and connection errors alike
        print(f"migrate-vms failed: {type(e).__name__}: {e}", file=sys.stderr)
        finish({**result, "error": str(e)}, 1)
    finish(result)


if __name__ == "__main__":
    main()
