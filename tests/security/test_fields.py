"""The encrypted field descriptor (caseapp.security.fields) through the database, on SQLite and PostgreSQL."""
# ruff: noqa: F811  (the people fixtures are imported and then requested by name)

from __future__ import annotations

import contextvars
import logging
import uuid

import pytest
from flask.globals import _cv_app
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update

from caseapp.extensions import db as _db
from caseapp.people import operations as ops
from caseapp.people.models import Person, PersonKey, PersonVersion
from caseapp.security import fields
from caseapp.security.crypto import DecryptionError, ShreddedError
from caseapp.security.fields import Encrypted, KeyScope, MissingDataKey, key_scope, registered_fields
from tests.people.conftest import PNR_BERTIL, register, staff  # noqa: F401 (fixtures)

SECRET = "Hemlig anteckning om Anna <b>&amp;</b> 🙂"


def reload(person_id: uuid.UUID) -> Person:
    _db.session.commit()
    _db.session.expire_all()
    return _db.session.get(Person, person_id)


def raw(table: str, column: str, row_id: uuid.UUID) -> bytes:
    value = _db.session.execute(select(Person.__table__.metadata.tables[table].c[column])
                                .where(Person.__table__.metadata.tables[table].c.id == row_id)).scalar_one()
    return bytes(value)


def set_raw(model, column: str, row_id: uuid.UUID, value: bytes | None) -> None:
    _db.session.execute(update(model.__table__).where(model.__table__.c.id == row_id).values({column: value}))
    _db.session.commit()
    _db.session.expire_all()


# ---------------------------------------------------------------------------------------------- round trip


def test_round_trip_through_the_database(register):
    person_id = register().id

    @settings(max_examples=60, deadline=None)
    @given(value=st.one_of(st.none(), st.just(""), st.text(), st.text(min_size=2000, max_size=6000)))
    def round_trip(value):
        person = _db.session.get(Person, person_id)
        person.notes = value
        person = reload(person_id)
        assert person.notes == value
        blob = person.notes_enc
        if value is None:
            assert blob is None
        else:
            assert len(blob) == 45 + len(value.encode())
            assert len(value) < 4 or value.encode() not in bytes(blob)

    round_trip()


def test_none_and_empty_stay_distinct(register):
    person = register(phone=None)
    person.email = ""
    person = reload(person.id)
    assert person.phone is None and person.phone_enc is None
    assert person.email == "" and len(person.email_enc) == 45


def test_every_field_is_ciphertext_in_the_row(register):
    person = register(address="Råckstavägen 14", phone="070-174 06 05", email="a@example.com", notes=SECRET)
    row = _db.session.execute(text("SELECT * FROM people WHERE id = :id"),
                              {"id": person.id if _db.engine.dialect.name == "postgresql" else person.id.hex}).mappings().one()
    for column in ("given_name_enc", "family_name_enc", "identity_enc", "address_enc", "phone_enc", "email_enc",
                   "notes_enc"):
        blob = bytes(row[column])
        assert blob[0] == 1 and uuid.UUID(bytes=blob[1:17]) == person.key.key_id
    dump = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row.values())
    for plain in ("Anna", "Andersson", "19960314", "Råckstavägen", "070-174", "example.com", "Hemlig"):
        assert plain.encode() not in dump


def test_assignment_generates_the_row_id_before_flush(register):
    person = register()
    version = PersonVersion(person_id=person.id, version=9, recorded_at=person.created_at)
    assert version.id is None
    version.notes = "x"
    assert isinstance(version.id, uuid.UUID)
    assert version.notes == "x"


def test_registry_finds_every_encrypted_model():
    found = registered_fields()
    names = {"given_name_enc", "family_name_enc", "identity_enc", "address_enc", "phone_enc", "email_enc", "notes_enc"}
    assert {f.column_attr for f in found[Person]} == names
    assert {f.column_attr for f in found[PersonVersion]} == names
    assert isinstance(Person.notes, Encrypted)
    assert Person.notes.location(Person) == ("people", "notes_enc")
    assert Person.notes.location(PersonVersion) == ("person_versions", "notes_enc")


# ------------------------------------------------------------------------------------ misplaced ciphertexts


def _assert_names(exc: DecryptionError, table: str, column: str, row_id) -> None:
    assert (exc.table, exc.column, uuid.UUID(str(exc.row_id))) == (table, column, row_id)
    assert table in str(exc) and column in str(exc) and str(row_id) in str(exc)


def test_copied_to_another_persons_row_fails(register, caplog):
    anna = register(notes=SECRET)
    bertil = register(given_name="Bertil", family_name="Berg", identity=PNR_BERTIL, notes="Bertils")
    set_raw(Person, "notes_enc", bertil.id, raw("people", "notes_enc", anna.id))
    bertil = _db.session.get(Person, bertil.id)
    with caplog.at_level(logging.WARNING), pytest.raises(DecryptionError) as info:
        _ = bertil.notes
    _assert_names(info.value, "people", "notes_enc", bertil.id)
    assert "another data key" in info.value.reason
    assert "Hemlig" not in caplog.text and "people.notes_enc" in caplog.text


def test_copied_to_another_column_fails(register):
    anna = register(notes=SECRET, phone="070-174 06 05")
    set_raw(Person, "phone_enc", anna.id, raw("people", "notes_enc", anna.id))
    with pytest.raises(DecryptionError) as info:
        _ = _db.session.get(Person, anna.id).phone
    _assert_names(info.value, "people", "phone_enc", anna.id)
    assert "authentication failed" in info.value.reason


