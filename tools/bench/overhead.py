# SPDX-License-Identifier: Apache-2.0
"""Benchmark: what Craton adds on top of the Docker engine.

In one go, on the same engine and with the same container (the busybox
base image running ``sh -c 'echo step'``), it measures:

* raw: ten container round trips straight through the docker SDK
  (create, start, wait, read logs, remove), one after another;
* craton: one job of a ten-step workflow of that container through a real
  ``craton-all`` (SQLite, in-process RPC, docker driver), from the API
  call that submits it to the job's recorded finish.

Each is repeated ``--runs`` times; medians are printed, with the engine
overhead per step and per job (craton minus raw). It prints figures and
asserts nothing about time.

With ``--driver swarm`` the same is measured on the Swarm cluster of
tools/swarm-cluster.sh (CRATON_SWARM_* variables, or CRATON_SWARM=1): raw
is then a one-replica service round trip through the manager (create,
wait for its task to complete, read its logs, remove), and craton-all
runs with the swarm execution driver. ``--network`` sets [sandbox]
network_mode (default none, as in the functional tests; on Swarm that
gives each step an internal overlay network of its own).

    python tools/bench/overhead.py [--runs 5] [--steps 10]
        [--driver docker|swarm] [--network none|bridge]
"""

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time

import docker

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                '..', '..')))

from craton.tests.functional import deployment  # noqa: E402
from craton.tests.functional import swarmenv  # noqa: E402

IMAGE = 'craton/busybox:latest'
COMMAND = ['sh', '-c', 'echo step']


def raw_round_trips(client, steps):
    """Seconds for ``steps`` sequential container round trips."""
    start = time.perf_counter()
    for _ in range(steps):
        container = client.containers.create(IMAGE, COMMAND,
                                             labels={'craton.bench': 'raw'})
        container.start()
        container.wait()
        container.logs()
        container.remove(force=True)
    return time.perf_counter() - start


def raw_service_round_trips(client, image, steps):
    """Seconds for ``steps`` sequential one-shot service round trips."""
    start = time.perf_counter()
    for _ in range(steps):
        service = client.services.create(
            image, COMMAND, labels={'craton.bench': 'raw'},
            restart_policy=docker.types.RestartPolicy('none'))
        while True:
            tasks = service.tasks()
            if tasks and tasks[0]['Status']['State'] in (
                    'complete', 'failed', 'rejected'):
                break
            time.sleep(0.02)
        b''.join(service.logs(stdout=True, stderr=True))
        service.remove()
    return time.perf_counter() - start


def parse(ts):
    return datetime.datetime.fromisoformat(ts.replace('Z', '+00:00'))


def craton_job(api, steps):
    """(client-side seconds, server-side seconds, [step seconds]) for one
    job of the ten-step workflow.
    """
    start = time.perf_counter()
    job = api.submit_job({'hosts': ['bench-host']}, workflow='bench')
    while True:
        job = api.job(job['uuid'])
        if job['status'] in ('succeeded', 'failed', 'error', 'cancelled'):
            break
        time.sleep(0.02)
    client_seconds = time.perf_counter() - start
    if job['status'] != 'succeeded':
        raise SystemExit('bench job %s ended %s: %s' % (
            job['uuid'], job['status'], job['status_reason']))
    server = (parse(job['finished_at']) -
              parse(job['created_at'])).total_seconds()
    per_step = [(parse(s['finished_at']) - parse(s['started_at']))
                .total_seconds() for s in job['steps']]
    return client_seconds, server, per_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--driver', choices=('docker', 'swarm'),
                        default='docker')
    parser.add_argument('--network', default='none')
    args = parser.parse_args()
    extra = {'DEFAULT': {'debug': 'false'},
             'sandbox': {'network_mode': args.network}}
    if args.driver == 'swarm':
        if swarmenv.env() is None:
            raise SystemExit(swarmenv.SKIP_REASON)
        url = swarmenv.manager_url()
        extra = swarmenv.deployment_extra(extra)
        image = swarmenv.registry() + '/' + IMAGE

        def raw(client, steps):
            return raw_service_round_trips(client, image, steps)
    else:
        url = os.environ.get('CRATON_TEST_DOCKER_URL', deployment.DOCKER_URL)
        raw = raw_round_trips
    client = docker.DockerClient(base_url=url)
    client.ping()

    root = tempfile.mkdtemp(prefix='craton-bench-')
    os.chmod(root, 0o755)
    path = deployment.task_dir(root, 'bench-step',
                               dockerfile='FROM %s\n' % IMAGE)
    deploy = deployment.Deployment(source_roots=[root], extra=extra)
    deploy.setUp()
    try:
        api = deploy.client
        api.ready_task('bench-step', path, COMMAND)
        api.post('/v1/regions', {'name': 'bench'}, expect=201)
        api.post('/v1/hosts', {'name': 'bench-host', 'region': 'bench',
                               'ip_address': '127.0.0.1'}, expect=201)
        api.create_workflow('bench', [
            {'name': 'step-%02d' % i, 'task': 'bench-step'}
            for i in range(args.steps)])
        # One warm-up of each so caches and connections are set up.
        raw(client, 1)
        craton_job(api, args.steps)
        raws, client_side, server_side, steps = [], [], [], []
        for _ in range(args.runs):
            raws.append(raw(client, args.steps))
            c, s, per_step = craton_job(api, args.steps)
            client_side.append(c)
            server_side.append(s)
            steps.extend(per_step)
    finally:
        deploy.cleanUp()

    med = statistics.median
    n = args.steps
    print('%s driver, network_mode %s, engine %s, %d runs of %d steps '
          '(medians)' % (args.driver, args.network, url, args.runs, n))
    print('raw (SDK):      %.3f s for %d round trips = %.3f s a step'
          % (med(raws), n, med(raws) / n))
    print('craton job:     %.3f s submit-to-finished (client), %.3f s '
          'created-to-finished (server)' % (med(client_side),
                                            med(server_side)))
    print('craton step:    %.3f s median started-to-finished'
          % med(steps))
    overhead = med(client_side) - med(raws)
    print('overhead:       %.3f s a job, %.3f s a step' % (overhead,
                                                          overhead / n))
    print('raw runs (s):    %s' % ' '.join('%.3f' % x for x in raws))
    print('craton runs (s): %s' % ' '.join('%.3f' % x for x in client_side))


if __name__ == '__main__':
    main()
