"""Audit events: one append-only, hash-chained table, one function to record an event.

Events hold ids and codes only, never personal data in clear (`details` is checked for that).
`record()` queues an event on the current database session; it is written when that session commits, in the
same transaction as the change it records (no change without its event, no event for a change that rolled
back). At commit the session hook takes the chain lock, reads the head, computes `seq`, `prev_hash` and `hash`
(`caseapp.security.audit_chain`), inserts the events and, when one is due, a signed checkpoint; the lock is
held only from there to the end of the commit. Requests, CLI commands and tests all go through this one path.
On PostgreSQL with AUDIT_READ_COMMIT = "async", a transaction that wrote nothing but events of reads (the server
is asked, at the lock) commits without waiting for the WAL flush; see docs/audit.md, "Commit of transactions
that only read".
Events recorded with `persist_on_failure=True` (refusals, failed logins, lockouts) are written again in their
own transaction when the request's transaction rolls back, so a refusal is never lost; they are chained then.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import (
    DDL,
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    event,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, make_transient_to_detached, mapped_column

from caseapp.dbtypes import Uuid
from caseapp.extensions import db
from caseapp.security import audit_chain
from caseapp.security.audit_chain import Checkpoint, Head
from caseapp.security.keys import KeyConfigError
from caseapp.timeutil import utcnow

log = logging.getLogger(__name__)

ACTIONS = frozenset(
    {
        "view", "list", "search", "create", "update", "sign", "correct", "object", "export", "print",
        "disclose", "delete", "purge",
        "login", "login_failed", "logout", "lockout", "session_timeout",
        "mfa_enrolled", "mfa_failed", "mfa_reset", "recovery_code_used", "password_changed",
        "user_created", "user_updated", "user_disabled", "user_enabled",
        "denied", "emergency_access", "key_rotation", "key_retire", "key_reencrypt", "review",
    }
)
OUTCOMES = frozenset({"ok", "denied", "failed"})
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/\-]{0,80}$")

BigIntPK = BigInteger().with_variant(Integer, "sqlite")
_SUBJECTS = "_subjects"  # key of a queued row: its listed subjects (not a column)


class AuditDetailsError(ValueError):
    """Raised when a caller tries to put free text (possible personal data) into an audit event."""


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    actor_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    actor_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    object_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    subject_person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Tamper evidence (audit_chain): position in the chain (1, 2, ...; unique, so a locking fault can never
    # fork the chain, only fail a commit), the previous event's hash, and SHA-256 over the canonical encoding.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    @property
    def details_dict(self) -> dict[str, Any]:
        return json.loads(self.details) if self.details else {}


class AuditEventSubject(db.Model):
    """The people one event is about, when it is about several (a list page that shows 16 people records one
    event, not 16): a lookup table for "every event about person X". The chained content is the event's
    `details["people"]` (hashed with the event); these rows are checked against it by `caseapp audit verify`."""

    __tablename__ = "audit_event_subjects"
    __table_args__ = (Index("ix_audit_event_subjects_person_id", "person_id", "event_id"),
                      {"sqlite_with_rowid": False})

    # No foreign key to audit_events (migration 0016): both rows are written in one transaction (on PostgreSQL by
    # one function call), and `caseapp audit verify` checks every row against its event, reporting a row whose
    # event is not in the log. The key's check of each row, a share lock on the event row per subject, took
    # 80-150 µs of the server's 190-270 µs for a start page's 16 people (2026-12-04).
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


# PostgreSQL: the one-call append function (audit_chain.PG_APPEND_FUNCTION_SQL) is created with the tables by
# `create_all` (tests, bench) as migration 0014 creates it in a migrated database.
event.listen(AuditEventSubject.__table__, "after_create",
             DDL(audit_chain.PG_APPEND_FUNCTION_SQL).execute_if(dialect="postgresql"))
event.listen(AuditEventSubject.__table__, "after_drop",
             DDL(audit_chain.PG_DROP_APPEND_FUNCTION_SQL).execute_if(dialect="postgresql"))


def about_person(person_id: Any):
    """SQL on AuditEvent: the event is about `person_id` (its subject, or one of its listed subjects)."""
    return or_(AuditEvent.subject_person_id == person_id,
               AuditEvent.id.in_(select(AuditEventSubject.event_id).where(AuditEventSubject.person_id == person_id)))


def about_any_of(person_ids: Any):
    """SQL on AuditEvent: the event is about one of `person_ids` (a list or a SELECT of person ids)."""
    return or_(AuditEvent.subject_person_id.in_(person_ids),
               AuditEvent.id.in_(select(AuditEventSubject.event_id).where(AuditEventSubject.person_id.in_(person_ids))))


def subjects_of(event: AuditEvent) -> list[uuid.UUID]:
    """The people an event is about: its subject, or the listed subjects (`details["people"]`)."""
    if event.subject_person_id is not None:
        return [event.subject_person_id]
    return [uuid.UUID(h) for h in event.details_dict.get("people", [])]


class AuditCheckpoint(db.Model):
    """A signed statement "the chain had `event_count` events ending in `event_id` with `head_hash`"."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    event_id: Mapped[int] = mapped_column(BigInteger)
    event_count: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))

    def to_checkpoint(self) -> Checkpoint:
        return Checkpoint(self.created_at, self.event_id, self.event_count, self.head_hash, self.key_id,
                          self.signature, self.id)


