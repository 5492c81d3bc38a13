# SPDX-License-Identifier: Apache-2.0
"""The executor after a restart or a takeover, and when it loses the job."""

import threading
import time

from oslo_utils import timeutils

from craton.common import states
from craton.conductor.drivers import base as driver_base
from craton.tests.unit.conductor import fake_driver
from craton.tests.unit.conductor.jobs import test_runner

HOST = test_runner.HOST


class TestRestart(test_runner.ExecutorTestCase):
    """A conductor comes back (or takes over) and calls run() again."""

    def running_step(self, uuid, index=0, container_id='c0001',
                     stored=b''):
        self.dbapi.update_job(uuid, {'status': 'running',
                                     'started_at': timeutils.utcnow()})
        self.set_step(uuid, index, status='running',
                      started_at=timeutils.utcnow(),
                      container_id=container_id)
        if stored:
            step = self.job(uuid).steps[index]
            self.assertTrue(self.dbapi.append_step_log(step.id, 0, stored))

    def test_reattach_to_running_container(self):
        uuid = self.submit(names=('one', 'two'))
        self.running_step(uuid, stored=b'line 1\nline')
        container = self.driver.add_container(uuid, 0,
                                              output=b'line 1\nline 2\n')
        thread, out = self.run_in_thread(uuid)
        time.sleep(0.1)
        container.emit(b'line 3\n::craton-result:: {"ok": true}\n')
        container.exit(0)
        thread.join(5)
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])
        # Step one was never started again; only step two was.
        self.assertEqual([1], [s.step_index for s in self.driver.specs])
        self.assertEqual(
            b'line 1\nline 2\nline 3\n::craton-result:: {"ok": true}\n',
            self.log(uuid, 0))
        self.assertEqual({'ok': True}, self.job(uuid).steps[0].result)
        self.assertEqual({'one': {'ok': True}}, self.payloads()[0]['results'])

    def test_reattach_to_exited_container(self):
        uuid = self.submit(names=('one', 'two'))
        self.running_step(uuid, stored=b'abc')
        self.driver.add_container(uuid, 0, status=driver_base.EXITED,
                                  output=b'abcdef\n', exit_code=4)
        self.assertEqual(states.JOB_FAILED, self.runner.run(uuid))
        self.assertEqual(['failed', 'skipped'], self.step_statuses(uuid))
        self.assertEqual(4, self.job(uuid).steps[0].exit_code)
        self.assertEqual(b'abcdef\n', self.log(uuid, 0))
        self.assertEqual([], self.driver.specs)

    def test_container_gone_is_lost(self):
        uuid = self.submit(names=('one', 'two'))
        self.running_step(uuid, container_id='c0042')
        self.assertEqual(states.JOB_FAILED, self.runner.run(uuid))
        job = self.job(uuid)
        self.assertEqual(['lost', 'skipped'], self.step_statuses(uuid))
        self.assertIn('c0042 vanished while no conductor watched',
                      job.steps[0].status_reason)
        self.assertIn("step 'one' (index 0) was lost", job.status_reason)
        self.assertEqual([], self.driver.specs)

    def test_crash_before_container_existed_starts_once(self):
        uuid = self.submit(names=('one', 'two'))
        self.running_step(uuid, container_id=None)
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual([0, 1], [s.step_index for s in self.driver.specs])
        self.assertEqual(2, len(self.driver.created))
        self.assertEqual(self.driver.created[0].id,
                         self.job(uuid).steps[0].container_id)

    def test_crash_after_start_before_recording_container(self):
        uuid = self.submit(names=('one',))
        self.running_step(uuid, container_id=None)
        container = self.driver.add_container(uuid, 0, output=b'x\n')
        container.exit(0)
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual([], self.driver.specs)
        self.assertEqual(container.id, self.job(uuid).steps[0].container_id)

    def test_created_but_not_started_container_is_started(self):
        uuid = self.submit(names=('one',))
        self.running_step(uuid, container_id='c0001')
        container = self.driver.add_container(uuid, 0,
                                              status=driver_base.CREATED)
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual([], self.driver.created)   # the same container
        self.assertEqual(1, len(self.driver.specs))
        self.assertEqual(b'hello\n', self.log(uuid, 0))
        self.assertTrue(container.removed)

    def test_cancelling_job_on_reattach_kills_the_step(self):
        uuid = self.submit(names=('one', 'two'))
        self.running_step(uuid)
        container = self.driver.add_container(uuid, 0)
        self.dbapi.update_job(uuid, {'status': 'cancelling'})
        self.assertEqual(states.JOB_CANCELLED, self.runner.run(uuid))
        self.assertTrue(container.killed)
        self.assertEqual(['cancelled', 'skipped'], self.step_statuses(uuid))

    def test_killed_for_cancel_before_the_crash(self):
        # The previous conductor killed the step for a cancel and died
        # before recording it.
        uuid = self.submit(names=('one', 'two'))
        self.running_step(uuid)
        self.driver.add_container(uuid, 0, status=driver_base.EXITED,
                                  exit_code=137)
        self.dbapi.update_job(uuid, {'status': 'cancelling'})
        self.assertEqual(states.JOB_CANCELLED, self.runner.run(uuid))
        self.assertEqual(['cancelled', 'skipped'], self.step_statuses(uuid))
        self.assertEqual(137, self.job(uuid).steps[0].exit_code)

    def test_finished_steps_are_not_rerun(self):
        uuid = self.submit()
        self.dbapi.update_job(uuid, {'status': 'running'})
        self.set_step(uuid, 0, status='succeeded', exit_code=0,
                      result={'a': 1})
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual([1, 2], [s.step_index for s in self.driver.specs])
        self.assertEqual({'one': {'a': 1}}, self.payloads()[0]['results'])

    def test_crash_after_a_failure_finishes_the_job(self):
        uuid = self.submit()
        self.dbapi.update_job(uuid, {'status': 'running'})
        self.set_step(uuid, 0, status='failed', exit_code=1,
                      status_reason='exit code 1')
        self.assertEqual(states.JOB_FAILED, self.runner.run(uuid))
        self.assertEqual(['failed', 'skipped', 'skipped'],
                         self.step_statuses(uuid))
        self.assertIn("step 'one' (index 0) failed: exit code 1",
                      self.job(uuid).status_reason)
        self.assertEqual([], self.driver.specs)


