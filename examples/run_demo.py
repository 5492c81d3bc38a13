#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Craton's demo: register the example tasks, build an inventory, run jobs.

Everything goes through the `openstack craton` commands, as an operator
would type them; each command is printed (`$ openstack craton ...`)
before it runs, and the progress the commands show goes to stderr as it
happens. The demo connects in noauth mode as project "demo":

  OS_AUTH_TYPE=none OS_CRATON_URL=BASE_URL OS_CRATON_PROJECT=demo
  OS_CRATON_USER=demo-admin OS_CRATON_ROLES=admin,member,reader

  1. registers every task the example workflows use, from
     examples/tasks/<name> (`task create --local-path`: the server's
     [builder] local_source_roots must include examples/tasks), waits until
     each is built (`--wait`) and approves it. A task that exists is
     brought up to date, rebuilt and, if its image changed, approved again.
  2. creates region demo-region, cell demo-cell and hosts compute-01..03
     (127.0.0.11-13, label "compute"), or brings them back to that state;
  3. creates (or replaces) the workflows host-maintenance and audit from
     examples/workflows/*.json (`workflow create/set --file`);
  4. runs host-maintenance (a dry run: its dry_run variable is true) and
     then audit on the hosts labelled "compute" (`job run --wait`), and
     prints each job's steps and their logs (`job logs`).

Exits 0 only when both jobs succeeded; otherwise non-zero with the reason.

  examples/run_demo.py [BASE_URL]        (default http://127.0.0.1:7780)
"""

import argparse
import ast
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TASKS_DIR = os.path.join(HERE, "tasks")
WORKFLOWS = [
    os.path.join(HERE, "workflows", f)
    for f in ("host-maintenance.json", "audit.json")
]
COMMAND = ["python3", "/craton/task.py"]
MARKER = "::craton-result::"
LOG_HEADER = re.compile(r"^==> step (\d+) (\S+) \((\w+)\) <==$")
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


class TooLate(DemoError):
    """A command was still running when its time was up."""


def say(msg):
    print(msg, flush=True)


class Cli:
    """Runs `openstack craton ...` with the demo's noauth connection.

    A command's stderr (its progress and its error line) goes straight to
    ours; its stdout is captured: `-f json` output is parsed, any other
    is printed.
    """

    def __init__(self, openstack, base_url, project):
        self.openstack = openstack
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("OS_")}
        self.env.update(
            {
                "OS_AUTH_TYPE": "none",
                "OS_CRATON_URL": base_url.rstrip("/"),
                "OS_CRATON_PROJECT": project,
                "OS_CRATON_USER": f"{project}-admin",
                "OS_CRATON_ROLES": "admin,member,reader",
            }
        )

    def exports(self):
        return " ".join(
            f"{k}={shlex.quote(v)}"
            for k, v in sorted(self.env.items())
            if k.startswith("OS_")
        )

    def run(self, *args, fmt="json", quiet=False, ok=(0,), timeout=None):
        """Run one command; returns (exit status, stdout text).

        fmt: the -f format to ask for (None: the command's default).
        quiet: print neither the command nor its output, and keep its
            stderr for the error message.
        ok: the exit statuses that are not a failure of the demo.
        timeout: seconds before the command is stopped (TooLate).
        """
        argv = ["craton", *args] + (["-f", fmt] if fmt else [])
        if not quiet:
            say("$ " + shlex.join(["openstack", *argv]))
        try:
            proc = subprocess.run(
                [self.openstack, *argv],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if quiet else None,
                timeout=timeout,
            )
        except OSError as e:
            raise DemoError(f"cannot run {self.openstack}: {e}") from None
        except subprocess.TimeoutExpired:
            raise TooLate(
                f"`openstack {shlex.join(argv)}` still running after "
                f"{timeout:.0f}s"
            ) from None
        out = proc.stdout.decode("utf-8", errors="replace")
        if fmt != "json" and not quiet and out:
            say(out.rstrip("\n"))
        if proc.returncode not in ok:
            why = ""
            if quiet and proc.stderr:
                why = ": " + proc.stderr.decode(errors="replace").strip()
            raise DemoError(
                f"`openstack {shlex.join(argv)}` exited "
                f"{proc.returncode}{why}"
            )
        return proc.returncode, out

    def json(self, *args, **kw):
        _, out = self.run(*args, **kw)
        try:
            return json.loads(out)
        except ValueError:
            raise DemoError(
                f"`openstack craton {shlex.join(args)}` printed no JSON: "
                f"{out[:300]!r}"
            ) from None

    def by_name(self, kind):
        """name -> resource, from `KIND list`."""
        return {r["name"]: r for r in self.json(kind, "list")}


def find_openstack():
    """The `openstack` of this Python's environment, else the PATH's."""
    here = os.path.join(os.path.dirname(sys.executable), "openstack")
    return here if os.access(here, os.X_OK) else shutil.which("openstack")


def wait_for_api(cli, timeout):
    deadline = time.monotonic() + timeout
    say("$ openstack craton region list -f value -c name   (until it answers)")
    while True:
        try:
            cli.run("region", "list", "-c", "name", fmt="value", quiet=True,
                    timeout=60)
            return
        except DemoError as e:
            if time.monotonic() > deadline:
                raise DemoError(
                    f"Craton does not answer after {timeout}s (is craton-all "
                    f"running?): {e}"
                )
        time.sleep(1)


def var_args(option, current, desired):
    """--var K=V for every key of `desired` whose value differs, and
    `option` K (e.g. --unset-var) for every key that should go.

    A string that would not read as JSON is passed as it is (that is how
    the CLI reads it back); anything else is passed as JSON.
    """
    args = []
    for key, value in desired.items():
        if key in current and current[key] == value:
            continue
        text = json.dumps(value)
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError:
                text = value
        args += ["--var", f"{key}={text}"]
    for key in current:
        if key not in desired:
            args += [option, key]
    return args


# ------------------------------------------------------------------ tasks
def task_names():
    names = []
    for path in WORKFLOWS:
        with open(path, encoding="utf-8") as f:
            for step in json.load(f)["steps"]:
                if step["task"] not in names:
                    names.append(step["task"])
    return names


def task_description(path):
    with open(os.path.join(path, "task.py"), encoding="utf-8") as f:
        doc = ast.get_docstring(ast.parse(f.read()))
    return (doc or os.path.basename(path)).splitlines()[0]


def same_source(task, path):
    source = task.get("source") or {}
    return source.get("type") == "local" and source.get("path") == path


def setup_tasks(cli, timeout):
    """Register, build and approve the tasks; all builds within
    `timeout` seconds."""
    deadline = time.monotonic() + timeout

    def left():
        return max(1, deadline - time.monotonic())

    names = task_names()
    say(f"== tasks: {', '.join(names)}")
    existing = cli.by_name("task")
    moved = [
        name
        for name in names
        if name in existing
        and not same_source(existing[name], os.path.join(TASKS_DIR, name))
    ]
    if moved:
        # A task's source cannot be changed from the CLI: make the tasks
        # again. Workflows using them go first (they are made again in
        # the next part).
        say(
            f"registered from another path: {', '.join(moved)}; "
            "deleting and registering again"
        )
        workflows = cli.by_name("workflow")
        gone = [
            os.path.basename(p)[: -len(".json")]
            for p in WORKFLOWS
            if os.path.basename(p)[: -len(".json")] in workflows
        ]
        if gone:
            cli.run("workflow", "delete", *gone, fmt=None)
        cli.run("task", "delete", *moved, fmt=None)
        for name in moved:
            del existing[name]
    for name in names:
        path = os.path.join(TASKS_DIR, name)
        description = task_description(path)
        task = existing.get(name)
        if task is None:
            task = cli.json(
                "task", "create", name,
                "--command", shlex.join(COMMAND),
                "--local-path", path,
                "--description", description,
                "--timeout", "3600",
                "--wait",
                timeout=left(),
            )
        else:
            changes = []
            if task.get("description") != description:
                changes += ["--description", description]
            if task.get("command") != COMMAND:
                changes += ["--command", shlex.join(COMMAND)]
            if task.get("timeout") != 3600:
                changes += ["--timeout", "3600"]
            if changes:
                cli.json("task", "set", name, *changes)
            task = cli.json("task", "rebuild", name, "--wait", timeout=left())
        if task["approval"] != "approved":
            task = cli.json("task", "approve", name)
            say(f"  task {name}: approved (image {task.get('image_digest')})")
        else:
            say(
                f"  task {name}: still approved (image "
                f"{task.get('image_digest')} unchanged)"
            )


# -------------------------------------------------------------- inventory
def ensure_group(cli, kind, want, create_args=()):
    """Create region or cell `want`, or bring it back to `want`."""
    name = want["name"]
    current = cli.by_name(kind).get(name)
    if current is None:
        made = cli.json(
            kind, "create", name, *create_args,
            "--description", want["description"],
            *var_args("--unset-var", {}, want["variables"]),
        )
        say(f"  {kind} {name}: created, variables {made['variables']}")
        return
    args = var_args("--unset-var", current["variables"], want["variables"])
    if current.get("description") != want["description"]:
        args += ["--description", want["description"]]
    if args:
        cli.json(kind, "set", name, *args)
        say(f"  {kind} {name}: exists, updated")
    else:
        say(f"  {kind} {name}: exists, unchanged")


def host_create_args(host):
    args = [
        "host", "create", host["name"],
        "--region", host["region"],
        "--cell", host["cell"],
        "--ip-address", host["ip_address"],
    ]
    for label in host["labels"]:
        args += ["--label", label]
    return args + var_args("--unset-var", {}, host["variables"])


def ensure_host(cli, current, host):
    if current is not None and current.get("region") != host["region"]:
        # A host cannot move to another region: make it again.
        cli.run("host", "delete", host["name"], fmt=None)
        current = None
    if current is None:
        cli.json(*host_create_args(host))
        say(f"  host {host['name']}: created")
        return
    args = var_args("--unset-var", current["variables"], host["variables"])
    if current.get("ip_address") != host["ip_address"]:
        args += ["--ip-address", host["ip_address"]]
    if current.get("cell") != host["cell"]:
        args += ["--cell", host["cell"]]
    for label in sorted(set(host["labels"]) - set(current["labels"])):
        args += ["--label", label]
    for label in sorted(set(current["labels"]) - set(host["labels"])):
        args += ["--unset-label", label]
    if args:
        cli.json("host", "set", host["name"], *args)
        say(f"  host {host['name']}: exists, updated")
    else:
        say(f"  host {host['name']}: exists, unchanged")


def setup_inventory(cli):
    say("== inventory")
    ensure_group(cli, "region", REGION)
    ensure_group(cli, "cell", CELL, ("--region", CELL["region"]))
    hosts = cli.by_name("host")
    for host in HOSTS:
        ensure_host(cli, hosts.get(host["name"]), host)
    cli.run(
        "host", "list", "--label", "compute",
        "-c", "name", "-c", "ip_address", "-c", "cell", "-c", "labels",
        fmt=None,
    )


def setup_workflows(cli):
    say("== workflows")
    existing = cli.by_name("workflow")
    for path in WORKFLOWS:
        with open(path, encoding="utf-8") as f:
            name = json.load(f)["name"]
        rel = os.path.relpath(path)
        verb = "set" if name in existing else "create"
        wf = cli.json("workflow", verb, name, "--file", rel)
        say(
            f"  workflow {name}: {len(wf['steps'])} step(s): "
            + ", ".join(s["name"] for s in wf["steps"])
        )


# ------------------------------------------------------------------- jobs
def parse_time(value):
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def run_job(cli, workflow, label, timeout):
    """`job run --wait`; returns the final job (succeeded or not)."""
    say(f"== job: workflow {workflow} on the hosts labelled {label}")
    t0 = time.time()
    try:
        # Exit 1 only says the job did not succeed: the job it prints
        # says why.
        _, out = cli.run(
            "job", "run", "--workflow", workflow, "--label", label,
            "--wait", ok=(0, 1), timeout=timeout,
        )
    except TooLate:
        cancel_late_job(cli, workflow, t0)
        raise DemoError(
            f"job of {workflow} still running after {timeout}s: cancelled"
        ) from None
    try:
        return json.loads(out)
    except ValueError:
        raise DemoError(f"job run printed no job: {out[:300]!r}") from None


def cancel_late_job(cli, workflow, since):
    """Cancel the jobs of `workflow` this demo started that still run."""
    for status in ("pending", "running"):
        for job in cli.json(
            "job", "list", "--workflow", workflow, "--status", status
        ):
            created = parse_time(job.get("created_at"))
            if created is None or created.timestamp() >= since - 5:
                cli.run("job", "cancel", job["uuid"], ok=(0, 1))


def step_table(job):
    """The job's steps as lines of a table."""
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
    return [
        "  "
        + "  ".join(
            cell.ljust(w) for cell, w in zip(r, widths, strict=True)
        ).rstrip()
        for r in rows
    ]


def log_results(logs):
    """step name -> its result, from `job logs` output (the last result
    line under each step's header)."""
    results, step = {}, None
    for line in logs.splitlines():
        head = LOG_HEADER.match(line)
        if head:
            step = head.group(2)
        elif step and line.startswith(MARKER):
            try:
                results[step] = json.loads(line[len(MARKER):].strip())
            except ValueError:
                results[step] = None
    return results


def report(cli, job):
    """Print the steps as a table, then their logs; return their results."""
    for line in step_table(job):
        say(line)
    # The command prints the logs itself (its output is shown as it is).
    _, logs = cli.run("job", "logs", job["uuid"], fmt=None)
    results = log_results(logs)
    for s in job["steps"]:
        if isinstance(s.get("result"), dict):
            results[s["name"]] = s["result"]
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
        "--openstack",
        default=find_openstack(),
        help="the openstack command (default: the one next to this Python, "
        "else the PATH's)",
    )
    p.add_argument(
        "--build-timeout",
        type=int,
        default=900,
        help="seconds to wait for the task builds (all together)",
    )
    p.add_argument(
        "--job-timeout",
        type=int,
        default=900,
        help="seconds to wait for each job",
    )
    args = p.parse_args()
    if not args.openstack:
        print(
            "demo FAILED: no openstack command: install Craton (it brings "
            "python-openstackclient) or give --openstack",
            file=sys.stderr,
        )
        return 1
    t0 = time.monotonic()
    cli = Cli(args.openstack, args.base_url, args.project)
    say(f"== connection (noauth): export {cli.exports()}")
    problems = []
    try:
        wait_for_api(cli, 60)
        setup_tasks(cli, args.build_timeout)
        setup_inventory(cli)
        setup_workflows(cli)
        for workflow in ("host-maintenance", "audit"):
            job = run_job(cli, workflow, "compute", args.job_timeout)
            say(
                f"== job {job['uuid']} ({workflow}): {job['status']}"
                + (
                    f": {job['status_reason']}"
                    if job.get("status_reason")
                    else ""
                )
            )
            results = report(cli, job)
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
