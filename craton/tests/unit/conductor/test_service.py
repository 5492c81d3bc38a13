# SPDX-License-Identifier: Apache-2.0
"""Claims, bounded pools, sweep and recovery of the conductor service."""

import collections
import logging
import threading
import time
from unittest import mock

import fixtures

from craton.common import fsm
from craton.common import states
from craton.conductor import manager
from craton.conductor import pools
from craton.conductor import rpcapi
from craton.conductor import service
from craton.db import api as db_api
from craton.objects import job as job_obj
from craton.objects import task as task_obj
from craton.tests import base

TASK_UUID = '00000000-0000-0000-0000-000000000000'


class FakeRunner:
    def __init__(self):
        self.ran = []
        self.release = threading.Event()
        self.cancelled = []

    def run(self, job_uuid):
        self.ran.append(job_uuid)
        self.release.wait(10)
        # Like the real runner, leave the job final (so no longer a claim).
        db_api.get_instance().update_job(
            job_uuid, {'status': states.JOB_SUCCEEDED})

    def cancel(self, job_uuid):
        self.cancelled.append(job_uuid)


class ServiceTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config(job_workers=2, group='conductor')
        self.dbapi = db_api.get_instance()
        self.svc = service.ConductorService(self.config_obj(), host='c1')
        self.runner = FakeRunner()
        self.svc._runner = self.runner
        self.addCleanup(self.runner.release.set)

    def config_obj(self):
        from craton import conf
        return conf.CONF

    def _job(self):
        job = job_obj.Job.submit(
            self.context, {'project_id': self.context.project_id,
             'status': states.JOB_PENDING},
            [{'name': 's', 'task_uuid': TASK_UUID, 'timeout': 5}],
            [{'name': 'h'}])
        return job.uuid

    def _wait_ran(self, count):
        for _ in range(200):
            if len(self.runner.ran) >= count:
                return
            threading.Event().wait(0.01)
        self.fail('runner ran %s jobs, expected %s' % (self.runner.ran,
                                                       count))

    def test_try_run_claims_and_runs(self):
        uuid = self._job()
        self.assertTrue(self.svc.try_run(uuid))
        self._wait_ran(1)
        self.assertEqual(['c1'], [j.conductor for j in
                                  job_obj.Job.list(self.context)])

    def test_job_claimed_elsewhere_is_not_run(self):
        uuid = self._job()
        self.assertTrue(self.dbapi.claim_job(uuid, 'other'))
        self.assertTrue(self.svc.try_run(uuid))
        self.assertEqual([], self.runner.ran)

    def test_full_pool_leaves_job_pending_and_unclaimed(self):
        uuids = [self._job() for _ in range(3)]
        self.svc.sweep()
        self._wait_ran(2)
        jobs = {j.uuid: j for j in job_obj.Job.list(self.context)}
        self.assertIsNone(jobs[uuids[2]].conductor)
        self.assertEqual(states.JOB_PENDING, jobs[uuids[2]].status)
        # A worker frees: the next sweep picks the waiting job up.
        self.runner.release.set()
        for _ in range(200):
            if not self.svc.jobs.active():
                break
            threading.Event().wait(0.01)
        self.svc.sweep()
        self._wait_ran(3)
        self.assertEqual(uuids, self.runner.ran[:3])

    def test_sweep_takes_over_dead_conductor(self):
        uuid = self._job()
        self.dbapi.register_conductor('dead')
        self.assertTrue(self.dbapi.claim_job(uuid, 'dead'))
        self.dbapi.unregister_conductor('dead')
        self.svc.sweep()
        self._wait_ran(1)
        self.assertEqual('c1', job_obj.Job.get(self.context, uuid).conductor)

    def test_sweep_resumes_own_job_whose_runner_died(self):
        uuid = self._job()
        self.runner.run = mock.Mock(side_effect=[RuntimeError('db blip'),
                                                 None])
        self.svc.try_run(uuid)
        for _ in range(200):
            if not self.svc.jobs.active():
                break
            threading.Event().wait(0.01)
        self.assertEqual(1, self.runner.run.call_count)
        self.svc.sweep()
        for _ in range(200):
            if self.runner.run.call_count == 2:
                break
            threading.Event().wait(0.01)
        self.assertEqual(2, self.runner.run.call_count)

    def test_live_conductor_keeps_its_jobs(self):
        uuid = self._job()
        self.dbapi.register_conductor('alive')
        self.assertTrue(self.dbapi.claim_job(uuid, 'alive'))
        self.svc.sweep()
        self.assertEqual([], self.runner.ran)

    def test_start_resumes_own_claims(self):
        uuid = self._job()
        self.assertTrue(self.dbapi.claim_job(uuid, 'c1'))
        self.config(heartbeat_interval=3600, sweep_interval=3600,
                    group='conductor')
        self.svc.start()
        self.addCleanup(self.svc.stop)
        self._wait_ran(1)
        self.assertEqual([uuid], self.runner.ran)

    def test_periodic_work_survives_failures_and_slow_neighbours(self):
        self.config(heartbeat_interval=1, sweep_interval=3600,
                    group='conductor')
        beats = []
        stuck = threading.Event()

        def heartbeat():
            beats.append(1)
            if len(beats) == 1:
                raise RuntimeError('a database blip')

        def slow():
            stuck.wait(30)
        self.svc.heartbeat = heartbeat
        self.svc.driver.periodic_tasks = lambda: [('slow', 1, slow)]
        self.svc.start()
        self.addCleanup(self.svc.stop, graceful=False)
        self.addCleanup(stuck.set)      # runs first
        for _ in range(500):
            if len(beats) >= 3:
                break
            threading.Event().wait(0.01)
        # Beats go on after one failed and while another periodic hangs.
        self.assertGreaterEqual(len(beats), 3)

    def test_a_slow_periodic_waits_its_spacing_after_each_run(self):
        self.config(heartbeat_interval=3600, sweep_interval=3600,
                    group='conductor')
        runs = []

        def slow():
            started = time.monotonic()
            time.sleep(1.2)     # longer than its spacing
            runs.append((started, time.monotonic()))
        self.svc.driver.periodic_tasks = lambda: [('slow', 1, slow)]
        self.svc.start()
        self.addCleanup(self.svc.stop, graceful=False)
        for _ in range(600):
            if len(runs) >= 2:
                break
            threading.Event().wait(0.01)
        self.assertGreaterEqual(len(runs), 2)
        # The second run starts a spacing after the first one ended, not
        # as soon as it ended.
        self.assertGreaterEqual(runs[1][0] - runs[0][1], 0.9)

    def test_stop_does_not_wait_for_a_hung_periodic(self):
        self.config(heartbeat_interval=3600, sweep_interval=3600,
                    group='conductor')
        entered, stuck = threading.Event(), threading.Event()
        self.addCleanup(stuck.set)

        def hung():
            entered.set()
            stuck.wait(60)
        self.svc.driver.periodic_tasks = lambda: [('hung', 1, hung)]
        self.svc.start()
        self.assertTrue(entered.wait(10))
        started = time.monotonic()
        self.svc.stop(graceful=False)
        # Before: the conductor waited 10 s for it.
        self.assertLess(time.monotonic() - started, 5)

    def _task(self, status, source=None):
        task = task_obj.Task(
            self.context, name='t-%s' % status, project_id='p',
            source=source or {'type': 'local', 'path': '/x'},
            command=['sh'], timeout=5, status=status, approval='pending',
            visibility='private', build_number=0)
        task.create()
        self.assertTrue(self.dbapi.claim_task(task.uuid, 'c1'))
        return task.uuid

    def test_a_late_cast_leaves_finished_and_waiting_tasks_alone(self):
        uuids = [self._task(states.TASK_READY), self._task(states.TASK_ERROR),
                 self._task(states.TASK_PENDING, {'type': 'upload'})]
        with mock.patch.object(service.builder, 'build_task') as build:
            for uuid in uuids:
                self.svc._build(uuid)
        build.assert_not_called()
        self.assertEqual([], self.dbapi.list_task_claims('c1'))

    def test_a_build_stopped_by_a_change_is_built_again_at_once(self):
        uuid = self._task(states.TASK_PENDING)
        seen = []

        def build(task, conf, driver, owner=None):
            seen.append((task.status, owner))
            if len(seen) == 2:
                self.assertTrue(task.start_build(owner=owner))
                self.assertTrue(task.transition(fsm.TASK_DONE, owner=owner))
            # The first one lost its race to a rebuild: still pending.
        with mock.patch.object(service.builder, 'build_task', build):
            self.svc._build(uuid)
        self.assertEqual([(states.TASK_PENDING, 'c1')] * 2, seen)
        task = task_obj.Task.get(self.svc.context, uuid)
        self.assertEqual((states.TASK_READY, None),
                         (task.status, task.conductor))

    def test_cancel_wakes_running_job(self):
        uuid = self._job()
        self.svc.try_run(uuid)
        self._wait_ran(1)
        self.svc.cancel(uuid)
        self.assertEqual([uuid], self.runner.cancelled)


