"""The rows a scan writes by the hundred thousand: no per-row foreign-key checks, no surrogate key.

PostgreSQL checks a foreign key with one query and one row lock per inserted row. For a scan's
result rows (to the account and to the scan) and a deferral's scan id, the checks cost more than
anything else the database does in a scan: the account check locked every scanned account row (about
a quarter of a 1M dry run), the scan checks locked the same scan row once per row from every chunk
process (benchmarks/README.md, "Scan"). Each value is read in the chunk's own transaction (the
account from card_account, the scan from scan), and neither accounts nor scans are ever deleted.
A deferral keeps its checked keys to its account and its disaster, and a line to its deferral.
A scan result is keyed by (scan_id, account_id), which was already unique: the surrogate id cost a
sequence value and one more index entry per row and was never used.

Revision ID: 5d1c0e7a9b31
Revises: 382bba802e92
Create Date: 2026-11-27 20:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5d1c0e7a9b31'
down_revision: str | None = '382bba802e92'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('scan_result', schema=None) as batch_op:
        batch_op.drop_constraint('fk_scan_result_account_id_card_account', type_='foreignkey')
        batch_op.drop_constraint('fk_scan_result_scan_id_scan', type_='foreignkey')
        batch_op.drop_constraint('uq_scan_result_scan_id_account_id', type_='unique')
        batch_op.drop_constraint('pk_scan_result', type_='primary')
        batch_op.drop_column('id')
        batch_op.create_primary_key('pk_scan_result', ['scan_id', 'account_id'])
    with op.batch_alter_table('deferral', schema=None) as batch_op:
        batch_op.drop_constraint('fk_deferral_scan_id_scan', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('deferral', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_deferral_scan_id_scan', 'scan', ['scan_id'], ['id'])
    with op.batch_alter_table('scan_result', schema=None) as batch_op:
        batch_op.drop_constraint('pk_scan_result', type_='primary')
        batch_op.add_column(
            sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(), nullable=False)
        )
        batch_op.create_primary_key('pk_scan_result', ['id'])
        batch_op.create_unique_constraint('uq_scan_result_scan_id_account_id', ['scan_id', 'account_id'])
        batch_op.create_foreign_key(
            'fk_scan_result_scan_id_scan', 'scan', ['scan_id'], ['id'], ondelete='CASCADE'
        )
        batch_op.create_foreign_key(
            'fk_scan_result_account_id_card_account', 'card_account', ['account_id'], ['id']
        )
