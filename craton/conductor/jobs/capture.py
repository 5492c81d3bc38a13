# SPDX-License-Identifier: Apache-2.0
"""A step's output: stored as the container writes it, and complete before
the step is final.

:class:`OutputCapture` follows the container's log with a pump thread
into the step's stored log (:mod:`craton.conductor.jobs.logs`). Once the
container exited, :meth:`OutputCapture.drain` waits for the stream to end,
reads the whole output once more (the end of a follow stream is no proof
that every byte came), stores what is missing and scans stdout for the
result line (:class:`craton.conductor.jobs.payload.ResultScanner`).
"""

import threading
import time

from oslo_log import log as logging
import tenacity

from craton.common import exception
from craton.conductor.drivers import output
from craton.conductor.jobs import logs
from craton.conductor.jobs import payload
from craton.conductor.jobs import redact
from craton.conductor.jobs import tools as job_tools

LOG = logging.getLogger(__name__)


def _last_result(retry_state):
    # For tenacity's retry_error_callback: give up with what the last
    # attempt returned instead of raising RetryError.
    return retry_state.outcome.result()


class _LogPump(threading.Thread):
    """Copies a container's output into a :class:`StepLogWriter`.

    It runs in its own thread because the stream blocks until the
    container writes or exits; the step runner keeps polling meanwhile.
    """

    def __init__(self, driver, handle, writer, scanner=None, secrets=(),
                 on_end=None):
        super().__init__(name='craton-log-%s' % handle.id[:12], daemon=True)
        self.driver = driver
        self.handle = handle
        self.writer = writer
        self.scanner = scanner  # fed stdout as it streams, if given
        self.secrets = secrets  # values cut out of what is stored
        self.on_end = on_end    # called when the stream ends, however
        self.ended = False      # the stream ended by itself
        self.error = None

    def run(self):
        try:
            # Resume exactly where stored + buffered output ends. The
            # stored log of a step with secrets is redacted: its length
            # counts redacted bytes, so the output is followed from its
            # first byte and redacted again up to there.
            if self.secrets:
                pieces = redact.redacted(
                    self.driver.follow_output(self.handle, skip_bytes=0),
                    self.secrets, skip=self.writer.position)
            else:
                pieces = self.driver.follow_output(
                    self.handle, skip_bytes=self.writer.position)
            for stream, data in pieces:
                self.writer.write(data)
                if self.scanner is not None and stream == output.STDOUT:
                    self.scanner.feed(data)
            self.ended = True
        except logs.LogWriterClosed:
            pass    # abandoned or taken over: the step runner knows why
        except Exception as exc:
            # An engine restart breaks the stream; keep_streaming() starts a
            # new pump from the writer's position.
            LOG.warning('Log stream of container %s broke: %s',
                        self.handle.id, exc)
            self.error = exc
        finally:
            # The stream of a container ends when it exits (or when the
            # engine went away): the step's watcher looks at once.
            if self.on_end is not None:
                self.on_end()


