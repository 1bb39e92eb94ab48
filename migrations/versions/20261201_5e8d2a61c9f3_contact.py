"""Contacts with the cardholder and their callback dates (the agent desk).

Revision ID: 5e8d2a61c9f3
Revises: e5a0c7d31b64
Create Date: 2026-12-01 01:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e8d2a61c9f3'
down_revision: str | None = 'e5a0c7d31b64'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'contact',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('callback_on', sa.Date(), nullable=True),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('recorded_role', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['card_account.id'], name=op.f('fk_contact_account_id_card_account')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact')),
    )
    op.create_index('ix_contact_account_id_created_at', 'contact', ['account_id', 'created_at'], unique=False)
    op.create_index('ix_contact_callback_on', 'contact', ['callback_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_contact_callback_on', table_name='contact')
    op.drop_index('ix_contact_account_id_created_at', table_name='contact')
    op.drop_table('contact')
