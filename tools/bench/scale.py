# SPDX-License-Identifier: Apache-2.0
"""The benchmark's scale figures: the API over many jobs, and the
conductor's memory while a queue of jobs drains (see README.md).
"""

import concurrent.futures
import contextlib
import re
import datetime
import statistics
import threading
import time
import uuid

import sqlalchemy as sa

from craton.db.sqlalchemy import models
from craton.tests.functional import api_client

FINAL = ('succeeded', 'failed', 'error', 'cancelled')
# Jobs the listing runs over, and the steps each has (the benchmark
# workflow's ten).
FILL_JOBS = 10000
FILL_STEPS = 10
BIG_JOB_STEPS = 100
# Submitting threads of the RSS run: "at once" as far as one client goes.
SUBMITTERS = 8
# The RSS after warm-up must stay within this share of the warm-up value.
FLAT = 0.10


def db_url(bench):
    return bench.deploy.db_url or 'sqlite:///%s/craton.sqlite' % (
        bench.deploy.dir)


def _engine(bench):
    return sa.create_engine(db_url(bench), poolclass=sa.pool.NullPool)


# -- filling the database --------------------------------------------------

def _job_rows(first_id, count, workflow_uuid, task_uuid, steps, base_time):
    jobs, job_steps = [], []
    for n in range(count):
        job_id = first_id + n
        created = base_time + datetime.timedelta(milliseconds=n)
        jobs.append({
            'id': job_id, 'uuid': str(uuid.uuid4()),
            'project_id': 'project-a', 'user_id': 'user-a',
            'workflow_uuid': workflow_uuid, 'status': 'succeeded',
            'variables': {}, 'secrets': [], 'inventory': [],
            'host_count': 1, 'created_at': created, 'updated_at': created,
            'started_at': created, 'finished_at': created})
        for i in range(steps):
            job_steps.append({
                'job_id': job_id, 'index': i, 'name': 'step-%02d' % i,
                'task_uuid': task_uuid, 'image': 'sha256:' + 'a' * 64,
                'image_digest': 'sha256:' + 'a' * 64,
                'command': ['sh', '-c', 'echo step'], 'variables': {},
                'secrets': [], 'timeout': 600, 'status': 'succeeded',
                'exit_code': 0, 'node': 'bench', 'container_id': 'x' * 64,
                'log_bytes': 5, 'log_truncated': False,
                'created_at': created, 'updated_at': created,
                'started_at': created, 'finished_at': created})
    return jobs, job_steps


def fill(bench, total=FILL_JOBS, steps=FILL_STEPS):
    """Insert finished jobs of the benchmark workflow (``steps`` steps
    each) straight into the deployment's database until project-a has
    ``total``, plus one job of BIG_JOB_STEPS steps; returns (seconds,
    uuid of the big job).
    """
    engine = _engine(bench)
    start = time.perf_counter()
    jobs_t, steps_t = models.Job.__table__, models.JobStep.__table__
    base_time = datetime.datetime(2020, 1, 1)
    try:
        with engine.begin() as conn:
            have = conn.execute(sa.select(sa.func.count()).select_from(
                jobs_t).where(jobs_t.c.project_id == 'project-a')).scalar()
            top = conn.execute(sa.select(sa.func.max(jobs_t.c.id))).scalar()
            next_id = (top or 0) + 1
            workflow, task = bench.workflow['uuid'], bench.task['uuid']
            missing = max(0, total - have - 1)
            for chunk in range(0, missing, 1000):
                jobs, job_steps = _job_rows(
                    next_id + chunk, min(1000, missing - chunk), workflow,
                    task, steps, base_time)
                conn.execute(sa.insert(jobs_t), jobs)
                conn.execute(sa.insert(steps_t), job_steps)
            jobs, job_steps = _job_rows(next_id + missing, 1, workflow, task,
                                        BIG_JOB_STEPS, base_time)
            conn.execute(sa.insert(jobs_t), jobs)
            conn.execute(sa.insert(steps_t), job_steps)
            count = conn.execute(sa.select(sa.func.count()).select_from(
                jobs_t).where(jobs_t.c.project_id == 'project-a')).scalar()
    finally:
        engine.dispose()
    return time.perf_counter() - start, jobs[0]['uuid'], count


# -- timing and counting requests ------------------------------------------

