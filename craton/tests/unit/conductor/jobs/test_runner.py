# SPDX-License-Identifier: Apache-2.0
"""The job executor against a fake driver and a real (SQLite) database."""

import datetime
import itertools
import json
import threading
import time

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils

from craton.common import exception
from craton.common import states
from craton.conductor.drivers import base as driver_base
from craton.conductor.jobs import runner
from craton.conductor.jobs import tools as job_tools
from craton import conf
from craton.db import api as db_api
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.objects import job as job_obj
from craton.tests import base
from craton.tests.unit.conductor import fake_driver

HOST = 'conductor-1'
INVENTORY = [{'uuid': 'h-1', 'name': 'compute-01', 'ip_address': '10.0.0.5',
              'region': 'r1', 'cell': 'c1', 'labels': ['compute'],
              'variables': {'rack': 4}}]


class ExecutorTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        # The runner, its log threads and the test all use the database at
        # once; in-memory SQLite shares one connection between threads,
        # which cannot hold concurrent transactions, so use a file.
        path = self.useFixture(fixtures.TempDir()).path
        self.config(connection='sqlite:///%s/craton.sqlite' % path,
                    group='database')
        session.reset()
        engine = session.get_engine()
        models.Base.metadata.create_all(engine)
        self.addCleanup(engine.dispose)
        self.config(log_flush_interval=0.05, group='conductor')
        self.dbapi = db_api.get_instance()
        self.driver = fake_driver.FakeDriver()
        self.runner = runner.JobRunner(
            self.context, conf.CONF, self.driver, HOST, engine_grace=0.3,
            poll_interval=0.02, retry_interval=0.02, log_drain_timeout=5)

    def submit(self, names=('one', 'two', 'three'), timeout=60,
               job_variables=None, claim=True, status='pending'):
        steps = [{'name': name, 'task_uuid': uuidutils.generate_uuid(),
                  'image': 'sha256:' + name,
                  'image_digest': 'sha256:' + name,
                  'command': ['python3', '/craton/%s.py' % name],
                  'variables': {'who': name, 'shared': 'step'},
                  'timeout': timeout}
                 for name in names]
        job = job_obj.Job.submit(
            self.context, {'project_id': 'project-a', 'user_id': 'user-a',
                           'status': status,
                           'variables': job_variables or {'ticket': 'OPS-42'}},
            steps, INVENTORY)
        if claim:
            self.assertTrue(self.dbapi.claim_job(job.uuid, HOST))
        return job.uuid

    def job(self, uuid):
        return job_obj.Job.get(self.context, uuid)

    def step_statuses(self, uuid):
        return [st.status for st in self.job(uuid).steps]

    def log(self, uuid, index):
        step = self.job(uuid).steps[index]
        return self.dbapi.get_step_log(step.id, 0, 1 << 20)

    def run_in_thread(self, uuid):
        out = {}

        def target():
            out['status'] = self.runner.run(uuid)
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        return thread, out

    def wait_for(self, predicate, timeout=5):
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if predicate():
                return
            time.sleep(0.01)
        self.fail('condition not met within %s s' % timeout)

    def set_step(self, uuid, index, **values):
        job = self.job(uuid)
        self.assertTrue(self.dbapi.update_job_step(job.id, index, values))

    def payloads(self):
        return [json.loads(spec.payload) for spec in self.driver.specs]

    def run_with_broken_stream(self, first, second):
        """Run a one-step job whose container prints ``first``, then
        ``second`` once the log stream broke after its first piece and
        was followed again. Returns the runner's ``out`` (with the job's
        ``uuid``) and the ``skip_bytes`` of each follow.
        """
        uuid = self.submit(names=('one',))
        release = threading.Event()
        real_stream = self.driver.follow_output
        calls = []

        def flaky_stream(handle, skip_bytes=0):
            calls.append(skip_bytes)
            gen = real_stream(handle, skip_bytes)
            if len(calls) == 1:
                yield next(gen)
                raise RuntimeError('connection reset')
            yield from gen
        self.driver.follow_output = flaky_stream

        def one(container):
            container.emit(first)
            release.wait(5)
            container.emit(second)
            container.exit(0)
        self.driver.behaviours['one'] = one
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: len(calls) >= 2)
        release.set()
        thread.join(5)
        out['uuid'] = uuid
        return out, calls


