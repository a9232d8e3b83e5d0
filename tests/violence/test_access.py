"""Access to the domestic-violence records: every violence endpoint refused (403/404, audited) for a worker of
another unit, an unassigned colleague in the non-sharing relationsvåldsteam, the administrator and the auditor;
what the assigned worker and the unit manager may do; reads and changes audited with the person as subject."""

from __future__ import annotations

import pytest
from flask import url_for

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.violence.models import Plan, RiskAssessment
from tests.conftest import AuthActions, audit_events
from tests.violence.conftest import SECRET_CHANNEL, SECRET_MOTIVATION, VICTIM, safety_values, values

OUTSIDERS = ["other_unit", "unassigned", "admin", "auditor"]


@pytest.fixture()
def outsiders(team, make_user):
    return {"other_unit": make_user(Role.HANDLAGGARE, "unga"), "unassigned": team["rvt2"],
            "admin": team["admin"], "auditor": team["auditor"]}


def _login(app, account):
    c = app.test_client()
    assert AuthActions(c).login(account).status_code == 302
    return c


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("violence."):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _ids(vworld):
    return {"case_id": vworld["case"].id, "assessment_id": vworld["signed"], "plan_id": vworld["safety"]}


def _url(app, rule, ids, **query):
    with app.test_request_context():
        return url_for(rule.endpoint, **{arg: ids[arg] for arg in rule.arguments}, **query)


def _counts():
    return (_db.session.scalar(_db.select(_db.func.count()).select_from(RiskAssessment)),
            _db.session.scalar(_db.select(_db.func.count()).select_from(Plan)))


def test_every_violence_endpoint_refuses_outsiders_and_audits(app, vworld, outsiders):
    routes = list(_routes(app))
    assert {r.endpoint for r, _m in routes} == {
        "violence.new_assessment", "violence.assessment", "violence.edit_assessment", "violence.sign_assessment",
        "violence.new_version", "violence.new_plan", "violence.plan", "violence.revise_plan"}
    before_counts = _counts()
    for who in OUTSIDERS:
        account = outsiders[who]
        c = _login(app, account)
        for ids in (_ids(vworld), {**_ids(vworld), "assessment_id": vworld["draft"], "plan_id": vworld["protection"]}):
            for rule, method in routes:
                for query in ({"metod": "freda_farlighet", "typ": "sakerhet"},):  # noqa: B007
                    before = len(audit_events("denied", actor_user_id=account.id))
                    resp = c.open(_url(app, rule, ids, **query), method=method,
                                  data={**values("freda_farlighet"), **safety_values(), "action": "sign"})
                    assert resp.status_code in (403, 404), (who, rule.endpoint, method, resp.status_code)
                    body = resp.get_data(as_text=True)
                    assert VICTIM not in body and SECRET_MOTIVATION not in body and SECRET_CHANNEL not in body
                    denied = audit_events("denied", actor_user_id=account.id)
                    assert len(denied) == before + 1, (who, rule.endpoint, method)
                    if who in ("other_unit", "unassigned"):  # (the others lack case.read: refused before loading)
                        assert denied[-1].subject_person_id == vworld["person_id"], (who, rule.endpoint)
        # Nor does the case page or the start page show them the panel.
        assert SECRET_MOTIVATION not in c.get("/").get_data(as_text=True)
    assert _counts() == before_counts


def test_refusal_names_the_record_and_the_permission(app, vworld, outsiders):
    c = _login(app, outsiders["unassigned"])
    assert c.get(f"/vald/bedomningar/{vworld['signed']}").status_code == 404
    denied = audit_events("denied", actor_user_id=outsiders["unassigned"].id)[-1]
    assert (denied.object_type, denied.object_id) == ("risk_assessment", str(vworld["signed"]))
    assert denied.details_dict["permission"] == "case.read"
    assert c.post(f"/vald/planer/{vworld['safety']}/revidera", data=safety_values()).status_code == 404
    denied = audit_events("denied", actor_user_id=outsiders["unassigned"].id)[-1]
    assert (denied.object_type, denied.details_dict["permission"]) == ("violence_plan", "case.write")


def test_assigned_worker_reads_and_every_read_is_audited(app, vworld, team):
    a = team["rvt"]
    c = _login(app, a)
    resp = c.get(f"/vald/bedomningar/{vworld['signed']}")
    assert resp.status_code == 200 and SECRET_MOTIVATION in resp.get_data(as_text=True)
    view = audit_events("view", actor_user_id=a.id, object_type="risk_assessment")[-1]
    assert view.subject_person_id == vworld["person_id"] and view.object_id == str(vworld["signed"])
    resp = c.get(f"/vald/planer/{vworld['safety']}")
    assert resp.status_code == 200 and SECRET_CHANNEL in resp.get_data(as_text=True)
    view = audit_events("view", actor_user_id=a.id, object_type="violence_plan")[-1]
    assert view.subject_person_id == vworld["person_id"]
    page = c.get(f"/arenden/{vworld['case'].id}").get_data(as_text=True)
    assert "Riskbedömning och skydd" in page and "FREDA-farlighetsbedömning" in page
    assert SECRET_MOTIVATION not in page  # the panel lists, it does not show content
    listed = audit_events("list", actor_user_id=a.id, object_type="case")[-1]
    assert listed.details_dict["page"] == "violence_panel" and listed.subject_person_id == vworld["person_id"]


