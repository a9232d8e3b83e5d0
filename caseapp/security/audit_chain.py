"""Tamper evidence for the audit log: canonical encoding, hash chain, signed checkpoints, sinks, verification.

A plain library (no Flask request needed): `caseapp.security.audit` calls it when events are written, and
`caseapp audit verify` / tests call `verify_chain(connection, public_key, sink_path)` directly.

Event hash (format v1, frozen: changing it would invalidate every stored chain)::

    hash = SHA-256( header ‖ strings )
    header = ">4sQqB16s16s16s8i32s":  b"CAE\\x01", seq, occurred_at as µs since 1970 (UTC),
             presence bits of the three UUIDs, actor_user_id, actor_unit_id, subject_person_id (16 bytes each,
             zeros when absent), the byte lengths of the 8 text fields (-1 = NULL, 0 = empty), prev_hash
    strings = UTF-8 of actor_role, action, outcome, object_type, object_id, request_id, ip, details, concatenated

The header has a fixed size and carries every length, so the encoding is unambiguous; NULL differs from "".
`seq` is the event's position in the chain (1, 2, ...); `prev_hash` of the first event is 32 zero bytes.
The row id is not hashed (it is assigned by the database on insert); chain order is id order, and verification
requires `seq` to count up along it. Checkpoints sign (created_at, event_id, event_count, head_hash, key id).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import logging.handlers
import os
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

GENESIS = bytes(32)
EVENT_MAGIC = b"CAE\x01"
CHECKPOINT_MAGIC = b"CAC\x01"
# pg_advisory_xact_lock key of the chain ("caseaudt"); every appender and checkpoint writer takes it.
LOCK_KEY = 0x6361736561756474

TEXT_FIELDS = ("actor_role", "action", "outcome", "object_type", "object_id", "request_id", "ip", "details")
UUID_FIELDS = ("actor_user_id", "actor_unit_id", "subject_person_id")
# Column order of the verifier's raw SELECT (the hashed content, plus id and the stored hash).
EVENT_COLUMNS = (
    "id", "seq", "occurred_at", "actor_user_id", "actor_unit_id", "subject_person_id", *TEXT_FIELDS,
    "prev_hash", "hash",
)

_HEADER = struct.Struct(">4sQqB16s16s16s8i32s")
# The verifier packs the header's start (magic, seq, time) itself; the database assembles the rest (_EVENTS_SQL).
_HEADER_START = struct.Struct(">4sQq")
# The header's middle: the flags byte, the three UUIDs and the eight text lengths (then prev_hash ends the header).
_BODY = struct.Struct(">B16s16s16s8i")
assert _HEADER.size == _HEADER_START.size + _BODY.size + 32  # noqa: S101 - big-endian structs have no padding
_CHECKPOINT = struct.Struct(">4sqQQ32sB")
_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_NO_UUID = bytes(16)


class ChainError(RuntimeError):
    """The chain cannot be appended to safely (unsupported database, wrong isolation level, ...)."""


# ------------------------------------------------------------------------------------------ encoding


def micros(value: datetime | str) -> int:
    """Integer microseconds since 1970-01-01 UTC of a naive-UTC (or aware) datetime or its ISO text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - _EPOCH) // _US


def from_micros(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def uuid_bytes(value: Any) -> bytes | None:
    """16 bytes of a UUID given as `uuid.UUID`, hex text (SQLite storage) or bytes; None stays None."""
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, bytes | bytearray | memoryview) and len(value) == 16:
        return bytes(value)
    return uuid.UUID(str(value)).bytes


def encode_body(
    actor_user: bytes | None,
    actor_unit: bytes | None,
    subject: bytes | None,
    texts: Sequence[str | None],
) -> tuple[bytes, bytes]:
    """The parts of an event's encoding that do not depend on its place in the chain: the header's middle (the
    flags byte, the three UUIDs, the eight text lengths) and the strings. UUIDs as 16 bytes or None."""
    lens = []
    parts = []
    for text in texts:
        if text is None:
            lens.append(-1)
        else:
            raw = text.encode()
            lens.append(len(raw))
            parts.append(raw)
    flags = (actor_user is not None) | (actor_unit is not None) << 1 | (subject is not None) << 2
    body = _BODY.pack(flags, actor_user or _NO_UUID, actor_unit or _NO_UUID, subject or _NO_UUID, *lens)
    return body, b"".join(parts)


def encode_event(
    seq: int,
    occurred_us: int,
    actor_user: bytes | None,
    actor_unit: bytes | None,
    subject: bytes | None,
    texts: Sequence[str | None],
    prev_hash: bytes,
) -> bytes:
    """Canonical encoding v1 (see the module docstring). UUIDs as 16 bytes or None; `texts` in TEXT_FIELDS order."""
    body, strings = encode_body(actor_user, actor_unit, subject, texts)
    return _HEADER_START.pack(EVENT_MAGIC, seq, occurred_us) + body + prev_hash + strings


def _body_of(fields: dict[str, Any]) -> tuple[bytes, bytes]:
    return encode_body(
        uuid_bytes(fields.get("actor_user_id")),
        uuid_bytes(fields.get("actor_unit_id")),
        uuid_bytes(fields.get("subject_person_id")),
        [fields.get(name) for name in TEXT_FIELDS],
    )


def event_hash(fields: dict[str, Any], seq: int, prev_hash: bytes) -> bytes:
    """Hash of an event given as a dict of column values (Python types: datetime, UUID, str)."""
    body, strings = _body_of(fields)
    return _hash_parts(seq, micros(fields["occurred_at"]), body, strings, prev_hash)


def _hash_parts(seq: int, occurred_us: int, body: bytes, strings: bytes, prev_hash: bytes) -> bytes:
    return hashlib.sha256(_HEADER_START.pack(EVENT_MAGIC, seq, occurred_us) + body + prev_hash + strings).digest()


