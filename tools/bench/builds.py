# SPDX-License-Identifier: Apache-2.0
"""How long a small task takes from POST /v1/tasks to ready (run.py
``--builds N``): on the single engine, or on the Swarm cluster with the
registry push and the sync to every node.
"""

import os
import statistics
import time

from craton.tests.functional import deployment


def build_runs(bench, runs):
    """Build ``runs`` fresh tasks one after another on ``bench``'s
    deployment and print the seconds from the API call to the API
    showing each ready, and their median. Each source is a new busybox
    Dockerfile (a new RUN line), so each run really builds an image.
    """
    times, nodes = [], None
    for run in range(runs):
        name = 'bench-build-%d-%d' % (os.getpid(), run)
        path = deployment.task_dir(bench.root, name, dockerfile=(
            'FROM craton/busybox:latest\nRUN echo %s > /marker\n' % name))
        start = time.perf_counter()
        task = bench.api.create_task(name, path, ['sh', '-c', 'exit 0'])
        task = bench.api.wait_task(task['uuid'], timeout=300)
        times.append(time.perf_counter() - start)
        nodes = [n['hostname'] for n in task['nodes']
                 if n['status'] == 'synced']
    print('  POST /v1/tasks -> ready, %d runs (s): %s; median %.2f s' % (
        runs, ' '.join('%.2f' % t for t in times),
        statistics.median(times)))
    if bench.driver == 'swarm':
        print('  synced on: %s' % ', '.join(nodes or ['none']))
