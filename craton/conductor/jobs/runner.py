# SPDX-License-Identifier: Apache-2.0
"""The job executor: runs a claimed job, step by step, to a final state.

A job is run by the conductor that claimed it (``jobs.conductor``). The
same :meth:`JobRunner.run` serves a fresh job, a restart of this conductor
and a takeover from a dead one: it reads where the job stands in the
database and carries on from there, reattaching to containers that
outlived the previous conductor instead of starting them again.

Every job write is conditional on this conductor still owning the job;
every step write on the step's previous status (see :mod:`craton.common.fsm`
for the allowed moves). A write that finds the job taken over stops the
runner quietly, leaving the containers to the new owner.
"""

import dataclasses
import threading

from oslo_log import log as logging
from oslo_utils import timeutils

from craton.common import context as craton_context
from craton.common import exception
from craton.common import fsm
from craton.common import notifications
from craton.common import states
from craton.conductor.jobs import step as job_step
from craton.conductor.jobs import tools as job_tools
from craton.db import api as db_api
from craton.objects import job as job_obj

LOG = logging.getLogger(__name__)

# Step status -> (how the job goes on, words for the job's reason), for
# steps a previous run finished before it could finish the job.
_FINISHED_STEP = {
    states.STEP_FAILED: (job_step.FAILED, 'failed'),
    states.STEP_TIMED_OUT: (job_step.FAILED, 'timed out'),
    states.STEP_LOST: (job_step.FAILED, 'was lost'),
    states.STEP_CANCELLED: (job_step.CANCELLED, 'was cancelled'),
    # Steps are skipped only after a failure or a cancel; reaching a skipped
    # one with every earlier step succeeded means a cancel before start.
    states.STEP_SKIPPED: (job_step.CANCELLED, 'was skipped'),
}

# Times a job is reloaded when its steps change under the runner.
_RELOADS = 5

_JOB_EVENT = {
    job_step.SUCCEEDED: fsm.JOB_SUCCEED,
    job_step.FAILED: fsm.JOB_FAIL,
    job_step.ERROR: fsm.JOB_ERROR,
    job_step.CANCELLED: fsm.JOB_CANCELLED,
}


