"""A scan result no longer has a foreign key to its account.

Checking it locked every scanned account row (FOR KEY SHARE, written to the row and the WAL): about
a quarter of a dry run's time on PostgreSQL (benchmarks/README.md, "Scan"). The account id comes
from card_account in the chunk's own transaction, and accounts are never deleted.

Revision ID: 5d1c0e7a9b31
Revises: 382bba802e92
Create Date: 2026-11-27 20:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5d1c0e7a9b31'
down_revision: str | None = '382bba802e92'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('scan_result', schema=None) as batch_op:
        batch_op.drop_constraint('fk_scan_result_account_id_card_account', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('scan_result', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_scan_result_account_id_card_account', 'card_account', ['account_id'], ['id']
        )
