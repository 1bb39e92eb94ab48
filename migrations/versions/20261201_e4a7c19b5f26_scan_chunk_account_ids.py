"""Scan chunks hold the ids of their accounts: a scan is planned over the accounts of the event's
regions only, the others are counted once.

Revision ID: e4a7c19b5f26
Revises: 2fb852f1a0ba
Create Date: 2026-12-01 01:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e4a7c19b5f26'
down_revision: str | None = '2fb852f1a0ba'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('scan_chunk') as batch:
        batch.add_column(sa.Column('account_ids', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scan_chunk') as batch:
        batch.drop_column('account_ids')
