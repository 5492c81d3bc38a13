# SPDX-License-Identifier: Apache-2.0
"""Events of the audit trail: who did what to which resource.

An event is written once and never changed. Those a request causes are
written by the database layer inside the transaction of the change
(:mod:`craton.db.sqlalchemy.trail`); :meth:`Event.record` is for the
others, e.g. the conductor handing a secret to a step.
"""

from craton.common import audit_state
from craton.common import notifications
from craton.objects import base
from craton.objects import fields


@base.CratonObjectRegistry.register
class Event(base.CratonObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    fields = {
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'time': fields.DateTimeField(),
        'project_id': fields.StringField(),
        'user_id': fields.StringField(nullable=True),
        'action': fields.StringField(),
        'resource_type': fields.StringField(),
        'resource_uuid': fields.StringField(nullable=True),
        'outcome': fields.StringField(),
        'detail': fields.JsonField(nullable=True),
        'request_id': fields.StringField(nullable=True),
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
    }

    @classmethod
    def get(cls, context, uuid):
        """The event ``uuid`` of the caller's project (any project when
        ``context.all_projects``); EventNotFound otherwise.
        """
        row = cls.dbapi().get_event(context.scope_project, uuid)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def list(cls, context, filters=None, **page):
        """A page (list of Event) of the caller's project's events (every
        project's when ``context.all_projects``); ``filters`` and paging
        as the DB API's ``list_events`` (by ``time``, then ``uuid``).
        """
        rows = cls.dbapi().list_events(context.scope_project, filters,
                                       **page)
        return cls._from_rows(context, rows)

    @staticmethod
    def record(action, resource_type, resource_uuid, project_id, user_id,
               detail=None, outcome=audit_state.SUCCESS, request_id=None,
               service=notifications.CONDUCTOR):
        """Write one event, in the caller's open writer transaction if
        there is one (``craton.db.sqlalchemy.session.writer()`` blocks
        nest), else in a transaction of its own, and notify it once that
        transaction commits. See
        :meth:`craton.db.sqlalchemy.events.EventMixin.record_event` for
        the arguments; ``detail`` must never hold a secret value.

        :returns: the event's columns as a dict.
        """
        return base.CratonObject.dbapi().record_event(
            action, resource_type, resource_uuid, project_id, user_id,
            detail=detail, outcome=outcome, request_id=request_id,
            service=service)

    @classmethod
    def resource_of(cls, context, resource_type, ident, any_project=False):
        """``(uuid, project_id)`` of the resource of ``resource_type``
        (UUID or name ``ident``) the caller of ``context`` may see, or
        None: see the DB API's ``find_resource``.
        """
        return cls.dbapi().find_resource(
            resource_type, ident, context.project_id,
            roles=context.effective_roles, any_project=any_project)
