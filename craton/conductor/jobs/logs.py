# SPDX-License-Identifier: Apache-2.0
"""Storing a step's output in the database while it streams.

Output is kept in chunks (``[conductor] log_chunk_bytes``) so any API node
can serve it, and flushed at least every ``[conductor] log_flush_interval``
seconds while it arrives, so a running step's lines are readable within
about that delay. ``append_step_log`` stores a chunk only at the offset
where the stored log ends: a chunk is never stored twice, and a writer
that finds the log moved on knows another conductor owns the step now.
"""

import sys
import threading
import time

from oslo_log import log as logging


LOG = logging.getLogger(__name__)

# The last line of a log cut at [sandbox] max_log_bytes (api-ref.rst).
CUT_LINE = b'[craton] log cut at %d bytes\n'

class LogWriterClosed(Exception):
    """The writer takes no more output (closed, abandoned or lost)."""


class LogOwnershipLost(LogWriterClosed):
    """Another writer owns the log.

    The stored log no longer ends where this writer expected: a conductor
    that took the job over writes it now.
    """


class StepLogWriter:
    """Buffers a step's output and appends it to the stored log.

    ``write`` may be called from a log-streaming thread while the executor
    calls ``flush_if_due``/``flush`` from its own; a lock keeps the offset
    and buffer consistent, so no byte is dropped or stored twice.
    """

    def __init__(self, dbapi, step_id, start_offset, chunk_bytes,
                 flush_interval, clock=time.monotonic, max_bytes=None,
                 cut=False, timed=False):
        """Write the log of step ``step_id`` from ``start_offset``.

        ``start_offset`` is the step's stored ``log_bytes``. ``max_bytes``
        caps what is stored (``[sandbox] max_log_bytes``): the output
        past it is dropped and the log ends with a line :data:`CUT_LINE`,
        stored together with the step's ``log_truncated``.
        ``cut``: the stored log was cut already (``log_truncated``).
        ``timed``: store what is buffered ``flush_interval`` seconds after
        it arrived, from a timer of its own, even if nothing else comes
        and nobody calls :meth:`flush_if_due` (a step that printed a line
        and then works quietly). A timed store that fails leaves the bytes
        buffered for the next write or flush; one that finds the log
        owned by another writer sets :attr:`lost`.
        """
        self.dbapi = dbapi
        self.step_id = step_id
        self.chunk_bytes = max(1, int(chunk_bytes))
        self.flush_interval = flush_interval
        self._clock = clock
        self._lock = threading.RLock()
        self._buffer = bytearray()
        self._oldest = None     # when the oldest unstored byte arrived
        self.offset = start_offset   # bytes stored so far
        self.max_bytes = max_bytes
        self.cut = cut
        self._cut_end = None    # stored length once the cut line is in
        self._last_byte = None  # of the output taken so far
        # Bytes of the stream taken so far. After a cut by an earlier
        # writer the stream's length is unknown: take nothing more.
        self._received = sys.maxsize if cut else start_offset
        self.lost = False
        self.closed = False
        self._timed = timed
        self._timer = None

    @property
    def position(self):
        """Bytes received so far, stored or buffered.

        A resumed stream must start here so nothing is skipped or repeated.
        """
        with self._lock:
            return self._received

    def write(self, data):
        """Take ``data`` and store full chunks at once, and everything
        buffered when the oldest byte waited ``flush_interval``.

        :raises: LogOwnershipLost when another writer owns the log;
            LogWriterClosed after ``close``/``abandon``.
        """
        if not data:
            return
        with self._lock:
            self._check_open()
            self._received += len(data)
            if self.cut:
                return
            if self.max_bytes is not None:
                room = self.max_bytes - self.offset - len(self._buffer)
                if len(data) > room:
                    data = data[:max(room, 0)]
                    if data:
                        self._last_byte = data[-1:]
                    # On a line of its own, even when the cut falls
                    # inside one.
                    if self._last_byte not in (None, b'\n'):
                        data += b'\n'
                    data += CUT_LINE % self.max_bytes
                    self.cut = True
                    self._cut_end = (self.offset + len(self._buffer) +
                                     len(data))
                    LOG.info('Log of step %s cut at %d bytes', self.step_id,
                             self.max_bytes)
                else:
                    self._last_byte = data[-1:]
            if not self._buffer:
                self._oldest = self._clock()
                self._start_timer()
            self._buffer += data
            while len(self._buffer) >= self.chunk_bytes:
                self._store(self.chunk_bytes)
            if self._due():
                self._store_all()

    def flush(self):
        """Store everything buffered now.

        :raises: LogOwnershipLost when another writer owns the log.
        """
        with self._lock:
            if self.lost:
                raise LogOwnershipLost(self._lost_message())
            self._store_all()

    def flush_if_due(self):
        """Store what is buffered if its oldest byte waited long enough.

        The executor calls this from its poll loop so that output followed
        by silence still reaches the database within the interval.
        """
        with self._lock:
            if self.lost:
                raise LogOwnershipLost(self._lost_message())
            if self._due():
                self._store_all()

    def close(self):
        """Store what is left and take no more output.

        :raises: LogOwnershipLost when another writer owns the log.
        """
        with self._lock:
            if self.closed and not self.lost:
                return
            self.flush()
            self.closed = True

    def abandon(self):
        """Take no more output and store nothing more.

        For when the job is no longer ours or the stream was given up.
        """
        with self._lock:
            self.closed = True
            self._buffer.clear()
            self._oldest = None

    def _start_timer(self):
        if self._timed and (self._timer is None or
                            not self._timer.is_alive()):
            self._timer = threading.Timer(self.flush_interval,
                                          self._timed_store)
            self._timer.daemon = True
            self._timer.start()

    def _timed_store(self):
        with self._lock:
            if self.closed or self.lost or not self._buffer:
                return
            try:
                self._store_all()
            except LogOwnershipLost:
                return      # lost is set: the owner's next call sees it
            except Exception as exc:
                LOG.warning('Could not store the log of step %s yet: %s',
                            self.step_id, exc)
            if self._buffer:
                # Arrived while storing, or the store failed: again later.
                self._timer = None
                self._start_timer()

    def _due(self):
        return (bool(self._buffer) and self._oldest is not None and
                self._clock() - self._oldest >= self.flush_interval)

    def _check_open(self):
        if self.lost:
            raise LogOwnershipLost(self._lost_message())
        if self.closed:
            raise LogWriterClosed('log of step %s is closed' % self.step_id)

    def _lost_message(self):
        return ('log of step %s no longer ends at byte %d: another '
                'conductor writes it' % (self.step_id, self.offset))

    def _store_all(self):
        while self._buffer:
            self._store(min(len(self._buffer), self.chunk_bytes))

    def _store(self, size):
        data = bytes(self._buffer[:size])
        ends_cut = self._cut_end == self.offset + size
        # A database error propagates with the buffer untouched, so the
        # next flush tries the same bytes at the same offset again.
        if not self.dbapi.append_step_log(self.step_id, self.offset, data,
                                          truncated=ends_cut):
            self.lost = True
            LOG.warning('Stopped writing the log of step %s: it no longer '
                        'ends at byte %d', self.step_id, self.offset)
            raise LogOwnershipLost(self._lost_message())
        del self._buffer[:size]
        self.offset += size
        if not self._buffer:
            self._oldest = None