def chain_rows(rows: Iterable[dict[str, Any]], head_seq: int, head_hash: bytes) -> tuple[int, bytes]:
    """Set seq, prev_hash and hash on each row dict (in order) after the head (head_seq, head_hash).
    Returns the new head (seq, hash)."""
    seq, prev = head_seq, head_hash
    for row in rows:
        seq += 1
        row["seq"] = seq
        row["prev_hash"] = prev
        prev = row["hash"] = event_hash(row, seq, prev)
    return seq, prev


# ------------------------------------------------------------------------------------------ locking


@dataclass(frozen=True)
class Head:
    id: int | None
    seq: int
    hash: bytes


EMPTY_HEAD = Head(None, 0, GENESIS)
_HEAD_SQL = "SELECT id, seq, hash FROM audit_events ORDER BY id DESC LIMIT 1"
# One round trip: the lock, then the head read by a second statement, which in READ COMMITTED takes its
# snapshot after the lock was granted and so sees every event committed by the previous holder.
_PG_LOCK_HEAD = (
    f"SELECT pg_advisory_xact_lock({LOCK_KEY}), current_setting('transaction_isolation'), NULL; {_HEAD_SQL}"
)
# The same, and: when the transaction has written nothing so far (no transaction id assigned, which every
# INSERT/UPDATE/DELETE/DDL, row lock and temporary-table write does, however it was sent), its commit is made
# asynchronous (SET LOCAL synchronous_commit TO off). The server answers, so no client-side bookkeeping of
# "what did this transaction do" can be wrong; a transaction that wrote anything keeps its setting.
_PG_LOCK_HEAD_RELAX = (
    f"SELECT pg_advisory_xact_lock({LOCK_KEY}), current_setting('transaction_isolation'), "
    "CASE WHEN pg_catalog.pg_current_xact_id_if_assigned() IS NULL "
    "THEN pg_catalog.set_config('synchronous_commit', 'off', true) END; "
    f"{_HEAD_SQL}"
)
PG_SYNC_AGAIN = "SET LOCAL synchronous_commit TO on"
# SQLite: any write statement takes the database's write lock (held to commit/rollback), even one that
# changes no row. Taken before the head read, so no other connection (thread or process) can append between.
_SQLITE_WRITE_LOCK = "UPDATE audit_events SET seq = seq WHERE 0 = 1"


def lock_and_read_head(connection) -> Head:
    """Take the chain lock for the rest of `connection`'s transaction and return the current head.

    PostgreSQL: transaction-level advisory lock (released by commit/rollback), READ COMMITTED required.
    SQLite: the database write lock. The caller must append and commit promptly: appenders wait meanwhile.
    """
    return lock_read_head(connection)[0]


def lock_read_head(connection, *, relax_if_clean: bool = False) -> tuple[Head, bool]:
    """`lock_and_read_head`, and with `relax_if_clean` on PostgreSQL: make this transaction's commit
    asynchronous if (and only if) the transaction has not written anything yet. Returns (head, relaxed)."""
    dialect = connection.dialect.name
    relaxed = False
    if dialect == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(_PG_LOCK_HEAD_RELAX if relax_if_clean else _PG_LOCK_HEAD)
            _lock, isolation, setting = cursor.fetchone()
            if isolation != "read committed":
                raise ChainError(
                    f"the audit chain needs READ COMMITTED transactions, this one is {isolation!r}: "
                    "the head read after the lock would not see the previous holder's event"
                )
            relaxed = setting == "off"
            cursor.nextset()
            row = cursor.fetchone()
        finally:
            cursor.close()
    elif dialect == "sqlite":
        # Straight to the driver (pysqlite opens its transaction before the UPDATE, as for any DML).
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(_SQLITE_WRITE_LOCK)
            row = cursor.execute(_HEAD_SQL).fetchone()
        finally:
            cursor.close()
    else:
        raise ChainError(f"audit chain: unsupported database {dialect!r}")
    if row is None:
        return EMPTY_HEAD, relaxed
    return Head(row[0], row[1], bytes(row[2])), relaxed


# ------------------------------------------------------------------------ one-call append (PostgreSQL)

# The lock, the head read, the hash and the insert of one event (and its listed subjects) in one prepared call,
# instead of two round trips (the lock and head read, then the INSERT). The server hashes exactly the bytes the
# client sends (the encoding's middle and strings, built by `encode_body`) with the magic, seq and time in front and
# prev_hash between: the same encoding v1. The caller recomputes the hash from the returned seq and prev_hash before
# the commit (`append_one_pg`), and `caseapp audit verify` recomputes every hash itself, so the server's hashing is
# checked twice and never trusted. The function statements each take a fresh snapshot (VOLATILE, READ COMMITTED),
# so the head read after the lock sees the previous holder's event, as with two statements. Versioned by name:
# a change is a new function and a new migration (0014 created v1), never an edit of this text.
PG_APPEND_FUNCTION = "caseapp_audit_append_v1"
_PG_APPEND_ARGS = ("timestamp without time zone, uuid, uuid, text, text, text, text, text, uuid, text, text, text, "
                   "bigint, bytea, bytea, uuid[], boolean")