class JobRunner:
    """Runs jobs this conductor has claimed; one instance serves them all.

    :param context: the conductor's request context (for logging); jobs
        are always loaded with an admin context, across projects.
    :param conf: the oslo.config object; read at call time.
    :param driver: an execution driver (``craton.conductor.drivers.base``).
    :param host: this conductor's ``[DEFAULT] host``, the claim's owner.
    :param engine_grace: seconds an unreachable engine is retried before
        the job errors (an engine restart is transient and the container
        may well still run).
    :param poll_interval: seconds at most between two looks at a running
        step: the safety net, as a step is looked at as soon as the engine
        reports its end, its log stream ends or a cancel comes.
    :param retry_interval: seconds between retries of the engine.
    :param log_drain_timeout: seconds to wait, once a container exited, for
        its log stream to end.
    """

    def __init__(self, context, conf, driver, host, engine_grace=30.0,
                 poll_interval=5.0, retry_interval=1.0,
                 log_drain_timeout=60.0):
        self.context = context
        self.conf = conf
        self.driver = driver
        self.host = host
        self.engine_grace = engine_grace
        self.poll_interval = poll_interval
        self.retry_interval = retry_interval
        self.log_drain_timeout = log_drain_timeout
        self.dbapi = db_api.get_instance()
        self._admin = craton_context.get_admin_context()
        self._lock = threading.Lock()
        self._wakes = {}

    # Public entry points
    def run(self, job_uuid):
        """Run job ``job_uuid``, which this conductor has claimed, to a
        final state; resume it wherever a previous run stopped.

        Returns the job's final status, or None when the job was not (or
        stopped being) ours or was already final.
        """
        with self._lock:
            wake = self._wakes.setdefault(job_uuid, threading.Event())
        try:
            return self._run(job_uuid, wake)
        except job_tools.JobTakenOver:
            LOG.info('Job %s is no longer owned by %s; stopped watching it',
                     job_uuid, self.host)
            return None
        except exception.JobNotFound:
            LOG.warning('Job %s no longer exists', job_uuid)
            return None
        finally:
            with self._lock:
                if self._wakes.get(job_uuid) is wake:
                    del self._wakes[job_uuid]

    def cancel(self, job_uuid):
        """Wake the runner of ``job_uuid`` so it sees the cancel at once.

        The API already wrote ``cancelling``; the database is the source of
        truth, this only saves the runner its poll delay. Returns True if
        this runner is running that job.
        """
        with self._lock:
            wake = self._wakes.get(job_uuid)
        if wake is None:
            return False
        wake.set()
        return True

    def step_tools(self):
        """The :class:`~craton.conductor.jobs.tools.StepTools` its steps
        run with: this runner's driver, conf and times as they are now.
        """
        return job_tools.StepTools(
            conf=self.conf, driver=self.driver, dbapi=self.dbapi,
            host=self.host, engine_grace=self.engine_grace,
            poll_interval=self.poll_interval,
            retry_interval=self.retry_interval,
            log_drain_timeout=self.log_drain_timeout, context=self._admin)

    def fresh_job(self, job):
        """Re-read ``job`` (:func:`craton.conductor.jobs.tools.fresh_job`).

        :raises: job_tools.JobTakenOver if this conductor no longer owns it.
        """
        return job_tools.fresh_job(job, self.host)

    # The job
    def _run(self, job_uuid, wake):
        for _attempt in range(_RELOADS):
            try:
                return self._run_once(job_uuid, wake)
            except job_tools.StepChanged:
                # Someone else wrote a step of our job; start over from
                # what the database says rather than overwrite it.
                LOG.warning('A step of job %s changed under us; reloading',
                            job_uuid)
        LOG.error('Job %s kept changing under us; left for recovery',
                  job_uuid)
        return None

    def _run_once(self, job_uuid, wake):
        job = job_obj.Job.get(self._admin, job_uuid)
        if job.conductor != self.host:
            LOG.info('Job %s is not claimed by %s; not running it',
                     job_uuid, self.host)
            return None
        if job.status in states.JOB_FINAL:
            return None
        if job.status == states.JOB_PENDING:
            # False: cancelled meanwhile; the step loop finishes that.
            self._job_write(job, fsm.JOB_START,
                            {'started_at': timeutils.utcnow()})
        reaper = job_tools.Reaper()
        try:
            outcome = self._run_steps(job, wake, reaper)
        finally:
            # Its containers are gone before the job is final (or before
            # the runner stops: a takeover finds what is left).
            reaper.wait()
        return self._finish(job, outcome)

    def _run_steps(self, job, wake, reaper=None):
        """Run the steps in order; return the Outcome that ends the job.

        :param reaper: a :class:`~craton.conductor.jobs.tools.Reaper` for
            the steps' containers (None: each removed before the next
            step).
        """
        results = {}
        inventory = job_tools.Inventory(job)
        tools = dataclasses.replace(self.step_tools(), reaper=reaper)
        for step in sorted(job.steps, key=lambda st: st.index):
            if step.status == states.STEP_SUCCEEDED:
                self._collect(results, step)
                continue
            if step.status in _FINISHED_STEP:
                kind, words = _FINISHED_STEP[step.status]
                if step.status_reason:
                    words = '%s: %s' % (words, step.status_reason)
                return job_step.Outcome(kind, step, words)
            outcome = job_step.StepRun(tools, job, step, results, wake,
                                       inventory).run()
            if outcome.kind != job_step.SUCCEEDED:
                return outcome
            self._collect(results, step)
        return job_step.Outcome(job_step.SUCCEEDED, None, None)

    @staticmethod
    def _collect(results, step):
        # The database keeps "no result" as {} (JsonEncodedDict), so an
        # empty result and none look alike: both are left out.
        if isinstance(step.result, dict) and step.result:
            results[step.name] = step.result

    def _finish(self, job, outcome):
        """Skip what did not run and give the job its final status."""
        # The API may have written ``cancelling`` since the job was read.
        job.status = self.fresh_job(job).status
        job.obj_reset_changes(['status'])
        # Steps first: a crash between the two leaves a job that is not
        # final yet, which the next run finishes the same way.
        for step in job.steps:
            if step.status == states.STEP_PENDING:
                values = {'status': fsm.step_next(step.status, fsm.STEP_SKIP)}
                if not step.update(values,
                                   expected_status=states.STEP_PENDING):
                    self.fresh_job(job)
        if job.status in states.JOB_FINAL:
            return job.status
        step_reason = None
        if outcome.step is not None and outcome.reason:
            step_reason = '%s %s' % (job_tools.step_label(outcome.step),
                                     outcome.reason)
        event = _JOB_EVENT[outcome.kind]
        values = {'finished_at': timeutils.utcnow(),
                  'status_reason': step_reason}
        if event == fsm.JOB_CANCELLED:
            values['status_reason'] = 'cancelled on request'
        if not self._job_write(job, event, values):
            # ``job.status`` is fresh here: _job_write re-reads on a race.
            if job.status == states.JOB_CANCELLING:
                # A cancel is the caller's last word, whatever the step
                # did meanwhile (unless the service could not run it).
                values['status_reason'] = 'cancelled on request'
                self._job_write(job, fsm.JOB_CANCELLED, values)
            elif job.status == states.JOB_RUNNING:
                # A step cancelled or skipped although nobody cancelled
                # the job (hand-edited rows): never leave it running.
                values['status_reason'] = step_reason
                self._job_write(job, fsm.JOB_FAIL, values)
        LOG.info('Job %s %s%s', job.uuid, job.status,
                 ': %s' % job.status_reason if job.status_reason else '')
        self._cleanup_job(job, outcome)
        return job.status

    def _job_write(self, job, event, values):
        """Move the job by ``event``, conditional on its status and on our
        claim. Returns False if its current status refuses the event.

        :raises: job_tools.JobTakenOver if the job is no longer ours.
        """
        while True:
            if not fsm.job_can(job.status, event):
                return False
            values = dict(values, status=fsm.job_next(job.status, event))
            if job.update(values, expected_status=job.status,
                          conductor=self.host):
                notifications.job_moved(job, event == fsm.JOB_START)
                return True
            # Raced with the API's cancel (or a takeover): look again.
            fresh = self.fresh_job(job)
            job.status = fresh.status
            job.obj_reset_changes(['status'])

    def _cleanup_job(self, job, outcome):
        # Catches containers left by a crash between a step's final write
        # and its cleanup. Pointless while the engine is away.
        if isinstance(outcome.cause, exception.EngineUnavailable):
            return
        try:
            self.driver.cleanup_job(job.uuid)
        except Exception as exc:
            LOG.warning('Could not clean up the containers of job %s: %s',
                        job.uuid, exc)
