# SPDX-License-Identifier: Apache-2.0
"""Jobs (one run of a workflow or a single task) and their steps."""

import collections

from craton.objects import base
from craton.objects import fields

# What a runner re-reads between its steps: is the job still ours, and is
# it being cancelled (see Job.get_claim).
JobClaim = collections.namedtuple('JobClaim', 'uuid, status, conductor')


@base.CratonObjectRegistry.register
class JobStep(base.CratonObject):
    # Version 1.0: initial version
    # Version 1.1: log_truncated
    # Version 1.2: secrets, secrets_sealed
    VERSION = '1.2'
    fields = {
        'id': fields.IntegerField(),
        'job_id': fields.IntegerField(),
        'index': fields.IntegerField(),
        'name': fields.StringField(),
        'task_uuid': fields.UUIDField(),
        'image': fields.StringField(nullable=True),
        'image_digest': fields.StringField(nullable=True),
        'command': fields.ListOfStringsField(nullable=True),
        'variables': fields.JsonField(nullable=True),
        # UUIDs of the secrets the step receives (values read at start).
        'secrets': fields.ListOfStringsField(nullable=True),
        # The values it received, encrypted, while it runs (see
        # craton.conductor.jobs.tools.StepTools.seal).
        'secrets_sealed': fields.JsonField(nullable=True),
        'timeout': fields.IntegerField(),
        'status': fields.StringField(),
        'status_reason': fields.StringField(nullable=True),
        'exit_code': fields.IntegerField(nullable=True),
        'node': fields.StringField(nullable=True),
        'container_id': fields.StringField(nullable=True),
        'result': fields.JsonField(nullable=True),
        'log_bytes': fields.IntegerField(default=0),
        'log_truncated': fields.BooleanField(default=False),
        'started_at': fields.DateTimeField(nullable=True),
        'finished_at': fields.DateTimeField(nullable=True),
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
    }

    def update(self, values, expected_status=None):
        """Write ``values`` (field names) to the step; with
        ``expected_status`` (a status or a sequence of them) only while
        the row is still in one of those states. Callers ask
        :mod:`craton.common.fsm` for a new ``status`` first.

        :returns: True if written (the object then holds ``values``);
            False when the step has another status by now.
        """
        done = self.dbapi().update_job_step(self.job_id, self.index, values,
                                            expected_status)
        if done:
            for key, value in values.items():
                setattr(self, key, value)
            self.obj_reset_changes()
        return done

    def refresh(self):
        """Read the step again, dropping unsaved changes."""
        row = self.dbapi().get_job_step(self.job_id, self.index)
        self._from_db_object(self._context, self, row)


