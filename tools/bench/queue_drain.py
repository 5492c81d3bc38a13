# SPDX-License-Identifier: Apache-2.0
"""Benchmark: how fast queued builds and jobs drain through the pools.

Through a real craton-all (docker driver, SQLite) whose sweep is far away
(``--sweep-interval``, 600 s by default), so what starts, a freed worker
started. Prints:

1. one build alone (POST /v1/tasks -> ready), median of ``--runs``;
2. ``--tasks`` tasks created at once with ``[builder] workers``
   ``--build-workers``: time until all are ready, and its ratio to
   (tasks / workers) x one build;
3. ``--jobs`` one-step jobs submitted at once with ``[conductor]
   job_workers`` ``--job-workers``: from the first POST to the last
   server-side ``finished_at``, against the same number of containers
   run through the docker SDK at the same concurrency, right after, on
   the same ``--network``: once as the driver runs a step (the
   same-sandbox step of ``engine_loops``: sandbox options, payload by
   ``put_archive``, attach — the like-for-like figure) and once bare;
4. the gap from a worker freeing to the next queued item starting, from
   the conductor's own DEBUG lines (``... started at T2, N ms after X
   freed its worker at T1``); only ``craton.conductor.pools`` logs at
   DEBUG, the service runs with ``debug = false`` otherwise.

Asserts nothing about time.

    python tools/bench/queue_drain.py [--tasks 8] [--jobs 50]
"""

import argparse
from concurrent import futures
import datetime
import os
import re
import statistics
import sys
import tempfile
import time

import docker

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                '..', '..')))

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_loops  # noqa: E402
import run as bench_run  # noqa: E402

from craton.tests.functional import deployment  # noqa: E402

BUSYBOX = 'craton/busybox:latest'
COMMAND = ['sh', '-c', 'exit 0']


def _task(api, root, name):
    path = deployment.task_dir(root, name, dockerfile=(
        'FROM %s\nRUN echo %s > /marker\n' % (BUSYBOX, name)))
    return api.create_task(name, path, ['sh', '-c', 'exit 0'])


def _parse(stamp):
    """An API timestamp as a naive UTC datetime."""
    moment = datetime.datetime.fromisoformat(stamp.replace('Z', '+00:00'))
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.replace(tzinfo=None)


def _gaps(log, kind):
    return [float(ms) for ms in re.findall(
        r'%s \S+ started at \S+, ([0-9.]+) ms after \S+ freed its worker'
        % kind, log)]


def _sdk_loop(count, workers, network, image, conf=None):
    """Seconds for ``count`` containers of ``image`` through the SDK,
    ``workers`` at a time: as the docker driver runs a step when given
    the deployment's ``conf``, else bare (create with only
    ``network_mode``, start, wait, logs, remove).
    """
    api = docker.APIClient(base_url=deployment.DOCKER_URL, version='auto')

    def one(index):
        if conf is not None:
            engine_loops.sandbox_docker_step(api, conf, engine_loops.step_spec(
                image, COMMAND, index))
        else:
            engine_loops.bare_docker(api, image, COMMAND, network, 1)
    started = time.perf_counter()
    with futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - started


def _summary(values):
    if not values:
        return 'none'
    return 'median %.1f ms, min %.1f, max %.1f (n=%d)' % (
        statistics.median(values), min(values), max(values), len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--tasks', type=int, default=8)
    parser.add_argument('--build-workers', type=int, default=2)
    parser.add_argument('--jobs', type=int, default=50)
    parser.add_argument('--job-workers', type=int, default=4)
    parser.add_argument('--network', default='bridge',
                        choices=('bridge', 'none'),
                        help='[sandbox] network_mode of the jobs and of '
                             'both SDK loops')
    parser.add_argument('--sweep-interval', type=int, default=600)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix='craton-bench-')
    os.chmod(root, 0o755)
    extra = {'DEFAULT': {'debug': 'false',
                         'default_log_levels':
                             'craton.conductor.pools=DEBUG'},
             'sandbox': {'network_mode': args.network},
             'conductor': {'sweep_interval': str(args.sweep_interval),
                           'job_workers': str(args.job_workers)},
             'builder': {'workers': str(args.build_workers)}}
    deploy = deployment.Deployment(source_roots=[root], extra=extra)
    deploy.setUp()
    tag = '%d-%d' % (os.getpid(), int(time.time()))
    try:
        api = deploy.client
        alone = []
        for run in range(args.runs):
            begin = time.perf_counter()
            task = _task(api, root, 'alone-%s-%d' % (tag, run))
            api.wait_task(task['uuid'], timeout=900)
            alone.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        tasks = [_task(api, root, 'burst-%s-%d' % (tag, i))
                 for i in range(args.tasks)]
        for task in tasks:
            api.wait_task(task['uuid'], timeout=900)
        burst = time.perf_counter() - begin

        runner = tasks[0]
        api.post('/v1/tasks/%s/approve' % runner['uuid'], expect=200)
        api.add_hosts(['bench-host'])
        network = args.network
        begin_wall = datetime.datetime.now(
            datetime.timezone.utc).replace(tzinfo=None)
        begin = time.perf_counter()
        jobs = [api.submit_job({'hosts': ['bench-host']},
                               task=runner['name'])
                for _ in range(args.jobs)]
        done = [api.wait_job(j['uuid'], timeout=900) for j in jobs]
        client_side = time.perf_counter() - begin
        bad = [j['uuid'] for j in done if j['status'] != 'succeeded']
        server_side = (max(_parse(j['finished_at']) for j in done) -
                       begin_wall).total_seconds()
        image = bench_run.run_image(api.get('/v1/tasks/%s' % runner['uuid']))
        conf = bench_run.driver_conf(deploy.config_file)
        sandbox = _sdk_loop(args.jobs, args.job_workers, network, image,
                            conf)
        bare = _sdk_loop(args.jobs, args.job_workers, network, image)
        log = deploy.log('craton-all-1')
    finally:
        deploy.cleanUp()
    one = statistics.median(alone)
    print('one build alone: runs %s s, median %.2f s' % (
        ' '.join('%.2f' % t for t in alone), one))
    print('%d tasks at once, [builder] workers=%d: all ready in %.2f s = '
          '%.2f x (%d/%d x one build)' % (
              args.tasks, args.build_workers, burst,
              burst / (one * args.tasks / args.build_workers),
              args.tasks, args.build_workers))
    print('%d one-step jobs at once, job_workers=%d, network %s: %.2f s '
          'to the last finished_at (%.2f s polled)%s' % (
              args.jobs, args.job_workers, network, server_side,
              client_side, '; NOT succeeded: %s' % bad if bad else ''))
    print('  the same %d containers through the SDK, %d at a time: '
          'same sandbox %.2f s (jobs / it: %.2f), bare %.2f s (jobs / it: '
          '%.2f)' % (args.jobs, args.job_workers, sandbox,
                     server_side / sandbox, bare, server_side / bare))
    print('worker freed -> next build started: %s' % _summary(
        _gaps(log, 'build')))
    print('worker freed -> next job started:   %s' % _summary(
        _gaps(log, 'job')))


if __name__ == '__main__':
    main()
