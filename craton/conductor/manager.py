# SPDX-License-Identifier: Apache-2.0
"""Server side of the conductor RPC API: thin endpoints.

The work lives in :mod:`craton.conductor.service` (claims, pools, recovery),
:mod:`craton.conductor.builds.builder` and :mod:`craton.conductor.jobs.runner`.
"""

import oslo_messaging as messaging

from craton.common import exception


class ConductorManager:
    """RPC endpoints of a conductor."""

    RPC_API_VERSION = '1.0'
    target = messaging.Target(version=RPC_API_VERSION)

    def __init__(self, service):
        self.service = service

    @messaging.expected_exceptions(exception.CratonException)
    def build_task(self, context, task_uuid):
        """Claim a task and build its image (no-op if another conductor
        already owns the build).
        """
        self.service.try_build(task_uuid)

    def delete_task_images(self, context, task_uuid):
        """Remove the images of a task that was deleted."""
        self.service.delete_task_images(task_uuid)

    @messaging.expected_exceptions(exception.CratonException)
    def run_job(self, context, job_uuid):
        """Claim a job and run it, if a worker is free; otherwise the job
        waits, pending, for the sweep.
        """
        self.service.try_run(job_uuid)

    def cancel_job(self, context, job_uuid):
        """Wake the runner of a cancelling job so it stops its step now."""
        self.service.cancel(job_uuid)