@base.CratonObjectRegistry.register
class Job(base.CratonObject):
    # Version 1.0: initial version
    # Version 1.1: secrets
    VERSION = '1.1'
    extra_fields = ('steps',)
    fields = {
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'user_id': fields.StringField(nullable=True),
        'workflow_uuid': fields.UUIDField(nullable=True),
        'task_uuid': fields.UUIDField(nullable=True),
        'status': fields.StringField(),
        'status_reason': fields.StringField(nullable=True),
        'variables': fields.JsonField(nullable=True),
        # Names of the secrets the submitter added for every step.
        'secrets': fields.ListOfStringsField(nullable=True),
        'host_count': fields.IntegerField(default=0),
        'conductor': fields.StringField(nullable=True),
        'steps': fields.ListOfObjectsField('JobStep'),
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
        'started_at': fields.DateTimeField(nullable=True),
        'finished_at': fields.DateTimeField(nullable=True),
    }

    def _from_db_extra(self, row):
        self.steps = [JobStep._from_db_object(self._context, JobStep(), st)
                      for st in row.steps]

    @classmethod
    def get(cls, context, uuid):
        """The job ``uuid`` of the caller's project (of any project when
        ``context.all_projects``), with its steps, as a Job (JobNotFound
        otherwise).
        """
        row = cls.dbapi().get_job(context.scope_project, uuid)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def list(cls, context, filters=None, **page):
        """A page (list of Job) of the caller's project's jobs; ``filters``
        and paging as :meth:`craton.db.sqlalchemy.jobs.JobMixin.list_jobs`.
        """
        rows = cls.dbapi().list_jobs(context.scope_project, filters, **page)
        return cls._from_rows(context, rows)

    @classmethod
    def list_summaries(cls, context, fields, step_fields, filters=None,
                       **page):
        """The page :meth:`list` finds, as plain dicts of some fields
        rather than objects: for read-only views of many jobs (building
        a hundred jobs of ten steps as objects costs more than the query).

        :param fields: names of Job fields (not ``steps``).
        :param step_fields: names of JobStep fields.
        :returns: a list of dicts, one per job, with ``fields`` and
            ``steps`` (a list of dicts of ``step_fields``, in step order);
            values as the database holds them (datetimes naive UTC).
        :raises ValueError: a name that is not such a field.
        :raises InvalidParameter: a marker outside the list.
        """
        cls._check_plain(fields, step_fields)
        return cls.dbapi().list_job_summaries(
            context.scope_project, fields, step_fields, filters, **page)

    @classmethod
    def get_summary(cls, context, uuid, fields, step_fields):
        """Job ``uuid`` as :meth:`get` finds it, as one plain dict of
        :meth:`list_summaries`: for a read-only view of one job (the API
        answers a job that is polled, often, this way).

        :raises JobNotFound: not a job the context sees.
        :raises ValueError: a name that is not a plain field.
        """
        cls._check_plain(fields, step_fields)
        return cls.dbapi().get_job_summary(context.scope_project, uuid,
                                           fields, step_fields)

    @classmethod
    def _check_plain(cls, fields, step_fields):
        for names, obj_cls in ((fields, cls), (step_fields, JobStep)):
            for name in names:
                if name not in obj_cls.fields or name in getattr(
                        obj_cls, 'extra_fields', ()):
                    raise ValueError('%s has no plain field %r'
                                     % (obj_cls.__name__, name))

    @classmethod
    def submit(cls, context, values, steps, inventory):
        """Create a job with its inventory snapshot and all step rows
        (``pending``); returns the Job.

        :param values: the job's fields (``status`` its first one).
        :param steps: a list of step field dicts, in order.
        :param inventory: the host snapshot, a list of host dicts.
        """
        values = dict(values, inventory=inventory,
                      host_count=len(inventory))
        row = cls.dbapi().create_job(values, steps)
        return cls._from_db_object(context, cls(), row)

    def inventory(self):
        """The host snapshot taken at submission (a list of host dicts)."""
        return self.dbapi().get_job_inventory(self.id)

    def update(self, values, expected_status=None, conductor=None):
        """Write ``values`` (field names) to the job while the row is still
        in ``expected_status`` (a status or a sequence of them) and owned
        by ``conductor`` (None: no such condition). Callers ask
        :mod:`craton.common.fsm` for a new ``status`` first.

        :returns: True if written (the object then holds ``values``);
            False when the condition failed.
        """
        done = self.dbapi().update_job(self.uuid, values, expected_status,
                                       conductor)
        if done:
            for key, value in values.items():
                setattr(self, key, value)
            self.obj_reset_changes()
        return done

    @classmethod
    def get_claim(cls, uuid):
        """The job's status and owner as they are now, steps not read: a
        :class:`JobClaim`. Any project (for the conductor).

        :raises JobNotFound: no such job.
        """
        status, conductor = cls.dbapi().get_job_claim(uuid)
        return JobClaim(uuid, status, conductor)

    def refresh(self):
        """Read the job and its steps again (JobNotFound when gone)."""
        row = self.dbapi().get_job(None, self.uuid)
        self._from_db_object(self._context, self, row)

