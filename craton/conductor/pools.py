# SPDX-License-Identifier: Apache-2.0
"""Worker pools that say no instead of queueing without bound."""

import collections
import threading
import time

import futurist
from oslo_log import log as logging
from oslo_utils import timeutils

LOG = logging.getLogger(__name__)

Freed = collections.namedtuple('Freed', 'key at monotonic')
Freed.__doc__ = """A worker that has just freed: the ``key`` of the work it
ran, and when it freed (``at``, a UTC datetime; ``monotonic``,
:func:`time.monotonic` seconds).
"""


class BoundedPool:
    """A thread pool of ``size`` workers that refuses work when full.

    Work waits in the database, not here: a refused item stays pending
    there. ``on_free``, if given, is called with a :class:`Freed` in the
    worker's thread each time a worker frees, so the owner can start the
    next waiting item at once; the periodic sweep only catches what that
    misses.
    """

    def __init__(self, kind, size, on_free=None):
        self.kind = kind
        self.size = size
        self._on_free = on_free
        self._lock = threading.Lock()
        self._active = {}
        self._closed = False
        self._pool = futurist.ThreadPoolExecutor(max_workers=size)

    def has_room(self):
        """Whether a worker is free now."""
        with self._lock:
            return len(self._active) < self.size

    def running(self, key):
        """Whether work for ``key`` (a job or task UUID) runs here."""
        with self._lock:
            return key in self._active

    def submit_owned(self, key, func, *args, freed=None):
        """Run ``func(*args)`` for ``key`` unless full or already running.

        ``freed``: the :class:`Freed` worker this start answers, if any;
        the start is then logged (DEBUG) with both times and the gap.
        Returns True if it was started or already runs.
        """
        with self._lock:
            if key in self._active:
                return True
            if len(self._active) >= self.size:
                return False
            self._active[key] = None
        try:
            self._active[key] = self._pool.submit(self._wrap, key, func,
                                                  args, freed)
        except RuntimeError:
            with self._lock:
                self._active.pop(key, None)
            return False
        return True

    def _wrap(self, key, func, args, freed):
        if freed is not None:
            LOG.debug('%(kind)s %(key)s started at %(now)s, %(gap).1f ms '
                      'after %(prev)s freed its worker at %(then)s',
                      {'kind': self.kind, 'key': key,
                       'now': timeutils.utcnow().isoformat(),
                       'gap': (time.monotonic() - freed.monotonic) * 1000,
                       'prev': freed.key, 'then': freed.at.isoformat()})
        try:
            func(*args)
        except Exception:
            LOG.exception('%s %s failed unexpectedly', self.kind, key)
        finally:
            with self._lock:
                self._active.pop(key, None)
                closed = self._closed
        if self._on_free is None or closed:
            return
        try:
            self._on_free(Freed(key, timeutils.utcnow(), time.monotonic()))
        except Exception:
            # The sweep starts what this could not.
            LOG.exception('Could not start the next %s after %s',
                          self.kind, key)

    def active(self):
        """The keys of the work running now (a list)."""
        with self._lock:
            return list(self._active)

    def shutdown(self):
        """Take no more work; running work goes on to its end, and a
        worker that frees no longer asks for more.
        """
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False)
