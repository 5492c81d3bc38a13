# SPDX-License-Identifier: Apache-2.0
"""Tasks: CRUD, build claims, conditional status changes, and the checks
before a delete.

A task's ``status`` changes only through :meth:`TaskMixin.update_task_status`
and :meth:`TaskMixin.destroy_task`, both conditional on the status the
caller read (the objects ask :mod:`craton.common.fsm` first).
"""

from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from craton.common import exception
from craton.common import states
from craton.db.sqlalchemy import crud
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import query as q
from craton.db.sqlalchemy import session
from craton.db.sqlalchemy import trail

_FILTERS = ('status', 'approval', 'visibility', 'name')


def _shared_roles(values):
    """``values`` with ``shared_roles`` (a list of names) as rows."""
    values = dict(values)
    if 'shared_roles' in values:
        values['shared_roles'] = [
            models.TaskSharedRole(role=role)
            for role in sorted(set(values['shared_roles'] or ()))]
    return values


def _visible(project_id, roles):
    """The tasks a caller of ``project_id`` holding ``roles`` may see and
    use: its project's, the public ones, and those shared with one of the
    roles.
    """
    task = models.Task
    shared = sa.exists().where(
        models.TaskSharedRole.task_id == task.id,
        models.TaskSharedRole.role.in_(sorted(set(roles))))
    return sa.or_(task.project_id == project_id,
                  task.visibility == states.VISIBILITY_PUBLIC,
                  sa.and_(task.visibility == states.VISIBILITY_SHARED,
                          shared))


def _scope(query, project_id, roles):
    """Restrict ``query`` to what a caller may see. ``project_id`` None:
    every task (the service itself); ``roles`` None: the project's own.
    """
    if project_id is None:
        return query
    if roles is None:
        return q.scoped(query, models.Task, project_id)
    return query.where(_visible(project_id, roles))


def _statuses(expected_status):
    """``expected_status`` (one status or several) as a tuple."""
    if isinstance(expected_status, str):
        return (expected_status,)
    return tuple(expected_status)