def _check_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """`details` checked (codes and ids only, never free text), ids as strings; {} for none."""
    if not details:
        return {}
    for key, value in details.items():
        if not _SAFE_VALUE.match(str(key)):
            raise AuditDetailsError(f"audit detail key {key!r} is not a plain code")
        if value is None or isinstance(value, bool | int | float):
            continue
        if isinstance(value, uuid.UUID):
            continue
        if isinstance(value, str) and _SAFE_VALUE.match(value):
            continue
        raise AuditDetailsError(f"audit detail {key!r} must be an id or a code, not free text")
    return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in details.items()}


def _details_json(details: dict[str, Any]) -> str | None:
    return json.dumps(details, sort_keys=True, separators=(",", ":")) if details else None


_CURRENT = object()


def record(
    action: str,
    *,
    outcome: str = "ok",
    object_type: str | None = None,
    object_id: Any = None,
    subject_person_id: uuid.UUID | None = None,
    actor: Any = _CURRENT,
    details: dict[str, Any] | None = None,
    persist_on_failure: bool = False,
    subjects: list[uuid.UUID] | None = None,
) -> None:
    """Add an audit event to the current transaction (written, chained, at its commit).

    The event is queued as a plain row (no ORM object). `subjects`: the people an event of a list page or a
    search (SUBJECT_ACTIONS) is about, when there are several: one event names them all (in `details["people"]`, hashed with the event, and
    in audit_event_subjects for lookups); one subject is simply `subject_person_id`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if actor is _CURRENT:
        actor = current_user if has_request_context() and current_user.is_authenticated else None
    fields: dict[str, Any] = {
        "occurred_at": utcnow(),
        "actor_user_id": getattr(actor, "id", None),
        "actor_unit_id": getattr(actor, "unit_id", None),
        "actor_role": str(actor.role) if actor is not None else None,
        "action": action,
        "outcome": outcome,
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else None,
        "subject_person_id": subject_person_id,
        "details": None,
    }
    checked = _check_details(details)
    if subjects and action not in SUBJECT_ACTIONS:
        raise ValueError(f"only {sorted(SUBJECT_ACTIONS)} events name several people, not {action!r}")
    if subjects:
        people = sorted({uuid.UUID(str(p)) if not isinstance(p, uuid.UUID) else p for p in subjects})
        if len(people) == 1 and subject_person_id in (None, people[0]):
            fields["subject_person_id"] = people[0]
        elif subject_person_id is not None:
            raise ValueError("an event has either one subject_person_id or several subjects, not both")
        else:
            if "people" in checked:
                raise AuditDetailsError("details['people'] is set by `subjects`")
            checked["people"] = [p.hex for p in people]
            fields[_SUBJECTS] = people
    fields["details"] = _details_json(checked)
    if has_request_context():
        fields["request_id"] = g.get("request_id")
        fields["ip"] = request.remote_addr
        if persist_on_failure:
            g.setdefault("sticky_audit", []).append(dict(fields))
    else:
        fields["request_id"] = fields["ip"] = None
    _enqueue(db.session(), fields)


#: Actions whose events may name several people (`subjects`); `caseapp audit verify` checks the lookup rows of
#: exactly these (audit_chain._check_subjects).
SUBJECT_ACTIONS = frozenset({"list", "search"})


def record_list(actor: Any, person_ids: Iterable[uuid.UUID | None], *, details: dict[str, Any] | None = None,
                persist_on_failure: bool = False, once_per_request: str | None = None) -> None:
    """A list page showed these people: one "list" event about one person (subject_person_id) or about
    several (`subjects`); nothing for none. With `once_per_request` (a key in `g`), people already recorded
    under that key in this request are left out."""
    person_ids = [p for p in dict.fromkeys(person_ids) if p is not None]
    if once_per_request and has_request_context():
        seen: set = g.setdefault(once_per_request, set())
        person_ids = [p for p in person_ids if p not in seen]
        seen.update(person_ids)
    if len(person_ids) == 1:
        record("list", actor=actor, object_type="person", object_id=person_ids[0], subject_person_id=person_ids[0],
               details=details, persist_on_failure=persist_on_failure)
    elif person_ids:
        record("list", actor=actor, object_type="person", subjects=person_ids, details=details,
               persist_on_failure=persist_on_failure)


def persist_sticky_events() -> None:
    """After a rollback, write the refusals and failures of this request in their own transaction."""
    sticky = g.pop("sticky_audit", None) if has_request_context() else None
    if not sticky:
        return
    session = db.session()
    for fields in sticky:
        _enqueue(session, dict(fields))
    session.commit()


def discard_sticky_events() -> None:
    if has_request_context():
        g.pop("sticky_audit", None)


# ---------------------------------------------------------------------------------------- the chain

_PENDING = "caseapp.audit.pending"  # session.info: events waiting for the commit
_SINK = "caseapp.audit.sink"  # session.info: (sink, checkpoints) to append once the commit succeeded
_CONTENT = ("occurred_at", "actor_user_id", "actor_unit_id", "actor_role", "action", "outcome", "object_type",
            "object_id", "subject_person_id", "request_id", "ip", "details")


def _enqueue(session: Session, event: dict[str, Any] | AuditEvent) -> None:
    """Queue an event (a row dict from `record()`, or an AuditEvent added to the session directly)."""
    if session.get_transaction() is None:
        session.begin()  # so that a rollback (which ends this transaction) discards the event
    session.info.setdefault(_PENDING, []).append(event)


@event.listens_for(Session, "before_flush")
def _divert_direct_adds(session: Session, flush_context, instances) -> None:
    """An AuditEvent added to the session directly is chained like one from `record()`, at commit."""
    for obj in [o for o in session.new if isinstance(o, AuditEvent) and o.hash is None]:
        session.expunge(obj)
        _enqueue(session, obj)


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if not session.info.get(_PENDING) and not any(isinstance(o, AuditEvent) for o in session.new):
        return
    session.flush()  # the request's own changes first: constraint errors and slow statements stay outside the lock
    events = session.info.pop(_PENDING, [])
    if events:
        _append(session, events)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    queued = session.info.pop(_SINK, None)
    if queued:
        sink, checkpoints = queued
        try:
            sink.append(checkpoints)
        except Exception:  # the commit stands; `caseapp audit verify` will report the sink as behind
            log.exception("could not append audit checkpoint(s) %s to the %s sink",
                          [cp.id for cp in checkpoints], sink.kind)


@event.listens_for(Session, "after_transaction_end")
def _transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_SINK, None)


def _append(session: Session, events: list[dict[str, Any] | AuditEvent]) -> None:
    """Chain and insert `events` (in order); called at commit. Holds the chain lock until the commit ends.

    Everything that does not need the head is done before the lock: the rows are complete and their fixed
    parts encoded; under the lock only the hashes (one SHA-256 each) and one INSERT remain."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    objects: list[tuple[AuditEvent, dict[str, Any]]] = []
    for item in events:
        if isinstance(item, dict):
            row = item
        else:  # an AuditEvent added to the session directly: it gets its id, seq and hashes back below
            row = {name: getattr(item, name) for name in _CONTENT}
            objects.append((item, row))
        if row["occurred_at"] is None:
            row["occurred_at"] = now
        if row["outcome"] is None:
            row["outcome"] = "ok"
        rows.append(row)
    conn = session.connection()
    relax = _relax_allowed(conn, rows)
    if len(rows) == 1 and audit_chain.pg_append_function(conn):
        # The common page (one event): lock, head, hash and insert in one call (audit_chain.append_one_pg).
        head, relaxed = audit_chain.append_one_pg(conn, rows[0], rows[0].get(_SUBJECTS), relax_if_clean=relax)
        seq, head_hash, ids = rows[0]["seq"], rows[0]["hash"], [rows[0]["id"]]
    else:
        head, relaxed = audit_chain.lock_read_head(conn, relax_if_clean=relax)
        seq, head_hash = audit_chain.chain_rows(rows, head.seq, head.hash)
        ids = _insert_events(conn, rows)
        _insert_subjects(conn, rows)
    for obj, row in objects:
        obj.id, obj.seq, obj.prev_hash, obj.hash = row["id"], row["seq"], row["prev_hash"], row["hash"]
        if obj.occurred_at is None or obj.outcome is None:
            obj.occurred_at, obj.outcome = row["occurred_at"], row["outcome"]
        make_transient_to_detached(obj)
        session.add(obj)
    new_head = Head(ids[-1], seq, head_hash)
    if _checkpoint_due(conn, head, new_head):
        if relaxed:  # a checkpoint goes to the sink after the commit: its commit must be durable first
            conn.exec_driver_sql(audit_chain.PG_SYNC_AGAIN)
            relaxed = False
        try:
            key = current_app.extensions["caseapp.keys"].audit_signing_key()
        except KeyConfigError as exc:
            log.error("audit checkpoint due at event #%s but the signing key is unavailable: %s", new_head.id, exc)
            return
        _queue_for_sink(session, _insert_checkpoint(conn, new_head, key))
    if relaxed:
        # Last thing before the commit: any statement sent through SQLAlchemy from here on (a later hook, the
        # session's flush loop) makes the commit synchronous again (_statement_after_relax).
        conn.info[_RELAXED] = True


