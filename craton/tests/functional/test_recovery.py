# SPDX-License-Identifier: Apache-2.0
"""Restart safety: craton-all killed with SIGKILL mid-step and started
again. The step's container outlives the process; the new process
reattaches to it (or records its exit, or reports it lost) and never starts
a step twice."""

import json
import time


from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import jobtask
from craton.tests.functional import swarmenv

LINES = 40


@dbfixtures.requires_functional
class RestartTest(deployment.DeployedTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        jobtask.register(cls.api, cls.root)
        cls.api.add_hosts(['compute-01'])

    def setUp(self):
        super().setUp()
        # A failed test must not leave the next one without a service.
        self.addCleanup(self._ensure_running)

    def _ensure_running(self):
        _, proc = self.deploy.procs['craton-all-1']
        if proc.poll() is not None:
            self.deploy.restart('craton-all-1')

    def submit(self, name, variables):
        self.api.create_workflow(name, [
            {'name': 'first', 'task': 'jobtask', 'variables': variables},
            {'name': 'second', 'task': 'jobtask'}])
        return self.api.submit_job({'hosts': ['compute-01']},
                                   workflow=name)['uuid']

    def wait_log(self, job_uuid, needle, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data, _ = self.api.full_log(job_uuid, 0)
            if needle in data:
                return data
            time.sleep(0.2)
        self.fail('%r never appeared in the log of %s' % (needle, job_uuid))

    def containers(self, job_uuid):
        return jobtask.docker_client().containers.list(
            all=True, filters={'label': 'craton.job=%s' % job_uuid})

    def recorder(self):
        """Counts what the driver creates per step (containers here)."""
        return jobtask.CreateRecorder()

    def test_sigkill_mid_step_reattaches(self):
        recorder = self.recorder()
        self.addCleanup(recorder.stop)
        job_uuid = self.submit('reattach', {'lines': LINES,
                                            'interval': 0.15})
        before = self.wait_log(job_uuid, b'line 5\n')
        self.deploy.kill('craton-all-1')
        # The container outlived the process and still runs.
        [container] = self.containers(job_uuid)
        self.assertEqual('running', container.status)
        self.deploy.restart('craton-all-1')
        job = self.api.wait_job(job_uuid)
        self.assertEqual('succeeded', job['status'], job)
        self.assertEqual(['succeeded', 'succeeded'],
                         [s['status'] for s in job['steps']])
        log, complete = self.api.full_log(job_uuid, 0)
        self.assertTrue(complete)
        self.assertTrue(log.startswith(before))
        # Byte for byte what the container printed: every numbered line
        # once, then the result line; nothing lost, nothing doubled.
        self.assertEqual(jobtask.expected_log(LINES,
                                              jobtask.result_line(log)), log)
        result = json.loads(jobtask.result_line(log).split('::', 2)[2])
        self.assertEqual('first', result['step'])
        self.assertEqual({'0': 1, '1': 1},
                         recorder.creates(job_uuid))
        self.assertEqual([], self.containers(job_uuid))

    def test_container_exited_while_down_is_recorded(self):
        recorder = self.recorder()
        self.addCleanup(recorder.stop)
        job_uuid = self.submit('exited', {'lines': 3, 'interval': 0.1,
                                          'sleep': 3, 'exit_code': 4})
        self.wait_log(job_uuid, b'line 2\n')
        self.deploy.kill('craton-all-1')
        deadline = time.monotonic() + 30
        while self.containers(job_uuid)[0].status != 'exited':
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.3)
        self.deploy.restart('craton-all-1')
        job = self.api.wait_job(job_uuid)
        self.assertEqual('failed', job['status'])
        self.assertEqual(['failed', 'skipped'],
                         [s['status'] for s in job['steps']])
        self.assertEqual(4, job['steps'][0]['exit_code'])
        log, complete = self.api.full_log(job_uuid, 0)
        self.assertTrue(complete)
        self.assertEqual(jobtask.expected_log(3, jobtask.result_line(log)),
                         log)
        self.assertEqual({'0': 1}, recorder.creates(job_uuid))

    def test_container_gone_while_down_is_lost(self):
        job_uuid = self.submit('gone', {'lines': 1, 'sleep': 120})
        self.wait_log(job_uuid, b'line 0\n')
        self.deploy.kill('craton-all-1')
        for container in self.containers(job_uuid):
            container.remove(force=True)
        self.deploy.restart('craton-all-1')
        job = self.api.wait_job(job_uuid, timeout=60)
        self.assertEqual('failed', job['status'])
        self.assertEqual(['lost', 'skipped'],
                         [s['status'] for s in job['steps']])
        self.assertIn('first', job['status_reason'])
        self.assertTrue(job['steps'][0]['status_reason'])

    def test_sigkill_while_pending_still_runs(self):
        # Killed right after the API wrote the job: the restarted
        # process's sweep (or reclaim) runs it; nothing stays pending.
        job_uuid = self.submit('pending', {})
        self.deploy.kill('craton-all-1')
        self.deploy.restart('craton-all-1')
        job = self.api.wait_job(job_uuid)
        self.assertEqual('succeeded', job['status'])


@swarmenv.requires_swarm
class SwarmRestartTest(RestartTest):
    """The same restarts with the swarm driver: the step's service
    outlives craton-all, which finds it again by its labels.
    """

    @classmethod
    def deployment_extra(cls):
        return swarmenv.deployment_extra()

    def containers(self, job_uuid):
        return swarmenv.step_services(job_uuid)

    def recorder(self):
        return jobtask.ServiceCreateRecorder(swarmenv.manager_url())