PG_APPEND_SIGNATURE = f"{PG_APPEND_FUNCTION}({_PG_APPEND_ARGS})"
PG_APPEND_FUNCTION_SQL = f"""CREATE OR REPLACE FUNCTION {PG_APPEND_FUNCTION}(
    p_occurred_at timestamp without time zone, p_actor_user_id uuid, p_actor_unit_id uuid, p_actor_role text,
    p_action text, p_outcome text, p_object_type text, p_object_id text, p_subject_person_id uuid,
    p_request_id text, p_ip text, p_details text,
    p_occurred_us bigint, p_body bytea, p_strings bytea, p_subjects uuid[], p_relax boolean,
    OUT new_id bigint, OUT new_seq bigint, OUT new_prev_hash bytea, OUT new_hash bytea, OUT relaxed boolean)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    isolation text := pg_catalog.current_setting('transaction_isolation');
BEGIN
    IF isolation <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'the audit chain needs READ COMMITTED transactions, this one is ' || isolation;
    END IF;
    relaxed := false;
    IF p_relax THEN  -- asynchronous commit only for a transaction that has written nothing yet (PostgreSQL 13+)
        relaxed := pg_catalog.pg_current_xact_id_if_assigned() IS NULL;
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock({LOCK_KEY});
    SELECT e.seq, e.hash INTO new_seq, new_prev_hash FROM audit_events e ORDER BY e.id DESC LIMIT 1;
    IF NOT FOUND THEN
        new_seq := 0;
        new_prev_hash := '\\x{GENESIS.hex()}'::bytea;
    END IF;
    new_seq := new_seq + 1;
    new_hash := pg_catalog.sha256('\\x{EVENT_MAGIC.hex()}'::bytea || pg_catalog.int8send(new_seq)
        || pg_catalog.int8send(p_occurred_us) || p_body || new_prev_hash || p_strings);
    INSERT INTO audit_events (occurred_at, actor_user_id, actor_unit_id, actor_role, action, outcome, object_type,
                              object_id, subject_person_id, request_id, ip, details, seq, prev_hash, hash)
    VALUES (p_occurred_at, p_actor_user_id, p_actor_unit_id, p_actor_role, p_action, p_outcome, p_object_type,
            p_object_id, p_subject_person_id, p_request_id, p_ip, p_details, new_seq, new_prev_hash, new_hash)
    RETURNING id INTO new_id;
    IF p_subjects IS NOT NULL THEN
        INSERT INTO audit_event_subjects (event_id, person_id) SELECT new_id, person FROM unnest(p_subjects) AS person;
    END IF;
    IF relaxed THEN
        PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
    END IF;
END
$fn$"""  # noqa: S608 - constants only
PG_DROP_APPEND_FUNCTION_SQL = f"DROP FUNCTION IF EXISTS {PG_APPEND_SIGNATURE}"
_PG_APPEND_CALL = (
    f"SELECT new_id, new_seq, new_prev_hash, new_hash, relaxed FROM {PG_APPEND_FUNCTION}("  # noqa: S608 - constant
    "%s::timestamp, %s::uuid, %s::uuid, %s::text, %s::text, %s::text, %s::text, %s::text, %s::uuid, %s::text, "
    "%s::text, %s::text, %s::bigint, %s::bytea, %s::bytea, %s::uuid[], %s::boolean)"
)
_APPEND_COLUMNS = ("occurred_at", "actor_user_id", "actor_unit_id", "actor_role", "action", "outcome", "object_type",
                   "object_id", "subject_person_id", "request_id", "ip", "details")
_HAS_APPEND = "caseapp.audit.pg_append_v1"  # Connection.info: whether this connection's database has the function


def pg_append_function(connection) -> bool:
    """Whether `append_one_pg` can be used on this connection: PostgreSQL with the function installed (migration
    0014, or `create_all`). Asked once per database connection; a database without it (not migrated yet) keeps
    the two-statement path and says so in the log."""
    if connection.dialect.name != "postgresql":
        return False
    info = connection.info
    known = info.get(_HAS_APPEND)
    if known is None:
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute("SELECT pg_catalog.to_regprocedure(%s) IS NOT NULL", [PG_APPEND_SIGNATURE])
            known = info[_HAS_APPEND] = bool(cursor.fetchone()[0])
        finally:
            cursor.close()
        if not known:
            log.warning("audit: %s is missing (run the migrations); events are appended in two statements",
                        PG_APPEND_SIGNATURE)
    return known


def append_one_pg(connection, fields: dict[str, Any], subjects: Sequence[uuid.UUID] | None = None, *,
                  relax_if_clean: bool = False) -> tuple[Head, bool]:
    """PostgreSQL: chain and insert one event (a dict of column values, as `chain_rows` takes) with its listed
    subjects in one call of the append function, holding the chain lock to the end of the transaction. Sets
    id, seq, prev_hash and hash on `fields`; returns (the head before it, relaxed) as `lock_read_head` does.
    Raises ChainError, before the commit, if the server's hash is not the encoding's."""
    occurred_us = micros(fields["occurred_at"])
    body, strings = _body_of(fields)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(_PG_APPEND_CALL, [*(fields[name] for name in _APPEND_COLUMNS), occurred_us, body, strings,
                                         list(subjects) if subjects else None, relax_if_clean])
        new_id, seq, prev_hash, digest, relaxed = cursor.fetchone()
    finally:
        cursor.close()
    prev_hash, digest = bytes(prev_hash), bytes(digest)
    if digest != _hash_parts(seq, occurred_us, body, strings, prev_hash):
        raise ChainError(f"audit append: the database's hash of event seq {seq} is not the canonical encoding's")
    fields.update(id=new_id, seq=seq, prev_hash=prev_hash, hash=digest)
    return Head(None, seq - 1, prev_hash), relaxed


# --------------------------------------------------------------------------------------- checkpoints