class TestHappyPath(ExecutorTestCase):

    def test_all_steps_succeed_and_results_flow(self):
        self.driver.behaviours['one'] = fake_driver.succeed(
            b'one says hi\n', b'{"hosts_done": 1}')
        self.driver.behaviours['two'] = fake_driver.succeed(
            b'two\n', b'{"n": 2, "deep": {"x": [1]}}')
        self.driver.behaviours['three'] = fake_driver.succeed(b'three\n')
        uuid = self.submit(job_variables={'ticket': 'OPS-42',
                                          'shared': 'job'})
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))

        job = self.job(uuid)
        self.assertEqual(states.JOB_SUCCEEDED, job.status)
        self.assertIsNotNone(job.started_at)
        self.assertIsNotNone(job.finished_at)
        self.assertEqual(['succeeded'] * 3, self.step_statuses(uuid))
        for step in job.steps:
            self.assertEqual(0, step.exit_code)
            self.assertEqual('node-1', step.node)
            self.assertIsNotNone(step.container_id)
            self.assertIsNotNone(step.finished_at)
        self.assertEqual({'hosts_done': 1}, job.steps[0].result)
        self.assertFalse(job.steps[2].result)
        self.assertEqual(b'one says hi\n::craton-result:: {"hosts_done": 1}\n',
                         self.log(uuid, 0))

        # One container per step, in order, each given the payload.
        self.assertEqual(3, len(self.driver.created))
        specs = self.driver.specs
        self.assertEqual([0, 1, 2], [s.step_index for s in specs])
        self.assertEqual('sha256:two', specs[1].image)
        self.assertEqual(['python3', '/craton/two.py'], specs[1].command)
        self.assertEqual(60, specs[1].timeout)
        first, second, third = self.payloads()
        self.assertEqual({'uuid': uuid, 'project_id': 'project-a',
                          'user_id': 'user-a'}, first['job'])
        self.assertEqual({'index': 1, 'name': 'two',
                          'task': job.steps[1].task_uuid}, second['step'])
        self.assertEqual(INVENTORY, first['inventory'])
        self.assertEqual({'who': 'one', 'shared': 'job',
                          'ticket': 'OPS-42'}, first['variables'])
        self.assertEqual({}, first['results'])
        self.assertEqual({'one': {'hosts_done': 1}}, second['results'])
        self.assertEqual({'one': {'hosts_done': 1},
                          'two': {'n': 2, 'deep': {'x': [1]}}},
                         third['results'])
        # Compact JSON.
        self.assertNotIn(b', ', specs[0].payload)
        # Containers removed after each step, and the job's at the end.
        self.assertEqual([c.id for c in self.driver.created],
                         self.driver.cleaned)
        self.assertEqual([uuid], self.driver.cleaned_jobs)

    def test_malformed_result_is_noted_not_fatal(self):
        self.driver.behaviours['one'] = fake_driver.succeed(
            b'', b'{not json')
        self.driver.behaviours['two'] = fake_driver.succeed(b'', b'[1, 2]')
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        one, two = self.job(uuid).steps
        self.assertFalse(one.result)
        self.assertIn('not valid JSON', one.status_reason)
        self.assertIn('array', two.status_reason)
        self.assertEqual({}, self.payloads()[1]['results'])

    def test_not_claimed_by_us_does_nothing(self):
        uuid = self.submit(claim=False)
        self.assertIsNone(self.runner.run(uuid))
        self.assertEqual([], self.driver.specs)
        self.assertEqual(states.JOB_PENDING, self.job(uuid).status)

    def test_final_job_is_left_alone(self):
        uuid = self.submit()
        self.runner.run(uuid)
        calls = list(self.driver.calls)
        self.assertIsNone(self.runner.run(uuid))
        self.assertEqual(calls, self.driver.calls)


