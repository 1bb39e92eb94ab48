"""Alembic environment: the database comes from the service settings (DATABASE_URL), or from a
connection handed over by the caller (tests, `hardship db upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from app.db import build_engine
from app.persistence.models import Base
from app.settings import get_settings

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = build_engine(get_settings())
    with engine.connect() as conn:
        run_with(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=get_settings().database_url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
