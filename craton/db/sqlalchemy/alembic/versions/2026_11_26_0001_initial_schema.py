# SPDX-License-Identifier: Apache-2.0
"""initial schema

Revision ID: 2026_11_26_0001
Revises:
Create Date: 2026-11-26 00:00:00

Creates every table of craton.db.sqlalchemy.models as of this revision.
The types are spelled out here (not imported from models) so that later
model changes cannot alter what this revision creates.
"""

from alembic import op
from oslo_db.sqlalchemy import types as db_types
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '2026_11_26_0001'
down_revision = None
branch_labels = None
depends_on = None

_MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _json_dict():
    return db_types.JsonEncodedDict(mysql_as_medium=True)


def _json_list():
    return db_types.JsonEncodedList(mysql_as_medium=True)


def _timestamps():
    return [sa.Column('created_at', sa.DateTime),
            sa.Column('updated_at', sa.DateTime)]


def _resource(name, *columns, project_index=True):
    """Create a table with id, uuid, project_id and a unique name."""
    args = [sa.Column('id', sa.Integer, primary_key=True),
            sa.Column('uuid', sa.String(36), nullable=False),
            sa.Column('project_id', sa.String(64), nullable=False)]
    args += list(columns) + _timestamps()
    args += [sa.UniqueConstraint('uuid'),
             sa.UniqueConstraint('project_id', 'name',
                                 name='uniq_%s0project_id0name' % name)]
    op.create_table(name, *args, **_MYSQL)
    op.create_index('%s_project_id_idx' % name, name, ['project_id'])


def upgrade():
    _resource('regions',
              sa.Column('name', sa.String(255), nullable=False),
              sa.Column('description', sa.Text),
              sa.Column('variables', _json_dict()))
    _resource('cells',
              sa.Column('name', sa.String(255), nullable=False),
              sa.Column('description', sa.Text),
              sa.Column('variables', _json_dict()),
              sa.Column('region_id', sa.Integer,
                        sa.ForeignKey('regions.id'), nullable=False))
    _resource('hosts',
              sa.Column('name', sa.String(255), nullable=False),
              sa.Column('ip_address', sa.String(64)),
              sa.Column('variables', _json_dict()),
              sa.Column('region_id', sa.Integer,
                        sa.ForeignKey('regions.id'), nullable=False),
              sa.Column('cell_id', sa.Integer, sa.ForeignKey('cells.id')))
    op.create_table(
        'host_labels',
        sa.Column('host_id', sa.Integer, sa.ForeignKey('hosts.id'),
                  primary_key=True),
        sa.Column('label', sa.String(255), primary_key=True),
        *_timestamps(), **_MYSQL)
    op.create_index('host_labels_label_idx', 'host_labels', ['label'])

    _resource('tasks',
              sa.Column('user_id', sa.String(64)),
              sa.Column('name', sa.String(255), nullable=False),
              sa.Column('description', sa.Text),
              sa.Column('source', _json_dict(), nullable=False),
              sa.Column('command', _json_list(), nullable=False),
              sa.Column('timeout', sa.Integer, nullable=False),
              sa.Column('status', sa.String(16), nullable=False),
              sa.Column('status_reason', sa.Text),
              sa.Column('build_number', sa.Integer, nullable=False),
              sa.Column('image', sa.String(255)),
              sa.Column('image_digest', sa.String(255)),
              sa.Column('registry_digest', sa.String(255)),
              sa.Column('approval', sa.String(16), nullable=False),
              sa.Column('approved_by', sa.String(64)),
              sa.Column('approved_at', sa.DateTime),
              sa.Column('approved_digest', sa.String(255)),
              sa.Column('visibility', sa.String(16), nullable=False),
              sa.Column('shared_roles', _json_list()),
              sa.Column('conductor', sa.String(255)))
    op.create_index('tasks_status_idx', 'tasks', ['status'])

    _resource('workflows',
              sa.Column('user_id', sa.String(64)),
              sa.Column('name', sa.String(255), nullable=False),
              sa.Column('description', sa.Text),
              sa.Column('variables', _json_dict()))
    op.create_table(
        'workflow_steps',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('workflow_id', sa.Integer, sa.ForeignKey('workflows.id'),
                  nullable=False),
        sa.Column('position', sa.Integer, nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('task_uuid', sa.String(36), nullable=False),
        sa.Column('variables', _json_dict()),
        sa.Column('timeout', sa.Integer),
        *_timestamps(),
        sa.UniqueConstraint('workflow_id', 'position',
                            name='uniq_workflow_steps0workflow_id0position'),
        **_MYSQL)
    op.create_index('workflow_steps_task_uuid_idx', 'workflow_steps',
                    ['task_uuid'])

    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('project_id', sa.String(64), nullable=False),
        sa.Column('user_id', sa.String(64)),
        sa.Column('workflow_uuid', sa.String(36)),
        sa.Column('task_uuid', sa.String(36)),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('status_reason', sa.Text),
        sa.Column('variables', _json_dict()),
        sa.Column('inventory', db_types.JsonEncodedList(mysql_as_long=True)),
        sa.Column('host_count', sa.Integer, nullable=False),
        sa.Column('conductor', sa.String(255)),
        sa.Column('started_at', sa.DateTime),
        sa.Column('finished_at', sa.DateTime),
        *_timestamps(),
        sa.UniqueConstraint('uuid'),
        **_MYSQL)
    op.create_index('jobs_project_id_idx', 'jobs', ['project_id'])
    op.create_index('jobs_status_idx', 'jobs', ['status'])
    op.create_index('jobs_conductor_idx', 'jobs', ['conductor'])

    op.create_table(
        'job_steps',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('job_id', sa.Integer, sa.ForeignKey('jobs.id'),
                  nullable=False),
        sa.Column('index', sa.Integer, nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('task_uuid', sa.String(36), nullable=False),
        sa.Column('image', sa.String(255)),
        sa.Column('image_digest', sa.String(255)),
        sa.Column('command', _json_list()),
        sa.Column('variables', _json_dict()),
        sa.Column('timeout', sa.Integer, nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('status_reason', sa.Text),
        sa.Column('exit_code', sa.Integer),
        sa.Column('node', sa.String(255)),
        sa.Column('container_id', sa.String(255)),
        sa.Column('result', db_types.JsonEncodedDict(mysql_as_long=True)),
        sa.Column('log_bytes', sa.BigInteger, nullable=False),
        sa.Column('started_at', sa.DateTime),
        sa.Column('finished_at', sa.DateTime),
        *_timestamps(),
        sa.UniqueConstraint('job_id', 'index',
                            name='uniq_job_steps0job_id0index'),
        **_MYSQL)
    op.create_index('job_steps_task_uuid_idx', 'job_steps', ['task_uuid'])

    op.create_table(
        'step_log_chunks',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('job_step_id', sa.Integer, sa.ForeignKey('job_steps.id'),
                  nullable=False),
        sa.Column('offset', sa.BigInteger, nullable=False),
        sa.Column('data', sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(),
                                                         'mysql'),
                  nullable=False),
        *_timestamps(),
        sa.UniqueConstraint('job_step_id', 'offset',
                            name='uniq_step_log_chunks0job_step_id0offset'),
        **_MYSQL)

    op.create_table(
        'conductors',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('hostname', sa.String(255), nullable=False),
        sa.Column('online', sa.Boolean, nullable=False),
        sa.Column('heartbeat_at', sa.DateTime, nullable=False),
        *_timestamps(),
        sa.UniqueConstraint('hostname'),
        **_MYSQL)