def key_id(public_key: Ed25519PublicKey) -> str:
    """Fingerprint of a public key: first 16 hex digits of SHA-256 over its 32 raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(created_us: int, event_id: int, event_count: int, head_hash: bytes, kid: str) -> bytes:
    raw_kid = kid.encode("ascii")
    return _CHECKPOINT.pack(CHECKPOINT_MAGIC, created_us, event_id, event_count, head_hash, len(raw_kid)) + raw_kid


@dataclass(frozen=True)
class Checkpoint:
    created_at: datetime
    event_id: int
    event_count: int
    head_hash: bytes
    key_id: str
    signature: bytes
    id: int | None = None

    @classmethod
    def sign(cls, private_key: Ed25519PrivateKey, head: Head, created_at: datetime) -> Checkpoint:
        if head.id is None:
            raise ChainError("no events to checkpoint")
        created_at = from_micros(micros(created_at))  # what the database keeps
        kid = key_id(private_key.public_key())
        message = checkpoint_message(micros(created_at), head.id, head.seq, head.hash, kid)
        return cls(created_at, head.id, head.seq, head.hash, kid, private_key.sign(message))

    def message(self) -> bytes:
        return checkpoint_message(micros(self.created_at), self.event_id, self.event_count, self.head_hash,
                                  self.key_id)

    def signature_valid(self, keys: dict[str, Ed25519PublicKey]) -> bool | None:
        """True/False; None when the key that signed it is not among `keys`."""
        key = keys.get(self.key_id)
        if key is None:
            return None
        try:
            key.verify(self.signature, self.message())
        except InvalidSignature:
            return False
        return True

    def to_json(self) -> str:
        return json.dumps(
            {
                "type": "caseapp.audit.checkpoint", "v": 1, "id": self.id,
                "created_at": self.created_at.isoformat(timespec="microseconds"),
                "event_id": self.event_id, "event_count": self.event_count,
                "head_hash": self.head_hash.hex(), "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode("ascii"),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parses a sink line; a syslog prefix before the JSON object is skipped."""
        data = json.loads(text[text.index("{"):])
        if data.get("type") != "caseapp.audit.checkpoint" or data.get("v") != 1:
            raise ValueError("not a caseapp audit checkpoint (v1)")
        return cls(
            created_at=datetime.fromisoformat(data["created_at"]),
            event_id=int(data["event_id"]),
            event_count=int(data["event_count"]),
            head_hash=bytes.fromhex(data["head_hash"]),
            key_id=str(data["key_id"]),
            signature=base64.b64decode(data["signature"], validate=True),
            id=data.get("id"),
        )

    def describe(self) -> str:
        where = f"#{self.id}" if self.id is not None else "(no id)"
        return (f"checkpoint {where} of {self.created_at:%Y-%m-%d %H:%M:%S} UTC "
                f"({self.event_count} events up to event #{self.event_id})")


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a public key, or a private key whose public half is used)."""
    data = Path(path).read_bytes()
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        key = serialization.load_pem_private_key(data, password=None).public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} does not hold an Ed25519 key")
    return key


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


# ---------------------------------------------------------------------------------------------- sinks


class NullSink:
    kind = "none"

    def append(self, checkpoints: Sequence[Checkpoint]) -> None:
        pass


class FileSink:
    """JSON lines appended with O_APPEND and fsynced; the file is created 0640 if absent."""

    kind = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def append(self, checkpoints: Sequence[Checkpoint]) -> None:
        if not checkpoints:
            return
        data = "".join(cp.to_json() + "\n" for cp in checkpoints).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)


class SyslogSink:
    """Each checkpoint as one syslog message "caseapp-audit-checkpoint: {json}" (forward it off the host)."""

    kind = "syslog"

    def __init__(self, address: str | tuple[str, int] = "/dev/log", facility: str = "auth") -> None:
        self.handler = logging.handlers.SysLogHandler(
            address=address, facility=logging.handlers.SysLogHandler.facility_names[facility]
        )
        self.handler.setFormatter(logging.Formatter("caseapp-audit-checkpoint: %(message)s"))

    def append(self, checkpoints: Sequence[Checkpoint]) -> None:
        for cp in checkpoints:
            self.handler.emit(logging.LogRecord("caseapp.audit", logging.INFO, __file__, 0, cp.to_json(), None, None))


def read_sink(path: str | Path) -> list[tuple[int, Checkpoint | str]]:
    """(line number, Checkpoint or an error text) for every non-empty line; [] when the file does not exist."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out: list[tuple[int, Checkpoint | str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((number, Checkpoint.from_json(line)))
        except (ValueError, KeyError, TypeError) as exc:
            out.append((number, f"unreadable line: {exc}"))
    return out


# --------------------------------------------------------------------------------------- verification


@dataclass
class Problem:
    kind: str
    message: str
    event_id: int | None = None
    seq: int | None = None
    occurred_at: datetime | None = None
    order: float | None = None  # place in chain order when there is no event to name (a cut-off tail)

    def describe(self) -> str:
        where = []
        if self.event_id is not None:
            where.append(f"event #{self.event_id}")
        if self.seq is not None:
            where.append(f"position {self.seq}")
        if self.occurred_at is not None:
            where.append(f"{self.occurred_at:%Y-%m-%d %H:%M:%S.%f} UTC")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


@dataclass
class VerifyResult:
    events: int = 0
    head_id: int | None = None
    head_hash: bytes = GENESIS
    checkpoints: int = 0
    last_checkpoint: Checkpoint | None = None
    sink_checked: bool = False
    sink_lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken(self) -> Problem | None:
        """The problem earliest in chain (id) order; a cut-off tail and problems without an event come last."""
        if not self.problems:
            return None
        def place(p: Problem) -> float:
            return p.order if p.order is not None else p.event_id if p.event_id is not None else float("inf")

        return min(self.problems, key=place)


# Raw rows for the verifier, in chain (id) order. PostgreSQL assembles the parts of the canonical encoding that
# need no Python: (id, seq, occurred_at µs, middle, texts, prev_hash, hash), where `middle` is the flags byte, the
# three UUIDs and the eight text lengths, and `texts` the UTF-8 texts concatenated (its typed columns always hold
# what the encoding expects); Python then packs seq and the time, joins and hashes: one join and one SHA-256 per
# event. Function names are schema-qualified (pg_catalog). The hash itself is always recomputed here. SQLite gives the columns as stored (ISO text for the time, hex text for UUIDs,
# with text_factory=bytes the UTF-8 bytes of the texts) and Python encodes them: SQLite's own string functions
# (printf, concatenation) cost more per row than doing it in Python.
# The time as PostgreSQL's binary timestamp: int64 microseconds since 2000-01-01 (integer datetimes, the only kind
# since PostgreSQL 10); cheaper for the server than EXTRACT (numeric), exact, and shifted to 1970 in Python.
_PG_MICROS = "pg_catalog.timestamp_send(occurred_at)"
_PG_EPOCH_SHIFT_US = 946_684_800 * 1_000_000  # 2000-01-01 - 1970-01-01 in microseconds
_PG_ZERO16 = "'\\x00000000000000000000000000000000'::bytea"
_PG_FLAGS = ("pg_catalog.substr(pg_catalog.int4send((actor_user_id IS NOT NULL)::int "
             "| ((actor_unit_id IS NOT NULL)::int << 1) | ((subject_person_id IS NOT NULL)::int << 2)), 4, 1)")
