# SPDX-License-Identifier: Apache-2.0
"""``/v1/workflows`` and ``/v1/jobs``: ordered steps, and their runs on
hosts, with each step's log read by byte offset.
"""

import collections
import time

from cratonclient.v1 import base

# A job that reached one of these never changes again.
JOB_FINAL = ('succeeded', 'failed', 'error', 'cancelled')
# Likewise for a step.
STEP_FINAL = ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped',
              'lost')

LogPage = collections.namedtuple('LogPage',
                                 'data offset complete truncated')
LogPage.__doc__ = """One answer of a step's log.

:ivar data: the bytes from the offset asked for (maybe empty).
:ivar offset: the offset to ask for next (``X-Craton-Log-Offset``).
:ivar complete: the step is final and every byte has been read
    (``X-Craton-Log-Complete``).
:ivar truncated: the log was cut at the service's cap
    (``X-Craton-Log-Truncated``).
"""


def _true(value):
    return str(value or '').strip().lower() == 'true'


class WorkflowManager(base.Manager):

    collection = 'workflows'

    def replace(self, ident, body):
        """``PUT``: replace name, description, variables and steps."""
        return self.http.resource('PUT', self._path(ident), json=body)


class JobManager(base.Manager):

    collection = 'jobs'

    def cancel(self, ident):
        """Ask to cancel an unfinished job; the job (``cancelling``).

        :raises ApiError: 409 when the job has already finished.
        """
        return self.http.resource('POST', self._path(ident, 'cancel'))

    def inventory(self, ident):
        """The hosts snapshotted when the job was submitted (all pages)."""
        return list(self.http.pages(self._path(ident, 'inventory'), 'hosts'))

    def logs(self, ident, index, offset=0):
        """One page (at most 1 MiB) of step ``index``'s log from byte
        ``offset``; a :class:`LogPage`.
        """
        response = self.http.request(
            'GET', self._path(ident, 'steps', int(index), 'logs'),
            params={'offset': int(offset)}, accept='text/plain',
            # A log's bytes are the task's output: not for the debug log.
            log_body=False)
        headers = response.headers
        next_offset = headers.get('X-Craton-Log-Offset')
        data = response.content
        return LogPage(data=data,
                       offset=(int(next_offset) if next_offset is not None
                               else int(offset) + len(data)),
                       complete=_true(headers.get('X-Craton-Log-Complete')),
                       truncated=_true(headers.get('X-Craton-Log-Truncated')))

    def iter_log(self, ident, index, offset=0, follow=False, interval=0.5,
                 sleep=time.sleep):
        """Yield the pages of step ``index``'s log from ``offset``.

        Without ``follow``, stops at the end of what is stored now; with it,
        polls every ``interval`` seconds for new bytes until the log is
        complete (the step ended and every byte was read). Every yielded
        page carries data, except possibly the last, which carries
        ``complete`` as it was last read.
        """
        while True:
            page = self.logs(ident, index, offset)
            moved = page.offset > offset
            offset = page.offset
            if page.data or page.complete:
                yield page
            if page.complete:
                return
            if not moved:
                if not follow:
                    return
                sleep(interval)

    def wait(self, ident, interval=0.5, on_update=None, sleep=time.sleep):
        """Poll the job until it is final (``JOB_FINAL``).

        :param interval: seconds between polls.
        :param on_update: called with the job after every poll.
        :returns: the final job.
        """
        while True:
            job = self.get(ident)
            if on_update:
                on_update(job)
            if job.get('status') in JOB_FINAL:
                return job
            sleep(interval)
