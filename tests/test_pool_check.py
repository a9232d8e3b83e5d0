"""Pooled connections are checked before use only after being idle (caseapp.extensions.add_pool_check): a
connection back in the pool a moment ago is handed out as it is; one idle longer is pinged, and one that fails
the ping is replaced by a new connection, so the request never sees the dead one."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from caseapp.extensions import _LAST_CHECKIN, add_pool_check
from tests.conftest import database_url


@pytest.fixture()
def engine(tmp_path):
    eng = create_engine(database_url(tmp_path), pool_size=1, max_overflow=0)
    add_pool_check(eng, 5.0)
    pings = []
    real_ping = eng.dialect.do_ping

    def counting_ping(dbapi_conn):
        pings.append(dbapi_conn)
        if getattr(eng, "fail_next_ping", False):
            eng.fail_next_ping = False
            raise eng.dialect.loaded_dbapi.OperationalError("server closed the connection")
        return real_ping(dbapi_conn)

    eng.dialect.do_ping = counting_ping
    eng.pings = pings
    yield eng
    eng.dispose()


def _use(engine):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        return conn.connection.dbapi_connection


def _age(engine, seconds: float):
    """Make the pooled connection look idle for `seconds`."""
    with engine.connect() as conn:
        record = conn.connection._connection_record
    record.info[_LAST_CHECKIN] = time.monotonic() - seconds


def test_a_connection_used_a_moment_ago_is_not_pinged(engine):
    first = _use(engine)
    for _ in range(5):
        assert _use(engine) is first
    assert engine.pings == []


def test_an_idle_connection_is_pinged_before_use(engine):
    first = _use(engine)
    _age(engine, 60)
    engine.pings.clear()
    assert _use(engine) is first
    assert engine.pings == [first]


def test_a_connection_that_fails_its_ping_is_replaced(engine):
    first = _use(engine)
    _age(engine, 60)
    engine.pings.clear()
    engine.fail_next_ping = True
    second = _use(engine)
    assert second is not first and len(engine.pings) == 1
    assert _use(engine) is second