_PG_MIDDLE = " || ".join(
    [_PG_FLAGS]
    + [f"COALESCE(pg_catalog.uuid_send({name}), {_PG_ZERO16})" for name in UUID_FIELDS]
    + [f"pg_catalog.int4send(COALESCE(pg_catalog.octet_length({name}), -1))" for name in TEXT_FIELDS]
)
_PG_TEXTS = " || ".join(f"COALESCE(pg_catalog.convert_to({name}, 'UTF8'), ''::bytea)" for name in TEXT_FIELDS)
_EVENTS_SQL = {
    "postgresql": f"SELECT id, seq, {_PG_MICROS}, {_PG_MIDDLE}, {_PG_TEXTS}, prev_hash, hash FROM audit_events",  # noqa: S608
    "sqlite": f"SELECT id, seq, occurred_at, {', '.join(UUID_FIELDS)}, {', '.join(TEXT_FIELDS)}, prev_hash, hash FROM audit_events",  # noqa: S608
}
_CHECKPOINTS_SQL = (
    "SELECT id, created_at, event_id, event_count, head_hash, key_id, signature FROM audit_checkpoints ORDER BY id"
)
PARALLEL_MIN_EVENTS = 200_000


def _to_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _read_checkpoints(connection) -> list[Checkpoint]:
    rows = connection.exec_driver_sql(_CHECKPOINTS_SQL).fetchall()
    return [
        Checkpoint(created_at=_to_datetime(r[1]), event_id=r[2], event_count=r[3], head_hash=bytes(r[4]),
                   key_id=r[5], signature=bytes(r[6]), id=r[0])
        for r in rows
    ]


def _events_sql(dialect: str, lo: int | None, hi: int | None) -> str:
    where = []
    if lo is not None:
        where.append(f"id > {int(lo)}")
    if hi is not None:
        where.append(f"id <= {int(hi)}")
    return _EVENTS_SQL[dialect] + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"


def _batches(raw, dialect: str, lo: int | None, hi: int | None, batch_size: int):
    """Raw DBAPI rows in id order, `batch_size` at a time (a server-side cursor on PostgreSQL)."""
    if dialect == "postgresql":
        cursor = raw.cursor(name=f"caseapp_audit_verify_{os.getpid()}_{lo}", binary=True)
        cursor.itersize = batch_size
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(_events_sql(dialect, lo, hi))
        while batch := cursor.fetchmany(batch_size):
            yield batch
    finally:
        cursor.close()


@dataclass
class _Scan:
    """What one pass over a run of consecutive events found; runs are joined by `_join`."""

    n: int = 0
    head: list[tuple] = field(default_factory=list)  # unlinked first rows: (id, seq, µs, prev_hash, hash, content_ok)
    last: tuple | None = None  # (id, seq, µs, hash, content_ok)
    before_last_hash: bytes | None = None
    problems: list[Problem] = field(default_factory=list)
    at: dict[int, tuple] = field(default_factory=dict)  # seq -> (id, hash, occurred_at), for watched positions


_ENCODING_ERRORS = (struct.error, TypeError, ValueError, OverflowError, AttributeError, binascii.Error)


