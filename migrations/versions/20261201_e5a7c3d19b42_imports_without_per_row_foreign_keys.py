"""The rows an import writes by the million: no per-row foreign-key checks.

PostgreSQL checks a foreign key with one query and a row lock on the referenced row for each
inserted row; for an import that lock rewrites every account row a statement or a payment refers to
(and its WAL), and every customer row an account refers to. The import checks the same references
once for the whole file, in SQL on its staging table (an unknown account is a named bad line; the
customers are inserted before their accounts in the same transaction), the single-account upsert
writes the customer and reads the account id in its own transaction, and neither accounts nor
customers are ever deleted (benchmarks/README.md, "Import"; the same reasoning as the scan's rows in
5d1c0e7a9b31). Dropped: statement -> card_account, payment -> card_account, card_account ->
customer.

Revision ID: e5a7c3d19b42
Revises: 5e8d2a61c9f3
Create Date: 2026-12-01 02:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'e5a7c3d19b42'
down_revision: str | None = '5e8d2a61c9f3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_constraint('fk_statement_account_id_card_account', type_='foreignkey')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payment_account_id_card_account', type_='foreignkey')
    with op.batch_alter_table('card_account', schema=None) as batch_op:
        batch_op.drop_constraint('fk_card_account_customer_ref_customer', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('card_account', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_card_account_customer_ref_customer', 'customer', ['customer_ref'], ['customer_ref']
        )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_payment_account_id_card_account', 'card_account', ['account_id'], ['id'])
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_statement_account_id_card_account', 'card_account', ['account_id'], ['id'], ondelete='CASCADE'
        )
