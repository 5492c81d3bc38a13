# SPDX-License-Identifier: Apache-2.0
"""SQLAlchemy models for Craton.

Every resource a user sees carries a ``uuid`` and the ``project_id`` that
owns it. Integer ``id`` columns are internal join keys and never leave the
database layer.
"""

from oslo_db.sqlalchemy import models
from oslo_db.sqlalchemy import types as db_types
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy import orm

# Large JSON documents (a job's inventory snapshot of thousands of hosts) and
# log chunks overflow MySQL's 64 KiB TEXT/BLOB; other dialects have no limit.
LongJson = db_types.JsonEncodedDict(mysql_as_long=True)
LongJsonList = db_types.JsonEncodedList(mysql_as_long=True)
JsonDict = db_types.JsonEncodedDict(mysql_as_medium=True)
JsonList = db_types.JsonEncodedList(mysql_as_medium=True)
LogBlob = sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), 'mysql')
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


class Base(models.TimestampMixin, models.ModelBase, orm.DeclarativeBase):
    __table_args__ = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _args(*args):
    return args + (Base.__table_args__,)


class Region(Base):
    __tablename__ = 'regions'
    __table_args__ = _args(
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_regions0project_id0name'),
        sa.Index('regions_project_id_idx', 'project_id'))
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.Text)
    variables = sa.Column(JsonDict)


class Cell(Base):
    __tablename__ = 'cells'
    __table_args__ = _args(
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_cells0project_id0name'),
        sa.Index('cells_project_id_idx', 'project_id'))
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.Text)
    variables = sa.Column(JsonDict)
    region_id = sa.Column(sa.Integer, sa.ForeignKey('regions.id'),
                          nullable=False)
    region = orm.relationship(Region, lazy='joined')


class Host(Base):
    __tablename__ = 'hosts'
    __table_args__ = _args(
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_hosts0project_id0name'),
        sa.Index('hosts_project_id_idx', 'project_id'))
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    ip_address = sa.Column(sa.String(64))
    variables = sa.Column(JsonDict)
    region_id = sa.Column(sa.Integer, sa.ForeignKey('regions.id'),
                          nullable=False)
    cell_id = sa.Column(sa.Integer, sa.ForeignKey('cells.id'))
    region = orm.relationship(Region, lazy='joined')
    cell = orm.relationship(Cell, lazy='joined')
    labels = orm.relationship('HostLabel', lazy='selectin',
                              cascade='all, delete-orphan')


class HostLabel(Base):
    __tablename__ = 'host_labels'
    __table_args__ = _args(
        sa.Index('host_labels_label_idx', 'label'))
    host_id = sa.Column(sa.Integer, sa.ForeignKey('hosts.id'),
                        primary_key=True)
    label = sa.Column(sa.String(255), primary_key=True)


class Task(Base):
    __tablename__ = 'tasks'
    __table_args__ = _args(
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_tasks0project_id0name'),
        sa.Index('tasks_project_id_idx', 'project_id'),
        sa.Index('tasks_status_idx', 'status'))
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    user_id = sa.Column(sa.String(64))
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.Text)
    source = sa.Column(JsonDict, nullable=False)
    command = sa.Column(JsonList, nullable=False)
    timeout = sa.Column(sa.Integer, nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    status_reason = sa.Column(sa.Text)
    build_number = sa.Column(sa.Integer, nullable=False, default=0)
    image = sa.Column(sa.String(255))
    image_digest = sa.Column(sa.String(255))
    registry_digest = sa.Column(sa.String(255))
    approval = sa.Column(sa.String(16), nullable=False)
    approved_by = sa.Column(sa.String(64))
    approved_at = sa.Column(sa.DateTime)
    approved_digest = sa.Column(sa.String(255))
    visibility = sa.Column(sa.String(16), nullable=False)
    # A row per role: "is this task shared with any of my roles?" is then
    # a join that every database answers the same, inside any query.
    shared_roles = orm.relationship('TaskSharedRole', lazy='selectin',
                                    order_by='TaskSharedRole.role',
                                    cascade='all, delete-orphan')
    conductor = sa.Column(sa.String(255))


class TaskSharedRole(Base):
    """A role whose holders, in any project, may see and use a task whose
    visibility is ``shared``.
    """

    __tablename__ = 'task_shared_roles'
    __table_args__ = _args(
        sa.Index('task_shared_roles_role_idx', 'role'))
    task_id = sa.Column(sa.Integer, sa.ForeignKey('tasks.id',
                                                  ondelete='CASCADE'),
                        primary_key=True)
    role = sa.Column(sa.String(255), primary_key=True)


class Workflow(Base):
    __tablename__ = 'workflows'
    __table_args__ = _args(
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_workflows0project_id0name'),
        sa.Index('workflows_project_id_idx', 'project_id'))
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    user_id = sa.Column(sa.String(64))
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.Text)
    variables = sa.Column(JsonDict)
    # Names of secrets of the project every step receives.
    secrets = sa.Column(JsonList)
    steps = orm.relationship('WorkflowStep', lazy='selectin',
                             order_by='WorkflowStep.position',
                             cascade='all, delete-orphan')


