# SPDX-License-Identifier: Apache-2.0
"""Jobs and job steps: creation, claims and conditional state changes."""

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from craton.common import exception
from craton.common import states
from craton.db.sqlalchemy import crud
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import query as q
from craton.db.sqlalchemy import secrets
from craton.db.sqlalchemy import session
from craton.db.sqlalchemy import trail


class JobMixin:

    def create_job(self, values, steps):
        """Create a job and all of its step rows, ``pending``, at once.

        :param values: the job's columns (``uuid`` generated if missing).
        :param steps: a list of step column dicts, in order (``index`` is
            their position).
        :returns: the ``models.Job`` row, its steps loaded.
        :raises InvalidParameter: a secret a step names was deleted
            meanwhile (checked, and locked, in the same transaction).
        """
        values = dict(values)
        values.setdefault('uuid', uuidutils.generate_uuid())
        values['steps'] = [
            models.JobStep(index=i, status=states.STEP_PENDING, log_bytes=0,
                           **st)
            for i, st in enumerate(steps)]
        with session.writer() as s:
            secrets.check_secrets(
                s, values.get('project_id'),
                uuids=[u for st in steps for u in st.get('secrets') or ()])
            return crud.create(models.Job, values, 'job')

    def get_job(self, project_id, uuid):
        """The ``models.Job`` row ``uuid`` (steps loaded) of ``project_id``
        (None: any project); JobNotFound otherwise.
        """
        return crud.get(models.Job, project_id, uuid,
                        exception.JobNotFound(job=uuid))

    def get_job_claim(self, uuid):
        """``(status, conductor)`` of job ``uuid``, any project: the two
        columns a runner re-reads between its steps, without the steps.

        :raises JobNotFound: no such job.
        """
        with session.reader() as s:
            row = s.execute(sa.select(models.Job.status, models.Job.conductor)
                            .where(models.Job.uuid == uuid)).first()
        if row is None:
            raise exception.JobNotFound(job=uuid)
        return row.status, row.conductor

    def list_jobs(self, project_id, filters=None, limit=None, marker=None,
                  sort_key=None, sort_dir=None):
        """A page (list of ``models.Job`` rows) of ``project_id``'s jobs
        (None: every project's); ``filters`` may hold ``status``,
        ``workflow_uuid`` and ``task_uuid``. Paging as
        :func:`craton.db.sqlalchemy.query.paginate` (InvalidParameter for
        a marker outside the list).
        """
        query = _filtered(sa.select(models.Job), project_id, filters)
        return crud.page(models.Job, query, limit, marker, sort_key,
                         sort_dir, project_id)

    def list_job_summaries(self, project_id, columns, step_columns,
                           filters=None, limit=None, marker=None,
                           sort_key=None, sort_dir=None):
        """The page :meth:`list_jobs` finds (same arguments, same order),
        as plain dicts of some columns: for read-only views of many jobs,
        which need neither the model rows nor every column (a step's
        command, variables and sealed secrets stay in the database).

        Two queries whatever the page size: the jobs, then their steps.

        :param columns: names of ``jobs`` columns to read.
        :param step_columns: names of ``job_steps`` columns to read.
        :returns: a list of dicts, one per job, each holding ``columns``
            (values as the database types give them: naive UTC datetimes,
            decoded JSON) and ``steps``, a list of dicts of
            ``step_columns``, in step order.
        :raises InvalidParameter: a marker outside the list.
        """
        columns = list(columns)
        step_columns = list(step_columns)
        query = _filtered(
            sa.select(models.Job.id,
                      *[getattr(models.Job, c) for c in columns]),
            project_id, filters)
        with session.reader() as s:
            rows = q.paginate(s, query, models.Job, limit, marker, sort_key,
                              sort_dir, project_id, rows=True)
            return _summaries(s, rows, columns, step_columns)

    def get_job_summary(self, project_id, uuid, columns, step_columns):
        """Job ``uuid`` of ``project_id`` (None: any project) as one dict
        of :meth:`list_job_summaries`: for a read-only view of one job, in
        two small queries and without model rows.

        :raises JobNotFound: no such job in that project.
        """
        columns = list(columns)
        query = q.scoped(sa.select(models.Job.id,
                                   *[getattr(models.Job, c)
                                     for c in columns]),
                         models.Job, project_id).where(
            models.Job.uuid == uuid)
        with session.reader() as s:
            found = _summaries(s, s.execute(query).all(), columns,
                               list(step_columns))
        if not found:
            raise exception.JobNotFound(job=uuid)
        return found[0]

    def update_job(self, uuid, values, expected_status=None, conductor=None):
        """Change a job; with ``expected_status`` (a status or a sequence
        of them) and/or ``conductor`` only if the row still has them (None:
        no condition). Returns True when the row changed, False when the
        condition failed or the job is gone.
        """
        query = sa.update(models.Job).where(models.Job.uuid == uuid)
        if expected_status is not None:
            if isinstance(expected_status, str):
                expected_status = (expected_status,)
            query = query.where(models.Job.status.in_(expected_status))
        if conductor is not None:
            query = query.where(models.Job.conductor == conductor)
        values = dict(values, updated_at=timeutils.utcnow())
        with session.writer() as s:
            res = s.execute(query.values(**values).execution_options(
                synchronize_session=False))
            if res.rowcount == 1:
                trail.touched(s, models.Job, uuid)
            return res.rowcount == 1

    def claim_job(self, uuid, host, from_host=None):
        """Own a job by a conditional UPDATE; True if ``host`` now owns it.

        ``from_host`` None claims an unowned job; otherwise takes it over
        from that conductor (whose heartbeat stopped).
        """
        cond = (models.Job.conductor.is_(None) if from_host is None
                else models.Job.conductor == from_host)
        with session.writer() as s:
            res = s.execute(
                sa.update(models.Job)
                .where(models.Job.uuid == uuid, cond,
                       models.Job.status.in_(states.JOB_UNFINISHED))
                .values(conductor=host)
                .execution_options(synchronize_session=False))
            return res.rowcount == 1

    def release_job(self, uuid, host):
        """Give up ``host``'s claim on a job (nothing happens when ``host``
        does not own it).
        """
        with session.writer() as s:
            s.execute(sa.update(models.Job)
                      .where(models.Job.uuid == uuid,
                             models.Job.conductor == host)
                      .values(conductor=None)
                      .execution_options(synchronize_session=False))

    def list_unclaimed_jobs(self, limit=50):
        """UUIDs of unfinished jobs no conductor owns, oldest first (at
        most ``limit``).
        """
        with session.reader() as s:
            return s.execute(
                sa.select(models.Job.uuid)
                .where(models.Job.status.in_(states.JOB_UNFINISHED),
                       models.Job.conductor.is_(None))
                .order_by(models.Job.id).limit(limit)).scalars().all()

    def list_next_jobs(self, limit=10, exclude=None):
        """UUIDs of the jobs a free worker should claim next, best first:
        at most one per project, its oldest unclaimed unfinished job (see
        :func:`craton.db.sqlalchemy.query.fair_heads`, which orders them).

        ``exclude``: a job UUID to leave out (one whose runner has just
        failed, left for the sweep). At most ``limit`` UUIDs.
        """
        job = models.Job
        unfinished = job.status.in_(states.JOB_UNFINISHED)
        return q.fair_heads(
            job, waiting=[unfinished, job.conductor.is_(None)],
            running=[unfinished, job.conductor.isnot(None)],
            limit=limit, exclude=exclude)

    def list_job_claims(self, host):
        """UUIDs of unfinished jobs ``host`` owns."""
        with session.reader() as s:
            return s.execute(
                sa.select(models.Job.uuid)
                .where(models.Job.conductor == host,
                       models.Job.status.in_(states.JOB_UNFINISHED))
                .order_by(models.Job.id)).scalars().all()

    def update_job_step(self, job_id, index, values, expected_status=None):
        """Change one step row (by the job's internal id and the step
        index); with ``expected_status`` (a status or a sequence of them)
        only while the step still has it. Returns True when it changed.
        """
        query = sa.update(models.JobStep).where(
            models.JobStep.job_id == job_id, models.JobStep.index == index)
        if expected_status is not None:
            if isinstance(expected_status, str):
                expected_status = (expected_status,)
            query = query.where(models.JobStep.status.in_(expected_status))
        values = dict(values, updated_at=timeutils.utcnow())
        with session.writer() as s:
            res = s.execute(query.values(**values).execution_options(
                synchronize_session=False))
            return res.rowcount == 1

    def get_job_inventory(self, job_id):
        """The host snapshot a job was submitted with: a list of host dicts
        (empty for an unknown job).
        """
        with session.reader() as s:
            return s.execute(sa.select(models.Job.inventory).where(
                models.Job.id == job_id)).scalar() or []

    def get_job_step(self, job_id, index):
        """The ``models.JobStep`` row ``index`` of the job with internal id
        ``job_id``, or None.
        """
        with session.reader() as s:
            return s.execute(sa.select(models.JobStep).where(
                models.JobStep.job_id == job_id,
                models.JobStep.index == index)).scalars().first()


