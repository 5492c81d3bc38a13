# SPDX-License-Identifier: Apache-2.0
"""The audit trail's vocabulary, and the event a request has pending
(for the API and the database layer; code that records an event of its
own uses :func:`craton.common.audit.record`).

The API announces, before a write request runs, which event that request
makes (:func:`begin`); the database layer writes it into the first writer
transaction that touches a row of that resource, just before it commits
(:mod:`craton.db.sqlalchemy.trail`), so a change and its event commit or
roll back together. The pending event is per thread: one request is
served by one thread from start to end.
"""

import threading

CREATE = 'create'
UPDATE = 'update'
DELETE = 'delete'
APPROVE = 'approve'
REJECT = 'reject'
RUN = 'run'
CANCEL = 'cancel'
READ = 'read'
ACTIONS = (CREATE, UPDATE, DELETE, APPROVE, REJECT, RUN, CANCEL, READ)

TASK = 'task'
WORKFLOW = 'workflow'
JOB = 'job'
HOST = 'host'
REGION = 'region'
CELL = 'cell'
SECRET = 'secret'  # nosec B105 - a resource type's name, not a password
RESOURCE_TYPES = (TASK, WORKFLOW, JOB, HOST, REGION, CELL, SECRET)

SUCCESS = 'success'
FAILURE = 'failure'
OUTCOMES = (SUCCESS, FAILURE)

_LOCAL = threading.local()


class Pending:
    """The event a request will record: ``action`` on ``resource_type``
    (the path's ``ident``, a UUID or a name, or None for a create) by
    ``user_id`` of ``project_id`` (the caller's project), under
    ``request_id``. ``recorded`` turns True once a transaction holding the
    event has committed.
    """

    def __init__(self, action, resource_type, user_id, project_id,
                 request_id=None, ident=None):
        self.action = action
        self.resource_type = resource_type
        self.user_id = user_id
        self.project_id = project_id
        self.request_id = request_id
        self.ident = ident
        self.recorded = False


def begin(action, resource_type, user_id, project_id, request_id=None,
          ident=None):
    """Announce the event of this thread's request (see :class:`Pending`);
    replaces any earlier one. Returns the :class:`Pending`.
    """
    _LOCAL.pending = Pending(action, resource_type, user_id, project_id,
                             request_id, ident)
    return _LOCAL.pending


def pending():
    """This thread's :class:`Pending` event not recorded yet, or None."""
    event = getattr(_LOCAL, 'pending', None)
    if event is None or event.recorded:
        return None
    return event


def current():
    """This thread's :class:`Pending` event, recorded or not, or None."""
    return getattr(_LOCAL, 'pending', None)


def clear():
    """Forget this thread's pending event (the request has ended)."""
    _LOCAL.pending = None


def event_type(resource_type, action, phase):
    """The notification event type: ``craton.<type>.<action>.<phase>``
    (``phase`` ``start``, ``end`` or ``error``).
    """
    return 'craton.%s.%s.%s' % (resource_type, action, phase)