class TestFailures(ExecutorTestCase):

    def test_failing_step_skips_the_rest(self):
        self.driver.behaviours['two'] = fake_driver.succeed(b'boom\n',
                                                            code=3)
        uuid = self.submit()
        self.assertEqual(states.JOB_FAILED, self.runner.run(uuid))
        job = self.job(uuid)
        self.assertEqual(['succeeded', 'failed', 'skipped'],
                         self.step_statuses(uuid))
        self.assertEqual(3, job.steps[1].exit_code)
        self.assertEqual('exit code 3', job.steps[1].status_reason)
        self.assertIn("step 'two' (index 1)", job.status_reason)
        self.assertIn('exit code 3', job.status_reason)
        self.assertEqual(2, len(self.driver.created))
        self.assertEqual(b'boom\n', self.log(uuid, 1))

    def test_engine_error_is_in_the_reason(self):
        def oom(container):
            container.exit(137, error='OOMKilled')
        self.driver.behaviours['one'] = oom
        uuid = self.submit(names=('one',))
        self.assertEqual(states.JOB_FAILED, self.runner.run(uuid))
        self.assertEqual('exit code 137; OOMKilled',
                         self.job(uuid).steps[0].status_reason)

    def test_gone_with_reason_is_lost_with_it(self):
        # The swarm driver's answer for a task whose node went down.
        def node_down(container):
            container.emit(b'up\n')
            with container.cond:
                container.status = driver_base.GONE
                container.error = ('node node-2 is down (its engine '
                                   'stopped answering)')
                container.cond.notify_all()
        self.driver.behaviours['one'] = node_down
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_FAILED, self.runner.run(uuid))
        job = self.job(uuid)
        self.assertEqual(['lost', 'skipped'], self.step_statuses(uuid))
        self.assertEqual('container c0001 disappeared while the step ran: '
                         'node node-2 is down (its engine stopped '
                         'answering)', job.steps[0].status_reason)
        self.assertIn('node node-2 is down', job.status_reason)
        self.assertEqual(b'up\n', self.log(uuid, 0))

    def test_spec_names_the_task(self):
        uuid = self.submit(names=('one',))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual([self.job(uuid).steps[0].task_uuid],
                         [spec.task_uuid for spec in self.driver.specs])

    def test_timeout_kills_the_step(self):
        self.driver.behaviours['one'] = fake_driver.hang
        uuid = self.submit(names=('one', 'two'), timeout=1)
        started = time.monotonic()
        self.assertEqual(states.JOB_FAILED, self.runner.run(uuid))
        self.assertLess(time.monotonic() - started, 5)
        job = self.job(uuid)
        self.assertEqual(['timed_out', 'skipped'], self.step_statuses(uuid))
        self.assertEqual('killed after 1 s', job.steps[0].status_reason)
        self.assertTrue(self.driver.created[0].killed)
        self.assertIn("step 'one' (index 0) timed out", job.status_reason)

    def test_deadline_counts_from_started_at_across_restarts(self):
        uuid = self.submit(names=('one',), timeout=30)
        self.dbapi.update_job(uuid, {'status': 'running'})
        long_ago = timeutils.utcnow() - datetime.timedelta(seconds=31)
        self.set_step(uuid, 0, status='running', started_at=long_ago,
                      container_id='c0001')
        container = self.driver.add_container(uuid, 0)
        self.assertEqual(states.JOB_FAILED, self.runner.run(uuid))
        self.assertTrue(container.killed)
        self.assertEqual(['timed_out'], self.step_statuses(uuid))

    def test_image_not_found_is_job_error(self):
        self.driver.missing_images.add('sha256:two')
        uuid = self.submit()
        self.assertEqual(states.JOB_ERROR, self.runner.run(uuid))
        job = self.job(uuid)
        self.assertEqual(['succeeded', 'failed', 'skipped'],
                         self.step_statuses(uuid))
        self.assertIn('sha256:two', job.steps[1].status_reason)
        self.assertIn("step 'two' (index 1) could not start",
                      job.status_reason)

    def test_engine_unreachable_is_job_error(self):
        self.driver.always_unavailable = True
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_ERROR, self.runner.run(uuid))
        job = self.job(uuid)
        self.assertEqual(['failed', 'skipped'], self.step_statuses(uuid))
        self.assertIn('unreachable', job.status_reason)
        self.assertIn('unreachable', job.steps[0].status_reason)
        # Retried for the grace, then gave up; no cleanup of an absent
        # engine.
        self.assertGreater(self.driver.calls.count('start'), 2)
        self.assertEqual([], self.driver.cleaned_jobs)

    def test_engine_blip_is_retried(self):
        self.driver.unavailable = 3
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual(2, len(self.driver.created))


