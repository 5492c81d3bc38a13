# SPDX-License-Identifier: Apache-2.0
"""One step of a job: start or reattach to its container, watch it, record.

:class:`StepRun` is used by :class:`craton.conductor.jobs.runner.JobRunner`
for each step that is not final yet. It is written to be entered again
after a crash at any point: a step already ``running`` is looked up by its
container labels and reattached, never started twice (architecture.rst,
"Reattach, don't rerun"). Its output is stored by
:class:`craton.conductor.jobs.capture.OutputCapture`.
"""

import collections
import datetime
import threading
import time

from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_utils import timeutils

from craton.common import exception
from craton.common import fsm
from craton.common import notifications
from craton.common import states
from craton.conductor.drivers import base as driver_base
from craton.conductor.jobs import capture
from craton.conductor.jobs import payload
from craton.conductor.jobs import tools as job_tools

LOG = logging.getLogger(__name__)

# How a step ended, as far as the job is concerned.
SUCCEEDED = 'succeeded'     # go on with the next step
FAILED = 'failed'           # failed, timed out or lost: the job fails
CANCELLED = 'cancelled'     # the job is being cancelled
ERROR = 'error'             # the service could not run it: the job errors

# ``cause``: the exception behind an ERROR, if any.
Outcome = collections.namedtuple('Outcome', 'kind, step, reason, cause',
                                 defaults=(None,))

# Errors that say the database is away or busy for a moment, not that the
# step cannot run: the runner stops and the sweep resumes the job later.
_TRANSIENT = (db_exc.DBConnectionError, db_exc.DBDeadlock,
              exception.DatabaseBusy)