class TestOwnership(test_runner.ExecutorTestCase):

    def test_takeover_stops_quietly(self):
        self.driver.behaviours['one'] = fake_driver.hang
        uuid = self.submit(names=('one', 'two'))
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: self.job(uuid).steps[0].container_id)
        self.assertTrue(self.dbapi.claim_job(uuid, 'conductor-2',
                                             from_host=HOST))
        thread.join(5)
        self.assertFalse(thread.is_alive())
        self.assertIsNone(out['status'])
        container = self.driver.created[0]
        self.assertFalse(container.killed)
        self.assertFalse(container.removed)
        job = self.job(uuid)
        self.assertEqual(states.JOB_RUNNING, job.status)
        self.assertEqual(['running', 'pending'], self.step_statuses(uuid))
        self.assertEqual([], self.driver.cleaned_jobs)
        container.exit(0)

    def test_late_write_of_previous_owner_is_followed(self):
        # The previous owner stored a piece of the log after we resumed:
        # we still own the job, so we carry on from the stored length.
        uuid = self.submit(names=('one',))
        release = threading.Event()

        def one(container):
            container.emit(b'first\n')
            release.wait(5)
            container.emit(b'second\n')
            container.exit(0)
        self.driver.behaviours['one'] = one
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: self.log(uuid, 0) == b'first\n')
        step = self.job(uuid).steps[0]
        self.assertTrue(self.dbapi.append_step_log(step.id, 6, b'second\n'))
        release.set()
        thread.join(5)
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])
        self.assertEqual(b'first\nsecond\n', self.log(uuid, 0))

    def test_log_moved_and_job_taken_over_stops(self):
        uuid = self.submit(names=('one',))
        release = threading.Event()

        def one(container):
            container.emit(b'first\n')
            release.wait(5)
            container.emit(b'second\n')
        self.driver.behaviours['one'] = one
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: self.log(uuid, 0) == b'first\n')
        self.assertTrue(self.dbapi.claim_job(uuid, 'conductor-2',
                                             from_host=HOST))
        step = self.job(uuid).steps[0]
        self.assertTrue(self.dbapi.append_step_log(step.id, 6, b'second\n'))
        release.set()
        thread.join(5)
        self.assertIsNone(out['status'])
        self.assertEqual(b'first\nsecond\n', self.log(uuid, 0))
        self.assertEqual(['running'], self.step_statuses(uuid))
        self.assertFalse(self.driver.created[0].killed)
        self.driver.created[0].exit(0)

    def test_step_changed_under_us_is_not_overwritten(self):
        uuid = self.submit(names=('one', 'two'))
        release = threading.Event()

        def one(container):
            release.wait(5)
            container.exit(0)
        self.driver.behaviours['one'] = one
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: self.job(uuid).steps[0].container_id)
        self.set_step(uuid, 0, status='failed', exit_code=9,
                      status_reason='recorded elsewhere')
        release.set()
        thread.join(5)
        self.assertEqual(states.JOB_FAILED, out['status'])
        job = self.job(uuid)
        self.assertEqual(['failed', 'skipped'], self.step_statuses(uuid))
        self.assertEqual(9, job.steps[0].exit_code)
        self.assertIn('recorded elsewhere', job.status_reason)
        self.assertEqual(1, len(self.driver.created))