def test_copied_to_another_row_of_the_same_person_fails(register, staff):
    anna = register(notes=SECRET)
    ops.update_person(staff["unga"], anna, _changed(anna, notes="Ny anteckning"))
    _db.session.commit()
    version = _db.session.scalars(select(PersonVersion).where(PersonVersion.person_id == anna.id)).one()
    assert version.notes == SECRET
    # The current record's ciphertext put into the history row (same key, other table and row).
    set_raw(PersonVersion, "notes_enc", version.id, raw("people", "notes_enc", anna.id))
    with pytest.raises(DecryptionError) as info:
        _ = _db.session.get(PersonVersion, version.id).notes
    _assert_names(info.value, "person_versions", "notes_enc", version.id)


def _changed(person: Person, **changes) -> ops.PersonData:
    data = ops.PersonData.of(person)
    for key, value in changes.items():
        setattr(data, key, value)
    return data


@pytest.mark.parametrize("position", [0, 5, 20, 35, -1])
def test_flipped_byte_fails(register, position):
    anna = register(notes=SECRET)
    blob = bytearray(raw("people", "notes_enc", anna.id))
    blob[position] ^= 0x01
    set_raw(Person, "notes_enc", anna.id, bytes(blob))
    with pytest.raises(DecryptionError) as info:
        _ = _db.session.get(Person, anna.id).notes
    _assert_names(info.value, "people", "notes_enc", anna.id)


def test_unknown_key_id_fails(register):
    anna = register(notes=SECRET)
    blob = raw("people", "notes_enc", anna.id)
    set_raw(Person, "notes_enc", anna.id, blob[:1] + uuid.uuid4().bytes + blob[17:])
    with pytest.raises(DecryptionError) as info:
        _ = _db.session.get(Person, anna.id).notes
    _assert_names(info.value, "people", "notes_enc", anna.id)


def test_truncated_fails(register):
    anna = register(notes=SECRET)
    set_raw(Person, "notes_enc", anna.id, raw("people", "notes_enc", anna.id)[:30])
    with pytest.raises(DecryptionError, match="truncated"):
        _ = _db.session.get(Person, anna.id).notes


def test_wrapped_key_copied_to_another_person_fails(register):
    from caseapp.security.crypto import DataKeyUnwrapError

    anna = register()
    bertil = register(given_name="Bertil", identity=PNR_BERTIL)
    anna_key = _db.session.get(PersonKey, anna.id)
    _db.session.execute(update(PersonKey.__table__).where(PersonKey.__table__.c.person_id == bertil.id)
                        .values(wrapped=anna_key.wrapped, key_id=anna_key.key_id))
    _db.session.commit()
    _db.session.expire_all()
    with pytest.raises(DataKeyUnwrapError):
        _ = _db.session.get(Person, bertil.id).given_name


# ------------------------------------------------------------------------------------------------ keys


def test_shredded_person_raises_shredded(register, staff):
    anna = register(notes=SECRET)
    assert ops.shred_person(staff["unga"], anna)
    anna = reload(anna.id)
    assert anna.is_shredded
    with pytest.raises(ShreddedError):
        _ = anna.notes
    assert not ops.shred_person(staff["unga"], anna)  # once only


def test_missing_key_row_is_a_clear_error(db, units):
    person = Person(id=uuid.uuid4(), registered_unit_id=units["unga"].id)
    db.session.add(person)
    with pytest.raises(MissingDataKey, match=str(person.id)):
        person.notes = "x"
    db.session.rollback()


def test_keys_live_for_one_transaction_only(register):
    anna = register(notes=SECRET)
    anna = reload(anna.id)
    assert anna.notes == SECRET
    scope = key_scope()
    assert isinstance(scope, KeyScope) and anna.id in scope._by_owner
    _db.session.commit()
    assert "caseapp.key_scope" not in _db.session.info
    assert key_scope() is not scope
    _db.session.rollback()
    assert "caseapp.key_scope" not in _db.session.info


def test_keys_are_not_kept_across_requests(app, register):
    anna_id = register(notes=SECRET).id

    def one_request():
        _cv_app.set(None)  # as in production: each request has its own app context and session
        with app.test_request_context("/"):
            person = _db.session.get(Person, anna_id)
            assert person.notes == SECRET
            assert anna_id in _db.session.info["caseapp.key_scope"]._by_owner
            return _db.session()

    first = contextvars.copy_context().run(one_request)
    second = contextvars.copy_context().run(one_request)
    assert first is not second
    # Ending a request removes its session, and with it the scope and every unwrapped key.
    assert "caseapp.key_scope" not in first.info and "caseapp.key_scope" not in second.info


def test_type_is_checked(register):
    anna = register()
    with pytest.raises(TypeError, match="notes"):
        anna.notes = b"bytes"  # type: ignore[assignment]


def test_passthrough_is_refused_in_production(app):
    with app.app_context():
        app.config["ENV_NAME"] = "production"
        try:
            with pytest.raises(RuntimeError), fields._benchmark_passthrough():
                pass
        finally:
            app.config["ENV_NAME"] = "testing"
    assert fields._passthrough is False


def test_preload_loads_many_key_rows_in_one_query(register):
    from sqlalchemy import event

    from tests.people.conftest import PNR_ANNA, PNR_CHILD

    ids = [register(identity=pnr).id for pnr in (PNR_ANNA, PNR_BERTIL, PNR_CHILD)]
    _db.session.commit()
    statements: list[str] = []

    def spy(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", spy)
    try:
        key_scope().preload(ids)
    finally:
        event.remove(_db.engine, "before_cursor_execute", spy)
    assert len(statements) == 1 and "person_keys" in statements[0]
    assert [_db.session.get(Person, pid).given_name for pid in ids] == ["Anna"] * 3
