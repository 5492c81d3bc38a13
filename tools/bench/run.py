# SPDX-License-Identifier: Apache-2.0
"""Benchmark: what a Craton step costs over the container it runs.

One run, one engine, one network mode for every side. For each driver
asked for, rounds of three, interleaved (see tools/bench/README.md):

1. bare: ``--steps`` container round trips through the docker SDK
   (create, start, wait, logs, remove); on Swarm one-replica services;
2. same-sandbox: the same steps with the very engine calls and arguments
   of Craton's driver (sandbox options, payload delivery), by hand;
3. craton: one ``--steps``-step job of the same image and command
   through a real craton-all, from POST /v1/jobs to the job's
   ``finished_at`` (server side) and to the first 5 ms poll that sees it
   finished (client side).

Then, on the docker deployment: the API at scale (GET /v1/jobs?limit=100
over 10,000 jobs and GET /v1/jobs/{id} of a 100-step job: p50/p99 and SQL
queries per request) and the conductor's RSS while 1,000 one-step jobs
drain; with ``--builds N``, N task builds from POST /v1/tasks to ready.
It prints figures and asserts nothing about time.

    python tools/bench/run.py [--driver docker|swarm|both]
        [--network bridge|none] [--runs 3] [--steps 10] [--quick]
        [--mysql] [--skip overhead,api,rss] [--builds N]
"""

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time

import docker
from oslo_config import cfg

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, TOP)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import builds  # noqa: E402
import engine_loops  # noqa: E402
import scale  # noqa: E402

from craton.conf import conductor as conductor_opts  # noqa: E402
from craton.conf import docker as docker_opts  # noqa: E402
from craton.conf import sandbox as sandbox_opts  # noqa: E402
from craton.conf import swarm as swarm_opts  # noqa: E402
from craton.tests.functional import deployment  # noqa: E402
from craton.tests.functional import swarmenv  # noqa: E402

BASE_IMAGE = 'craton/busybox:latest'
COMMAND = ['sh', '-c', 'echo step']
FINAL = ('succeeded', 'failed', 'error', 'cancelled')
# The client-timed job is polled this often (issue 10). The server-timed
# job is polled only every SERVER_POLL s: it is timed by its own
# finished_at, and a 5 ms poll costs craton-all (API and conductor in one
# process) CPU the steps then wait for on a 2-core machine.
CLIENT_POLL = 0.005
SERVER_POLL = 0.2


def service_defaults():
    """[conductor] as a real deployment has it: the functional tests'
    Deployment shortens the sweep and heartbeat, which would flatter
    anything that waits for a sweep.
    """
    conf = cfg.ConfigOpts()
    conductor_opts.register_opts(conf)
    conf([], project='craton', default_config_files=[])
    c = conf.conductor
    return {'sweep_interval': str(c.sweep_interval),
            'heartbeat_interval': str(c.heartbeat_interval),
            'heartbeat_timeout': str(c.heartbeat_timeout)}


def driver_conf(config_file):
    """The deployment's own [sandbox], [docker] and [swarm] options, read
    from its config file, for the same-sandbox loops.
    """
    conf = cfg.ConfigOpts()
    for mod in (sandbox_opts, docker_opts, swarm_opts, conductor_opts):
        mod.register_opts(conf)
    conf(['--config-file', config_file], project='craton',
         default_config_files=[])
    return conf


def run_image(task):
    """The image a step of ``task`` runs (as job_submission.run_image)."""
    if task.get('registry_digest') and task.get('image'):
        return '%s@%s' % (task['image'].rsplit(':', 1)[0],
                          task['registry_digest'])
    return task['image_digest']


def parse_time(text):
    stamp = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


