# SPDX-License-Identifier: Apache-2.0
"""Tasks: a container image built from a source, and the command to run.

A task's build status moves only through the task state machine
(:data:`craton.common.fsm.TASK_MACHINE`): :meth:`Task.transition` asks it,
then writes with an UPDATE conditional on the status the object holds, so a
writer that lost a race to another (a rebuild, a source change, a delete)
sees ``False`` instead of overwriting what the other wrote.
:meth:`Task.save` writes every other field and refuses the status.
"""

from craton.common import fsm
from craton.common import states
from craton.objects import base
from craton.objects import fields


# Written by transitions only, never by save().
_STATUS_FIELDS = ('status', 'status_reason')


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

    def _load(self, row):
        self._from_db_object(self._context, self, row)

    @classmethod
    def get(cls, context, ident, any_project=False):
        """A task the caller of ``context`` may see, by UUID or name, as a
        Task (TaskNotFound otherwise).

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
        """A page (list of Task) of the caller's project's tasks and those
        of other projects made visible to the caller; every task when
        ``context.all_projects``. ``filters`` and the paging arguments
        (``limit``, ``marker``, ``sort_key``, ``sort_dir``) are those of
        :meth:`craton.db.sqlalchemy.tasks.TaskMixin.list_tasks`
        (InvalidParameter for a marker the caller does not see).
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
        """Insert the task from the fields set on it (its first status,
        normally ``pending``, included) and load the stored row back.

        :raises Duplicate: the project has a task of that name already.
        """
        row = self.dbapi().create_task(self.obj_get_changes())
        self._load(row)

    def save(self):
        """Write the unsaved changes of every field but the status.

        :raises ValueError: ``status`` or ``status_reason`` was changed:
            those move only through :meth:`transition` (the state machine).
        :raises TaskNotFound: the task is gone.
        :raises Duplicate: a new name another task of the project has.
        """
        changes = self.obj_get_changes()
        _refuse_status(changes, 'save()')
        if changes:
            row = self.dbapi().update_task(None, self.uuid, changes)
            self._load(row)

    def transition(self, event, reason=None, owner=None, **values):
        """Move the build status by ``event`` and write it.

        :param event: an event of :mod:`craton.common.fsm` (``TASK_BUILD``,
            ``TASK_SYNC``, ``TASK_DONE``, ``TASK_FAIL``, ``TASK_REBUILD``;
            a delete is :meth:`destroy`), or a sequence of them applied in
            order and written once.
        :param reason: the new ``status_reason`` (None clears it).
        :param owner: a conductor's host name: write only while that
            conductor still holds the task's build claim (a conductor
            that was taken over must not record a stale build's outcome).
        :param values: more fields to write along (as attributes).

        The write is one UPDATE conditional on the status this object
        holds (and on ``owner``); it carries the new status, ``reason``,
        ``values`` and the object's other unsaved changes.

        :returns: True when written: the object then holds the stored row.
            False when the task's status is no longer the one this object
            holds (another writer moved it, or the task was deleted):
            nothing was written and the object is unchanged (see
            :meth:`refresh_status` to try again).
        :raises InvalidState: the machine does not allow ``event`` from the
            status this object holds (a caller's bug, or a task being
            deleted).
        :raises ValueError: ``status`` or ``status_reason`` was set by hand.
        """
        events = (event,) if isinstance(event, str) else tuple(event)
        changes = self.obj_get_changes()
        _refuse_status(changes, 'transition()')
        status = self.status
        for name in events:
            status = fsm.task_next(status, name)
        changes.update(values, status=status, status_reason=reason)
        row = self.dbapi().update_task_status(self.uuid, self.status,
                                              changes, conductor=owner)
        if row is None:
            return False
        self._load(row)
        return True

    def start_build(self, owner=None):
        """Move to ``building`` as a build starts: from ``pending`` by
        ``TASK_BUILD``; from any other status but ``deleting`` (a build in
        flight that a restarted conductor takes up again, or a task built
        once more) by ``TASK_REBUILD`` then ``TASK_BUILD``, in one write.
        Clears ``status_reason``.

        :param owner: as for :meth:`transition`.
        :returns: as :meth:`transition` (False: the task changed, has
            another owner, or is gone; do not build). On True the object
            holds the stored row, so the build uses the source as it is
            now.
        """
        if self.status == states.TASK_PENDING:
            return self.transition(fsm.TASK_BUILD, owner=owner)
        return self.transition((fsm.TASK_REBUILD, fsm.TASK_BUILD),
                               owner=owner)

    def approve(self, user_id, at):
        """Approve the image this object holds, by ``user_id`` at ``at``
        (a datetime): written only while the task is still ``ready`` with
        that ``image_digest``, so an approval never lands on an image the
        approver did not see.

        :returns: True when written (the object then holds the stored
            row); False when the task was rebuilt, moved on or deleted
            meanwhile (nothing written; :meth:`refresh` to look again).
        """
        row = self.dbapi().approve_task(self.uuid, self.image_digest, {
            'approval': states.APPROVAL_APPROVED, 'approved_by': user_id,
            'approved_at': at, 'approved_digest': self.image_digest})
        if row is None:
            return False
        self._load(row)
        return True

    def reset_approval(self):
        """Put approval back to ``pending`` and forget who approved which
        digest, because what an admin approved is no longer what would
        run (a new source or command, or a build giving another image).

        Sets the fields only; the next :meth:`save` or :meth:`transition`
        writes them.
        """
        self.approval = states.APPROVAL_PENDING
        self.approved_by = None
        self.approved_at = None
        self.approved_digest = None

    def refresh(self):
        """Read the whole task again, dropping unsaved changes
        (TaskNotFound when it is gone).
        """
        row = self.dbapi().get_task(None, self.uuid)
        self._load(row)

    def refresh_status(self):
        """Read ``status`` and ``status_reason`` again, keeping the other
        unsaved changes: after :meth:`transition` or :meth:`destroy` lost a
        race, to ask the machine again from where the task is now.

        :raises TaskNotFound: the task was deleted meanwhile.
        """
        row = self.dbapi().get_task(None, self.uuid)
        self.status, self.status_reason = row.status, row.status_reason
        self.obj_reset_changes(_STATUS_FIELDS)

    def nodes(self):
        """Where the task's image was synced: see :meth:`nodes_of`."""
        return self.nodes_of(self.uuid)

    @classmethod
    def nodes_of(cls, task_uuid):
        """Where task ``task_uuid``'s image was synced (Swarm): a list of
        dicts with ``node_id``, ``hostname``, ``status`` (``synced`` or
        ``failed``), ``reason`` and ``image``, by hostname; empty on a
        single engine or for an unknown task.
        """
        return [{'node_id': row.node_id, 'hostname': row.hostname,
                 'status': row.status, 'reason': row.reason,
                 'image': row.image}
                for row in cls.dbapi().list_task_nodes(task_uuid)]

    def set_node(self, node_id, hostname, status, image, reason=None):
        """Record whether Swarm node ``node_id`` (``hostname``) holds
        ``image`` of this task: ``status`` ``synced`` or ``failed`` (with
        ``reason``). A task deleted meanwhile records nothing.
        """
        self.dbapi().set_task_node(self.uuid, node_id, hostname, status,
                                   image, reason)

    def clear_nodes(self):
        """Forget where the task's image was (before a new image syncs)."""
        self.dbapi().clear_task_nodes(self.uuid)

    def destroy(self):
        """Delete the task by ``TASK_DELETE``: in one transaction, check
        that nothing uses it, move it to ``deleting`` conditional on the
        status this object holds, and delete the row.

        :returns: True when deleted; False when the task's status changed
            since it was read (nothing deleted; see
            :meth:`refresh_status`).
        :raises InvalidState: the machine refuses (already deleting).
        :raises InUse: a workflow or an unfinished job uses the task.
        :raises TaskNotFound: the task is gone.
        """
        fsm.task_next(self.status, fsm.TASK_DELETE)
        return self.dbapi().destroy_task(None, self.uuid,
                                         expected_status=self.status)


def _refuse_status(changes, caller):
    changed = sorted(set(_STATUS_FIELDS) & set(changes))
    if changed:
        raise ValueError(
            'Task.%s does not write %s set by hand: the build status moves '
            'through Task.transition() (the task state machine)'
            % (caller, ' or '.join(changed)))
