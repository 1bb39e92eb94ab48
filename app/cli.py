"""The `hardship` command: database, imports, keys, users, audit, demo data and the server."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from app.db import get_engine, unit_of_work
from app.domain.access import Role
from app.services import audit, auth, imports
from app.services.errors import ServiceError
from app.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.services.policies import PolicyStore
    from app.services.scans import ScanView
    from app.settings import Settings

cli = typer.Typer(help="Credit-card hardship relief service.", no_args_is_help=True, add_completion=False)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
import_cli = typer.Typer(help="Bulk upsert from the card system's CSV files.", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys.", no_args_is_help=True)
users_cli = typer.Typer(help="Agent UI users.", no_args_is_help=True)
audit_cli = typer.Typer(help="The audit trail.", no_args_is_help=True)
servicing_cli = typer.Typer(help="Servicing: plans followed to their end.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(import_cli, name="import")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(users_cli, name="users")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(servicing_cli, name="servicing")


export_cli = typer.Typer(help="Files for other systems.", no_args_is_help=True)
events_cli = typer.Typer(help="Events out: the relay of webhooks and RabbitMQ.", no_args_is_help=True)
cli.add_typer(export_cli, name="export")
cli.add_typer(events_cli, name="events")

err = Console(stderr=True)
out = Console()
ROLE_HELP = "one of: " + ", ".join(r.value for r in Role)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


# --- db -------------------------------------------------------------------------------------------


def alembic_config() -> object:
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply all migrations to the database in DATABASE_URL."""
    from alembic import command

    command.upgrade(alembic_config(), revision)  # type: ignore[arg-type]
    out.print(f"database at {revision}")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. -1 or base")]) -> None:
    """Revert migrations down to REVISION."""
    from alembic import command

    command.downgrade(alembic_config(), revision)  # type: ignore[arg-type]
    out.print(f"database at {revision}")


# --- import ---------------------------------------------------------------------------------------


def _run_import(kind: str, file: Path) -> None:
    settings = get_settings()
    if not file.is_file():
        fail(f"{file}: no such file")
    total = imports.count_data_lines(file)
    show_progress = sys.stderr.isatty()
    try:
        with (
            Progress(
                TextColumn(f"importing {kind}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeRemainingColumn(),
                console=err,
                disable=not show_progress,
                transient=True,
            ) as progress,
            unit_of_work(get_engine(settings)) as session,
        ):
            task = progress.add_task(kind, total=total)
            summary = imports.import_file(
                session,
                kind,
                file,
                max_errors=settings.import_max_reported_errors,
                progress=lambda n: progress.advance(task, n),
            )
    except imports.ImportRejected as rejected:
        for error in rejected.errors:
            where = f"line {error.line}" if error.line else str(file)
            # The message quotes the file's content: print it as plain text, never as rich markup.
            out.print(
                f"{file.name}: {where}: {error.message}",
                highlight=False,
                soft_wrap=True,
                markup=False,
                emoji=False,
            )
        more = rejected.total_errors - len(rejected.errors)
        if more > 0:
            out.print(f"... and {more} more bad line(s)")
        err.print(
            f"[red]rejected:[/red] {rejected.total_errors} bad line(s); "
            f"nothing was imported from {escape(file.name)}"
        )
        raise typer.Exit(2) from None
    out.print(f"imported {summary.inserted_or_updated} {kind} from {escape(file.name)}")


@import_cli.command("accounts")
def import_accounts(file: Annotated[Path, typer.Argument(help="accounts.csv")]) -> None:
    """Upsert accounts by account_ref (all-or-nothing)."""
    _run_import("accounts", file)


@import_cli.command("statements")
def import_statements(file: Annotated[Path, typer.Argument(help="statements.csv")]) -> None:
    """Upsert statements by account_ref + statement_date (all-or-nothing)."""
    _run_import("statements", file)


@import_cli.command("payments")
def import_payments(file: Annotated[Path, typer.Argument(help="payments.csv")]) -> None:
    """Insert payments by payment_ref (all-or-nothing; a payment imported before is left as it is)."""
    _run_import("payments", file)


# --- keys and users -------------------------------------------------------------------------------


def _is_production() -> bool:
    return os.environ.get("HARDSHIP_ENVIRONMENT", "").strip().lower() == "production"


@keys_cli.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    name: Annotated[str, typer.Option(help="who or what uses the key")],
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="issue the key to this agent-UI user: the key acts as that person (required in "
            "production for agent, supervisor, auditor and admin keys)",
        ),
    ] = None,
) -> None:
    """Create an API key; the key itself is the last line printed."""
    try:
        with unit_of_work(get_engine()) as session:
            created = auth.create_api_key(
                session, name=name, role=role, username=user, require_person=_is_production()
            )
    except (ValueError, ServiceError) as exc:
        fail(str(exc))
    issued = f", issued to {created.username}" if created.username else ""
    # The name and username are the operator's text: printed as they are, never as rich markup.
    err.print(
        f"API key {created.id} for {created.name} ({created.role.value}{issued}); it is shown only once:",
        markup=False,
        highlight=False,
    )
    print(created.token)


