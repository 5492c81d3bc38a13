# SPDX-License-Identifier: Apache-2.0
"""Check that each inventory host is ready (pre-checks) or well (post-checks).

Variables: checks (list, default ["port"]) of
  "port"        the host's ip_address answers on TCP mgmt_port (default 22)
  "no-servers"  nova lists no server on the host (all projects)
  "compute-up"  nova reports the host's nova-compute service "up";
report_results (names of earlier steps whose results to show, e.g.
["patch"]); timeout_s (TCP connect timeout, default 5); dry_run (default
true: only JSON false connects anywhere); cloud (openstack.connect()
arguments, for the nova checks). Host variables: mgmt_port, nova_host.
"""
import json
import os
import socket
import sys

KNOWN = ("port", "no-servers", "compute-up")


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


def check(conn, name, h, v):
    """Run one check on host h: None when it passes, else what is wrong."""
    hv = h.get("variables", {})
    nova_host = hv.get("nova_host") or h["name"]
    if name == "port":
        ip, port = h.get("ip_address"), int(hv.get("mgmt_port",
                                                  v.get("mgmt_port", 22)))
        if not ip:
            return "the host has no ip_address in the inventory"
        try:
            socket.create_connection((ip, port), v.get("timeout_s", 5)).close()
        except OSError as e:
            return f"{ip}:{port} does not answer ({e.strerror or e})"
        return None
    if name == "no-servers":
        left = [s.id for s in conn.compute.servers(
            details=False, all_projects=True, compute_host=nova_host)]
        return (f"{len(left)} server(s) still on {nova_host}: "
                f"{', '.join(left)}") if left else None
    states = [s.state for s in conn.compute.services(host=nova_host,
                                                     binary="nova-compute")]
    if states and all(state == "up" for state in states):
        return None
    return f"nova-compute on {nova_host} is {states or 'missing'}"


def main():
    payload = load_payload()
    v = payload.get("variables", {})
    dry_run = v.get("dry_run", True) is not False
    checks = v.get("checks", ["port"])
    if not checks or set(checks) - set(KNOWN):
        sys.exit(f"variables.checks must list some of {KNOWN}, not {checks}")
    result = {"checks": checks, "dry_run": dry_run, "passed": [],
              "failed": {}}
    for step in v.get("report_results", []):
        said = payload.get("results", {}).get(step)
        print(f"step '{step}' reported: {json.dumps(said, sort_keys=True)}")
        result.setdefault("reported", {})[step] = said
    conn = None
    if not dry_run and {"no-servers", "compute-up"} & set(checks):
        cloud = cloud_config(payload)
        if not cloud:
            sys.exit("variables.cloud or the secret \"cloud\" "
                     "(openstack.connect() arguments) is required for the "
                     "nova checks")
        import openstack
        conn = openstack.connect(load_yaml_config=False, load_envvars=False,
                                 **cloud)
    for h in payload["inventory"]:
        if dry_run:
            print(f"would check {h['name']} ({h.get('ip_address')}): "
                  f"{', '.join(checks)}")
            continue
        problems = []
        for name in checks:
            try:
                why = check(conn, name, h, v)
            except Exception as e:  # a check that cannot run fails the host
                why = f"{name} could not run: {type(e).__name__}: {e}"
            print(f"{h['name']}: {name}: " + ("ok" if why is None
                                              else f"FAILED: {why}"))
            if why:
                problems.append(why)
        if problems:
            result["failed"][h["name"]] = problems
        else:
            result["passed"].append(h["name"])
    if result["failed"]:
        print(f"checks failed on {', '.join(sorted(result['failed']))}",
              file=sys.stderr)
        finish(result, 1)
    finish(result)


if __name__ == "__main__":
    main()