# ------------------------------------------------------------------- asynchronous commit of pure reads

READ_ACTIONS = frozenset({"view", "list", "search"})
_RELAXED = "caseapp.audit.relaxed"  # Connection.info: this transaction's commit was made asynchronous


def _relax_allowed(conn, rows: list[dict[str, Any]]) -> bool:
    """AUDIT_READ_COMMIT = "async" (PostgreSQL): a transaction whose only writes are events of reads may commit
    without waiting for the WAL flush. Whether the transaction wrote anything else is asked of the server at
    the lock (audit_chain.lock_read_head); here only: the setting, the database, and every event is a read."""
    if conn.dialect.name != "postgresql" or (conn.dialect.server_version_info or (0,)) < (13,):
        return False  # pg_current_xact_id_if_assigned() is PostgreSQL 13+; older servers commit synchronously
    if (current_app.config.get("AUDIT_READ_COMMIT") or "sync") != "async":
        return False
    return all(row["action"] in READ_ACTIONS for row in rows)


@event.listens_for(Engine, "before_cursor_execute")
def _statement_after_relax(conn, cursor, statement, parameters, context, executemany) -> None:
    info = conn.info
    if info.get(_RELAXED) is True:
        info[_RELAXED] = "tainted"


@event.listens_for(Engine, "commit")
def _commit_relaxed(conn) -> None:
    """Just before the driver's COMMIT: if anything ran after the commit was made asynchronous, make it
    synchronous again (on doubt, synchronous)."""
    state = conn.info.pop(_RELAXED, None)
    if state == "tainted":
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(audit_chain.PG_SYNC_AGAIN)
        finally:
            cursor.close()


