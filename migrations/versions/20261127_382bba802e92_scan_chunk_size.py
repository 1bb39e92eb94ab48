"""Scans record their chunk size, so recovery and resume plan them the same way.

Revision ID: 382bba802e92
Revises: ab1f9652fd92
Create Date: 2026-11-27 19:01:15.351575+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '382bba802e92'
down_revision: str | None = 'ab1f9652fd92'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chunk_size', sa.Integer(), server_default='5000', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.drop_column('chunk_size')

