"""Tasks: a container image built from a source, and the command to run."""

from craton.common import states
from craton.objects import base
from craton.objects import fields


@base.CratonObjectRegistry.register
class Task(base.CratonObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    fields = {
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'user_id': fields.StringField(nullable=True),
        'name': fields.StringField(),
        'description': fields.StringField(nullable=True),
        'source': fields.JsonField(),
        'command': fields.ListOfStringsField(),
        'timeout': fields.IntegerField(),
        'status': fields.StringField(),
        'status_reason': fields.StringField(nullable=True),
        'build_number': fields.IntegerField(default=0),
        'image': fields.StringField(nullable=True),
        'image_digest': fields.StringField(nullable=True),
        'registry_digest': fields.StringField(nullable=True),
        'approval': fields.StringField(),
        'approved_by': fields.StringField(nullable=True),
        'approved_at': fields.DateTimeField(nullable=True),
        'approved_digest': fields.StringField(nullable=True),
        'visibility': fields.StringField(),
        'shared_roles': fields.ListOfStringsField(nullable=True),
        'conductor': fields.StringField(nullable=True),
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
    }

    extra_fields = ('shared_roles',)

    def _from_db_extra(self, row):
        self.shared_roles = [r.role for r in row.shared_roles]

    @classmethod
    def get(cls, context, ident, any_project=False):
        """A task the caller may see, by UUID or name (TaskNotFound).

        A name resolves in the caller's project only. A UUID also finds a
        task of another project that is public or shared with one of the
        caller's roles (what the caller may show and use), and with
        ``any_project`` any task (an admin reviewing it).
        """
        row = cls.dbapi().get_task(context.scope_project, ident,
                                   roles=context.effective_roles,
                                   any_project=any_project)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def list(cls, context, filters=None, **page):
        """The caller's project's tasks and those of other projects made
        visible to the caller; every task when ``context.all_projects``.
        """
        rows = cls.dbapi().list_tasks(context.scope_project, filters,
                                      roles=context.effective_roles, **page)
        return cls._from_rows(context, rows)

    def shared_with(self, context):
        """True when the task is public, or shared with one of the roles of
        the caller of ``context``: callers of other projects may then see
        and use it (never change it).
        """
        if self.visibility == states.VISIBILITY_PUBLIC:
            return True
        return (self.visibility == states.VISIBILITY_SHARED and
                bool(set(self.shared_roles or ()) &
                     set(context.effective_roles)))

    def create(self):
        row = self.dbapi().create_task(self.obj_get_changes())
        self._from_db_object(self._context, self, row)

    def save(self):
        changes = self.obj_get_changes()
        if changes:
            row = self.dbapi().update_task(None, self.uuid, changes)
            self._from_db_object(self._context, self, row)

    def refresh(self):
        row = self.dbapi().get_task(None, self.uuid)
        self._from_db_object(self._context, self, row)

    def nodes(self):
        """Where the task's image was synced: list of dicts (Swarm)."""
        return [{'node_id': row.node_id, 'hostname': row.hostname,
                 'status': row.status, 'reason': row.reason,
                 'image': row.image}
                for row in self.dbapi().list_task_nodes(self.uuid)]

    def destroy(self):
        self.dbapi().destroy_task(None, self.uuid)
