"""People registry through HTTP: register, view, edit, history, search, shredded state, refusals, escaping."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select, update

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.people import operations as ops
from caseapp.people.models import Person, PersonVersion
from tests.conftest import audit_events
from tests.people.conftest import PNR_ANNA, PNR_BERTIL


def form(**changes) -> dict:
    base = {"given_name": "Anna", "family_name": "Andersson", "identity": PNR_ANNA, "protection": "none",
            "address": "", "phone": "", "email": "", "notes": ""}
    return {**base, **changes}


def people_count() -> int:
    _db.session.expire_all()
    return _db.session.scalar(select(func.count()).select_from(Person))


def body(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture()
def worker(login_as):
    return login_as(Role.HANDLAGGARE, "unga")


# ------------------------------------------------------------------------------------------ the happy path


def test_register_view_edit_and_history(worker):
    client, account = worker
    assert client.get("/personer/ny").status_code == 200
    resp = client.post("/personer/ny", data=form(address="Råckstavägen 14\n162 72 Vällingby", notes="Första"))
    assert resp.status_code == 302
    person_id = uuid.UUID(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    page = body(client.get(f"/personer/{person_id}"))
    assert "Anna Andersson" in page and f"{PNR_ANNA[:8]}-{PNR_ANNA[8:]}" in page
    assert "Råckstavägen 14<br>162 72 Vällingby" in page and "1996-03-14" in page
    assert client.get(f"/personer/{person_id}/andra").status_code == 200
    resp = client.post(f"/personer/{person_id}/andra", data=form(identity=PNR_ANNA[2:], notes="Andra",
                                                                address="Råckstavägen 14\n162 72 Vällingby"))
    assert resp.status_code == 302
    history = body(client.get(f"/personer/{person_id}/historik"))
    assert "Version 2 (gällande)" in history and "Version 1" in history
    assert "Första" in history and "Andra" in history
    assert account.user.display_name in history
    for action in ("create", "view", "update"):
        assert audit_events(action, subject_person_id=person_id), action
    pages = {e.details_dict.get("page") for e in audit_events("view", subject_person_id=person_id)}
    assert pages == {"record", "edit", "history"}
    assert "Anna Andersson" in body(client.get("/personer/"))
    assert audit_events("list", subject_person_id=person_id)


def test_nav_link_for_staff_with_units_only(worker, login_as):
    client, _ = worker
    assert 'href="/personer/"' in body(client.get("/"))
    admin, _ = login_as(Role.SYSTEMFORVALTARE, None)
    assert 'href="/personer/"' not in body(admin.get("/"))


# ------------------------------------------------------------------------------------------------ bad input


def test_invalid_input_is_shown_next_to_the_field_and_nothing_is_written(worker):
    client, _ = worker
    resp = client.post("/personer/ny", data=form(identity="19960314-2383", notes="x" * 10001, email="nej"))
    page = body(resp)
    assert resp.status_code == 422
    assert re.search(r'id="identity-error">Kontrollsiffran stämmer inte\.', page)
    assert 'id="notes-error">Högst 10000 tecken' in page and 'id="email-error">' in page
    assert 'aria-invalid="true"' in page
    assert people_count() == 0


def test_protected_address_is_refused(worker):
    client, _ = worker
    resp = client.post("/personer/ny", data=form(protection="skyddad_folkbokforing", address="Gatan 1"))
    assert resp.status_code == 422 and "Adressen sparas inte" in body(resp)
    assert people_count() == 0
    resp = client.post("/personer/ny", data=form(protection="skyddad_folkbokforing"))
    assert resp.status_code == 302
    page = body(client.get(resp.headers["Location"]))
    assert "Skyddad folkbokföring" in page and "Registreras inte (skyddade personuppgifter)" in page


def test_html_in_every_text_field_is_stored_and_shown_escaped(worker):
    client, _ = worker
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    resp = client.post("/personer/ny", data=form(given_name="Anna " + evil, family_name="A" + evil, address=evil,
                                                 email="a@b.se" + evil.replace(" ", ""), notes=evil,
                                                 identity="R<b>1</b>", reservnummer="y"))
    assert resp.status_code == 302, body(resp)
    person = _db.session.get(Person, uuid.UUID(resp.headers["Location"].rsplit("/", 1)[-1]))
    assert person.notes == evil and person.given_name == "Anna " + evil and person.identity == "R<b>1</b>"
    client.post(f"/personer/{person.id}/andra", data=form(given_name="Anna " + evil, family_name="A" + evil,
                                                          identity="R<b>1</b>", reservnummer="y", notes="ny"))
    for url in (f"/personer/{person.id}", f"/personer/{person.id}/historik", f"/personer/{person.id}/andra",
                "/personer/"):
        page = body(client.get(url))
        assert "<script>" not in page and "<img" not in page and "<b>1" not in page, url
        assert "&lt;script&gt;" in page, url
    page = body(client.post("/personer/sok", data={"name": "anna", "identity": "", "reservnummer": ""}))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_search_needs_exactly_one_field(worker):
    client, _ = worker
    resp = client.post("/personer/sok", data={"identity": PNR_ANNA, "name": "anna", "reservnummer": ""})
    assert resp.status_code == 422 and "Fyll i ett av fälten" in body(resp)
    resp = client.post("/personer/sok", data={"identity": "123", "name": "", "reservnummer": ""})
    assert resp.status_code == 422 and 'id="identity-error">Fel format' in body(resp)


# --------------------------------------------------------------------------------------------- duplicates


def test_duplicate_warning_in_own_unit_links_to_the_person(worker, register):
    client, _ = worker
    existing = register("unga")
    resp = client.post("/personer/ny", data=form(identity=PNR_ANNA[2:]))
    page = body(resp)
    assert resp.status_code == 200 and "Numret är redan registrerat." in page
    assert f"/personer/{existing.id}" in page and people_count() == 1
    resp = client.post("/personer/ny", data=form(identity=PNR_ANNA[2:], confirm_duplicate="y"))
    assert resp.status_code == 302 and people_count() == 2


def test_duplicate_in_another_unit_reveals_nothing_else(worker, register):
    client, _ = worker
    other = register("rvt", given_name="Hemliga", family_name="Personen")
    page = body(client.post("/personer/ny", data=form()))
    assert "Numret är redan registrerat." in page
    assert str(other.id) not in page and "Hemliga" not in page and "Relationsvåld" not in page


# ----------------------------------------------------------------------------------------------- search


def test_search_page_by_every_form_and_by_name(worker, register):
    client, _ = worker
    anna = register("unga")
    register("rvt", given_name="Anna", family_name="Andersson", identity=PNR_BERTIL)
    assert client.get("/personer/sok").status_code == 200
    for written in (PNR_ANNA, f"{PNR_ANNA[:8]}-{PNR_ANNA[8:]}", PNR_ANNA[2:], f"{PNR_ANNA[2:8]}-{PNR_ANNA[8:]}"):
        page = body(client.post("/personer/sok", data={"identity": written, "name": "", "reservnummer": ""}))
        assert "Antal träffar: 1" in page and f"/personer/{anna.id}" in page, written
    page = body(client.post("/personer/sok", data={"identity": "", "name": "ANDERSSON", "reservnummer": ""}))
    assert "Antal träffar: 1" in page and f"/personer/{anna.id}" in page
    page = body(client.post("/personer/sok", data={"identity": PNR_BERTIL, "name": "", "reservnummer": ""}))
    assert "Antal träffar: 0" in page and "Ingen person som du får se" in page
    searches = audit_events("search")
    assert {e.details_dict["by"] for e in searches} == {"personnummer", "name"}
    # one event per search: the hit is its subject, a search without hits has none
    assert {(e.details_dict["hits"], e.subject_person_id) for e in searches} == {(1, anna.id), (0, None)}
    assert all(PNR_ANNA not in (e.details or "") for e in audit_events())


# ------------------------------------------------------------------------------------------------ shredded


def test_shredded_person_shows_the_shredded_state(worker, register, staff):
    client, _ = worker
    person = register("unga", notes="Hemligt")
    ops.shred_person(staff["unga"], person)
    _db.session.commit()
    for url in (f"/personer/{person.id}", f"/personer/{person.id}/andra", f"/personer/{person.id}/historik"):
        resp = client.get(url)
        page = body(resp)
        assert resp.status_code == 200 and "Uppgifterna är gallrade" in page, url
        assert "Hemligt" not in page and "Anna" not in page
    listing = body(client.get("/personer/"))
    assert "Uppgifterna är gallrade" in listing and "Anna" not in listing
    resp = client.post(f"/personer/{person.id}/andra", data=form())
    assert resp.status_code == 200 and "Uppgifterna är gallrade" in body(resp)
    assert _db.session.scalar(select(func.count()).select_from(PersonVersion)) == 0


def test_tampered_field_shows_an_error_not_empty_text(worker, register, caplog):
    client, _ = worker
    person = register("unga", notes="Hemligt")
    anna_notes = person.notes_enc
    _db.session.execute(update(Person.__table__).where(Person.__table__.c.id == person.id)
                        .values(phone_enc=anna_notes))
    _db.session.commit()
    resp = client.get(f"/personer/{person.id}")
    page = body(resp)
    assert resp.status_code == 500 and "Uppgifterna kunde inte läsas" in page and "Hemligt" not in page
    assert f"people.phone_enc of row {person.id}" in caplog.text


# ------------------------------------------------------------------------------------------------ refusals


def _people_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("people."):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _url(app, rule, person_id) -> str:
    from flask import url_for

    with app.test_request_context():
        return url_for(rule.endpoint, **({"person_id": person_id} if "person_id" in rule.arguments else {}))


@pytest.mark.parametrize("role,unit", [(Role.HANDLAGGARE, "rvt"), (Role.ENHETSCHEF, "lamna"),
                                       (Role.FALTASSISTENT, "falt"), (Role.RELATIONSVALDSTEAM, "rvt")])
def test_every_person_endpoint_refuses_another_units_user(app, login_as, register, role, unit):
    person = register("unga", notes="Hemligt")
    client, account = login_as(role, unit)
    checked = 0
    for rule, method in _people_routes(app):
        if "person_id" not in rule.arguments:
            continue
        before = len(audit_events("denied", actor_user_id=account.id))
        resp = client.open(_url(app, rule, person.id), method=method, data=form())
        assert resp.status_code == 404, (rule.endpoint, method, resp.status_code)
        assert "Hemligt" not in body(resp) and "Anna" not in body(resp)
        denied = audit_events("denied", actor_user_id=account.id)
        assert len(denied) == before + 1, rule.endpoint
        assert denied[-1].subject_person_id == person.id and denied[-1].object_type == "person"
        checked += 1
    assert checked >= 4
    assert "Anna" not in body(client.get("/personer/"))
    assert ops.update_person is not None  # nothing changed:
    _db.session.expire_all()
    assert _db.session.get(Person, person.id).version == 1


@pytest.mark.parametrize("role", [Role.SYSTEMFORVALTARE, Role.LOGGGRANSKARE])
def test_every_people_endpoint_refuses_admin_and_auditor(app, login_as, register, role):
    person = register("unga", notes="Hemligt")
    client, account = login_as(role, None)
    checked = 0
    for rule, method in _people_routes(app):
        before = len(audit_events("denied", actor_user_id=account.id))
        resp = client.open(_url(app, rule, person.id), method=method, data=form())
        assert resp.status_code == 403, (rule.endpoint, method, resp.status_code)
        assert "Hemligt" not in body(resp) and "Anna" not in body(resp)
        denied = audit_events("denied", actor_user_id=account.id)
        assert len(denied) == before + 1 and denied[-1].details_dict["permission"].startswith("person."), rule
        checked += 1
    assert checked >= 8
    assert people_count() == 1


def test_unknown_person_is_404_and_audited(worker):
    client, account = worker
    missing = uuid.uuid4()
    assert client.get(f"/personer/{missing}").status_code == 404
    denied = audit_events("denied", actor_user_id=account.id)
    assert denied[-1].object_id == str(missing)