class TaskMixin:

    def create_task(self, values):
        """Insert a task from ``values`` (column names; ``shared_roles`` a
        list of role names; ``uuid`` generated when missing).

        :returns: the new ``models.Task`` row, its roles loaded.
        :raises Duplicate: the project has a task of that name already.
        """
        return crud.create(models.Task, _shared_roles(values), 'task')

    def get_task(self, project_id, ident, roles=None, any_project=False):
        """A task by UUID or name.

        ``project_id`` None finds any task. Otherwise a name resolves in
        that project only; a UUID also finds the tasks of other projects
        made visible to ``roles`` (a list of role names, None for none),
        or any task when ``any_project`` (an admin reviewing it).

        :returns: a ``models.Task`` row.
        :raises TaskNotFound: no such task, or not one the caller sees.
        :raises Conflict: a name that matches tasks of several projects
            (``project_id`` None only): use the UUID.
        """
        query = sa.select(models.Task)
        if project_id is not None:
            if not uuidutils.is_uuid_like(ident):
                query = q.scoped(query, models.Task, project_id)
            elif not any_project:
                query = _scope(query, project_id, roles)
        with session.reader() as s:
            return q.one_or_raise(s, q.by_ident(query, models.Task, ident),
                                  exception.TaskNotFound(task=ident))

    def list_tasks(self, project_id, filters=None, limit=None, marker=None,
                   sort_key=None, sort_dir=None, roles=None):
        """A page of the tasks :func:`get_task` would find by UUID without
        ``any_project``; ``filters`` match ``status``, ``approval``,
        ``visibility`` and ``name`` exactly.

        ``project_id`` None lists every task. ``limit``, ``marker`` (UUID of
        the last task of the previous page), ``sort_key`` and ``sort_dir``
        page as :func:`craton.db.sqlalchemy.query.paginate` does.

        :returns: a list of ``models.Task`` rows.
        :raises InvalidParameter: a marker that is not a task the caller
            sees.
        """
        query = _scope(sa.select(models.Task), project_id, roles)
        for key in _FILTERS:
            if (filters or {}).get(key):
                query = query.where(getattr(models.Task, key) == filters[key])
        if marker is not None and project_id is not None:
            # The marker must be a task this caller sees; the pager
            # itself only knows project scoping.
            with session.reader() as s:
                found = s.execute(_scope(
                    sa.select(models.Task.id).where(
                        models.Task.uuid == marker),
                    project_id, roles)).first()
            if found is None:
                raise exception.InvalidParameter(
                    name='marker', reason='no resource with UUID %s'
                    % marker)
        return crud.page(models.Task, query, limit, marker, sort_key,
                         sort_dir)

    def update_task(self, project_id, uuid, values):
        """Write ``values`` to a task whatever its status (the fields a user
        or an admin changes; :class:`craton.objects.task.Task` never passes
        ``status`` here: see :meth:`update_task_status`).

        ``project_id`` None finds the task in any project; ``shared_roles``
        in ``values`` replaces the task's roles.

        :returns: the updated ``models.Task`` row.
        :raises TaskNotFound: no such task (in that project).
        :raises Duplicate: a new name another task of the project has.
        """
        return crud.update(models.Task, project_id, uuid,
                           _shared_roles(values),
                           exception.TaskNotFound(task=uuid), 'task')

    def update_task_status(self, uuid, expected_status, values,
                           conductor=None):
        """Write ``values`` (which carry the new ``status``) to a task only
        while its status is still ``expected_status`` (a status, or a
        sequence of them) and, with ``conductor``, while that conductor
        still holds the task's build claim, in one conditional UPDATE.

        ``shared_roles`` in ``values`` replaces the task's roles in the same
        transaction.

        :returns: the updated ``models.Task`` row; None when nothing was
            written because the task has another status by now, another
            owner, or is gone (a lost race: the caller decides whether to
            read it again).
        :raises Duplicate: a new name another task of the project has.
        """
        values = _shared_roles(values)
        roles = values.pop('shared_roles', None)
        values['updated_at'] = timeutils.utcnow()
        try:
            with session.writer() as s:
                res = s.execute(
                    sa.update(models.Task)
                    .where(models.Task.uuid == uuid,
                           models.Task.status.in_(
                               _statuses(expected_status)),
                           *([models.Task.conductor == conductor]
                             if conductor is not None else []))
                    .values(**values)
                    .execution_options(synchronize_session=False))
                if res.rowcount != 1:
                    return None
                trail.touched(s, models.Task, uuid)
                if roles is not None:
                    row = s.execute(sa.select(models.Task).where(
                        models.Task.uuid == uuid)).scalars().one()
                    row.shared_roles = roles
                    s.flush()
        except db_exc.DBDuplicateEntry:
            raise exception.Duplicate(kind='task', name=values.get('name'))
        return crud.reload(models.Task, uuid)

    def approve_task(self, uuid, image_digest, values):
        """Write the approval ``values`` of a task only while it is
        ``ready`` with the image ``image_digest`` (one conditional UPDATE):
        an approval is bound to the image the approver saw.

        :returns: the updated ``models.Task`` row; None when the task is
            no longer ready with that image, or is gone.
        """
        values = dict(values, updated_at=timeutils.utcnow())
        with session.writer() as s:
            res = s.execute(
                sa.update(models.Task)
                .where(models.Task.uuid == uuid,
                       models.Task.status == states.TASK_READY,
                       models.Task.image_digest == image_digest)
                .values(**values)
                .execution_options(synchronize_session=False))
            if res.rowcount != 1:
                return None
            trail.touched(s, models.Task, uuid)
        return crud.reload(models.Task, uuid)

    def destroy_task(self, project_id, uuid, expected_status=None):
        """Delete a task, unless a workflow or an unfinished job uses it.

        In one transaction: the in-use check, the conditional move to
        ``deleting`` (only while the status is still ``expected_status``, a
        status or a sequence of them; None: whatever it is), and the
        delete. A conductor writing the task's status afterwards finds no
        row and its conditional write fails.

        ``project_id`` None finds the task in any project.

        :returns: True when deleted; False when the task's status is no
            longer ``expected_status`` (nothing deleted: read it again).
        :raises TaskNotFound: no such task (in that project).
        :raises InUse: (409) the message names the workflows and jobs of
            the task's own project and only counts those of other
            projects, whose names are not the caller's to see.
        """
        with session.writer() as s:
            task = crud.get(models.Task, project_id, uuid,
                            exception.TaskNotFound(task=uuid), s=s)
            users = _users(s, task)
            if users:
                raise exception.InUse(reason="task '%s' is used by %s" % (
                    task.name, '; '.join(users)))
            query = sa.update(models.Task).where(models.Task.id == task.id)
            if expected_status is not None:
                query = query.where(models.Task.status.in_(
                    _statuses(expected_status)))
            res = s.execute(query.values(status=states.TASK_DELETING)
                            .execution_options(synchronize_session=False))
            if res.rowcount != 1:
                return False
            s.delete(task)
        return True

    def claim_task(self, uuid, host, from_host=None):
        """Take a task's build by a conditional UPDATE of its
        ``conductor``; True if ``host`` now owns it (False: another
        conductor does, or the task is gone).

        ``from_host`` None claims an unowned task; otherwise the claim is
        taken over from that (dead) conductor.
        """
        cond = (models.Task.conductor.is_(None) if from_host is None
                else models.Task.conductor == from_host)
        with session.writer() as s:
            res = s.execute(sa.update(models.Task)
                            .where(models.Task.uuid == uuid, cond)
                            .values(conductor=host)
                            .execution_options(synchronize_session=False))
            return res.rowcount == 1

    def release_task(self, uuid, host):
        """Give up ``host``'s claim on a task's build (nothing happens when
        ``host`` does not own it or the task is gone).
        """
        with session.writer() as s:
            s.execute(sa.update(models.Task)
                      .where(models.Task.uuid == uuid,
                             models.Task.conductor == host)
                      .values(conductor=None)
                      .execution_options(synchronize_session=False))

    def list_unclaimed_builds(self, limit=50):
        """UUIDs (at most ``limit``, oldest first) of tasks whose build no
        conductor owns: ``pending`` (a lost cast, or a build that stopped
        because the task was rebuilt under it), ``building`` left by a
        build whose claim was released, or ``syncing`` (its conductor died
        while the driver distributed the image).
        """
        with session.reader() as s:
            return s.execute(
                sa.select(models.Task.uuid).where(*_unclaimed_build())
                .order_by(models.Task.id).limit(limit)).scalars().all()

    def list_next_builds(self, limit=10, exclude=None):
        """UUIDs of the tasks a free builder should claim next, best
        first: at most one per project, its oldest task that
        :meth:`list_unclaimed_builds` would list (see
        :func:`craton.db.sqlalchemy.query.fair_heads`, which orders them).

        ``exclude``: a task UUID to leave out (one whose build has just
        failed unexpectedly, left for the sweep). At most ``limit`` UUIDs.
        """
        task = models.Task
        return q.fair_heads(
            task, waiting=_unclaimed_build(), running=[
                task.conductor.isnot(None)],
            limit=limit, exclude=exclude)

    def list_task_claims(self, host):
        """UUIDs of tasks whose build ``host`` owns."""
        with session.reader() as s:
            return s.execute(
                sa.select(models.Task.uuid)
                .where(models.Task.conductor == host)).scalars().all()