class TestCancel(ExecutorTestCase):

    def test_cancel_before_start(self):
        uuid = self.submit()
        self.dbapi.update_job(uuid, {'status': 'cancelling'})
        self.assertEqual(states.JOB_CANCELLED, self.runner.run(uuid))
        job = self.job(uuid)
        self.assertEqual(['skipped'] * 3, self.step_statuses(uuid))
        self.assertIsNone(job.started_at)
        self.assertIsNotNone(job.finished_at)
        self.assertEqual([], self.driver.specs)

    def test_cancel_during_a_step(self):
        self.driver.behaviours['two'] = fake_driver.hang
        self.runner.poll_interval = 30   # only the wake-up can be quick
        uuid = self.submit()
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: len(self.driver.created) == 2)
        self.wait_for(lambda: self.job(uuid).steps[1].container_id)
        self.assertTrue(self.dbapi.update_job(
            uuid, {'status': 'cancelling'}, expected_status='running'))
        started = time.monotonic()
        self.assertTrue(self.runner.cancel(uuid))
        thread.join(5)
        self.assertLess(time.monotonic() - started, 3)
        self.assertEqual(states.JOB_CANCELLED, out['status'])
        self.assertEqual(['succeeded', 'cancelled', 'skipped'],
                         self.step_statuses(uuid))
        self.assertTrue(self.driver.created[1].killed)
        self.assertEqual(137, self.job(uuid).steps[1].exit_code)
        self.assertFalse(self.runner.cancel(uuid))

    def test_cancel_between_steps(self):
        uuid = self.submit()

        def one(container):
            # The cancel lands while step one finishes successfully.
            self.dbapi.update_job(uuid, {'status': 'cancelling'})
            container.exit(0)
        self.driver.behaviours['one'] = one
        self.assertEqual(states.JOB_CANCELLED, self.runner.run(uuid))
        self.assertEqual(['succeeded', 'skipped', 'skipped'],
                         self.step_statuses(uuid))
        self.assertEqual(1, len(self.driver.created))


class TestLogs(ExecutorTestCase):

    def test_logs_readable_while_step_runs(self):
        release = threading.Event()

        def one(container):
            container.emit(b'working on compute-01\n')
            container.emit(b'warning\n', stderr=True)
            release.wait(5)
            container.emit(b'done\n')
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one',))
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: self.log(uuid, 0) ==
                      b'working on compute-01\nwarning\n', timeout=2)
        self.assertEqual(['running'], self.step_statuses(uuid))
        release.set()
        thread.join(5)
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])
        self.assertEqual(b'working on compute-01\nwarning\ndone\n',
                         self.log(uuid, 0))

    def test_large_output_is_chunked_and_complete(self):
        data = bytes(range(256)) * 1000     # 256,000 bytes

        def one(container):
            for i in range(0, len(data), 7000):
                container.emit(data[i:i + 7000])
            container.exit(0)
        self.config(log_chunk_bytes=65536, group='conductor')
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one',))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual(data, self.log(uuid, 0))
        self.assertEqual(len(data), self.job(uuid).steps[0].log_bytes)

    def test_broken_stream_resumes_without_loss(self):
        out, calls = self.run_with_broken_stream(b'part one\n',
                                                 b'part two\n')
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])
        self.assertEqual(b'part one\npart two\n', self.log(out['uuid'], 0))
        self.assertEqual([0, 9], calls[:2])