@event.listens_for(Engine, "rollback")
def _rollback_relaxed(conn) -> None:
    conn.info.pop(_RELAXED, None)


_COLUMNS = (*_CONTENT, "seq", "prev_hash", "hash")
_PG_INSERT = (f"INSERT INTO audit_events ({', '.join(_COLUMNS)}) "  # noqa: S608 - constant column names
              f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) RETURNING id")
_MULTI_ROWS = 500  # rows per multi-row INSERT (SQLite allows 32,766 parameters per statement)
_UUID_COLUMNS = frozenset({"actor_user_id", "actor_unit_id", "subject_person_id"})


def _multi_insert_sql(n: int, mark: str) -> str:
    """INSERT of n rows in one statement, returning (id, seq) of each (the database may return them in any
    order: they are matched by seq, which is unique)."""
    values = "(" + ", ".join([mark] * len(_COLUMNS)) + ")"
    return (f"INSERT INTO audit_events ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608 - constant column names
            + ", ".join([values] * n) + " RETURNING id, seq")


def _sqlite_params(row: dict[str, Any]) -> list[Any]:
    """A row as SQLAlchemy stores it on SQLite: UUIDs as 32 hex digits, times as ISO text with microseconds."""
    out = []
    for name in _COLUMNS:
        value = row[name]
        if value is not None:
            if name in _UUID_COLUMNS:
                value = value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex
            elif name == "occurred_at":
                value = value.isoformat(" ", "microseconds")
        out.append(value)
    return out


