# SPDX-License-Identifier: Apache-2.0
"""``/v1/workflows``: ordered steps, each running one task."""


from craton.api.controllers import base
from craton.api.controllers.v1 import collection
from craton.api.controllers.v1 import secret_refs
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.common import exception
from craton.objects import task as task_obj
from craton.objects import workflow as workflow_obj

FIELDS = ('uuid', 'name', 'description', 'project_id', 'user_id',
          'variables', 'created_at', 'updated_at')
SORT_KEYS = ('created_at', 'updated_at', 'name', 'uuid')


class _TaskNames:
    """Task names by UUID, looked up once per request."""

    def __init__(self):
        self._names = {}

    def __call__(self, uuid):
        if uuid not in self._names:
            try:
                self._names[uuid] = task_obj.Task.get(utils.context(),
                                                      uuid).name
            except exception.TaskNotFound:
                self._names[uuid] = None
        return self._names[uuid]


def workflow_view(workflow, task_names=None):
    task_names = task_names or _TaskNames()
    out = utils.view(workflow, FIELDS, 'workflows')
    out['variables'] = out['variables'] or {}
    out['secrets'] = list(workflow.secrets or [])
    out['steps'] = [{'name': st['name'], 'task': st['task_uuid'],
                     'task_name': task_names(st['task_uuid']),
                     'variables': st.get('variables') or {},
                     'timeout': st.get('timeout'),
                     'secrets': list(st.get('secrets') or [])}
                    for st in workflow.steps]
    return out


def _checked(body):
    """Validate a create/replace body; resolve each step's task."""
    values = {'name': utils.check_name(body.name),
              'description': utils.check_description(
                  body.values().get('description')),
              'variables': utils.check_variables(body.values().get(
                  'variables')),
              'secrets': secret_refs.checked_names(
                  body.values().get('secrets'), 'secrets')}
    if not body.steps:
        raise utils.invalid('steps', 'must list at least one step')
    steps, seen = [], set()
    for i, step in enumerate(body.steps):
        field = 'steps[%d]' % i
        if step is None:
            raise utils.invalid(field, 'must be an object')
        try:
            # A task of the project (UUID or name), or one of another
            # project made visible to the caller (by UUID).
            task = task_obj.Task.get(utils.context(), step.task)
        except exception.TaskNotFound:
            raise utils.invalid(field + '.task', "task '%s' does not exist "
                                "or is not visible to this project"
                                % step.task)
        name = step.name if step.name not in (None, types.Unset) \
            else task.name
        utils.check_name(name, field + '.name')
        if name in seen:
            raise utils.invalid(field + '.name', "step name '%s' is used "
                                "twice; give the steps different names"
                                % name)
        seen.add(name)
        timeout = step.timeout if step.timeout is not types.Unset else None
        variables = step.variables if step.variables is not types.Unset \
            else None
        secrets = step.secrets if step.secrets is not types.Unset else None
        steps.append({
            'secrets': secret_refs.checked_names(secrets,
                                                 field + '.secrets'),
            'name': name, 'task_uuid': task.uuid,
            'variables': utils.check_variables(variables,
                                               field + '.variables'),
            'timeout': utils.check_timeout(timeout, field + '.timeout')})
    return values, steps


def get_workflow(ident):
    return workflow_obj.Workflow.get(utils.context(), ident)


class WorkflowsController(base.RestController):

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  types.text, types.text, types.text)
    def get_all(self, name=None, limit=None, marker=None, sort_key=None,
                sort_dir=None, all_projects=None):
        utils.authorize('craton:workflow:list')
        listing = utils.list_context(all_projects, 'workflow')
        page = collection.Page(limit, marker, sort_key, sort_dir, SORT_KEYS)
        items, more = page.fetch(workflow_obj.Workflow.list, listing,
                                 {'name': name})
        names = _TaskNames()
        return collection.collection(
            'workflows', [workflow_view(w, names) for w in items], page,
            more)

    @types.expose(types.jsontype, types.text)
    def get_one(self, ident):
        workflow = get_workflow(ident)
        utils.authorize('craton:workflow:get', workflow)
        return workflow_view(workflow)

    @types.expose(types.jsontype, body=types.WorkflowInput, status_code=201)
    def post(self, body):
        ctx = utils.context()
        utils.authorize('craton:workflow:create')
        values, steps = _checked(body)
        workflow = workflow_obj.Workflow(
            ctx, project_id=ctx.project_id, user_id=ctx.user_id,
            steps=steps, **values)
        workflow.create()
        return workflow_view(workflow)

    @types.expose(types.jsontype, types.text, body=types.WorkflowInput)
    def put(self, ident, body):
        workflow = get_workflow(ident)
        utils.authorize('craton:workflow:update', workflow)
        values, steps = _checked(body)
        for key, value in values.items():
            setattr(workflow, key, value)
        workflow.steps = steps
        workflow.save()
        return workflow_view(workflow)

    @types.expose(None, types.text, status_code=204)
    def delete(self, ident):
        workflow = get_workflow(ident)
        utils.authorize('craton:workflow:delete', workflow)
        workflow.destroy()
