# SPDX-License-Identifier: Apache-2.0
"""One step of a job: start or reattach to its container, watch it, record.

:class:`StepRun` is used by :class:`craton.conductor.jobs.runner.JobRunner`
for each step that is not final yet. It is written to be entered again
after a crash at any point: a step already ``running`` is looked up by its
container labels and reattached, never started twice (ARCHITECTURE.md,
"Reattach, don't rerun").
"""

import collections
import datetime
import threading
import time

from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_utils import timeutils
import tenacity

from craton.common import exception
from craton.common import fsm
from craton.common import states
from craton.conductor.drivers import base as driver_base
from craton.conductor.drivers import output
from craton.conductor.jobs import logs
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


class StepChanged(Exception):
    """A step row changed under us although the job is still ours.

    For example a previous owner's late write. The job runner reloads the
    job and carries on from what the database says.
    """


class _StartFailed(Exception):
    """The driver could not start the step's container."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


def _last_result(retry_state):
    # For tenacity's retry_error_callback: give up with what the last
    # attempt returned instead of raising RetryError.
    return retry_state.outcome.result()


def step_label(step):
    """How reasons name a step: ``step 'deploy' (index 1)``."""
    return "step '%s' (index %d)" % (step.name, step.index)


class _LogPump(threading.Thread):
    """Copies a container's output into a :class:`StepLogWriter`.

    It runs in its own thread because the stream blocks until the
    container writes or exits; the executor keeps polling meanwhile.
    """

    def __init__(self, driver, handle, writer):
        super().__init__(name='craton-log-%s' % handle.id[:12], daemon=True)
        self.driver = driver
        self.handle = handle
        self.writer = writer
        self.ended = False      # the stream ended by itself
        self.error = None

    def run(self):
        try:
            # Resume exactly where stored + buffered output ends.
            for data in self.driver.stream_logs(
                    self.handle, skip_bytes=self.writer.position):
                self.writer.write(data)
            self.ended = True
        except logs.LogWriterClosed:
            pass    # abandoned or taken over: the executor knows why
        except Exception as exc:
            # An engine restart breaks the stream; the executor starts a
            # new pump from the writer's position.
            LOG.warning('Log stream of container %s broke: %s',
                        self.handle.id, exc)
            self.error = exc


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
        self.writer = None
        self.pump = None
        self.scanner = None     # the result, found by _drain()

    # Entry point
    def run(self):
        """Bring the step to a final status and return an :class:`Outcome`.

        Any exception while the step is prepared, started or watched ends
        it ``failed`` with the cause and an ERROR outcome (API.md: the
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
        except (job_tools.JobTakenOver, StepChanged) + _TRANSIENT:
            raise
        except Exception as exc:
            LOG.exception('Unexpected error running %s of job %s',
                          step_label(self.step), self.job.uuid)
            self._stop_container()
            return self._engine_error(
                exc, 'failed in the service (%s)' % type(exc).__name__)
        finally:
            if self.writer is not None and not self.writer.closed:
                self.writer.abandon()

    def _run(self):
        step = self.step
        handle = None
        if step.status == states.STEP_PENDING:
            if self.tools.fresh_job(self.job).status == \
                    states.JOB_CANCELLING:
                return Outcome(CANCELLED, step, None)
            self._write(fsm.STEP_START, {'started_at': timeutils.utcnow(),
                                         'status_reason': None})
        else:
            handle = self.tools.engine_call(self.driver.find, self.job.uuid,
                                             step.index)
            if handle is None and step.container_id:
                return self._lost(
                    'container %s vanished while no conductor watched'
                    % step.container_id)
            if handle is not None:
                LOG.info('Reattached to container %s of %s of job %s',
                         handle.id, step_label(step), self.job.uuid)
        if handle is None:
            # Not started yet, or the crash came before the container
            # existed. A cancel that came meanwhile wins: nothing to kill.
            if self.tools.fresh_job(self.job).status == \
                    states.JOB_CANCELLING:
                self._write(fsm.STEP_CANCEL, {
                    'finished_at': timeutils.utcnow(),
                    'status_reason': 'cancelled before its container '
                                     'started'})
                return Outcome(CANCELLED, step, None)
            handle = self._start()
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
            spec = driver_base.StepSpec(
                job_uuid=self.job.uuid, step_index=step.index,
                step_name=step.name, image=step.image or step.image_digest,
                command=list(step.command or []),
                payload=payload.build_payload(self.job, step,
                                              self.inventory(),
                                              self.results),
                timeout=step.timeout, task_uuid=step.task_uuid)
            return self.tools.engine_call(self.driver.start, spec)
        except (exception.EngineUnavailable,) + _TRANSIENT:
            raise
        except Exception as exc:
            # ImageNotFound, a refused spec, a payload that cannot be
            # encoded: the service cannot run it, the job is in error.
            raise _StartFailed(exc)

    # Watching
    def _watch(self, handle):
        step = self.step
        self.handle = handle
        self._new_writer()
        started = timeutils.normalize_time(step.started_at)
        deadline = started + datetime.timedelta(seconds=step.timeout)
        while True:
            self._flush()
            job = self.tools.fresh_job(self.job)
            state = self.tools.engine_call(self.driver.state, handle)
            if state.status == driver_base.EXITED:
                return self._exited(handle, state, job)
            if state.status == driver_base.GONE:
                self._close_writer()
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
            if not self.pump.is_alive():
                # The stream broke (engine restart) while the step runs.
                self._start_pump()
            # A cancel RPC sets ``wake`` so the cancel is seen at once.
            if self.wake.wait(self.tools.poll_interval):
                self.wake.clear()

    def _exited(self, handle, state, job):
        step = self.step
        notes = self._drain()
        code = state.exit_code
        if code is None:
            code = self.tools.engine_call(self.driver.wait, handle, 10)
        result, result_note = self.scanner.result()
        reasons = []
        if code == 0:
            event = fsm.STEP_SUCCEED
        elif job.status == states.JOB_CANCELLING:
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
        return code, self._drain()

    def _drain(self):
        """Store every byte of an exited container's log; find its result.

        The follow stream's end is not proof that every byte came, so once
        it ended (or did not end in time) the whole output is read once
        more, what is not stored yet is stored, and stdout is scanned for
        the result (``self.scanner``). The step is final only with its log
        complete. Returns notes for the step's reason (a list of str).
        """
        # Each wait is a join on the pump, which returns as soon as the
        # stream ends; what came meanwhile is stored after each one. The
        # pump is looked up each time: a resync starts a new one.
        tenacity.Retrying(
            stop=tenacity.stop_after_delay(self.tools.log_drain_timeout),
            wait=tenacity.wait_fixed(self.tools.poll_interval),
            retry=tenacity.retry_if_result(bool),
            retry_error_callback=_last_result, sleep=self._wait_for_pump)(
                lambda: self.pump.is_alive())
        if self.pump.is_alive():
            LOG.warning('Log stream of container %s did not end within '
                        '%s s; reading the log once more', self.handle.id,
                        self.tools.log_drain_timeout)
        # Store what the pump gave; from here on only this method writes.
        self._close_writer()
        cut = self.writer.cut
        self.writer = self._writer(self.writer.offset, cut)
        try:
            notes = self._read_whole_output()
            self.writer.close()
        except logs.LogOwnershipLost:
            # Someone else stores this log now: not ours to finish.
            self.writer.abandon()
            self.tools.fresh_job(self.job)     # JobTakenOver if so
            raise StepChanged()
        if self.writer.cut:
            notes.append('log cut at %d bytes ([sandbox] max_log_bytes)'
                         % self.writer.max_bytes)
        return notes

    def _read_whole_output(self):
        """Read all output again: store the rest, feed the scanner.

        A read that breaks is started again from the first byte (the
        engine is retried for the runner's grace). Returns notes for the
        step's reason.
        """
        def gave_up(retry_state):
            exc = retry_state.outcome.exception()
            LOG.warning('Could not read the log of container %s again: %s',
                        self.handle.id, exc)
            return ['log may be incomplete (the engine did not answer: %s)'
                    % exc]

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_delay(self.tools.engine_grace),
            wait=tenacity.wait_fixed(self.tools.retry_interval),
            retry=tenacity.retry_if_exception_type(
                exception.EngineUnavailable),
            retry_error_callback=gave_up, sleep=time.sleep)
        return retrying(self._read_output_once)

    def _wait_for_pump(self, seconds):
        self.pump.join(seconds)
        self._flush()

    def _read_output_once(self):
        self.scanner = payload.ResultScanner(
            self.tools.conf.sandbox.max_result_bytes,
            self.tools.conf.api.max_json_depth)
        decoder = output.OutputDecoder()
        skip = self.writer.position
        seen = 0
        for stream, data in self.driver.read_output(self.handle, decoder):
            if stream == output.STDOUT:
                self.scanner.feed(data)
            if seen + len(data) > skip:
                self.writer.write(data[max(skip - seen, 0):])
            seen += len(data)
            self.writer.flush_if_due()
        names = {output.STDOUT: 'stdout', output.STDERR: 'stderr'}
        return ['the last line of %s was 16 KiB or longer; the engine '
                'cannot tell whether it ended with a newline, one was '
                'assumed' % names[stream] for stream in decoder.assumed]

    def _writer(self, log_bytes=None, cut=None):
        """A writer that appends to the step's stored log.

        ``log_bytes``: where the stored log ends (default: the step's
        ``log_bytes`` as last read); ``cut``: whether it was cut at its cap
        (default: the step's ``log_truncated`` as last read).
        """
        if log_bytes is None:
            log_bytes = self.step.log_bytes or 0
        if cut is None:
            cut = bool(self.step.log_truncated)
        return logs.StepLogWriter(
            self.tools.dbapi, self.step.id, log_bytes,
            self.tools.conf.conductor.log_chunk_bytes,
            self.tools.conf.conductor.log_flush_interval,
            max_bytes=self.tools.conf.sandbox.max_log_bytes, cut=cut)

    def _new_writer(self):
        """Write the log from what is stored, with a new pump feeding it."""
        self.writer = self._writer()
        self._start_pump()

    def _start_pump(self):
        self.pump = _LogPump(self.driver, self.handle, self.writer)
        self.pump.start()

    def _resync(self):
        """Follow a stored log that moved on without us.

        If we still own the job, a previous owner's last write landed
        late: carry on from the stored length; otherwise stop. Both
        writers copy the same engine stream, so restarting from the stored
        length keeps the log byte-exact.
        """
        self.writer.abandon()
        self.tools.fresh_job(self.job)     # JobTakenOver if so
        status = self.step.status
        self.step.refresh()
        if self.step.status != status:
            raise StepChanged()
        LOG.warning('Log of %s of job %s moved on to byte %d without us; '
                    'following it', step_label(self.step), self.job.uuid,
                    self.step.log_bytes)
        self._new_writer()

    def _close_writer(self):
        while True:
            try:
                self.writer.close()
                return
            except logs.LogOwnershipLost:
                # Store what the stream gave so far, from where it is now.
                self._resync()
                self.pump.join(self.tools.poll_interval)

    def _flush(self):
        if self.writer.lost:
            self._resync()
        try:
            self.writer.flush_if_due()
        except logs.LogOwnershipLost:
            self._resync()

    def _cleanup(self, handle):
        # Only now: logs and exit code are stored. A failure leaves a
        # container the job-level cleanup removes later.
        try:
            self.driver.cleanup(handle)
        except Exception as exc:
            LOG.warning('Could not remove container %s: %s', handle.id, exc)

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
        if event is not None:
            values['status'] = fsm.step_next(step.status, event)
        if step.update(values, expected_status=step.status):
            return
        self.tools.fresh_job(self.job)     # JobTakenOver if so
        step.refresh()
        LOG.warning('%s of job %s changed under us (now %s)',
                    step_label(step), self.job.uuid, step.status)
        raise StepChanged()
