"""Assessments and plans: bad input refused with Swedish messages (422, nothing written), signed assessments never
change by any route, plan versions, focus-area rules, overdue reviews on the case page and the start page."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from caseapp.cases import operations as case_ops
from caseapp.cases.models import ImmutableRecordError
from caseapp.cases.workflow import FocusArea
from caseapp.extensions import db as _db
from caseapp.violence import catalogue as cat
from caseapp.violence import operations as ops
from caseapp.violence.models import Plan, RiskAssessment
from tests.conftest import AuthActions, audit_events
from tests.violence.conftest import SECRET_MOTIVATION, protection_values, safety_values, values


def _login(app, account):
    c = app.test_client()
    assert AuthActions(c).login(account).status_code == 302
    return c


def _count(model) -> int:
    return _db.session.scalar(_db.select(_db.func.count()).select_from(model))


def _html(resp) -> str:
    import html

    return html.unescape(resp.get_data(as_text=True))


BAD_ASSESSMENTS = [
    # (kind, changed values, field, part of the Swedish message)
    ("freda_kortfragor", {"q_k1": "kanske"}, "q_k1", "Ogiltigt svar"),
    ("freda_kortfragor", {"q_k2": ""}, "q_k2", "Svara på frågan: ja, nej eller vet ej."),
    ("freda_farlighet", {"level": "extrem"}, "level", "låg, medel eller hög"),
    ("freda_farlighet", {"acute": "kanske"}, "acute", "Ange om risken är akut"),
    ("freda_farlighet", {"motivation": ""}, "motivation", "Motivera din samlade bedömning."),
    ("patriark", {"r_p7": "4"}, "r_p7", "Bedöm faktorn: låg, medel eller hög."),
    ("patriark", {"r_p15": ""}, "r_p15", "Bedöm faktorn: låg, medel eller hög."),
    ("freda_beskrivning", {"fq_fysiskt": ""}, "fq_fysiskt", "Ange hur ofta våldet förekommer."),
    ("freda_beskrivning", {"description": "x" * 4001}, "description", "Högst 4000 tecken"),
    ("freda_beskrivning", {"description": "<script>alert(1)</script>"}, "description", "HTML-kod"),
    ("freda_beskrivning", {"latest_on": "2026-13-45"}, "latest_on", "Ange ett giltigt datum"),
    ("freda_farlighet", {"motivation": "Se <b>nedan</b>"}, "motivation", "HTML-kod"),
    ("freda_kortfragor", {"assessed_on": (case_ops.today() + timedelta(days=2)).isoformat()}, "assessed_on",
     "framtiden"),
    ("fri", {"area_0_name": "", "area_0_rating": ""}, "area_0_name", "Ange minst ett riskområde."),
    ("fri", {"area_1_name": "Hot", "area_1_rating": "enorm"}, "area_1_rating", "låg, medel eller hög"),
    ("fri", {"method": ""}, "method", "Ange vilken metod"),
    ("freda_kortfragor", {"notes": "a\x00b"}, "notes", "otillåtna tecken"),
]


def _patriark_missing_factor():
    data = values("patriark")
    del data["r_p9"]
    return data


@pytest.mark.parametrize(("kind", "changed", "field", "message"), BAD_ASSESSMENTS)
def test_bad_assessment_input_is_refused_in_swedish_and_nothing_is_written(app, rvt_case, team, kind, changed,
                                                                          field, message):
    a = team["rvt"]
    with pytest.raises(case_ops.CaseworkError) as err:
        ops.create_assessment(a.user, rvt_case, kind, values(kind, **changed), sign=True)
    assert field in err.value.errors and message in err.value.errors[field]
    _db.session.rollback()
    c = _login(app, a)
    resp = c.post(f"/vald/arenden/{rvt_case.id}/bedomningar/ny?metod={kind}",
                  data={**values(kind, **changed), "action": "sign"})
    assert resp.status_code == 422
    body = _html(resp)
    assert message in body and "Formuläret innehåller fel" in body
    assert _count(RiskAssessment) == 0
    assert not audit_events("create", object_type="risk_assessment")


def test_a_missing_patriark_factor_is_named(app, rvt_case, team):
    c = _login(app, team["rvt"])
    resp = c.post(f"/vald/arenden/{rvt_case.id}/bedomningar/ny?metod=patriark", data=_patriark_missing_factor())
    assert resp.status_code == 422
    body = _html(resp)
    assert 'id="f-r_p9-error"' in body and "Bedöm faktorn" in body
    assert _count(RiskAssessment) == 0


def test_patriark_needs_all_fifteen_factors_in_three_parts():
    assert len(cat.PATRIARK_FACTORS) == 15
    assert {p: sum(f.group == p for f in cat.PATRIARK_FACTORS) for p in cat.PATRIARK_PARTS} == \
        {"monster": 5, "garningsperson": 5, "offer": 5}
    assert len({f.code for f in cat.PATRIARK_FACTORS}) == 15


BAD_PLANS = [
    ("sakerhet", {"review_on": (case_ops.today() - timedelta(days=1)).isoformat()}, "review_on", "det förflutna"),
    ("sakerhet", {"review_on": ""}, "review_on", "Ange ett datum."),
    ("sakerhet", {"review_on": (case_ops.today() + timedelta(days=800)).isoformat()}, "review_on", "för långt fram"),
    ("sakerhet", {"channels": "y" * 5000}, "channels", "Högst 4000 tecken"),
    ("sakerhet", {"code_words": "<img src=x onerror=alert(1)>"}, "code_words", "HTML-kod"),
    ("sakerhet", {"channels": "", "code_words": ""}, "channels", "Fyll i minst en del"),
    ("sakerhet", {"assessment_id": str(uuid.uuid4())}, "assessment_id", "Välj en signerad riskbedömning"),
    ("skydd", {"assessment_id": ""}, "assessment_id", "bygger på en signerad riskbedömning"),
    ("skydd", {"m_0_measure": "", "m_0_responsible": ""}, "m_0_measure", "Ange minst en åtgärd."),
    ("skydd", {"m_0_responsible": ""}, "m_0_responsible", "Ange vem som ansvarar"),
    ("skydd", {"m_1_responsible": "Polisen"}, "m_1_measure", "Beskriv åtgärden."),
    ("skydd", {"m_0_due_on": "igår"}, "m_0_due_on", "Ange ett giltigt datum"),
]


@pytest.mark.parametrize(("kind", "changed", "field", "message"), BAD_PLANS)
def test_bad_plan_input_is_refused_and_nothing_is_written(app, rvt_case, team, kind, changed, field, message):
    a = team["rvt"]
    signed = ops.create_assessment(a.user, rvt_case, "freda_farlighet", values("freda_farlighet"), sign=True)
    _db.session.commit()
    base = protection_values(signed.id) if kind == "skydd" else safety_values()
    c = _login(app, a)
    resp = c.post(f"/vald/arenden/{rvt_case.id}/planer/ny?typ={kind}", data={**base, **changed})
    assert resp.status_code == 422
    assert message in _html(resp)
    assert _count(Plan) == 0 and not audit_events("create", object_type="violence_plan")


def test_freda_and_safety_plan_only_in_brottsoffer_cases_patriark_everywhere(app, team, catalogue, case_factory):
    a = team["unga"]
    case = case_factory(a.user, focus=FocusArea.UNGA_I_RISK)
    c = _login(app, a)
    for kind in ("freda_kortfragor", "freda_beskrivning", "freda_farlighet"):
        assert c.get(f"/vald/arenden/{case.id}/bedomningar/ny?metod={kind}").status_code == 404
        with pytest.raises(case_ops.CaseworkError, match="brottsoffer"):
            ops.create_assessment(a.user, case, kind, values(kind))
    assert c.get(f"/vald/arenden/{case.id}/planer/ny?typ=sakerhet").status_code == 404
    assert c.get(f"/vald/arenden/{case.id}/bedomningar/ny?metod=okand").status_code == 404
    with pytest.raises(case_ops.CaseworkError, match="brottsoffer"):
        ops.create_plan(a.user, case, "sakerhet", safety_values())
    _db.session.rollback()
    for kind in ("patriark", "fri"):
        resp = c.post(f"/vald/arenden/{case.id}/bedomningar/ny?metod={kind}", data={**values(kind), "action": "sign"})
        assert resp.status_code == 302, kind
    page = c.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Ny: PATRIARK" in page and "Ny: FREDA" not in page and "Ny: Säkerhetsplanering" not in page


def test_signed_assessment_cannot_be_changed_by_any_route(app, vworld, team):
    signed = _db.session.get(RiskAssessment, vworld["signed"])
    before = (signed.content_enc, signed.judgement_enc, signed.assessed_on, signed.status, signed.signed_at)
    for who in ("rvt", "rvt_chef"):
        c = _login(app, team[who])
        bad = {**values("freda_farlighet", motivation="Ändrad i efterhand", level="lag"), "action": "sign"}
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("violence.") or "assessment_id" not in rule.arguments:
                continue
            path = rule.rule.replace("<uuid:assessment_id>", str(vworld["signed"]))
            resp = c.post(path, data=bad)
            # new_version makes a new draft (302); every other route refuses (409, or 404/403 for a non-author).
            assert resp.status_code in (302, 403, 404, 405, 409), (who, rule.endpoint, resp.status_code)
            if rule.endpoint == "violence.edit_assessment" and who == "rvt":
                assert resp.status_code == 409 and "ändras aldrig" in _html(resp)
    _db.session.expire_all()
    signed = _db.session.get(RiskAssessment, vworld["signed"])
    assert (signed.content_enc, signed.judgement_enc, signed.assessed_on, signed.status, signed.signed_at) == before
    assert ops.decoded(signed)[1]["motivation"] != "Ändrad i efterhand"
    assert _count(RiskAssessment) == 2 + 2  # the fixture's two, plus one new draft version per user
    # Nor by code: the operations refuse, and the flush guard refuses whatever gets past them.
    with pytest.raises(case_ops.CaseworkError, match="signerad"):
        ops.update_assessment(team["rvt"].user, signed, vworld["case"], values("freda_farlighet"))
    with pytest.raises(ImmutableRecordError):
        signed.judgement = "{}"
    signed.assessed_on = signed.assessed_on - timedelta(days=1)
    with pytest.raises(ImmutableRecordError):
        _db.session.flush()
    _db.session.rollback()
    with pytest.raises(ImmutableRecordError):
        _db.session.delete(_db.session.get(RiskAssessment, vworld["signed"]))
        _db.session.flush()
    _db.session.rollback()


def test_draft_edit_sign_and_new_version_history(app, rvt_case, team):
    a = team["rvt"]
    c = _login(app, a)
    resp = c.post(f"/vald/arenden/{rvt_case.id}/bedomningar/ny?metod=freda_farlighet",
                  data={**values("freda_farlighet"), "action": "draft"})
    assert resp.status_code == 302
    item = _db.session.scalar(_db.select(RiskAssessment))
    assert not item.is_signed
    resp = c.post(f"/vald/bedomningar/{item.id}/andra",
                  data={**values("freda_farlighet", level="medel"), "action": "draft"})
    assert resp.status_code == 302
    assert audit_events("update", object_type="risk_assessment")[-1].object_id == str(item.id)
    assert c.post(f"/vald/bedomningar/{item.id}/signera").status_code == 302
    _db.session.expire_all()
    item = _db.session.get(RiskAssessment, item.id)
    assert item.is_signed and ops.decoded(item)[1]["level"] == "medel"
    resp = c.post(f"/vald/bedomningar/{item.id}/ny-version")
    assert resp.status_code == 302 and "/andra" in resp.headers["Location"]
    new = _db.session.scalar(_db.select(RiskAssessment).where(RiskAssessment.supersedes_id == item.id))
    assert ops.decoded(new)[1]["level"] == "medel"  # prefilled from the signed one
    assert c.post(f"/vald/bedomningar/{new.id}/andra",
                  data={**values("freda_farlighet", level="hog"), "action": "sign"}).status_code == 302
    page = _html(c.get(f"/vald/bedomningar/{item.id}"))
    assert "Det finns en nyare version" in page
    case_page = _html(c.get(f"/arenden/{rvt_case.id}"))
    assert case_page.count(">FREDA-farlighetsbedömning</a>") == 2 and "ny version" in case_page
    assert a.user.display_name in case_page


def test_plan_revision_keeps_old_versions_readable_and_unchanged(app, vworld, team):
    a = team["rvt"]
    c = _login(app, a)
    old_id = vworld["safety"]
    resp = c.post(f"/vald/planer/{old_id}/revidera", data=safety_values(places="Stadsbiblioteket"))
    assert resp.status_code == 302
    new = _db.session.scalar(_db.select(Plan).where(Plan.version == 2))
    assert new.series_id == old_id and ops.plan_content(new)["places"] == "Stadsbiblioteket"
    old = _db.session.get(Plan, old_id)
    assert old.superseded_at is not None and "places" not in ops.plan_content(old) or \
        not ops.plan_content(old)["places"]
    page = _html(c.get(f"/vald/planer/{old_id}"))
    assert "ersatt av en nyare version" in page and "version 2" in page
    # The old version cannot be revised again, and a kept version cannot be changed or deleted.
    assert c.post(f"/vald/planer/{old_id}/revidera", data=safety_values()).status_code == 409
    with pytest.raises(ImmutableRecordError):
        old.content = "{}"
    new.review_on = new.review_on + timedelta(days=1)
    with pytest.raises(ImmutableRecordError):
        _db.session.flush()
    _db.session.rollback()
    # The unit manager reads every version.
    chef = _login(app, team["rvt_chef"])
    assert chef.get(f"/vald/planer/{old_id}").status_code == 200


def test_overdue_reviews_on_case_page_and_start_page(app, vworld, team):
    _db.session.execute(update(Plan).where(Plan.id == vworld["safety"])
                        .values(review_on=case_ops.today() - timedelta(days=2)))
    _db.session.commit()
    a = team["rvt"]
    c = _login(app, a)
    case_page = _html(c.get(f"/arenden/{vworld['case'].id}"))
    assert "Uppföljning försenad: 1" in case_page
    start = _html(c.get("/"))
    assert "Planer att följa upp" in start and vworld["case"].reference in start
    listed = audit_events("list", actor_user_id=a.id, object_type="violence_plan")
    assert listed and listed[-1].subject_person_id == vworld["person_id"]
    assert "Planer att följa upp" in _html(_login(app, team["rvt_chef"]).get("/"))
    # An unassigned colleague sees nothing of it.
    assert "Planer att följa upp" not in _html(_login(app, team["rvt2"]).get("/"))
    # Revising the plan with a new review date clears it.
    assert c.post(f"/vald/planer/{vworld['safety']}/revidera", data=safety_values()).status_code == 302
    assert "Planer att följa upp" not in _html(c.get("/"))


def test_closed_case_takes_no_new_assessment(app, rvt_case, team):
    a = team["rvt"].user
    case_ops.transition(a, rvt_case, "avslutad", "Klart.")
    _db.session.commit()
    with pytest.raises(case_ops.CaseworkError, match="avslutat"):
        ops.create_assessment(a, rvt_case, "freda_kortfragor", values("freda_kortfragor"))


def test_html_in_text_is_shown_escaped_where_it_is_allowed(app, rvt_case, team):
    # "<" and ">" that are not tags are ordinary text: stored and shown escaped.
    a = team["rvt"]
    c = _login(app, a)
    resp = c.post(f"/vald/arenden/{rvt_case.id}/bedomningar/ny?metod=freda_farlighet",
                  data={**values("freda_farlighet", motivation="Risk 3 < 5 > 1 & " + SECRET_MOTIVATION),
                        "action": "sign"})
    assert resp.status_code == 302
    body = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Risk 3 &lt; 5 &gt; 1 &amp; " in body
