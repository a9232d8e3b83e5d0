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