class _StartFailed(Exception):
    """The driver could not start the step's container."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


class StepRun:
    """Runs (or resumes) one step of a job to a final status."""

    def __init__(self, tools, job, step, results, wake, inventory):
        """Prepare to run ``step`` of ``job``.

        :param tools: the conductor's
            :class:`~craton.conductor.jobs.tools.StepTools` (driver, conf,
            retries, job re-reads).
        :param results: ``{step name: result}`` of the earlier steps.
        :param wake: a threading.Event set when a cancel is requested.
        :param inventory: a :class:`~craton.conductor.jobs.tools.Inventory`
            of the job.
        """
        self.tools = tools
        self.inventory = inventory
        self.driver = tools.driver
        self.job = job
        self.step = step
        self.results = results
        self.wake = wake
        self.handle = None
        self.capture = None     # the step's output, once it is watched
        self._secrets = None    # {name: value}, read once per run
        self._started_here = False  # this run started the container

    # Entry point
    def run(self):
        """Bring the step to a final status and return an :class:`Outcome`.

        Any exception while the step is prepared, started or watched ends
        it ``failed`` with the cause and an ERROR outcome (api-ref.rst: the
        service could not run it), except a lost claim, a step changed by
        someone else, or a database that is briefly away: those stop the
        runner and the job is resumed from what the database says.

        :raises: JobTakenOver when the job stopped being ours.
        """
        try:
            return self._run()
        except _StartFailed as exc:
            return self._engine_error(exc.cause, 'could not start')
        except exception.EngineUnavailable as exc:
            return self._engine_error(exc, 'lost the Docker engine')
        except (job_tools.JobTakenOver, job_tools.StepChanged) + _TRANSIENT:
            raise
        except Exception as exc:
            LOG.exception('Unexpected error running %s of job %s',
                          job_tools.step_label(self.step), self.job.uuid)
            self._stop_container()
            return self._engine_error(
                exc, 'failed in the service (%s)' % type(exc).__name__)
        finally:
            if self.capture is not None:
                self.capture.abandon()

    def _run(self):
        step = self.step
        handle = None
        looked = False      # the job's status was read on this run
        if step.status == states.STEP_PENDING:
            if self.tools.fresh_job(self.job).status == \
                    states.JOB_CANCELLING:
                return Outcome(CANCELLED, step, None)
            self._write(fsm.STEP_START, {'started_at': timeutils.utcnow(),
                                         'status_reason': None})
            # A cancel written from now on is seen by the watch, which
            # reads the job again once the container runs.
            looked = True
        else:
            handle = self.tools.engine_call(self.driver.find, self.job.uuid,
                                             step.index)
            if handle is None and step.container_id:
                return self._lost(
                    'container %s vanished while no conductor watched'
                    % step.container_id)
            if handle is not None:
                LOG.info('Reattached to container %s of %s of job %s',
                         handle.id, job_tools.step_label(step), self.job.uuid)
        if handle is None:
            # Not started yet, or the crash came before the container
            # existed. A cancel that came meanwhile wins: nothing to kill.
            if not looked and self.tools.fresh_job(self.job).status == \
                    states.JOB_CANCELLING:
                self._write(fsm.STEP_CANCEL, {
                    'finished_at': timeutils.utcnow(),
                    'status_reason': 'cancelled before its container '
                                     'started'})
                return Outcome(CANCELLED, step, None)
            handle = self._start()
            self._started_here = True
        elif self.tools.engine_call(self.driver.state,
                                     handle).status == driver_base.CREATED:
            # Created but never started (crash inside start): start is
            # idempotent and starts that very container.
            handle = self._start()
        if step.container_id != handle.id or step.node != handle.node:
            self._write(None, {'container_id': handle.id,
                               'node': handle.node})
        return self._watch(handle)

    # Starting
    def _start(self):
        """Start the container and return its handle.

        :raises: _StartFailed when the payload cannot be built, the engine
            stays unreachable past the grace, the image is gone, or the
            driver refuses the spec.
        """
        step = self.step
        try:
            secrets = self._secret_values(delivering=True)
            if secrets:
                # Before the container holds them: a conductor that takes
                # the step over redacts with what it holds.
                self._write(None, {'secrets_sealed': self.tools.seal(
                    self.job, step, secrets)})
            spec = driver_base.StepSpec(
                job_uuid=self.job.uuid, step_index=step.index,
                step_name=step.name, image=step.image or step.image_digest,
                command=list(step.command or []),
                payload=payload.build_payload(self.job, step,
                                              self.inventory(),
                                              self.results, secrets),
                timeout=step.timeout, task_uuid=step.task_uuid,
                secrets=secrets)
            return self.tools.engine_call(self.driver.start, spec)
        except (exception.EngineUnavailable,) + _TRANSIENT:
            raise
        except Exception as exc:
            # ImageNotFound, a refused spec, a payload that cannot be
            # encoded: the service cannot run it, the job is in error.
            raise _StartFailed(exc)

    def _secret_values(self, delivering=False):
        """The step's secrets, ``{name: value bytes}``, read on first
        use (see :meth:`StepTools.step_secrets`).
        """
        if self._secrets is None and not delivering and \
                self.step.secrets_sealed:
            try:
                self._secrets = self.tools.unseal(self.step.secrets_sealed)
            except Exception as exc:
                LOG.warning('Could not unseal the secrets %s of job %s '
                            'received (%s); redacting with their values '
                            'now', job_tools.step_label(self.step),
                            self.job.uuid, exc)
        if self._secrets is None or delivering:
            self._secrets = self.tools.step_secrets(self.job, self.step,
                                                    delivering)
        return self._secrets

    # Watching
    def _watch(self, handle):
        step = self.step
        self.handle = handle
        self.capture = capture.OutputCapture(
            self.tools, self.job, step, handle,
            secrets=self._secret_values().values(), on_end=self.wake.set)
        self.capture.start()
        started = timeutils.normalize_time(step.started_at)
        deadline = started + datetime.timedelta(seconds=step.timeout)
        waiter = None
        if self._started_here:
            # Just started, so running: wait for its first event instead of
            # asking the engine at once. A wake left by the previous step
            # is dropped; a cancel written before the read below is seen
            # by it, one written after sets ``wake`` again.
            self.wake.clear()
            waiter = self._wait_for_exit(handle, deadline)
            if self.tools.fresh_job(self.job).status != \
                    states.JOB_CANCELLING:
                self._sleep(deadline)
        while True:
            self.capture.flush()
            if waiter is not None and waiter.exit_code == 0:
                # The engine's own wait said so: it succeeded, cancelled or
                # not. An inspect would only add the error text of a step
                # that failed; a lost claim shows in the step's write.
                return self._exited(handle, driver_base.StepState(
                    driver_base.EXITED, 0, None), None)
            job = self.tools.fresh_job(self.job)
            state = self.tools.engine_call(self.driver.state, handle)
            if state.status == driver_base.EXITED:
                return self._exited(handle, state, job)
            if state.status == driver_base.GONE:
                self.capture.close()
                reason = 'container %s disappeared while the step ran' % (
                    handle.id)
                if state.error:     # e.g. its Swarm node is down
                    reason += ': ' + state.error
                return self._lost(reason)
            if job.status == states.JOB_CANCELLING:
                code, notes = self._kill(handle)
                self._write(fsm.STEP_CANCEL, {
                    'exit_code': code, 'finished_at': timeutils.utcnow(),
                    'status_reason': '; '.join(
                        ['killed: the job was cancelled'] + notes)})
                self._cleanup(handle)
                return Outcome(CANCELLED, step, None)
            if timeutils.utcnow() >= deadline:
                code, notes = self._kill(handle)
                reason = 'killed after %d s' % step.timeout
                self._write(fsm.STEP_TIME_OUT, {
                    'exit_code': code, 'finished_at': timeutils.utcnow(),
                    'status_reason': '; '.join([reason] + notes)})
                self._cleanup(handle)
                return Outcome(FAILED, step, 'timed out: ' + reason)
            self.capture.keep_streaming()
            if waiter is None or (not waiter.is_alive() and
                                  time.monotonic() - waiter.started >=
                                  self.tools.retry_interval):
                # Again after a wait that failed (the engine restarted),
                # at most once a retry_interval: a wait that keeps failing
                # at once must not turn into a busy loop.
                waiter = self._wait_for_exit(handle, deadline)
            self._sleep(deadline)

    def _wait_for_exit(self, handle, deadline):
        """Start a thread that blocks on the engine until the container
        exits (or the deadline passes) and then wakes the watcher: a step
        is seen to end when the engine says so, not at the next look.
        """
        def wait():
            try:
                seconds = (deadline - timeutils.utcnow()).total_seconds()
                code = self.driver.wait(handle, max(seconds, 0) + 1)
                if code is not None:
                    self.driver.note_exited(handle)
                    waiter.exit_code = code
            except Exception as exc:
                # The watcher's own look finds out what happened.
                LOG.debug('Waiting for container %s ended: %s', handle.id,
                          exc)
            finally:
                self.wake.set()
        waiter = threading.Thread(target=wait, daemon=True,
                                  name='craton-wait-%s' % handle.id[:12])
        waiter.started = time.monotonic()
        waiter.exit_code = None     # set once the engine reports the exit
        waiter.start()
        return waiter

    def _sleep(self, deadline):
        """Wait until something happens: the container exits or its log
        stream ends (both set ``wake``), a cancel RPC comes (``wake``
        too), or the deadline. At most ``poll_interval`` passes between
        two looks, the safety net for an event that never came. (The log
        writer stores output on its own timer meanwhile.)
        """
        timeout = min(self.tools.poll_interval,
                      (deadline - timeutils.utcnow()).total_seconds())
        if self.wake.wait(max(timeout, 0)):
            self.wake.clear()

    def _exited(self, handle, state, job):
        """Record the end of a container that exited, as ``state`` says.

        :param job: the job as just read (a JobClaim), to tell a step
            killed for a cancel; None when the exit code is 0.
        """
        step = self.step
        notes = self.capture.drain()
        code = state.exit_code
        if code is None:
            code = self.tools.engine_call(self.driver.wait, handle, 10)
        result, result_note = self.capture.result()
        reasons = []
        if code == 0:
            event = fsm.STEP_SUCCEED
        elif job is not None and job.status == states.JOB_CANCELLING:
            # Killed for a cancel by a conductor that died before it could
            # record it (or it failed as the cancel came): cancelled.
            event = fsm.STEP_CANCEL
            reasons.append('the job was cancelled (exit code %s)' % code)
        else:
            event = fsm.STEP_FAIL
            reasons.append('exit code %s' % code)
        if code != 0 and state.error:
            reasons.append(state.error)
        reasons.extend(r for r in [result_note] + notes if r)
        self._write(event, {'exit_code': code, 'result': result,
                            'finished_at': timeutils.utcnow(),
                            'status_reason': '; '.join(reasons) or None})
        self._cleanup(handle)
        if event == fsm.STEP_SUCCEED:
            return Outcome(SUCCEEDED, step, None)
        if event == fsm.STEP_CANCEL:
            return Outcome(CANCELLED, step, None)
        return Outcome(FAILED, step, 'failed: ' + reasons[0])

    def _kill(self, handle):
        """Kill the container and store its log.

        Returns ``(exit code, notes)``: the code is None if the engine
        cannot tell; the notes are for the step's reason.
        """
        self.tools.engine_call(self.driver.kill, handle)
        code = self.tools.engine_call(self.driver.wait, handle, 30)
        return code, self.capture.drain()

    def _cleanup(self, handle):
        # Only now: logs and exit code are stored. Off the job's path when
        # the runner gives a reaper (the next step need not wait for it);
        # a failure leaves a container the job-level cleanup removes later.
        def remove():
            try:
                self.driver.cleanup(handle)
            except Exception as exc:
                LOG.warning('Could not remove container %s: %s', handle.id,
                            exc)
        if self.tools.reaper is None:
            remove()
        else:
            self.tools.reaper.submit(remove, handle.id)

    # Recording
    def _lost(self, reason):
        self._write(fsm.STEP_LOSE, {'finished_at': timeutils.utcnow(),
                                    'status_reason': reason})
        return Outcome(FAILED, self.step, 'was lost: ' + reason)

    def _engine_error(self, exc, what):
        reason = '%s: %s' % (what, exc)
        if fsm.step_can(self.step.status, fsm.STEP_FAIL):
            self._write(fsm.STEP_FAIL, {'finished_at': timeutils.utcnow(),
                                        'status_reason': reason})
        return Outcome(ERROR, self.step, reason, exc)

    def _stop_container(self):
        """Kill and remove the step's container after an internal error.

        Best effort: the job-level cleanup removes what is left.
        """
        handle = self.handle
        if handle is None:
            return
        for call in (self.driver.kill, self.driver.cleanup):
            try:
                call(handle)
            except Exception as exc:
                LOG.warning('Could not stop container %s: %s', handle.id,
                            exc)

    def _write(self, event, values):
        """Write the step, conditional on the status we believe it has.

        ``event`` None keeps the status. A lost race means another
        conductor moved the step: stop rather than fight over it.
        """
        step = self.step
        values = dict(values)
        sealed = step.secrets_sealed
        if event is not None:
            values['status'] = fsm.step_next(step.status, event)
            if sealed and values['status'] in states.STEP_FINAL:
                # Nothing is redacted after the end.
                values['secrets_sealed'] = None
        if step.update(values, expected_status=step.status):
            notifications.step_finished(self.job, step)
            if sealed and not step.secrets_sealed:
                self.tools.forget_sealed(sealed)
            return
        self.tools.fresh_job(self.job)     # JobTakenOver if so
        step.refresh()
        LOG.warning('%s of job %s changed under us (now %s)',
                    job_tools.step_label(step), self.job.uuid, step.status)
        raise job_tools.StepChanged()
