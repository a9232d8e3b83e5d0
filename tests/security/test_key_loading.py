"""How a person's data key reaches the field descriptor: the key row's columns are read with the person's row
(no `PersonKey` ORM object, no query per person), new key rows are written with one Core insert per flush,
and every unwrapped key still lives for one transaction only. On SQLite and PostgreSQL."""
# ruff: noqa: F811  (the people fixtures are imported and then requested by name)

from __future__ import annotations

import contextlib
import gc
import os
import uuid

import pytest
from sqlalchemy import event, func, select, update

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.people import operations as ops
from caseapp.people.models import Person, PersonKey, PersonVersion
from caseapp.security import fields
from caseapp.security.crypto import DataKeyUnwrapError, DecryptionError, ShreddedError
from caseapp.security.fields import KeyState, key_scope, key_state_of
from tests.people.conftest import PNR_ANNA, PNR_BERTIL, PNR_CHILD, register, staff  # noqa: F401 (fixtures)

NUMBERS = (PNR_ANNA, PNR_BERTIL, PNR_CHILD)


@contextlib.contextmanager
def statements():
    seen: list[str] = []

    def spy(conn, cursor, statement, *args):  # noqa: ANN001
        seen.append(statement)

    event.listen(_db.engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(_db.engine, "before_cursor_execute", spy)


def loaded_key_rows() -> list:
    return [obj for obj in _db.session.identity_map.values() if isinstance(obj, PersonKey)]


def fresh_transaction() -> None:
    """Commit and forget the loaded people (the staff users stay in the session)."""
    _db.session.commit()
    for obj in list(_db.session.identity_map.values()):
        if isinstance(obj, Person | PersonKey | PersonVersion):
            _db.session.expunge(obj)


def everyone(register) -> list[uuid.UUID]:
    return [register(identity=pnr, notes=f"Anteckning {i}").id for i, pnr in enumerate(NUMBERS)]


def all_fields(person: Person) -> tuple:
    return (person.given_name, person.family_name, person.identity, person.address, person.phone, person.email,
            person.notes)


# ------------------------------------------------------------------------------------------------ loading


def test_a_list_reads_every_key_with_its_row_in_one_query(register):
    ids = everyone(register)
    fresh_transaction()
    with statements() as seen:
        people = _db.session.scalars(select(Person).where(Person.id.in_(ids))).all()
        assert sorted(p.notes for p in people) == ["Anteckning 0", "Anteckning 1", "Anteckning 2"]
        for person in people:
            all_fields(person)
            assert not person.is_shredded
    assert len(seen) == 1  # the people, with their key rows' columns; no query per person for the key
    assert loaded_key_rows() == []  # and no ORM object per key row
    scope = key_scope()
    assert set(scope._by_owner) == set(ids)  # each key unwrapped once in the transaction


def test_the_person_page_reads_the_key_with_the_row(register):
    pid = register(notes="Anteckning").id
    fresh_transaction()
    with statements() as seen:
        person = _db.session.get(Person, pid)
        assert person.notes == "Anteckning" and person.given_name == "Anna" and not person.is_shredded
    assert len(seen) == 1 and loaded_key_rows() == []


def test_history_rows_use_the_key_of_the_loaded_person(register, staff):
    person = register(notes="Gammal")
    data = ops.PersonData.of(person)
    data.notes = "Ny"
    ops.update_person(staff["unga"], person, data)
    pid = person.id
    fresh_transaction()
    person = _db.session.get(Person, pid)
    versions = list(_db.session.scalars(select(PersonVersion).where(PersonVersion.person_id == person.id)))
    with statements() as seen:
        assert [v.notes for v in versions] == ["Gammal"] and person.notes == "Ny"
    assert seen == []


def test_an_owner_not_loaded_gets_its_key_by_query(register, staff):
    person = register(notes="Gammal")
    data = ops.PersonData.of(person)
    data.notes = "Ny"
    ops.update_person(staff["unga"], person, data)
    fresh_transaction()
    version = _db.session.scalars(select(PersonVersion)).one()
    assert version.notes == "Gammal"  # the person is not loaded: its key row is read (once)


def test_a_shredded_person_in_a_bulk_list_reads_as_shredded(register, staff):
    ids = everyone(register)
    assert ops.shred_person(staff["unga"], _db.session.get(Person, ids[1]))
    fresh_transaction()
    with statements() as seen:
        people = {p.id: p for p in _db.session.scalars(select(Person).where(Person.id.in_(ids)))}
        assert [people[i].is_shredded for i in ids] == [False, True, False]
        assert [key_state_of(people[i]) for i in ids] == [KeyState.ACTIVE, KeyState.SHREDDED, KeyState.ACTIVE]
        assert people[ids[0]].notes == "Anteckning 0" and people[ids[2]].notes == "Anteckning 2"
        with pytest.raises(ShreddedError):
            _ = people[ids[1]].notes
    assert len(seen) == 1


def test_the_list_page_shows_a_shredded_person_among_others_as_shredded(login_as, register, staff):
    client, account = login_as(Role.HANDLAGGARE, "unga")
    ids = [register(identity=pnr, given_name=name).id
           for pnr, name in zip(NUMBERS, ("Cecilia", "Bertil", "Doris"), strict=True)]
    assert ops.shred_person(staff["unga"], _db.session.get(Person, ids[0]))
    _db.session.commit()
    resp = client.get("/personer/")
    listing = resp.get_data(as_text=True)
    assert resp.status_code == 200 and listing.count("Uppgifterna är gallrade") == 1
    assert "Cecilia" not in listing and "Bertil" in listing and "Doris" in listing


def test_shredding_in_the_same_transaction_after_a_read(register, staff):
    pid = register(notes="Anteckning").id
    fresh_transaction()
    person = _db.session.get(Person, pid)
    assert person.notes == "Anteckning" and not person.is_shredded
    assert ops.shred_person(staff["unga"], person)
    assert person.is_shredded
    with pytest.raises(ShreddedError):
        _ = person.notes
    _db.session.flush()
    gc.collect()  # the flushed key row may leave the identity map: the loaded columns must still not count
    assert person.is_shredded
    with pytest.raises(ShreddedError):
        _ = person.given_name
    _db.session.commit()
    assert _db.session.get(Person, pid).is_shredded


def test_a_key_row_changed_through_the_orm_drops_the_unwrapped_key(register):
    anna, bertil = (register(identity=pnr).id for pnr in (PNR_ANNA, PNR_BERTIL))
    fresh_transaction()
    person = _db.session.get(Person, bertil)
    assert person.given_name == "Anna"
    assert bertil in key_scope()._by_owner
    # Anna's wrapped key put on Bertil's row (an insider's copy): the next read unwraps again, and fails.
    anna_row = _db.session.get(PersonKey, anna)
    row = _db.session.get(PersonKey, bertil)
    row.wrapped, row.key_id = anna_row.wrapped, anna_row.key_id
    assert bertil not in key_scope()._by_owner
    with pytest.raises(DataKeyUnwrapError):
        _ = person.given_name
    _db.session.rollback()


def test_a_core_change_to_a_key_row_is_seen_by_the_next_transaction(register):
    pid = register(notes="Anteckning").id
    _db.session.execute(update(PersonKey.__table__).where(PersonKey.__table__.c.person_id == pid)
                        .values(wrapped=None))
    _db.session.commit()
    person = _db.session.get(Person, pid)
    assert person.is_shredded
    with pytest.raises(ShreddedError):
        _ = person.notes


def test_a_tampered_field_still_names_table_column_and_row(register):
    pid = register(notes="Anteckning").id
    blob = bytearray(_db.session.scalar(select(Person.notes_enc).where(Person.id == pid)))
    blob[-1] ^= 1
    _db.session.execute(update(Person.__table__).where(Person.__table__.c.id == pid).values(notes_enc=bytes(blob)))
    fresh_transaction()
    person = _db.session.scalars(select(Person).where(Person.id == pid)).one()
    assert person.given_name == "Anna"
    with pytest.raises(DecryptionError) as info:
        _ = person.notes
    assert (info.value.table, info.value.column, str(info.value.row_id)) == ("people", "notes_enc", str(pid))


def test_detached_person_tells_its_state_from_what_was_loaded(register, staff):
    ids = everyone(register)
    assert ops.shred_person(staff["unga"], _db.session.get(Person, ids[0]))
    fresh_transaction()
    people = list(_db.session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.created_at)))
    _db.session.expunge_all()
    assert {p.id: p.is_shredded for p in people} == {ids[0]: True, ids[1]: False, ids[2]: False}