class GatedRunner:
    """A runner whose jobs end one by one, when the test opens their
    gate; records (job, monotonic time) as each starts.
    """

    def __init__(self, gated=True):
        self.started = []
        self.gates = collections.defaultdict(threading.Event)
        self.gated = gated
        self.lock = threading.Lock()

    def run(self, job_uuid):
        with self.lock:
            self.started.append((job_uuid, time.monotonic()))
        if self.gated:
            self.gates[job_uuid].wait(10)
        db_api.get_instance().update_job(
            job_uuid, {'status': states.JOB_SUCCEEDED})

    def order(self):
        with self.lock:
            return [uuid for uuid, _ in self.started]

    def wait_started(self, count, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.started) >= count:
                return self.order()
            time.sleep(0.005)
        raise AssertionError('%d jobs started, expected %d: %s' % (
            len(self.started), count, self.order()))


class QueueTestCase(base.TestCase):
    """Queued work starts when a worker frees, never at the sweep only."""

    def setUp(self):
        super().setUp()
        # No sweep during a test: what starts, a freed worker started.
        self.config(heartbeat_interval=3600, sweep_interval=3600,
                    group='conductor')
        self.dbapi = db_api.get_instance()

    def _service(self, host, workers, runner):
        from craton import conf
        self.config(job_workers=workers, group='conductor')
        svc = service.ConductorService(conf.CONF, host=host)
        svc._runner = runner
        return svc

    def _job(self, project='p1'):
        return job_obj.Job.submit(
            self.context, {'project_id': project,
                           'status': states.JOB_PENDING},
            [{'name': 's', 'task_uuid': TASK_UUID, 'timeout': 5}],
            [{'name': 'h'}]).uuid

    def test_next_job_starts_when_a_worker_frees(self):
        runner = GatedRunner()
        svc = self._service('c1', 1, runner)
        svc.start()
        self.addCleanup(svc.stop, graceful=False)
        uuids = [self._job() for _ in range(3)]
        # The API's casts: the first starts, the others find no room.
        self.assertEqual([True, False, False],
                         [svc.try_run(uuid) for uuid in uuids])
        self.assertEqual(uuids[:1], runner.wait_started(1))
        for i in range(2):
            freed = time.monotonic()
            runner.gates[uuids[i]].set()
            self.assertEqual(uuids[:i + 2], runner.wait_started(i + 2))
            # At once: the sweep is an hour away.
            self.assertLess(runner.started[i + 1][1] - freed, 2)
        runner.gates[uuids[2]].set()
        for _ in range(500):
            if not svc.jobs.active():
                break
            time.sleep(0.01)
        self.assertEqual([states.JOB_SUCCEEDED] * 3,
                         [self.dbapi.get_job(None, u).status
                          for u in uuids])

    def test_the_start_is_logged_with_both_times(self):
        runner = GatedRunner()
        svc = self._service('c1', 1, runner)
        first, second = self._job(), self._job()
        logs = self.useFixture(fixtures.FakeLogger(
            name='craton.conductor.pools', level=logging.DEBUG))
        svc.fill_jobs()
        runner.gates[first].set()
        runner.wait_started(2)
        runner.gates[second].set()
        self.assertRegex(
            logs.output, r'job %s started at \S+, [0-9.]+ ms after %s '
            r'freed its worker at \S+' % (second, first))

    def test_projects_share_the_workers(self):
        runner = GatedRunner()
        svc = self._service('c1', 2, runner)
        a = [self._job('pa') for _ in range(3)]
        b = [self._job('pb') for _ in range(2)]
        svc.fill_jobs()
        # Oldest first would give project pa both workers.
        self.assertEqual({a[0], b[0]}, set(runner.wait_started(2)))
        runner.gates[a[0]].set()
        # pa has none running, pb one: pa's next.
        self.assertEqual(a[1], runner.wait_started(3)[2])
        runner.gates[b[0]].set()
        # Each has one running again: pb's waits no longer than pa's.
        self.assertEqual(b[1], runner.wait_started(4)[3])
        runner.gates[a[1]].set()
        self.assertEqual(a[2], runner.wait_started(5)[4])
        for uuid in a + b:
            runner.gates[uuid].set()

    def test_two_conductors_never_run_a_job_twice(self):
        runner = GatedRunner(gated=False)
        services = [self._service(host, 2, runner) for host in ('c1', 'c2')]
        for svc in services:
            self.addCleanup(svc.stop, graceful=False)
        uuids = [self._job('p%d' % (i % 3)) for i in range(24)]
        ready = threading.Barrier(len(services))

        def fill(svc):
            ready.wait(5)
            svc.fill_jobs()
        threads = [threading.Thread(target=fill, args=(svc,))
                   for svc in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        runner.wait_started(len(uuids), timeout=30)
        for _ in range(500):
            if not any(svc.jobs.active() for svc in services):
                break
            time.sleep(0.01)
        self.assertEqual(sorted(uuids), sorted(runner.order()))
        self.assertEqual({'c1', 'c2'}, {self.dbapi.get_job(None,
                                                           u).conductor
                                        for u in uuids})

    def test_builds_start_when_a_builder_frees(self):
        from craton import conf
        self.config(workers=1, group='builder')
        svc = service.ConductorService(conf.CONF, host='c1')
        uuids = []
        for i in range(3):
            task = task_obj.Task(
                self.context, name='t%d' % i, project_id='p',
                source={'type': 'local', 'path': '/x'}, command=['sh'],
                timeout=5, status=states.TASK_PENDING, approval='pending',
                visibility='private', build_number=0)
            task.create()
            uuids.append(task.uuid)
        built = []
        gates = collections.defaultdict(threading.Event)

        def build(task, conf, driver, owner=None):
            built.append(task.uuid)
            gates[task.uuid].wait(10)
            self.assertTrue(task.start_build(owner=owner))
            self.assertTrue(task.transition(fsm.TASK_DONE, owner=owner))
        with mock.patch.object(service.builder, 'build_task', build):
            self.assertEqual([True, False, False],
                             [svc.try_build(uuid) for uuid in uuids])
            for i in range(3):
                for _ in range(500):
                    if len(built) > i:
                        break
                    time.sleep(0.005)
                self.assertEqual(uuids[:i + 1], built)
                gates[uuids[i]].set()
            for _ in range(500):
                if not svc.builds.active():
                    break
                time.sleep(0.01)
        self.assertEqual([states.TASK_READY] * 3,
                         [self.dbapi.get_task(None, u).status
                          for u in uuids])


class PoolTestCase(base.TestCase):

    def test_refuses_when_full(self):
        pool = pools.BoundedPool('job', 1)
        gate = threading.Event()
        self.addCleanup(gate.set)
        self.assertTrue(pool.submit_owned('a', gate.wait, 5))
        self.assertFalse(pool.has_room())
        self.assertFalse(pool.submit_owned('b', gate.wait, 5))
        self.assertTrue(pool.submit_owned('a', gate.wait, 5))
        self.assertEqual(['a'], pool.active())

    def test_a_freed_worker_is_reported_after_its_work(self):
        freed = []
        done = threading.Event()

        def on_free(record):
            # The worker is free by now: the owner may start the next.
            freed.append((record.key, pool.has_room(), pool.active()))
            done.set()
        pool = pools.BoundedPool('job', 1, on_free=on_free)
        pool.submit_owned('a', lambda: None)
        self.assertTrue(done.wait(5))
        self.assertEqual([('a', True, [])], freed)

    def test_no_report_after_shutdown(self):
        freed, gate = [], threading.Event()
        pool = pools.BoundedPool('job', 1, on_free=freed.append)
        pool.submit_owned('a', gate.wait, 5)
        pool.shutdown()
        gate.set()
        for _ in range(200):
            if not pool.active():
                break
            time.sleep(0.01)
        self.assertEqual([], pool.active())
        self.assertEqual([], freed)


class RPCVersionTestCase(base.TestCase):

    def test_client_and_manager_versions_match(self):
        self.assertEqual(rpcapi.ConductorAPI.RPC_API_VERSION,
                         manager.ConductorManager.RPC_API_VERSION)

    def test_local_cast_reaches_manager(self):
        from craton.common import rpc
        endpoint = mock.Mock()
        done = threading.Event()
        endpoint.run_job.side_effect = lambda ctx, job_uuid: done.set()
        rpc.set_local_endpoint(endpoint)
        rpcapi.ConductorAPI().run_job(self.context, 'j1')
        self.assertTrue(done.wait(5))
        endpoint.run_job.assert_called_once_with(mock.ANY, job_uuid='j1')
