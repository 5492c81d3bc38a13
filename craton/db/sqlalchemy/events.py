# SPDX-License-Identifier: Apache-2.0
"""The audit trail: recording an event, reading and listing them.

Events a request causes are written by :mod:`.trail` inside the
transaction of the change; :meth:`EventMixin.record_event` is for the
others (the conductor's, a refused request's).
"""

import sqlalchemy as sa

from craton.common import audit_state
from craton.common import exception
from craton.common import notifications
from craton.db.sqlalchemy import crud
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import query as q
from craton.db.sqlalchemy import session
from craton.db.sqlalchemy import trail

_FILTERS = ('resource_type', 'resource_uuid', 'action', 'user_id',
            'outcome')


class EventMixin:

    def record_event(self, action, resource_type, resource_uuid, project_id,
                     user_id, detail=None, outcome=audit_state.SUCCESS,
                     request_id=None, service=notifications.CONDUCTOR):
        """Write one event of the audit trail, in the caller's open writer
        transaction if there is one (it commits or rolls back with it),
        else in a transaction of its own; notified (as from ``service``,
        :data:`~craton.common.notifications.CONDUCTOR` or ``API``) once
        that transaction commits.

        :param action: one of :data:`craton.common.audit_state.ACTIONS`.
        :param resource_type: one of
            :data:`craton.common.audit_state.RESOURCE_TYPES`.
        :param resource_uuid: the resource's UUID (None if unknown).
        :param project_id: the resource's project (the caller's when the
            resource is not the caller's to see).
        :param user_id: who acted (None: the service itself).
        :param detail: a small JSON object of facts (never a secret value
            nor a request body), or None.
        :param outcome: ``success`` or ``failure``.
        :returns: the event's columns as a dict (``uuid``, ``time``...).
        :raises ValueError: an unknown action, resource type or outcome.
        """
        if action not in audit_state.ACTIONS:
            raise ValueError('unknown action %r' % (action,))
        if resource_type not in audit_state.RESOURCE_TYPES:
            raise ValueError('unknown resource type %r' % (resource_type,))
        if outcome not in audit_state.OUTCOMES:
            raise ValueError('unknown outcome %r' % (outcome,))
        with session.writer() as s:
            return trail.add(s, {
                'action': action, 'resource_type': resource_type,
                'resource_uuid': resource_uuid, 'project_id': project_id,
                'user_id': user_id, 'detail': detail, 'outcome': outcome,
                'request_id': request_id}, service=service)

    def get_event(self, project_id, uuid):
        """The ``models.Event`` ``uuid`` of ``project_id`` (None: any
        project); EventNotFound otherwise.
        """
        with session.reader() as s:
            return q.one_or_raise(s, q.scoped(
                sa.select(models.Event).where(models.Event.uuid == uuid),
                models.Event, project_id),
                exception.EventNotFound(event=uuid))

    def list_events(self, project_id, filters=None, limit=None, marker=None,
                    sort_key=None, sort_dir=None):
        """A page (list of ``models.Event``) of ``project_id``'s events
        (None: every project's). ``filters`` match ``resource_type``,
        ``resource_uuid``, ``action``, ``user_id`` and ``outcome``
        exactly. Ordered by ``sort_key`` (default ``time``), then by
        ``uuid``; paging as :func:`craton.db.sqlalchemy.query.paginate`
        (InvalidParameter for a marker outside the list).
        """
        filters = filters or {}
        query = q.scoped(sa.select(models.Event), models.Event, project_id)
        for key in _FILTERS:
            if filters.get(key) is not None:
                query = query.where(getattr(models.Event, key) ==
                                    filters[key])
        return crud.page(models.Event, query, limit, marker,
                         sort_key or 'time', sort_dir, project_id,
                         tiebreak='uuid')

    def find_resource(self, resource_type, ident, project_id, roles=None,
                      any_project=False):
        """``(uuid, project_id)`` of the resource of ``resource_type`` with
        UUID or name ``ident`` that a caller of ``project_id`` holding
        ``roles`` sees (for tasks also those of other projects made
        visible to those roles, or any with ``any_project``), or None.
        """
        model = trail.MODELS.get(resource_type)
        if model is None:
            return None
        try:
            if model is models.Task:
                row = self.get_task(project_id, ident, roles=roles,
                                    any_project=any_project)
            else:
                row = crud.get(model, project_id, ident,
                               exception.NotFound())
        except (exception.NotFound, exception.Conflict):
            return None
        return row.uuid, row.project_id
