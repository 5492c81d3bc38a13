# SPDX-License-Identifier: Apache-2.0
"""Workflows: an ordered list of steps, each running one task."""

from craton.objects import base
from craton.objects import fields


@base.CratonObjectRegistry.register
class Workflow(base.CratonObject):
    # Version 1.0: initial version
    # Version 1.1: secrets (also in each step)
    VERSION = '1.1'
    extra_fields = ('steps',)
    fields = {
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'user_id': fields.StringField(nullable=True),
        'name': fields.StringField(),
        'description': fields.StringField(nullable=True),
        'variables': fields.JsonField(nullable=True),
        # Names of the project's secrets every step receives.
        'secrets': fields.ListOfStringsField(nullable=True),
        # [{"name", "task_uuid", "variables", "timeout", "secrets"}], in
        # order.
        'steps': fields.JsonField(),
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
    }

    def _from_db_extra(self, row):
        self.steps = [{'name': st.name, 'task_uuid': st.task_uuid,
                       'variables': st.variables or {},
                       'timeout': st.timeout,
                       'secrets': st.secrets or []} for st in row.steps]

    @classmethod
    def get(cls, context, ident):
        """The workflow with UUID or name ``ident`` in the caller's project
        (any project when ``context.all_projects``), steps as dicts in
        order; WorkflowNotFound otherwise.
        """
        row = cls.dbapi().get_workflow(context.scope_project, ident)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def list(cls, context, filters=None, **page):
        """A page (list of Workflow) of the caller's project's workflows;
        ``filters`` and paging as the DB API's ``list_workflows``.
        """
        rows = cls.dbapi().list_workflows(context.scope_project, filters,
                                          **page)
        return cls._from_rows(context, rows)

    def _values(self):
        return {k: v for k, v in self.obj_get_changes().items()
                if k != 'steps'}

    def create(self):
        """Insert the workflow with its steps and load it back
        (Duplicate).
        """
        row = self.dbapi().create_workflow(self._values(), self.steps)
        self._from_db_object(self._context, self, row)

    def save(self):
        """Write the unsaved changes and replace the whole list of steps
        (WorkflowNotFound, Duplicate).
        """
        row = self.dbapi().replace_workflow(None, self.uuid, self._values(),
                                            self.steps)
        self._from_db_object(self._context, self, row)

    def destroy(self):
        """Delete the workflow (InUse while unfinished jobs run it)."""
        self.dbapi().destroy_workflow(None, self.uuid)