def _filtered(query, project_id, filters):
    """``query`` (a select of ``jobs``) restricted to ``project_id`` (None:
    every project) and to ``filters`` (``status``, ``workflow_uuid``,
    ``task_uuid``; a missing or empty one does not filter).
    """
    filters = filters or {}
    query = q.scoped(query, models.Job, project_id)
    for key, column in (('status', models.Job.status),
                        ('workflow_uuid', models.Job.workflow_uuid),
                        ('task_uuid', models.Job.task_uuid)):
        if filters.get(key):
            query = query.where(column == filters[key])
    return query


def _summaries(s, rows, columns, step_columns):
    """Dicts of ``columns`` (with ``steps``: dicts of ``step_columns`` in
    step order) for ``rows`` of (job id, *columns), in their order; one
    query in session ``s`` for all their steps.
    """
    jobs, by_id = [], {}
    for row in rows:
        job = dict(zip(columns, row[1:], strict=True), steps=[])
        jobs.append(job)
        by_id[row[0]] = job['steps']
    if not by_id:
        return jobs
    step_rows = s.execute(
        sa.select(models.JobStep.job_id,
                  *[getattr(models.JobStep, c) for c in step_columns])
        .where(models.JobStep.job_id.in_(list(by_id)))
        .order_by(models.JobStep.job_id, models.JobStep.index))
    for row in step_rows:
        by_id[row[0]].append(dict(zip(step_columns, row[1:], strict=True)))
    return jobs