class OutputCapture:
    """Stores one step's output, from a container that runs or has exited.

    Used by :class:`craton.conductor.jobs.step.StepRun`: :meth:`start`
    once the container has a handle, :meth:`flush` and
    :meth:`keep_streaming` while it runs, :meth:`drain` once it exited
    (or was killed), then :meth:`result`; :meth:`abandon` on the way out.

    :raises JobTakenOver: (from its calls) the job stopped being ours.
    :raises StepChanged: another writer moved the step's log or row.
    """

    def __init__(self, tools, job, step, handle, secrets=(), on_end=None):
        """Capture the output of ``step`` of ``job`` from ``handle``.

        :param secrets: the values (bytes) of the secrets the step
            received; each occurrence in its output, as it is or as JSON
            text (:func:`craton.conductor.jobs.redact.forms`), is stored as
            ``***``, and its result is read from the redacted stdout and
            scrubbed of any other spelling once parsed.
        :param on_end: called (from the pump's thread) each time a
            followed stream ends: the container exited, or the stream
            broke.
        """
        self.tools = tools
        self.on_end = on_end
        self.secrets = tuple(redact.forms(secrets))
        self.driver = tools.driver
        self.job = job
        self.step = step
        self.handle = handle
        self.writer = None
        self.pump = None
        self.scanner = None     # the result, found by drain()
        # stdout as it streamed, from byte 0: the result when the engine's
        # log file lost its beginning (it keeps a bounded size; see
        # drivers/output.log_options). None when the stream was not seen
        # whole (a resumed or taken-over step).
        self._streamed = None
        self._seen = 0          # bytes the final re-read got

    def start(self):
        """Follow the log from what is already stored."""
        self.writer = self._writer()
        if self.writer.position == 0:
            self._streamed = self._new_scanner()
        self._start_pump()

    def keep_streaming(self):
        """Start a new pump if the stream broke (an engine restart) while
        the step runs.
        """
        if not self.pump.is_alive():
            self._start_pump()

    def result(self):
        """``(result dict or None, note or None)`` found by :meth:`drain`,
        any secret value in its strings replaced by ``***``.
        """
        result, note = self.scanner.result()
        return redact.scrub(result, self.secrets), note

    def abandon(self):
        """Drop what is buffered and not stored (the runner stops)."""
        if self.writer is not None and not self.writer.closed:
            self.writer.abandon()

    def drain(self):
        """Store every byte of an exited container's log; find its result.

        The follow stream's end is not proof that every byte came, so once
        it ended (or did not end in time) the whole output is read once
        more, what is not stored yet is stored, and stdout is scanned for
        the result (:meth:`result`). The step is final only with its log
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
        self.close()
        received = self.writer.position
        cut = self.writer.cut
        self.writer = self._writer(self.writer.offset, cut)
        try:
            notes = self._read_whole_output()
            self.writer.close()
        except logs.LogOwnershipLost:
            # Someone else stores this log now: not ours to finish.
            self.writer.abandon()
            self.tools.fresh_job(self.job)     # JobTakenOver if so
            raise job_tools.StepChanged()
        if self.writer.cut:
            notes.append('log cut at %d bytes ([sandbox] max_log_bytes)'
                         % self.writer.max_bytes)
        if (self._streamed is not None and not self.pump.is_alive() and
                self._seen < received and
                self.scanner.result() == (None, None)):
            # The engine no longer holds the beginning of the output: a
            # result line there was seen only as it streamed.
            self.scanner = self._streamed
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
        self.flush()

    def _new_scanner(self):
        return payload.ResultScanner(
            self.tools.conf.sandbox.max_result_bytes,
            self.tools.conf.api.max_json_depth)

    def _read_output_once(self):
        self.scanner = self._new_scanner()
        decoder = output.OutputDecoder()
        skip = self.writer.position
        seen = 0
        for stream, data in redact.redacted(
                self.driver.read_output(self.handle, decoder), self.secrets):
            if stream == output.STDOUT:
                self.scanner.feed(data)
            if seen + len(data) > skip:
                self.writer.write(data[max(skip - seen, 0):])
            seen += len(data)
            self.writer.flush_if_due()
        self._seen = seen
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
            max_bytes=self.tools.conf.sandbox.max_log_bytes, cut=cut,
            timed=True)

    def _new_writer(self):
        """Write the log from what is stored, with a new pump feeding it."""
        self.writer = self._writer()
        self._start_pump()

    def _start_pump(self):
        self.pump = _LogPump(self.driver, self.handle, self.writer,
                             self._streamed, self.secrets, self.on_end)
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
            raise job_tools.StepChanged()
        LOG.warning('Log of %s of job %s moved on to byte %d without us; '
                    'following it', job_tools.step_label(self.step),
                    self.job.uuid, self.step.log_bytes)
        # The stream now resumes past bytes another writer stored: what
        # it shows of stdout has a gap.
        self._streamed = None
        self._new_writer()

    def close(self):
        """Store what the stream gave so far and close the stored log
        (a container that is gone: nothing more will come).
        """
        while True:
            try:
                self.writer.close()
                return
            except logs.LogOwnershipLost:
                # Store what the stream gave so far, from where it is now.
                self._resync()
                self.pump.join(self.tools.poll_interval)

    def flush(self):
        """Store buffered output if it is due (a chunk is full, or the
        flush interval passed); follow the stored log if it moved on.
        """
        if self.writer.lost:
            self._resync()
        try:
            self.writer.flush_if_due()
        except logs.LogOwnershipLost:
            self._resync()
