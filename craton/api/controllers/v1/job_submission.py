# SPDX-License-Identifier: Apache-2.0
"""What a job submission becomes: its tasks checked, its hosts resolved
and snapshotted, its step rows.

A job runs exactly what was approved: each step pins the task's approved
image id, and every task must be ``ready`` and ``approved`` now.
"""

from oslo_utils import uuidutils

from craton.api.controllers.v1 import secret_refs
from craton.api.controllers.v1 import utils
from craton.api import inventory_resolve
from craton.common import exception
from craton.common import states
from craton.objects import inventory
from craton.objects import job as job_obj
from craton.objects import task as task_obj
from craton.objects import workflow as workflow_obj


def get_job(ident):
    """A job by UUID (jobs have no name)."""
    if not uuidutils.is_uuid_like(ident):
        raise exception.JobNotFound(job=ident)
    return job_obj.Job.get(utils.context(), ident)


def _ref(cls, ident, field, kind):
    """A resource named in the body, seen as the caller sees it: one that
    does not exist or is not visible to the caller is 400 naming ``field``
    (the same answer for both). A task of another project counts when it
    is public or shared with one of the caller's roles.
    """
    try:
        return cls.get(utils.context(), ident)
    except exception.NotFound:
        raise utils.invalid(field, "%s '%s' does not exist or is not "
                            "visible to this project" % (kind, ident))


def check_runnable(task):
    """Refuse (409, naming the task) a task a job must not run."""
    if task.status != states.TASK_READY:
        raise exception.TaskNotReady(task=task.name, status=task.status)
    if task.approval != states.APPROVAL_APPROVED:
        raise exception.TaskNotApproved(task=task.name,
                                        approval=task.approval)
    if task.approved_digest and task.approved_digest != task.image_digest:
        # The image changed since the approval (the conductor resets the
        # approval after such a rebuild; never run the unapproved image
        # in between).
        raise exception.TaskNotApproved(task=task.name,
                                        approval=states.APPROVAL_PENDING)


def run_image(task):
    """What a step runs: the pushed image by its registry digest when the
    task was pushed to a registry (Swarm nodes pull exactly that), else the
    local image id. Either way it is the image that was approved.
    """
    if task.registry_digest and task.image:
        repository = task.image.rsplit(':', 1)[0]
        return '%s@%s' % (repository, task.registry_digest)
    return task.image_digest


def _step(name, task, timeout, variables, secrets):
    return {'name': name, 'task_uuid': task.uuid,
            'image': run_image(task), 'image_digest': task.image_digest,
            'command': list(task.command), 'timeout': timeout or task.timeout,
            'variables': variables, 'secrets': secrets}


def target(body):
    """``(values, steps)`` for a job running a workflow or one task.

    ``values`` holds the job's ``secrets`` (names); each step gets the
    UUIDs of its workflow's, its own and the job's secrets.
    """
    given = [k for k in ('workflow', 'task')
             if body.values().get(k) is not None]
    if len(given) != 1:
        raise utils.invalid('workflow', 'give exactly one of "workflow" '
                            'and "task"')
    job_secrets = secret_refs.checked_names(body.values().get('secrets'),
                                            'secrets')
    if given == ['task']:
        task = _ref(task_obj.Task, body.task, 'task', 'task')
        check_runnable(task)
        return ({'task_uuid': task.uuid, 'secrets': job_secrets},
                [_step(task.name, task, None, {},
                       secret_refs.uuids(job_secrets, 'secrets'))])
    workflow = _ref(workflow_obj.Workflow, body.workflow, 'workflow',
                    'workflow')
    steps = []
    tasks = {}      # read once per task, however many steps run it
    for st in workflow.steps:
        try:
            # As the caller sees it now: a task of another project that
            # went back to private (or lost the caller's role) is gone
            # for new jobs; jobs already submitted keep their image.
            task = tasks.get(st['task_uuid'])
            if task is None:
                task = tasks[st['task_uuid']] = task_obj.Task.get(
                    utils.context(), st['task_uuid'])
        except exception.TaskNotFound:
            raise utils.invalid(
                'workflow', "step '%s' of workflow '%s' uses task %s, which "
                "no longer exists or is not visible to this project; change "
                "the step's task" % (st['name'], workflow.name,
                                     st['task_uuid']))
        check_runnable(task)
        variables = inventory_resolve.merge_variables(
            workflow.variables, st.get('variables'))
        names = (list(workflow.secrets or []) + list(st.get('secrets') or [])
                 + job_secrets)
        steps.append(_step(st['name'], task, st.get('timeout'), variables,
                           secret_refs.uuids(names, 'workflow')))
    return ({'workflow_uuid': workflow.uuid, 'secrets': job_secrets},
            steps)


def hosts_snapshot(spec):
    """The hosts a job runs on, as its payload shows them (sorted by name).

    The union of the hosts named in ``spec.hosts`` and of those matching
    all of ``labels``/``region``/``cell`` when any of them is given.
    """
    ctx = utils.context()
    values = spec.values()
    names = utils.check_strings(values.get('hosts'), 'inventory.hosts')
    labels = utils.check_strings(values.get('labels'), 'inventory.labels')
    found = {}
    missing = []
    for ident in names:
        try:
            host = inventory.Host.get(ctx, ident)
        except exception.HostNotFound:
            missing.append(ident)
            continue
        found[host.uuid] = host
    if missing:
        raise exception.InvalidInventory(
            reason='unknown host(s) in inventory.hosts: %s'
                   % ', '.join(missing))
    filters = {}
    if labels:
        filters['labels'] = labels
    if values.get('region') is not None:
        filters['region_id'] = _ref(inventory.Region, spec.region,
                                    'inventory.region', 'region').id
    if values.get('cell') is not None:
        filters['cell_id'] = _ref(inventory.Cell, spec.cell,
                                  'inventory.cell', 'cell').id
    if filters:
        for host in inventory.Host.find(ctx, filters):
            found.setdefault(host.uuid, host)
    if not found:
        raise exception.InvalidInventory(
            reason='no host matches; name hosts in inventory.hosts or '
                   'select them by inventory.labels, region and cell')
    resolver = inventory_resolve.Resolver(ctx)
    return [resolver.snapshot(h)
            for h in sorted(found.values(), key=lambda h: h.name)]
