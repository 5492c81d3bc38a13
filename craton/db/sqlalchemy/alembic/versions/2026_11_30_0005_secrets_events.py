# SPDX-License-Identifier: Apache-2.0
"""secrets and events

Revision ID: 2026_11_30_0005
Revises: 2026_11_30_0004
Create Date: 2026-11-30 11:30:00

Secrets of a project (encrypted values), the secrets workflows, their
steps, jobs and job steps name, the values a running step received
(encrypted), and the audit trail of events.
"""

from alembic import op
from oslo_db.sqlalchemy import types as db_types
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '2026_11_30_0005'
down_revision = '2026_11_30_0004'
branch_labels = None
depends_on = None

_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _json_list():
    return db_types.JsonEncodedList(mysql_as_medium=True)


def upgrade():
    for table in ('workflows', 'workflow_steps', 'jobs', 'job_steps'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('secrets', _json_list()))
    with op.batch_alter_table('job_steps') as batch:
        batch.add_column(sa.Column(
            'secrets_sealed',
            db_types.JsonEncodedDict(mysql_as_medium=True)))

    op.create_table(
        'secrets',
        sa.Column('created_at', sa.DateTime()),
        sa.Column('updated_at', sa.DateTime()),
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('uuid', sa.String(36), nullable=False, unique=True),
        sa.Column('project_id', sa.String(64), nullable=False),
        sa.Column('user_id', sa.String(64)),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('description', sa.Text()),
        sa.Column('backend', sa.String(16), nullable=False),
        sa.Column('ciphertext', sa.LargeBinary().with_variant(
            mysql.MEDIUMBLOB(), 'mysql')),
        sa.Column('key_ref', sa.String(255)),
        sa.UniqueConstraint('project_id', 'name',
                            name='uniq_secrets0project_id0name'),
        **_TABLE_ARGS)
    op.create_index('secrets_project_id_idx', 'secrets', ['project_id'])

    op.create_table(
        'events',
        sa.Column('created_at', sa.DateTime()),
        sa.Column('updated_at', sa.DateTime()),
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('uuid', sa.String(36), nullable=False, unique=True),
        sa.Column('time', sa.DateTime().with_variant(
            mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
        sa.Column('project_id', sa.String(64), nullable=False),
        sa.Column('user_id', sa.String(64)),
        sa.Column('action', sa.String(16), nullable=False),
        sa.Column('resource_type', sa.String(32), nullable=False),
        sa.Column('resource_uuid', sa.String(36)),
        sa.Column('outcome', sa.String(16), nullable=False),
        sa.Column('detail', db_types.JsonEncodedDict(mysql_as_medium=True)),
        sa.Column('request_id', sa.String(64)),
        **_TABLE_ARGS)
    op.create_index('events_project_id_time_idx', 'events',
                    ['project_id', 'time'])
    op.create_index('events_resource_uuid_idx', 'events', ['resource_uuid'])
