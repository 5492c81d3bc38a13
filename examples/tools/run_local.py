#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run an example workflow without the Craton service, for task authors.

Each step gets the payload Craton would give it (variables merged workflow
-> step -> --var, the inventory, earlier steps' results) and runs either
with this machine's python3 or, with --docker, in its task image built from
examples/tasks/<task> and started with the sandbox's restrictions
(read-only root, tmpfs /tmp, uid 65534, no capabilities, no network).

  examples/tools/run_local.py examples/workflows/host-maintenance.json
  examples/tools/run_local.py --docker unix:///run/craton/docker.sock \\
      examples/workflows/audit.json --var ports='[22, 80]'

--payload-file passes "@<path>" instead of the JSON, as Craton does for
payloads over 64 KiB. --network host (docker only) lets a step reach
services on this machine's loopback, e.g. a test double of a cloud.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time

TASKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tasks")
DEMO_INVENTORY = [
    {
        "uuid": f"00000000-0000-4000-8000-00000000001{i}",
        "name": f"compute-0{i}",
        "ip_address": f"127.0.0.1{i}",
        "region": "demo-region",
        "cell": "demo-cell",
        "labels": ["compute"],
        "variables": {"mgmt_port": 22},
    }
    for i in (1, 2, 3)
]
MARKER = "::craton-result::"


def build_context(path):
    """The task directory as Craton sends it to the engine, as a gzipped
    tar: directories 0755, files 0755 when their owner may execute them
    else 0644 (a git checkout's modes), owned by root, whatever modes the
    checkout gave them; symlinks as they are.
    """

    def checkout_mode(info):
        if info.isdir():
            info.mode = 0o755
        elif info.isreg():
            info.mode = 0o755 if info.mode & 0o100 else 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    buf = io.BytesIO()
    # Gzipped: the docker CLI recognises a compressed context on stdin by
    # its magic bytes (a plain pax tar it would read as a Dockerfile).
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(path, arcname=".", filter=checkout_mode)
    return buf.getvalue()


def command(args, task, payload_arg, payload_path):
    """The argv that runs one task, locally or in its sandboxed image."""
    if not args.docker:
        return [
            sys.executable,
            os.path.join(TASKS, task, "task.py"),
            payload_arg,
        ]
    image = f"craton-example/{task}:local"
    subprocess.run(
        ["docker", "-H", args.docker, "build", "-q", "-t", image, "-"],
        input=build_context(os.path.join(TASKS, task)),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # Where Craton puts the payload file: under /run/craton, which no task
    # image uses (the task's own files are at /craton).
    inner = "/run/craton/payload.json"
    return [
        "docker",
        "-H",
        args.docker,
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--user",
        "65534:65534",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--network",
        args.network,
        "-e",
        f"CRATON_PAYLOAD_FILE={inner}",
        "-v",
        f"{payload_path}:{inner}:ro",
        image,
        "python3",
        "/craton/task.py",
        "@" + inner if payload_arg.startswith("@") else payload_arg,
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "workflow", help="a workflow JSON file (POST /v1/workflows body)"
    )
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="a job variable (JSON value; a bare word is a string)",
    )
    p.add_argument(
        "--inventory",
        help="a JSON file with the payload's inventory list "
        "(default: the demo's compute-01..03)",
    )
    p.add_argument(
        "--docker",
        metavar="URL",
        help="run each step in its image on this engine",
    )
    p.add_argument(
        "--network",
        default="none",
        help="docker network of the steps (default none)",
    )
    p.add_argument(
        "--payload-file",
        action="store_true",
        help='pass "@path" instead of the JSON',
    )
    args = p.parse_args()
    with open(args.workflow, encoding="utf-8") as f:
        wf = json.load(f)
    inventory = DEMO_INVENTORY
    if args.inventory:
        with open(args.inventory, encoding="utf-8") as f:
            inventory = json.load(f)
    job_vars = {}
    for item in args.var:
        key, _, raw = item.partition("=")
        try:
            job_vars[key] = json.loads(raw)
        except ValueError:
            job_vars[key] = raw
    results, job = (
        {},
        {"uuid": "local-run", "project_id": "local", "user_id": "local"},
    )
    for index, step in enumerate(wf["steps"]):
        name = step.get("name", step["task"])
        payload = {
            "job": job,
            "step": {"index": index, "name": name, "task": step["task"]},
            "inventory": inventory,
            "results": results,
            "variables": {
                **wf.get("variables", {}),
                **step.get("variables", {}),
                **job_vars,
            },
        }
        with tempfile.NamedTemporaryFile(
            "w", suffix=".json", delete=False
        ) as f:
            json.dump(payload, f, separators=(",", ":"))
        os.chmod(f.name, 0o644)
        arg = (
            "@" + f.name
            if args.payload_file
            else json.dumps(payload, separators=(",", ":"))
        )
        print(f"=== step {index} {name} (task {step['task']})", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(
            command(args, step["task"], arg, f.name),
            capture_output=True,
            text=True,
            env={**os.environ, "CRATON_PAYLOAD_FILE": f.name},
        )
        os.unlink(f.name)
        sys.stdout.write(proc.stdout)
        sys.stdout.write(
            "".join(f"[stderr] {line}\n" for line in proc.stderr.splitlines())
        )
        lines = [
            ln for ln in proc.stdout.splitlines() if ln.startswith(MARKER)
        ]
        if lines:
            try:
                results[name] = json.loads(lines[-1][len(MARKER) :].strip())
            except ValueError:
                print(f"--- step {name}: malformed result line ignored")
        print(
            f"--- step {name}: exit {proc.returncode} in "
            f"{time.monotonic() - t0:.2f}s",
            flush=True,
        )
        if proc.returncode != 0:
            sys.exit(
                f"step {name} failed (exit {proc.returncode}); "
                "remaining steps skipped"
            )
    print("all steps succeeded")


if __name__ == "__main__":
    main()