def percentiles(samples):
    """(p50, p99) of ``samples`` (inclusive method: p99 is within the
    samples even for few of them).
    """
    cuts = statistics.quantiles(samples, n=100, method='inclusive')
    return statistics.median(samples), cuts[98]


def time_requests(base_url, path, count):
    """(p50, p99) in ms of ``count`` GETs of ``path`` over HTTP, after
    five not counted, and the size of the last answer in bytes.
    """
    client = api_client.Client(base_url)
    size = 0
    for _ in range(5):
        client.get(path)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        resp = client.request('GET', path, expect=200)
        samples.append((time.perf_counter() - start) * 1000)
        size = len(resp.content)
    return percentiles(samples) + (size,)


class QueryCounter:
    """Counts the SQL statements every engine of this process sends."""

    def __init__(self):
        self.count = 0
        self.statements = []

    def __enter__(self):
        sa.event.listen(sa.engine.Engine, 'before_cursor_execute',
                        self._seen)
        return self

    def __exit__(self, *exc):
        sa.event.remove(sa.engine.Engine, 'before_cursor_execute',
                        self._seen)

    def _seen(self, conn, cursor, statement, params, context, many):
        self.count += 1
        # 'SELECT jobs', 'UPDATE job_steps', 'BEGIN': enough to see an
        # N+1 (the same table again and again).
        verb = statement.split(None, 1)[0].upper() if statement else '?'
        table = re.search(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)',
                          statement, re.IGNORECASE)
        self.statements.append(verb + (' ' + table.group(1) if table
                                       else ''))


_prepared = False


def inprocess_app(config_file):
    """The deployment's API as a WSGI app in this process (as the unit
    tests build it: craton/tests/unit/api/base.py), on the same database.
    """
    import webtest

    from craton.api import app
    from craton.common import service
    from craton import conf as craton_conf
    from craton.db.sqlalchemy import session

    global _prepared
    if not _prepared:
        conf = service.prepare_service(['--config-file', config_file],
                                       default_config_files=[])
        _prepared = True
    else:
        # Logging's command-line options are registered now: parse again.
        conf = craton_conf.CONF
        conf(['--config-file', config_file], project='craton',
             default_config_files=[])
    session.reset()
    return webtest.TestApp(app.setup_app(conf))


def count_queries(testapp, path):
    """SQL statements one GET of ``path`` issues (after one to warm up),
    and their tables.
    """
    headers = {'X-Project-Id': 'project-a', 'X-User-Id': 'user-a',
               'X-Roles': 'admin,member,reader'}
    testapp.get(path, headers=headers)
    with QueryCounter() as counter:
        testapp.get(path, headers=headers)
    return counter.count, counter.statements


def api_run(bench, requests_n):
    """Fill the database, then print p50/p99 and queries per request."""
    seconds, big, count = fill(bench)
    print('  %d jobs of project-a in the database (%d steps each, one of '
          '%d steps), filled in %.1f s' % (count, FILL_STEPS, BIG_JOB_STEPS,
                                           seconds))
    app = inprocess_app(bench.deploy.config_file)
    base_url = 'http://127.0.0.1:%d' % bench.deploy.port
    for label, path in (
            ('GET /v1/jobs?limit=100', '/v1/jobs?limit=100'),
            ('GET /v1/jobs?limit=100&marker=<5000th>', None),
            ('GET /v1/jobs/{id} (%d steps)' % BIG_JOB_STEPS,
             '/v1/jobs/%s' % big)):
        if path is None:
            marker = _marker(base_url, 5000)
            path = '/v1/jobs?limit=100&marker=%s' % marker
        p50, p99, size = time_requests(base_url, path, requests_n)
        queries, statements = count_queries(app, path)
        print('  %-40s p50 %6.1f ms  p99 %6.1f ms  (%d requests, %d bytes)'
              '  %d SQL queries' % (label, p50, p99, requests_n, size,
                                    queries), flush=True)
        print('      %s' % ', '.join(statements))


