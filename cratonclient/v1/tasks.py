# SPDX-License-Identifier: Apache-2.0
"""``/v1/tasks``: container images built from a source directory, plus the
command to run in them.
"""

import time

from cratonclient.v1 import archive
from cratonclient.v1 import base
from cratonclient.v1 import http

# A build has ended (well or not) in these statuses.
BUILD_FINAL = ('ready', 'error')


class TaskManager(base.Manager):

    collection = 'tasks'

    def upload_source(self, ident, data):
        """Send a gzipped tar of the task directory; (re)starts the build.

        :param data: the archive's bytes.
        :returns: the task (``status`` ``pending``).
        """
        return self.http.resource('PUT', self._path(ident, 'source'),
                                  data=data, content_type=http.GZIP)

    def upload_directory(self, ident, directory):
        """Pack ``directory`` (see :func:`archive.directory_archive`) and
        send it as the task's source.
        """
        return self.upload_source(ident,
                                  archive.directory_archive(directory))

    def approve(self, ident):
        """Approve a ``ready`` task (admins); the task."""
        return self.http.resource('POST', self._path(ident, 'approve'))

    def reject(self, ident, reason=None):
        """Reject a task (admins); the task, with ``rejection_reason``."""
        body = {'reason': reason} if reason is not None else None
        return self.http.resource('POST', self._path(ident, 'reject'),
                                  json=body)

    def rebuild(self, ident):
        """Build the task's image again; the task (``status`` ``pending``)."""
        return self.http.resource('POST', self._path(ident, 'rebuild'))

    def wait_for_build(self, ident, interval=0.5, on_update=None,
                       sleep=time.sleep):
        """Poll the task until its build ends (``ready`` or ``error``).

        :param interval: seconds between polls.
        :param on_update: called with the task after every poll.
        :returns: the task in its final build status.
        """
        while True:
            task = self.get(ident)
            if on_update:
                on_update(task)
            if task.get('status') in BUILD_FINAL:
                return task
            sleep(interval)