def test_changes_are_audited_with_the_person_as_subject(app, rvt_case, team):
    a = team["rvt"]
    c = _login(app, a)
    resp = c.post(f"/vald/arenden/{rvt_case.id}/bedomningar/ny?metod=patriark",
                  data={**values("patriark"), "action": "sign"})
    assert resp.status_code == 302
    item = _db.session.scalar(_db.select(RiskAssessment))
    created = audit_events("create", actor_user_id=a.id, object_type="risk_assessment")[-1]
    signed = audit_events("sign", actor_user_id=a.id, object_type="risk_assessment")[-1]
    assert created.object_id == signed.object_id == str(item.id)
    assert created.subject_person_id == signed.subject_person_id == rvt_case.person_id
    assert created.details_dict == {"case": str(rvt_case.id), "kind": "patriark"}
    resp = c.post(f"/vald/arenden/{rvt_case.id}/planer/ny?typ=sakerhet", data=safety_values())
    assert resp.status_code == 302
    plan = _db.session.scalar(_db.select(Plan))
    ev = audit_events("create", actor_user_id=a.id, object_type="violence_plan")[-1]
    assert ev.object_id == str(plan.id) and ev.subject_person_id == rvt_case.person_id
    resp = c.post(f"/vald/planer/{plan.id}/revidera", data=safety_values(places="Biblioteket"))
    assert resp.status_code == 302
    ev = audit_events("update", actor_user_id=a.id, object_type="violence_plan")[-1]
    assert ev.details_dict["supersedes"] == str(plan.id) and ev.subject_person_id == rvt_case.person_id


def test_unit_manager_reads_signed_records_but_not_drafts(app, vworld, team):
    c = _login(app, team["rvt_chef"])
    assert c.get(f"/vald/bedomningar/{vworld['signed']}").status_code == 200
    assert c.get(f"/vald/planer/{vworld['protection']}").status_code == 200
    assert c.get(f"/vald/bedomningar/{vworld['draft']}").status_code == 404  # a draft is its author's
    assert c.post(f"/vald/bedomningar/{vworld['draft']}/signera").status_code == 404
    page = c.get(f"/arenden/{vworld['case'].id}").get_data(as_text=True)
    assert str(vworld["draft"]) not in page and str(vworld["signed"]) in page
    other_chef = _login(app, team["unga_chef"])
    assert other_chef.get(f"/vald/bedomningar/{vworld['signed']}").status_code == 404


def test_newly_assigned_colleague_reads_but_cannot_touch_anothers_draft(app, vworld, team):
    chef = _login(app, team["rvt_chef"])
    assert chef.post(f"/arenden/{vworld['case'].id}/tilldela", data={"worker": str(team["rvt2"].id)}).status_code \
        == 302
    c = _login(app, team["rvt2"])
    assert c.get(f"/vald/bedomningar/{vworld['signed']}").status_code == 200
    assert c.get(f"/vald/bedomningar/{vworld['draft']}/andra").status_code == 404
    # A signed assessment: the colleague may make a new version (their own draft), never change the signed one.
    resp = c.post(f"/vald/bedomningar/{vworld['signed']}/ny-version")
    assert resp.status_code == 302
    draft = _db.session.scalar(_db.select(RiskAssessment).where(RiskAssessment.supersedes_id == vworld["signed"]))
    assert draft.author_id == team["rvt2"].id and not draft.is_signed


def test_sharing_unit_colleague_reads_but_does_not_write(app, team, catalogue, case_factory):
    from caseapp.cases.workflow import FocusArea
    from caseapp.violence import operations as ops

    owner, colleague = team["unga"], team["unga2"]
    case = case_factory(owner.user, focus=FocusArea.UNGA_I_RISK)
    item = ops.create_assessment(owner.user, case, "patriark", values("patriark"), sign=True)
    _db.session.commit()
    c = _login(app, colleague)
    assert c.get(f"/vald/bedomningar/{item.id}").status_code == 200
    assert c.post(f"/vald/bedomningar/{item.id}/ny-version").status_code == 403
    assert c.post(f"/vald/arenden/{case.id}/bedomningar/ny?metod=patriark", data=values("patriark")).status_code \
        == 403
    assert audit_events("denied", actor_user_id=colleague.id)[-1].details_dict["permission"] == "case.write"


def test_form_pages_record_a_view_of_the_case(app, rvt_case, team):
    a = team["rvt"]
    c = _login(app, a)
    assert c.get(f"/vald/arenden/{rvt_case.id}/bedomningar/ny?metod=freda_kortfragor").status_code == 200
    assert c.get(f"/vald/arenden/{rvt_case.id}/planer/ny?typ=sakerhet").status_code == 200
    pages = [e.details_dict["page"] for e in audit_events("view", actor_user_id=a.id, object_type="case")]
    assert pages[-2:] == ["assessment_new", "plan_new"]
    assert audit_events("view", actor_user_id=a.id, object_type="case")[-1].subject_person_id == rvt_case.person_id


def test_pages_in_english(app, vworld, team):
    c = _login(app, team["rvt"])
    c.post("/language", data={"lang": "en", "next": "/"})
    body = c.get(f"/vald/bedomningar/{vworld['signed']}").get_data(as_text=True)
    assert "FREDA danger assessment" in body and "Overall judgement" in body
    body = c.get(f"/arenden/{vworld['case'].id}").get_data(as_text=True)
    assert "Risk assessment and protection" in body and "Safety plan" in body
