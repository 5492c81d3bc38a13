# SPDX-License-Identifier: Apache-2.0
"""``/v1/events``: the audit trail, who did what to which resource."""

from oslo_utils import uuidutils

from craton.api.controllers import base
from craton.api.controllers.v1 import collection
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.common import audit_state
from craton.common import exception
from craton.objects import event as event_obj

FIELDS = ('uuid', 'time', 'project_id', 'user_id', 'action',
          'resource_type', 'resource_uuid', 'outcome', 'detail',
          'request_id', 'created_at', 'updated_at')
SORT_KEYS = ('time', 'uuid', 'action', 'resource_type', 'outcome',
             'created_at')


def event_view(event):
    out = utils.view(event, FIELDS, 'events')
    out['detail'] = out['detail'] or {}
    return out


def _one_of(value, allowed, name):
    if value is not None and value not in allowed:
        raise utils.invalid(name, 'must be one of %s' % ', '.join(allowed))
    return value


class EventsController(base.RestController):

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  types.text, types.text, types.text, types.text, types.text,
                  types.text, types.text)
    def get_all(self, resource_type=None, resource=None, action=None,
                user=None, outcome=None, limit=None, marker=None,
                sort_key=None, sort_dir=None, all_projects=None):
        utils.authorize('craton:event:list')
        listing = utils.list_context(all_projects, 'event')
        page = collection.Page(limit, marker, sort_key, sort_dir, SORT_KEYS)
        if resource is not None and not uuidutils.is_uuid_like(resource):
            raise utils.invalid('resource', 'must be the UUID of a resource')
        filters = {
            'resource_type': _one_of(resource_type, audit_state.RESOURCE_TYPES,
                                     'resource_type'),
            'action': _one_of(action, audit_state.ACTIONS, 'action'),
            'outcome': _one_of(outcome, audit_state.OUTCOMES, 'outcome'),
            'resource_uuid': resource.lower() if resource else None,
            'user_id': user,
        }
        items, more = page.fetch(event_obj.Event.list, listing, filters)
        return collection.collection(
            'events', [event_view(e) for e in items], page, more)

    @types.expose(types.jsontype, types.text)
    def get_one(self, ident):
        if not uuidutils.is_uuid_like(ident):
            raise exception.EventNotFound(event=ident)
        event = event_obj.Event.get(utils.context(), ident)
        utils.authorize('craton:event:get', event)
        return event_view(event)
