# SPDX-License-Identifier: Apache-2.0
"""Disable or enable the nova-compute service of every inventory host.

Variables: action ("disable" or "enable", required); reason (default
"maintenance"); dry_run (default true: only JSON false acts); cloud
(openstack.connect() arguments, needed to act); only_hosts_from (a step
name: when enabling, re-enable only the hosts that step disabled, so a host
an operator had disabled for another reason stays disabled). A service
found disabled with the same reason counts as disabled by this step (an
earlier run of the same maintenance).
Host variable nova_host: the host's name in nova (default: its name).
"""
import json
import os
import sys


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


def main():
    payload = load_payload()
    v = payload.get("variables", {})
    dry_run = v.get("dry_run", True) is not False
    action, reason = v.get("action"), v.get("reason", "maintenance")
    if action not in ("disable", "enable"):
        sys.exit(f"variables.action must be 'disable' or 'enable', "
                 f"not {action!r}")
    hosts, only = payload["inventory"], v.get("only_hosts_from")
    if action == "enable" and only:
        done = payload.get("results", {}).get(only) or {}
        allowed = set(done.get("disabled", []) + done.get("would_disable", []))
        for h in hosts:
            if h["name"] not in allowed:
                print(f"left alone: {h['name']} was not disabled by step "
                      f"'{only}'")
        hosts = [h for h in hosts if h["name"] in allowed]
    key = f"would_{action}" if dry_run else f"{action}d"
    result = {key: []} if dry_run else {key: [], "already": []}
    why = f" (reason: {reason})" if action == "disable" else ""
    if dry_run:
        for h in hosts:
            nova_host = h.get("variables", {}).get("nova_host") or h["name"]
            print(f"would {action} nova-compute on {nova_host}{why}")
            result[key].append(h["name"])
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
        for h in hosts:
            nova_host = h.get("variables", {}).get("nova_host") or h["name"]
            services = list(conn.compute.services(host=nova_host,
                                                  binary="nova-compute"))
            if not services:
                raise LookupError(f"nova has no nova-compute service on "
                                  f"host {nova_host!r} ({h['name']})")
            for svc in services:
                # Disabled with our reason: an earlier run of this work.
                ours = action == "disable" and svc.status == "disabled" \
                    and svc.disabled_reason == reason
                if ours:
                    print(f"nova-compute on {nova_host} is already disabled"
                          f"{why}: counted as disabled by this step")
                    result[key].append(h["name"])
                elif svc.status == action + "d":
                    was = f" (reason: {svc.disabled_reason})" \
                        if action == "disable" else ""
                    print(f"nova-compute on {nova_host} is already "
                          f"{svc.status}{was}: left as it is")
                    result["already"].append(h["name"])
                elif action == "disable":
                    conn.compute.disable_service(
                        svc, host=svc.host, binary=svc.binary,
                        disabled_reason=reason)
                    print(f"disabled nova-compute on {nova_host}{why}")
                    result[key].append(h["name"])
                else:
                    conn.compute.enable_service(svc, host=svc.host,
                                                binary=svc.binary)
                    print(f"enabled nova-compute on {nova_host}")
                    result[key].append(h["name"])
    except Exception as e:  # SDK, keystoneauth and connection errors alike
        print(f"{action} failed: {type(e).__name__}: {e}", file=sys.stderr)
        finish({**result, "error": str(e)}, 1)
    finish(result)


if __name__ == "__main__":
    main()