def _insert_events(conn, rows: list[dict[str, Any]]) -> list[int]:
    """Insert chained rows, returning their ids (also set as row["id"]). This runs inside the chain lock, so it
    goes straight to the driver: one statement for any number of rows (up to _MULTI_ROWS), no compilation."""
    postgres = conn.dialect.name == "postgresql"
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if postgres and len(rows) == 1:  # the common case: one prepared statement (psycopg prepares it)
            row = rows[0]
            cursor.execute(_PG_INSERT, [row[name] for name in _COLUMNS])
            row["id"] = cursor.fetchone()[0]
            return [row["id"]]
        by_seq = {row["seq"]: row for row in rows}
        for start in range(0, len(rows), _MULTI_ROWS):
            chunk = rows[start:start + _MULTI_ROWS]
            if postgres:
                params = [row[name] for row in chunk for name in _COLUMNS]
                cursor.execute(_multi_insert_sql(len(chunk), "%s"), params)
            else:
                params = [value for row in chunk for value in _sqlite_params(row)]
                cursor.execute(_multi_insert_sql(len(chunk), "?"), params)
            for id_, seq in cursor.fetchall():
                by_seq[seq]["id"] = id_
        return [row["id"] for row in rows]
    finally:
        cursor.close()


def _insert_subjects(conn, rows: list[dict[str, Any]]) -> None:
    """The listed subjects of the events just inserted (audit_event_subjects), in one statement."""
    pairs = [(row["id"], person) for row in rows for person in row.get(_SUBJECTS) or ()]
    if not pairs:
        return
    postgres = conn.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        for start in range(0, len(pairs), _MULTI_ROWS):
            chunk = pairs[start:start + _MULTI_ROWS]
            params = [v for event_id, person in chunk for v in (event_id, person if postgres else person.hex)]
            cursor.execute("INSERT INTO audit_event_subjects (event_id, person_id) VALUES "  # noqa: S608
                           + ", ".join([f"({mark}, {mark})"] * len(chunk)), params)
    finally:
        cursor.close()


@dataclasses.dataclass
class _ChainState:
    next_time_check: float = 0.0


