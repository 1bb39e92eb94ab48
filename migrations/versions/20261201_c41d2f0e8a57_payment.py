"""Payments from the card system, which servicing applies to plans.

Revision ID: c41d2f0e8a57
Revises: 7b3e91c2d4a0
Create Date: 2026-12-01 01:05:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c41d2f0e8a57'
down_revision: str | None = '7b3e91c2d4a0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'payment',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('payment_ref', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payment_amount_positive')),
        sa.ForeignKeyConstraint(
            ['account_id'], ['card_account.id'], name=op.f('fk_payment_account_id_card_account')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
        sa.UniqueConstraint('payment_ref', name=op.f('uq_payment_payment_ref')),
    )
    op.create_index('ix_payment_account_id_paid_on', 'payment', ['account_id', 'paid_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_payment_account_id_paid_on', table_name='payment')
    op.drop_table('payment')
