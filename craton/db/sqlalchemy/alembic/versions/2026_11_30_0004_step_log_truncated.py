# SPDX-License-Identifier: Apache-2.0
"""step log truncated

Revision ID: 2026_11_30_0004
Revises: 2026_11_30_0003
Create Date: 2026-11-30 06:40:00

A step's log that reached ``[sandbox] max_log_bytes`` is cut; the step
records that in ``log_truncated``, written in the same transaction as
the log's last chunk, so the API and a conductor that takes the step over
know it without guessing from the log's last bytes (which a step could
print itself).
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '2026_11_30_0004'
down_revision = '2026_11_30_0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job_steps') as batch:
        batch.add_column(sa.Column('log_truncated', sa.Boolean(),
                                   nullable=False,
                                   server_default=sa.false()))