class WorkflowStep(Base):
    __tablename__ = 'workflow_steps'
    __table_args__ = _args(
        sa.UniqueConstraint('workflow_id', 'position',
                            name='uniq_workflow_steps0workflow_id0position'),
        sa.Index('workflow_steps_task_uuid_idx', 'task_uuid'))
    id = sa.Column(sa.Integer, primary_key=True)
    workflow_id = sa.Column(sa.Integer, sa.ForeignKey('workflows.id'),
                            nullable=False)
    position = sa.Column(sa.Integer, nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    task_uuid = sa.Column(sa.String(36), nullable=False)
    variables = sa.Column(JsonDict)
    timeout = sa.Column(sa.Integer)
    # Names of secrets this step receives besides the workflow's.
    secrets = sa.Column(JsonList)


class Job(Base):
    __tablename__ = 'jobs'
    __table_args__ = _args(
        sa.Index('jobs_project_id_idx', 'project_id'),
        # The list's default order within a project (see the migration
        # 2026_11_30_0006).
        sa.Index('jobs_project_id_created_at_idx', 'project_id',
                 'created_at', 'id'),
        sa.Index('jobs_status_idx', 'status'),
        sa.Index('jobs_conductor_idx', 'conductor'))
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    user_id = sa.Column(sa.String(64))
    workflow_uuid = sa.Column(sa.String(36))
    task_uuid = sa.Column(sa.String(36))
    status = sa.Column(sa.String(16), nullable=False)
    status_reason = sa.Column(sa.Text)
    variables = sa.Column(JsonDict)
    # Names of secrets the job's submitter added for every step.
    secrets = sa.Column(JsonList)
    # Thousands of hosts: loaded only by whoever needs the snapshot.
    inventory = orm.deferred(sa.Column(LongJsonList))
    host_count = sa.Column(sa.Integer, nullable=False, default=0)
    conductor = sa.Column(sa.String(255))
    started_at = sa.Column(sa.DateTime)
    finished_at = sa.Column(sa.DateTime)
    steps = orm.relationship('JobStep', lazy='selectin',
                             order_by='JobStep.index',
                             cascade='all, delete-orphan')


class JobStep(Base):
    __tablename__ = 'job_steps'
    __table_args__ = _args(
        sa.UniqueConstraint('job_id', 'index',
                            name='uniq_job_steps0job_id0index'),
        sa.Index('job_steps_task_uuid_idx', 'task_uuid'))
    id = sa.Column(sa.Integer, primary_key=True)
    job_id = sa.Column(sa.Integer, sa.ForeignKey('jobs.id'), nullable=False)
    index = sa.Column(sa.Integer, nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    task_uuid = sa.Column(sa.String(36), nullable=False)
    image = sa.Column(sa.String(255))
    image_digest = sa.Column(sa.String(255))
    command = sa.Column(JsonList)
    variables = sa.Column(JsonDict)
    # UUIDs of the secrets the step receives, resolved at submission; the
    # values are read when the step starts.
    secrets = sa.Column(JsonList)
    # The values it received, encrypted by the secrets backend, while it
    # runs: a conductor that takes it over redacts what the container
    # holds, even if a secret changed since.
    secrets_sealed = sa.Column(JsonDict)
    timeout = sa.Column(sa.Integer, nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    status_reason = sa.Column(sa.Text)
    exit_code = sa.Column(sa.Integer)
    node = sa.Column(sa.String(255))
    container_id = sa.Column(sa.String(255))
    result = sa.Column(LongJson)
    log_bytes = sa.Column(sa.BigInteger, nullable=False, default=0)
    # The log was cut at [sandbox] max_log_bytes.
    log_truncated = sa.Column(sa.Boolean, nullable=False, default=False,
                              server_default=sa.false())
    started_at = sa.Column(sa.DateTime)
    finished_at = sa.Column(sa.DateTime)


class StepLogChunk(Base):
    __tablename__ = 'step_log_chunks'
    __table_args__ = _args(
        sa.UniqueConstraint('job_step_id', 'offset',
                            name='uniq_step_log_chunks0job_step_id0offset'))
    id = sa.Column(sa.Integer, primary_key=True)
    job_step_id = sa.Column(sa.Integer, sa.ForeignKey('job_steps.id'),
                            nullable=False)
    offset = sa.Column(sa.BigInteger, nullable=False)
    data = sa.Column(LogBlob, nullable=False)


class Conductor(Base):
    __tablename__ = 'conductors'
    __table_args__ = _args()
    id = sa.Column(sa.Integer, primary_key=True)
    hostname = sa.Column(sa.String(255), nullable=False, unique=True)
    online = sa.Column(sa.Boolean, nullable=False, default=True)
    heartbeat_at = sa.Column(sa.DateTime, nullable=False)


class TaskNode(Base):
    """Where a task's image was synced to (one row per Swarm node)."""

    __tablename__ = 'task_nodes'
    __table_args__ = _args(
        sa.UniqueConstraint('task_id', 'node_id',
                            name='uniq_task_nodes0task_id0node_id'))
    id = sa.Column(sa.Integer, primary_key=True)
    task_id = sa.Column(sa.Integer, sa.ForeignKey('tasks.id',
                                                  ondelete='CASCADE'),
                        nullable=False)
    node_id = sa.Column(sa.String(64), nullable=False)
    hostname = sa.Column(sa.String(255), nullable=False)
    # 'synced' | 'failed'
    status = sa.Column(sa.String(16), nullable=False)
    reason = sa.Column(sa.Text)
    image = sa.Column(sa.String(512), nullable=False)


class TaskUploadChunk(Base):
    """The gzipped tar of an ``upload`` task source, in chunks, so any
    conductor can build it.
    """

    __tablename__ = 'task_upload_chunks'
    __table_args__ = _args(
        sa.UniqueConstraint('task_id', 'offset',
                            name='uniq_task_upload_chunks0task_id0offset'))
    id = sa.Column(sa.Integer, primary_key=True)
    task_id = sa.Column(sa.Integer, sa.ForeignKey('tasks.id',
                                                  ondelete='CASCADE'),
                        nullable=False)
    offset = sa.Column(sa.BigInteger, nullable=False)
    data = sa.Column(LogBlob, nullable=False)


class Secret(Base):
    """A secret value of a project, kept encrypted: ``ciphertext`` is a
    Fernet token (``backend`` ``fernet``) or empty with ``key_ref`` naming
    the secret in the key manager (``backend`` ``castellan``).
    """

    __tablename__ = 'secrets'
    __table_args__ = _args(
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_secrets0project_id0name'),
        sa.Index('secrets_project_id_idx', 'project_id'))
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    project_id = sa.Column(sa.String(64), nullable=False)
    user_id = sa.Column(sa.String(64))
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.Text)
    backend = sa.Column(sa.String(16), nullable=False)
    ciphertext = sa.Column(sa.LargeBinary().with_variant(
        mysql.MEDIUMBLOB(), 'mysql'))
    key_ref = sa.Column(sa.String(255))


class Event(Base):
    """One entry of the audit trail: who did what to which resource."""

    __tablename__ = 'events'
    __table_args__ = _args(
        sa.Index('events_project_id_time_idx', 'project_id', 'time'),
        sa.Index('events_resource_uuid_idx', 'resource_uuid'))
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False, unique=True)
    time = sa.Column(sa.DateTime().with_variant(mysql.DATETIME(fsp=6),
                                                'mysql'), nullable=False)
    project_id = sa.Column(sa.String(64), nullable=False)
    user_id = sa.Column(sa.String(64))
    action = sa.Column(sa.String(16), nullable=False)
    resource_type = sa.Column(sa.String(32), nullable=False)
    resource_uuid = sa.Column(sa.String(36))
    outcome = sa.Column(sa.String(16), nullable=False)
    detail = sa.Column(JsonDict)
    request_id = sa.Column(sa.String(64))
