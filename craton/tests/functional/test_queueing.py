# SPDX-License-Identifier: Apache-2.0
"""Queued work on a real craton-all starts when a worker frees.

The sweep runs every ten minutes here, so anything that waited for it
would miss these tests' deadlines by far: builds and jobs beyond the pool
size must be started by the worker that frees before them.
"""

import os
import re
import time

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment

# Generous on a busy 2-core machine, and far below the sweep's 600 s.
DEADLINE = 120


@dbfixtures.requires_functional
class QueueTest(deployment.DeployedTestCase):

    @classmethod
    def deployment_extra(cls):
        return {'conductor': {'sweep_interval': '600', 'job_workers': '2'},
                'builder': {'workers': '2'}}

    def _busybox_task(self, name, step_seconds=1):
        # Builds and steps that outlast the POSTs that queue them: the
        # items beyond the pool are queued, not started by their casts.
        path = deployment.task_dir(self.root, name, dockerfile=(
            'FROM craton/busybox:latest\nRUN echo %s > /marker && sleep 2\n'
            % name))
        return self.api.create_task(name, path,
                                    ['sh', '-c', 'sleep %d' % step_seconds])

    def _freed_lines(self, kind):
        return re.findall(
            r'%s (\S+) started at \S+, ([0-9.]+) ms after \S+ freed its '
            r'worker' % kind, self.deploy.log('craton-all-1'))

    def test_tasks_created_at_once_are_all_ready_without_the_sweep(self):
        stamp = os.getpid()
        tasks = [self._busybox_task('queued-%d-%d' % (stamp, i))
                 for i in range(4)]
        started = time.monotonic()
        for task in tasks:
            self.api.wait_task(task['uuid'], timeout=DEADLINE)
        self.assertLess(time.monotonic() - started, DEADLINE)
        # Two builders, four builds: a freed builder started the queued
        # ones (the deadline shows none waited for the sweep).
        started_by_freed = {uuid for uuid, _ in self._freed_lines('build')}
        self.assertTrue(started_by_freed & {t['uuid'] for t in tasks[2:]})

    def test_jobs_beyond_the_pool_run_without_the_sweep(self):
        # Steps long enough that all six casts come while both workers
        # are busy, even on a loaded machine (a cast that finds a free
        # worker starts its job itself, and rightly so).
        task = self._busybox_task('queued-job-%d' % os.getpid(),
                                  step_seconds=5)
        self.api.wait_task(task['uuid'], timeout=DEADLINE)
        self.api.post('/v1/tasks/%s/approve' % task['uuid'], expect=200)
        self.api.add_hosts(['queue-host'])
        jobs = [self.api.submit_job({'hosts': ['queue-host']},
                                    task=task['name']) for _ in range(6)]
        for job in jobs:
            done = self.api.wait_job(job['uuid'], timeout=DEADLINE)
            self.assertEqual('succeeded', done['status'], done)
        # The deadline above is what proves nothing waited for the sweep;
        # the service's own log shows the path that started them. (How
        # many of the six a freed worker started, rather than a cast that
        # found a worker free, depends on the machine's timing.)
        started_by_freed = {uuid for uuid, _ in self._freed_lines('job')}
        self.assertTrue(started_by_freed & {j['uuid'] for j in jobs[2:]})
