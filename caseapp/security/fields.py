"""Encrypted model fields: a descriptor over a LargeBinary column, encrypted with the subject person's data key.

How a model encrypts a text field (cases, journal notes, referrals do the same as `people.models.Person`)::

    from caseapp.security.fields import Encrypted

    class JournalNote(db.Model):
        __tablename__ = "journal_notes"
        __encrypted_owner__ = "person_id"         # attribute holding the subject person's id (the key owner)

        id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
        person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
        text_enc: Mapped[bytes | None] = mapped_column(LargeBinary)   # ciphertext, never read directly
        text = Encrypted("text_enc")                                     # str | None, in clear in Python only

    note = JournalNote(person_id=person.id, text="...")   # owner first: the key is looked up on assignment
    note.text                                               # decrypts

Rules the descriptor enforces:

- The ciphertext is bound (AAD) to (table, column, row id) with the owner's data key (`crypto.DataKey`); the
  row id is the model's `id`, generated here in Python on first assignment if it is still None, so it exists
  before the flush. A ciphertext copied to another row, column or person raises `crypto.DecryptionError`
  naming table, column and row (and is logged by `crypto`, without plaintext). None and "" stay distinct.
- The owner's data key is unwrapped once per unit of work and kept in a `KeyScope` stored in the SQLAlchemy
  session's `info`; the scope is dropped when the session's outermost transaction ends (commit, rollback,
  close). A request commits once, so keys live for one request at most; CLI jobs and tests get the same
  behaviour per transaction. Unwrapped keys are never shared across requests, sessions or users.
- A shredded owner (wrapped key deleted) raises `crypto.ShreddedError`; views show the "gallrade" state.
- Every mapped model that declares `Encrypted` fields is found by `registered_fields()` (through the
  declarative registry), so `caseapp keys reencrypt` re-encrypts every encrypted field of a person in every
  table without a list of tables to maintain. `__encrypted_owner__` is required on such a model.

The wrapped data keys live in `people.models.PersonKey` (one row per person). `Person` reads its key row's
columns with its own row (`Person.__key_columns__`), so the scope unwraps without an ORM object or a query
per person; a key row changed through the ORM in the unit of work makes the scope read the `PersonKey` row
instead (`KeyScope.forget`). New key rows are written with one Core insert per flush (`create_key`).
"""

from __future__ import annotations

import contextlib
import enum
import uuid
from collections.abc import Iterator
from typing import Any, overload

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from flask.globals import _cv_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from caseapp.extensions import db
from caseapp.security import services
from caseapp.security.crypto import (
    BlindIndexer,
    CryptoError,
    DataKey,
    KeyRing,
    uuid_location_prefix,
    wrap_aad,
)
from caseapp.timeutil import utcnow

__all__ = [
    "Encrypted",
    "KeyScope",
    "KeyState",
    "MissingDataKey",
    "blind_indexer",
    "fields_of",
    "key_ring",
    "key_scope",
    "key_state_of",
    "reencrypt_owner_rows",
    "registered_fields",
]

_SCOPE = "caseapp.key_scope"


class MissingDataKey(CryptoError):
    """The owner has no data key row at all (never created): a programming error, not a shredded person."""

    def __init__(self, owner_id: Any) -> None:
        self.owner_id = owner_id
        super().__init__(f"no data key exists for owner {owner_id}; create it (KeyScope.create_key) first")


# ---------------------------------------------------------------------------------------------- services


def key_ring() -> KeyRing:
    """A key ring over the app's current key provider (the provider is what holds the KEKs; the ring holds
    nothing else, so one per provider is kept in the app's extensions). Every unit of work that reads a field
    asks for it once: the app is taken from its context variable, without `current_app`'s proxy (as
    `cases.routes` does for `g`)."""
    ctx = _cv_app.get(None)
    extensions = ctx.app.extensions if ctx is not None else current_app.extensions
    provider = extensions["caseapp.keys"]
    ring = extensions.get("caseapp.key_ring")
    if ring is None or ring.provider is not provider:  # (a provider replaced, e.g. by a test)
        ring = extensions["caseapp.key_ring"] = KeyRing(provider)
    return ring


def blind_indexer() -> BlindIndexer:
    """The app's blind indexer (HMAC subkeys derived once per app from the index key)."""
    indexer = current_app.extensions.get("caseapp.blind_indexer")
    if indexer is None:
        indexer = current_app.extensions["caseapp.blind_indexer"] = BlindIndexer(
            services.key_provider().index_key()
        )
    return indexer


_models: list = []


