# SPDX-License-Identifier: Apache-2.0
"""Worker pools that say no instead of queueing without bound."""

import threading

import futurist
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class BoundedPool:
    """A thread pool of ``size`` workers that refuses work when full.

    Work waits in the database, not here: a refused job stays ``pending``
    until the sweep (or the next cast) finds a free worker.
    """

    def __init__(self, kind, size):
        self.kind = kind
        self.size = size
        self._lock = threading.Lock()
        self._active = {}
        self._pool = futurist.ThreadPoolExecutor(max_workers=size)

    def has_room(self):
        """Whether a worker is free now."""
        with self._lock:
            return len(self._active) < self.size

    def running(self, key):
        """Whether work for ``key`` (a job or task UUID) runs here."""
        with self._lock:
            return key in self._active

    def submit_owned(self, key, func, *args):
        """Run ``func(*args)`` for ``key`` unless full or already running.
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
                                                  *args)
        except RuntimeError:
            with self._lock:
                self._active.pop(key, None)
            return False
        return True

    def _wrap(self, key, func, *args):
        try:
            func(*args)
        except Exception:
            LOG.exception('%s %s failed unexpectedly', self.kind, key)
        finally:
            with self._lock:
                self._active.pop(key, None)

    def active(self):
        """The keys of the work running now (a list)."""
        with self._lock:
            return list(self._active)

    def shutdown(self):
        """Take no more work; running work goes on to its end."""
        self._pool.shutdown(wait=False)
