# SPDX-License-Identifier: Apache-2.0
"""Apply updates to each inventory host, one host after the other.

A task's container cannot log into a hypervisor, so real patching asks the
site's patch service over HTTP: POST to patch_api.url (a template with
{name} and {ip_address}) the JSON {"host", "ip_address", "packages",
"security_only", "reason", "job"}; a 2xx answer is success and its JSON
body is the host's entry in this step's result (later steps see it).
Variables: packages ("all", or a list of package names; default "all");
security_only (default true); reason; patch_api = {"url": ..., "headers":
{...} (sent, never printed; credentials go here, not in the URL),
"timeout_s": 3600}; dry_run (default true: only JSON false sends
anything; a dry run prints the plan).
"""
import json
import os
import sys
import urllib.parse
import urllib.request


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


def main():
    payload = load_payload()
    v = payload.get("variables", {})
    dry_run = v.get("dry_run", True) is not False
    api, packages = v.get("patch_api") or {}, v.get("packages", "all")
    if isinstance(packages, str) and packages != "all":
        packages = [packages]
    security_only = v.get("security_only", True) is not False
    what = ("security " if security_only else "") + "updates of " + (
        "all packages" if packages == "all" else ", ".join(packages))
    if not dry_run and not api.get("url"):
        sys.exit("variables.patch_api.url (the patch service endpoint) is "
                 "required when dry_run is false")
    hosts = payload["inventory"]
    print(f"plan: {what} on {len(hosts)} host(s), one after the other: "
          f"{', '.join(h['name'] for h in hosts)}")
    key = "plan" if dry_run else "patched"
    result = {key: {}, "what": what}
    for h in hosts:
        url = api.get("url", "").format(name=h["name"],
                                        ip_address=h.get("ip_address"))
        if urllib.parse.urlsplit(url).username:
            sys.exit("variables.patch_api.url must not hold credentials: "
                     "put them in variables.patch_api.headers")
        shown = url or "<variables.patch_api.url not set>"
        if dry_run:
            print(f"would apply {what} on {h['name']} "
                  f"({h.get('ip_address')}) via POST {shown}")
            result[key][h["name"]] = {"packages": packages,
                                      "security_only": security_only}
            continue
        body = {"host": h["name"], "ip_address": h.get("ip_address"),
                "packages": packages, "security_only": security_only,
                "reason": v.get("reason", "maintenance"),
                "job": payload.get("job", {}).get("uuid")}
        req = urllib.request.Request(
            url, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     **api.get("headers", {})})
        print(f"{h['name']}: applying {what} via POST {shown}")
        try:
            with urllib.request.urlopen(req, timeout=api.get("timeout_s",
                                                             3600)) as resp:
                answer = json.loads(resp.read() or b"{}")
        except Exception as e:  # HTTP errors, refused connections, bad JSON
            said = e.read().decode(errors="replace")[:300] \
                if hasattr(e, "read") else ""
            print(f"{h['name']}: patching failed: {e} {said}".rstrip(),
                  file=sys.stderr)
            finish({**result, "error": f"{h['name']}: {e}"}, 1)
        print(f"{h['name']}: patched: {json.dumps(answer, sort_keys=True)}")
        result[key][h["name"]] = answer
    finish(result)


if __name__ == "__main__":
    main()
