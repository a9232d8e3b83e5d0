"""The tamper-evident audit chain, tested as an attacker would try it.

The attacker has full write access to the database (and knows the encoding, so can recompute hashes), but not
the Ed25519 signing key, nor write access to the external sink. Every tampering must fail verification and name
the first broken event. Each tampering test runs the verifier in one process and in several (id ranges joined),
so the joins at range boundaries are held to the same answers.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select, text, update

from caseapp.accounts.models import Role
from caseapp.cli import cli
from caseapp.security import audit, audit_chain
from caseapp.security.audit import AuditCheckpoint, AuditEvent
from caseapp.security.audit_chain import Checkpoint, Head, event_hash, verify_chain
from tests.conftest import audit_events, is_postgres

N_EVENTS = 40


@pytest.fixture()
def chain(app, db, tmp_path, monkeypatch):
    sink = tmp_path / "audit-checkpoints.jsonl"
    settings = {"AUDIT_SINK": "file", "AUDIT_SINK_PATH": str(sink), "AUDIT_CHECKPOINT_EVERY": 0,
                "AUDIT_CHECKPOINT_MINUTES": None, "AUDIT_PUBLIC_KEYS": ()}
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.delitem(app.extensions, "caseapp.audit_chain", raising=False)
    keys = app.extensions["caseapp.keys"]
    return SimpleNamespace(sink=sink, key=keys.audit_signing_key(), public=keys.audit_public_key())


@pytest.fixture(params=[1, 2], ids=["1-process", "2-processes"])
def workers(request, monkeypatch):
    monkeypatch.setattr(audit_chain, "PARALLEL_MIN_EVENTS", 0)
    return request.param


def append(db, n: int, *, per_commit: int = 1) -> None:
    actor = SimpleNamespace(id=uuid.uuid4(), unit_id=uuid.uuid4(), role=Role.HANDLAGGARE)
    for i in range(n):
        audit.record("view", actor=actor if i % 3 else None, object_type="case", object_id=uuid.uuid4(),
                     subject_person_id=uuid.uuid4() if i % 2 else None, details={"n": i} if i % 4 else None)
        if (i + 1) % per_commit == 0:
            db.session.commit()
    db.session.commit()


def verify(chain, db, *, sink: bool = True, workers: int = 1, public_keys=()):
    with db.engine.connect() as conn:
        return verify_chain(conn, chain.public, chain.sink if sink else None, public_keys=public_keys,
                            workers=workers)


def ids() -> list[int]:
    return [e.id for e in audit_events()]


def content(event: AuditEvent) -> dict:
    return {name: getattr(event, name) for name in audit._CONTENT}


def set_columns(db, event_id: int, **values) -> None:
    db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(**values))
    db.session.commit()


def rehash(db, event_id: int) -> None:
    """The attacker recomputes the stored hash of one (edited) event."""
    event = db.session.get(AuditEvent, event_id)
    db.session.refresh(event)
    set_columns(db, event_id, hash=event_hash(content(event), event.seq, event.prev_hash))


def rechain_from(db, event_id: int) -> None:
    """The attacker recomputes prev_hash and hash of every event from `event_id` on (no signing key needed)."""
    prev = None
    for event in audit_events():
        if event.id >= event_id:
            new_hash = event_hash(content(event), event.seq, prev)
            db.session.execute(update(AuditEvent).where(AuditEvent.id == event.id)
                               .values(prev_hash=prev, hash=new_hash))
            prev = new_hash
        else:
            prev = event.hash
    db.session.commit()


def assert_broken(result, kind: str, event_id: int | None):
    assert not result.ok, "tampering passed verification"
    first = result.first_broken
    assert (first.kind, first.event_id) == (kind, event_id), [p.describe() for p in result.problems]
    return first


# ------------------------------------------------------------------------------------------ intact logs


def test_intact_log_verifies_through_the_cli(app, db, chain):
    append(db, 10)
    audit.write_checkpoint()
    append(db, 7, per_commit=3)
    audit.write_checkpoint()
    result = app.test_cli_runner().invoke(cli, ["audit", "verify", "--sink", str(chain.sink), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "Audit log intact: 17 events" in result.output
    assert "2 checkpoint(s)" in result.output
    events = audit_events()
    assert [e.seq for e in events] == list(range(1, 18))
    assert events[0].prev_hash == bytes(32)
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


def test_empty_log_verifies(app, db, chain):
    result = verify(chain, db)
    assert result.ok and result.events == 0


def test_verify_cli_exit_code_and_first_broken_event(app, db, chain):
    append(db, 12)
    audit.write_checkpoint()
    victim = ids()[4]
    set_columns(db, victim, action="export")
    result = app.test_cli_runner().invoke(cli, ["audit", "verify", "--no-progress"])
    assert result.exit_code == 1
    assert f"First broken: event #{victim}, position 5" in result.output
    assert "altered after it was written" in result.output


def test_events_of_real_requests_verify(app, db, chain, login_as):
    client, account = login_as(Role.SYSTEMFORVALTARE, None)
    assert client.get("/admin/anvandare").status_code == 200
    client.post("/logout")
    anon = app.test_client()
    anon.post("/login", data={"username": account.user.username, "password": "fel-lösenord"})
    actions = [e.action for e in audit_events()]
    assert {"user_created", "login", "list", "logout", "login_failed"} <= set(actions)
    result = verify(chain, db)
    assert result.ok, [p.describe() for p in result.problems]
    assert result.events == len(actions)


def test_refusals_written_after_a_rollback_are_chained(app, db, chain, login_as):
    client, account = login_as(Role.HANDLAGGARE)
    before = len(audit_events())
    assert client.get("/admin/anvandare").status_code == 403  # request rolls back; the refusal is re-written
    assert app.test_client().get("/admin/anvandare").status_code in (302, 401)  # anonymous refusal
    events = audit_events()
    denied = [e for e in events[before:] if e.action == "denied"]
    assert len(denied) == 2
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    result = verify(chain, db)
    assert result.ok, [p.describe() for p in result.problems]


def test_rolled_back_events_are_not_written_and_do_not_break_the_chain(app, db, chain):
    append(db, 3)
    audit.record("view", actor=None, object_type="case", object_id="rolled-back")
    db.session.rollback()
    append(db, 2)
    assert "rolled-back" not in [e.object_id for e in audit_events()]
    assert verify(chain, db).ok


def test_events_added_to_the_session_directly_are_chained_too(app, db, chain):
    append(db, 2)
    db.session.add(AuditEvent(action="view", object_type="case", object_id="direct"))
    db.session.commit()
    events = audit_events()
    assert events[-1].object_id == "direct" and events[-1].seq == 3
    assert verify(chain, db).ok


def test_events_of_cli_commands_are_chained(app, db, chain, units):
    result = app.test_cli_runner().invoke(cli, ["users", "create", "--username", "cli-user", "--name", "Cli User",
                                                "--role", "handlaggare", "--unit", "unga-i-risk"])
    assert result.exit_code == 0, result.output
    assert [e.action for e in audit_events()] == ["user_created"]
    assert verify(chain, db).ok


# ------------------------------------------------------------------------------------ encoding


def test_encoding_distinguishes_null_from_empty_and_field_boundaries():
    base = {"occurred_at": audit.utcnow(), "action": "view", "outcome": "ok", "object_type": "ab", "object_id": "c"}
    h = event_hash(base, 1, bytes(32))
    assert h != event_hash({**base, "object_type": "a", "object_id": "bc"}, 1, bytes(32))
    assert event_hash({**base, "details": None}, 1, bytes(32)) != event_hash({**base, "details": ""}, 1, bytes(32))
    assert h != event_hash({**base, "actor_user_id": uuid.UUID(int=0)}, 1, bytes(32))  # nil UUID is not NULL
    assert h != event_hash(base, 2, bytes(32))
    assert h != event_hash(base, 1, b"\x01" * 32)
    later = {**base, "occurred_at": base["occurred_at"] + timedelta(microseconds=1)}
    assert h != event_hash(later, 1, bytes(32))


# ------------------------------------------------------------------------------------------ tampering


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "export"),
        ("outcome", "denied"),
        ("occurred_at", None),  # replaced below by a time one second later
        ("actor_user_id", uuid.UUID(int=7)),
        ("subject_person_id", None),
        ("object_id", ""),
        ("details", '{"n":999}'),
        ("ip", "10.9.9.9"),
    ],
)
def test_edited_event_is_named(app, db, chain, workers, column, value):
    append(db, N_EVENTS)
    audit.write_checkpoint()
    victim = db.session.get(AuditEvent, ids()[20])
    if column == "occurred_at":
        value = victim.occurred_at + timedelta(seconds=1)
    if column == "subject_person_id" and victim.subject_person_id is None:
        value = uuid.uuid4()
    set_columns(db, victim.id, **{column: value})
    assert_broken(verify(chain, db, workers=workers), "edited", victim.id)


def test_edited_event_with_recomputed_hash_is_named(app, db, chain, workers):
    append(db, N_EVENTS)
    victim = ids()[17]
    set_columns(db, victim, action="delete", object_id="someone-else")
    rehash(db, victim)  # the event is self-consistent again; its successor still links to the old hash
    first = assert_broken(verify(chain, db, workers=workers), "edited", victim)
    assert "hash recomputed" in first.message


def test_edited_hash_alone_is_named(app, db, chain, workers):
    append(db, N_EVENTS)
    victim = ids()[9]
    set_columns(db, victim, hash=b"\x00" * 32)
    assert_broken(verify(chain, db, workers=workers), "edited", victim)


def test_deleted_event_is_found_at_its_successor(app, db, chain, workers):
    append(db, N_EVENTS)
    all_ids = ids()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == all_ids[25]))
    db.session.commit()
    first = assert_broken(verify(chain, db, workers=workers), "link", all_ids[26])
    assert "position 25 is followed by 27" in first.message


def test_deleted_first_events_are_found(app, db, chain, workers):
    append(db, N_EVENTS)
    all_ids = ids()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id <= all_ids[1]))
    db.session.commit()
    assert_broken(verify(chain, db, workers=workers), "deleted", all_ids[2])


def _insert_raw(db, **values) -> None:
    db.session.execute(insert(AuditEvent).values(**values))
    db.session.commit()


def _make_gap_after(db, event_id: int) -> None:
    """Move the ids after `event_id` up by one, leaving room for an inserted event (hashes do not cover ids)."""
    db.session.execute(update(AuditEvent).where(AuditEvent.id > event_id).values(id=AuditEvent.id + 1_000_000))
    db.session.execute(update(AuditEvent).where(AuditEvent.id > event_id).values(id=AuditEvent.id - 999_999))
    db.session.commit()


def test_inserted_event_is_named(app, db, chain, workers):
    append(db, N_EVENTS)
    before = db.session.get(AuditEvent, ids()[14])
    _make_gap_after(db, before.id)
    fake = {"occurred_at": before.occurred_at, "action": "view", "outcome": "ok", "object_type": "case",
            "object_id": "planted"}
    # A careful attacker links it to its predecessor and gives it a valid hash (seq must stay unique).
    seq = 10_000
    _insert_raw(db, id=before.id + 1, seq=seq, prev_hash=before.hash, hash=event_hash(fake, seq, before.hash), **fake)
    assert_broken(verify(chain, db, workers=workers), "sequence", before.id + 1)


def test_inserted_event_with_garbage_hash_is_named(app, db, chain, workers):
    append(db, N_EVENTS)
    before = db.session.get(AuditEvent, ids()[30])
    _make_gap_after(db, before.id)
    _insert_raw(db, id=before.id + 1, seq=99_999, prev_hash=before.hash, hash=b"\x01" * 32,
                occurred_at=before.occurred_at, action="view", outcome="ok")
    assert_broken(verify(chain, db, workers=workers), "edited", before.id + 1)


@pytest.mark.skipif(not is_postgres(), reason="dropping the unique constraint on seq needs PostgreSQL DDL")
def test_inserted_event_with_duplicate_position_is_named(app, db, chain, workers):
    append(db, N_EVENTS)
    before = db.session.get(AuditEvent, ids()[14])
    _make_gap_after(db, before.id)
    fake = {"occurred_at": before.occurred_at, "action": "view", "outcome": "ok", "object_type": "case",
            "object_id": "planted"}
    seq = before.seq + 1  # the position of the real successor
    db.session.execute(text("ALTER TABLE audit_events DROP CONSTRAINT uq_audit_events_seq"))
    try:
        _insert_raw(db, id=before.id + 1, seq=seq, prev_hash=before.hash, hash=event_hash(fake, seq, before.hash),
                    **fake)
        first = assert_broken(verify(chain, db, workers=workers), "inserted", before.id + 1)
        assert "links past it" in first.message
    finally:
        db.session.rollback()
        db.session.execute(delete(AuditEvent))
        db.session.execute(text("ALTER TABLE audit_events ADD CONSTRAINT uq_audit_events_seq UNIQUE (seq)"))
        db.session.commit()


def test_reordered_events_are_found(app, db, chain, workers):
    append(db, N_EVENTS)
    a, b = (db.session.get(AuditEvent, i) for i in ids()[10:12])
    row_a = {**content(a), "seq": a.seq, "prev_hash": a.prev_hash, "hash": a.hash}
    row_b = {**content(b), "seq": b.seq, "prev_hash": b.prev_hash, "hash": b.hash}
    set_columns(db, a.id, seq=-1)  # free the unique seq for the swap
    set_columns(db, b.id, **row_a)
    set_columns(db, a.id, **row_b)
    assert_broken(verify(chain, db, workers=workers), "link", a.id)


def test_rechained_edit_is_caught_by_the_signed_checkpoint(app, db, chain, workers):
    append(db, 20)
    audit.write_checkpoint()
    append(db, 20)
    audit.write_checkpoint()
    victim = ids()[20]  # the first event after the first checkpoint
    set_columns(db, victim, actor_user_id=uuid.uuid4())
    rechain_from(db, victim)  # links and hashes all consistent again; only the signature can tell
    first = assert_broken(verify(chain, db, workers=workers), "rechained", victim)
    assert "does not match the signed checkpoint" in first.message


def test_rechained_edit_in_the_middle_of_a_checkpoint_interval_names_the_interval(app, db, chain, workers):
    append(db, 20)
    audit.write_checkpoint()
    append(db, 20)
    audit.write_checkpoint()
    all_ids = ids()
    set_columns(db, all_ids[30], action="export")
    rechain_from(db, all_ids[30])
    # Without the original hashes the verifier can only bound it: the first event the signature no longer covers.
    first = assert_broken(verify(chain, db, workers=workers), "rechained", all_ids[20])
    assert f"to #{all_ids[39]}" in first.message


def test_rechained_deletion_is_caught(app, db, chain, workers):
    append(db, N_EVENTS)
    audit.write_checkpoint()
    all_ids = ids()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == all_ids[5]))
    # Renumber positions and re-chain so that every link and position looks right.
    for event in audit_events():
        if event.id > all_ids[5]:
            set_columns(db, event.id, seq=event.seq - 1)
    rechain_from(db, all_ids[6])
    assert_broken(verify(chain, db, workers=workers), "rechained", all_ids[0])


def test_cut_off_tail_is_caught_by_the_last_checkpoint(app, db, chain, workers):
    append(db, N_EVENTS)
    audit.write_checkpoint()
    all_ids = ids()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id > all_ids[34]))
    db.session.commit()
    for sink in (True, False):
        result = verify(chain, db, sink=sink, workers=workers)
        first = assert_broken(result, "truncated", None)
        assert first.seq == 36 and "5 event(s) were deleted from the end" in first.message


def test_cut_off_tail_with_its_checkpoint_is_caught_by_the_sink(app, db, chain, workers):
    append(db, 20)
    audit.write_checkpoint()
    append(db, 20)
    audit.write_checkpoint()
    all_ids = ids()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id > all_ids[29]))
    db.session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.event_count > 20))
    db.session.commit()
    # The database alone is consistent now...
    assert verify(chain, db, sink=False, workers=workers).ok
    # ...but the sink remembers the last checkpoint.
    result = verify(chain, db, workers=workers)
    first = assert_broken(result, "truncated", None)
    assert first.seq == 31 and "sink line 2" in first.message
    assert "checkpoint_missing" in {p.kind for p in result.problems}


def test_cut_off_tail_without_any_event_left_is_caught_by_the_sink(app, db, chain):
    append(db, 5)
    audit.write_checkpoint()
    db.session.execute(delete(AuditEvent))
    db.session.execute(delete(AuditCheckpoint))
    db.session.commit()
    assert_broken(verify(chain, db), "truncated", None)


def _last_checkpoint(db) -> AuditCheckpoint:
    return db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())).first()


def test_forged_last_checkpoint_is_found(app, db, chain):
    append(db, 20)
    audit.write_checkpoint()
    append(db, 20)
    audit.write_checkpoint()
    all_ids = ids()
    set_columns(db, all_ids[25], action="export")
    rechain_from(db, all_ids[25])
    # The attacker also "fixes" the last checkpoint to the new head, keeping the old signature.
    last = _last_checkpoint(db)
    new_head = db.session.get(AuditEvent, all_ids[-1])
    db.session.execute(update(AuditCheckpoint).where(AuditCheckpoint.id == last.id).values(head_hash=new_head.hash))
    db.session.commit()
    # In the database only checkpoint 1 is authentic now, and it matches: the forgery itself is the finding.
    first = assert_broken(verify(chain, db, sink=False), "checkpoint_signature", all_ids[-1])
    assert "invalid signature" in first.message
    # The sink still has the authentic checkpoint 2, which no longer matches the chain from event 21 on.
    result = verify(chain, db)
    assert_broken(result, "rechained", all_ids[20])
    assert "checkpoint_signature" in {p.kind for p in result.problems}


def test_last_checkpoint_signed_with_another_key_is_found(app, db, chain):
    append(db, 10)
    audit.write_checkpoint()
    last = _last_checkpoint(db)
    own_key = Ed25519PrivateKey.generate()
    forged = Checkpoint.sign(own_key, Head(last.event_id, last.event_count, last.head_hash), last.created_at)
    db.session.execute(update(AuditCheckpoint).where(AuditCheckpoint.id == last.id)
                       .values(signature=forged.signature, key_id=forged.key_id))
    db.session.commit()
    result = verify(chain, db, sink=False)
    assert_broken(result, "checkpoint_signature", last.event_id)
    assert "unknown key" in result.first_broken.message


def test_replaced_last_checkpoint_is_caught_by_the_sink(app, db, chain):
    append(db, 10)
    audit.write_checkpoint()
    append(db, 10)
    audit.write_checkpoint()
    last = _last_checkpoint(db)
    last_event_id = last.event_id
    # Replace it by a copy of the first (authentic, older) checkpoint: signatures all check out.
    first_cp = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).first()
    db.session.execute(update(AuditCheckpoint).where(AuditCheckpoint.id == last.id).values(
        created_at=first_cp.created_at, event_id=first_cp.event_id, event_count=first_cp.event_count,
        head_hash=first_cp.head_hash, key_id=first_cp.key_id, signature=first_cp.signature))
    db.session.commit()
    assert verify(chain, db, sink=False).ok
    result = verify(chain, db)
    assert_broken(result, "checkpoint_missing", last_event_id)


def test_truncated_sink_is_reported(app, db, chain):
    append(db, 5)
    audit.write_checkpoint()
    append(db, 5)
    audit.write_checkpoint()
    lines = chain.sink.read_text().splitlines()
    chain.sink.write_text(lines[0] + "\n")
    assert_broken(verify(chain, db), "sink_behind", ids()[-1])


def test_garbage_in_the_sink_is_reported(app, db, chain):
    append(db, 5)
    audit.write_checkpoint()
    with chain.sink.open("a") as fh:
        data = json.loads(chain.sink.read_text().splitlines()[-1])
        data["event_count"] = 4
        fh.write(json.dumps(data) + "\n")
        fh.write("not json\n")
    result = verify(chain, db)
    assert not result.ok
    assert {"checkpoint_signature", "sink_line"} <= {p.kind for p in result.problems}


# ---------------------------------------------------------------------------------------- checkpoints


def test_checkpoint_every_n_events_goes_to_db_and_sink(app, db, chain, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVERY", 5)
    append(db, 7, per_commit=1)
    append(db, 6, per_commit=3)  # 8..10 in one transaction crosses 10; 11..13 does not cross 15
    counts = [cp.event_count for cp in db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id))]
    assert counts == [5, 10]
    sink = [json.loads(line) for line in chain.sink.read_text().splitlines()]
    assert [line["event_count"] for line in sink] == [5, 10]
    assert verify(chain, db).ok


def test_checkpoint_after_t_minutes(app, db, chain, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 15)
    append(db, 3)
    assert db.session.scalar(select(AuditCheckpoint.id)) is None  # the first event is seconds old
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 0)
    monkeypatch.delitem(app.extensions, "caseapp.audit_chain")
    append(db, 1)
    assert [cp.event_count for cp in db.session.scalars(select(AuditCheckpoint))] == [4]
    assert verify(chain, db).ok


def test_checkpoint_command(app, db, chain):
    runner = app.test_cli_runner()
    assert "Nothing to sign" in runner.invoke(cli, ["audit", "checkpoint"]).output
    append(db, 3)
    result = runner.invoke(cli, ["audit", "checkpoint"])
    assert result.exit_code == 0 and "3 events up to event" in result.output
    assert "Nothing to sign" in runner.invoke(cli, ["audit", "checkpoint"]).output
    assert len(chain.sink.read_text().splitlines()) == 1
    assert verify(chain, db).ok


def test_sink_failure_does_not_fail_the_commit(app, db, chain, monkeypatch, tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setitem(app.config, "AUDIT_SINK_PATH", str(blocker / "sink.jsonl"))
    append(db, 2)
    assert audit.write_checkpoint() is not None
    assert "could not append audit checkpoint" in caplog.text
    monkeypatch.setitem(app.config, "AUDIT_SINK_PATH", str(chain.sink))
    assert_broken(verify(chain, db), "sink_behind", ids()[-1])  # reported, not hidden


def test_old_checkpoints_verify_with_the_retired_public_key(app, db, chain, tmp_path):
    append(db, 4)
    audit.write_checkpoint()
    old_public = chain.public
    # Rotation: a new signing key from now on (here: swapped in the provider).
    new_key = Ed25519PrivateKey.generate()
    provider = app.extensions["caseapp.keys"]
    original = provider._audit_key
    provider._audit_key = new_key
    try:
        append(db, 4)
        audit.write_checkpoint()
        chain.public = new_key.public_key()
        result = verify(chain, db)
        assert_broken(result, "checkpoint_signature", ids()[3])
        assert "unknown key" in result.first_broken.message
        assert verify(chain, db, public_keys=[old_public]).ok
        pem = tmp_path / "old.pem"
        pem.write_text(audit_chain.public_key_pem(old_public))
        out = app.test_cli_runner().invoke(cli, ["audit", "verify", "--public-key", str(pem), "--no-progress"])
        assert out.exit_code == 0, out.output
    finally:
        provider._audit_key = original


def test_public_key_command(app, db, chain):
    result = app.test_cli_runner().invoke(cli, ["audit", "public-key"])
    assert result.exit_code == 0
    assert audit_chain.key_id(chain.public) in result.output
    assert "BEGIN PUBLIC KEY" in result.output


# ------------------------------------------------------------------------------------------ migration


def test_migration_chains_existing_events(test_config, tmp_path, chain):
    """0002 computes the chain for events written before it existed, and the result verifies."""
    import os

    import flask_migrate
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from caseapp import BASE_DIR
    from caseapp.extensions import db as _db
    from tests.conftest import make_app

    if is_postgres():
        base = make_url(os.environ["TEST_DATABASE_URL"])
        name = f"caseapp_chain_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        admin, url = None, f"sqlite:///{tmp_path / 'migrate.db'}"
    migrations = str(BASE_DIR / "migrations")
    try:
        other = make_app(test_config, SQLALCHEMY_DATABASE_URI=url)
        with other.app_context():
            flask_migrate.upgrade(directory=migrations, revision="0001")
            events = AuditEvent.__table__
            now = audit.utcnow()
            for i in range(7):
                _db.session.execute(text(
                    "INSERT INTO audit_events (occurred_at, action, outcome, object_id, actor_user_id) "
                    "VALUES (:t, 'view', 'ok', :o, :u)"),
                    {"t": now + timedelta(seconds=i), "o": None if i == 3 else f"c{i}",
                     "u": uuid.uuid4().hex if not is_postgres() else uuid.uuid4()})
            _db.session.commit()
            flask_migrate.upgrade(directory=migrations)
            with _db.engine.connect() as conn:
                result = verify_chain(conn, chain.public, workers=1)
                assert result.ok and result.events == 7, [p.describe() for p in result.problems]
                assert conn.execute(select(events.c.seq).order_by(events.c.id)).scalars().all() == list(range(1, 8))
            append(_db, 2)  # and the application appends after the migrated events
            with _db.engine.connect() as conn:
                assert verify_chain(conn, chain.public, workers=1).events == 9
            _db.session.remove()
            _db.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_one_list_event_names_several_people_and_verify_checks_their_lookup_rows(chain, db):
    """A list page records one event about all the people it shows; "who has read" finds it through the lookup
    rows, and a deleted or added lookup row is reported by verify (the chained details name the people)."""
    from sqlalchemy import delete, insert, select

    from caseapp.security.audit import AuditEventSubject

    actor = SimpleNamespace(id=uuid.uuid4(), unit_id=uuid.uuid4(), role=Role.HANDLAGGARE)
    people = [uuid.uuid4() for _ in range(5)]
    audit.record_list(actor, people, details={"page": "start"})
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "list")).one()
    assert event.subject_person_id is None
    assert sorted(audit.subjects_of(event)) == sorted(people)
    for person in people:
        found = db.session.scalars(select(AuditEvent.id).where(audit.about_person(person))).all()
        assert found == [event.id]
    assert verify(chain, db).ok
    db.session.execute(delete(AuditEventSubject).where(AuditEventSubject.person_id == people[0]))
    db.session.execute(insert(AuditEventSubject).values(event_id=event.id, person_id=uuid.uuid4()))
    db.session.commit()
    result = verify(chain, db)
    assert not result.ok
    assert [p.kind for p in result.problems] == ["subjects"]
    assert "1 missing, 1 not in the signed event" in result.problems[0].message


def test_verify_compares_lookup_rows_event_by_event_in_a_long_log(chain, db):
    """Verify streams the list events and the lookup rows side by side: every event is compared with its own
    rows, whether the rows of a whole event are gone or rows point at an event that names nobody."""
    from sqlalchemy import delete, insert, select

    from caseapp.security.audit import AuditEventSubject

    actor = SimpleNamespace(id=uuid.uuid4(), unit_id=uuid.uuid4(), role=Role.HANDLAGGARE)
    pages = [[uuid.uuid4() for _ in range(3)] for _ in range(6)]
    for i, people in enumerate(pages):
        audit.record_list(actor, people, details={"page": "start"})
        audit.record("view", actor=actor, object_type="case", object_id=uuid.uuid4(), details={"n": i})
        db.session.commit()
    assert verify(chain, db).ok
    lists = db.session.scalars(select(AuditEvent.id).where(AuditEvent.action == "list").order_by(AuditEvent.id)).all()
    views = db.session.scalars(select(AuditEvent.id).where(AuditEvent.action == "view").order_by(AuditEvent.id)).all()
    assert len(lists) == 6
    db.session.execute(delete(AuditEventSubject).where(AuditEventSubject.event_id == lists[2]))  # all 3 rows
    db.session.execute(insert(AuditEventSubject).values(event_id=views[4], person_id=uuid.uuid4()))  # names nobody
    db.session.commit()
    problems = verify(chain, db).problems
    assert [(p.kind, p.event_id) for p in problems] == [("subjects", lists[2]), ("subjects", views[4])]
    assert "3 missing, 0 not in the signed event" in problems[0].message
    assert "0 missing, 1 not in the signed event" in problems[1].message


def test_verify_reports_lookup_rows_of_an_event_that_is_not_in_the_log(chain, db):
    """The lookup rows have no foreign key (migration 0016): a row naming an event id that the log does not hold,
    inside the chain or beyond its head, is reported by verify."""
    from sqlalchemy import insert, select

    from caseapp.security.audit import AuditEventSubject

    actor = SimpleNamespace(id=uuid.uuid4(), unit_id=uuid.uuid4(), role=Role.HANDLAGGARE)
    audit.record_list(actor, [uuid.uuid4(), uuid.uuid4()], details={"page": "start"})
    db.session.commit()
    head = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    assert verify(chain, db).ok
    db.session.execute(insert(AuditEventSubject).values(event_id=head + 1000, person_id=uuid.uuid4()))
    db.session.execute(insert(AuditEventSubject).values(event_id=head + 1000, person_id=uuid.uuid4()))
    db.session.commit()
    problems = verify(chain, db).problems
    assert [(p.kind, p.event_id) for p in problems] == [("subjects", head + 1000)]
    assert "2 lookup rows name event #" in problems[0].message and "not in the log" in problems[0].message


def test_verify_leaves_the_callers_connection_as_it_was(chain, db):
    """Verify streams its reads with per-statement options: the connection it was given is not switched to
    server-side cursors for good (on PostgreSQL a later DDL statement would fail as DECLARE CURSOR ... DROP)."""
    from sqlalchemy import text

    actor = SimpleNamespace(id=uuid.uuid4(), unit_id=uuid.uuid4(), role=Role.HANDLAGGARE)
    audit.record_list(actor, [uuid.uuid4(), uuid.uuid4()], details={"page": "start"})
    db.session.commit()
    with db.engine.connect() as conn:
        before = dict(conn.get_execution_options())
        assert verify_chain(conn, chain.public, chain.sink).ok
        assert dict(conn.get_execution_options()) == before
        conn.execute(text("CREATE TABLE verify_left_alone (x INTEGER)"))
        conn.execute(text("DROP TABLE verify_left_alone"))
        conn.rollback()
