# SPDX-License-Identifier: Apache-2.0
"""The audit trail of the API's writes (api-ref.rst, "Audit and
notifications").

:class:`AuditMiddleware` sits right inside authentication, so it knows
the caller of every write that reaches the API's own checks (body checks,
policy, validation, the controllers). For a write to a resource
(:func:`classify` maps the route to a resource type and an action) it:

1. announces the request's event (:func:`craton.common.audit_state.begin`)
   before the request runs. The database layer writes that event into the
   first writer transaction that touches the resource, just before it
   commits (:mod:`craton.db.sqlalchemy.trail`): the change and its event
   commit together or not at all, and the event names the resource's UUID
   and project as that transaction saw them.
2. after the answer: a refused write (any 4xx: policy, validation, not
   found, conflict, too large) is recorded as ``failure`` in a
   transaction of its own, with the resource's project when the caller
   may see the resource and the caller's own otherwise (so nothing about
   another project's resources is revealed to anyone). A write that
   succeeded without changing anything (a patch that changes nothing,
   a cancel of a job already being cancelled) is recorded as ``success``
   the same way. Only the status and error code go in ``detail``, never
   the request body nor an error message (which may quote a value).

Writes refused before authentication (401; a body over the size cap,
refused before the token is even read) have no known caller and are not
recorded.
"""

from oslo_log import log
from oslo_utils import uuidutils
import webob
import webob.exc

from craton.api import middleware
from craton.common import audit_state
from craton.common import context
from craton.common import exception
from craton.common import notifications
from craton.common import policy
from craton.objects import event as event_obj

LOG = log.getLogger(__name__)

# The collections of /v1 and their resource types.
COLLECTIONS = {
    'tasks': audit_state.TASK, 'workflows': audit_state.WORKFLOW,
    'jobs': audit_state.JOB, 'hosts': audit_state.HOST,
    'regions': audit_state.REGION, 'cells': audit_state.CELL,
    'secrets': audit_state.SECRET,
}
# (collection, method) on the collection itself.
_ON_COLLECTION = {'POST': audit_state.CREATE}
_RUN = {('jobs', 'POST'): audit_state.RUN}
# Method on one resource.
_ON_ITEM = {'PATCH': audit_state.UPDATE, 'PUT': audit_state.UPDATE,
            'DELETE': audit_state.DELETE}
# (collection, sub-path, method) on one resource.
_ON_ACTION = {
    ('tasks', 'approve', 'POST'): audit_state.APPROVE,
    ('tasks', 'reject', 'POST'): audit_state.REJECT,
    ('tasks', 'rebuild', 'POST'): audit_state.UPDATE,
    ('tasks', 'source', 'PUT'): audit_state.UPDATE,
    ('jobs', 'cancel', 'POST'): audit_state.CANCEL,
}
MUTATING = frozenset(('POST', 'PUT', 'PATCH', 'DELETE'))
# Answers that are not the API refusing a write of a known route.
_NOT_RECORDED = (401, 405)


def classify(method, path):
    """``(resource_type, action, ident)`` of a write to a resource
    (``ident``: the path's UUID or name, None for a create), or None for
    anything else (a read, an unknown route).
    """
    if method not in MUTATING:
        return None
    parts = [p for p in path.split('/') if p]
    if len(parts) < 2 or parts[0] != 'v1' or parts[1] not in COLLECTIONS:
        return None
    kind, rtype = parts[1], COLLECTIONS[parts[1]]
    if len(parts) == 2:
        action = _RUN.get((kind, method)) or _ON_COLLECTION.get(method)
        return (rtype, action, None) if action else None
    if len(parts) == 3:
        action = _ON_ITEM.get(method)
        return (rtype, action, parts[2]) if action else None
    if len(parts) == 4:
        action = _ON_ACTION.get((kind, parts[3], method))
        return (rtype, action, parts[2]) if action else None
    return None


def _status_of(exc):
    if isinstance(exc, exception.CratonException):
        return exc.code
    if isinstance(exc, webob.exc.HTTPException):
        return exc.code
    return 500


class AuditMiddleware:
    """Records every write to a resource in the audit trail (see the
    module's docstring).
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        route = classify(environ.get('REQUEST_METHOD', ''),
                         environ.get('PATH_INFO', ''))
        ctx = None
        if route is not None:
            ctx = context.RequestContext.from_environ(environ)
        if ctx is None or ctx.project_id is None:
            return self.app(environ, start_response)
        rtype, action, ident = route
        pend = audit_state.begin(action, rtype, ctx.user_id, ctx.project_id,
                           ctx.request_id, ident)
        try:
            try:
                resp = webob.Request(environ).get_response(self.app)
            except Exception as exc:
                self._after(ctx, pend, _status_of(exc), environ, None)
                raise
            self._after(ctx, pend, resp.status_int, environ, resp)
        finally:
            audit_state.clear()
        return resp(environ, start_response)

    def _after(self, ctx, pend, status, environ, resp):
        if pend.recorded or status in _NOT_RECORDED or status >= 500:
            return
        try:
            if status < 400:
                resource = self._answered(pend, ctx, resp)
                outcome, detail = audit_state.SUCCESS, None
            else:
                resource = self._visible(pend, ctx)
                outcome = audit_state.FAILURE
                error = environ.get(middleware.ERROR_ENVIRON_KEY) or {}
                detail = {'status': status}
                if error.get('status') == status and error.get('code'):
                    detail['code'] = error['code']
            uuid, project_id = resource or (None, ctx.project_id)
            event_obj.Event.record(
                pend.action, pend.resource_type, uuid, project_id,
                ctx.user_id, detail=detail, outcome=outcome,
                request_id=ctx.request_id, service=notifications.API)
        except Exception:
            LOG.exception('Could not record %s of %s %s in the audit trail',
                          pend.action, pend.resource_type, pend.ident)

    @staticmethod
    def _answered(pend, ctx, resp):
        """The resource the answer shows (a write that changed nothing):
        ``(uuid, project_id)``, or what the request named.
        """
        try:
            body = resp.json if resp is not None and resp.body else None
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get('uuid') and \
                body.get('project_id'):
            return body['uuid'], body['project_id']
        return AuditMiddleware._visible(pend, ctx)

    @staticmethod
    def _visible(pend, ctx):
        """``(uuid, project_id)`` of the resource the request named, if the
        caller may see it; else None (it is then recorded under the
        caller's project, without a UUID unless the caller sent one).
        """
        if pend.ident is None:
            return None
        any_project = pend.resource_type == audit_state.TASK and policy.check(
            'craton:task:get_any_project', ctx)
        found = event_obj.Event.resource_of(ctx, pend.resource_type,
                                            pend.ident, any_project)
        if found is not None:
            return found
        if uuidutils.is_uuid_like(pend.ident):
            return pend.ident.lower(), ctx.project_id
        return None