def test_no_key_row_is_not_shredded(db, units):
    person = Person(id=uuid.uuid4(), registered_unit_id=units["unga"].id)
    db.session.add(person)
    db.session.flush()
    assert key_state_of(person) is KeyState.NONE and not person.is_shredded
    db.session.rollback()


# ---------------------------------------------------------------------------------------------- key scope


def test_unwrapped_keys_are_dropped_when_the_transaction_ends(register):
    pid = register(notes="Anteckning").id
    for end in (_db.session.commit, _db.session.rollback, _db.session.close):
        person = _db.session.get(Person, pid)
        assert person.notes == "Anteckning"
        scope = key_scope()
        assert pid in scope._by_owner
        end()
        assert scope._by_owner == {} and scope._rows == {} and scope._new_rows == []
        assert "caseapp.key_scope" not in _db.session.info
        assert key_scope() is not scope
        _db.session.rollback()


def test_each_transaction_unwraps_again(register, monkeypatch):
    pid = register(notes="Anteckning").id
    fresh_transaction()
    calls = []
    for name in ("unwrap", "unwrap_id_bytes"):
        def counting(self, owner_id, *args, _unwrap=getattr(fields.KeyRing, name), **kwargs):
            calls.append(owner_id)
            return _unwrap(self, owner_id, *args, **kwargs)

        monkeypatch.setattr(fields.KeyRing, name, counting)
    for _ in range(2):
        person = _db.session.get(Person, pid)
        assert all_fields(person)[6] == "Anteckning"
        assert person.notes == "Anteckning"
        fresh_transaction()
    assert calls == [pid, pid]  # once per person per transaction, never carried over


