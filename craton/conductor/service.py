"""A conductor: claims work, runs it on bounded pools, and recovers.

Start-up follows a fixed order: register (heartbeat row), take back this
host's own claims (reattaching to containers that outlived the previous
process), then start the periodic heartbeat and the sweep that picks up
unclaimed work and takes over the work of conductors whose heartbeat
stopped.
"""

import threading
import types

from oslo_log import log as logging

from craton.common import context as craton_context
from craton.common import exception
from craton.conductor.builds import builder
from craton.conductor import drivers
from craton.conductor.drivers.swarm import cleanup as image_cleanup
from craton.conductor.drivers.swarm import periodic as sync_periodic
from craton.conductor.jobs import runner
from craton.conductor import pools
from craton.db import api as db_api
from craton.objects import task as task_obj

LOG = logging.getLogger(__name__)


class ConductorService:
    """Everything one conductor process does, minus the RPC transport."""

    def __init__(self, conf, host=None):
        self.conf = conf
        self.host = host or conf.host
        self.context = craton_context.get_admin_context()
        self.dbapi = db_api.get_instance()
        self.jobs = pools.BoundedPool('job', conf.conductor.job_workers)
        self.builds = pools.BoundedPool('build', conf.builder.workers)
        self._stop = threading.Event()
        self._threads = []
        self._runner = None

    @property
    def runner(self):
        if self._runner is None:
            driver = drivers.get_driver(self.conf)
            self._runner = runner.JobRunner(self.context, self.conf,
                                              driver, self.host)
        return self._runner

    # Life cycle
    def start(self):
        """Register, recover this host's claims, start periodic work."""
        self.dbapi.register_conductor(self.host)
        LOG.info('Conductor %s registered', self.host)
        self.recover_own_claims()
        periodic = [('heartbeat', self.conf.conductor.heartbeat_interval,
                     self.heartbeat),
                    ('sweep', self.conf.conductor.sweep_interval, self.sweep)]
        if self.conf.conductor.execution_driver == 'swarm':
            periodic.append(('swarm-sync', self.conf.swarm.sync_interval,
                             self.sync_images))
        for name, interval, func in periodic:
            thread = threading.Thread(target=self._periodic,
                                      args=(name, interval, func),
                                      name='craton-%s' % name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, graceful=True):
        """Stop periodic work. Running jobs' containers keep running; with
        ``graceful`` the conductor is marked offline so others take over
        at once instead of waiting for the heartbeat to go stale.
        """
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.jobs.shutdown()
        self.builds.shutdown()
        if graceful:
            self.dbapi.unregister_conductor(self.host)

    def _periodic(self, name, interval, func):
        while not self._stop.wait(interval):
            try:
                func()
            except Exception:
                # A database blip must not kill the loop; the next round
                # tries again.
                LOG.exception('Periodic %s failed', name)

    # Periodic tasks
    def heartbeat(self):
        if not self.dbapi.touch_conductor(self.host):
            self.dbapi.register_conductor(self.host)

    def sweep(self):
        """Resume own work whose worker died, take over dead conductors'
        work, then claim unclaimed work.
        """
        # A runner that ended on an unexpected error (a database blip) left
        # its job claimed and unfinished: run it again, it resumes.
        for uuid in self.dbapi.list_job_claims(self.host):
            if not self.jobs.running(uuid):
                LOG.warning('Resuming job %s, whose runner stopped', uuid)
                if not self.jobs.submit_owned(uuid, self._run_job, uuid):
                    break
        for uuid in self.dbapi.list_task_claims(self.host):
            if not self.builds.running(uuid):
                self.builds.submit_owned(uuid, self._build, uuid)
        dead = [h for h in self.dbapi.list_dead_conductors(
            self.conf.conductor.heartbeat_timeout) if h != self.host]
        for other in dead:
            for uuid in self.dbapi.list_job_claims(other):
                self.try_run(uuid, from_host=other)
            for uuid in self.dbapi.list_task_claims(other):
                self.try_build(uuid, from_host=other)
        for uuid in self.dbapi.list_unclaimed_jobs():
            if not self.try_run(uuid):
                break
        for uuid in self.dbapi.list_unclaimed_builds():
            if not self.try_build(uuid):
                break

    def recover_own_claims(self):
        """Resume what this host had claimed before it stopped."""
        for uuid in self.dbapi.list_job_claims(self.host):
            LOG.info('Resuming job %s claimed before restart', uuid)
            self.jobs.submit_owned(uuid, self._run_job, uuid)
        for uuid in self.dbapi.list_task_claims(self.host):
            LOG.info('Rebuilding task %s interrupted by restart', uuid)
            self.builds.submit_owned(uuid, self._build, uuid)

    # Jobs
    def try_run(self, job_uuid, from_host=None):
        """Claim and start a job if a worker is free.

        Returns False only when the pool is full (the caller should stop
        claiming); a job another conductor owns is not an error.
        """
        if self.jobs.running(job_uuid):
            return True
        if not self.jobs.has_room():
            return False
        if not self.dbapi.claim_job(job_uuid, self.host, from_host):
            return True
        if from_host:
            LOG.warning('Took over job %s from conductor %s', job_uuid,
                        from_host)
        if not self.jobs.submit_owned(job_uuid, self._run_job, job_uuid):
            # Filled up between the check and the claim: give it back.
            self.dbapi.release_job(job_uuid, self.host)
            return False
        return True

    def _run_job(self, job_uuid):
        self.runner.run(job_uuid)

    def cancel(self, job_uuid):
        if self.jobs.running(job_uuid):
            self.runner.cancel(job_uuid)
        else:
            # Not ours or not started: a pending job is finished off as
            # cancelled by whoever claims it; claim it now to do so.
            self.try_run(job_uuid)

    # Builds
    def try_build(self, task_uuid, from_host=None):
        if self.builds.running(task_uuid):
            return True
        if not self.builds.has_room():
            return False
        if not self.dbapi.claim_task(task_uuid, self.host, from_host):
            return True
        if not self.builds.submit_owned(task_uuid, self._build, task_uuid):
            self.dbapi.release_task(task_uuid, self.host)
            return False
        return True

    def _build(self, task_uuid):
        try:
            task = task_obj.Task.get(self.context, task_uuid)
        except exception.TaskNotFound:
            return
        try:
            builder.build_task(task, self.conf)
        finally:
            self.dbapi.release_task(task_uuid, self.host)

    def delete_task_images(self, task_uuid):
        """Remove a deleted task's images from the engine, and with a
        registry from it and from every Swarm node.
        """
        try:
            builder.remove_task_images(types.SimpleNamespace(uuid=task_uuid),
                                       self.conf)
        finally:
            if self.conf.docker.registry:
                image_cleanup.remove_all_images(task_uuid, self.conf)

    # Swarm
    def sync_images(self):
        """Periodic: ready tasks' images onto Swarm nodes lacking them."""
        sync_periodic.resync(self.conf, host=self.host)
