"""People registry operations: validation, versioned history, protected addresses, duplicates, search, shredding."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from caseapp.extensions import db as _db
from caseapp.people import operations as ops
from caseapp.people.models import Person, PersonKey, PersonSearchIndex, PersonVersion, Protection
from caseapp.security.crypto import ShreddedError
from tests.conftest import audit_events
from tests.people.conftest import PNR_ANNA, PNR_BERTIL, PNR_CHILD, number


def data(**changes) -> ops.PersonData:
    base = {"given_name": "Anna", "family_name": "Andersson", "identity": PNR_ANNA}
    return ops.PersonData(**{**base, **changes})


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"given_name": ""}, "given_name", "Ange förnamn."),
        ({"family_name": "   "}, "family_name", "Ange efternamn."),
        ({"given_name": "x" * 101}, "given_name", "Högst 100 tecken (du skrev 101)."),
        ({"given_name": "123"}, "given_name", "minst en bokstav"),
        ({"given_name": "An\nna"}, "given_name", "radbrytningar"),
        ({"family_name": "A\x00B"}, "family_name", "styrtecken"),
        ({"identity": ""}, "identity", "Ange personnummer, samordningsnummer eller reservnummer."),
        ({"identity": "19960314-2383"}, "identity", "Kontrollsiffran stämmer inte."),
        ({"identity": "19851314-9826"}, "identity", "Datumet finns inte."),
        ({"identity": "abc"}, "identity", "Fel format"),
        ({"identity": "---", "reservnummer": True}, "identity", "minst en bokstav eller siffra"),
        ({"notes": "x" * 10001}, "notes", "Högst 10000 tecken"),
        ({"address": "a" * 301}, "address", "Högst 300 tecken"),
        ({"phone": "ring mig"}, "phone", "siffror"),
        ({"email": "inte-en-adress"}, "email", "namn@exempel.se"),
        ({"protection": "hemlig"}, "protection", "Välj en nivå"),
        ({"protection": Protection.SKYDDAD_FOLKBOKFORING, "address": "Gatan 1"}, "address", "sparas inte"),
        ({"protection": Protection.FINGERADE, "address": "Gatan 1"}, "address", "sparas inte"),
        ({"notes": "\ud800"}, "notes", "ogiltiga tecken"),
    ],
)
def test_invalid_data_is_refused_with_a_swedish_message(register, staff, changes, field, message):
    before = count(Person)
    with pytest.raises(ops.PersonError) as info:
        ops.register_person(staff["unga"], data(**changes), unit_id=staff["unga"].unit_id)
    assert message in info.value.errors[field]
    _db.session.rollback()
    assert count(Person) == before and count(PersonKey) == 0


def test_every_written_form_is_stored_as_twelve_digits(register, staff):
    for form in (PNR_ANNA, f"{PNR_ANNA[:8]}-{PNR_ANNA[8:]}", PNR_ANNA[2:], f"{PNR_ANNA[2:8]}-{PNR_ANNA[8:]}",
                 f"  {PNR_ANNA}\t"):
        assert ops.clean(data(identity=form)).identity == PNR_ANNA


def test_reservnummer_is_free_format(register):
    person = register(identity="RES 2024/17-b", reservnummer=True)
    assert person.identity == "RES 2024/17-b" and person.reservnummer
    assert person.identity_info is None and person.identity_display == "RES 2024/17-b"


def test_derived_birth_date_and_sex_are_not_stored(register):
    person = register(identity=PNR_BERTIL)
    info = person.identity_info
    assert info.birth_date == date(1995, 10, 9) and info.sex == "M"
    columns = set(Person.__table__.c.keys())
    assert not columns & {"birth_date", "sex", "born", "gender"}


def test_samordningsnummer(register):
    samordning = number(date(1948, 3, 12), 239, samordning=True)
    person = register(identity=samordning)
    assert person.identity_info.kind == "samordningsnummer"
    assert person.identity_info.birth_date == date(1948, 3, 12)


def test_none_and_empty_input_fields(register):
    person = register(phone="", email=None, notes="  ")
    assert person.phone is None and person.email is None and person.notes is None


# ------------------------------------------------------------------------------------------------- history


def test_update_keeps_the_previous_values_as_history(register, staff):
    person = register(notes="Första", phone="070-174 06 05")
    first_at = person.updated_at
    changed = ops.update_person(staff["unga2"], person, data(notes="Andra", phone="070-174 06 05"))
    _db.session.commit()
    assert changed == ["notes"]
    assert person.version == 2 and person.notes == "Andra" and person.updated_by == staff["unga2"].id
    (old,) = ops.history(staff["unga"], person)
    assert old.version == 1 and old.notes == "Första" and old.phone == "070-174 06 05"
    assert old.recorded_by == staff["unga"].id and old.recorded_at == first_at
    assert old.replaced_by == staff["unga2"].id
    update = audit_events("update", subject_person_id=person.id)[-1]
    assert update.details_dict == {"version": 2, "changed": "notes"}


def test_update_without_changes_writes_nothing(register, staff):
    person = register()
    before = len(audit_events())
    assert ops.update_person(staff["unga"], person, data()) == []
    _db.session.commit()
    assert person.version == 1 and count(PersonVersion) == 0 and len(audit_events()) == before


def test_protected_address_is_removed_from_history_too(register, staff):
    person = register(address="Råckstavägen 14")
    ops.update_person(staff["unga"], person, data(address="Kirunagatan 5"))
    _db.session.commit()
    with pytest.raises(ops.PersonError):
        ops.update_person(staff["unga"], person, data(address="Kirunagatan 5",
                                                      protection=Protection.SKYDDAD_FOLKBOKFORING))
    ops.update_person(staff["unga"], person, data(address=None, protection=Protection.SKYDDAD_FOLKBOKFORING))
    _db.session.commit()
    assert person.address is None and person.address_enc is None
    versions = ops.history(staff["unga"], person)
    assert [v.version for v in versions] == [2, 1]
    assert all(v.address_enc is None and v.address_removed for v in versions)
    assert audit_events("update", subject_person_id=person.id, object_type="person")[-1].details_dict[
        "addresses_removed"] == 2


def test_index_follows_name_and_number_changes(register, staff):
    person = register()
    ops.update_person(staff["unga"], person, data(given_name="Britt", identity=PNR_CHILD))
    _db.session.commit()
    assert ops.search_by_identity(staff["unga"], PNR_CHILD) == [person]
    assert ops.search_by_identity(staff["unga"], PNR_ANNA) == []
    assert ops.search_by_name(staff["unga"], "britt") == [person]
    assert ops.search_by_name(staff["unga"], "anna") == []


# ------------------------------------------------------------------------------------------------- duplicates


def test_duplicate_in_own_unit_is_shown(register, staff):
    first = register()
    with pytest.raises(ops.DuplicateIdentity) as info:
        register("unga2", identity=PNR_ANNA[2:])
    assert info.value.duplicates.visible == [first] and not info.value.duplicates.hidden
    second = register("unga2", identity=PNR_ANNA[2:], confirm_duplicate=True)
    assert second.id != first.id
    assert audit_events("create", subject_person_id=second.id)[0].details_dict == {"duplicate_confirmed": True}


def test_duplicate_in_another_unit_says_only_that_it_exists(register, staff):
    register("rvt")
    with pytest.raises(ops.DuplicateIdentity) as info:
        register("unga")
    assert info.value.duplicates.visible == [] and info.value.duplicates.hidden
    _db.session.commit()
    check = [e for e in audit_events("search") if e.details_dict.get("by") == "duplicate_check"]
    assert check and check[0].subject_person_id is None


# ------------------------------------------------------------------------------------------------- search


def test_search_by_every_written_form(register, staff):
    anna = register()
    old = register(given_name="Göran", family_name="Lindqvist", identity="189001019802")
    for form in (PNR_ANNA, f"{PNR_ANNA[:8]}-{PNR_ANNA[8:]}", PNR_ANNA[2:], f"{PNR_ANNA[2:8]}-{PNR_ANNA[8:]}",
                 f" {PNR_ANNA[2:8]}-{PNR_ANNA[8:]} "):
        assert ops.search_by_identity(staff["unga"], form) == [anna], form
    for form in ("189001019802", "18900101-9802", "900101+9802"):
        assert ops.search_by_identity(staff["unga"], form) == [old], form
    events = [e for e in audit_events("search") if e.subject_person_id is None]
    assert all(set(e.details_dict) == {"by", "hits"} for e in events)


def test_search_by_name_tokens(register, staff):
    anna = register(given_name="Åsa-Lena", family_name="Lind Öberg")
    assert ops.search_by_name(staff["unga"], "ÅSA") == [anna]
    assert ops.search_by_name(staff["unga"], "asa oberg") == [anna]
    assert ops.search_by_name(staff["unga"], "lena   LIND") == [anna]
    assert ops.search_by_name(staff["unga"], "as") == []  # whole tokens only
    assert ops.search_by_name(staff["unga"], "asa berg") == []
    with pytest.raises(ops.PersonError):
        ops.search_by_name(staff["unga"], "  -- ")


def test_search_finds_no_one_the_user_may_not_see(register, staff):
    register("rvt", given_name="Sofia", identity=PNR_BERTIL)
    register("rvt", given_name="Kim", identity="RES-1", reservnummer=True)
    for actor in ("unga", "chef"):
        assert ops.search_by_identity(staff[actor], PNR_BERTIL) == []
        assert ops.search_by_name(staff[actor], "sofia") == []
        assert ops.search_by_reservnummer(staff[actor], "res1") == []
    assert len(ops.search_by_identity(staff["rvt"], PNR_BERTIL)) == 1
    assert len(ops.search_by_reservnummer(staff["rvt"], "res-1")) == 1
    for actor in ("admin", "auditor"):
        assert ops.search_by_identity(staff[actor], PNR_BERTIL) == []
        assert ops.search_by_name(staff[actor], "sofia") == []


def test_search_terms_are_never_in_the_audit_log(register, staff):
    register(given_name="Zlatan")
    ops.search_by_name(staff["unga"], "Zlatan")
    ops.search_by_identity(staff["unga"], PNR_ANNA)
    _db.session.commit()
    for event in audit_events():
        assert "zlatan" not in (event.details or "").lower()
        assert PNR_ANNA[2:8] not in (event.details or "")


# ------------------------------------------------------------------------------------------------- shredding


def test_shredding_makes_everything_unreadable(register, staff):
    person = register(notes="Anteckning", address="Gatan 1")
    ops.update_person(staff["unga"], person, data(notes="Ny"))
    _db.session.commit()
    assert ops.shred_person(staff["unga"], person)
    _db.session.commit()
    _db.session.expire_all()
    person = _db.session.get(Person, person.id)
    assert person.is_shredded and person.key.shredded_at is not None and person.key.wrapped is None
    for target in (person, *person.versions):
        with pytest.raises(ShreddedError):
            _ = target.notes
    assert count(PersonSearchIndex) == 0
    assert ops.search_by_identity(staff["unga"], PNR_ANNA) == []
    purge = audit_events("purge", subject_person_id=person.id)
    assert len(purge) == 1 and purge[0].details_dict == {"method": "crypto_shred"}


def test_list_is_scoped_and_audited_per_person(register, staff):
    mine = register()
    register("rvt", identity=PNR_BERTIL)
    page = ops.list_people(staff["unga"])
    assert page.people == [mine] and page.total == 1
    _db.session.commit()
    listed = audit_events("list")
    assert [e.subject_person_id for e in listed] == [mine.id]
    assert ops.list_people(staff["admin"]).people == []


def test_duplicate_registered_earlier_in_the_same_transaction_is_found(db, staff):
    actor = staff["unga"]
    first = ops.register_person(actor, data(), unit_id=actor.unit_id)
    with pytest.raises(ops.DuplicateIdentity) as info:
        ops.register_person(actor, data(given_name="Annika"), unit_id=actor.unit_id)
    assert info.value.duplicates.visible == [first]
    db.session.commit()
    assert "caseapp.people.pending_identities" not in db.session.info
    with pytest.raises(ops.DuplicateIdentity):
        ops.register_person(actor, data(given_name="Annika"), unit_id=actor.unit_id)


def test_a_search_with_several_hits_is_one_event_naming_them_all(app, register, staff, db):
    """One event per search, whatever the number of hits: the people found are its subjects (chained in its
    details, and lookup rows for "who has read"); the search terms are never stored."""
    from sqlalchemy import delete

    from caseapp.security import audit
    from caseapp.security.audit import AuditEvent, AuditEventSubject
    from caseapp.security.audit_chain import verify_chain

    first = register(given_name="Signe", family_name="Berglund", identity=PNR_ANNA)
    second = register(given_name="Signe", family_name="Holm", identity=PNR_BERTIL)
    before = len(audit_events("search"))
    assert set(ops.search_by_name(staff["unga"], "signe")) == {first, second}
    _db.session.commit()
    [event] = audit_events("search")[before:]
    assert event.subject_person_id is None and event.details_dict["hits"] == 2
    assert sorted(audit.subjects_of(event)) == sorted([first.id, second.id])
    assert "signe" not in (event.details or "").lower()
    for person in (first, second):
        about = _db.session.scalars(select(AuditEvent.id).where(audit.about_person(person.id))
                                    .order_by(AuditEvent.id)).all()
        assert about[-1] == event.id  # (the newest event about each: this search)
    keys = app.extensions["caseapp.keys"]
    with _db.engine.connect() as conn:
        assert verify_chain(conn, keys.audit_public_key(), None).ok
    _db.session.execute(delete(AuditEventSubject).where(AuditEventSubject.event_id == event.id,
                                                        AuditEventSubject.person_id == first.id))
    _db.session.commit()
    with _db.engine.connect() as conn:
        problems = verify_chain(conn, keys.audit_public_key(), None).problems
    assert [(p.kind, p.event_id) for p in problems] == [("subjects", event.id)]
    with pytest.raises(ValueError):
        audit.record("view", actor=staff["unga"], object_type="person", subjects=[first.id, second.id])


def test_verify_checks_the_lookup_rows_of_exactly_the_actions_that_name_several_people():
    from caseapp.security import audit, audit_chain

    assert ", ".join(f"'{a}'" for a in sorted(audit.SUBJECT_ACTIONS)) == audit_chain._SUBJECT_ACTIONS_SQL