# ------------------------------------------------------------------------------------------------- saving


def test_new_key_rows_are_written_in_one_insert_after_the_people(db, staff):
    actor = staff["unga"]
    people = [ops.register_person(actor, ops.PersonData(given_name="Anna", family_name="Andersson", identity=pnr,
                                                        notes="Anteckning"), unit_id=actor.unit_id)
              for pnr in NUMBERS]
    assert loaded_key_rows() == [] and all(not p.is_shredded for p in people)
    assert db.session.scalar(select(func.count()).select_from(PersonKey)) == 3  # (the count flushes first)
    db.session.rollback()
    with statements() as seen:
        people = [ops.register_person(actor, ops.PersonData(given_name="Anna", family_name="Andersson",
                                                            identity=pnr, notes="Anteckning"),
                                      unit_id=actor.unit_id) for pnr in NUMBERS]
        db.session.flush()
    key_inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT INTO PERSON_KEYS")]
    people_insert = next(i for i, s in enumerate(seen) if s.lstrip().upper().startswith("INSERT INTO PEOPLE"))
    assert len(key_inserts) == 1 and seen.index(key_inserts[0]) > people_insert
    db.session.commit()
    for person in people:
        row = db.session.get(PersonKey, person.id)
        assert row.kek_version == 1 and row.created_at is not None and row.shredded_at is None
        assert bytes(db.session.scalar(select(Person.notes_enc).where(Person.id == person.id)))[1:17] \
            == row.key_id.bytes
        assert person.key is row
    ids = [p.id for p in people]
    fresh_transaction()
    assert [_db.session.get(Person, pid).notes for pid in ids] == ["Anteckning"] * 3


def test_a_rolled_back_registration_leaves_no_key_row(db, staff):
    actor = staff["unga"]
    ops.register_person(actor, ops.PersonData(given_name="Anna", family_name="Andersson", identity=PNR_ANNA),
                        unit_id=actor.unit_id)
    db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(PersonKey)) == 0
    assert db.session.scalar(select(func.count()).select_from(Person)) == 0