def _unclaimed_build():
    """The conditions of a task whose build waits for a conductor (a list
    of SQL expressions, all to hold).
    """
    return [models.Task.status.in_((states.TASK_PENDING,
                                    states.TASK_BUILDING,
                                    states.TASK_SYNCING)),
            models.Task.conductor.is_(None),
            # An upload source without its archive yet waits for
            # PUT /v1/tasks/{id}/source, not for a build.
            models.Task.source != {'type': 'upload'}]


_NAMED = 10


def _users(s, task):
    """What keeps ``task`` from being deleted, as phrases: the workflows
    and unfinished jobs of its project by name (the first ten) and those of
    other projects as a count. Empty when nothing uses it.
    """
    kinds = (
        ('workflows', models.Workflow, models.Workflow.name,
         sa.select(models.Workflow.id).join(models.WorkflowStep).where(
             models.WorkflowStep.task_uuid == task.uuid)),
        ('unfinished jobs', models.Job, models.Job.uuid,
         sa.select(models.Job.id).join(models.JobStep).where(
             models.JobStep.task_uuid == task.uuid,
             models.Job.status.in_(states.JOB_UNFINISHED))),
    )
    phrases = []
    for kind, model, label, using in kinds:
        ids = using.distinct().subquery()
        mine = s.execute(
            sa.select(label).where(model.id.in_(sa.select(ids.c.id)),
                                   model.project_id == task.project_id)
            .order_by(label)).scalars().all()
        others = s.execute(
            sa.select(sa.func.count()).select_from(model).where(
                model.id.in_(sa.select(ids.c.id)),
                model.project_id != task.project_id)).scalar()
        if mine:
            shown = ', '.join(mine[:_NAMED])
            if len(mine) > _NAMED:
                shown += ' and %d more' % (len(mine) - _NAMED)
            phrases.append('%s: %s' % (kind, shown))
        if others:
            phrases.append('%s of other projects: %d' % (kind, others))
    return phrases
