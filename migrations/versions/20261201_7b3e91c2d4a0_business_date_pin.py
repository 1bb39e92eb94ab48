"""The business date an admin pinned for every process.

Revision ID: 7b3e91c2d4a0
Revises: 5d1c0e7a9b31
Create Date: 2026-12-01 01:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7b3e91c2d4a0'
down_revision: str | None = '5d1c0e7a9b31'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'business_date_pin',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('pinned_on', sa.Date(), nullable=False),
        sa.Column('pinned_by', sa.String(length=100), nullable=False),
        sa.Column('pinned_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_business_date_pin_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_business_date_pin')),
    )


def downgrade() -> None:
    op.drop_table('business_date_pin')