def _marker(base_url, position):
    client = api_client.Client(base_url)
    marker = None
    for _ in range(position // 1000):
        page = client.get('/v1/jobs?limit=1000' + (
            '&marker=%s' % marker if marker else ''))
        marker = page['jobs'][-1]['uuid']
    return marker


@contextlib.contextmanager
def mysql_database():
    """A fresh MariaDB database (craton/tests/functional/dbfixtures.py);
    its URL, dropped afterwards.
    """
    from craton.tests.functional import dbfixtures
    db = dbfixtures.Database('mysql')
    db.setUp()
    try:
        yield db.url
    finally:
        db.cleanUp()


# -- memory while a queue drains -------------------------------------------

def rss_kib(pid):
    """VmRSS of process ``pid`` in KiB (Linux /proc)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise LookupError('no VmRSS for pid %d' % pid)


def _finished(engine, workflow_uuid):
    jobs_t = models.Job.__table__
    with engine.connect() as conn:
        rows = conn.execute(sa.select(jobs_t.c.status, sa.func.count())
                            .where(jobs_t.c.workflow_uuid == workflow_uuid)
                            .group_by(jobs_t.c.status)).all()
    return dict(rows)


def rss_run(bench, jobs, timeout):
    """Submit ``jobs`` one-step jobs at once, sample the craton-all
    process's RSS every second until they all ended, print a summary.
    """
    pid = bench.pid
    engine = _engine(bench)
    workflow = bench.one['uuid']
    samples = []        # (seconds since submit, KiB, jobs ended)
    stop = threading.Event()
    base_url = 'http://127.0.0.1:%d' % bench.deploy.port
    before = rss_kib(pid)
    t0 = time.perf_counter()
    wall0 = time.time()

    def sample():
        while not stop.is_set():
            ended = sum(n for s, n in _finished(engine, workflow).items()
                        if s in FINAL)
            samples.append((time.perf_counter() - t0, rss_kib(pid), ended))
            if ended >= jobs:
                return
            stop.wait(1.0)

    local = threading.local()

    def submit(_):
        if not hasattr(local, 'client'):
            local.client = api_client.Client(base_url)
        return local.client.submit_job({'hosts': ['bench-host']},
                                       workflow='bench-one')['uuid']

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with concurrent.futures.ThreadPoolExecutor(SUBMITTERS) as pool:
        list(pool.map(submit, range(jobs)))
    submitted = time.perf_counter() - t0
    sampler.join(timeout)
    stop.set()
    sampler.join(5)
    statuses = _finished(engine, workflow)
    last_end = _last_finished(engine, workflow)
    engine.dispose()
    ended = sum(n for s, n in statuses.items() if s in FINAL)
    print('  submitted %d jobs in %.1f s (%d threads); %d ended in %.1f s '
          '(last finished_at %.1f s after the first POST); statuses %s' % (
              jobs, submitted, SUBMITTERS, ended, samples[-1][0],
              last_end - wall0 if last_end else float('nan'),
              dict(sorted(statuses.items()))))
    summarize_rss(before, samples, jobs)


def _last_finished(engine, workflow_uuid):
    jobs_t = models.Job.__table__
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(jobs_t.c.finished_at))
                            .where(jobs_t.c.workflow_uuid ==
                                   workflow_uuid)).scalar()
    if last is None:
        return None
    if isinstance(last, str):
        last = datetime.datetime.fromisoformat(last)
    return last.replace(tzinfo=datetime.timezone.utc).timestamp()


def summarize_rss(before, samples, jobs):
    """Print the RSS curve: before, warm-up (the first sample once a
    tenth of the jobs ended), min, max, final, and whether every sample
    after warm-up is within FLAT of the warm-up value.
    """
    mib = 1 / 1024.0
    warm = next((s for s in samples if s[2] >= jobs / 10), samples[-1])
    after = [s[1] for s in samples if s[0] >= warm[0]]
    low, high = min(after), max(after)
    flat = all(abs(v - warm[1]) <= FLAT * warm[1] for v in after)
    print('  RSS of craton-all (MiB): before %.1f, warm-up %.1f (t=%.0f s, '
          '%d ended), min %.1f, max %.1f, final %.1f; %d samples; flat '
          '±%d%% after warm-up: %s (%+.1f%% .. %+.1f%%)' % (
              before * mib, warm[1] * mib, warm[0], warm[2],
              min(s[1] for s in samples) * mib,
              max(s[1] for s in samples) * mib, samples[-1][1] * mib,
              len(samples), FLAT * 100, 'yes' if flat else 'NO',
              (low / warm[1] - 1) * 100, (high / warm[1] - 1) * 100))
    # A coarse curve: ten points over the drain.
    step = max(1, len(samples) // 10)
    print('  curve (s: MiB, ended): %s' % ', '.join(
        '%.0f: %.1f, %d' % (t, kib * mib, ended)
        for t, kib, ended in samples[::step] + samples[-1:]))
