# SPDX-License-Identifier: Apache-2.0
"""jobs list order index

Revision ID: 2026_11_30_0006
Revises: 2026_11_30_0005
Create Date: 2026-11-30 15:00:00

A project's jobs in the list's default order (``created_at``, then
``id``): a page of ``GET /v1/jobs`` reads its rows from this index instead
of sorting every job of the project first (thousands of them).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = '2026_11_30_0006'
down_revision = '2026_11_30_0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('jobs_project_id_created_at_idx', 'jobs',
                    ['project_id', 'created_at', 'id'])
