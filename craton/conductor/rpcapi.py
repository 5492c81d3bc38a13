# SPDX-License-Identifier: Apache-2.0
"""Client side of the conductor RPC API."""

from craton.common import rpc
from craton import conf as craton_conf


class ConductorAPI:
    """Casts and calls to the conductors.

    API version history:
        1.0 - Initial version: build_task, delete_task_images, run_job,
              cancel_job.
    """

    RPC_API_VERSION = '1.0'

    def __init__(self, conf=None):
        self.conf = conf or craton_conf.CONF
        self.client = rpc.get_client(self.conf, self.RPC_API_VERSION)

    def build_task(self, context, task_uuid):
        """Ask a conductor to build (or rebuild) a task's image."""
        cctxt = self.client.prepare(version='1.0')
        cctxt.cast(context, 'build_task', task_uuid=task_uuid)

    def delete_task_images(self, context, task_uuid):
        """Ask a conductor to remove a deleted task's images."""
        cctxt = self.client.prepare(version='1.0')
        cctxt.cast(context, 'delete_task_images', task_uuid=task_uuid)

    def run_job(self, context, job_uuid):
        """Wake a conductor to claim and run a job (the row is the record;
        a lost cast is caught by the sweep).
        """
        cctxt = self.client.prepare(version='1.0')
        cctxt.cast(context, 'run_job', job_uuid=job_uuid)

    def cancel_job(self, context, job_uuid):
        """Tell conductors a job is cancelling so its owner stops it now."""
        cctxt = self.client.prepare(version='1.0', fanout=True)
        cctxt.cast(context, 'cancel_job', job_uuid=job_uuid)
