# SPDX-License-Identifier: Apache-2.0
"""Secrets: names and metadata, with the value kept encrypted (or only a
key manager's reference). Nothing here ever sees a plaintext value.
"""

import json

import sqlalchemy as sa

from craton.common import exception
from craton.common import states
from craton.db.sqlalchemy import crud
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import query as q
from craton.db.sqlalchemy import session

# How many users of a secret a refused delete names, per kind.
MAX_NAMED = 10


def _like(value):
    """A LIKE pattern matching a JSON list holding the string ``value``
    (names and UUIDs hold no character JSON escapes). ``_`` in a name is a
    wildcard here; the caller checks each row found exactly.
    """
    return '%' + json.dumps(value).replace('%', '') + '%'


def _text(column):
    # The JSON list column as plain text, so that LIKE's pattern is bound
    # as text and not JSON-encoded by the column's type.
    return sa.type_coerce(column, sa.Text)


def _holds(values, wanted):
    return isinstance(values, list) and wanted in values


class SecretMixin:

    def create_secret(self, values):
        """Insert a secret from ``values`` (``project_id``, ``user_id``,
        ``name``, ``description``, ``backend``, ``ciphertext``,
        ``key_ref``).

        :returns: the ``models.Secret`` row.
        :raises Duplicate: the name is taken in the project.
        """
        return crud.create(models.Secret, values, 'secret')

    def get_secret(self, project_id, ident):
        """The ``models.Secret`` row with UUID or name ``ident`` in
        ``project_id`` (None: any project); SecretNotFound otherwise.
        """
        return crud.get(models.Secret, project_id, ident,
                        exception.SecretNotFound(secret=ident))

    def list_secrets(self, project_id, filters=None, limit=None,
                     marker=None, sort_key=None, sort_dir=None):
        """A page (list of ``models.Secret`` rows) of ``project_id``'s
        secrets (None: every project's); ``filters`` may hold ``name``.
        Paging as :func:`craton.db.sqlalchemy.query.paginate`.
        """
        query = q.scoped(sa.select(models.Secret), models.Secret, project_id)
        if (filters or {}).get('name'):
            query = query.where(models.Secret.name == filters['name'])
        return crud.page(models.Secret, query, limit, marker, sort_key,
                         sort_dir, project_id)

    def update_secret(self, project_id, uuid, values):
        """Write ``values`` (a new ``ciphertext``/``key_ref``/``backend``,
        ``description``) to secret ``uuid``.

        :returns: the row as it was before, and the row as it is now:
            ``(old, new)`` (the caller removes an old key manager entry).
        :raises SecretNotFound: no such secret.
        """
        with session.writer() as s:
            row = crud.get(models.Secret, project_id, uuid,
                           exception.SecretNotFound(secret=uuid), s=s)
            old = models.Secret(backend=row.backend,
                                ciphertext=row.ciphertext,
                                key_ref=row.key_ref)
            row.update(values)
            s.flush()
        return old, crud.reload(models.Secret, uuid)

    def destroy_secret(self, project_id, uuid):
        """Delete secret ``uuid`` unless a workflow names it or an
        unfinished job's step receives it; the check and the delete are
        one transaction.

        :returns: the deleted row (its ``backend`` and ``key_ref`` tell
            the caller what to remove from a key manager).
        :raises SecretNotFound: no such secret.
        :raises InUse: naming up to ten workflows and ten jobs.
        """
        with session.writer() as s:
            # Locked first, before anything is read: a workflow or job
            # being written that names it (check_secrets) waits for the
            # delete, or the delete waits for it and then sees it (on
            # MySQL a plain read would fix the transaction's snapshot
            # before the wait).
            lock_secrets(s, sa.or_(models.Secret.uuid == uuid,
                                   models.Secret.name == uuid))
            row = crud.get(models.Secret, project_id, uuid,
                           exception.SecretNotFound(secret=uuid), s=s)
            workflows = self._workflows_using(s, row)
            jobs = self._jobs_using(s, row)
            if workflows or jobs:
                users = []
                if workflows:
                    users.append('workflows %s' % ', '.join(
                        "'%s'" % name for name in workflows))
                if jobs:
                    users.append('unfinished jobs %s' % ', '.join(jobs))
                raise exception.InUse(
                    reason="secret '%s' is used by %s; remove it from the "
                           "workflows and wait for or cancel the jobs"
                           % (row.name, ' and '.join(users)))
            s.delete(row)
        return row

    @staticmethod
    def _workflows_using(s, secret):
        """Names of the project's workflows naming ``secret``, for all
        their steps or in one step.
        """
        pattern = _like(secret.name)
        wf, step = models.Workflow, models.WorkflowStep
        rows = s.execute(
            sa.select(wf.name, wf.secrets, step.secrets)
            .outerjoin(step, step.workflow_id == wf.id)
            .where(wf.project_id == secret.project_id,
                   sa.or_(_text(wf.secrets).like(pattern),
                          _text(step.secrets).like(pattern)))).all()
        return sorted({name for name, wf_secrets, step_secrets in rows
                       if _holds(wf_secrets, secret.name) or
                       _holds(step_secrets, secret.name)})[:MAX_NAMED]

    @staticmethod
    def _jobs_using(s, secret):
        """UUIDs of unfinished jobs a step of which receives ``secret``."""
        job, step = models.Job, models.JobStep
        rows = s.execute(
            sa.select(job.uuid, step.secrets)
            .join(step, step.job_id == job.id)
            .where(job.status.in_(states.JOB_UNFINISHED),
                   _text(step.secrets).like(_like(secret.uuid)))).all()
        return sorted({uuid for uuid, secrets in rows
                       if _holds(secrets, secret.uuid)})[:MAX_NAMED]

    def list_secret_tokens(self, backend, after_id=0, limit=100):
        """``[(id, ciphertext)]`` of every project's secrets kept by
        ``backend``, in id order after ``after_id`` (for key rotation).
        """
        with session.reader() as s:
            return [tuple(r) for r in s.execute(
                sa.select(models.Secret.id, models.Secret.ciphertext)
                .where(models.Secret.backend == backend,
                       models.Secret.id > after_id)
                .order_by(models.Secret.id).limit(limit)).all()]

    def replace_secret_token(self, secret_id, old, new):
        """Write ciphertext ``new`` to secret ``secret_id`` if it still
        holds ``old`` (a value replaced meanwhile is left alone); the
        secret's ``updated_at`` is kept: a rotation changes no value.

        :returns: True if the row was written.
        """
        table = models.Secret.__table__
        with session.writer() as s:
            result = s.execute(
                sa.update(table)
                .where(table.c.id == secret_id, table.c.ciphertext == old)
                .values(ciphertext=new, updated_at=table.c.updated_at))
            return result.rowcount == 1


