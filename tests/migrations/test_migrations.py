"""Every migration upgrades, downgrades and upgrades again (the stairway), and the migrated schema is
exactly the models' (no autogenerate drift), on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect

from app.persistence.models import Base
from tests.support import alembic_config, fresh_postgres_database, migrate, postgres_admin_url

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
REVISIONS: list[Script] = list(reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions())))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], scope="module")
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An empty database of its own (never the shared test database)."""
    if request.param == "sqlite":
        path = Path(tmp_path_factory.mktemp("stairway")) / "stairway.db"
        engine = create_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL)")
    with fresh_postgres_database(admin, f"hardship_stairway_{WORKER}_{os.getpid()}") as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def app_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_there_is_one_head_and_every_revision_can_go_down() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    for revision in REVISIONS:
        source = Path(revision.path).read_text()
        assert "def downgrade() -> None:" in source, revision.revision
        body = source.split("def downgrade() -> None:", 1)[1]
        assert body.strip() not in ("", "pass") and "op." in body, (
            f"{revision.revision} has an empty downgrade()"
        )


@pytest.mark.parametrize("revision", REVISIONS, ids=[f"{r.revision}-{r.doc[:40]}" for r in REVISIONS])
def test_stairway_up_down_up(engine: Engine, revision: Script) -> None:
    """From the revision before: up to this one, down one step, and up again."""
    migrate(engine, revision.down_revision or "base", down=True)  # type: ignore[arg-type]
    before = app_tables(engine)
    migrate(engine, revision.revision)
    after = app_tables(engine)
    migrate(engine, revision.down_revision or "base", down=True)  # type: ignore[arg-type]
    assert app_tables(engine) == before, f"{revision.revision}: downgrade did not undo the upgrade"
    migrate(engine, revision.revision)
    assert app_tables(engine) == after


def test_full_downgrade_leaves_no_tables_and_head_has_every_model(engine: Engine) -> None:
    migrate(engine, "head")
    assert app_tables(engine) == set(Base.metadata.tables)
    migrate(engine, "base", down=True)
    assert app_tables(engine) == set()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    """What `alembic check` does: autogenerate against head finds nothing to add, drop or alter."""
    migrate(engine, "head")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "the models and the migrations differ; add a migration:\n" + "\n".join(
        map(str, differences)
    )
