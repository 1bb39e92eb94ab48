"""Engine and sessions.  One engine per process and database URL; sessions never commit on their own:
the owner of the unit of work (a request, a batch chunk, a CLI command) commits or rolls back."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings, get_settings


def _configure_sqlite(engine: Engine) -> None:
    """SQLite: enforce foreign keys, WAL for concurrent readers, and BEGIN IMMEDIATE so that a
    transaction that reads and then writes cannot fail late with a busy snapshot."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_WROTE = "hardship_transaction_wrote"
_READ_PREFIXES = ("SELECT", "BEGIN")


def _track_writes(engine: Engine) -> None:
    """Marks a connection's transaction as writing when it runs any statement other than a SELECT, so
    that the owner of a read-only unit of work can end it without a commit (see `transaction_wrote`)."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(
        connection: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool
    ) -> None:
        if not statement.lstrip()[:6].upper().startswith(_READ_PREFIXES):
            connection.info[_WROTE] = True


# A PostgreSQL connection returned to the pool less than this long ago is not pinged before its next
# use (PgBouncer's server_check_delay, 30 s by default, is the same rule): see `_check_on_checkout`.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "hardship_returned_at"


def _has_input(dbapi_connection: Any) -> bool:
    """Whether the server sent something to an idle connection: only a server ending it does (the
    termination message, then the end of the stream); we never LISTEN."""
    try:
        poller = select.poll()
        poller.register(dbapi_connection.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except Exception:  # a closed connection has no socket: the ping will say so
        return True


def _check_on_checkout(engine: Engine) -> None:
    """``pool_pre_ping``'s protection, without its round trip on a connection in steady use: a pooled
    connection is pinged before it is handed out when it was returned more than
    PING_AFTER_IDLE_SECONDS ago, or when the server has written to it since (a restarted server, or
    one that ended its process, says so on the socket before it closes it).  A failed ping
    invalidates the pool and the checkout gets a new connection, as with ``pool_pre_ping``: a
    restarted database does not turn requests into errors."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()  # just made: known to be alive

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if (
            returned is not None
            and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS
            and not _has_input(dbapi_connection)
        ):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError() from error
            raise


def build_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _track_writes(engine)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    _check_on_checkout(engine)
    _track_writes(engine)
    return engine


@lru_cache(maxsize=8)
def _engine_for(url: str, pool_size: int, max_overflow: int, pool_timeout: float) -> Engine:
    settings = get_settings().model_copy(
        update={
            "database_url": url,
            "db_pool_size": pool_size,
            "db_max_overflow": max_overflow,
            "db_pool_timeout_seconds": pool_timeout,
        }
    )
    return build_engine(settings)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    return _engine_for(
        settings.database_url,
        settings.db_pool_size,
        settings.db_max_overflow,
        settings.db_pool_timeout_seconds,
    )


_CONNECTION = "hardship_connection"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)

    @event.listens_for(factory, "after_begin")
    def _on_session_begin(session: Session, _transaction: Any, connection: Any) -> None:
        session.info[_CONNECTION] = connection
        # Each transaction reads the business date afresh (app.services.clock.today).
        session.info.pop("hardship_business_date", None)

    return factory


def transaction_wrote(session: Session) -> bool:
    """Whether the session's current transaction changed anything (or holds changes not yet flushed).
    False for a transaction that only ran SELECTs: rolling it back is then the same as committing it.
    Sessions not made by `session_factory`, or engines not made by `build_engine`, always answer True."""
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    connection = session.info.get(_CONNECTION)
    if connection is None or connection.closed:
        return True
    return bool(connection.info.get(_WROTE, True))


_AUTOCOMMIT = "hardship_autocommit"
_IN_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def allow_autocommit(session: Session) -> None:
    """Lets the session, on PostgreSQL, run its unit of work in autocommit when it starts one: for a
    unit of work of reads and at most one writing statement, the last thing it sends (see
    ``app.routing.autocommit``).  Each statement is then its own transaction: the reads see what
    they see at READ COMMITTED inside a transaction (each statement its own snapshot), the one write
    is all or nothing by itself, and no BEGIN, COMMIT or ROLLBACK is sent (a round trip each).
    Without a ROLLBACK psycopg also keeps its prepared statements (a rollback forgets them), so the
    hot statements are parsed and planned once per connection.  SQLite (no round trips, and
    ``BEGIN IMMEDIATE``) keeps its transactions."""
    if session.get_bind().dialect.name == "postgresql":
        session.info[_AUTOCOMMIT] = True


def core_connection(session: Session) -> Connection:
    """The session's connection (in its transaction), to run prebuilt Core statements on the hot
    paths: ``Session.execute`` adds its ORM statement handling (~80 µs a statement), which plain
    columns do not need.  Pending ORM changes are flushed first, as ``Session.execute`` would.
    A session allowed to (``allow_autocommit``) starts its unit of work here in autocommit."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    if session.info.get(_AUTOCOMMIT) and not session.in_transaction():
        return session.connection(execution_options=_IN_AUTOCOMMIT)
    return session.connection()


@contextmanager
def unit_of_work(source: Engine | sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: a session (of the engine, or made by the factory) that commits when the block
    succeeds and rolls back when it raises."""
    session = session_factory(source)() if isinstance(source, Engine) else source()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dialect_insert(bind: Session | Engine) -> Any:
    """The database's INSERT construct, with its ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
