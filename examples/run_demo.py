#!/usr/bin/env python3
"""Craton's demo: register the example tasks, build an inventory, run jobs.

Talks only to Craton's REST API (no database, no Docker), as any client
would, with the noauth identity headers of project "demo":

  1. registers every task the example workflows use, from
     examples/tasks/<name> (source type "local": the server's
     [builder] local_source_roots must include examples/tasks), waits until
     each is built and approves it. A task that exists is rebuilt and, if
     its image changed, approved again.
  2. creates region demo-region, cell demo-cell and hosts compute-01..03
     (127.0.0.11-13, label "compute"), or brings them back to that state;
  3. creates (or replaces) the workflows host-maintenance and audit from
     examples/workflows/*.json;
  4. runs host-maintenance (a dry run: its dry_run variable is true) and
     then audit on the hosts labelled "compute", and prints each job's
     steps and their logs.

Exits 0 only when both jobs succeeded; otherwise non-zero with the reason.

  examples/run_demo.py [BASE_URL]        (default http://127.0.0.1:7780)
"""

import argparse
import ast
import datetime
import json
import os
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
TASKS_DIR = os.path.join(HERE, "tasks")
WORKFLOWS = [
    os.path.join(HERE, "workflows", f)
    for f in ("host-maintenance.json", "audit.json")
]
COMMAND = ["python3", "/craton/task.py"]
BUILDING = ("pending", "building", "syncing")
JOB_FINAL = ("succeeded", "failed", "error", "cancelled")
MARKER = "::craton-result::"
REGION = {
    "name": "demo-region",
    "description": "Craton demo region",
    "variables": {
        "mgmt_port": 22,
        "maintenance_window": "Sat 02:00-06:00 UTC",
    },
}
CELL = {
    "name": "demo-cell",
    "region": "demo-region",
    "description": "Craton demo cell",
    "variables": {},
}
HOSTS = [
    {
        "name": f"compute-0{i}",
        "ip_address": f"127.0.0.1{i}",
        "region": "demo-region",
        "cell": "demo-cell",
        "labels": ["compute"],
        "variables": {"rack": f"r{i}"},
    }
    for i in (1, 2, 3)
]


class DemoError(Exception):
    """Why the demo stops; printed as its last line."""


class Api:
    """A thin client of Craton's REST API; failures raise DemoError."""

    def __init__(self, base_url, project):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update(
            {
                "X-Project-Id": project,
                "X-User-Id": f"{project}-admin",
                "X-Roles": "admin,member,reader",
                "Accept": "application/json",
            }
        )

    def call(self, method, path, expect=(200,), **kw):
        try:
            resp = self.http.request(
                method, self.base + path, timeout=30, **kw
            )
        except requests.RequestException as e:
            raise DemoError(
                f"{method} {path}: cannot reach Craton at {self.base}: {e}"
            ) from None
        if resp.status_code not in expect:
            raise DemoError(
                f"{method} {path} answered {resp.status_code}: "
                f"{error_detail(resp)}"
            )
        return resp

    def get(self, path):
        """The resource as a dict, or None if it does not exist."""
        resp = self.call("GET", path, expect=(200, 404))
        return resp.json() if resp.status_code == 200 else None

    def post(self, path, body=None, expect=(200, 201, 202)):
        return self.call("POST", path, expect, json=body).json()

    def put(self, path, body):
        return self.call("PUT", path, (200,), json=body).json()

    def patch(self, path, ops):
        return self.call("PATCH", path, (200,), json=ops).json()