def test_a_key_row_waits_for_the_flush_that_writes_its_person(db, units):
    def key_rows() -> int:
        return db.session.scalar(select(func.count()).select_from(PersonKey))

    person = Person(id=uuid.uuid4(), registered_unit_id=units["unga"].id)
    key_scope().create_key(person.id, person)  # before the person is added
    other = Person(id=uuid.uuid4(), registered_unit_id=units["unga"].id)
    db.session.add(other)
    key_scope().create_key(other.id, other)
    db.session.flush()
    assert key_rows() == 1
    db.session.add(person)
    person.notes = "Anteckning"
    db.session.flush()
    assert key_rows() == 2
    gone = Person(id=uuid.uuid4(), registered_unit_id=units["unga"].id)
    db.session.add(gone)
    key_scope().create_key(gone.id, gone)
    db.session.expunge(gone)  # never written: nor is its key row
    db.session.commit()
    assert key_rows() == 2 and db.session.get(PersonKey, gone.id) is None
    assert db.session.get(Person, person.id).notes == "Anteckning"


def test_create_key_without_an_owner_adds_an_orm_row(db, units):
    person = Person(id=uuid.uuid4(), registered_unit_id=units["unga"].id)
    db.session.add(person)
    row = key_scope().create_key(person.id)
    assert isinstance(row, PersonKey) and row in db.session.new
    person.notes = "Anteckning"
    db.session.commit()
    assert db.session.get(Person, person.id).notes == "Anteckning"


# ------------------------------------------------------------------------------------ key ids as raw bytes


def test_a_key_made_from_its_id_bytes_is_the_same_key():
    from caseapp.security.crypto import DataKey

    key = DataKey.generate()
    secret = os.urandom(32)
    full = DataKey(key.key_id, secret)
    lean = DataKey.of_id_bytes(key.key_id.bytes, secret)
    for a, b in ((full, lean), (lean, full)):
        blob = a.encrypt("Anteckning", "people", "notes_enc", key.key_id)
        assert b.decrypt(blob, "people", "notes_enc", key.key_id) == "Anteckning"
    assert lean.key_id == full.key_id and isinstance(lean.key_id, uuid.UUID)
    with pytest.raises(ValueError):
        DataKey.of_id_bytes(b"short", secret)


def test_key_id_bytes_accepts_every_form_a_driver_gives():
    from caseapp.security.fields import _key_id_bytes

    kid = uuid.uuid4()
    assert _key_id_bytes(kid) == _key_id_bytes(kid.hex) == _key_id_bytes(str(kid)) == kid.bytes
    assert _key_id_bytes(kid.hex.upper()) == kid.bytes
    with pytest.raises(ValueError):
        _key_id_bytes("not a key id")


def test_unwrap_by_id_bytes_fails_like_unwrap(register):
    from caseapp.security.crypto import DataKeyUnwrapError

    anna, bertil = (_db.session.get(PersonKey, register(identity=pnr).id) for pnr in (PNR_ANNA, PNR_BERTIL))
    ring = key_scope().ring
    with pytest.raises(DataKeyUnwrapError) as info:
        ring.unwrap_id_bytes(bertil.person_id, anna.key_id.bytes, anna.wrapped, anna.kek_version)
    assert info.value.key_id == anna.key_id and info.value.owner_id == bertil.person_id
    with pytest.raises(ShreddedError) as shredded:
        ring.unwrap_id_bytes(anna.person_id, anna.key_id.bytes, None, anna.kek_version)
    assert shredded.value.key_id == anna.key_id
    same = ring.unwrap_id_bytes(anna.person_id, anna.key_id.bytes, anna.wrapped, anna.kek_version)
    other = ring.unwrap(anna.person_id, anna.key_id, anna.wrapped, anna.kek_version)
    blob = other.encrypt("x", "people", "notes_enc", anna.person_id)
    assert same.decrypt(blob, "people", "notes_enc", anna.person_id) == "x"


def test_the_key_ring_follows_the_apps_provider(app):
    from caseapp.security.keys import FileKeyProvider

    with app.app_context():
        ring = fields.key_ring()
        assert fields.key_ring() is ring and ring.provider is app.extensions["caseapp.keys"]
        old = app.extensions["caseapp.keys"]
        app.extensions["caseapp.keys"] = FileKeyProvider(app.config["KEY_DIR"], strict_permissions=False)
        try:
            assert fields.key_ring() is not ring
            assert fields.key_ring().provider is app.extensions["caseapp.keys"]
        finally:
            app.extensions["caseapp.keys"] = old
