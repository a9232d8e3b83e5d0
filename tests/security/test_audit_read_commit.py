"""AUDIT_READ_COMMIT: on PostgreSQL a transaction that wrote nothing but audit events of reads commits without
waiting for the WAL flush; every other transaction stays fully synchronous.

What is asserted is the setting the server applies to the COMMIT itself: `SHOW synchronous_commit`, sent on the
same connection right before the driver's COMMIT (an Engine "commit" listener registered after the audit hook's).
Each way a transaction can write besides the audit events must give "on": the ORM (flushed before the hook),
Core DML through session.execute, the raw driver connection, a write made after the audit hook ran (a later
before_commit listener), a checkpoint in the same transaction, a non-read event. The chain verifies throughout.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from caseapp.accounts.models import Role, User
from caseapp.security import audit
from caseapp.security.audit import AuditCheckpoint, AuditEvent
from caseapp.security.audit_chain import verify_chain
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="asynchronous commit is a PostgreSQL setting")

ACTOR = SimpleNamespace(id=uuid.uuid4(), unit_id=uuid.uuid4(), role=Role.HANDLAGGARE)


@pytest.fixture()
def commits(app, db, monkeypatch):
    """The synchronous_commit value of each COMMIT the app's engine sends, in order."""
    for key, value in {"AUDIT_SINK": "none", "AUDIT_CHECKPOINT_EVERY": 0, "AUDIT_CHECKPOINT_MINUTES": None,
                       "AUDIT_READ_COMMIT": "async"}.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.delitem(app.extensions, "caseapp.audit_chain", raising=False)
    seen: list[str] = []

    def on_commit(conn):
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        finally:
            cursor.close()

    event.listen(Engine, "commit", on_commit)
    db.session.commit()
    seen.clear()
    yield seen
    event.remove(Engine, "commit", on_commit)


def read_event(n: int = 0) -> None:
    audit.record("view", actor=ACTOR, object_type="case", object_id=f"c{n}", subject_person_id=uuid.uuid4())


def assert_chain_ok(app, db) -> None:
    db.session.commit()
    with db.engine.connect() as conn:
        result = verify_chain(conn, app.extensions["caseapp.keys"].audit_public_key(), None)
    assert result.ok, [p.describe() for p in result.problems]


def test_reads_only_commit_asynchronously(app, db, commits):
    read_event()
    db.session.commit()
    for action in ("list", "search"):
        audit.record(action, actor=ACTOR, object_type="person", object_id="p1")
        audit.record(action, actor=ACTOR, object_type="person", object_id="p2")
        db.session.commit()
    assert commits == ["off", "off", "off"]
    # the setting is local to the transaction: the next one starts synchronous
    assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"
    assert_chain_ok(app, db)


def test_sync_setting_keeps_reads_synchronous(app, db, commits, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_READ_COMMIT", "sync")
    read_event()
    db.session.commit()
    assert commits == ["on"]


def test_a_non_read_event_is_synchronous(app, db, commits):
    read_event()
    audit.record("login", actor=ACTOR)
    db.session.commit()
    audit.record("denied", outcome="denied", actor=ACTOR, object_type="case", object_id="c1")
    db.session.commit()
    assert commits == ["on", "on"]


def test_orm_change_in_the_transaction_is_synchronous(app, db, commits, make_user):
    user = make_user(Role.HANDLAGGARE).user
    commits.clear()
    db.session.get(User, user.id).display_name = "Ändrad Namn"  # flushed by the hook, before the lock
    read_event()
    db.session.commit()
    assert commits == ["on"]


def test_core_dml_through_the_session_is_synchronous(app, db, commits, make_user):
    user = make_user(Role.HANDLAGGARE).user
    commits.clear()
    db.session.execute(update(User).where(User.id == user.id).values(display_name="Annat Namn"))
    read_event()
    db.session.commit()
    assert commits == ["on"]


def test_raw_driver_write_is_synchronous(app, db, commits):
    db.session.execute(text("SELECT 1"))
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    cursor.execute("CREATE TEMPORARY TABLE scratch (x int)")  # not even a regular table
    cursor.close()
    read_event()
    db.session.commit()
    assert commits == ["on"]


def test_row_lock_is_synchronous(app, db, commits, make_user):
    user = make_user(Role.HANDLAGGARE).user
    commits.clear()
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    read_event()
    db.session.commit()
    assert commits == ["on"]


def test_a_write_after_the_audit_hook_makes_it_synchronous_again(app, db, commits, make_user):
    user = make_user(Role.HANDLAGGARE).user
    commits.clear()

    def late_write(session):  # registered after the audit hook, so it runs after it
        session.execute(update(User).where(User.id == user.id).values(display_name="Sent Namn"))

    event.listen(Session, "before_commit", late_write)
    try:
        read_event()
        db.session.commit()
    finally:
        event.remove(Session, "before_commit", late_write)
    assert commits == ["on"]
    assert db.session.get(User, user.id).display_name == "Sent Namn"


def test_an_orm_flush_after_the_audit_hook_makes_it_synchronous_again(app, db, commits, make_user):
    user = make_user(Role.HANDLAGGARE).user
    commits.clear()

    def late_change(session):
        session.get(User, user.id).display_name = "Flushat Namn"  # flushed by commit's own flush loop

    event.listen(Session, "before_commit", late_change)
    try:
        read_event()
        db.session.commit()
    finally:
        event.remove(Session, "before_commit", late_change)
    assert commits == ["on"]


def test_a_checkpoint_commit_is_synchronous(app, db, commits, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 3)
    for i in range(6):
        read_event(i)
        db.session.commit()
    assert commits == ["off", "off", "on", "off", "off", "on"]
    assert db.session.scalars(select(AuditCheckpoint.event_count)).all() == [3, 6]
    assert_chain_ok(app, db)


def test_direct_audit_event_objects_are_reads_too(app, db, commits):
    db.session.add(AuditEvent(action="view", object_type="case", object_id="x"))
    db.session.commit()
    db.session.add(AuditEvent(action="update", object_type="case", object_id="x"))
    db.session.commit()
    assert commits == ["off", "on"]
    assert_chain_ok(app, db)


def test_rolled_back_relaxed_transaction_leaves_no_trace(app, db, commits):
    read_event()
    db.session.flush()
    db.session.rollback()
    read_event(1)
    db.session.commit()
    assert commits == ["off"]
    assert db.session.scalar(select(AuditEvent.object_id)) == "c1"
    assert_chain_ok(app, db)