def error_detail(resp):
    """The detail of an API-WG error body, else the start of the body."""
    try:
        return "; ".join(
            e.get("detail") or e.get("title", "")
            for e in resp.json()["errors"]
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return resp.text[:300] or resp.reason


def say(msg):
    print(msg, flush=True)


def wait_for_api(api, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (
                api.http.get(api.base + "/healthcheck", timeout=5).status_code
                == 200
            ):
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise DemoError(
                f"Craton does not answer at {api.base}/healthcheck after "
                f"{timeout}s (is craton-all running?)"
            )
        time.sleep(1)


def changes(current, desired):
    """The JSON Patch that gives `current` the values of `desired`.

    A dict value counts as the same when the keys we give match (the
    server may add keys of its own, e.g. a source's defaults).
    """
    ops = []
    for key, value in desired.items():
        have = current.get(key)
        if isinstance(value, dict) and isinstance(have, dict):
            have = {k: have.get(k) for k in value}
        if have != value:
            ops.append({"op": "replace", "path": "/" + key, "value": value})
    return ops


# ------------------------------------------------------------------ tasks
def task_names():
    names = []
    for path in WORKFLOWS:
        with open(path, encoding="utf-8") as f:
            for step in json.load(f)["steps"]:
                if step["task"] not in names:
                    names.append(step["task"])
    return names


def register_task(api, name):
    """Create the task, or rebuild it if it exists; return (task, when)."""
    path = os.path.join(TASKS_DIR, name)
    with open(os.path.join(path, "task.py"), encoding="utf-8") as f:
        description = (
            ast.get_docstring(ast.parse(f.read())) or name
        ).splitlines()[0]
    desired = {
        "description": description,
        "source": {"type": "local", "path": path},
        "command": COMMAND,
        "timeout": 3600,
    }
    task = api.get(f"/v1/tasks/{name}")
    if task is None:
        say(f"task {name}: registering from {path}")
        return api.post(
            "/v1/tasks", {"name": name, **desired}, expect=(202,)
        ), None
    ops = changes(task, desired)
    if ops:
        fields = ", ".join(op["path"][1:] for op in ops)
        say(f"task {name}: updating {fields}")
        task = api.patch(f"/v1/tasks/{task['uuid']}", ops)
    if any(op["path"] == "/source" for op in ops):
        return task, None  # a new source starts a build by itself
    say(
        f"task {name}: exists ({task['status']}, {task['approval']}): "
        "rebuilding"
    )
    before = task.get("updated_at")
    return api.post(f"/v1/tasks/{task['uuid']}/rebuild", expect=(202,)), before


def wait_built(api, started, timeout):
    """Wait until every task is ready; fail on the first build error.

    started: name -> (task as registered, its updated_at before a rebuild
    or None). Returns name -> the ready task.
    """
    t0 = time.monotonic()
    last = {name: task["status"] for name, (task, _) in started.items()}
    busy = {name: status in BUILDING for name, status in last.items()}
    ready = {}
    while len(ready) < len(started):
        for name, (task, before) in started.items():
            if name in ready:
                continue
            task = api.get(f"/v1/tasks/{task['uuid']}")
            if task is None:
                raise DemoError(
                    f"task {name} vanished while it was being built"
                )
            status = task["status"]
            if status != last[name]:
                say(f"  [{time.monotonic() - t0:5.1f}s] task {name}: {status}")
                last[name] = status
            busy[name] = busy[name] or status in BUILDING
            if status == "error":
                raise DemoError(
                    f"task {name} failed to build: {task.get('status_reason')}"
                )
            if status == "deleting":
                raise DemoError(
                    f"task {name} is being deleted by someone else"
                )
            # After a rebuild, "ready" counts once a build was seen or
            # recorded, not the "ready" of the build before.
            if status == "ready" and (
                before is None
                or busy[name]
                or task.get("updated_at") != before
            ):
                ready[name] = task
        if len(ready) < len(started):
            if time.monotonic() - t0 > timeout:
                late = sorted(set(started) - set(ready))
                raise DemoError(
                    f"tasks still building after {timeout}s: {', '.join(late)}"
                )
            time.sleep(1)
    return ready


def setup_tasks(api, timeout):
    names = task_names()
    say(f"== tasks: {', '.join(names)}")
    started = {name: register_task(api, name) for name in names}
    tasks = wait_built(api, started, timeout)
    for name in names:
        task = tasks[name]
        if task["approval"] != "approved":
            task = api.post(f"/v1/tasks/{task['uuid']}/approve", expect=(200,))
            say(f"task {name}: approved (image {task.get('image_digest')})")
        else:
            say(
                f"task {name}: still approved (image "
                f"{task.get('image_digest')} unchanged)"
            )


# -------------------------------------------------------------- inventory
def ensure(api, collection, body):
    """Create the resource, or bring an existing one to `body`."""
    current = api.get(f"/v1/{collection}/{body['name']}")
    if current is None:
        api.post(f"/v1/{collection}", body, expect=(201,))
        say(f"{collection[:-1]} {body['name']}: created")
        return
    ops = changes(current, {k: v for k, v in body.items() if k != "name"})
    if ops:
        api.patch(f"/v1/{collection}/{current['uuid']}", ops)
        fields = ", ".join(op["path"][1:] for op in ops)
        say(f"{collection[:-1]} {body['name']}: exists, updated {fields}")
    else:
        say(f"{collection[:-1]} {body['name']}: exists, unchanged")


def setup_inventory(api):
    say("== inventory")
    ensure(api, "regions", REGION)
    ensure(api, "cells", CELL)
    for host in HOSTS:
        ensure(api, "hosts", host)


def setup_workflows(api):
    say("== workflows")
    for path in WORKFLOWS:
        with open(path, encoding="utf-8") as f:
            body = json.load(f)
        current = api.get(f"/v1/workflows/{body['name']}")
        if current is None:
            api.post("/v1/workflows", body, expect=(201,))
            say(f"workflow {body['name']}: created")
        else:
            api.put(f"/v1/workflows/{current['uuid']}", body)
            say(f"workflow {body['name']}: replaced")


# ------------------------------------------------------------------- jobs
def parse_time(value):
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def run_job(api, workflow, inventory, timeout):
    """Submit a job, follow it until it is final, return it."""
    job = api.post(
        "/v1/jobs",
        {"workflow": workflow, "inventory": inventory},
        expect=(202,),
    )
    say(
        f"== job {job['uuid']}: workflow {workflow} on "
        f"{job.get('host_count')} host(s)"
    )
    t0 = time.monotonic()
    seen = {s["index"]: ("pending", None) for s in job.get("steps", [])}
    while True:
        for step in job.get("steps", []):
            state = (step["status"], step.get("node"))
            if seen.get(step["index"]) != state:
                seen[step["index"]] = state
                where = f" on {step['node']}" if step.get("node") else ""
                say(
                    f"  [{time.monotonic() - t0:5.1f}s] step {step['index']} "
                    f"{step['name']}: {step['status']}{where}"
                )
        if job["status"] in JOB_FINAL:
            return job
        if time.monotonic() - t0 > timeout:
            api.call(
                "POST", f"/v1/jobs/{job['uuid']}/cancel", expect=(202, 409)
            )
            raise DemoError(
                f"job {job['uuid']} ({workflow}) still {job['status']} "
                f"after {timeout}s: cancelled"
            )
        time.sleep(1)
        job = api.call("GET", f"/v1/jobs/{job['uuid']}").json()


def step_logs(api, job, index, wait=10):
    """All of a step's stored output (pages of up to 1 MiB)."""
    chunks, offset, deadline = [], 0, time.monotonic() + wait
    while True:
        resp = api.call(
            "GET",
            f"/v1/jobs/{job['uuid']}/steps/{index}/logs",
            params={"offset": offset},
        )
        chunks.append(resp.content)
        offset = int(
            resp.headers.get("X-Craton-Log-Offset", offset + len(resp.content))
        )
        if (
            resp.headers.get("X-Craton-Log-Complete") == "true"
            and not resp.content
        ):
            break
        if not resp.content:
            # The job is final; its last bytes may still be on their way.
            if time.monotonic() > deadline:
                chunks.append(b"[log not complete yet]\n")
                break
            time.sleep(0.5)
    return b"".join(chunks).decode("utf-8", errors="replace")


def step_result(step, logs):
    """The step's result: the API's field, else its result line."""
    if isinstance(step.get("result"), dict):
        return step["result"]
    for line in reversed(logs.splitlines()):
        if line.startswith(MARKER):
            try:
                return json.loads(line[len(MARKER) :].strip())
            except ValueError:
                return None
    return None


def report(api, job):
    """Print the steps as a table, then their logs; return their results."""
    rows = [("#", "step", "status", "exit", "node", "duration")]
    for s in job["steps"]:
        start, end = (
            parse_time(s.get("started_at")),
            parse_time(s.get("finished_at")),
        )
        took = (
            f"{(end - start).total_seconds():.1f}s" if start and end else "-"
        )
        rows.append(
            (
                str(s["index"]),
                s["name"],
                s["status"],
                "-" if s.get("exit_code") is None else str(s["exit_code"]),
                s.get("node") or "-",
                took,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        say(
            "  "
            + "  ".join(
                cell.ljust(w) for cell, w in zip(r, widths, strict=True)
            ).rstrip()
        )
    results = {}
    for s in job["steps"]:
        logs = step_logs(api, job, s["index"])
        say(
            f"--- step {s['index']} {s['name']} ({s['status']})"
            + (f": {s['status_reason']}" if s.get("status_reason") else "")
        )
        for line in logs.splitlines() or ["(no output)"]:
            say("    " + line)
        results[s["name"]] = step_result(s, logs)
    return results


def failure_reason(job):
    """The job's status_reason, else what its unsuccessful steps say."""
    if job.get("status_reason"):
        return job["status_reason"]
    why = []
    for s in job["steps"]:
        if s["status"] not in ("succeeded", "skipped"):
            reason = (
                s.get("status_reason") or f"exit code {s.get('exit_code')}"
            )
            why.append(f"step {s['name']} {s['status']} ({reason})")
    return "; ".join(why) or "no reason given"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "base_url",
        nargs="?",
        default="http://127.0.0.1:7780",
        help="Craton API base URL",
    )
    p.add_argument(
        "--project", default="demo", help="noauth project id (default demo)"
    )
    p.add_argument(
        "--build-timeout",
        type=int,
        default=900,
        help="seconds to wait for task builds",
    )
    p.add_argument(
        "--job-timeout",
        type=int,
        default=900,
        help="seconds to wait for each job",
    )
    args = p.parse_args()
    t0 = time.monotonic()
    api = Api(args.base_url, args.project)
    problems = []
    try:
        wait_for_api(api, 60)
        setup_tasks(api, args.build_timeout)
        setup_inventory(api)
        setup_workflows(api)
        target = {"labels": ["compute"]}
        for workflow in ("host-maintenance", "audit"):
            job = run_job(api, workflow, target, args.job_timeout)
            say(
                f"== job {job['uuid']} ({workflow}): {job['status']}"
                + (
                    f": {job['status_reason']}"
                    if job.get("status_reason")
                    else ""
                )
            )
            results = report(api, job)
            if workflow == "audit" and isinstance(results.get("audit"), dict):
                a = results["audit"]
                say(
                    f"audit result: {a.get('reachable')} reachable, "
                    f"{a.get('unreachable')} unreachable"
                )
            if job["status"] != "succeeded":
                problems.append(
                    f"job {workflow} {job['status']}: {failure_reason(job)}"
                )
    except DemoError as e:
        problems.append(str(e))
    say(f"== total wall time {time.monotonic() - t0:.1f}s")
    if problems:
        for problem in problems:
            print(f"demo FAILED: {problem}", file=sys.stderr)
        return 1
    say("demo succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