def lock_secrets(s, where, shared=False):
    """Lock the ``secrets`` rows matching ``where`` in session ``s`` until
    its transaction ends (``FOR UPDATE``, or ``FOR SHARE`` when
    ``shared``; SQLite runs one writer at a time and needs no lock) and
    return ``(id, uuid, name)`` of each.
    """
    query = sa.select(models.Secret.id, models.Secret.uuid,
                      models.Secret.name).where(where)
    if s.get_bind().dialect.name != 'sqlite':
        query = query.with_for_update(read=shared)
    return s.execute(query).all()


def check_secrets(s, project_id, names=(), uuids=(), field='secrets'):
    """In the writer transaction ``s`` of a workflow or job that names
    secrets: lock them (shared) and check they all still exist in
    ``project_id``, so a secret deleted meanwhile is refused here rather
    than left named by a new workflow or job.

    :raises InvalidParameter: (400, naming ``field``) one is gone.
    """
    names, uuids = set(names or ()), set(uuids or ())
    if not names and not uuids:
        return
    column = models.Secret.name if names else models.Secret.uuid
    wanted = names or uuids
    found = lock_secrets(s, sa.and_(models.Secret.project_id == project_id,
                                    column.in_(sorted(wanted))),
                         shared=True)
    have = {row.name if names else row.uuid for row in found}
    missing = sorted(wanted - have)
    if missing:
        raise exception.InvalidParameter(
            name=field, reason="secret '%s' does not exist or is not "
            "visible to this project" % missing[0])