class Bench:
    """One craton-all deployment with the benchmark's task, hosts and
    workflows (``bench``: ``steps`` steps; ``bench-one``: one step).
    """

    def __init__(self, driver, network, steps, db_url=None):
        self.driver = driver
        self.network = network
        self.steps = steps
        extra = {'DEFAULT': {'debug': 'false'},
                 'sandbox': {'network_mode': network},
                 'conductor': service_defaults()}
        if driver == 'swarm':
            extra = swarmenv.deployment_extra(extra)
            self.url = swarmenv.manager_url()
        else:
            self.url = deployment.DOCKER_URL
        self.root = tempfile.mkdtemp(prefix='craton-bench-')
        os.chmod(self.root, 0o755)
        self.deploy = deployment.Deployment(source_roots=[self.root],
                                            extra=extra, db_url=db_url)

    def __enter__(self):
        self.deploy.setUp()
        try:
            self.api = self.deploy.client
            path = deployment.task_dir(self.root, 'bench-step',
                                       dockerfile='FROM %s\n' % BASE_IMAGE)
            self.task = self.api.ready_task('bench-step', path, COMMAND)
            self.image = run_image(self.task)
            self.api.post('/v1/regions', {'name': 'bench'}, expect=201)
            self.api.post('/v1/hosts', {'name': 'bench-host',
                                        'region': 'bench',
                                        'ip_address': '127.0.0.1'},
                          expect=201)
            self.workflow = self.api.create_workflow('bench', [
                {'name': 'step-%02d' % i, 'task': 'bench-step'}
                for i in range(self.steps)])
            self.one = self.api.create_workflow(
                'bench-one', [{'name': 'only', 'task': 'bench-step'}])
            self.conf = driver_conf(self.deploy.config_file)
            self.engine = docker.APIClient(base_url=self.url,
                                           version='auto')
        except BaseException:
            self.deploy.cleanUp()
            raise
        return self

    def __exit__(self, *exc):
        self.deploy.cleanUp()

    @property
    def pid(self):
        return self.deploy.procs['craton-all-1'][1].pid

    def job(self, workflow='bench', poll=CLIENT_POLL):
        """(server seconds, client seconds) of one job: POST to its
        finished_at, and POST to the first poll (every ``poll`` s) that
        sees it final.
        """
        t0 = time.time()
        start = time.perf_counter()
        job = self.api.submit_job({'hosts': ['bench-host']},
                                  workflow=workflow)
        while job['status'] not in FINAL:
            time.sleep(poll)
            job = self.api.job(job['uuid'])
        client = time.perf_counter() - start
        if job['status'] != 'succeeded':
            raise SystemExit('bench job %s ended %s: %s' % (
                job['uuid'], job['status'], job['status_reason']))
        return parse_time(job['finished_at']) - t0, client

    def jobs(self):
        """(server seconds, client seconds) from two jobs run one after
        the other: the first polled every SERVER_POLL s and timed by its
        finished_at, the second timed by a poll every CLIENT_POLL s.
        """
        server = self.job(poll=SERVER_POLL)[0]
        return server, self.job(poll=CLIENT_POLL)[1]

    def bare(self):
        if self.driver == 'swarm':
            return engine_loops.bare_service(self.engine, self.image,
                                             COMMAND, self.steps)
        return engine_loops.bare_docker(self.engine, self.image, COMMAND,
                                        self.network, self.steps)

    def sandbox(self, overlap=False):
        if self.driver == 'swarm':
            return engine_loops.sandbox_service(self.engine, self.conf,
                                                self.image, COMMAND,
                                                self.steps, overlap)
        return engine_loops.sandbox_docker(self.engine, self.conf,
                                           self.image, COMMAND, self.steps,
                                           overlap)


def spread(values, fmt='%.3f', scale_by=1.0):
    """'median (min–max)' of ``values`` times ``scale_by``."""
    vals = [v * scale_by for v in values]
    return (fmt + ' (' + fmt + '–' + fmt + ')') % (
        statistics.median(vals), min(vals), max(vals))


