"""The `hardship` command (CONTRACT.md, "Command line"): keys, users, db upgrade and exit codes.
Imports and `audit verify` are tested with their services (tests/integration)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select
from typer.testing import CliRunner

from app.cli import cli
from app.db import unit_of_work
from app.persistence.models import AgentUser, ApiKey, Base
from app.services import auth
from app.settings import get_settings
from tests.conftest import Database

runner = CliRunner()


@pytest.fixture
def cli_database(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The command pointed at the test database."""
    monkeypatch.setenv("HARDSHIP_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_keys_create_prints_the_key_as_the_last_line(cli_database: Database) -> None:
    result = runner.invoke(cli, ["keys", "create", "--role", "batch_operator", "--name", "nightly scan"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("hsk_")
    with unit_of_work(cli_database.engine) as s:
        principal = auth.authenticate_key(s, token)
        stored = s.scalars(select(ApiKey.key_hash)).all()
    assert (
        principal is not None
        and principal.role.value == "batch_operator"
        and principal.name == "nightly scan"
    )
    assert all(token not in h for h in stored)  # only a hash is kept


def test_keys_create_refuses_an_unknown_role_with_exit_2(cli_database: Database) -> None:
    result = runner.invoke(cli, ["keys", "create", "--role", "root", "--name", "x"])
    assert result.exit_code == 2
    assert "unknown role 'root'" in result.stderr and "batch_operator" in result.stderr
    with unit_of_work(cli_database.engine) as s:
        assert s.scalars(select(ApiKey)).all() == []


def test_keys_list_shows_state_but_never_the_key(cli_database: Database) -> None:
    first = (
        runner.invoke(cli, ["keys", "create", "--role", "agent", "--name", "desk 1"])
        .stdout.strip()
        .splitlines()[-1]
    )
    runner.invoke(cli, ["keys", "create", "--role", "auditor", "--name", "audit team"])
    result = runner.invoke(cli, ["keys", "list"])
    assert result.exit_code == 0, result.output
    rows = [line.split(maxsplit=7) for line in result.stdout.strip().splitlines()]
    # id, role, state, "last used never", the person (a key issued to nobody is its own), name
    assert [(r[1], r[2], r[5], r[6], r[7]) for r in rows] == [
        ("agent", "active", "never", f"key:{rows[0][0]}", "desk 1"),
        ("auditor", "active", "never", f"key:{rows[1][0]}", "audit team"),
    ], result.stdout
    kind, prefix, secret = first.split("_")  # exactly three parts: the secret holds no separator
    assert kind == "hsk" and len(prefix) == 12 and len(secret) == 64
    assert first not in result.stdout and secret not in result.stdout and prefix not in result.stdout


def test_keys_revoke_stops_the_key_at_once(cli_database: Database) -> None:
    token = (
        runner.invoke(cli, ["keys", "create", "--role", "agent", "--name", "desk"])
        .stdout.strip()
        .splitlines()[-1]
    )
    with unit_of_work(cli_database.engine) as s:
        key_id = s.scalars(select(ApiKey.id)).one()
    result = runner.invoke(cli, ["keys", "revoke", str(key_id)])
    assert result.exit_code == 0 and f"key {key_id} revoked" in result.stdout
    assert "revoked" in runner.invoke(cli, ["keys", "list"]).stdout
    with unit_of_work(cli_database.engine) as s:
        assert auth.authenticate_key(s, token) is None


def test_keys_revoke_of_an_unknown_key_exits_2(cli_database: Database) -> None:
    result = runner.invoke(cli, ["keys", "revoke", "424242"])
    assert result.exit_code == 2
    assert "no API key 424242" in result.stderr


def test_users_create_reads_the_password_from_stdin(cli_database: Database) -> None:
    result = runner.invoke(
        cli,
        ["users", "create", "--role", "supervisor", "--username", "wang.li"],
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.output
    assert "user wang.li (supervisor) created" in result.stdout
    with unit_of_work(cli_database.engine) as s:
        user = s.scalars(select(AgentUser)).one()
        assert user.password_hash.startswith("$argon2id$")
        login = auth.authenticate_user(s, username="wang.li", password="correct horse battery")
    assert login.principal is not None and login.principal.role.value == "supervisor"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "agent", "--username", "li"], "short\n", "at least 10 characters"),
        (["--role", "wizard", "--username", "li"], "long enough password\n", "unknown role"),
        (["--role", "agent", "--username", " "], "long enough password\n", "username must be"),
    ],
    ids=["short-password", "unknown-role", "blank-username"],
)
def test_users_create_refuses_bad_input_with_exit_2(
    cli_database: Database, args: list[str], stdin: str, message: str
) -> None:
    result = runner.invoke(cli, ["users", "create", *args], input=stdin)
    assert result.exit_code == 2
    assert message in result.stderr


def test_users_create_refuses_a_taken_username(cli_database: Database) -> None:
    args = ["users", "create", "--role", "agent", "--username", "li"]
    assert runner.invoke(cli, args, input="long enough password\n").exit_code == 0
    result = runner.invoke(cli, args, input="another long password\n")
    assert result.exit_code == 2 and "exists already" in result.stderr


