# SPDX-License-Identifier: Apache-2.0
"""A conductor: claims work, runs it on bounded pools, and recovers.

Start-up follows a fixed order: register (heartbeat row), take back this
host's own claims (reattaching to containers that outlived the previous
process), fill the free workers with waiting work, then start the periodic
heartbeat and the sweep that takes over the work of conductors whose
heartbeat stopped and picks up what nothing else started.

Queued work does not wait for the sweep: each time a worker frees, the
conductor claims the next waiting job or build at once
(:meth:`ConductorService.fill_jobs`, :meth:`ConductorService.fill_builds`),
in the order :func:`craton.db.sqlalchemy.query.fair_heads` gives: the
oldest item of the project with the fewest items running. Claims are
conditional UPDATEs, so conductors sharing a database never start the same
item twice.
"""

import threading

import futurist
from futurist import periodics
from oslo_log import log as logging

from craton.common import archives
from craton.common import context as craton_context
from craton.common import exception
from craton.common import states
from craton.conductor.builds import builder
from craton.conductor.builds import images
from craton.conductor import drivers
from craton.conductor.jobs import runner
from craton.conductor import pools
from craton.db import api as db_api
from craton.objects import task as task_obj

LOG = logging.getLogger(__name__)

# What a claimed task's build starts from; and how many builds one claim
# runs when the task keeps changing under them (another builder as it
# frees, or the sweep, does the rest).
_BUILDABLE = (states.TASK_PENDING, states.TASK_BUILDING)
_BUILD_ROUNDS = 3

# What an attempt to claim and start one item came to.
_STARTED, _LOST, _FULL = 'started', 'lost', 'full'


