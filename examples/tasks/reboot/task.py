# SPDX-License-Identifier: Apache-2.0
"""Reboot each inventory host, one after the other, and wait until it answers.

The reboot is a power cycle through Ironic (the host is a bare metal node:
its `ironic_node` host variable, default its name), followed until Ironic
reports the node "power on" again; then the task waits until the host's
ip_address accepts TCP connections on mgmt_port again.
Variables: dry_run (default true: only JSON false acts); cloud
(openstack.connect() arguments); mgmt_port (default 22; a host variable
wins); power_timeout_s (default 600); boot_timeout_s (default 900).
"""
import json
import os
import socket
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


def power_cycle(conn, node, timeout):
    """Reboot an Ironic node and wait until the power action is over."""
    t0 = time.monotonic()
    conn.baremetal.set_node_power_state(node, "rebooting")
    # Ironic sets target_power_state before it answers and clears it when
    # the action is over. (The SDK's own wait may return at once: the node
    # still shows "power on" before the cycle begins.)
    while (n := conn.baremetal.get_node(node)).target_power_state:
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"ironic node {node} still going to "
                               f"{n.target_power_state} after {timeout}s")
        time.sleep(3)
    if n.power_state != "power on" or n.last_error:
        raise RuntimeError(f"ironic node {node} is {n.power_state!r}: "
                           f"{n.last_error or 'no error given'}")


def wait_answers(ip, port, timeout):
    """Poll ip:port until a TCP connection succeeds."""
    t0 = time.monotonic()
    while True:
        try:
            socket.create_connection((ip, port), 5).close()
            return
        except OSError as e:
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"{ip}:{port} still does not answer "
                                   f"after {timeout}s ({e})") from None
            time.sleep(5)


def main():
    payload = load_payload()
    v = payload.get("variables", {})
    dry_run = v.get("dry_run", True) is not False
    power_timeout = int(v.get("power_timeout_s", 600))
    boot_timeout = int(v.get("boot_timeout_s", 900))
    key = "would_reboot" if dry_run else "rebooted"
    result, conn = {key: {}}, None
    if not dry_run:
        cloud = cloud_config(payload)
        if not cloud:
            sys.exit("variables.cloud or the secret \"cloud\" "
                     "(openstack.connect() arguments) is required when "
                     "dry_run is false")
        import openstack
        conn = openstack.connect(load_yaml_config=False, load_envvars=False,
                                 **cloud)
    for h in payload["inventory"]:
        hv, ip = h.get("variables", {}), h.get("ip_address")
        node = hv.get("ironic_node") or h["name"]
        port = int(hv.get("mgmt_port", v.get("mgmt_port", 22)))
        if dry_run:
            print(f"would reboot {h['name']} (ironic node {node}) and wait "
                  f"up to {boot_timeout}s for {ip}:{port} to answer")
            result[key][h["name"]] = node
            continue
        t0 = time.monotonic()
        try:
            if not ip:
                raise RuntimeError("the host has no ip_address to wait for")
            print(f"{h['name']}: power-cycling ironic node {node}")
            power_cycle(conn, node, power_timeout)
            print(f"{h['name']}: powered on again; waiting for {ip}:{port}")
            wait_answers(ip, port, boot_timeout)
        except Exception as e:  # SDK, keystoneauth, timeouts
            print(f"{h['name']}: reboot failed: {type(e).__name__}: {e}",
                  file=sys.stderr)
            finish({**result, "error": f"{h['name']}: {e}"}, 1)
        took = round(time.monotonic() - t0)
        print(f"{h['name']}: rebooted; answers on port {port} after {took}s")
        result[key][h["name"]] = took
    finish(result)


if __name__ == "__main__":
    main()