def _checkpoint_due(conn, old: Head, new: Head) -> bool:
    """Every AUDIT_CHECKPOINT_EVERY events, or when the last checkpoint (else the first event) is older than
    AUDIT_CHECKPOINT_MINUTES. The time rule costs one query per process per minute at most."""
    config = current_app.config
    every = config.get("AUDIT_CHECKPOINT_EVERY") or 0
    if every > 0 and new.seq // every > old.seq // every:
        return True
    minutes = config.get("AUDIT_CHECKPOINT_MINUTES")
    if minutes is None or minutes < 0:
        return False
    state = current_app.extensions.setdefault("caseapp.audit_chain", _ChainState())
    now = time.monotonic()
    if now < state.next_time_check:
        return False
    state.next_time_check = now + min(60.0, minutes * 60.0)
    last = conn.execute(select(AuditCheckpoint.created_at).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar()
    if last is None:
        last = conn.execute(select(AuditEvent.occurred_at).where(AuditEvent.seq == 1)).scalar()
    return last is not None and utcnow() - last >= timedelta(minutes=minutes)


def _insert_checkpoint(conn, head: Head, key) -> Checkpoint:
    cp = Checkpoint.sign(key, head, utcnow())
    table = AuditCheckpoint.__table__
    new_id = conn.execute(
        table.insert().returning(table.c.id),
        {"created_at": cp.created_at, "event_id": cp.event_id, "event_count": cp.event_count,
         "head_hash": cp.head_hash, "key_id": cp.key_id, "signature": cp.signature},
    ).scalar_one()
    return dataclasses.replace(cp, id=new_id)


def _queue_for_sink(session: Session, cp: Checkpoint) -> None:
    sink, queued = session.info.setdefault(_SINK, (sink_from_config(current_app), []))
    queued.append(cp)


def write_checkpoint(*, force: bool = False) -> Checkpoint | None:
    """Sign the current head now (`caseapp audit checkpoint`, cron) and commit; also appended to the sink.

    Returns None when there is no event, or (unless `force`) when the last checkpoint already covers the head.
    Raises KeyConfigError when the signing key is unavailable.
    """
    key = current_app.extensions["caseapp.keys"].audit_signing_key()
    session = db.session()
    session.commit()  # start from a clean transaction: the lock is held from here to the commit below
    conn = session.connection()
    head = audit_chain.lock_and_read_head(conn)
    last = conn.execute(select(AuditCheckpoint.event_count, AuditCheckpoint.head_hash)
                        .order_by(AuditCheckpoint.id.desc()).limit(1)).first()
    if head.id is None or (not force and last is not None and (last[0], bytes(last[1])) == (head.seq, head.hash)):
        session.rollback()
        return None
    cp = _insert_checkpoint(conn, head, key)
    _queue_for_sink(session, cp)
    session.commit()
    return cp


def sink_path(app) -> str:
    """AUDIT_SINK_PATH, by default audit-checkpoints.jsonl beside the key directory."""
    configured = app.config.get("AUDIT_SINK_PATH")
    if configured:
        return str(configured)
    return str(Path(app.config["KEY_DIR"]).resolve().parent / "audit-checkpoints.jsonl")


def sink_from_config(app) -> audit_chain.NullSink | audit_chain.FileSink | audit_chain.SyslogSink:
    """The external sink of AUDIT_SINK (file | syslog | none), one per app and configuration."""
    cfg = app.config
    kind = (cfg.get("AUDIT_SINK") or "none").lower()
    settings = (kind, cfg.get("AUDIT_SINK_PATH"), cfg.get("AUDIT_SYSLOG_ADDRESS"), cfg.get("AUDIT_SYSLOG_FACILITY"))
    cached = app.extensions.get("caseapp.audit_sink")
    if cached is not None and cached[0] == settings:
        return cached[1]
    sink: audit_chain.NullSink | audit_chain.FileSink | audit_chain.SyslogSink
    if kind == "file":
        sink = audit_chain.FileSink(sink_path(app))
    elif kind == "syslog":
        address = cfg.get("AUDIT_SYSLOG_ADDRESS") or "/dev/log"
        if ":" in address and not address.startswith("/"):
            host, _, port = address.rpartition(":")
            address = (host, int(port))
        sink = audit_chain.SyslogSink(address, cfg.get("AUDIT_SYSLOG_FACILITY") or "auth")
    elif kind == "none":
        sink = audit_chain.NullSink()
    else:
        raise ValueError(f"AUDIT_SINK must be file, syslog or none, not {kind!r}")
    app.extensions["caseapp.audit_sink"] = (settings, sink)
    return sink
