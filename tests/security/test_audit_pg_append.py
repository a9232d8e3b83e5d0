"""The PostgreSQL append function (audit_chain.PG_APPEND_FUNCTION_SQL): one call takes the chain lock, reads the
head, hashes and inserts an event with its listed subjects. What is asserted: it is used for the common single
event; the hashes it stores are the canonical encoding's for awkward values; a wrong hash from the server is
caught before the commit and nothing is written; without the function the two-statement path writes the same
chain; migration 0014 creates the same function as `create_all`."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from caseapp.accounts.models import Role
from caseapp.security import audit, audit_chain
from caseapp.security.audit import AuditEvent, AuditEventSubject
from caseapp.security.audit_chain import ChainError, event_hash, verify_chain
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="the append function is PostgreSQL's")

ACTOR = SimpleNamespace(id=uuid.uuid4(), unit_id=uuid.uuid4(), role=Role.HANDLAGGARE)


@pytest.fixture()
def quiet_chain(app, db, monkeypatch):
    for key, value in {"AUDIT_SINK": "none", "AUDIT_CHECKPOINT_EVERY": 0, "AUDIT_CHECKPOINT_MINUTES": None}.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.delitem(app.extensions, "caseapp.audit_chain", raising=False)


@pytest.fixture()
def statements(monkeypatch):
    """Every statement the driver sends (the audit hook goes straight to the driver, past SQLAlchemy's events)."""
    import psycopg

    seen: list[str] = []
    original = psycopg.Cursor.execute

    def execute(self, query, *args, **kwargs):
        seen.append(query if isinstance(query, str) else repr(query))
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    return seen


def _function_source(conn) -> str | None:
    return conn.execute(text("SELECT prosrc FROM pg_proc WHERE oid = pg_catalog.to_regprocedure(:sig)"),
                        {"sig": audit_chain.PG_APPEND_SIGNATURE}).scalar()


@pytest.fixture()
def replaced_function(app, db):
    """Lets a test put another body under the function's name; the real one is restored afterwards."""
    def replace(sql: str | None) -> None:
        db.session.rollback()
        with db.engine.begin() as conn:
            conn.exec_driver_sql(audit_chain.PG_DROP_APPEND_FUNCTION_SQL if sql is None else sql)
        db.engine.dispose()  # every pooled connection asks again whether the function is there

    yield replace
    replace(audit_chain.PG_APPEND_FUNCTION_SQL)


def assert_chain_ok(app, db) -> None:
    db.session.commit()
    with db.engine.connect() as conn:
        result = verify_chain(conn, app.extensions["caseapp.keys"].audit_public_key(), None)
    assert result.ok, [p.describe() for p in result.problems]


def stored() -> list[AuditEvent]:
    return list(audit.db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


AWKWARD = [
    {"object_type": "case", "object_id": "", "details": None},  # empty text, NULL text
    {"object_type": None, "object_id": "ärende-ÅÄÖ-ø-€-😀", "details": None},  # multi-byte UTF-8
    {"object_type": "person", "object_id": "x", "details": {"k": "v"}},
]


def test_one_event_is_appended_by_one_call_and_hashed_canonically(app, db, quiet_chain, statements):
    db.session.commit()
    subject = uuid.uuid4()
    for n, values in enumerate(AWKWARD):
        audit.record("view", actor=ACTOR if n != 1 else None, subject_person_id=subject if n == 0 else None,
                     object_type=values["object_type"], object_id=values["object_id"], details=values["details"])
        statements.clear()
        db.session.commit()
        calls = [s for s in statements if audit_chain.PG_APPEND_FUNCTION in s]
        assert len(calls) == 1, statements
        assert not [s for s in statements if "pg_advisory_xact_lock" in s or s.startswith("INSERT INTO audit_events")]
    events = stored()
    prev = bytes(32)
    for seq, ev in enumerate(events, 1):
        content = {name: getattr(ev, name) for name in audit._CONTENT}
        assert (ev.seq, bytes(ev.prev_hash)) == (seq, prev)
        assert bytes(ev.hash) == event_hash(content, seq, prev)  # the Python encoding, independently
        prev = bytes(ev.hash)
    assert events[1].actor_user_id is None and events[1].object_id == AWKWARD[1]["object_id"]
    assert events[0].object_id == "" and events[0].details is None
    assert_chain_ok(app, db)


def test_a_list_event_and_its_subjects_in_the_same_call(app, db, quiet_chain, statements):
    db.session.commit()
    people = sorted(uuid.uuid4() for _ in range(5))
    audit.record("list", actor=ACTOR, object_type="person", subjects=people)
    statements.clear()
    db.session.commit()
    assert len([s for s in statements if audit_chain.PG_APPEND_FUNCTION in s]) == 1
    assert not [s for s in statements if "audit_event_subjects" in s and audit_chain.PG_APPEND_FUNCTION not in s]
    (ev,) = stored()
    rows = db.session.scalars(select(AuditEventSubject.person_id).where(AuditEventSubject.event_id == ev.id)
                              .order_by(AuditEventSubject.person_id)).all()
    assert rows == people
    assert audit.subjects_of(ev) == people
    assert_chain_ok(app, db)


def test_several_events_in_one_commit_keep_the_statement_path(app, db, quiet_chain, statements):
    db.session.commit()
    audit.record("view", actor=ACTOR, object_type="case", object_id="a")
    audit.record("view", actor=ACTOR, object_type="case", object_id="b")
    statements.clear()
    db.session.commit()
    assert not [s for s in statements if audit_chain.PG_APPEND_FUNCTION in s]
    assert [ev.seq for ev in stored()] == [1, 2]
    assert_chain_ok(app, db)


def test_a_wrong_hash_from_the_server_is_caught_and_nothing_is_written(app, db, quiet_chain, replaced_function):
    audit.record("view", actor=ACTOR, object_type="case", object_id="before")
    db.session.commit()
    # The same function, hashing one byte less of the strings: a server that does not hash the canonical encoding.
    wrong = audit_chain.PG_APPEND_FUNCTION_SQL.replace("|| p_strings);", "|| substr(p_strings, 2));")
    assert wrong != audit_chain.PG_APPEND_FUNCTION_SQL
    replaced_function(wrong)
    audit.record("view", actor=ACTOR, object_type="case", object_id="after")
    with pytest.raises(ChainError, match="not the canonical encoding"):
        db.session.commit()
    db.session.rollback()
    assert [ev.object_id for ev in stored()] == ["before"]
    assert_chain_ok(app, db)


def test_without_the_function_the_statement_path_writes_the_same_chain(app, db, quiet_chain, replaced_function,
                                                                         statements, caplog):
    audit.record("view", actor=ACTOR, object_type="case", object_id="with")
    db.session.commit()
    replaced_function(None)
    audit.record("list", actor=ACTOR, object_type="person", subjects=[uuid.uuid4(), uuid.uuid4()])
    statements.clear()
    db.session.commit()
    assert not [s for s in statements if audit_chain.PG_APPEND_FUNCTION in s and "to_regprocedure" not in s]
    assert [s for s in statements if "pg_advisory_xact_lock" in s]
    assert "is missing (run the migrations)" in caplog.text
    replaced_function(audit_chain.PG_APPEND_FUNCTION_SQL)
    audit.record("view", actor=ACTOR, object_type="case", object_id="again")
    db.session.commit()
    assert [ev.seq for ev in stored()] == [1, 2, 3]
    assert_chain_ok(app, db)


def test_the_function_refuses_other_isolation_levels(app, db, quiet_chain):
    db.session.commit()
    conn = db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    audit.record("view", actor=ACTOR, object_type="case", object_id="rr")
    with pytest.raises(Exception, match="needs READ COMMITTED"):
        db.session.commit()
    db.session.rollback()
    del conn
    assert stored() == []


def test_create_all_installs_the_function_with_its_text(app, db):
    with db.engine.connect() as conn:
        source = _function_source(conn)
    assert source is not None
    assert source in audit_chain.PG_APPEND_FUNCTION_SQL