def _key_model():
    if not _models:
        from caseapp.people.models import Person, PersonKey

        _models[:] = [PersonKey, Person]
    return _models[0]


def _owner_model():
    if not _models:
        _key_model()
    return _models[1]


class KeyState(enum.Enum):
    """What an owner's key row says, as `key_state_of` tells it."""

    NONE = "none"  # no key row at all (never created)
    ACTIVE = "active"
    SHREDDED = "shredded"  # the row is there, its wrapped key deleted


_UNKNOWN = object()


def _known_key_row(session: Session, owner_id: Any, holder: Any, changed: bool) -> Any:
    """The owner's key row (key_id, kek_version, wrapped) as the session already has it, without a query.

    Unless the key row was `changed` through the ORM in this unit of work: from the key columns read with the
    owner's row (`__key_columns__`, `Person._key_*`; `holder` is the object being read, else the owner is looked
    up in the identity map). Else from a loaded `PersonKey` row, which carries the changes. Returns None if the
    owner had no key row when it was read, _UNKNOWN if it takes a query."""
    if not changed:
        columns = getattr(holder.__class__, "__key_columns__", None)
        if columns is None:  # e.g. a history row: its owner may be loaded in the session
            holder = session.identity_map.get((_owner_model(), (owner_id,), None))
            columns = getattr(holder.__class__, "__key_columns__", None)
        if columns is not None:
            d = holder.__dict__
            id_col, version_col, wrapped_col = columns
            if id_col in d and version_col in d and wrapped_col in d:
                key_id = d[id_col]
                return None if key_id is None else (key_id, d[version_col], d[wrapped_col])
    obj = session.identity_map.get((_key_model(), (owner_id,), None))
    if obj is not None:
        d = obj.__dict__
        if "wrapped" in d and "key_id" in d and "kek_version" in d:
            return d["key_id"], d["kek_version"], d["wrapped"]
    return _UNKNOWN


def _key_id_bytes(key_id: Any) -> bytes:
    """The 16 bytes of a key id as a key row gives it: a UUID (the ORM; PostgreSQL's uuid), or the stored text
    (`Person._key_id` on SQLite: 32 hex digits, read without conversion to a UUID object)."""
    if key_id.__class__ is uuid.UUID:
        return key_id.bytes
    if key_id.__class__ is str and len(key_id) == 32:
        try:
            return bytes.fromhex(key_id)
        except ValueError:
            pass
    return uuid.UUID(str(key_id)).bytes


# -------------------------------------------------------------------------------------------- key scope


class _Plain:
    """Bench-only stand-in for a DataKey: UTF-8 without encryption (see `_benchmark_passthrough`)."""

    key_id = uuid.UUID(int=0)

    @staticmethod
    def encrypt(plaintext: str | None, table: str, column: str, row_id: Any) -> bytes | None:
        return None if plaintext is None else plaintext.encode()

    @staticmethod
    def decrypt(blob: bytes | None, table: str, column: str, row_id: Any) -> str | None:
        return None if blob is None else bytes(blob).decode()

    @staticmethod
    def encrypt_at(plaintext: str, location: bytes, row_id: Any, table: str, column: str) -> bytes:
        return plaintext.encode()

    @staticmethod
    def decrypt_at(blob: bytes, location: bytes, row_id: Any, table: str, column: str) -> str:
        return blob.decode()


_PLAIN = _Plain()
_passthrough = False


@contextlib.contextmanager
def _benchmark_passthrough() -> Iterator[None]:
    """For bench/bench_people.py only: fields are stored as plain UTF-8 and no data key is created or read,
    so the same code can be timed with and without encryption. Refused outside development and testing."""
    global _passthrough
    if current_app.config.get("ENV_NAME") not in ("testing", "development"):
        raise RuntimeError("the encryption pass-through exists for benchmarks only")
    _passthrough = True
    try:
        yield
    finally:
        _passthrough = False


