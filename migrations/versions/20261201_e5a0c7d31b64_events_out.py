"""Events out: the transactional outbox, per-subject sequence numbers, webhook endpoints and
deliveries, and the business dates the instruction file reads from relief records.

Revision ID: e5a0c7d31b64
Revises: e4a7c19b5f26
Create Date: 2026-12-01 01:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e5a0c7d31b64'
down_revision: str | None = 'e4a7c19b5f26'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'outbox_event',
        sa.Column('id', ID, nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('relayed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_event')),
        sa.UniqueConstraint('event_id', name=op.f('uq_outbox_event_event_id')),
        sa.UniqueConstraint('subject', 'seq', name=op.f('uq_outbox_event_subject_seq')),
    )
    op.create_index(
        'ix_outbox_event_unrelayed',
        'outbox_event',
        ['id'],
        unique=False,
        sqlite_where=sa.text('relayed_at IS NULL'),
        postgresql_where=sa.text('relayed_at IS NULL'),
    )
    op.create_index(
        'ix_outbox_event_unpublished',
        'outbox_event',
        ['id'],
        unique=False,
        sqlite_where=sa.text('published_at IS NULL'),
        postgresql_where=sa.text('published_at IS NULL'),
    )
    op.create_table(
        'event_subject_seq',
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('subject', name=op.f('pk_event_subject_seq')),
    )
    op.create_table(
        'webhook_endpoint',
        sa.Column('id', ID, nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('event_types', sa.Text(), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint')),
    )
    op.create_table(
        'webhook_endpoint_type',
        sa.Column('endpoint_id', ID, nullable=False),
        sa.Column('event_type', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['endpoint_id'],
            ['webhook_endpoint.id'],
            name=op.f('fk_webhook_endpoint_type_endpoint_id_webhook_endpoint'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('endpoint_id', 'event_type', name=op.f('pk_webhook_endpoint_type')),
    )
    op.create_table(
        'webhook_delivery',
        sa.Column('id', ID, nullable=False),
        sa.Column('endpoint_id', ID, nullable=False),
        sa.Column('outbox_id', ID, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claim', sa.String(length=36), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending','delivered','failed')", name=op.f('ck_webhook_delivery_status_known')
        ),
        sa.ForeignKeyConstraint(
            ['endpoint_id'],
            ['webhook_endpoint.id'],
            name=op.f('fk_webhook_delivery_endpoint_id_webhook_endpoint'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['outbox_id'], ['outbox_event.id'], name=op.f('fk_webhook_delivery_outbox_id_outbox_event')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
        sa.UniqueConstraint('endpoint_id', 'outbox_id', name=op.f('uq_webhook_delivery_endpoint_id_outbox_id')),
    )
    op.create_index(
        'ix_webhook_delivery_due', 'webhook_delivery', ['status', 'next_attempt_at'], unique=False
    )
    op.create_index(
        op.f('ix_webhook_delivery_outbox_id'), 'webhook_delivery', ['outbox_id'], unique=False
    )
    op.create_table(
        'deferral_line_history',
        sa.Column('id', ID, nullable=False),
        sa.Column('deferral_id', ID, nullable=False),
        sa.Column('statement_date', sa.Date(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('new_due_date', sa.Date(), nullable=False),
        sa.Column('deferred_fen', sa.BigInteger(), nullable=False),
        sa.Column('interest_waived_fen', sa.BigInteger(), nullable=False),
        sa.Column('late_fee_waived_fen', sa.BigInteger(), nullable=False),
        sa.Column('granted_on', sa.Date(), nullable=True),
        sa.Column('replaced_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ['deferral_id'],
            ['deferral.id'],
            name=op.f('fk_deferral_line_history_deferral_id_deferral'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deferral_line_history')),
    )
    op.create_index(
        'ix_deferral_line_history_granted_on', 'deferral_line_history', ['granted_on'], unique=False
    )
    op.add_column('fee_waiver', sa.Column('applied_on', sa.Date(), nullable=True))
    op.add_column('fee_waiver', sa.Column('reversed_on', sa.Date(), nullable=True))
    op.add_column('deferral', sa.Column('granted_on', sa.Date(), nullable=True))
    op.add_column('deferral_line', sa.Column('granted_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deferral_line') as batch:
        batch.drop_column('granted_on')
    with op.batch_alter_table('deferral') as batch:
        batch.drop_column('granted_on')
    with op.batch_alter_table('fee_waiver') as batch:
        batch.drop_column('reversed_on')
        batch.drop_column('applied_on')
    op.drop_index('ix_deferral_line_history_granted_on', table_name='deferral_line_history')
    op.drop_table('deferral_line_history')
    op.drop_index(op.f('ix_webhook_delivery_outbox_id'), table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_due', table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_table('webhook_endpoint_type')
    op.drop_table('webhook_endpoint')
    op.drop_table('event_subject_seq')
    op.drop_index('ix_outbox_event_unpublished', table_name='outbox_event')
    op.drop_index('ix_outbox_event_unrelayed', table_name='outbox_event')
    op.drop_table('outbox_event')