def _scan(batches, dialect: str, watch: set[int], chain_start: bool, progress=None, max_problems: int = 50) -> _Scan:
    """Recompute each event's hash and check its link to the previous event of the run. The links of the first
    two events of a run that does not start the chain (`chain_start` False) need the previous run: `_join`.

    PostgreSQL rows come with the encoding's fixed parts assembled by the server (one join and one SHA-256 per
    event here); SQLite rows are encoded here field by field. Written out rather than looped or factored into
    helpers: this loop runs once per event and is the verification time."""
    out = _Scan()
    problems = out.problems
    at = out.at
    sqlite = dialect == "sqlite"
    sha256 = hashlib.sha256
    pack = _HEADER.pack
    head = _HEADER_START.pack
    join = b"".join
    from_hex = binascii.a2b_hex
    fromiso = datetime.fromisoformat
    from_bytes, shift = int.from_bytes, _PG_EPOCH_SHIFT_US
    epoch, one_us, zero, magic, empty = _EPOCH, _US, _NO_UUID, EVENT_MAGIC, b""
    prev_hash: bytes | None = GENESIS if chain_start else None
    unlinked = 0 if chain_start else 2
    prev_seq = 0
    prev_id = prev_occ = prev_ok = None
    before_prev_hash: bytes | None = None
    n = 0
    for batch in batches:
        for row in batch:
            n += 1
            if sqlite:
                eid, seq, occ, au, aun, subj, t0, t1, t2, t3, t4, t5, t6, t7, row_prev, row_hash = row
                try:
                    occ = (fromiso(occ.decode()) - epoch) // one_us
                    flags = 0
                    if au is None:
                        au = zero
                    else:
                        au = from_hex(au)
                        flags = 1
                    if aun is None:
                        aun = zero
                    else:
                        aun = from_hex(aun)
                        flags |= 2
                    if subj is None:
                        subj = zero
                    else:
                        subj = from_hex(subj)
                        flags |= 4
                    content_ok = sha256(
                        pack(magic, seq, occ, flags, au, aun, subj,
                             -1 if t0 is None else len(t0), -1 if t1 is None else len(t1),
                             -1 if t2 is None else len(t2), -1 if t3 is None else len(t3),
                             -1 if t4 is None else len(t4), -1 if t5 is None else len(t5),
                             -1 if t6 is None else len(t6), -1 if t7 is None else len(t7), row_prev)
                        + join((t0 or empty, t1 or empty, t2 or empty, t3 or empty,
                                t4 or empty, t5 or empty, t6 or empty, t7 or empty))
                    ).digest() == row_hash
                except _ENCODING_ERRORS:
                    content_ok = False  # a value that cannot even be encoded (wrong type, NULL hash, bad UUID text)
                    occ = occ if isinstance(occ, int) else None
            else:
                eid, seq, occ, middle, texts, row_prev, row_hash = row
                try:
                    occ = from_bytes(occ, "big", signed=True) + shift
                    content_ok = sha256(join((head(magic, seq, occ), middle, row_prev, texts))).digest() == row_hash
                except _ENCODING_ERRORS:
                    content_ok = False  # a value that cannot even be encoded (NULL seq, time or hash)
                    occ = occ if isinstance(occ, int) else None
            if n > unlinked and content_ok and row_prev == prev_hash and seq == prev_seq + 1:
                pass  # the common case, tested first
            elif n <= unlinked:
                out.head.append((eid, seq, occ, row_prev, row_hash, content_ok))
                if not content_ok:
                    _classify(problems, eid, seq, occ, False, True, row_prev, 0, None, None)
            elif n == 1:  # the first event of the chain
                if not content_ok:
                    _classify(problems, eid, seq, occ, False, True, row_prev, 0, None, None)
                else:
                    problems.append(Problem(
                        "deleted", "the first event does not start the chain: events before it were deleted",
                        eid, seq, _when(occ)))
            elif len(problems) < max_problems:
                _classify(problems, eid, seq, occ, content_ok, row_prev == prev_hash, row_prev, prev_seq,
                          (prev_id, prev_seq, prev_occ, prev_hash, prev_ok), before_prev_hash)
            if seq in watch:
                at[seq] = (eid, row_hash, occ)
            before_prev_hash = prev_hash
            prev_hash = row_hash
            prev_seq = seq if type(seq) is int else prev_seq + 1
            prev_id, prev_occ, prev_ok = eid, occ, content_ok
        if progress is not None:
            progress(len(batch))
    out.n = n
    out.last = (prev_id, prev_seq, prev_occ, prev_hash, prev_ok) if n else None
    out.before_last_hash = before_prev_hash
    return out


def _when(us: int | None) -> datetime | None:
    return None if us is None else from_micros(us)


def _classify(problems, eid, seq, occ, content_ok, link_ok, row_prev, prev_seq, prev, before_prev_hash) -> None:
    """Name the first broken event at the row (eid, seq) that failed a check; `prev` is the previous row
    (id, seq, occurred_at µs, hash, content_ok) and `before_prev_hash` the hash of the row before that."""
    if not content_ok:
        problems.append(Problem("edited", "the event's content does not match its hash: it was altered after it "
                                "was written", eid, seq, _when(occ)))
    elif not link_ok:
        if before_prev_hash is not None and row_prev == before_prev_hash:
            problems.append(Problem("inserted", f"this event is not part of the chain: the next event (#{eid}) "
                                    "links past it (inserted event)", prev[0], prev[1], _when(prev[2])))
        elif prev[4] and seq == prev_seq + 1:
            problems.append(Problem("edited", f"the event was altered and its hash recomputed: the next event "
                                    f"(#{eid}) links to a different hash", prev[0], prev[1], _when(prev[2])))
        else:
            problems.append(Problem("link", f"the event does not link to the previous event #{prev[0]} (position "
                                    f"{prev_seq} is followed by {seq}): events were deleted, inserted or "
                                    "reordered before it", eid, seq, _when(occ)))
    else:
        problems.append(Problem("sequence", f"position {seq} follows position {prev_seq} (expected {prev_seq + 1})",
                                eid, seq, _when(occ)))


def _join(runs: list[_Scan]) -> _Scan:
    """Join the scans of consecutive runs: check the links of each run's unlinked first rows."""
    out = _Scan()
    for run in runs:
        if run.n == 0:
            continue
        prev, before_prev_hash = out.last, out.before_last_hash
        for eid, seq, occ, row_prev, row_hash, content_ok in run.head:
            if prev is None:
                if content_ok and not (row_prev == GENESIS and seq == 1):
                    out.problems.append(Problem(
                        "deleted", "the first event does not start the chain: events before it were deleted",
                        eid, seq, _when(occ)))
            elif content_ok and not (row_prev == prev[3] and seq == prev[1] + 1):
                _classify(out.problems, eid, seq, occ, True, row_prev == prev[3], row_prev, prev[1], prev,
                          before_prev_hash)
            before_prev_hash = prev[3] if prev is not None else None
            prev = (eid, seq, occ, row_hash, content_ok)
        out.problems.extend(run.problems)
        out.at.update(run.at)
        out.n += run.n
        if run.n > len(run.head):
            out.last, out.before_last_hash = run.last, run.before_last_hash
        else:
            out.last, out.before_last_hash = prev, before_prev_hash
    return out


def _scan_range(job: tuple) -> _Scan:
    """Worker process: scan the events lo < id <= hi over a connection of its own."""
    url, dialect, lo, hi, watch, chain_start, batch_size = job
    if dialect == "sqlite":
        import sqlite3

        raw = sqlite3.connect(url)
        raw.text_factory = bytes
    else:
        import psycopg

        raw = psycopg.connect(url)
    try:
        return _scan(_batches(raw, dialect, lo, hi, batch_size), dialect, watch, chain_start)
    finally:
        raw.close()


