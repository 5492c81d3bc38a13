# SPDX-License-Identifier: Apache-2.0
"""``/v1/tasks``: container images built from a source, plus a command."""

from oslo_log import log
from oslo_utils import timeutils
from oslo_utils import uuidutils

from craton.api.controllers import base
from craton.api.controllers.v1 import collection
from craton.api.controllers.v1 import field_patch
from craton.api.controllers.v1 import task_source
from craton.api.controllers.v1 import task_views
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.common import exception
from craton.common import states
from craton.common import task_sources
from craton.objects import task as task_obj

LOG = log.getLogger(__name__)

PATCHABLE = ('description', 'source', 'command', 'timeout', 'visibility',
             'shared_roles')
SORT_KEYS = ('created_at', 'updated_at', 'name', 'uuid', 'status')
DEFAULT_TIMEOUT = 3600
MAX_ROLE_LENGTH = 255


def _check_visibility(value, field='visibility'):
    if value is None:
        return states.VISIBILITY_PRIVATE
    if value not in states.VISIBILITIES:
        raise utils.invalid(field, 'must be one of %s'
                            % ', '.join(states.VISIBILITIES))
    return value


def _check_roles(value):
    """Role names, matched case-insensitively as policy's role checks are:
    kept in lower case, sorted, once each.
    """
    roles = utils.check_strings(value, 'shared_roles')
    for role in roles:
        if len(role) > MAX_ROLE_LENGTH or role != role.strip():
            raise utils.invalid('shared_roles', 'role names have at most %d '
                                'characters and no surrounding spaces'
                                % MAX_ROLE_LENGTH)
    return sorted({role.lower() for role in roles})


def _checked(values, current_source=None):
    """The changeable fields of a task, validated as a create is."""
    checked = {
        'description': utils.check_description(values.get('description')),
        'source': task_sources.validate(values.get('source'), utils.conf(),
                                        current_source),
        'command': utils.check_strings(values.get('command'), 'command',
                                       non_empty=True),
        'timeout': utils.check_timeout(values.get('timeout'),
                                       default=DEFAULT_TIMEOUT),
        'visibility': _check_visibility(values.get('visibility')),
        'shared_roles': _check_roles(values.get('shared_roles')),
    }
    if checked['visibility'] == states.VISIBILITY_SHARED and \
            not checked['shared_roles']:
        raise utils.invalid('shared_roles', 'a shared task needs at least '
                            'one role whose holders may use it')
    return checked


def _with_stored_credentials(source, stored):
    """A patched ``source`` whose git URL is still the one GET shows for
    the ``stored`` source (credentials as ``***``) keeps the stored URL:
    the patch worked on what GET shows, which never holds credentials.
    """
    shown = task_sources.public_view(stored)
    if isinstance(source, dict) and \
            source.get('type') == task_sources.GIT and \
            shown.get('type') == task_sources.GIT and \
            source.get('url') == shown.get('url'):
        return dict(source, url=stored['url'])
    return source


def _sets_visibility(values, current=None):
    """Whether ``values`` (a create's, or a patched task's, unchecked)
    change what only admins may: the visibility or the shared roles.
    """
    def normal(given):
        return (given.get('visibility') or states.VISIBILITY_PRIVATE,
                given.get('shared_roles') or [])
    return normal(values) != normal(current or {})


