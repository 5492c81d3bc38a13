# SPDX-License-Identifier: Apache-2.0
"""What a step gets from its conductor: the claim check and the host
snapshot read once."""

from craton.common import exception
from craton.common import states
from craton.conductor.jobs import tools
from craton.objects import job as job_obj
from craton.tests import base


class TestTools(base.TestCase):

    def _job(self, conductor=None):
        job = job_obj.Job.submit(
            self.context, {'project_id': self.context.project_id,
                           'status': states.JOB_PENDING,
                           'conductor': conductor},
            [{'name': 's', 'task_uuid': '0b6f3c4e-6d1a-4a53-9a8e-'
              '2f0f1b7b9c11', 'timeout': 5}], [{'name': 'h1'}])
        return job

    def test_fresh_job_checks_the_claim(self):
        job = self._job(conductor='c1')
        fresh = tools.fresh_job(job, 'c1')
        self.assertEqual((job.uuid, states.JOB_PENDING, 'c1'),
                         (fresh.uuid, fresh.status, fresh.conductor))
        self.assertRaises(tools.JobTakenOver, tools.fresh_job, job, 'c2')

    def test_fresh_job_reads_the_status_written_since(self):
        job = self._job(conductor='c1')
        self.assertTrue(job.update({'status': states.JOB_CANCELLING}))
        self.assertEqual(states.JOB_CANCELLING,
                         tools.fresh_job(job, 'c1').status)

    def test_fresh_job_of_a_deleted_job(self):
        job = self._job(conductor='c1')
        job.uuid = '5b0c6f9e-2d0e-4c57-8e3a-64a3c0d4e2a1'
        self.assertRaises(exception.JobNotFound, tools.fresh_job, job, 'c1')

    def test_inventory_is_read_once_and_only_when_asked(self):
        job = self._job()
        reads = []
        real = job.inventory

        def inventory():
            reads.append(1)
            return real()
        job.inventory = inventory
        hosts = tools.Inventory(job)
        self.assertEqual([], reads)
        self.assertEqual(['h1'], [h['name'] for h in hosts()])
        self.assertIs(hosts(), hosts())
        self.assertEqual([1], reads)
