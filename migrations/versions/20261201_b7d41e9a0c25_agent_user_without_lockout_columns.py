"""Agent users lose the lockout columns nothing reads: wrong passwords back off per user and client
address in the login limiter (app/services/login_limits.py), never by locking the user out.

Revision ID: b7d41e9a0c25
Revises: 9c4e2b7a1d30
Create Date: 2026-12-01 05:35:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b7d41e9a0c25'
down_revision: str | None = '9c4e2b7a1d30'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('agent_user', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade() -> None:
    with op.batch_alter_table('agent_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
