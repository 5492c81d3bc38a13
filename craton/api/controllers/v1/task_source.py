# SPDX-License-Identifier: Apache-2.0
"""``/v1/tasks/{id}/source``: the archive of a task whose source is
``{"type": "upload"}``, and what creating or changing such a task means.

``PUT`` takes a gzipped tar of the task directory (``Content-Type:
application/gzip``), at most ``[api] max_upload_bytes``. The whole archive
is checked (:func:`craton.common.archives.inspect`) before anything is
stored; an accepted archive replaces the previous one, is recorded in the
task's source (``size``, ``sha256``), puts approval back to ``pending`` and
starts a build.
"""

import json

import pecan
from pecan import rest
import webob
import webob.exc

from craton.api.controllers.v1 import task_views
from craton.api.controllers.v1 import utils
from craton.api import media_types
from craton.api import middleware
from craton.common import archives
from craton.common import exception
from craton.common import states
from craton.db import api as db_api

PATH = r'^/v1/tasks/[^/]+/source/?$'
# A new archive cannot replace the one a build or sync is using.
_BUSY = (states.TASK_BUILDING, states.TASK_SYNCING, states.TASK_DELETING)
_READ = 1 << 20


def body_route(conf):
    """The route's content types and size limit, applied by the API's
    middleware before anything parses the body.
    """
    return middleware.BodyRoute(
        'PUT', PATH, archives.MEDIA_TYPES,
        lambda: (conf.api.max_upload_bytes, '[api] max_upload_bytes'),
        'a gzipped tar of the task directory')


# -- what tasks.py asks when a task gets a source --------------------------

def waiting_reason(task):
    """The ``status_reason`` of a task with a new source: waiting for its
    archive when the source is an upload without one (nothing to build
    until then), else None.
    """
    return (archives.waiting_reason(task.uuid)
            if archives.awaits_archive(task.source) else None)


def set_pending(task):
    """A new task's first status (before it is created): ``pending``, with
    :func:`waiting_reason`. Later moves go through the state machine.
    """
    task.status = states.TASK_PENDING
    task.status_reason = waiting_reason(task)


def start_build(task, old_source=None):
    """After a saved change of source: forget the archive of the old upload
    source, and cast the build unless the task waits for its archive.
    """
    if isinstance(old_source, dict) and \
            old_source.get('type') == archives.UPLOAD:
        db_api.get_instance().put_task_upload(task.uuid, b'')
    if not archives.awaits_archive(task.source):
        utils.cast('build_task', task.uuid)


# -- the controller ---------------------------------------------------------

def _read_body(req, limit):
    """The request body, counted while read (a chunked body has no
    Content-Length to check beforehand).
    """
    too_large = archives.ArchiveTooLarge(
        reason='the archive is larger than %d bytes ([api] '
               'max_upload_bytes)' % limit)
    if req.content_length is not None and req.content_length > limit:
        raise too_large
    chunks, total = [], 0
    stream = req.body_file
    try:
        while True:
            chunk = stream.read(min(_READ, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise too_large
    except webob.exc.HTTPRequestEntityTooLarge:
        raise too_large  # the middleware's count of a chunked body
    return b''.join(chunks)


class TaskSourceController(rest.RestController):
    """pecan's RestController, not ours: the task's id arrives as a routing
    argument, which our arity check would not count.
    """

    @pecan.expose()
    def put(self, task_ident, *extra, **params):
        environ = pecan.request.environ
        try:
            if extra:
                raise exception.NotFound(
                    'No resource at PUT %s.' % pecan.request.path)
            return self._put(task_ident)
        except exception.CratonException as exc:
            middleware.record_error(environ, exc)
            raise

    def _put(self, ident):
        req = pecan.request
        task = task_views.get_task(ident)
        utils.authorize('craton:task:upload_source', task_views.target(task))
        if req.GET:
            raise utils.invalid(sorted(req.GET)[0], 'unknown parameter; '
                                'this request takes none')
        if media_types.of(req.content_type) not in archives.MEDIA_TYPES:
            # The middleware answered already; unless it is not in front.
            raise body_route(utils.conf()).media_type_error(req)
        kind = (task.source or {}).get('type')
        if kind != archives.UPLOAD:
            raise exception.InvalidState(
                reason="task '%s' has a %s source; only a task whose source "
                       'is {"type": "upload"} takes an archive (change its '
                       'source with PATCH first)' % (task.name, kind))
        if task.status in _BUSY:
            raise exception.InvalidState(
                reason="task '%s' is %s; %s" % (
                    task.name, task.status,
                    'it cannot take an archive' if task.status ==
                    states.TASK_DELETING else 'upload the archive again once '
                    'its build has finished'))
        limit = utils.conf().api.max_upload_bytes
        data = _read_body(req, limit)
        if not data:
            raise archives.InvalidArchive(
                reason='the request has no body; send a gzipped tar of the '
                       'task directory')
        summary = archives.inspect(data, utils.conf())
        # The archive first: a task recording an archive that is not
        # stored would build the previous one.
        db_api.get_instance().put_task_upload(task.uuid, data)
        task.source = archives.source_of(summary)
        # A new source: approval covers what was approved, not this.
        task.reset_approval()
        task_views.rebuild(task, waiting_reason(task))
        utils.cast('build_task', task.uuid)
        return webob.Response(
            status=202, content_type='application/json', charset=None,
            body=json.dumps(task_views.task_view(task)).encode('utf-8'))
