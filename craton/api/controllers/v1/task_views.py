# SPDX-License-Identifier: Apache-2.0
"""A task as the caller may see it: found (:func:`get_task`), checked
against policy (:func:`target`), shown (:func:`task_view`), and its status
written by the API (:func:`write_status`, :func:`rebuild`).

Both ``/v1/tasks`` (:mod:`.tasks`) and ``/v1/tasks/{id}/source``
(:mod:`.task_source`) answer with a task; this module is what they share,
so that neither imports the other.
"""

from craton.api.controllers.v1 import utils
from craton.common import exception
from craton.common import fsm
from craton.common import task_sources
from craton.objects import task as task_obj

FIELDS = ('uuid', 'name', 'description', 'project_id', 'user_id', 'source',
          'command', 'timeout', 'status', 'status_reason', 'image',
          'image_digest', 'registry_digest', 'approval', 'approved_by',
          'approved_at', 'visibility', 'shared_roles', 'created_at',
          'updated_at')


def task_view(task):
    """The task as the API shows it: a dict of :data:`FIELDS` plus
    ``links`` and ``nodes`` (``hostname``, ``status``, ``reason`` of each
    node holding its image; empty on a single engine). The source's git
    URL shows no credentials (:func:`task_sources.public_view`).
    """
    out = utils.view(task, FIELDS, 'tasks')
    out['source'] = task_sources.public_view(task.source)
    out['shared_roles'] = out['shared_roles'] or []
    # Where the image was synced (Swarm); empty on a single engine.
    out['nodes'] = [{k: node[k] for k in ('hostname', 'status', 'reason')}
                    for node in task.nodes()]
    return out


def get_task(ident):
    """A task the caller may see (TaskNotFound, 404, otherwise): see
    :meth:`craton.objects.task.Task.get`; admins see any task by UUID.
    """
    return task_obj.Task.get(
        utils.context(), ident,
        any_project=utils.allowed('craton:task:get_any_project'))


def target(task):
    """The policy target of ``task``: its project, and whether its admins
    made it visible to the caller.
    """
    return {'project_id': task.project_id,
            'shared_with_caller': task.shared_with(utils.context())}


def write_status(task, write):
    """Run ``write`` (a status write of ``task``, e.g. ``task.destroy``,
    returning False when the task's status changed since it was read);
    after such a lost race (a conductor's build moved the task meanwhile)
    read the status again and try once more, so the request applies to
    the task as it is now.

    :raises InvalidState: (409) it lost again: the task changed meanwhile.
    :raises TaskNotFound: (404) the task was deleted meanwhile.
    """
    for _ in range(2):
        if write():
            return
        task.refresh_status()
    raise exception.InvalidState(
        reason="task '%s' changed meanwhile (it is %s now); try again"
        % (task.name, task.status))


def rebuild(task, reason=None):
    """Move ``task`` back to ``pending`` by the state machine's
    ``TASK_REBUILD`` (from any status but ``deleting``), writing its other
    unsaved changes along; see :func:`write_status`.
    """
    write_status(task, lambda: task.transition(fsm.TASK_REBUILD,
                                               reason=reason))
