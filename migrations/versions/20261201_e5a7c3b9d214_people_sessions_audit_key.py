"""People behind credentials, server-side agent sessions, and the keyed audit chain.

- api_key.user_id: the agent-UI user a key was issued to (CONTRACT.md, "People and credentials").
- person columns where the actor is recorded (audit_event, fee_waiver, approval, installment_plan,
  credit_dispute): "user:<id>", "key:<id>" or "system"; empty on rows written before.
- audit_event.chain_version: 2 for rows hashed with HMAC under HARDSHIP_AUDIT_KEY; rows written
  before stay version 1 (plain SHA-256) and keep verifying.
- agent_session: agent-UI sessions kept on the server.

Revision ID: e5a7c3b9d214
Revises: c41d2f0e8a57
Create Date: 2026-12-01 01:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e5a7c3b9d214'
down_revision: str | None = 'c41d2f0e8a57'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_PERSON_COLUMNS = (
    ('fee_waiver', 'requested_person'),
    ('approval', 'requested_person'),
    ('approval', 'decided_person'),
    ('installment_plan', 'created_person'),
    ('credit_dispute', 'created_person'),
    ('audit_event', 'person'),
)


def upgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', _ID, nullable=True))
        batch_op.create_index(batch_op.f('ix_api_key_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_api_key_user_id_agent_user'), 'agent_user', ['user_id'], ['id']
        )
    for table, column in _PERSON_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.String(length=40), nullable=True))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_version', sa.Integer(), nullable=True))
    op.create_table(
        'agent_session',
        sa.Column('id', _ID, nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', _ID, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['agent_user.id'], name=op.f('fk_agent_session_user_id_agent_user')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_session')),
    )
    op.create_index(op.f('ix_agent_session_user_id'), 'agent_session', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_agent_session_user_id'), table_name='agent_session')
    op.drop_table('agent_session')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('chain_version')
    for table, column in reversed(_PERSON_COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_key_user_id_agent_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_api_key_user_id'))
        batch_op.drop_column('user_id')