class TestPreparationFaults(ExecutorTestCase):
    """Any exception while a step is prepared or started ends that step
    ``failed`` with the cause, skips the rest and puts the job in
    ``error``: never ``running`` (API.md, Jobs).
    """

    def assert_error_at_first_step(self, uuid, cause):
        self.assertEqual(states.JOB_ERROR, self.runner.run(uuid))
        job = self.job(uuid)
        self.assertEqual(['failed', 'skipped'], self.step_statuses(uuid))
        self.assertIn(cause, job.steps[0].status_reason)
        self.assertIn("step 'one' (index 0)", job.status_reason)
        self.assertIn(cause, job.status_reason)
        self.assertIsNotNone(job.steps[0].finished_at)
        self.assertIsNotNone(job.finished_at)

    def test_payload_that_cannot_be_encoded(self):
        # A lone surrogate cannot be UTF-8: the old failure mode that left
        # the job running with the conductor logging on every sweep.
        uuid = self.submit(names=('one', 'two'),
                           job_variables={'note': 'x \ud83d'})
        self.assert_error_at_first_step(uuid, 'surrogates not allowed')
        self.assertEqual([], self.driver.created)

    def test_fault_at_each_point_of_preparation(self):
        points = [
            ('craton.conductor.jobs.payload', 'build_payload',
             ValueError('payload exploded')),
            ('craton.objects.job.Job', 'inventory',
             RuntimeError('inventory exploded')),
            ('craton.tests.unit.conductor.fake_driver.FakeDriver', 'find',
             KeyError('find exploded')),
            ('craton.tests.unit.conductor.fake_driver.FakeDriver', 'start',
             TypeError('start exploded')),
        ]
        for target, name, exc in points:
            with self.subTest(point=name):
                with fixtures.MonkeyPatch('%s.%s' % (target, name),
                                          _raiser(exc)):
                    uuid = self.submit(names=('one', 'two'))
                    if name == 'find':
                        # find() is asked only when resuming a step.
                        self.set_step(uuid, 0, status='running')
                    self.assert_error_at_first_step(uuid, str(exc.args[0]))

    def test_fault_while_watching_ends_the_step(self):
        # Past the start, an unexpected error reading the container's
        # state still ends the step (its container is killed) rather than
        # leaving it running for every sweep to trip over.
        self.driver.behaviours['one'] = fake_driver.hang
        uuid = self.submit(names=('one', 'two'))
        calls = []
        original = fake_driver.FakeDriver.state

        def state(driver, handle):
            calls.append(handle)
            if len(calls) > 2:
                raise AttributeError('state exploded')
            return original(driver, handle)
        self.useFixture(fixtures.MonkeyPatch(
            'craton.tests.unit.conductor.fake_driver.FakeDriver.state',
            state))
        self.assert_error_at_first_step(uuid, 'state exploded')
        self.assertTrue(self.driver.created[0].killed)


def _raiser(exc):
    def boom(*args, **kwargs):
        raise exc
    return boom