class KeyScope:
    """The unwrapped data keys of one unit of work (one session transaction), by owner id."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._ring: KeyRing | None = None
        self._by_owner: dict[Any, DataKey] = {}
        self._active_version: int | None = None
        self._rows: dict[Any, tuple] = {}
        # Owners whose key row was changed through the ORM (shredded, re-keyed) in this unit of work: the key
        # columns read with their rows (`Person._key_*`) may be out of date; the `PersonKey` row tells.
        self._changed: set[Any] = set()
        # Key rows of owners created in this unit of work, to insert after the flush that inserts the owner.
        self._new_rows: list[tuple[Any, dict]] = []

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            self._ring = key_ring()
        return self._ring

    def key_for(self, owner_id: Any, holder: Any = None) -> DataKey:
        """The owner's data key, unwrapped at most once per unit of work. `holder` is the object being read,
        which may carry the owner's key columns (`Person`). Raises ShreddedError, MissingDataKey,
        DataKeyUnwrapError, UnknownKeyVersion."""
        key = self._by_owner.get(owner_id)
        if key is not None:
            return key
        if _passthrough:
            return _PLAIN  # type: ignore[return-value]
        if owner_id is None:
            raise MissingDataKey(None)
        # (key_id, kek_version, wrapped): read by `preload`, else as the session has it, else by a query
        row = self._rows.pop(owner_id, None) if self._rows else None
        if row is None:
            changed = self._changed
            row = _known_key_row(self.session, owner_id, holder, bool(changed) and owner_id in changed)
            if row is None or row is _UNKNOWN:  # (None: none when the owner was read; one may be new)
                row = _key_row(self.session, owner_id, None, True)
                if row is None:
                    raise MissingDataKey(owner_id)
        key_id, kek_version, wrapped = row
        if wrapped is not None and wrapped.__class__ is not bytes:
            wrapped = bytes(wrapped)
        # No key-id cache here: every owner's wrapped key is unwrapped under its own AAD (owner, version, id).
        ring = self._ring or self.ring
        if owner_id.__class__ is uuid.UUID:
            key = ring.unwrap_id_bytes(owner_id, _key_id_bytes(key_id), wrapped, kek_version)
        else:
            key = ring.unwrap(owner_id, uuid.UUID(bytes=_key_id_bytes(key_id)), wrapped, kek_version)
        self._by_owner[owner_id] = key
        return key

    def state(self, owner_id: Any, holder: Any = None) -> KeyState:
        """Whether the owner's key row exists and is shredded, without unwrapping (see `key_state_of`)."""
        if owner_id in self._by_owner:
            return KeyState.ACTIVE
        row = self._rows.get(owner_id)
        if row is None:
            row = _key_row(self.session, owner_id, holder, owner_id in self._changed)
        return _state_of_row(row)

    def preload(self, owner_ids: list[Any]) -> None:
        """Read the key rows of many owners in one Core query (lists: no ORM object per key row); unwrapping
        still happens on first use, and only the wrapped form is kept until then."""
        if _passthrough:
            return
        identity_map = self.session.identity_map
        model = _key_model()
        missing = [o for o in dict.fromkeys(owner_ids)
                   if o not in self._by_owner and o not in self._rows
                   and identity_map.get((model, (o,), None)) is None]  # a loaded row may carry changes
        if not missing:
            return
        table = model.__table__
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            for pid, key_id, kek_version, wrapped in self.session.execute(
                    select(table.c.person_id, table.c.key_id, table.c.kek_version, table.c.wrapped)
                    .where(table.c.person_id.in_(chunk))):
                self._rows[pid] = (key_id, kek_version, wrapped)

    def create_key(self, owner_id: Any, owner: Any = None):
        """Create and wrap the owner's data key (a new person) and write its key row.

        With `owner` (the new `Person`, added to the session): the row is inserted with one Core executemany
        per flush for every person created in the unit of work (`_insert_new_key_rows`), right after the
        flush that inserts the person, and the owner's key columns (`Person._key_*`) are set; returns None.
        Without: a `PersonKey` ORM row is added and returned. Returns None in pass-through.

        The same as `KeyRing.new_data_key`, except that the active KEK version is read once per unit of work
        (the provider rescans its directory for it), which matters when one transaction registers many."""
        if _passthrough:
            self._by_owner[owner_id] = _PLAIN  # type: ignore[assignment]
            return None
        provider = self.ring.provider
        if self._active_version is None:
            self._active_version = provider.active_kek_version()
        version = self._active_version
        raw = AESGCM.generate_key(bit_length=256)
        key = DataKey(uuid.uuid4(), raw)
        wrapped = provider.wrap_data_key(version, raw, wrap_aad(owner_id, version, key.key_id))
        del raw
        self._by_owner[owner_id] = key
        values = {"person_id": owner_id, "key_id": key.key_id, "kek_version": version, "wrapped": wrapped,
                  "created_at": utcnow()}
        if owner is None:
            row = _key_model()(**values)
            self.session.add(row)
            return row
        id_col, version_col, wrapped_col = owner.__class__.__key_columns__
        set_committed_value(owner, id_col, key.key_id)
        set_committed_value(owner, version_col, version)
        set_committed_value(owner, wrapped_col, wrapped)
        self._new_rows.append((owner, values))
        return None

    def install(self, owner_id: Any, key: DataKey) -> None:
        """Use `key` for `owner_id` from now on in this unit of work (after a re-encryption)."""
        self._changed.add(owner_id)
        self._by_owner[owner_id] = key

    def forget(self, owner_id: Any) -> None:
        """Drop the owner's key from this scope (after shredding or replacing it, and whenever its key row
        is changed through the ORM: see `people.models`)."""
        self._changed.add(owner_id)
        self._rows.pop(owner_id, None)
        self._by_owner.pop(owner_id, None)

    def clear(self) -> None:
        self._new_rows.clear()
        self._changed.clear()
        self._rows.clear()
        self._by_owner.clear()