class TasksController(base.RestController):

    _custom_actions = {'approve': ['POST'], 'reject': ['POST'],
                       'rebuild': ['POST']}

    source = task_source.TaskSourceController()

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  types.text, types.text, types.text, types.text, types.text,
                  types.text)
    def get_all(self, status=None, approval=None, visibility=None,
                name=None, limit=None, marker=None, sort_key=None,
                sort_dir=None, all_projects=None):
        utils.authorize('craton:task:list')
        listing = utils.list_context(all_projects, 'task')
        page = collection.Page(limit, marker, sort_key, sort_dir, SORT_KEYS)
        if visibility is not None:
            _check_visibility(visibility)
        filters = {'status': status, 'approval': approval,
                   'visibility': visibility, 'name': name}
        items, more = page.fetch(task_obj.Task.list, listing, filters)
        return collection.collection(
            'tasks', [task_views.task_view(t) for t in items], page, more)

    @types.expose(types.jsontype, types.text)
    def get_one(self, ident):
        task = task_views.get_task(ident)
        utils.authorize('craton:task:get', task_views.target(task))
        return task_views.task_view(task)

    @types.expose(types.jsontype, body=types.TaskCreate, status_code=202)
    def post(self, body):
        ctx = utils.context()
        utils.authorize('craton:task:create')
        if _sets_visibility(body.values()):
            utils.authorize('craton:task:update_visibility')
        values = _checked(body.values())
        values.update(
            uuid=uuidutils.generate_uuid(),
            name=utils.check_name(body.name), project_id=ctx.project_id,
            user_id=ctx.user_id, approval=states.APPROVAL_PENDING,
            build_number=0)
        task = task_obj.Task(ctx, **values)
        task_source.set_pending(task)
        task.create()
        task_source.start_build(task)
        return task_views.task_view(task)

    @types.expose(types.jsontype, types.text, body=types.jsontype)
    def patch(self, ident, body):
        task = task_views.get_task(ident)
        utils.authorize('craton:task:update', task_views.target(task))
        current = field_patch.document(task_views.task_view(task), PATCHABLE)
        old_source = task.source
        patched = field_patch.apply(current, body, PATCHABLE)
        patched['source'] = _with_stored_credentials(patched.get('source'),
                                                     old_source)
        if _sets_visibility(patched, current):
            utils.authorize('craton:task:update_visibility',
                            task_views.target(task))
        values = _checked(patched, old_source)
        source_changed = values['source'] != old_source
        command_changed = values['command'] != task.command
        for key, value in values.items():
            if value != getattr(task, key):
                setattr(task, key, value)
        if source_changed or command_changed:
            # Approval covers what was approved; this is something else.
            task.reset_approval()
        if source_changed:
            task_views.rebuild(task, task_source.waiting_reason(task))
            task_source.start_build(task, old_source)
        else:
            task.save()
        return task_views.task_view(task)

    @types.expose(None, types.text, status_code=204)
    def delete(self, ident):
        task = task_views.get_task(ident)
        utils.authorize('craton:task:delete', task_views.target(task))
        task_views.write_status(task, task.destroy)
        utils.cast('delete_task_images', task.uuid)

    @types.expose(types.jsontype, types.text)
    def approve(self, ident):
        task = task_views.get_task(ident)
        utils.authorize('craton:task:approve', task_views.target(task))
        # A build may finish or start between the read and the write: the
        # approval is written only for the image read, so look again once.
        for _attempt in range(2):
            if task.status != states.TASK_READY:
                raise exception.InvalidState(
                    reason="task '%s' is %s; only a ready task can be "
                           "approved (wait for its build to finish)"
                           % (task.name, task.status))
            if task.approve(utils.context().user_id, timeutils.utcnow()):
                return task_views.task_view(task)
            task.refresh()
        raise exception.InvalidState(
            reason="task '%s' changed meanwhile (it is %s now); try again"
            % (task.name, task.status))

    @types.expose(types.jsontype, types.text, body=types.jsontype)
    def reject(self, ident, body=None):
        task = task_views.get_task(ident)
        utils.authorize('craton:task:reject', task_views.target(task))
        reason = None
        if body is not None:
            if not isinstance(body, dict) or set(body) - {'reason'}:
                raise utils.invalid('body', 'must be empty or '
                                    '{"reason": "..."}')
            reason = body.get('reason')
            if reason is not None and not isinstance(reason, str):
                raise utils.invalid('reason', 'must be a string')
        task.reset_approval()
        task.approval = states.APPROVAL_REJECTED
        task.save()
        # There is no column for the reason: it is logged and echoed back.
        LOG.info('Task %s rejected by %s: %s', task.uuid,
                 utils.context().user_id, reason or '(no reason given)')
        out = task_views.task_view(task)
        out['rejection_reason'] = reason
        return out

    @types.expose(types.jsontype, types.text, status_code=202)
    def rebuild(self, ident):
        task = task_views.get_task(ident)
        utils.authorize('craton:task:rebuild', task_views.target(task))
        if task.status == states.TASK_DELETING:
            raise exception.InvalidState(
                reason="task '%s' is being deleted" % task.name)
        task_views.rebuild(task)
        utils.cast('build_task', task.uuid)
        return task_views.task_view(task)