class TestOutputContract(ExecutorTestCase):

    def test_result_far_from_the_end_of_stdout(self):
        def one(container):
            container.emit(b'::craton-result:: {"token": "R1"}\n')
            for i in range(120):
                container.emit(b'line %d\n' % i)
            container.emit(b'noise\n', stderr=True)
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual({'one': {'token': 'R1'}},
                         self.payloads()[1]['results'])

    def engine_keeps_only_the_end(self):
        """Reads of the whole output (not the follow stream) miss the
        first ten messages, as from an engine whose bounded log file
        dropped them.
        """
        real = self.driver.log_frames

        def log_frames(handle, follow=True):
            frames = real(handle, follow)
            return frames if follow else itertools.islice(frames, 10, None)
        self.driver.log_frames = log_frames

    def test_result_kept_when_the_engine_lost_the_head_of_the_log(self):
        # The engine keeps a bounded log file: once the step exited, a
        # read of the whole output gives only its end. The result line
        # near the start was seen as the output streamed.
        def one(container):
            container.emit(b'::craton-result:: {"early": true}\n')
            for i in range(50):
                container.emit(b'line %d\n' % i)
            container.exit(0)
        self.engine_keeps_only_the_end()
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual({'early': True}, self.job(uuid).steps[0].result)
        self.assertEqual({'one': {'early': True}},
                         self.payloads()[1]['results'])

    def test_a_later_result_in_the_kept_end_wins(self):
        def one(container):
            container.emit(b'::craton-result:: {"n": 1}\n')
            for i in range(50):
                container.emit(b'line %d\n' % i)
            container.emit(b'::craton-result:: {"n": 2}\n')
            container.exit(0)
        self.engine_keeps_only_the_end()
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one',))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual({'n': 2}, self.job(uuid).steps[0].result)

    def test_log_cap_cuts_and_says_so(self):
        self.config(max_log_bytes=4096, group='sandbox')

        def one(container):
            for _ in range(100):
                container.emit(b'z' * 1000)
            container.emit(b'\n::craton-result:: {"late": true}\n')
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one',))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        log = self.log(uuid, 0)
        self.assertEqual(b'z' * 4096 + b'\n[craton] log cut at 4096 bytes\n',
                         log)
        self.assertTrue(self.job(uuid).steps[0].log_truncated)
        step = self.job(uuid).steps[0]
        self.assertIn('log cut at 4096 bytes', step.status_reason)
        # The result is read from all of stdout, not from the stored log.
        self.assertEqual({'late': True}, step.result)

    def test_output_missed_by_the_stream_is_stored(self):
        # The follow stream ends early (as the engine's did at exit): the
        # whole output is read again and the missing tail stored.
        real = self.driver.log_frames

        def short_follow(handle, follow=True):
            frames = real(handle, follow)
            if not follow:
                return frames
            return (f for i, f in enumerate(frames) if i < 1)
        self.driver.log_frames = short_follow

        def one(container):
            container.emit(b'first\n')
            container.emit(b'second\n')
            container.emit(b'last line without newline')
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one',))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual(b'first\nsecond\nlast line without newline',
                         self.log(uuid, 0))

    def test_a_busy_database_only_pauses_the_job(self):
        # Still busy after the DB API's own retries: the runner stops and
        # the sweep resumes the job; the step is not failed for it.
        uuid = self.submit(names=('one', 'two'))
        with fixtures.MonkeyPatch(
                'craton.conductor.jobs.payload.build_payload',
                _raiser(exception.DatabaseBusy())):
            self.assertRaises(exception.DatabaseBusy, self.runner.run,
                              uuid)
        self.assertEqual(['running', 'pending'], self.step_statuses(uuid))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))


