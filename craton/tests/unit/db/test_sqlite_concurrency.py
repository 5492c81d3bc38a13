# SPDX-License-Identifier: Apache-2.0
"""Writers on the embedded default (a SQLite file) must not collide.

craton-all serves the API while its conductor builds tasks and runs jobs,
all on one SQLite file. These tests run conductor-like writers (task
saves as a build does them, job and step status changes, step log
appends, heartbeats) in background threads, with the real DB API and
objects on a real SQLite file, while API clients send writes through
the whole WSGI stack; nothing may answer 5xx or log an ERROR. Then, a
database whose write lock stays taken is answered 503 with
``Retry-After``, and only after retrying.
"""

import logging
import os
import sqlite3
import threading
import time
from unittest import mock

from oslo_db import api as oslo_db_api
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from craton.common import exception
from craton.common import fsm
from craton.common import states
from craton import conf
from craton.db import api as db_api
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.objects import job as job_obj
from craton.objects import task as task_obj
from craton.tests.unit.api import base

HOST = 'conductor-1'
GIT = {'type': 'git', 'url': 'https://git.example.org/ops/tasks.git'}


class _ErrorRecords(logging.Handler):
    """Keeps every record at ERROR or above, from any logger."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class SQLiteTestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.dbapi = db_api.get_instance()
        self.errors = _ErrorRecords()
        root = logging.getLogger()
        root.addHandler(self.errors)
        self.addCleanup(root.removeHandler, self.errors)
        self.assertTrue(conf.CONF.database.connection.startswith(
            'sqlite:///'))
        self.db_path = conf.CONF.database.connection[len('sqlite:///'):]

    def logged_errors(self):
        return ['%s: %s' % (r.name, r.getMessage()) +
                ('\n' + logging.Formatter().formatException(r.exc_info)
                 if r.exc_info else '')
                for r in self.errors.records]


class TestWritersDoNotCollide(SQLiteTestCase):
    """Builds, jobs and a stream of API writes, all at once."""

    BUILDERS = 3
    JOB_RUNNERS = 3
    API_CLIENTS = 3
    # Each API client sends this many rounds of 12 writes; the writers
    # in the background go on until every client is done.
    ROUNDS = 6
    DEADLINE = 45

    def setUp(self):
        super().setUp()
        self.stop = threading.Event()
        self.background_errors = []
        self.region = self.make_region('r-base')
        self.make_host('base-host', self.region)
        self.job_task = self.make_task('job-task')
        self.build_tasks = [self.make_task('built-%d' % i, status='pending',
                                           approval='pending',
                                           approved_digest=None)
                            for i in range(self.BUILDERS)]
        # Settle policy and the app's lazy set-up before the threads start.
        self.get('/tasks')

    # -- conductor-like writers ---------------------------------------------

    def _background(self, name, loop):
        n = 0
        while not self.stop.is_set():
            try:
                loop(n)
            except Exception as exc:
                self.background_errors.append('%s: %s: %s' % (
                    name, type(exc).__name__, exc))
            n += 1
            # A real conductor does a little work between writes.
            time.sleep(0.001)

    def _build(self, task_uuid):
        def loop(n):
            # What builder.build_task writes: building, then ready with
            # the new image (each a conditional status write).
            task = task_obj.Task.get(self.ctx(), task_uuid)
            assert task.start_build()
            task.build_number = (task.build_number or 0) + 1
            task.image = 'craton/task-%s:%d' % (task.uuid, task.build_number)
            task.image_digest = 'sha256:%064x' % n
            assert task.transition(fsm.TASK_DONE)
        return loop

    def _run_jobs(self, n):
        # What the API, the service and the executor write for one job:
        # submit, claim, running, step running, log chunks, step and job
        # final, release; plus the conductor's heartbeat.
        job = job_obj.Job.submit(
            self.ctx(),
            {'project_id': self.project, 'user_id': 'user-a',
             'task_uuid': self.job_task.uuid,
             'status': states.JOB_PENDING, 'variables': {}},
            [{'name': 'job-task', 'task_uuid': self.job_task.uuid,
              'image': base.DIGEST, 'image_digest': base.DIGEST,
              'command': ['true'], 'timeout': 60, 'variables': {}}],
            [{'uuid': uuidutils.generate_uuid(), 'name': 'h'}])
        assert self.dbapi.claim_job(job.uuid, HOST)
        assert job.update({'status': states.JOB_RUNNING},
                          states.JOB_PENDING, HOST)
        step = job.steps[0]
        assert step.update({'status': states.STEP_RUNNING},
                           states.STEP_PENDING)
        offset = 0
        for i in range(5):
            data = b'line %d of step %d\n' % (i, step.id)
            assert self.dbapi.append_step_log(step.id, offset, data)
            offset += len(data)
        assert step.update({'status': states.STEP_SUCCEEDED, 'exit_code': 0,
                            'result': {'n': n}}, states.STEP_RUNNING)
        assert job.update({'status': states.JOB_SUCCEEDED},
                          states.JOB_RUNNING, HOST)
        self.dbapi.release_job(job.uuid, HOST)
        self.dbapi.touch_conductor(HOST)

    # -- API clients --------------------------------------------------------

    def _api_client(self, c, answers):
        def call(method, path, body=None, expect=200):
            resp = self.request(method, path, body, status='*')
            answers.append((method, path, expect, resp.status_int,
                            resp.text[:300]))
            return resp

        wf_task = self.make_task('wf-task-%d' % c)
        call('post', '/workflows', {'name': 'wf-%d' % c,
                                    'steps': [{'task': wf_task.uuid}]}, 201)
        deadline = time.monotonic() + self.DEADLINE
        for r in range(self.ROUNDS):
            if time.monotonic() > deadline:
                break
            name = 'c%d-r%d' % (c, r)
            task = call('post', '/tasks', {
                'name': 't-' + name, 'source': GIT, 'command': ['true']},
                202).json
            path = '/tasks/%s' % task['uuid']
            call('post', path + '/rebuild', expect=202)
            call('post', path + '/reject', {'reason': 'no'})
            call('patch', path, [{'op': 'replace', 'path': '/description',
                                  'value': name}])
            call('delete', path, expect=204)
            call('put', '/workflows/wf-%d' % c, {
                'name': 'wf-%d' % c, 'description': name,
                'steps': [{'task': wf_task.uuid}]})
            region = call('post', '/regions', {'name': 'r-' + name},
                          expect=201).json
            host = call('post', '/hosts', {
                'name': 'h-' + name, 'region': region['uuid'],
                'ip_address': '10.0.0.1', 'labels': ['a']}, 201).json
            call('patch', '/hosts/%s' % host['uuid'], [
                {'op': 'add', 'path': '/labels/-', 'value': 'b'},
                {'op': 'replace', 'path': '/variables', 'value': {'r': r}}])
            call('delete', '/hosts/%s' % host['uuid'], expect=204)
            call('delete', '/regions/%s' % region['uuid'], expect=204)
            call('post', '/jobs', {'task': self.job_task.uuid,
                                   'inventory': {'hosts': ['base-host']}}, 202)

    def test_builds_jobs_and_api_writes(self):
        threads = [threading.Thread(target=self._background,
                                    args=('build %d' % i, self._build(t.uuid)))
                   for i, t in enumerate(self.build_tasks)]
        threads += [threading.Thread(target=self._background,
                                     args=('jobs %d' % i, self._run_jobs))
                    for i in range(self.JOB_RUNNERS)]
        answers = [[] for _ in range(self.API_CLIENTS)]
        clients = [threading.Thread(target=self._api_client,
                                    args=(c, answers[c]))
                   for c in range(self.API_CLIENTS)]
        started = time.monotonic()
        for thread in threads + clients:
            thread.start()
        try:
            for thread in clients:
                thread.join(self.DEADLINE + 10)
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(10)
        elapsed = time.monotonic() - started

        answers = [a for per_client in answers for a in per_client]
        server_errors = [a for a in answers if a[3] >= 500]
        wrong = [a for a in answers if a[3] != a[2]]
        self.assertEqual([], server_errors)
        self.assertEqual([], wrong)
        self.assertEqual([], self.background_errors[:10])
        self.assertEqual([], self.logged_errors()[:5])
        # Every client got through all of its rounds in time.
        self.assertEqual(self.API_CLIENTS * (1 + 12 * self.ROUNDS),
                         len(answers), 'only %d requests in %.1f s'
                         % (len(answers), elapsed))
        # The background writers did write meanwhile.
        done = self.db.count(models.Job)
        self.assertGreater(done, self.API_CLIENTS * self.ROUNDS)


class TestBusyDatabase(SQLiteTestCase):
    """Another connection keeps the write lock: retry, then 503."""

    def setUp(self):
        super().setUp()
        # Read when a connection opens (each transaction opens one).
        self.config(sqlite_busy_timeout=0.2, group='database')
        self.region = self.make_region('r1')
        self.host = self.make_host('h1', self.region)
        retry = mock.patch.multiple(session, BUSY_RETRY_INTERVAL=0.1,
                                    BUSY_MAX_RETRY_INTERVAL=0.2,
                                    BUSY_MAX_RETRIES=3)
        retry.start()
        self.addCleanup(retry.stop)

    def hold_write_lock(self):
        """Take the database's write lock from another connection, as
        another process would; returns the connection (rollback frees
        the lock).
        """
        holder = sqlite3.connect(self.db_path, isolation_level=None,
                                 check_same_thread=False)
        self.addCleanup(holder.close)
        holder.execute('BEGIN IMMEDIATE')
        holder.execute("UPDATE regions SET description = 'held'")
        return holder

    def patch_host(self):
        return self.request('patch', '/hosts/h1', [
            {'op': 'replace', 'path': '/variables', 'value': {'x': 1}}],
            status='*')

    def test_still_busy_after_retries_is_503(self):
        self.hold_write_lock()
        with mock.patch.object(oslo_db_api.time, 'sleep',
                               wraps=time.sleep) as sleep:
            resp = self.patch_host()
        error = self.assertError(resp, 503, 'craton.database.busy',
                                 'database')
        self.assertNotIn('SQL', error['detail'])
        self.assertEqual('1', resp.headers['Retry-After'])
        # It was retried, with oslo.db's retry, before giving up (oslo.db
        # also sleeps 0 s to yield when a connection is checked in).
        pauses = [c.args[0] for c in sleep.call_args_list if c.args[0]]
        self.assertEqual(3, len(pauses))
        self.assertEqual({}, self.dbapi.get_host(self.project, 'h1')
                         .variables)
        # Not an unexpected error of the API (oslo.db itself logs that it
        # gave up retrying).
        self.assertEqual([], [r.getMessage() for r in self.errors.records
                              if r.name.startswith('craton')])

    def test_lock_released_while_retrying(self):
        holder = self.hold_write_lock()
        threading.Timer(0.35, holder.rollback).start()
        resp = self.patch_host()
        self.assertEqual(200, resp.status_int, resp.text)
        self.assertEqual({'x': 1}, self.dbapi.get_host(self.project, 'h1')
                         .variables)

    def test_writer_waits_for_the_lock(self):
        # The cause of the collisions: update_host reads the row, then
        # writes it. In a deferred transaction, SQLite refuses that write
        # at once while another connection holds the write lock, without
        # waiting the busy timeout. A writer must wait for the lock
        # instead, here without needing a retry.
        self.config(sqlite_busy_timeout=5, group='database')
        holder = self.hold_write_lock()
        threading.Timer(0.3, holder.rollback).start()
        with mock.patch.object(oslo_db_api.time, 'sleep',
                               wraps=time.sleep) as sleep:
            resp = self.patch_host()
        self.assertEqual(200, resp.status_int, resp.text)
        self.assertEqual([], [c for c in sleep.call_args_list if c.args[0]])

    def test_writers_of_one_process_take_turns(self):
        # A writer that finds another writer of this process at work
        # waits for its turn, and begins only once that one committed,
        # instead of sleeping in SQLite's busy handler.
        self.config(sqlite_busy_timeout=5, group='database')
        events = []
        engine = session.get_engine()

        def begin(conn, cursor, statement, *args):
            if statement.startswith('BEGIN IMMEDIATE'):
                events.append(('begin', threading.current_thread().name))

        def commit(conn):
            events.append(('commit', threading.current_thread().name))
        sa.event.listen(engine, 'before_cursor_execute', begin)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute',
                        begin)
        sa.event.listen(engine, 'commit', commit)
        self.addCleanup(sa.event.remove, engine, 'commit', commit)
        inside, release = threading.Event(), threading.Event()

        def first():
            with session.writer() as s:
                s.execute(sa.update(models.Region).values(description='a'))
                inside.set()
                release.wait(10)
        holder = threading.Thread(target=first, name='first')
        holder.start()
        self.assertTrue(inside.wait(10))
        threading.Timer(0.3, release.set).start()
        resp = self.patch_host()
        holder.join(10)
        self.assertEqual(200, resp.status_int, resp.text)
        mine = threading.current_thread().name
        self.assertLess(events.index(('commit', 'first')),
                        events.index(('begin', mine)))

    def test_first_writers_share_one_turn(self):
        # The turn is made on first use; writers that come at once (a
        # process starting: API, heartbeats, claims) must all get the
        # same lock, or they do not take turns at all.
        engine = session.get_engine()
        arrived = threading.Barrier(2)

        def slow_engine():
            time.sleep(0.1)     # as building the engine on first use
            return engine
        turns = []

        def first_writer():
            arrived.wait(5)
            turns.append(session._write_turn())
        with mock.patch.dict(session._WRITE_TURN, {'lock': None}), \
                mock.patch.object(session, 'get_engine', slow_engine):
            threads = [threading.Thread(target=first_writer)
                       for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(5)
        self.assertEqual(2, len(turns))
        self.assertIsNotNone(turns[0])
        self.assertIs(turns[0], turns[1])

    def test_readers_do_not_wait_for_the_write_lock(self):
        self.config(sqlite_busy_timeout=3, group='database')
        self.hold_write_lock()
        started = time.monotonic()
        self.assertEqual('h1', self.get('/hosts/h1').json['name'])
        self.assertEqual(1, len(self.get('/hosts').json['hosts']))
        self.assertLess(time.monotonic() - started, 2)

    def test_conductor_writes_raise_database_busy(self):
        self.hold_write_lock()
        self.assertRaises(exception.DatabaseBusy, self.dbapi.touch_conductor,
                          HOST)


class TestRetryOnlyUncommitted(SQLiteTestCase):
    """A call is retried only while nothing of it was committed."""

    def setUp(self):
        super().setUp()
        retry = mock.patch.multiple(session, BUSY_RETRY_INTERVAL=0.01,
                                    BUSY_MAX_RETRY_INTERVAL=0.01,
                                    BUSY_MAX_RETRIES=3)
        retry.start()
        self.addCleanup(retry.stop)

    @staticmethod
    def busy():
        return sa.exc.OperationalError(
            'BEGIN IMMEDIATE', {}, sqlite3.OperationalError(
                'database is locked'))

    def test_busy_before_commit_is_retried(self):
        calls = []

        @session.retry_when_busy
        def write():
            calls.append(1)
            if len(calls) < 3:
                raise self.busy()
            with session.writer() as s:
                s.add(models.Conductor(hostname='c%d' % len(calls),
                                       online=True,
                                       heartbeat_at=timeutils.utcnow()))
            return 'done'

        self.assertEqual('done', write())
        self.assertEqual(3, len(calls))
        self.assertEqual(1, self.db.count(models.Conductor))

    def test_busy_after_a_commit_is_not_retried(self):
        calls = []

        @session.retry_when_busy
        def write_then_read():
            calls.append(1)
            with session.writer() as s:
                s.add(models.Conductor(hostname='c%d' % len(calls),
                                       online=True,
                                       heartbeat_at=timeutils.utcnow()))
            raise self.busy()

        self.assertRaises(exception.DatabaseBusy, write_then_read)
        self.assertEqual(1, len(calls))
        self.assertEqual(1, self.db.count(models.Conductor))

    def test_other_errors_are_not_retried(self):
        calls = []

        @session.retry_when_busy
        def broken():
            calls.append(1)
            raise sa.exc.OperationalError(
                'SELECT', {}, sqlite3.OperationalError('no such column: x'))

        self.assertRaises(sa.exc.OperationalError, broken)
        self.assertEqual(1, len(calls))


class TestWriteAheadLogKept(SQLiteTestCase):
    """One connection stays open, so SQLite does not checkpoint and delete
    the write-ahead log after every transaction (oslo.db's NullPool closes
    each transaction's connection).
    """

    def test_log_survives_a_transaction(self):
        path = conf.CONF.database.connection[len('sqlite:///'):]
        self.dbapi.create_job({'project_id': 'p', 'status': 'pending'}, [])
        self.assertTrue(os.path.exists(path + '-wal'))
        session.reset()
        session.get_engine()
        self.dbapi.create_job({'project_id': 'p', 'status': 'pending'}, [])
        self.assertTrue(os.path.exists(path + '-wal'))