def key_scope(session: Session | None = None) -> KeyScope:
    """The key scope of `session` (default: the app's current session), created on first use."""
    session = session if session is not None else db.session()
    scope = session.info.get(_SCOPE)
    if scope is None:
        if session.get_transaction() is None:
            session.begin()  # the scope ends with this transaction (see _drop_keys), whatever happens in it
        scope = session.info[_SCOPE] = KeyScope(session)
    return scope


def key_state_of(obj: Any) -> KeyState:
    """Whether the key owner `obj` (a `Person`) has a key row and whether it is shredded, from what the
    session already holds (the key columns read with the row, a loaded `PersonKey`, this transaction's
    changes), else one query. Never unwraps."""
    session = obj._sa_instance_state.session
    if session is None:  # transient or detached: what was loaded with it
        d = obj.__dict__
        columns = obj.__class__.__key_columns__
        return _state_of_row(None if d.get(columns[0]) is None else (None, None, d.get(columns[2])))
    owner_id = Encrypted.owner_id(obj)
    scope = session.info.get(_SCOPE)
    if scope is not None:
        return scope.state(owner_id, obj)
    return _state_of_row(_key_row(session, owner_id, obj, False))


def _key_row(session: Session, owner_id: Any, holder: Any, stale: bool) -> tuple | None:
    """`_known_key_row`, or the `PersonKey` row through the ORM when that does not tell."""
    row = _known_key_row(session, owner_id, holder, stale)
    if row is _UNKNOWN:
        obj = session.get(_key_model(), owner_id)  # (refreshes an expired row; autoflushes)
        row = None if obj is None else (obj.key_id, obj.kek_version, obj.wrapped)
    return row


def _state_of_row(row: tuple | None) -> KeyState:
    if row is None:
        return KeyState.NONE
    return KeyState.SHREDDED if row[2] is None else KeyState.ACTIVE


@event.listens_for(Session, "after_flush_postexec")
def _insert_new_key_rows(session: Session, flush_context) -> None:
    """Write the key rows of the owners this flush inserted (see `KeyScope.create_key`): one executemany, in
    the flush's transaction, after the owners' rows (the key row's foreign key)."""
    scope = session.info.get(_SCOPE)
    if scope is None or not scope._new_rows:
        return
    ready, waiting = [], []
    for owner, values in scope._new_rows:
        state = owner._sa_instance_state
        if state.persistent:
            ready.append(values)
        elif not (state.detached or state.deleted):  # pending, or not added yet
            waiting.append((owner, values))
        # else the owner left the session before it was written: so does its key row
    scope._new_rows = waiting
    if ready:
        session.connection().execute(_key_model().__table__.insert(), ready)


@event.listens_for(Session, "after_transaction_end")
def _drop_keys(session: Session, transaction) -> None:
    if transaction.parent is None:
        scope = session.info.pop(_SCOPE, None)
        if scope is not None:
            scope.clear()


# ------------------------------------------------------------------------------------------- descriptor