class TestDeadlines(ExecutorTestCase):
    """Each wait of the runner ends as soon as what it waits for happens,
    and gives up at its deadline, not before.
    """

    def _unavailable(self):
        return exception.EngineUnavailable(url='fake://', reason='refused')

    def test_engine_call_gives_up_after_the_grace(self):
        calls = []

        def away(*args):
            calls.append(args)
            raise self._unavailable()
        started = time.monotonic()
        self.assertRaises(exception.EngineUnavailable,
                          self.runner.step_tools().engine_call, away, 'x')
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, self.runner.engine_grace)
        self.assertLess(elapsed, self.runner.engine_grace + 2)
        # Retried every retry_interval meanwhile, with the same arguments.
        self.assertGreater(len(calls), 2)
        self.assertEqual({('x',)}, set(calls))

    def test_engine_call_returns_once_the_engine_answers(self):
        answers = [self._unavailable(), self._unavailable(), 'state']

        def blip(arg):
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return (arg, answer)
        started = time.monotonic()
        tools = self.runner.step_tools()
        self.assertEqual(('h', 'state'), tools.engine_call(blip, 'h'))
        self.assertLess(time.monotonic() - started, self.runner.engine_grace)
        self.assertEqual([], answers)

    def test_engine_call_raises_other_errors_at_once(self):
        calls = []

        def refused():
            calls.append(1)
            raise exception.ImageNotFound(image='x')
        self.assertRaises(exception.ImageNotFound,
                          self.runner.step_tools().engine_call, refused)
        self.assertEqual([1], calls)

    def test_drain_gives_up_on_a_stream_that_does_not_end(self):
        # The engine never ends the follow after the exit: the runner
        # waits log_drain_timeout, then reads the whole log once more.
        self.runner.log_drain_timeout = 0.3
        real = self.driver.log_frames
        release = threading.Event()
        self.addCleanup(release.set)

        def endless(handle, follow=True):
            yield from real(handle, follow)
            if follow:
                release.wait(30)
        self.driver.log_frames = endless
        self.driver.behaviours['one'] = fake_driver.succeed(b'out\n')
        uuid = self.submit(names=('one',))
        started = time.monotonic()
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(b'out\n', self.log(uuid, 0))

    def test_drain_ends_with_the_stream(self):
        self.runner.log_drain_timeout = 30
        self.driver.behaviours['one'] = fake_driver.succeed(b'out\n')
        uuid = self.submit(names=('one',))
        started = time.monotonic()
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(b'out\n', self.log(uuid, 0))

    def _reread_fails(self, times):
        # The follow works; reading the whole log again after the exit
        # meets an absent engine ``times`` times.
        real = self.driver.log_frames
        failures = [times]

        def flaky(handle, follow=True):
            if not follow and failures[0]:
                failures[0] -= 1
                raise self._unavailable()
            return real(handle, follow)
        self.driver.log_frames = flaky
        self.driver.behaviours['one'] = fake_driver.succeed(b'out\n')
        return self.submit(names=('one',))

    def test_reread_gives_up_after_the_grace_and_says_so(self):
        uuid = self._reread_fails(10 ** 6)
        started = time.monotonic()
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertGreaterEqual(time.monotonic() - started,
                                self.runner.engine_grace)
        step = self.job(uuid).steps[0]
        self.assertIn('log may be incomplete (the engine did not answer',
                      step.status_reason)
        # What the follow stored stays.
        self.assertEqual(b'out\n', self.log(uuid, 0))

    def test_reread_retried_until_the_engine_answers(self):
        uuid = self._reread_fails(2)
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        step = self.job(uuid).steps[0]
        self.assertIsNone(step.status_reason)
        self.assertEqual(b'out\n', self.log(uuid, 0))


