# SPDX-License-Identifier: Apache-2.0
"""task nodes and uploaded sources

Revision ID: 2026_11_26_0002
Revises: 2026_11_26_0001
Create Date: 2026-11-26 19:20:00

Adds task_nodes (where a task's image was synced in a Swarm) and
task_upload_chunks (the uploaded source archive of a task, in chunks).
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '2026_11_26_0002'
down_revision = '2026_11_26_0001'
branch_labels = None
depends_on = None

_MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def upgrade():
    op.create_table(
        'task_nodes',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('task_id', sa.Integer,
                  sa.ForeignKey('tasks.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('node_id', sa.String(64), nullable=False),
        sa.Column('hostname', sa.String(255), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('reason', sa.Text),
        sa.Column('image', sa.String(512), nullable=False),
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.UniqueConstraint('task_id', 'node_id',
                            name='uniq_task_nodes0task_id0node_id'),
        **_MYSQL)
    op.create_table(
        'task_upload_chunks',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('task_id', sa.Integer,
                  sa.ForeignKey('tasks.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('offset', sa.BigInteger, nullable=False),
        sa.Column('data', sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(),
                                                         'mysql'),
                  nullable=False),
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.UniqueConstraint('task_id', 'offset',
                            name='uniq_task_upload_chunks0task_id0offset'),
        **_MYSQL)