class Encrypted:
    """A str field stored encrypted in the LargeBinary column attribute `column_attr` (see module doc).

    May be declared on a mixin shared by several models: the table and column are resolved per mapped class.
    """

    def __init__(self, column_attr: str) -> None:
        self.column_attr = column_attr
        self.name = column_attr
        self._locations: dict[type, tuple[str, str]] = {}
        # mapped class -> (table, column, AAD location prefix for UUID rows, owner attribute): resolved once
        self._resolved: dict[type, tuple[str, str, bytes, str]] = {}

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def location(self, model: type) -> tuple[str, str]:
        """(table, column) of this field in mapped class `model`: what the AAD binds besides the row id."""
        loc = self._locations.get(model)
        if loc is None:
            column = model.__mapper__.attrs[self.column_attr].columns[0].name  # type: ignore[attr-defined]
            loc = self._locations[model] = (model.__table__.name, column)  # type: ignore[attr-defined]
        return loc

    def _resolve(self, model: type) -> tuple[str, str, bytes, str]:
        res = self._resolved.get(model)
        if res is None:
            table, column = self.location(model)
            res = self._resolved[model] = (table, column, uuid_location_prefix(table, column),
                                           model.__encrypted_owner__)  # type: ignore[attr-defined]
        return res

    @staticmethod
    def owner_id(obj: Any) -> Any:
        return getattr(obj, type(obj).__encrypted_owner__)

    @staticmethod
    def _scope_of(obj: Any) -> KeyScope:
        session = obj._sa_instance_state.session  # what object_session() returns, without the wrapper
        scope = session.info.get(_SCOPE) if session is not None else None
        return scope if scope is not None else key_scope(session)

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Encrypted: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> str | None: ...

    def __get__(self, obj: object | None, objtype: type | None = None) -> Encrypted | str | None:
        if obj is None:
            return self
        loaded = obj.__dict__  # loaded column values; anything else (expired, deferred) through the ORM
        blob = loaded[self.column_attr] if self.column_attr in loaded else getattr(obj, self.column_attr)
        if blob is None:
            return None
        cls = obj.__class__
        table, column, location, owner = self._resolved.get(cls) or self._resolve(cls)
        key = self._scope_of(obj).key_for(loaded[owner] if owner in loaded else getattr(obj, owner), obj)
        row_id = loaded["id"] if "id" in loaded else obj.id  # type: ignore[attr-defined]  # noqa: SIM401 (lazy)
        if blob.__class__ is not bytes:
            blob = bytes(blob)
        if row_id.__class__ is uuid.UUID:
            return key.decrypt_at(blob, location, row_id, table, column)
        return key.decrypt(blob, table, column, row_id)

    def __set__(self, obj: Any, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{type(obj).__name__}.{self.name} takes str or None, not {type(value).__name__}")
        if obj.id is None:
            obj.id = uuid.uuid4()  # the AAD needs the row id before the first flush
        if value is None:
            setattr(obj, self.column_attr, None)
            return
        cls = obj.__class__
        table, column, location, owner = self._resolved.get(cls) or self._resolve(cls)
        key = self._scope_of(obj).key_for(getattr(obj, owner), obj)
        row_id = obj.id
        if row_id.__class__ is uuid.UUID:
            setattr(obj, self.column_attr, key.encrypt_at(value, location, row_id, table, column))
        else:
            setattr(obj, self.column_attr, key.encrypt(value, table, column, row_id))

    def __repr__(self) -> str:
        return f"Encrypted({self.name} -> {self.column_attr})"


def fields_of(model: type) -> list[Encrypted]:
    """The encrypted fields of a mapped class (declared on it or on its mixins)."""
    seen: dict[str, Encrypted] = {}
    for klass in reversed(model.__mro__):
        for value in vars(klass).values():
            if isinstance(value, Encrypted):
                seen[value.column_attr] = value
    return list(seen.values())


def registered_fields() -> dict[type, list[Encrypted]]:
    """Every mapped model with encrypted fields and a key owner (`__encrypted_owner__`), with its fields.

    Models register themselves by declaring `Encrypted` fields; nothing else needs to know their tables.
    """
    result = {}
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        fields = fields_of(model)
        if fields:
            if getattr(model, "__encrypted_owner__", None) is None:
                raise TypeError(f"{model.__name__} has encrypted fields but no __encrypted_owner__")
            result[model] = fields
    return result


def reencrypt_owner_rows(session: Session, owner_id: Any, old: DataKey, new: DataKey) -> int:
    """Re-encrypt every registered encrypted field of every row owned by `owner_id` from `old` to `new`.

    Decrypts with `old` (a DecryptionError stops the whole job: nothing is half-converted in the transaction)
    and writes the new ciphertexts on the ORM rows; the caller flushes/commits and replaces the key row.
    Returns the number of fields re-encrypted.
    """
    count = 0
    for model, fields in registered_fields().items():
        owner_col = getattr(model, model.__encrypted_owner__)
        for row in session.scalars(select(model).where(owner_col == owner_id)).unique().all():
            for f in fields:
                blob = getattr(row, f.column_attr)
                if blob is None:
                    continue
                table, column = f.location(model)
                plaintext = old.decrypt(bytes(blob), table, column, row.id)
                setattr(row, f.column_attr, new.encrypt(plaintext, table, column, row.id))
                count += 1
    return count