class TestEventDriven(ExecutorTestCase):
    """A step is looked at when something happens, not at the next tick:
    with a look-interval of an hour, jobs still run through and output is
    still stored while a step runs.
    """

    def setUp(self):
        super().setUp()
        self.runner = runner.JobRunner(
            self.context, conf.CONF, self.driver, HOST, engine_grace=0.3,
            poll_interval=3600, retry_interval=0.02, log_drain_timeout=5)

    def test_step_end_is_seen_when_the_container_exits(self):
        def later(container):
            # Still running at the runner's first look.
            time.sleep(0.2)
            container.emit(b'done\n')
            container.exit(0)
        for name in ('one', 'two', 'three'):
            self.driver.behaviours[name] = later
        uuid = self.submit(names=('one', 'two', 'three'))
        thread, out = self.run_in_thread(uuid)
        thread.join(30)
        self.assertFalse(thread.is_alive(), 'the runner waited for a tick')
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])

    def test_output_is_stored_while_the_step_runs(self):
        release = threading.Event()

        def one(container):
            # Once the runner waits for the step's next event.
            time.sleep(0.3)
            container.emit(b'first line\n')
            release.wait(10)
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one',))
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: self.log(uuid, 0) == b'first line\n',
                      timeout=10)
        release.set()
        thread.join(30)
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])

    def test_cancel_is_seen_at_once(self):
        self.driver.behaviours['one'] = fake_driver.hang
        uuid = self.submit(names=('one', 'two'))
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: self.step_statuses(uuid)[0] == 'running')
        self.dbapi.update_job(uuid, {'status': 'cancelling'})
        self.runner.cancel(uuid)
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertEqual(states.JOB_CANCELLED, out['status'])

    def test_a_failing_wait_is_not_a_busy_loop(self):
        self.runner = runner.JobRunner(
            self.context, conf.CONF, self.driver, HOST, engine_grace=0.3,
            poll_interval=0.5, retry_interval=0.1, log_drain_timeout=5)
        calls = []

        def wait(handle, timeout):
            calls.append(timeout)
            raise RuntimeError('wait refused')
        self.driver.wait = wait

        def one(container):
            time.sleep(1.0)
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one',))
        thread, out = self.run_in_thread(uuid)
        thread.join(30)
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])
        # About one a retry_interval for the second it ran, not thousands.
        self.assertLess(len(calls), 30)

    def test_an_exit_the_wait_reported_needs_no_inspect(self):
        def later(container):
            time.sleep(0.2)     # running at the runner's first look
            container.emit(b'done\n')
            container.exit(0)
        self.driver.behaviours['one'] = later
        uuid = self.submit(names=('one',))
        thread, out = self.run_in_thread(uuid)
        thread.join(30)
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])
        # The wait said 0; the engine's wait itself inspects (fake: no).
        self.assertNotIn('state', self.driver.calls)

    def test_a_failed_exit_is_inspected_for_its_error(self):
        def oom(container):
            time.sleep(0.2)
            container.exit(137, error='OOMKilled')
        self.driver.behaviours['one'] = oom
        uuid = self.submit(names=('one',))
        thread, out = self.run_in_thread(uuid)
        thread.join(30)
        self.assertEqual(states.JOB_FAILED, out['status'])
        self.assertIn('OOMKilled', self.job(uuid).steps[0].status_reason)


class TestReaper(ExecutorTestCase):
    """Containers of finished steps are removed off the job's path, and
    all of them before the job is final.
    """

    def test_next_step_does_not_wait_for_a_removal(self):
        removing = threading.Event()
        started = []
        real_cleanup = self.driver.cleanup
        real_start = self.driver.start

        def slow_cleanup(handle):
            removing.set()
            time.sleep(0.5)
            started_meanwhile.append(len(started))
            real_cleanup(handle)

        def start(spec):
            started.append(spec.step_index)
            return real_start(spec)
        started_meanwhile = []
        self.driver.cleanup = slow_cleanup
        self.driver.start = start
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        # Step two started while step one's container was being removed.
        self.assertEqual(2, started_meanwhile[0])
        # Both removed before the job was final.
        job = self.job(uuid)
        self.assertEqual(2, len(self.driver.cleaned))
        self.assertTrue(all(c.removed for c in self.driver.created))
        self.assertEqual(states.JOB_SUCCEEDED, job.status)

    def test_the_job_is_final_only_after_its_last_removal(self):
        seen = []
        real_cleanup = self.driver.cleanup

        def slow_cleanup(handle):
            time.sleep(0.3)
            seen.append(self.job(uuid).status)
            real_cleanup(handle)
        self.driver.cleanup = slow_cleanup
        uuid = self.submit(names=('one',))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual([states.JOB_RUNNING], seen)

    def test_reaper_waits_for_every_removal(self):
        reaper = job_tools.Reaper()
        done = []
        for n in range(3):
            reaper.submit(lambda n=n: (time.sleep(0.1), done.append(n)),
                          'c%012d' % n)
        reaper.wait()
        self.assertEqual([0, 1, 2], sorted(done))