def test_db_upgrade_builds_every_table_and_can_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("HARDSHIP_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "database at head" in result.stdout
        assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
        engine = create_engine(url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        assert runner.invoke(cli, ["db", "downgrade", "base"]).exit_code == 0
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_without_a_command_the_help_is_shown() -> None:
    result = runner.invoke(cli, [])
    assert result.exit_code in (0, 2)
    for command in ("db", "import", "keys", "users", "audit", "serve"):
        assert command in result.output


def test_serve_refuses_several_workers_without_a_shared_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARDSHIP_SECRET_KEY", raising=False)
    result = runner.invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "HARDSHIP_SECRET_KEY" in result.stderr


# --- people and credentials, production refusals, operator text printed as text --------------------

PRODUCTION_ENV = {
    "HARDSHIP_ENVIRONMENT": "production",
    "HARDSHIP_SECRET_KEY": "prod-secret-key-0123456789-abcdefghij",
    "HARDSHIP_AUDIT_KEY": "prod-audit-key-0123456789-klmnopqrstu",
}


def _user(username: str, role: str = "supervisor") -> None:
    result = runner.invoke(
        cli, ["users", "create", "--role", role, "--username", username], input="long enough password\n"
    )
    assert result.exit_code == 0, result.output


def test_keys_create_with_user_issues_the_key_to_that_person(cli_database: Database) -> None:
    _user("wang")
    result = runner.invoke(cli, ["keys", "create", "--role", "supervisor", "--name", "w", "--user", "wang"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    with unit_of_work(cli_database.engine) as s:
        user_id = s.scalars(select(AgentUser.id)).one()
        principal = auth.authenticate_key(s, token)
    assert principal is not None and principal.person == f"user:{user_id}"
    unknown = runner.invoke(cli, ["keys", "create", "--role", "agent", "--name", "x", "--user", "nobody"])
    assert unknown.exit_code == 2 and "no user named" in unknown.stderr


@pytest.mark.parametrize("role", ["agent", "supervisor", "auditor", "admin"])
def test_in_production_person_role_keys_must_name_a_user(
    cli_database: Database, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    _user("wang")
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    refused = runner.invoke(cli, ["keys", "create", "--role", role, "--name", "desk"])
    issued = runner.invoke(cli, ["keys", "create", "--role", role, "--name", "desk", "--user", "wang"])
    system = runner.invoke(cli, ["keys", "create", "--role", "channel", "--name", "mobile backend"])
    get_settings.cache_clear()
    assert refused.exit_code == 2 and "--user" in refused.stderr
    assert issued.exit_code == 0, issued.output
    assert system.exit_code == 0, system.output
    with unit_of_work(cli_database.engine) as s:
        assert sorted(k.role for k in s.scalars(select(ApiKey))) == sorted([role, "channel"])


def test_demo_is_refused_in_production_and_writes_nothing(
    cli_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARDSHIP_ENVIRONMENT", "production")
    result = runner.invoke(cli, ["demo", "--accounts", "3"])
    assert result.exit_code == 2 and "production" in result.stderr
    with unit_of_work(cli_database.engine) as s:
        assert s.scalars(select(ApiKey)).all() == [] and s.scalars(select(AgentUser)).all() == []


def test_names_that_look_like_rich_markup_are_printed_as_they_are(cli_database: Database) -> None:
    key = runner.invoke(cli, ["keys", "create", "--role", "agent", "--name", "[/bold]x"])
    assert key.exit_code == 0, key.output
    assert "[/bold]x" in key.stderr and key.stdout.strip().startswith("hsk_")
    user = runner.invoke(
        cli, ["users", "create", "--role", "agent", "--username", "[/x]y"], input="long enough password\n"
    )
    assert user.exit_code == 0, user.output
    assert "user [/x]y (agent) created" in user.stdout
    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0 and "[/bold]x" in listed.stdout


@pytest.mark.parametrize("username", ["ann\x1b[31m", "bob\nmallory", "eve\u202e", "tab\tname"])
def test_usernames_refuse_control_characters(cli_database: Database, username: str) -> None:
    result = runner.invoke(
        cli, ["users", "create", "--role", "agent", "--username", username], input="long enough password\n"
    )
    assert result.exit_code == 2 and "control characters" in result.stderr


def test_users_end_sessions_disable_and_set_password(cli_database: Database) -> None:
    _user("ann", "agent")
    with unit_of_work(cli_database.engine) as s:
        user = auth.get_user_by_name(s, "ann")
        from datetime import UTC, datetime

        auth.start_session(s, user_id=user.id, now=datetime.now(UTC))
    ended = runner.invoke(cli, ["users", "end-sessions", "ann"])
    assert ended.exit_code == 0 and "1 session(s) of ann ended" in ended.stdout
    changed = runner.invoke(cli, ["users", "set-password", "ann"], input="a brand new password\n")
    assert changed.exit_code == 0, changed.output
    with unit_of_work(cli_database.engine) as s:
        assert auth.authenticate_user(s, username="ann", password="a brand new password").principal
    disabled = runner.invoke(cli, ["users", "disable", "ann"])
    assert disabled.exit_code == 0
    with unit_of_work(cli_database.engine) as s:
        assert auth.authenticate_user(s, username="ann", password="a brand new password").principal is None
