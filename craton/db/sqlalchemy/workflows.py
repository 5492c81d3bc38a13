# SPDX-License-Identifier: Apache-2.0
"""Workflows and their ordered steps."""

from oslo_db import exception as db_exc
import sqlalchemy as sa

from craton.common import exception
from craton.common import states
from craton.db.sqlalchemy import crud
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import query as q
from craton.db.sqlalchemy import secrets
from craton.db.sqlalchemy import session


def _step_rows(steps):
    return [models.WorkflowStep(position=i, name=st['name'],
                                task_uuid=st['task_uuid'],
                                variables=st.get('variables') or {},
                                timeout=st.get('timeout'),
                                secrets=st.get('secrets') or [])
            for i, st in enumerate(steps)]


def _secret_names(values, steps):
    return list(values.get('secrets') or ()) + [
        name for st in steps for name in st.get('secrets') or ()]


class WorkflowMixin:

    def create_workflow(self, values, steps):
        """Insert a workflow from ``values`` and its ``steps`` (dicts with
        ``name``, ``task_uuid``, optional ``variables``, ``timeout`` and
        ``secrets`` (names), in order).

        :returns: the ``models.Workflow`` row, its steps loaded.
        :raises Duplicate: the name is taken in the project.
        """
        values = dict(values, steps=_step_rows(steps))
        with session.writer() as s:
            secrets.check_secrets(s, values.get('project_id'),
                                  names=_secret_names(values, steps))
            return crud.create(models.Workflow, values, 'workflow')

    def get_workflow(self, project_id, ident):
        """The ``models.Workflow`` row with UUID or name ``ident`` in
        ``project_id`` (None: any project); WorkflowNotFound otherwise.
        """
        return crud.get(models.Workflow, project_id, ident,
                        exception.WorkflowNotFound(workflow=ident))

    def list_workflows(self, project_id, filters=None, limit=None,
                       marker=None, sort_key=None, sort_dir=None):
        """A page (list of ``models.Workflow`` rows) of ``project_id``'s
        workflows (None: every project's); ``filters`` may hold ``name``.
        Paging as :func:`craton.db.sqlalchemy.query.paginate`.
        """
        query = q.scoped(sa.select(models.Workflow), models.Workflow,
                         project_id)
        if (filters or {}).get('name'):
            query = query.where(models.Workflow.name == filters['name'])
        return crud.page(models.Workflow, query, limit, marker, sort_key,
                         sort_dir, project_id)

    def replace_workflow(self, project_id, uuid, values, steps):
        """Write ``values`` to a workflow and replace its whole list of
        steps with ``steps`` (as :meth:`create_workflow`).

        :returns: the updated row, steps loaded.
        :raises WorkflowNotFound: no such workflow.
        :raises Duplicate: a new name taken in the project.
        """
        try:
            with session.writer() as s:
                wf = crud.get(models.Workflow, project_id, uuid,
                              exception.WorkflowNotFound(workflow=uuid), s=s)
                secrets.check_secrets(s, wf.project_id,
                                      names=_secret_names(values, steps))
                wf.update(values)
                wf.steps = []
                s.flush()
                wf.steps = _step_rows(steps)
                s.flush()
        except db_exc.DBDuplicateEntry:
            raise exception.Duplicate(kind='workflow',
                                      name=values.get('name'))
        return crud.reload(models.Workflow, wf.uuid)

    def destroy_workflow(self, project_id, uuid):
        """Delete a workflow and its steps, unless an unfinished job runs
        it.

        :raises WorkflowNotFound: no such workflow.
        :raises InUse: naming up to ten of those jobs.
        """
        with session.writer() as s:
            wf = crud.get(models.Workflow, project_id, uuid,
                          exception.WorkflowNotFound(workflow=uuid), s=s)
            jobs = s.execute(
                sa.select(models.Job.uuid)
                .where(models.Job.workflow_uuid == wf.uuid,
                       models.Job.status.in_(states.JOB_UNFINISHED))
                .limit(10)).scalars().all()
            if jobs:
                raise exception.InUse(
                    reason="workflow '%s' is run by unfinished jobs: %s" % (
                        wf.name, ', '.join(sorted(jobs))))
            s.delete(wf)