def _worker_url(connection) -> str | None:
    """Where a worker process can open the same database, or None (in-memory SQLite, other drivers)."""
    url = connection.engine.url
    if url.get_backend_name() == "sqlite":
        return url.database if url.database and url.database != ":memory:" and "mode=memory" not in str(url) \
            else None
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def _scan_all(connection, watch: set[int], progress, batch_size: int, workers: int | None) -> _Scan:
    dialect = connection.dialect.name
    if dialect not in _EVENTS_SQL:
        raise ChainError(f"audit chain: unsupported database {dialect!r}")
    bounds = connection.exec_driver_sql("SELECT min(id), max(id), count(*) FROM audit_events").first()
    lo_id, hi_id, count = bounds if bounds else (None, None, 0)
    if workers is None:
        workers = min(os.cpu_count() or 1, 8)
    url = _worker_url(connection) if workers > 1 and count >= PARALLEL_MIN_EVENTS else None
    if url is None:
        raw = connection.connection.dbapi_connection
        factory = getattr(raw, "text_factory", None)
        if dialect == "sqlite":
            raw.text_factory = bytes
        try:
            # Bounded by the max id read above, like the parallel runs: later appends are not part of this check.
            return _scan(_batches(raw, dialect, None, hi_id, batch_size), dialect, watch, True, progress)
        finally:
            if dialect == "sqlite":
                raw.text_factory = factory
    import multiprocessing

    chunks = workers * 4
    step = max(1, -(-(hi_id - lo_id + 1) // chunks))
    edges = [lo_id - 1 + i * step for i in range(chunks)] + [hi_id]
    jobs = [(url, dialect, None if i == 0 else edges[i], edges[i + 1], watch, i == 0, batch_size)
            for i in range(chunks) if edges[i] < edges[i + 1]]
    # fork: workers start at once and need nothing from the parent but the job tuple (they open their own
    # connections); spawn where fork does not exist.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    runs: list[_Scan] = []
    with multiprocessing.get_context(method).Pool(workers) as pool:
        for run in pool.imap(_scan_range, jobs):
            runs.append(run)
            if progress is not None:
                progress(run.n)
    return _join(runs)


def verify_chain(
    connection,
    public_key: Ed25519PublicKey | None,
    sink_path: str | Path | None = None,
    *,
    public_keys: Iterable[Ed25519PublicKey] = (),
    progress: Callable[[int], None] | None = None,
    batch_size: int = 10_000,
    workers: int | None = None,
    max_problems: int = 50,
) -> VerifyResult:
    """Recompute the whole chain, check every checkpoint signature and that each checkpoint (in the database
    and, with `sink_path`, in the external sink) matches the chain at its event; compare the last checkpoint
    with the sink's. `public_keys` adds retired keys, so checkpoints signed before a key rotation verify.

    Reads in this order: sink, checkpoints, events, so whatever is appended meanwhile comes after what was
    read before, and a live system verifies without false alarms. From PARALLEL_MIN_EVENTS events on, the
    events are scanned by `workers` processes (default: one per CPU, at most 8) in id ranges; each event's
    check needs only its own row and its predecessor's hash, so the runs are joined exactly.
    """
    started = time.perf_counter()
    result = VerifyResult()
    keys = {key_id(k): k for k in ([public_key] if public_key is not None else []) + list(public_keys)}
    problems = result.problems

    def add(problem: Problem) -> None:
        if len(problems) < max_problems:
            problems.append(problem)

    expected: dict[int, list[tuple[str, Checkpoint]]] = {}  # position -> authentic checkpoints there

    def check_signature(cp: Checkpoint, source: str) -> bool:
        valid = cp.signature_valid(keys)
        if valid:
            expected.setdefault(cp.event_count, []).append((source, cp))
            return True
        what = ("is signed by unknown key " + cp.key_id + " (pass its public key with --public-key)"
                if valid is None else "has an invalid signature: forged or altered")
        add(Problem("checkpoint_signature", f"{source}: {cp.describe()} {what}", cp.event_id, cp.event_count))
        return False

    sink_entries: list[tuple[int, Checkpoint | str]] | None = None
    if sink_path is not None:
        sink_entries = read_sink(sink_path)
        result.sink_checked = True
        result.sink_lines = len(sink_entries)
        if not Path(sink_path).exists():
            result.warnings.append(f"sink file {sink_path} does not exist")

    db_checkpoints = _read_checkpoints(connection)
    result.checkpoints = len(db_checkpoints)
    good_db = [cp for cp in db_checkpoints if check_signature(cp, "database")]
    good_sink: list[Checkpoint] = []
    for number, entry in sink_entries or []:
        if isinstance(entry, str):
            add(Problem("sink_line", f"sink line {number}: {entry}"))
        elif check_signature(entry, f"sink line {number}"):
            good_sink.append(entry)

    watch = {1} | set(expected) | {c + 1 for c in expected}
    scan = _scan_all(connection, watch, progress, batch_size, workers)
    for problem in scan.problems:
        add(problem)
    result.events = scan.n
    last_seq = 0
    if scan.last is not None:
        result.head_id, last_seq, result.head_hash = scan.last[0], scan.last[1], scan.last[3]

    if scan.last is not None:
        _check_subjects(connection, scan.last[0], add)

    # Each authentic checkpoint must match the chain at its position; the first that does not shows that the
    # events after the previous matching checkpoint were altered and re-chained (without the signing key).
    last_good = 0
    for count in sorted(expected):
        row = scan.at.get(count)
        if row is None and count <= last_seq:
            continue  # the chain skips this position: reported as a broken link already
        broken = next(((source, cp) for source, cp in expected[count]
                       if row is None or (cp.event_id, cp.head_hash) != (row[0], row[1])), None)
        if broken is None:
            last_good = count
            continue
        source, cp = broken
        if row is None and (result.head_id is None or cp.event_id > result.head_id):
            last = f"event #{result.head_id} at position {last_seq}" if scan.last else "no event at all"
            add(Problem("truncated",
                        f"the log ends with {last}, but the signed {cp.describe()} from the {source} covers more: "
                        f"{cp.event_count - last_seq} event(s) were deleted from the end", None, last_seq + 1,
                        order=(result.head_id or 0) + 0.5))
        else:
            first_id, _, first_us = scan.at.get(last_good + 1) or (result.head_id, None, None)
            upto = f"#{row[0]} (position {count})" if row else f"#{cp.event_id}"
            add(Problem("rechained",
                        f"the chain up to event {upto} does not match the signed {cp.describe()} from the {source}: "
                        f"an event from here to {upto} was altered, inserted or deleted and the chain after it "
                        "recomputed", first_id, last_good + 1, _when(first_us)))
        break

    db_last = max(good_db, key=lambda c: (c.event_count, c.created_at, c.id or 0), default=None)
    result.last_checkpoint = db_last
    if sink_entries is not None:
        _compare_sink(add, result, db_last, good_sink, good_db, sink_path, keys)
    elif db_checkpoints:
        result.warnings.append("the last checkpoint was not compared with an external sink")
    result.seconds = time.perf_counter() - started
    return result


#: audit.SUBJECT_ACTIONS, as SQL (the events that may name several people)
_SUBJECT_ACTIONS_SQL = "'list', 'search'"


def _check_subjects(connection, hi_id: int, add) -> None:
    """The lookup rows of audit_event_subjects must be exactly the people each event names in its (chained)
    details["people"]: a deleted, added or changed row would hide a read from "who has read" or invent one.

    Streams both sides in event-id order and compares them event by event (a merge), so that memory stays at
    one event's people however long the log is (a start page names about 16 people; a million page views
    would otherwise be millions of pairs in memory). PostgreSQL reads through server-side cursors."""
    # per statement: Connection.execution_options() would change the caller's connection for good
    streaming = {"stream_results": True, "yield_per": 5000}
    listed = connection.exec_driver_sql(
        "SELECT id, details FROM audit_events WHERE subject_person_id IS NULL "  # noqa: S608 - constants and an int
        f"AND action IN ({_SUBJECT_ACTIONS_SQL}) AND object_type = 'person' AND id <= {int(hi_id)} ORDER BY id",
        execution_options=streaming)
    rows = connection.exec_driver_sql(
        f"SELECT event_id, person_id FROM audit_event_subjects WHERE event_id <= {int(hi_id)} "  # noqa: S608 - an int
        "ORDER BY event_id", execution_options=streaming)
    try:
        wanted = _listed_people(listed)
        present = _subject_rows(rows)
        want, got = next(wanted, None), next(present, None)
        while want is not None or got is not None:
            if got is None or (want is not None and want[0] < got[0]):
                event_id, people, found = want[0], want[1], set()
                want = next(wanted, None)
            elif want is None or got[0] < want[0]:
                event_id, people, found = got[0], set(), got[1]
                got = next(present, None)
            else:
                event_id, people, found = want[0], want[1], got[1]
                want, got = next(wanted, None), next(present, None)
            if people != found:
                add(Problem("subjects", f"the lookup rows of the people listed by event #{event_id} were altered: "
                            f"{len(people - found)} missing, {len(found - people)} not in the signed event", event_id))
    finally:
        listed.close()
        rows.close()
    # Rows beyond the events read: an event appended since has its rows committed with it, so a row whose event
    # is not in the log at all was written by hand (there is no foreign key: see security.audit.AuditEventSubject).
    for event_id, count in connection.exec_driver_sql(
            "SELECT s.event_id, count(*) FROM audit_event_subjects s LEFT JOIN audit_events e "  # noqa: S608 - an int
            f"ON e.id = s.event_id WHERE s.event_id > {int(hi_id)} AND e.id IS NULL GROUP BY s.event_id "
            "ORDER BY s.event_id"):
        add(Problem("subjects", f"{count} lookup rows name event #{event_id}, which is not in the log", event_id))


def _listed_people(result) -> Iterator[tuple[int, set[str]]]:
    """(event id, the people its details name) for each list event that names people, in id order."""
    for event_id, details in result:
        if isinstance(details, bytes):
            details = details.decode()
        try:
            people = json.loads(details).get("people") if details else None
        except ValueError:
            continue  # undecodable details are reported by the chain check (their hash does not match)
        if people:
            yield event_id, set(people)


def _subject_rows(result) -> Iterator[tuple[int, set[str]]]:
    """(event id, the people of its lookup rows, as hex), grouped from rows in event-id order."""
    current, people = None, set()
    for event_id, person_id in result:
        if event_id != current:
            if current is not None:
                yield current, people
            current, people = event_id, set()
        if isinstance(person_id, bytes):
            person_id = person_id.decode()
        people.add(uuid.UUID(str(person_id)).hex)
    if current is not None:
        yield current, people


def _compare_sink(add, result: VerifyResult, db_last, good_sink, good_db, sink_path, keys) -> None:
    sink_last = max(good_sink, key=lambda c: (c.event_count, c.created_at), default=None)
    db_signatures = {cp.signature for cp in good_db}
    if sink_last is not None and sink_last.signature not in db_signatures:
        add(Problem("checkpoint_missing",
                    f"the sink's last checkpoint ({sink_last.describe()}) is not in the database: "
                    "checkpoints were deleted or replaced", sink_last.event_id, sink_last.event_count))
        return
    if db_last is None:
        return
    behind = sink_last is None or (db_last.event_count, db_last.created_at) > (sink_last.event_count,
                                                                               sink_last.created_at)
    if behind:
        # A checkpoint is appended to the sink right after its commit: read again before calling it missing.
        time.sleep(0.2)
        again = [e for _, e in read_sink(sink_path) if isinstance(e, Checkpoint) and e.signature_valid(keys)]
        if db_last.signature not in {cp.signature for cp in again}:
            add(Problem("sink_behind",
                        f"the database's last {db_last.describe()} is not in the sink {sink_path}: the sink was "
                        "truncated or replaced, or writing to it failed (see the application log)",
                        db_last.event_id, db_last.event_count))