@keys_cli.command("list")
def keys_list() -> None:
    """List API keys (never the keys themselves)."""
    with unit_of_work(get_engine()) as session:
        for key in auth.list_api_keys(session):
            state = "revoked" if key.revoked_at else "active"
            last = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
            person = f"user:{key.user_id}" if key.user_id is not None else f"key:{key.id}"
            out.print(
                f"{key.id}\t{key.role}\t{state}\tlast used {last}\t{person}\t{key.name}",
                highlight=False,
                markup=False,
            )


@keys_cli.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the key's id (see `keys list`)")]) -> None:
    """Revoke an API key at once."""
    try:
        with unit_of_work(get_engine()) as session:
            auth.revoke_api_key(session, key_id=key_id)
    except ServiceError as exc:
        fail(str(exc))
    out.print(f"key {key_id} revoked")


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


@users_cli.command("create")
def users_create(
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    username: Annotated[str, typer.Option(help="login name")],
) -> None:
    """Create an agent-UI user; the password is prompted for, or read as the first line of stdin."""
    password = _read_password()
    try:
        with unit_of_work(get_engine()) as session:
            user = auth.create_user(session, username=username, role=role, password=password)
    except (ValueError, ServiceError) as exc:
        fail(str(exc))
    out.print(f"user {user.username} ({user.role}) created", markup=False, highlight=False)


