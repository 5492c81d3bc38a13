"""Tasks: CRUD, build claims, and the checks before a delete."""

import sqlalchemy as sa

from craton.common import exception
from craton.common import states
from craton.db.sqlalchemy import crud
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import query as q
from craton.db.sqlalchemy import session

_FILTERS = ('status', 'approval', 'visibility', 'name')


class TaskMixin:

    def create_task(self, values):
        return crud.create(models.Task, values, 'task')

    def get_task(self, project_id, ident):
        return crud.get(models.Task, project_id, ident,
                        exception.TaskNotFound(task=ident))

    def list_tasks(self, project_id, filters=None, limit=None, marker=None,
                   sort_key=None, sort_dir=None):
        query = q.scoped(sa.select(models.Task), models.Task, project_id)
        for key in _FILTERS:
            if (filters or {}).get(key):
                query = query.where(getattr(models.Task, key) == filters[key])
        return crud.page(models.Task, query, limit, marker, sort_key,
                         sort_dir, project_id)

    def update_task(self, project_id, uuid, values):
        return crud.update(models.Task, project_id, uuid, values,
                           exception.TaskNotFound(task=uuid), 'task')

    def destroy_task(self, project_id, uuid):
        with session.writer() as s:
            task = crud.get(models.Task, project_id, uuid,
                            exception.TaskNotFound(task=uuid), s=s)
            workflows = s.execute(
                sa.select(models.Workflow.name).join(models.WorkflowStep)
                .where(models.WorkflowStep.task_uuid == task.uuid)
                .distinct().limit(10)).scalars().all()
            if workflows:
                raise exception.InUse(
                    reason="task '%s' is used by workflows: %s" % (
                        task.name, ', '.join(sorted(workflows))))
            jobs = s.execute(
                sa.select(models.Job.uuid).join(models.JobStep)
                .where(models.JobStep.task_uuid == task.uuid,
                       models.Job.status.in_(states.JOB_UNFINISHED))
                .distinct().limit(10)).scalars().all()
            if jobs:
                raise exception.InUse(
                    reason="task '%s' is used by unfinished jobs: %s" % (
                        task.name, ', '.join(sorted(jobs))))
            s.delete(task)

    def claim_task(self, uuid, host, from_host=None):
        """Take a task's build; True if this conductor now owns it.

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
        with session.writer() as s:
            s.execute(sa.update(models.Task)
                      .where(models.Task.uuid == uuid,
                             models.Task.conductor == host)
                      .values(conductor=None)
                      .execution_options(synchronize_session=False))

    def list_unclaimed_builds(self, limit=50):
        """Tasks waiting for a build that no conductor owns (a lost cast)."""
        with session.reader() as s:
            return s.execute(
                sa.select(models.Task.uuid)
                .where(models.Task.status.in_((states.TASK_PENDING,
                                               states.TASK_BUILDING)),
                       models.Task.conductor.is_(None),
                       # An upload source without its archive yet waits
                       # for PUT /v1/tasks/{id}/source, not for a build.
                       models.Task.source != {'type': 'upload'})
                .order_by(models.Task.id).limit(limit)).scalars().all()

    def list_task_claims(self, host):
        """UUIDs of tasks whose build ``host`` owns."""
        with session.reader() as s:
            return s.execute(
                sa.select(models.Task.uuid)
                .where(models.Task.conductor == host)).scalars().all()
