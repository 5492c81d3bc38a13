# SPDX-License-Identifier: Apache-2.0
"""What a step gets from its conductor: the claim check and the host
snapshot read once."""

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
        self.assertEqual(job.uuid,
                         tools.fresh_job(self.context, job, 'c1').uuid)
        self.assertRaises(tools.JobTakenOver, tools.fresh_job,
                          self.context, job, 'c2')

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