@users_cli.command("set-password")
def users_set_password(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Set a user's password (prompted for, or the first line of stdin); their sessions end."""
    password = _read_password()
    try:
        with unit_of_work(get_engine()) as session:
            auth.set_password(session, username=username, password=password)
    except (ValueError, ServiceError) as exc:
        fail(str(exc))
    out.print(f"password of {username} changed; their sessions ended", markup=False, highlight=False)


@users_cli.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Disable a user: their sessions end and the keys issued to them stop working."""
    try:
        with unit_of_work(get_engine()) as session:
            auth.disable_user(session, username=username)
    except ServiceError as exc:
        fail(str(exc))
    out.print(f"user {username} disabled", markup=False, highlight=False)


@users_cli.command("end-sessions")
def users_end_sessions(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """End every agent-UI session of a user at once (they must sign in again)."""
    try:
        with unit_of_work(get_engine()) as session:
            user = auth.get_user_by_name(session, username)
            ended = auth.end_user_sessions(session, user_id=user.id)
    except ServiceError as exc:
        fail(str(exc))
    out.print(f"{ended} session(s) of {username} ended", markup=False, highlight=False)


# --- audit ----------------------------------------------------------------------------------------


@audit_cli.command("verify")
def audit_verify(
    anchor: Annotated[
        str | None, typer.Option(help="a head hash recorded earlier: it must still be in the chain")
    ] = None,
) -> None:
    """Check the audit chain: exit 0 when intact, 1 naming each altered, inserted or deleted row.

    Prints the head hash: record it outside the database and pass it back with --anchor later, so
    that cutting off the newest events is detected too."""
    with unit_of_work(get_engine()) as session:
        checked, breaks = audit.verify_chain(session, anchor=anchor)
        head = audit.chain_head(session)
    for item in breaks:
        where = f"event {item.event_id}" if item.event_id else "anchor"
        out.print(f"{where}: {item.problem}", highlight=False, markup=False)
    if breaks:
        err.print(f"[red]audit chain broken:[/red] {len(breaks)} problem(s) in {checked} events")
        raise typer.Exit(1)
    out.print(f"audit chain intact: {checked} events")
    if head is not None:
        out.print(f"head: event {head.id} hash {head.hash}", highlight=False, soft_wrap=True)


# --- demo and serve -------------------------------------------------------------------------------


@cli.command("demo")
def demo(
    accounts: Annotated[int, typer.Option(help="how many demo accounts to generate")] = 200,
) -> None:
    """Load the demo portfolio and print demo API keys and logins (idempotent). Refused in
    production: it creates a key for every role and logins with a published password."""
    from app.demo import load_demo

    if _is_production():
        fail("`hardship demo` is refused with HARDSHIP_ENVIRONMENT=production: nothing was written")

    with unit_of_work(get_engine()) as session:
        lines = load_demo(session, accounts=accounts)
    for line in lines:
        print(line)


@cli.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port", envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    if workers > 1 and not os.environ.get("HARDSHIP_SECRET_KEY"):
        fail("set HARDSHIP_SECRET_KEY when running several workers, so they share agent sessions")
    uvicorn.run(
        "app.main:asgi",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


def main() -> None:
    cli()


# --- disaster scans and the scan worker -----------------------------------------------------------


@cli.command("scan")
def scan(
    code: Annotated[str, typer.Argument(help="the disaster's code")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="evaluate and report, enroll nothing")] = False,
    enroll: Annotated[bool, typer.Option("--enroll", help="record the deferrals")] = False,
    policy_version: Annotated[
        str | None, typer.Option(help="a draft policy version (dry run only): what it would change")
    ] = None,
    resume: Annotated[int | None, typer.Option(help="resume this failed or stuck scan instead")] = None,
    wait: Annotated[bool, typer.Option(help="wait for the scan and show its progress")] = True,
) -> None:
    """Scan the whole portfolio for a disaster (--dry-run or --enroll); exit 1 if the scan fails.

    With HARDSHIP_SCAN_EXECUTOR=inline (default) this process runs the chunks; with celery the
    `hardship worker` processes do, and this command follows the progress."""
    from app.jobs import wait_for_inline_scans
    from app.services.policies import PolicyStore

    if resume is None and dry_run == enroll:
        fail("give exactly one of --dry-run and --enroll")
    settings = get_settings()
    engine = get_engine(settings)
    policies = PolicyStore.load(settings.policy_dir)
    scan_id = _queue_scan(
        engine,
        settings,
        policies,
        code=code,
        mode="enroll" if enroll else "dry_run",
        policy_version=policy_version,
        resume=resume,
    )
    err.print(f"scan {scan_id} queued ({settings.scan_executor} executor)")
    if not wait:
        print(scan_id)
        return
    view = _follow_scan(engine, policies, scan_id)
    wait_for_inline_scans(10)
    for name in (
        "status",
        "accounts_scanned",
        "accounts_eligible",
        "customers_eligible",
        "accounts_enrolled",
        "total_deferred_amount",
        "total_interest_waived",
        "total_late_fees_waived",
    ):
        print(f"{name}\t{getattr(view, name)}")
    for reason, count in view.reason_counts.items():
        print(f"reason {reason}\t{count}")
    if view.status != "succeeded":
        err.print(f"[red]scan failed:[/red] {view.error}", highlight=False)
        raise typer.Exit(1)


def _queue_scan(
    engine: Engine,
    settings: Settings,
    policies: PolicyStore,
    *,
    code: str,
    mode: str,
    policy_version: str | None,
    resume: int | None,
) -> int:
    """Start a scan (or resume the scan ``resume``) as the batch operator at this terminal: its id."""
    import getpass

    from app.services import scans
    from app.services.principal import Principal

    actor = Principal(kind="cli", id=0, name=getpass.getuser() or "cli", role=Role.BATCH_OPERATOR)
    try:
        with unit_of_work(engine) as session:
            if resume is not None:
                started = scans.resume_scan(
                    session, scan_id=resume, actor=actor, policies=policies, settings=settings
                )
            else:
                started = scans.start_scan(
                    session,
                    disaster_code=code,
                    mode=mode,
                    actor=actor,
                    policies=policies,
                    draft_policy_version=policy_version,
                    settings=settings,
                )
            scan_id = started.id
    except ServiceError as exc:
        fail(exc.detail)
    return scan_id


def _follow_scan(engine: Engine, policies: PolicyStore, scan_id: int) -> ScanView:
    """Show the scan's progress (chunks done) until it succeeds or fails; its final view."""
    import time

    from app.services import scans

    with Progress(
        TextColumn(f"scan {scan_id}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} chunks"),
        TimeRemainingColumn(),
        console=err,
        disable=not sys.stderr.isatty(),
        transient=True,
    ) as progress:
        task = progress.add_task("scan", total=None)
        while True:
            with unit_of_work(engine) as session:
                view = scans.get_scan(session, scan_id, policies=policies)
            progress.update(task, total=view.chunks_total or None, completed=view.chunks_done)
            if view.status in ("succeeded", "failed"):
                return view
            time.sleep(0.5)


@cli.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(help="processes (prefork) or 1 (solo)", min=1)] = 1,
    pool: Annotated[str, typer.Option(help="solo or prefork")] = "solo",
    queue: Annotated[str | None, typer.Option(help="queue (default HARDSHIP_SCAN_QUEUE)")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level")] = "INFO",
) -> None:
    """Run a Celery worker for scan chunks (broker: HARDSHIP_CELERY_BROKER_URL)."""
    from app.jobs.celery_app import configure

    if pool not in ("solo", "prefork"):
        fail("--pool must be solo or prefork")
    app_ = configure(queue=queue)
    app_.worker_main(
        [
            "worker",
            f"--pool={pool}",
            f"--concurrency={1 if pool == 'solo' else concurrency}",
            f"--queues={app_.conf.task_default_queue}",
            f"--loglevel={loglevel}",
            f"--hostname=hardship-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


# --- servicing ------------------------------------------------------------------------------------


@servicing_cli.command("run")
def servicing_run(
    chunk_size: Annotated[int, typer.Option(help="plans read and written per chunk", min=1)] = 2000,
) -> None:
    """Bring every active plan and deferral to the business date and print the run's summary.

    Running it again for the same date changes nothing. A plan whose data the rules cannot apply is
    listed on stderr (and kept on the plan); it does not fail the run. On PostgreSQL the chunks run
    in HARDSHIP_SCAN_INLINE_PROCESSES processes (0: one per core, at most 4), each in its own
    transaction; elsewhere, or with 1, the whole run is one transaction."""
    import getpass

    from app.jobs import servicing
    from app.jobs.executors import inline_process_count
    from app.services.policies import PolicyStore
    from app.services.principal import Principal

    settings = get_settings()
    actor = Principal(kind="cli", id=0, name=getpass.getuser() or "cli", role=Role.BATCH_OPERATOR)
    engine = get_engine(settings)
    summary = servicing.run_servicing(
        engine,
        actor=actor,
        policies=PolicyStore.load(settings.policy_dir),
        chunk_size=chunk_size,
        processes=inline_process_count(engine, settings.scan_inline_processes),
    )
    for name, value in summary.to_dict().items():
        print(f"{name}\t{value}")
    for plan_id, problem in summary.failures[:50]:
        err.print(f"plan {plan_id}: {problem}", highlight=False, markup=False)


@export_cli.command("instructions")
def export_instructions(
    file: Annotated[Path, typer.Argument(help="the CSV file to write")],
    on: Annotated[str, typer.Option("--date", help="the business date, YYYY-MM-DD")],
) -> None:
    """The card system's instruction file of one business date (CONTRACT.md), as CSV."""
    from datetime import date

    from app.services import instructions
    from app.services.csvout import csv_text

    try:
        day = date.fromisoformat(on)
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, not {on!r}")
    with unit_of_work(get_engine()) as session:
        rows = instructions.instructions_on(session, on=day)
    file.write_text(csv_text(instructions.COLUMNS, (r.row() for r in rows)), encoding="utf-8")
    err.print(f"{len(rows)} instruction(s) for {day.isoformat()} written to {file}")


@events_cli.command("run")
def events_run() -> None:
    """Run the events relay in the foreground (webhook deliveries, and RabbitMQ with
    HARDSHIP_EVENTS_AMQP_URL) until stopped; any number may run beside the service's own."""
    import signal
    import threading

    from app.jobs.events import start_relay

    settings = get_settings()
    relay = start_relay(get_engine(settings), settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5) and relay.is_alive():
            pass
    except KeyboardInterrupt:
        pass
    relay.stop()
