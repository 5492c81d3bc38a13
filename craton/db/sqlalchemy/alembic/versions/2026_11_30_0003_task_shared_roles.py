# SPDX-License-Identifier: Apache-2.0
"""task shared roles

Revision ID: 2026_11_30_0003
Revises: 2026_11_26_0002
Create Date: 2026-11-30 05:20:00

A task whose visibility is ``shared`` is seen and used by callers of any
project holding one of its roles. The roles move from a JSON list in
``tasks.shared_roles`` to one row per role in ``task_shared_roles``, so
that listing the tasks a caller may see is one query on every database.
Existing lists are copied over before the column is dropped.
"""

import json

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '2026_11_30_0003'
down_revision = '2026_11_26_0002'
branch_labels = None
depends_on = None

_MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}
_MAX_ROLE = 255


def _old_roles(value):
    """The distinct role names of a ``tasks.shared_roles`` JSON text, in
    lower case as the API now keeps them (roles match case-insensitively).
    """
    try:
        roles = json.loads(value) if value else []
    except ValueError:
        return []
    if not isinstance(roles, list):
        return []
    return sorted({r.strip().lower() for r in roles
                   if isinstance(r, str) and r.strip() and
                   len(r.strip()) <= _MAX_ROLE})


def upgrade():
    op.create_table(
        'task_shared_roles',
        sa.Column('task_id', sa.Integer,
                  sa.ForeignKey('tasks.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('role', sa.String(_MAX_ROLE), primary_key=True),
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        **_MYSQL)
    op.create_index('task_shared_roles_role_idx', 'task_shared_roles',
                    ['role'])

    tasks = sa.table('tasks', sa.column('id', sa.Integer),
                     sa.column('shared_roles', sa.Text))
    shared = sa.table('task_shared_roles',
                      sa.column('task_id', sa.Integer),
                      sa.column('role', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(tasks.c.id, tasks.c.shared_roles).where(
        tasks.c.shared_roles.isnot(None))).all()
    values = [{'task_id': task_id, 'role': role}
              for task_id, text in rows for role in _old_roles(text)]
    if values:
        op.bulk_insert(shared, values)

    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): a batch
    # copy of ``tasks`` would drop the old table, and with foreign keys on
    # that cascades to the rows of task_nodes and task_upload_chunks.
    op.drop_column('tasks', 'shared_roles')
