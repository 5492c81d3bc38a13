# SPDX-License-Identifier: Apache-2.0
"""Writing the audit trail inside the transaction of the change.

:mod:`.session` calls :func:`before_commit` as the outermost writer
transaction is about to commit, and :func:`after_commit` once it has.

* A request's pending event (:mod:`craton.common.audit_state`) is written into
  the first writer transaction that touched a row of its resource: a row
  of that model the ORM flushed (new, changed or deleted; a child row such
  as a job's step or a task's archive chunk counts for its parent), or
  one the DB API marked with :func:`touched` after a conditional UPDATE
  the ORM does not see. The event takes the resource's UUID and project
  from that row, so the change and its event commit or roll back together.
* :func:`add` writes any event into the open transaction (the conductor's
  own events, through ``record_event``).
* After the commit, each event written goes out as a notification.
"""

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy import orm

from craton.common import audit_state
from craton.common import notifications
from craton.db.sqlalchemy import models

# Session.info keys.
_TOUCHED = 'craton.audit_state.touched'
_EVENTS = 'craton.audit_state.events'

MODELS = {
    audit_state.TASK: models.Task,
    audit_state.WORKFLOW: models.Workflow,
    audit_state.JOB: models.Job,
    audit_state.HOST: models.Host,
    audit_state.REGION: models.Region,
    audit_state.CELL: models.Cell,
    audit_state.SECRET: models.Secret,
}

# Rows that belong to a resource: (its model, the column holding its id).
_CHILDREN = {
    models.WorkflowStep: (models.Workflow, 'workflow_id'),
    models.JobStep: (models.Job, 'job_id'),
    models.HostLabel: (models.Host, 'host_id'),
    models.TaskSharedRole: (models.Task, 'task_id'),
    models.TaskUploadChunk: (models.Task, 'task_id'),
}


def _note(s, model, uuid=None, row_id=None, project_id=None):
    s.info.setdefault(_TOUCHED, []).append(
        (model, uuid, row_id, project_id))


def touched(s, model, uuid):
    """Mark the ``model`` row ``uuid`` as changed in session ``s`` by a
    statement the ORM does not track (a conditional UPDATE), so that the
    request's pending event can name it.
    """
    if audit_state.pending() is not None:
        _note(s, model, uuid=uuid)


@sa.event.listens_for(orm.Session, 'after_flush')
def _after_flush(s, flush_context):
    pend = audit_state.pending()
    if pend is None:
        return
    wanted = MODELS.get(pend.resource_type)
    for row in list(s.new) + list(s.dirty) + list(s.deleted):
        kind = type(row)
        if kind is wanted:
            _note(s, kind, uuid=row.uuid, project_id=row.project_id)
        elif kind in _CHILDREN and _CHILDREN[kind][0] is wanted:
            _note(s, wanted, row_id=getattr(row, _CHILDREN[kind][1]))


def _resource(s, pend):
    """``(uuid, project_id)`` of the row of ``pend``'s resource this
    transaction touched (the one the path names, if several), or None.
    """
    wanted = MODELS.get(pend.resource_type)
    found = []
    for model, uuid, row_id, project_id in s.info.get(_TOUCHED, ()):
        if model is not wanted:
            continue
        if project_id is None:
            column = model.uuid if uuid is not None else model.id
            row = s.execute(sa.select(model.uuid, model.project_id).where(
                column == (uuid if uuid is not None else row_id))).first()
            if row is None:
                continue
            uuid, project_id = row
        found.append((uuid, project_id))
    for uuid, project_id in found:
        if uuid == pend.ident:
            return uuid, project_id
    return found[0] if found else None


def add(s, values, service=notifications.CONDUCTOR, pend=None):
    """Write an event (``values``: the columns of ``models.Event``;
    ``uuid`` and ``time`` default to new ones) into session ``s``'s open
    writer transaction; it is notified, as from ``service``, once that
    transaction commits (and ``pend``, the pending event it records, if
    any, counts as recorded). Returns the values written.
    """
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    values.setdefault('time', timeutils.utcnow())
    values.setdefault('outcome', audit_state.SUCCESS)
    row = models.Event()
    row.update(values)
    s.add(row)
    s.info.setdefault(_EVENTS, []).append((values, service, pend))
    return values


def before_commit(s):
    """In the outermost writer transaction ``s``, just before it commits:
    write the pending event if this transaction touched its resource.
    Returns what :func:`after_commit` needs.
    """
    pend = audit_state.pending()
    if pend is not None and MODELS.get(pend.resource_type) is not None:
        s.flush()
        resource = _resource(s, pend)
        if resource is not None:
            add(s, {'project_id': resource[1], 'user_id': pend.user_id,
                    'action': pend.action,
                    'resource_type': pend.resource_type,
                    'resource_uuid': resource[0],
                    'request_id': pend.request_id},
                service=notifications.API, pend=pend)
            s.flush()
    s.info.pop(_TOUCHED, None)
    return s.info.pop(_EVENTS, [])


def forget(s):
    """Drop what ``s`` noted, after a rollback."""
    s.info.pop(_TOUCHED, None)
    s.info.pop(_EVENTS, None)


def after_commit(written):
    """Once the transaction committed: the request's pending event is
    recorded, and every event written goes out as a notification.
    """
    for values, service, pend in written or ():
        if pend is not None:
            pend.recorded = True
        notifications.event_recorded(values, service)