class ConductorService:
    """Everything one conductor process does, minus the RPC transport."""

    def __init__(self, conf, host=None):
        self.conf = conf
        self.host = host or conf.host
        self.context = craton_context.get_admin_context()
        self.dbapi = db_api.get_instance()
        self.jobs = pools.BoundedPool('job', conf.conductor.job_workers,
                                      on_free=self._job_worker_freed)
        self.builds = pools.BoundedPool('build', conf.builder.workers,
                                        on_free=self._build_worker_freed)
        self._stopping = False
        self._periodic_worker = None
        self._periodic_executor = None
        self._periodic_thread = None
        self._driver = None
        self._runner = None

    @property
    def driver(self):
        """The configured execution driver (made on first use)."""
        if self._driver is None:
            self._driver = drivers.get_driver(self.conf)
        return self._driver

    @property
    def runner(self):
        """The job runner, on :attr:`driver` (made on first use)."""
        if self._runner is None:
            self._runner = runner.JobRunner(self.context, self.conf,
                                            self.driver, self.host)
        return self._runner

    # Life cycle
    def start(self):
        """Register, recover this host's claims, start periodic work."""
        self.dbapi.register_conductor(self.host)
        LOG.info('Conductor %s registered', self.host)
        self.recover_own_claims()
        # Work queued while no conductor ran starts now, not a sweep later.
        self.fill_jobs()
        self.fill_builds()
        tasks = self.periodic_tasks()
        # One thread each, so a slow Swarm sync never delays a heartbeat;
        # ours to shut down, so stop() does not wait for one that hangs.
        self._periodic_executor = futurist.ThreadPoolExecutor(
            max_workers=len(tasks))
        # Each waits its spacing after it finished, as a loop would: a
        # resync longer than its interval does not run back to back.
        self._periodic_worker = periodics.PeriodicWorker(
            [(_every(name, spacing, func), None, None)
             for name, spacing, func in tasks],
            log=LOG, schedule_strategy='last_finished',
            executor_factory=periodics.ExistingExecutor(
                self._periodic_executor))
        self._periodic_thread = threading.Thread(
            target=self._periodic_worker.start, name='craton-periodic',
            daemon=True)
        self._periodic_thread.start()

    def periodic_tasks(self):
        """``[(name, spacing in seconds, callable)]`` of this conductor:
        heartbeat, sweep, and the execution driver's own (e.g. the Swarm
        image resync). Spacings are read from config now, not at import.
        """
        return [('heartbeat', self.conf.conductor.heartbeat_interval,
                 self.heartbeat),
                ('sweep', self.conf.conductor.sweep_interval, self.sweep),
                ] + list(self.driver.periodic_tasks())

    def stop(self, graceful=True):
        """Stop periodic work. Running jobs' containers keep running; with
        ``graceful`` the conductor is marked offline so others take over
        at once instead of waiting for the heartbeat to go stale.
        """
        self._stopping = True
        if self._periodic_worker is not None:
            self._periodic_worker.stop()
            self._periodic_executor.shutdown(wait=False)
            # The worker's loop ends at once unless a periodic hangs (an
            # engine that does not answer); its daemon thread then ends
            # with that call, and stopping does not wait for it.
            self._periodic_thread.join(timeout=1)
        self.jobs.shutdown()
        self.builds.shutdown()
        if graceful:
            self.dbapi.unregister_conductor(self.host)

    # Periodic tasks
    def heartbeat(self):
        """Say this conductor is alive (registering again if its row went:
        a database restored, or another conductor's clean-up).
        """
        if not self.dbapi.touch_conductor(self.host):
            self.dbapi.register_conductor(self.host)

    def sweep(self):
        """Resume own work whose worker died, take over dead conductors'
        work, then claim unclaimed work (the safety net: a freed worker
        normally took it already; this catches lost casts and crashes).
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
        self.fill_jobs()
        self.fill_builds()

    def recover_own_claims(self):
        """Resume what this host had claimed before it stopped."""
        for uuid in self.dbapi.list_job_claims(self.host):
            LOG.info('Resuming job %s claimed before restart', uuid)
            self.jobs.submit_owned(uuid, self._run_job, uuid)
        for uuid in self.dbapi.list_task_claims(self.host):
            LOG.info('Rebuilding task %s interrupted by restart', uuid)
            self.builds.submit_owned(uuid, self._build, uuid)

    # Queued work
    def fill_jobs(self, exclude=None, freed=None):
        """Claim and start waiting jobs while job workers are free, fairly
        between projects (see the module's docstring). ``exclude``: a job
        UUID to leave for the sweep; ``freed``: the :class:`pools.Freed`
        worker this answers (its start is logged with the gap).
        """
        self._fill(self.jobs, self.dbapi.list_next_jobs, self._start_job,
                   exclude, freed)

    def fill_builds(self, exclude=None, freed=None):
        """Claim and start waiting builds while builders are free (as
        :meth:`fill_jobs` does for jobs).
        """
        self._fill(self.builds, self.dbapi.list_next_builds,
                   self._start_build, exclude, freed)

    def _fill(self, pool, next_items, start, exclude, freed):
        # Each round starts one item, then asks again so the fair order
        # sees it running; or finds every candidate taken by another
        # conductor (then the next round sees new ones). Bounded, in case
        # conductors keep racing: the sweep and later frees do the rest.
        for _round in range(2 * pool.size + 2):
            if self._stopping or not pool.has_room():
                return
            candidates = next_items(limit=pool.size, exclude=exclude)
            if not candidates:
                return
            for uuid in candidates:
                outcome = start(uuid, freed=freed)
                if outcome == _FULL:
                    return
                if outcome == _STARTED:
                    freed = None
                    break

    def _job_worker_freed(self, freed):
        self.fill_jobs(exclude=freed.key, freed=freed)

    def _build_worker_freed(self, freed):
        # Not the task just released: one whose build raised, or that
        # kept changing for _BUILD_ROUNDS builds, is left to another
        # worker or the sweep rather than retried in a tight loop.
        self.fill_builds(exclude=freed.key, freed=freed)

    # Jobs
    def try_run(self, job_uuid, from_host=None):
        """Claim and start a job if a worker is free.

        Returns False only when the pool is full (the caller should stop
        claiming; the job stays pending and the next worker that frees
        takes it); a job another conductor owns is not an error.
        """
        return self._start_job(job_uuid, from_host) != _FULL

    def _start_job(self, job_uuid, from_host=None, freed=None):
        """Claim and start one job: _STARTED (or it already runs here),
        _LOST (another conductor owns it, or it ended) or _FULL.
        """
        if self.jobs.running(job_uuid):
            return _LOST
        if not self.jobs.has_room():
            return _FULL
        if not self.dbapi.claim_job(job_uuid, self.host, from_host):
            return _LOST
        if from_host:
            LOG.warning('Took over job %s from conductor %s', job_uuid,
                        from_host)
        if not self.jobs.submit_owned(job_uuid, self._run_job, job_uuid,
                                      freed=freed):
            # Filled up between the check and the claim: give it back.
            self.dbapi.release_job(job_uuid, self.host)
            return _FULL
        return _STARTED

    def _run_job(self, job_uuid):
        self.runner.run(job_uuid)

    def cancel(self, job_uuid):
        """Make a job the API moved to ``cancelling`` see it now."""
        if self.jobs.running(job_uuid):
            self.runner.cancel(job_uuid)
        else:
            # Not ours or not started: a pending job is finished off as
            # cancelled by whoever claims it; claim it now to do so.
            self.try_run(job_uuid)

    # Builds
    def try_build(self, task_uuid, from_host=None):
        """Claim a task's build and run it if a builder is free (as
        :meth:`try_run` does for jobs; ``from_host``: take it over from
        that dead conductor). False only when the pool is full.
        """
        return self._start_build(task_uuid, from_host) != _FULL

    def _start_build(self, task_uuid, from_host=None, freed=None):
        """Claim and start one build (as :meth:`_start_job`)."""
        if self.builds.running(task_uuid):
            return _LOST
        if not self.builds.has_room():
            return _FULL
        if not self.dbapi.claim_task(task_uuid, self.host, from_host):
            return _LOST
        if not self.builds.submit_owned(task_uuid, self._build, task_uuid,
                                        freed=freed):
            self.dbapi.release_task(task_uuid, self.host)
            return _FULL
        return _STARTED

    def _build(self, task_uuid):
        """Bring a claimed task's build to an end, then release the claim.

        A ``pending`` or ``building`` task is built; one left ``syncing``
        (its conductor died while the driver distributed the image) is
        only distributed again; a ``ready`` or ``error`` one (a late or
        repeated cast) and an upload waiting for its archive are left
        alone. A build that stopped because the task changed under it (a
        new source, a rebuild) leaves it ``pending``: it is built again at
        once, not at the next sweep (after :data:`_BUILD_ROUNDS` rounds,
        by another builder as it frees, or by the sweep).
        """
        try:
            for _round in range(_BUILD_ROUNDS):
                try:
                    task = task_obj.Task.get(self.context, task_uuid)
                except exception.TaskNotFound:
                    return
                if task.status == states.TASK_SYNCING:
                    LOG.warning('Task %s was left syncing; distributing its '
                                'image again', task_uuid)
                    builder.distribute(task, self.conf, self.driver,
                                       owner=self.host)
                elif (task.status in _BUILDABLE and
                      not archives.awaits_archive(task.source)):
                    builder.build_task(task, self.conf, self.driver,
                                       owner=self.host)
                else:
                    return
        finally:
            self.dbapi.release_task(task_uuid, self.host)

    def delete_task_images(self, task_uuid):
        """Remove a deleted task's images from the build engine, the
        registry and wherever the driver placed them.
        """
        images.remove_all(task_uuid, self.conf, self.driver)


def _every(name, spacing, func):
    """``func`` as a futurist periodic callable, run ``spacing`` seconds
    after its previous run finished, named ``name`` in futurist's logs.
    """
    @periodics.periodic(spacing)
    def run():
        func()
    run.__name__ = run.__qualname__ = 'craton-%s' % name
    return run
