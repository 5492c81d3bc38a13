# SPDX-License-Identifier: Apache-2.0
"""Silence each inventory host's alerts for a while (Alertmanager API v2).

Variables: monitoring = {"url": the Alertmanager base URL (needed to act),
"duration_minutes": 120, "matcher_label": "instance", "matcher_value":
"{name}" (or e.g. "{ip_address}:9100"), "headers": {...} (sent, never
printed; credentials go here, not in the URL), "timeout_s": 10};
reason (default "maintenance"); dry_run (default true: only JSON false
sends anything). A silence ends by itself: nothing has to lift it.
"""
import datetime
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
    mon, reason = v.get("monitoring") or {}, v.get("reason", "maintenance")
    url = mon.get("url", "").rstrip("/") + "/api/v2/silences"
    parts = urllib.parse.urlsplit(url)
    if parts.username:
        sys.exit("variables.monitoring.url must not hold credentials: put "
                 "them in variables.monitoring.headers")
    if not parts.hostname and not dry_run:
        sys.exit("variables.monitoring.url (the Alertmanager base URL) is "
                 "required when dry_run is false")
    shown = url if parts.hostname else "<variables.monitoring.url not set>"
    label = mon.get("matcher_label", "instance")
    now = datetime.datetime.now(datetime.timezone.utc)
    ends = now + datetime.timedelta(minutes=mon.get("duration_minutes", 120))
    ends = ends.isoformat(timespec="seconds")
    key = "would_silence" if dry_run else "silenced"
    result = {key: {}, "ends_at": ends}
    for h in payload["inventory"]:
        value = mon.get("matcher_value", "{name}").format(
            name=h["name"], ip_address=h.get("ip_address"))
        if dry_run:
            print(f"would silence alerts with {label}={value} for "
                  f"{h['name']} until {ends} (reason: {reason}) via POST "
                  f"{shown}")
            result[key][h["name"]] = f"{label}={value}"
            continue
        job = payload.get("job", {}).get("uuid")
        body = {"matchers": [{"name": label, "value": value,
                              "isRegex": False, "isEqual": True}],
                "startsAt": now.isoformat(timespec="seconds"),
                "endsAt": ends, "createdBy": f"craton job {job}",
                "comment": reason}
        req = urllib.request.Request(
            url, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     **mon.get("headers", {})})
        try:
            with urllib.request.urlopen(req, timeout=mon.get("timeout_s", 10)
                                        ) as resp:
                silence = json.load(resp).get("silenceID")
        except Exception as e:  # HTTP errors, refused connections, bad JSON
            said = e.read().decode(errors="replace")[:300] \
                if hasattr(e, "read") else ""
            print(f"{h['name']}: POST {shown} failed: {e} {said}".rstrip(),
                  file=sys.stderr)
            finish({**result, "error": f"{h['name']}: {e}"}, 1)
        print(f"silenced {label}={value} for {h['name']} until {ends} "
              f"(silence {silence})")
        result[key][h["name"]] = silence
    finish(result)


if __name__ == "__main__":
    main()
