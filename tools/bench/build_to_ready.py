# SPDX-License-Identifier: Apache-2.0
"""Benchmark: how long a small task takes from POST /v1/tasks to ready.

Through a real craton-all, on the single engine (docker driver) or on the
3-node Swarm (registry push and sync to every node, swarm driver): the
task's source is a fresh busybox Dockerfile each run (a new RUN line, so
each run really builds a new image), timed from the API call until the
API shows the task ready. Prints the runs and their median; asserts
nothing about time.

    python tools/bench/build_to_ready.py [--runs 5] [--driver docker|swarm]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                '..', '..')))

from craton.tests.functional import deployment  # noqa: E402
from craton.tests.functional import swarmenv  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--driver', choices=('docker', 'swarm'),
                        default='docker')
    args = parser.parse_args()
    extra = {'DEFAULT': {'debug': 'false'}}
    if args.driver == 'swarm':
        if swarmenv.env() is None:
            raise SystemExit(swarmenv.SKIP_REASON)
        extra = swarmenv.deployment_extra(extra)
    root = tempfile.mkdtemp(prefix='craton-bench-')
    os.chmod(root, 0o755)
    deploy = deployment.Deployment(source_roots=[root], extra=extra)
    deploy.setUp()
    times, nodes = [], None
    try:
        api = deploy.client
        for run in range(args.runs):
            name = 'bench-build-%d-%d' % (os.getpid(), run)
            path = deployment.task_dir(root, name, dockerfile=(
                'FROM craton/busybox:latest\nRUN echo %s > /marker\n'
                % name))
            start = time.perf_counter()
            task = api.create_task(name, path, ['sh', '-c', 'exit 0'])
            task = api.wait_task(task['uuid'], timeout=300)
            times.append(time.perf_counter() - start)
            nodes = [n['hostname'] for n in task['nodes']
                     if n['status'] == 'synced']
    finally:
        deploy.cleanUp()
    print('driver %s: POST /v1/tasks -> ready, %d runs' % (args.driver,
                                                          args.runs))
    print('runs (s): %s' % ' '.join('%.2f' % t for t in times))
    print('median:   %.2f s' % statistics.median(times))
    if args.driver == 'swarm':
        print('synced on: %s' % ', '.join(nodes or ['none']))


if __name__ == '__main__':
    main()
