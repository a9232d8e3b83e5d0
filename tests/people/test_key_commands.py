"""`caseapp keys status|rotate|retire|reencrypt` on a database with people, with a key directory of its own."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from caseapp.accounts.models import Role, Unit
from caseapp.extensions import db as _db
from caseapp.people import operations as ops
from caseapp.people.models import Person, PersonKey, PersonVersion
from caseapp.people.testnumbers import published_numbers
from caseapp.security.crypto import DecryptionError, ShreddedError
from caseapp.security.keys import FileKeyProvider, ensure_key_files
from caseapp.security.keys_cli import keys, rewrap_all
from tests.conftest import audit_events, empty_tables, make_app


@pytest.fixture()
def key_app(app, test_config, tmp_path):
    """An app on the test database with its own key directory (rotation and retirement change the keys)."""
    keys = tmp_path / "keys"
    ensure_key_files(keys)
    app = make_app(test_config, KEY_DIR=str(keys))
    with app.app_context():
        empty_tables()
        yield app
        _db.session.remove()
        empty_tables()


@pytest.fixture()
def people(key_app):
    unit = Unit(code="unga-i-risk", name="Unga i risk", shares_cases=True)
    _db.session.add(unit)
    _db.session.commit()
    created = []
    numbers = published_numbers(7, born_after=date(1995, 1, 1))
    for i in range(7):
        person = ops.register_person(None, ops.PersonData(
            given_name=f"Person{i}", family_name="Testsson", identity=numbers[i],
            notes=f"Anteckning {i}", address=f"Gatan {i}"), unit_id=unit.id)
        created.append(person.id)
    _db.session.commit()
    first = _db.session.get(Person, created[0])
    data = ops.PersonData.of(first)
    data.notes = "Ändrad"
    ops.update_person(None, first, data)
    _db.session.commit()
    return created


def run(app, *args, input=None):
    result = app.test_cli_runner().invoke(keys, args=list(args), input=input)
    _db.session.expire_all()
    return result


def readable(ids) -> list[str]:
    _db.session.expire_all()
    out = []
    for pid in ids:
        person = _db.session.get(Person, pid)
        out.append(f"{person.full_name}|{person.identity}|{person.notes}|{person.address}")
        out += [v.notes for v in person.versions]
    _db.session.rollback()
    return out


def test_status_counts_data_keys_per_version(key_app, people):
    result = run(key_app, "status")
    assert result.exit_code == 0, result.output
    assert "v1       active     7" in result.output


def test_rotate_then_retire_keeps_everything_readable(key_app, people):
    before = readable(people)
    result = run(key_app, "rotate")
    assert result.exit_code == 0, result.output
    assert "Created KEK v2" in result.output and "Rewrapped 7 data key(s)" in result.output
    assert {k.kek_version for k in _db.session.scalars(select(PersonKey))} == {2}
    assert readable(people) == before
    # Retire refuses the active version, and asks for confirmation.
    assert run(key_app, "retire", "2", "--yes").exit_code != 0
    assert run(key_app, "retire", "1", input="n\n").exit_code != 0
    result = run(key_app, "retire", "1", "--yes")
    assert result.exit_code == 0, result.output
    key_dir = key_app.config["KEY_DIR"]
    assert not (Path(key_dir) / "kek-v1.key").exists()
    assert readable(people) == before
    # A fresh provider on the directory (a restarted worker) reads everything without v1.
    key_app.extensions["caseapp.keys"] = FileKeyProvider(key_dir, strict_permissions=False)
    assert readable(people) == before
    assert [e.details_dict["to_version"] for e in audit_events("key_rotation")] == [2]
    assert [e.details_dict["version"] for e in audit_events("key_retire")] == [1]


def test_retire_refuses_while_a_data_key_uses_the_version(key_app, people):
    provider = key_app.extensions["caseapp.keys"]
    provider.create_kek_version()  # v2 active, nothing rewrapped yet
    result = run(key_app, "retire", "1", "--yes")
    assert result.exit_code != 0 and "7 data key(s) are still wrapped with KEK v1" in result.output
    assert (Path(key_app.config["KEY_DIR"]) / "kek-v1.key").exists()
    assert not audit_events("key_retire")


class _Interrupt:
    """A progress bar that stops the job (like Ctrl-C) once the first batch is committed."""

    def update(self, n: int) -> None:
        raise KeyboardInterrupt


def test_interrupted_rotation_resumes_without_a_new_version(key_app, people):
    provider = key_app.extensions["caseapp.keys"]
    target = provider.create_kek_version()
    with pytest.raises(KeyboardInterrupt):
        rewrap_all(provider, target, batch=3, progress=_Interrupt())
    _db.session.rollback()
    assert sorted(k.kek_version for k in _db.session.scalars(select(PersonKey))) == [1, 1, 1, 1, 2, 2, 2]
    result = run(key_app, "rotate")
    assert result.exit_code == 0, result.output
    assert "Continuing an unfinished rotation to KEK v2: 4 data key(s) left." in result.output
    assert "Rewrapped 4 data key(s)" in result.output
    assert provider.kek_versions() == [1, 2]
    assert {k.kek_version for k in _db.session.scalars(select(PersonKey))} == {2}
    assert len(readable(people)) == 8


def test_rotation_skips_shredded_keys(key_app, people):
    person = _db.session.get(Person, people[1])
    ops.shred_person(None, person)
    _db.session.commit()
    result = run(key_app, "rotate")
    assert "Rewrapped 6 data key(s)" in result.output
    assert run(key_app, "retire", "1", "--yes").exit_code == 0
    status = run(key_app, "status").output
    assert "shredded data keys (no KEK needed): 1" in status


def test_reencrypt_one_person(key_app, people):
    before = readable(people)
    old_key = _db.session.get(PersonKey, people[0]).key_id
    old_blob = _db.session.get(Person, people[0]).notes_enc
    result = run(key_app, "reencrypt", "--person", str(people[0]))
    assert result.exit_code == 0, result.output
    assert "10 field(s) re-encrypted" in result.output  # 5 on the record, 5 on its history version
    row = _db.session.get(PersonKey, people[0])
    assert row.key_id != old_key
    person = _db.session.get(Person, people[0])
    assert person.notes_enc != old_blob and uuid.UUID(bytes=person.notes_enc[1:17]) == row.key_id
    version = _db.session.scalars(select(PersonVersion).where(PersonVersion.person_id == people[0])).one()
    assert uuid.UUID(bytes=version.notes_enc[1:17]) == row.key_id
    assert readable(people) == before
    # Blind indexes are unaffected: search still finds the person.
    unit_user = _search_user()
    assert [p.id for p in ops.search_by_name(unit_user, "person0")] == [people[0]]
    event = audit_events("key_reencrypt", subject_person_id=people[0])
    assert event and event[0].details_dict["fields"] == 10
    # An old ciphertext put back is now refused.
    _db.session.execute(update(Person.__table__).where(Person.__table__.c.id == people[0]).values(notes_enc=old_blob))
    _db.session.commit()
    with pytest.raises(DecryptionError):
        _ = _db.session.get(Person, people[0]).notes
    _db.session.rollback()


def _search_user():
    from caseapp.accounts import operations as account_ops

    unit = _db.session.scalar(select(Unit))
    user, _ = account_ops.create_user(None, username="sok", display_name="Sök Testsson", role=Role.HANDLAGGARE,
                                      unit=unit, password="Korrekt-Häst-Batteri-42")
    _db.session.flush()
    return user


def test_reencrypt_all_and_refusals(key_app, people):
    before = readable(people)
    ops.shred_person(None, _db.session.get(Person, people[6]))
    _db.session.commit()
    result = run(key_app, "reencrypt", "--all")
    assert result.exit_code == 0, result.output
    assert "6 person(s): fresh data keys" in result.output
    assert readable(people[:6]) == before[:7]
    assert run(key_app, "reencrypt").exit_code != 0
    shredded = run(key_app, "reencrypt", "--person", str(people[6]))
    assert shredded.exit_code != 0 and "shredded" in shredded.output


def test_shredded_data_is_unreadable_even_with_every_key(key_app, people):
    """After shredding, no KEK version and no other person's data key opens the fields."""
    from caseapp.security.crypto import DataKey, wrap_aad

    person = _db.session.get(Person, people[2])
    blob, row_id = person.notes_enc, person.id
    ops.shred_person(None, person)
    _db.session.commit()
    provider = key_app.extensions["caseapp.keys"]
    run(key_app, "rotate")
    with pytest.raises(ShreddedError):
        _ = _db.session.get(Person, people[2]).notes
    _db.session.rollback()
    # Every data key that exists, unwrapped with every KEK there is: none decrypts the shredded ciphertext.
    for key_row in _db.session.scalars(select(PersonKey).where(PersonKey.wrapped.is_not(None))):
        raw = provider.unwrap_data_key(key_row.kek_version, key_row.wrapped,
                                       wrap_aad(key_row.person_id, key_row.kek_version, key_row.key_id))
        with pytest.raises(DecryptionError):
            DataKey(key_row.key_id, raw).decrypt(blob, "people", "notes_enc", row_id)
    assert _db.session.get(PersonKey, people[2]).wrapped is None
