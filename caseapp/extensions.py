"""Flask extensions, created once and bound to an app in the factory (`init_app`)."""

import functools
import time
import weakref

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


# SQLite (development, single host): write-ahead log, so readers never wait for the writer and a commit is one
# append to the log without an fsync (synchronous=NORMAL: a power loss can lose the last commits, never corrupt
# the file or leave a hole); wait up to 5 s for another connection's write lock instead of failing at once;
# enforce foreign keys, as PostgreSQL does (the whole suite and every migration up and down pass with it);
# a 64 MiB page cache per connection (allocated only as pages are read; SQLite's default of 2 MiB held less than
# one start page's rows on the 100,000-people data set, so every request re-read them from the OS: the start
# page's case count went from 1.1 to 0.7 ms on its first run after a page).
# Checkpoints every 10,000 log pages (about 40 MiB) instead of SQLite's 1,000: every page view commits its audit
# event, and the start page writes about 37 log pages (the event, its indexes, 16 lookup rows), so the default
# copied the log back into the file, with an fsync, inside one start page in 28 (+5 to 7 ms each). Measured on
# the bench start page, 900 requests: p95 9.5 -> 8.7 ms, p99 14.1 -> 9.3 ms, mean 8.5 -> 7.9 ms (less work in
# all: the same hot pages are copied once per checkpoint), at the price of one request in about 280 taking
# +30 ms. The log is cut back to 64 MiB after a checkpoint if it ever grew past that.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-65536",
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA journal_size_limit=67108864",
)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def configure_sqlite(app) -> None:
    """Sets SQLITE_PRAGMAS on every new connection of the app's SQLite engines (PostgreSQL is left alone)."""
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
                event.listen(engine, "connect", _sqlite_pragmas)


# Connections from the pool are checked before use only when they have been idle for more than
# DB_PING_AFTER_IDLE_SECONDS (1 s by default; 0 checks every checkout, as pool_pre_ping does): a connection that
# went back to the pool a moment ago was alive then, and a busy server process reuses its connections all the
# time. A connection pool for Java (HikariCP) skips its check the same way within half a second of last use.
# A dead connection fails the check and the pool opens a new one (DisconnectionError; SQLAlchemy's "pessimistic,
# custom" disconnect handling). The check is a round trip to the server: on PostgreSQL about 0.2 ms of every page.
_LAST_CHECKIN = "caseapp.last_checkin"
_CHECKED_ENGINES: weakref.WeakSet = weakref.WeakSet()


def _note_checkin(_dbapi_conn, record) -> None:
    if record is not None:
        record.info[_LAST_CHECKIN] = time.monotonic()


def _ping_if_idle(after: float, dialect, dbapi_conn, record, _proxy) -> None:
    last = record.info.get(_LAST_CHECKIN)
    if last is None or time.monotonic() - last <= after:
        return  # new, or back in the pool only a moment ago
    try:
        dialect.do_ping(dbapi_conn)
    except Exception as exc:
        raise DisconnectionError("the pooled connection failed its check") from exc


def configure_pool_check(app) -> None:
    """Installs the idle-connection check on the app's engines (see above)."""
    after = float(app.config.get("DB_PING_AFTER_IDLE_SECONDS", 1.0))
    with app.app_context():
        for engine in db.engines.values():
            add_pool_check(engine, after)


def add_pool_check(engine, after: float) -> None:
    if engine in _CHECKED_ENGINES:
        return
    _CHECKED_ENGINES.add(engine)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", functools.partial(_ping_if_idle, after, engine.dialect))


# PostgreSQL plans each prepared statement once per connection (DB_PLAN_CACHE_MODE = "force_generic_plan", the
# default), instead of the server's "auto", which plans the first five executions for their parameter values and
# then keeps re-planning, on every execution, any statement whose generic plan it estimates dearer. The app's
# statements are keyed by ids, units and dates, whose plans do not depend on the values: measured on the bench data
# set (each statement of the five bench pages, 300 prepared executions through the driver, 2026-12-03), every one
# ran as fast or faster on its generic plan, and the four that "auto" re-planned every time went 0.66 -> 0.24 ms (the
# start page's overdue cases), 0.45 -> 0.21 ms (search by personnummer) and 0.67 -> 0.60 and 0.21 -> 0.17 ms (the
# caseload's counts): planning was most of their time. The setting goes in the connection's start-up options (no
# round trip), added to any options the database URL already carries. "auto" leaves the server's setting.
PLAN_CACHE_MODES = ("force_generic_plan", "auto", "force_custom_plan")
_PLANNED_ENGINES: weakref.WeakSet = weakref.WeakSet()


def _plan_cache_option(mode: str, _dialect, _conn_rec, _cargs, cparams) -> None:
    option = f"-c plan_cache_mode={mode}"
    cparams["options"] = f"{cparams['options']} {option}" if cparams.get("options") else option


def configure_postgresql(app) -> None:
    """Sets DB_PLAN_CACHE_MODE on every new connection of the app's PostgreSQL engines (see above)."""
    mode = app.config.get("DB_PLAN_CACHE_MODE") or "auto"
    with app.app_context():
        for engine in db.engines.values():
            add_plan_cache_mode(engine, mode)


def add_plan_cache_mode(engine, mode: str) -> None:
    if engine.dialect.name != "postgresql" or mode == "auto" or engine in _PLANNED_ENGINES:
        return
    _PLANNED_ENGINES.add(engine)
    event.listen(engine, "do_connect", functools.partial(_plan_cache_option, mode))


def execute_rows(statement, params=None):
    """Run a statement that returns plain rows (columns and aggregates, no ORM objects) in the request's session
    transaction, as `db.session.execute` does (autoflush first, unless inside `no_autoflush`; the same connection
    and transaction), but straight on the session's connection: without the ORM's per-statement set-up of its
    compile state and result, which it does not need for such rows. Measured 2026-12-04 on the start page's
    reach check: 78 against 46 µs a call in a loop on SQLite (226 against 192 on PostgreSQL); used for that check,
    the caseload's counts and staff names, ab_pages gave SQLite start 0.988 (5 rounds of 5 faster) and caseload
    0.991, PostgreSQL 0.996 and 0.997 (noise). `Session._autoflush` is SQLAlchemy's own (private) step;
    tests/test_execute_rows.py holds it to the behaviour of `session.execute`."""
    session = db.session()
    session._autoflush()
    return session.connection().execute(statement, params or {})
