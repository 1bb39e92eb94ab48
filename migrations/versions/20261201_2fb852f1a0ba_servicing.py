"""Servicing: where each plan, installment and deferral stands, and a record of the runs.

A plan gains its completion and break days, the amounts paid, outstanding and unapplied, the
counts of its installments whose miss day has come and of those paid before it, and the problem
that stopped servicing it, if any; an installment its status (due, paid, paid_late, missed) and the
amount applied to it; a deferral its status (active, completed) and completion day. Existing plans
start with nothing paid: what is outstanding is their total.

Revision ID: 2fb852f1a0ba
Revises: e5a7c3b9d214
Create Date: 2026-12-01 01:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '2fb852f1a0ba'
down_revision: str | None = 'e5a7c3b9d214'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy on SQLite, which would have to re-create the partial unique
    # index of the active plans).
    op.add_column('installment_plan', sa.Column('completed_on', sa.Date(), nullable=True))
    op.add_column('installment_plan', sa.Column('broken_on', sa.Date(), nullable=True))
    for name in ('paid_total_fen', 'outstanding_fen', 'unapplied_fen'):
        op.add_column(
            'installment_plan', sa.Column(name, sa.BigInteger(), server_default=sa.text('0'), nullable=False)
        )
    for name in ('installments_judged', 'installments_on_time'):
        op.add_column(
            'installment_plan', sa.Column(name, sa.Integer(), server_default=sa.text('0'), nullable=False)
        )
    op.add_column('installment_plan', sa.Column('servicing_error', sa.Text(), nullable=True))
    op.create_index('ix_installment_plan_start_on', 'installment_plan', ['start_on'], unique=False)
    op.execute('UPDATE installment_plan SET outstanding_fen = total_fen')

    with op.batch_alter_table('installment', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('status', sa.String(length=16), server_default=sa.text("'due'"), nullable=False)
        )
        batch_op.add_column(sa.Column('paid_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_installment_status_known'), "status IN ('due','paid','paid_late','missed')"
        )

    with op.batch_alter_table('deferral', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('status', sa.String(length=16), server_default=sa.text("'active'"), nullable=False)
        )
        batch_op.add_column(sa.Column('completed_on', sa.Date(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_deferral_status_known'), "status IN ('active','completed')")

    op.create_table(
        'servicing_run',
        sa.Column('id', Id, nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('plans_examined', sa.Integer(), nullable=False),
        sa.Column('plans_updated', sa.Integer(), nullable=False),
        sa.Column('plans_completed', sa.Integer(), nullable=False),
        sa.Column('plans_broken', sa.Integer(), nullable=False),
        sa.Column('plans_failed', sa.Integer(), nullable=False),
        sa.Column('installments_updated', sa.Integer(), nullable=False),
        sa.Column('deferrals_examined', sa.Integer(), nullable=False),
        sa.Column('deferrals_completed', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.String(length=100), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_servicing_run')),
    )
    op.create_index('ix_servicing_run_as_of', 'servicing_run', ['as_of'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_servicing_run_as_of', table_name='servicing_run')
    op.drop_table('servicing_run')
    with op.batch_alter_table('deferral', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_deferral_status_known'), type_='check')
        batch_op.drop_column('completed_on')
        batch_op.drop_column('status')
    with op.batch_alter_table('installment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_installment_status_known'), type_='check')
        batch_op.drop_column('paid_fen')
        batch_op.drop_column('status')
    op.drop_index('ix_installment_plan_start_on', table_name='installment_plan')
    # Plain DROP COLUMN, as the upgrade added them (SQLite 3.35 or later).
    for name in (
        'servicing_error',
        'installments_on_time',
        'installments_judged',
        'unapplied_fen',
        'outstanding_fen',
        'paid_total_fen',
        'broken_on',
        'completed_on',
    ):
        op.drop_column('installment_plan', name)
