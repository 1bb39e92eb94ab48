"""A plan keeps the account's region code of its start, so the outcomes report reads plans only.

The outcomes report broke plans down by prefecture by joining every plan to its account, which on a
million-account portfolio means reading the accounts for the plans' regions. The plan now keeps the
region code its account had when the plan was created (written by the service from then on);
existing plans take their account's code as it is now, which is what the report used for them until
this revision. The report maps the code to today's code (the code-change table) and cuts the
prefecture from it as before.

Revision ID: 9c4e2b7a1d30
Revises: e5a7c3d19b42
Create Date: 2026-12-01 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9c4e2b7a1d30'
down_revision: str | None = 'e5a7c3d19b42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ONE_ACTIVE = 'uq_installment_plan_one_active'


def upgrade() -> None:
    op.add_column('installment_plan', sa.Column('start_region_code', sa.String(length=6), nullable=True))
    op.execute(
        'UPDATE installment_plan SET start_region_code = '
        '(SELECT a.region_code FROM card_account a WHERE a.id = installment_plan.account_id)'
    )
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column(
            'installment_plan', 'start_region_code', existing_type=sa.String(length=6), nullable=False
        )
        return
    # SQLite makes a column NOT NULL by copying the table; the partial unique index of the active
    # plans is made again by hand, with its WHERE.
    op.drop_index(_ONE_ACTIVE, table_name='installment_plan')
    with op.batch_alter_table('installment_plan', schema=None) as batch_op:
        batch_op.alter_column('start_region_code', existing_type=sa.String(length=6), nullable=False)
    op.create_index(
        _ONE_ACTIVE, 'installment_plan', ['account_id'], unique=True, sqlite_where=sa.text("status = 'active'")
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_column('installment_plan', 'start_region_code')
        return
    op.drop_index(_ONE_ACTIVE, table_name='installment_plan')
    with op.batch_alter_table('installment_plan', schema=None) as batch_op:
        batch_op.drop_column('start_region_code')
    op.create_index(
        _ONE_ACTIVE, 'installment_plan', ['account_id'], unique=True, sqlite_where=sa.text("status = 'active'")
    )