def overhead_rounds(bench, runs):
    """Interleaved rounds of bare, same-sandbox (plain and with removals
    overlapped) and craton; prints them.
    """
    # One of each first, not counted: images, connections and caches.
    bench.bare()
    bench.sandbox()
    bench.sandbox(overlap=True)
    bench.jobs()
    rows = []
    sides = [('bare', bench.bare), ('sandbox', bench.sandbox),
             ('overlap', lambda: bench.sandbox(overlap=True)),
             ('job', bench.jobs)]
    for run in range(runs):
        # Each side goes first, second... in turn, so that none always
        # follows the same one (a job's cleanup, the engine's own
        # background work).
        got = {}
        turn = run % len(sides)
        for name, side in sides[turn:] + sides[:turn]:
            got[name] = side()
        got['server'], got['client'] = got.pop('job')
        rows.append(got)
        print('  round %d: bare %.3f s, same-sandbox %.3f s (removals '
              'overlapped %.3f s), craton %.3f s (server) %.3f s (client)'
              % (run + 1, got['bare'], got['sandbox'], got['overlap'],
                 got['server'], got['client']), flush=True)
    n = bench.steps
    ms = 1000.0 / n

    def over(func, fmt='%.0f', by=ms):
        # func(round) of each round: a dict of the sides' seconds.
        return spread([func(row) for row in rows], fmt, by)

    def each(name):
        return over(lambda r: r[name], '%.3f', 1 / n)

    print('%s driver, network_mode %s, engine %s, image %s' % (
        bench.driver, bench.network, bench.url, bench.image))
    print('%d runs of %d steps; median (min–max) over the runs' % (runs, n))
    print('  1 bare loop, a step:          %s s' % each('bare'))
    print('  2 same-sandbox loop, a step:  %s s' % each('sandbox'))
    print('  2b same, removals overlapped: %s s' % each('overlap'))
    print('  3 craton job, a step:         %s s (server)  %s s (client)' % (
        each('server'), each('client')))
    print('  same-sandbox over bare:       %s ms a step' % over(
        lambda r: r['sandbox'] - r['bare']))
    print('  CRATON OVERHEAD over 2:       %s ms a step (server)  %s ms '
          '(client)' % (over(lambda r: r['server'] - r['sandbox']),
                        over(lambda r: r['client'] - r['sandbox'])))
    print('  CRATON OVERHEAD over 2b:      %s ms a step (server)  %s ms '
          '(client)' % (over(lambda r: r['server'] - r['overlap']),
                        over(lambda r: r['client'] - r['overlap'])))
    print('  craton over 1:                %s ms a step (server)' % over(
        lambda r: r['server'] - r['bare']))
    print('  JOB / BARE LOOP:              %s× (server)  %s× (client)' % (
        over(lambda r: r['server'] / r['bare'], '%.2f', 1),
        over(lambda r: r['client'] / r['bare'], '%.2f', 1)))
    print('  same-sandbox / bare:          %s×  (2b / bare: %s×)' % (
        over(lambda r: r['sandbox'] / r['bare'], '%.2f', 1),
        over(lambda r: r['overlap'] / r['bare'], '%.2f', 1)), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--driver', choices=('docker', 'swarm', 'both'),
                        default='docker')
    parser.add_argument('--network', default='bridge',
                        help='[sandbox] network_mode of every side '
                             '(bridge or none)')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--quick', action='store_true',
                        help='fewer API requests and RSS jobs')
    parser.add_argument('--mysql', action='store_true',
                        help='also the API figures on MariaDB')
    parser.add_argument('--skip', default='',
                        help='comma-separated sections to leave out: '
                             'overhead, api, rss')
    parser.add_argument('--rss-jobs', type=int, default=None,
                        help='one-step jobs of the RSS run (default 1000, '
                             '100 with --quick)')
    parser.add_argument('--drain-timeout', type=float, default=3600,
                        help='seconds the RSS run waits for its jobs')
    parser.add_argument('--builds', type=int, default=0,
                        help='also time N task builds, POST /v1/tasks to '
                             'ready, on each driver')
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(',')))
    drivers = ['docker', 'swarm'] if args.driver == 'both' else [args.driver]
    if 'swarm' in drivers and swarmenv.env() is None:
        if args.driver == 'swarm':
            raise SystemExit(swarmenv.SKIP_REASON)
        print('swarm: skipped (%s)' % swarmenv.SKIP_REASON)
        drivers.remove('swarm')
    requests_n = 50 if args.quick else 200
    rss_jobs = args.rss_jobs or (100 if args.quick else 1000)
    print('craton bench: %s, load average %s' % (
        time.strftime('%Y-%m-%d %H:%M:%S'),
        ' '.join('%.2f' % x for x in os.getloadavg())), flush=True)

    for driver in drivers:
        with Bench(driver, args.network, args.steps) as bench:
            if 'overhead' not in skip:
                print('== per step, %s ==' % driver, flush=True)
                overhead_rounds(bench, args.runs)
            if args.builds:
                print('== builds, %s ==' % driver, flush=True)
                builds.build_runs(bench, args.builds)
            if driver != 'docker':
                continue
            if 'rss' not in skip:
                print('== conductor RSS, %d one-step jobs at once ==' %
                      rss_jobs, flush=True)
                scale.rss_run(bench, rss_jobs, args.drain_timeout)
            if 'api' not in skip:
                print('== API at scale, SQLite ==', flush=True)
                scale.api_run(bench, requests_n)
    if args.mysql and 'api' not in skip:
        with scale.mysql_database() as url:
            with Bench('docker', args.network, args.steps,
                       db_url=url) as bench:
                print('== API at scale, MariaDB ==', flush=True)
                scale.api_run(bench, requests_n)


if __name__ == '__main__':
    main()
